// The signed-in user's items: list them, add one, edit or delete each.
import { LitElement, css, html } from "lit";
import { items } from "../api.js";
import { formStyles } from "../styles.js";
import "./item-form.js";

const PAGE_SIZE = 20;

export class ItemsPage extends LitElement {
  static properties = {
    list: { state: true },
    total: { state: true },
    offset: { state: true },
    editingId: { state: true },
    errors: { state: true },
    busy: { state: true },
    loadError: { state: true },
  };

  static styles = [
    formStyles,
    css`
      ul {
        list-style: none;
        padding: 0;
        display: grid;
        gap: 0.75rem;
      }
      li {
        border: 1px solid var(--border);
        border-radius: 8px;
        padding: 0.75rem;
      }
      li header {
        display: flex;
        justify-content: space-between;
        align-items: baseline;
        gap: 0.5rem;
      }
      h3 {
        margin: 0;
        font-size: 1.05rem;
      }
      li p {
        margin: 0.25rem 0 0;
      }
      .row-actions,
      nav {
        display: flex;
        gap: 0.5rem;
      }
      .empty {
        color: #6b7280;
      }
    `,
  ];

  constructor() {
    super();
    this.list = [];
    this.total = 0;
    this.offset = 0;
    this.editingId = null;
    this.errors = {};
    this.busy = false;
    this.loadError = "";
  }

  connectedCallback() {
    super.connectedCallback();
    this.load();
  }

  async load() {
    try {
      const page = await items.list(this.offset, PAGE_SIZE);
      this.list = page.data;
      this.total = page.count;
      this.loadError = "";
    } catch (error) {
      this.loadError = error.message;
    }
  }

  // Runs one change against the API; its errors go next to the form that caused them.
  async #change(action, errorKey) {
    this.busy = true;
    try {
      await action();
      this.errors = {};
      this.editingId = null;
      await this.load();
    } catch (error) {
      this.errors = { [errorKey]: { form: error.message, ...error.fieldErrors } };
    } finally {
      this.busy = false;
    }
  }

  #create(event) {
    const form = event.target;
    this.#change(async () => {
      await items.create(event.detail);
      form.reset();
    }, "new");
  }

  #update(item, event) {
    this.#change(() => items.update(item.id, event.detail), item.id);
  }

  #delete(item) {
    if (confirm(`Delete "${item.title}"?`)) this.#change(() => items.remove(item.id), item.id);
  }

  #page(step) {
    this.offset = Math.max(0, this.offset + step * PAGE_SIZE);
    this.load();
  }

  #row(item) {
    if (item.id === this.editingId) {
      return html`<li>
        <item-form
          .item=${item}
          .errors=${this.errors[item.id]}
          ?busy=${this.busy}
          @save=${(event) => this.#update(item, event)}
          @cancel=${() => (this.editingId = null)}
        ></item-form>
      </li>`;
    }
    return html`<li>
      <header>
        <h3>${item.title}</h3>
        <div class="row-actions">
          <button class="secondary" @click=${() => (this.editingId = item.id)}>Edit</button>
          <button class="secondary" @click=${() => this.#delete(item)}>Delete</button>
        </div>
      </header>
      ${item.description ? html`<p>${item.description}</p>` : ""}
      ${this.errors[item.id]?.form ? html`<p class="form-error" role="alert">${this.errors[item.id].form}</p>` : ""}
    </li>`;
  }

  render() {
    return html`
      <h2>Your items</h2>
      <item-form
        submit-label="Add item"
        .errors=${this.errors.new}
        ?busy=${this.busy}
        @save=${this.#create}
      ></item-form>
      ${this.loadError ? html`<p class="form-error" role="alert">${this.loadError}</p>` : ""}
      ${
        this.list.length
          ? html`<ul>
              ${this.list.map((item) => this.#row(item))}
            </ul>`
          : html`<p class="empty">No items yet.</p>`
      }
      ${
        this.total > PAGE_SIZE
          ? html`<nav>
              <button
                class="secondary"
                ?disabled=${this.offset === 0}
                @click=${() => this.#page(-1)}
              >
                Previous
              </button>
              <button
                class="secondary"
                ?disabled=${this.offset + PAGE_SIZE >= this.total}
                @click=${() => this.#page(1)}
              >
                Next
              </button>
            </nav>`
          : ""
      }
    `;
  }
}

customElements.define("items-page", ItemsPage);
