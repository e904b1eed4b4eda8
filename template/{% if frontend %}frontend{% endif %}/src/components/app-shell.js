// The application shell: the header, the offline banner and the page the URL names.
import { LitElement, css, html } from "lit";
import { restoreSession, signOut } from "../api.js";
import { StoreController, appStore } from "../store.js";
import "./app-header.js";
import "./offline-banner.js";
import "./login-form.js";
import "./register-form.js";
import "./items-page.js";

// Pages optional modules add, by path prefix (a provider's sign-in callback): functions of the
// shell's signed-in handler returning the page; shown signed in or not.
export const extraPages = new Map();

// path -> who may see the page: "guest" (signed out), "user" (signed in) or "anyone". The links
// in the API's emails open /verify-email and /reset-password (nginx serves index.html for both).
const ROUTES = {
  "/login": "guest",
  "/register": "guest",
  "/forgot-password": "guest",
  "/reset-password": "anyone",
  "/verify-email": "anyone",
  "/items": "user",
  "/account": "user",
  "/admin": "user",
};

// Pages few visits open load when first shown, so the first visit downloads less (sw.js still
// precaches them for offline use).
const LATER_PAGES = {
  "/forgot-password": () => import("./forgot-password.js"),
  "/reset-password": () => import("./reset-password.js"),
  "/verify-email": () => import("./verify-email.js"),
  "/account": () => import("./account-page.js"),
  // The page itself refuses members: no admin data is asked for until the role says admin.
  "/admin": () => import("./admin-page.js"),
};

export class AppShell extends LitElement {
  static properties = {
    appName: { attribute: "app-name" },
    path: { state: true },
    pageError: { state: true },
  };

  static styles = css`
    :host {
      display: block;
      min-height: 100vh;
    }
    .notice {
      color: var(--success);
      margin: 0;
    }
    .notice:not(:empty) {
      margin-bottom: 1rem;
    }
    main {
      max-width: 40rem;
      margin: 0 auto;
      padding: 1.5rem 1rem;
    }
    main.wide {
      max-width: 64rem;
    }
    .card {
      background: var(--surface);
      border: 1px solid var(--border);
      border-radius: 10px;
      padding: 1.5rem;
    }
    a {
      color: var(--accent);
    }
  `;

  #store = new StoreController(this, appStore);
  #pageLoaded = null;

  constructor() {
    super();
    this.appName = "";
    this.path = location.pathname;
  }

  connectedCallback() {
    super.connectedCallback();
    addEventListener("popstate", this.#onPopState);
    this.addEventListener("click", this.#onLinkClick);
    restoreSession()
      .then((user) => appStore.set({ user, ready: true }))
      .catch(() => appStore.set({ user: null, ready: true }));
  }

  disconnectedCallback() {
    removeEventListener("popstate", this.#onPopState);
    super.disconnectedCallback();
  }

  #onPopState = () => {
    this.path = location.pathname;
  };

  // Same-origin links change the page without a reload (links sit inside shadow roots).
  #onLinkClick = (event) => {
    const link = event.composedPath().find((node) => node instanceof HTMLAnchorElement);
    if (!link || link.origin !== location.origin || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    this.navigate(link.pathname + link.search);
  };

  // `url`: a path, with its query string if any (the pages read theirs from location).
  navigate(url) {
    if (url !== location.pathname + location.search) history.pushState(null, "", url);
    if (appStore.state.notice) appStore.set({ notice: "" });
    this.path = location.pathname;
  }

  // The page to show: unknown paths and guarded pages lead somewhere sensible.
  #resolve() {
    const { user } = this.#store.state;
    const home = user ? "/items" : "/login";
    if (this.#extraPage()) return this.path;
    if (this.path === "/" || !(this.path in ROUTES)) return home;
    if (ROUTES[this.path] === "user" && !user) return "/login";
    if (ROUTES[this.path] === "guest" && user) return "/items";
    return this.path;
  }

  #extraPage() {
    const prefix = [...extraPages.keys()].find((start) => this.path.startsWith(start));
    return prefix && extraPages.get(prefix);
  }

  willUpdate() {
    if (!this.#store.state.ready) return;
    const target = this.#resolve();
    if (target !== this.path) {
      history.replaceState(null, "", target);
      this.path = target;
    }
    if (this.path !== this.#pageLoaded) {
      this.#pageLoaded = this.path;
      this.pageError = false;
      // The page's element upgrades itself once its module has run.
      LATER_PAGES[this.path]?.().catch(() => (this.pageError = true));
    }
  }

  async #onSignOut() {
    await signOut();
    appStore.set({ user: null });
    this.navigate("/login");
  }

  // The account page ended every session (or the account): say so on the sign-in page.
  #onSessionEnded(event) {
    appStore.set({ user: null });
    this.navigate("/login");
    appStore.set({ notice: event.detail.notice });
  }

  #onSignedIn(event) {
    appStore.set({ user: event.detail.user });
    this.navigate("/items");
  }

  #page() {
    if (this.pageError) {
      return html`<p role="alert">
        This page could not load. Check your connection, then reload.
      </p>`;
    }
    switch (this.path) {
      case "/login":
        return html`<login-form @signed-in=${this.#onSignedIn}></login-form>`;
      case "/register":
        return html`<register-form @signed-in=${this.#onSignedIn}></register-form>`;
      case "/forgot-password":
        return html`<forgot-password></forgot-password>`;
      case "/reset-password":
        return html`<reset-password></reset-password>`;
      case "/verify-email":
        return html`<verify-email></verify-email>`;
      case "/items":
        return html`<items-page></items-page>`;
      case "/account":
        return html`<account-page @session-ended=${this.#onSessionEnded}></account-page>`;
      case "/admin":
        return html`<admin-page></admin-page>`;
      default:
        return this.#extraPage()?.((event) => this.#onSignedIn(event)) ?? html``;
    }
  }

  render() {
    const { user, online, ready, notice } = this.#store.state;
    return html`
      <app-header
        .appName=${this.appName}
        .path=${this.path}
        .user=${user}
        @sign-out=${this.#onSignOut}
      ></app-header>
      <offline-banner ?hidden=${online}></offline-banner>
      <main class=${this.path === "/admin" && user?.role === "admin" ? "wide" : ""}>
        <p class="notice" role="status">${notice}</p>
        <div class="card">${ready ? this.#page() : html`<p>Loading…</p>`}</div>
      </main>
    `;
  }
}

customElements.define("app-shell", AppShell);
