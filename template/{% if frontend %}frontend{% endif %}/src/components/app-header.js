// The top bar: the product name, the links the shell gives it (the pages in src/routes.js with a
// `nav` label that this visitor may open; the page you are on marked) and who is signed in, with a
// way out.
import { LitElement, css, html, nothing } from "lit";

export class AppHeader extends LitElement {
  static properties = {
    appName: {},
    path: {},
    user: { attribute: false },
    links: { attribute: false },
  };

  static styles = css`
    header {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.5rem 1rem;
      padding: 0.75rem 1rem;
      background: var(--accent);
      color: var(--on-accent);
    }
    h1 {
      font-size: 1.2rem;
      margin: 0;
      white-space: nowrap;
    }
    a {
      color: inherit;
      text-decoration: none;
    }
    a[aria-current="page"] {
      text-decoration: underline;
      text-decoration-thickness: 2px;
      text-underline-offset: 0.3em;
    }
    nav {
      display: flex;
      gap: 1rem;
    }
    header:not(.signed-in) nav {
      margin-left: auto;
    }
    .who {
      flex: 1 1 0;
      display: flex;
      justify-content: flex-end;
      align-items: center;
      gap: 0.75rem;
      min-width: 0;
    }
    /* A long address gives way (ending in "...") before anything else does. */
    .who span {
      overflow: hidden;
      text-overflow: ellipsis;
      white-space: nowrap;
    }
    button {
      font: inherit;
      background: transparent;
      color: inherit;
      border: 1px solid currentColor;
      border-radius: 6px;
      padding: 0.25rem 0.75rem;
      cursor: pointer;
      white-space: nowrap;
    }
    /* A phone: the name and who is signed in on one row, the navigation on its own below. */
    @media (max-width: 40rem) {
      .signed-in nav {
        order: 1;
        flex-basis: 100%;
      }
    }
  `;

  constructor() {
    super();
    this.appName = "";
    this.path = "";
    this.user = null;
    this.links = [];
  }

  #signOut() {
    this.dispatchEvent(new CustomEvent("sign-out", { bubbles: true, composed: true }));
  }

  #links() {
    return this.links.map(
      ({ path, nav }) =>
        html`<a href=${path} aria-current=${path === this.path ? "page" : nothing}>${nav}</a>`,
    );
  }

  render() {
    return html`
      <header class=${this.user ? "signed-in" : nothing}>
        <h1><a href="/">${this.appName}</a></h1>
        <nav>${this.#links()}</nav>
        ${
          this.user
            ? html`<div class="who">
                <span data-testid="signed-in-as">${this.user.full_name || this.user.email}</span>
                <button @click=${this.#signOut}>Sign out</button>
              </div>`
            : nothing
        }
      </header>
    `;
  }
}

customElements.define("app-header", AppHeader);
