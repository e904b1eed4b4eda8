// The application shell: the header, the offline banner and the page the URL names (src/routes.js).
import { LitElement, css, html } from "lit";
import { restoreSession, signOut } from "../api.js";
import { HOME, routeOf, routes } from "../routes.js";
import { StoreController, appStore } from "../store.js";
import "./app-header.js";
import "./offline-banner.js";

// Who may open a route: "open", or where else the shell sends them, or "refused" (shown a note).
function access(route, user) {
  if (route.who === "guest" && user) return HOME.signedIn;
  if (route.who === "user" || route.who === "admin") {
    if (!user) return HOME.signedOut;
    if (route.who === "admin" && user.role !== "admin") return "refused";
  }
  return "open";
}

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
    // Pages announce a finished sign-in with a bubbling event (an ended session: on window).
    this.addEventListener("signed-in", (event) => this.#onSignedIn(event));
  }

  connectedCallback() {
    super.connectedCallback();
    addEventListener("popstate", this.#onPopState);
    addEventListener("session-ended", this.#onSessionEnded);
    this.addEventListener("click", this.#onLinkClick);
    // The page the address names starts loading while the saved session is restored.
    routeOf(this.path)?.load().catch(() => null);
    restoreSession()
      .then((user) => appStore.set({ user, ready: true }))
      .catch(() => appStore.set({ user: null, ready: true }));
  }

  disconnectedCallback() {
    removeEventListener("popstate", this.#onPopState);
    removeEventListener("session-ended", this.#onSessionEnded);
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

  // The path to show: "/" and guarded pages lead somewhere sensible; an unknown path stays.
  #resolve() {
    const { user } = this.#store.state;
    const route = routeOf(this.path);
    if (this.path === "/") return user ? HOME.signedIn : HOME.signedOut;
    if (!route) return this.path;
    const answer = access(route, user);
    return answer === "open" || answer === "refused" ? this.path : answer;
  }

  willUpdate() {
    if (!this.#store.state.ready) return;
    const target = this.#resolve();
    if (target !== this.path) {
      history.replaceState(null, "", target);
      this.path = target;
    }
    const route = routeOf(this.path);
    if (route && route !== this.#pageLoaded && access(route, this.#store.state.user) === "open") {
      this.#pageLoaded = route;
      this.pageError = false;
      // The page's element upgrades itself once its module has run.
      route.load().catch(() => (this.pageError = true));
    }
  }

  async #onSignOut() {
    await signOut();
    appStore.set({ user: null });
    this.navigate(HOME.signedOut);
  }

  // A page ended every session (or the account): say so on the sign-in page.
  #onSessionEnded = (event) => {
    appStore.set({ user: null });
    this.navigate(HOME.signedOut);
    appStore.set({ notice: event.detail.notice });
  };

  #onSignedIn(event) {
    appStore.set({ user: event.detail.user });
    this.navigate(HOME.signedIn);
  }

  #page(route) {
    if (!route) {
      return html`<h2>Page not found</h2>
        <p>There is no page at <code>${this.path}</code>.</p>
        <p><a href="/">Back to the app</a></p>`;
    }
    if (access(route, this.#store.state.user) === "refused") {
      return html`<p role="alert">You do not have access to this page.</p>
        <p><a href="/">Back to the app</a></p>`;
    }
    if (this.pageError) {
      return html`<p role="alert">
        This page could not load. Check your connection, then reload.
      </p>`;
    }
    return route.render();
  }

  render() {
    const { user, online, ready, notice } = this.#store.state;
    const route = routeOf(this.path);
    // The header links to the pages this user may open.
    const links = routes.filter((page) => page.nav && access(page, user) === "open");
    return html`
      <app-header
        .appName=${this.appName}
        .path=${this.path}
        .user=${user}
        .links=${links}
        @sign-out=${this.#onSignOut}
      ></app-header>
      <offline-banner ?hidden=${online}></offline-banner>
      <main class=${route?.wide && access(route, user) === "open" ? "wide" : ""}>
        <p class="notice" role="status">${notice}</p>
        <div class="card">${ready ? this.#page(route) : html`<p>Loading…</p>`}</div>
      </main>
    `;
  }
}

customElements.define("app-shell", AppShell);
