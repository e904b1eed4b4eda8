// Service worker: the app shell precached per build, static files cache-first, API reads
// network-first with the last answer as the offline fallback. Auth answers are never stored.
const BUILD = new URL(location.href).searchParams.get("build") || "dev";
const STATIC_ROOT = `/static/${BUILD}/`;
const SHELL_CACHE = `shell-${BUILD}`;
// Cleared on sign-out by the page (src/api.js), since it holds one user's data.
const API_CACHE = "api-v1";

// Every file of the app (src/, icons/, the manifest), so that any page opens offline: build-site.sh
// writes the list in when it builds the site.
const APP_FILES = [];
// The Lit modules the import map in index.html points at, and those they import.
const LIT_FILES = [
  "node_modules/lit/index.js",
  "node_modules/lit-element/lit-element.js",
  "node_modules/lit-html/lit-html.js",
  "node_modules/lit-html/is-server.js",
  "node_modules/@lit/reactive-element/reactive-element.js",
  "node_modules/@lit/reactive-element/css-tag.js",
];
const SHELL = ["/", ...[...APP_FILES, ...LIT_FILES].map((path) => STATIC_ROOT + path)];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      // Build-versioned URLs are immutable, so copies the page just loaded are served from the
      // HTTP cache: precaching costs no second download.
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith("shell-") && name !== SHELL_CACHE)
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (url.origin !== location.origin || request.method !== "GET") return;
  if (url.pathname.startsWith("/api/v1/auth/")) return; // tokens never touch a cache
  if (url.pathname.startsWith("/api/")) {
    event.respondWith(networkFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(shellPage(request));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirst(request));
  }
});

// Every page of the app is the same index.html: fresh from the network, else the cached shell.
async function shellPage(request) {
  try {
    return await fetch(request);
  } catch {
    return (await caches.match("/", { cacheName: SHELL_CACHE })) ?? Response.error();
  }
}

// Build-versioned URLs never change content, so a cached copy is always right.
async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(SHELL_CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

async function networkFirst(request) {
  const cache = await caches.open(API_CACHE);
  try {
    const response = await fetch(request);
    const storable = response.ok && !/no-store/.test(response.headers.get("Cache-Control") ?? "");
    if (storable) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    // Offline: the last answer for this URL, whichever token fetched it.
    const cached = await cache.match(request, { ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
}
