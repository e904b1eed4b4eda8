// Create or edit one item. It only shows what it is given and reports what the user did:
// a "save" event with the field values, or "cancel".
import { LitElement, css, html } from "lit";
import { formStyles } from "../styles.js";

// The API's limits (backend/app/items/models.py); frontend/e2e/test_app.py checks they agree.
export const TITLE_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 2000;

export class ItemForm extends LitElement {
  static properties = {
    item: { attribute: false },
    errors: { attribute: false },
    busy: { type: Boolean },
    submitLabel: { attribute: "submit-label" },
  };

  static styles = [
    formStyles,
    css`
      .actions {
        display: flex;
        gap: 0.5rem;
      }
    `,
  ];

  constructor() {
    super();
    this.item = null;
    this.errors = {};
    this.busy = false;
    this.submitLabel = "Save";
  }

  #submit(event) {
    event.preventDefault();
    const data = new FormData(event.target);
    const detail = { title: data.get("title"), description: data.get("description") || null };
    this.dispatchEvent(new CustomEvent("save", { detail }));
  }

  // The parent clears the "new item" form once the API has accepted it.
  reset() {
    this.renderRoot.querySelector("form")?.reset();
  }

  #cancel() {
    this.dispatchEvent(new CustomEvent("cancel"));
  }

  render() {
    const { title = "", description = "" } = this.item ?? {};
    const errors = this.errors ?? {};
    return html`
      <form @submit=${this.#submit} novalidate>
        <label>
          Title
          <input
            name="title"
            maxlength=${TITLE_MAX_LENGTH}
            .value=${title}
            aria-invalid=${Boolean(errors.title)}
          />
          ${
            errors.title
              ? html`<span class="field-error">${errors.title}</span>`
              : html`<span class="hint">Up to ${TITLE_MAX_LENGTH} characters.</span>`
          }
        </label>
        <label>
          Description
          <textarea
            name="description"
            rows="2"
            maxlength=${DESCRIPTION_MAX_LENGTH}
            .value=${description ?? ""}
          ></textarea>
          ${errors.description ? html`<span class="field-error">${errors.description}</span>` : ""}
        </label>
        ${errors.form ? html`<p class="form-error" role="alert">${errors.form}</p>` : ""}
        <div class="actions">
          <button type="submit" ?disabled=${this.busy}>${this.submitLabel}</button>
          ${this.item ? html`<button type="button" class="secondary" @click=${this.#cancel}>Cancel</button>` : ""}
        </div>
      </form>
    `;
  }
}

customElements.define("item-form", ItemForm);
