// Sign in with email and password; the API's own error messages show inline. An address that is
// not confirmed yet (email_not_verified) gets a way to have the confirmation link sent again.
import { html } from "lit";
import { AccountForm, emailField, field, signInOptions } from "../account-form.js";
import { account, signIn } from "../api.js";

export class LoginForm extends AccountForm {
  static properties = { ...AccountForm.properties, unconfirmed: { state: true } };

  constructor() {
    super();
    // The address the API refused to sign in until it is confirmed.
    this.unconfirmed = "";
  }

  async #submit(event) {
    event.preventDefault();
    const data = new FormData(event.target);
    const email = data.get("email");
    await this.signInWith(
      () => signIn(email, data.get("password")),
      // The login form posts OAuth2's `username`: its errors belong to the email field.
      ({ username, ...rest }) => ({ email: username, ...rest }),
    );
    // Only where it helps: a deactivated account gains nothing from a confirmation link.
    this.unconfirmed = this.errorCode === "email_not_verified" ? email : "";
  }

  async #resend() {
    const email = this.unconfirmed;
    if (await this.attempt(() => account.resendVerification(email))) {
      this.notice = `We sent a new confirmation link to ${email}. Open it, then sign in.`;
    }
  }

  render() {
    const errors = this.fieldErrors;
    return html`
      <h2>Sign in</h2>
      <form @submit=${this.#submit} novalidate>
        ${emailField(errors.email)}
        ${field({
          name: "password",
          label: "Password",
          type: "password",
          autocomplete: "current-password",
          message: errors.password,
          required: true,
        })}
        ${this.errorMessage()}
        ${
          this.unconfirmed
            ? html`<button
                type="button"
                class="secondary"
                @click=${this.#resend}
                ?disabled=${this.busy}
              >
                Send the confirmation link again
              </button>`
            : ""
        }
        <button type="submit" ?disabled=${this.busy}>Sign in</button>
      </form>
      ${this.noticeMessage()}
      <p><a href="/forgot-password">Forgot your password?</a></p>
      ${signInOptions.map((option) => option())}
      <p>New here? <a href="/register">Create an account</a></p>
    `;
  }
}

customElements.define("login-form", LoginForm);
