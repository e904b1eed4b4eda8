// Entry point: the colours, the components, then the service worker for offline use.
import { palette } from "./styles.js";
import "./components/app-shell.js";

// The palette's custom properties on the page itself, inherited by every component.
document.adoptedStyleSheets = [...document.adoptedStyleSheets, palette.styleSheet];

// This module is served from /static/<build>/src/main.js: the build names the worker's caches.
const build = new URL(import.meta.url).pathname.split("/")[2];

// Unbuilt files (make dev) change all the time: a service worker would serve stale copies.
if ("serviceWorker" in navigator && build !== "dev") {
  navigator.serviceWorker
    .register(`/sw.js?build=${encodeURIComponent(build)}`, { scope: "/" })
    .catch((error) => console.info("Service worker not installed:", error.message));
}
