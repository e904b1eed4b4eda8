// What the account forms share: their state, a labelled input with the API's message for it, the
// form's error and success messages, and announcing the signed-in user once a form signed one in.
import { LitElement, html } from "lit";
import { Attempt } from "./attempt.js";
import { formStyles } from "./styles.js";

// Other ways to sign in that optional modules add (a provider's buttons): functions returning a
// template, shown under the sign-in and registration forms.
export const signInOptions = [];
// Sections optional modules add to the account page (how the user signs in): functions returning
// a template, shown after the email address.
export const accountSections = [];

// A hint, or the error that replaces it, sits inside the label: read out with the field's name.
export function field({ name, label, type, autocomplete, message, required = false, hint = "" }) {
  let note = "";
  if (message) note = html`<span class="field-error">${message}</span>`;
  else if (hint) note = html`<span class="hint">${hint}</span>`;
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
      ${note}
    </label>
  `;
}

// The address an account signs in with, as the sign-in, forgot-password and resend forms ask it.
export function emailField(message) {
  return field({
    name: "email",
    label: "Email",
    type: "email",
    autocomplete: "username",
    message,
    required: true,
  });
}

export class AccountForm extends LitElement {
  static properties = { notice: { state: true } };

  static styles = formStyles;

  #attempt = new Attempt(this);

  constructor() {
    super();
    this.notice = "";
  }

  get busy() {
    return this.#attempt.busy;
  }

  get error() {
    return this.#attempt.error;
  }

  get fieldErrors() {
    return this.#attempt.fieldErrors;
  }

  // The HTTP status of the last failure (0 offline), for forms that offer a way on.
  get errorStatus() {
    return this.#attempt.status;
  }

  // The API's code for the last failure (email_not_verified, ...), or null.
  get errorCode() {
    return this.#attempt.code;
  }

  // Runs `work` with the form busy and its last message gone; shows the API's messages on
  // failure, `toFields` naming the field each belongs to. Resolves to whether the work succeeded.
  attempt(work, toFields) {
    this.notice = "";
    return this.#attempt.run(work, toFields);
  }

  // Forgets the last failure's messages.
  clearError() {
    this.#attempt.clear();
  }

  // Runs `work` (it resolves to the signed-in user, or null when a step is still owed) and
  // announces "signed-in".
  async signInWith(work, toFields) {
    let user = null;
    if ((await this.attempt(async () => (user = await work()), toFields)) && user) {
      this.dispatchEvent(
        new CustomEvent("signed-in", { detail: { user }, bubbles: true, composed: true }),
      );
    }
  }

  // The form's own error (an alert) and its success message (a polite live region).
  errorMessage() {
    return this.error ? html`<p class="form-error" role="alert">${this.error}</p>` : "";
  }

  noticeMessage() {
    return html`<p class="notice" role="status">${this.notice}</p>`;
  }
}
