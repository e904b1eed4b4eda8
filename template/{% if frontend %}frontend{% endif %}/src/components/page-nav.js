// "Previous / 21–40 of 55 / Next" under a paged list (a PagedList, src/paged-list.js); nothing
// while the whole list fits on one page.
import { LitElement, css, html, nothing } from "lit";
import { formStyles } from "../styles.js";

export class PageNav extends LitElement {
  static properties = {
    // The same object after every read: updated whenever the page that holds it renders.
    list: { attribute: false, hasChanged: () => true },
    label: {},
  };

  static styles = [
    formStyles,
    css`
      nav {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem;
        /* Padding: formStyles takes the margin off a first child. */
        padding-top: 0.75rem;
      }
    `,
  ];

  constructor() {
    super();
    this.list = null;
    this.label = "Pages";
  }

  render() {
    if (!this.list || this.list.count <= this.list.pageSize) return nothing;
    const { offset, count, pageSize } = this.list;
    const last = Math.min(offset + pageSize, count);
    return html`<nav aria-label=${this.label}>
      <button
        class="secondary"
        ?disabled=${offset === 0}
        @click=${() => this.list.load(Math.max(0, offset - pageSize))}
      >
        Previous
      </button>
      <span>${offset + 1}–${last} of ${count}</span>
      <button
        class="secondary"
        ?disabled=${last >= count}
        @click=${() => this.list.load(offset + pageSize)}
      >
        Next
      </button>
    </nav>`;
  }
}

customElements.define("page-nav", PageNav);
