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

// path -> whether the page needs a signed-in user
const ROUTES = {
  "/login": false,
  "/register": false,
  "/items": true,
};

export class AppShell extends LitElement {
  static properties = {
    appName: { attribute: "app-name" },
    path: { state: true },
  };

  static styles = css`
    :host {
      display: block;
      min-height: 100vh;
    }
    main {
      max-width: 40rem;
      margin: 0 auto;
      padding: 1.5rem 1rem;
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
    this.navigate(link.pathname);
  };

  navigate(path) {
    if (path !== location.pathname) history.pushState(null, "", path);
    this.path = path;
  }

  // The page to show: unknown paths and guarded pages lead somewhere sensible.
  #resolve() {
    const { user } = this.#store.state;
    const home = user ? "/items" : "/login";
    if (this.#extraPage()) return this.path;
    if (this.path === "/" || !(this.path in ROUTES)) return home;
    if (ROUTES[this.path] && !user) return "/login";
    if (!ROUTES[this.path] && user) return "/items";
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
  }

  async #onSignOut() {
    await signOut();
    appStore.set({ user: null });
    this.navigate("/login");
  }

  #onSignedIn(event) {
    appStore.set({ user: event.detail.user });
    this.navigate("/items");
  }

  #page() {
    switch (this.path) {
      case "/login":
        return html`<login-form @signed-in=${this.#onSignedIn}></login-form>`;
      case "/register":
        return html`<register-form @signed-in=${this.#onSignedIn}></register-form>`;
      case "/items":
        return html`<items-page></items-page>`;
      default:
        return this.#extraPage()?.((event) => this.#onSignedIn(event)) ?? html``;
    }
  }

  render() {
    const { user, online, ready } = this.#store.state;
    return html`
      <app-header
        .appName=${this.appName}
        .path=${this.path}
        .user=${user}
        @sign-out=${this.#onSignOut}
      ></app-header>
      <offline-banner ?hidden=${online}></offline-banner>
      <main>
        <div class="card">${ready ? this.#page() : html`<p>Loading…</p>`}</div>
      </main>
    `;
  }
}

customElements.define("app-shell", AppShell);
