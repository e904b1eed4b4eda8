// The signed-in user's items: list them, add one, edit or delete each.
import { LitElement, css, html } from "lit";
import { items } from "../api.js";
import { Attempt } from "../attempt.js";
import { PagedList } from "../paged-list.js";
import { formStyles } from "../styles.js";
import "./item-form.js";
import "./page-nav.js";

export class ItemsPage extends LitElement {
  static properties = { editingId: { state: true } };

  static styles = [
    formStyles,
    css`
      ul {
        list-style: none;
        padding: 0;
        margin-bottom: 0;
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
      /* A title or description of one long word breaks rather than widen the page. */
      h3,
      li p {
        min-width: 0;
        overflow-wrap: anywhere;
      }
      h3 {
        margin: 0;
        font-size: 1.05rem;
      }
      li p {
        margin: 0.25rem 0 0;
      }
      .row-actions {
        display: flex;
        gap: 0.5rem;
      }
      .empty {
        color: var(--muted);
        margin-bottom: 0;
      }
    `,
  ];

  #list = new PagedList(this, items.list);
  #adding = new Attempt(this);
  // A change to one item (an edit or a delete): its messages show on that item.
  #changing = new Attempt(this);
  #changingId = null;

  constructor() {
    super();
    this.editingId = null;
  }

  async #create(event) {
    const form = event.target;
    if (await this.#adding.run(() => items.create(event.detail))) {
      form.reset();
      await this.#list.load();
    }
  }

  async #change(item, work) {
    this.#changingId = item.id;
    if (await this.#changing.run(work)) {
      this.editingId = null;
      await this.#list.load();
    }
  }

  #edit(item) {
    this.#changing.clear();
    this.editingId = item.id;
  }

  #delete(item) {
    if (confirm(`Delete "${item.title}"?`)) this.#change(item, () => items.remove(item.id));
  }

  #row(item) {
    const errors = item.id === this.#changingId ? this.#changing.errors : {};
    if (item.id === this.editingId) {
      return html`<li>
        <item-form
          .item=${item}
          .errors=${errors}
          ?busy=${this.#changing.busy}
          @save=${(event) => this.#change(item, () => items.update(item.id, event.detail))}
          @cancel=${() => (this.editingId = null)}
        ></item-form>
      </li>`;
    }
    return html`<li>
      <header>
        <h3>${item.title}</h3>
        <div class="row-actions">
          <button class="secondary" @click=${() => this.#edit(item)}>Edit</button>
          <button class="secondary" @click=${() => this.#delete(item)}>Delete</button>
        </div>
      </header>
      ${item.description ? html`<p>${item.description}</p>` : ""}
      ${errors.form ? html`<p class="form-error" role="alert">${errors.form}</p>` : ""}
    </li>`;
  }

  render() {
    const list = this.#list;
    return html`
      <h2>Your items</h2>
      <item-form
        submit-label="Add item"
        .errors=${this.#adding.errors}
        ?busy=${this.#adding.busy}
        @save=${this.#create}
      ></item-form>
      ${list.error ? html`<p class="form-error" role="alert">${list.error}</p>` : ""}
      ${
        list.rows.length
          ? html`<ul>
              ${list.rows.map((item) => this.#row(item))}
            </ul>`
          : html`<p class="empty">No items yet.</p>`
      }
      <page-nav .list=${list} label="Pages of items"></page-nav>
    `;
  }
}

customElements.define("items-page", ItemsPage);
