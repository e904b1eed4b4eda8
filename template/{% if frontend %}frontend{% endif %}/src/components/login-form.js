// Sign in with email and password; the API's own error messages show inline. An address that is
// not confirmed yet (email_not_verified) gets a way to have the confirmation link sent again.
import { html } from "lit";
import { AccountForm, emailField, field, signInOptions } from "../account-form.js";
import { account, signIn } from "../api.js";
import "./passkey-sign-in.js";

export class LoginForm extends AccountForm {
  static properties = {
    ...AccountForm.properties,
    unconfirmed: { state: true },
    mfaToken: { state: true },
  };

  constructor() {
    super();
    // The address the API refused to sign in until it is confirmed.
    this.unconfirmed = "";
    // The password was right and the account has two-step sign-in: the code is owed for this.
    this.mfaToken = "";
  }

  async #firstStep(email, password) {
    const answer = await signIn(email, password);
    if (!answer.mfa_required) return answer;
    await import("./mfa-step.js");
    this.mfaToken = answer.mfa_token;
    return null;
  }

  async #submit(event) {
    event.preventDefault();
    const data = new FormData(event.target);
    const email = data.get("email");
    await this.signInWith(
      () => this.#firstStep(email, data.get("password")),
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
    if (this.mfaToken) {
      return html`<mfa-step
        .mfaToken=${this.mfaToken}
        @restart=${() => (this.mfaToken = "")}
      ></mfa-step>`;
    }
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
      <passkey-sign-in></passkey-sign-in>
      ${signInOptions.map((option) => option())}
      <p>New here? <a href="/register">Create an account</a></p>
    `;
  }
}

customElements.define("login-form", LoginForm);
