// Ask for a password reset link. The answer is the same whether or not the address has an
// account: the email itself tells its owner.
import { html } from "lit";
import { AccountForm, emailField } from "../account-form.js";
import { account } from "../api.js";

export class ForgotPassword extends AccountForm {
  async #submit(event) {
    event.preventDefault();
    const form = event.target;
    const email = new FormData(form).get("email");
    if (await this.attempt(() => account.requestPasswordReset(email))) {
      form.reset();
      this.notice =
        `If ${email} has an account, a link to choose a new password is on its way. ` +
        "It works once, within an hour.";
    }
  }

  render() {
    return html`
      <h2>Forgot your password?</h2>
      <p>Enter your email address and we will send you a link to choose a new password.</p>
      <form @submit=${this.#submit} novalidate>
        ${emailField(this.fieldErrors.email)}
        ${this.errorMessage()}
        <button type="submit" ?disabled=${this.busy}>Send the link</button>
      </form>
      ${this.noticeMessage()}
      <p>Remembered it? <a href="/login">Sign in</a></p>
    `;
  }
}

customElements.define("forgot-password", ForgotPassword);
