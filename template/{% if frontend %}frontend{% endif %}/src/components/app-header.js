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
      align-items: center;
      justify-content: space-between;
      gap: 1rem;
      padding: 0.75rem 1rem;
      background: var(--accent);
      color: var(--on-accent);
    }
    h1 {
      font-size: 1.2rem;
      margin: 0;
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
    .who {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.75rem;
    }
    button {
      font: inherit;
      background: transparent;
      color: inherit;
      border: 1px solid currentColor;
      border-radius: 6px;
      padding: 0.25rem 0.75rem;
      cursor: pointer;
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
      <header>
        <h1><a href="/">${this.appName}</a></h1>
        ${
          this.user
            ? html`<div class="who">
                <span data-testid="signed-in-as">${this.user.full_name || this.user.email}</span>
                ${this.#links()}
                <button @click=${this.#signOut}>Sign out</button>
              </div>`
            : html`<nav class="who">${this.#links()}</nav>`
        }
      </header>
    `;
  }
}

customElements.define("app-header", AppHeader);
