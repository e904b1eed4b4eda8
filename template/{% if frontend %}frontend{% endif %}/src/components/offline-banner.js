// Tells the user the network is gone and what still works.
import { LitElement, css, html } from "lit";

export class OfflineBanner extends LitElement {
  static styles = css`
    :host {
      display: block;
      background: var(--warning);
      color: var(--on-warning);
      padding: 0.5rem 1rem;
      text-align: center;
    }
    :host([hidden]) {
      display: none;
    }
    p {
      margin: 0;
    }
  `;

  render() {
    return html`<p role="status">
      You are offline. Saved pages still open; changes need the connection back.
    </p>`;
  }
}

customElements.define("offline-banner", OfflineBanner);
