// What the sign-in and registration forms share: their state, a labelled input with the API's
// message for it, and announcing the signed-in user once the form's work is done.
import { LitElement, html } from "lit";
import { formStyles } from "./styles.js";

// Other ways to sign in that optional modules add (a provider's buttons): functions returning a
// template, shown under the sign-in and registration forms.
export const signInOptions = [];

export function field({ name, label, type, autocomplete, message, required = false }) {
  return html`
    <label>
      ${label}
      <input
        name=${name}
        type=${type}
        autocomplete=${autocomplete}
        ?required=${required}
        aria-invalid=${Boolean(message)}
      />
      ${message ? html`<span class="field-error">${message}</span>` : ""}
    </label>
  `;
}

export class AccountForm extends LitElement {
  static properties = {
    busy: { state: true },
    error: { state: true },
    fieldErrors: { state: true },
  };

  static styles = formStyles;

  constructor() {
    super();
    this.busy = false;
    this.error = "";
    this.fieldErrors = {};
  }

  // Runs `work` (it resolves to the signed-in user) with the form busy and announces
  // "signed-in"; or shows the API's messages, `toFields` naming the field each belongs to.
  async signInWith(work, toFields = (fieldErrors) => fieldErrors) {
    this.busy = true;
    try {
      const user = await work();
      this.dispatchEvent(
        new CustomEvent("signed-in", { detail: { user }, bubbles: true, composed: true }),
      );
    } catch (error) {
      this.error = error.message;
      this.fieldErrors = toFields(error.fieldErrors ?? {});
    } finally {
      this.busy = false;
    }
  }
}
