// The top bar: the product name, and who is signed in with a way out.
import { LitElement, css, html } from "lit";

export class AppHeader extends LitElement {
  static properties = {
    appName: {},
    user: { attribute: false },
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
    .who {
      display: flex;
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
    this.user = null;
  }

  #signOut() {
    this.dispatchEvent(new CustomEvent("sign-out", { bubbles: true, composed: true }));
  }

  render() {
    return html`
      <header>
        <h1><a href="/">${this.appName}</a></h1>
        ${
          this.user
            ? html`<div class="who">
                <span data-testid="signed-in-as">${this.user.full_name || this.user.email}</span>
                <button @click=${this.#signOut}>Sign out</button>
              </div>`
            : html`<nav class="who">
                <a href="/login">Sign in</a><a href="/register">Register</a>
              </nav>`
        }
      </header>
    `;
  }
}

customElements.define("app-header", AppHeader);
