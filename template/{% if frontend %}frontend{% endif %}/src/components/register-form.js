// Create an account, then sign in with it; the API's validation messages show next to each field.
// When the API will not sign the new account in yet (the address needs confirming), the form
// says to check the inbox: the same for a new address and a taken one, whose owner gets an email.
import { html } from "lit";
import { AccountForm, field, signInOptions } from "../account-form.js";
import { account, register, signIn } from "../api.js";
import { PASSWORD_RULE } from "../errors.js";

export class RegisterForm extends AccountForm {
  static properties = { ...AccountForm.properties, inbox: { state: true } };

  constructor() {
    super();
    // The address a message went to, once registration succeeded but sign-in did not.
    this.inbox = "";
  }

  async #submit(event) {
    event.preventDefault();
    const data = new FormData(event.target);
    const details = {
      email: data.get("email"),
      password: data.get("password"),
      full_name: data.get("full_name") || null,
    };
    let registered = false;
    await this.signInWith(async () => {
      await register(details);
      registered = true;
      return signIn(details.email, details.password);
    });
    // A taken address (401 with this password) reads like a new one: no one learns it exists.
    if (registered && (this.errorStatus === 401 || this.errorCode === "email_not_verified")) {
      this.clearError();
      this.inbox = details.email;
    }
  }

  async #resend() {
    if (await this.attempt(() => account.resendVerification(this.inbox))) {
      this.notice = `We sent the link to ${this.inbox} again.`;
    }
  }

  #checkYourInbox() {
    return html`
      <h2>Check your inbox</h2>
      <p data-testid="check-inbox">
        We sent a message to <strong>${this.inbox}</strong>. Open the link in it to confirm your
        address, then sign in.
      </p>
      ${this.errorMessage()}
      <button type="button" class="secondary" @click=${this.#resend} ?disabled=${this.busy}>
        Send the link again
      </button>
      ${this.noticeMessage()}
      <p>Confirmed it? <a href="/login">Sign in</a></p>
    `;
  }

  render() {
    if (this.inbox) return this.#checkYourInbox();
    const errors = this.fieldErrors;
    return html`
      <h2>Create an account</h2>
      <form @submit=${this.#submit} novalidate>
        ${field({
          name: "full_name",
          label: "Name (optional)",
          type: "text",
          autocomplete: "name",
          message: errors.full_name,
        })}
        ${field({
          name: "email",
          label: "Email",
          type: "email",
          autocomplete: "username",
          message: errors.email,
        })}
        ${field({
          name: "password",
          label: "Password",
          type: "password",
          autocomplete: "new-password",
          message: errors.password,
          hint: PASSWORD_RULE,
        })}
        ${this.errorMessage()}
        <button type="submit" ?disabled=${this.busy}>Create account</button>
      </form>
      ${signInOptions.map((option) => option())}
      <p>Already registered? <a href="/login">Sign in</a></p>
    `;
  }
}

customElements.define("register-form", RegisterForm);
