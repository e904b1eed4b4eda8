// Choose a new password with the token from the reset email (/reset-password?token=...). The API
// then signs out every session of the account, this browser's included.
import { html } from "lit";
import { AccountForm, field } from "../account-form.js";
import { account } from "../api.js";
import { PASSWORD_RULE } from "../errors.js";
import { appStore } from "../store.js";

export class ResetPassword extends AccountForm {
  static properties = { ...AccountForm.properties, done: { state: true } };

  constructor() {
    super();
    this.token = new URLSearchParams(location.search).get("token") ?? "";
    this.done = false;
  }

  async #submit(event) {
    event.preventDefault();
    const password = new FormData(event.target).get("new_password");
    if (await this.attempt(() => account.resetPassword(this.token, password))) {
      this.done = true;
      appStore.set({ user: null }); // the API signed this browser out too
    }
  }

  render() {
    if (!this.token) {
      return html`
        <h2>Choose a new password</h2>
        <p class="form-error" role="alert">
          This link is incomplete. Open the link from the email again, or ask for a new one.
        </p>
        <p><a href="/forgot-password">Send me a new link</a></p>
      `;
    }
    if (this.done) {
      return html`
        <h2>Password changed</h2>
        <p role="status">
          Your new password is set, and every device that was signed in is signed out.
        </p>
        <p><a href="/login">Sign in with your new password</a></p>
      `;
    }
    // A refused token (400) needs a new link; any other error, another try.
    const badLink = this.errorStatus === 400;
    return html`
      <h2>Choose a new password</h2>
      <form @submit=${this.#submit} novalidate>
        ${field({
          name: "new_password",
          label: "New password",
          type: "password",
          autocomplete: "new-password",
          message: this.fieldErrors.new_password,
          required: true,
          hint: PASSWORD_RULE,
        })}
        ${this.errorMessage()}
        <button type="submit" ?disabled=${this.busy}>Set the new password</button>
      </form>
      ${badLink ? html`<p><a href="/forgot-password">Send me a new link</a></p>` : ""}
    `;
  }
}

customElements.define("reset-password", ResetPassword);
