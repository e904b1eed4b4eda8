// Confirm an email address with the token from the email (/verify-email?token=...): for a new
// account and for a changed address alike. Then the way on: sign in, or back to the account.
import { html } from "lit";
import { AccountForm, emailField } from "../account-form.js";
import { account } from "../api.js";
import { StoreController, appStore } from "../store.js";

export class VerifyEmail extends AccountForm {
  static properties = { ...AccountForm.properties, confirmed: { state: true } };

  #store = new StoreController(this, appStore);

  constructor() {
    super();
    this.token = new URLSearchParams(location.search).get("token") ?? "";
    this.confirmed = null;
    this.started = false;
  }

  connectedCallback() {
    super.connectedCallback();
    // A token works once: it is sent once, however often the page renders.
    if (this.token && !this.started) {
      this.started = true;
      this.attempt(async () => {
        this.confirmed = await account.verifyEmail(this.token);
        const { user } = this.#store.state;
        if (user?.id === this.confirmed.id) appStore.set({ user: this.confirmed });
      });
    }
  }

  async #resend(event) {
    event.preventDefault();
    const email = new FormData(event.target).get("email");
    if (await this.attempt(() => account.resendVerification(email))) {
      this.notice = `If ${email} is waiting for confirmation, a new link is on its way.`;
    }
  }

  #nextStep() {
    return this.#store.state.user
      ? html`<a href="/account">Back to your account</a>`
      : html`<a href="/login">Sign in</a>`;
  }

  render() {
    if (this.confirmed) {
      return html`
        <h2>Email address confirmed</h2>
        <p role="status">Thank you: ${this.confirmed.email} is confirmed.</p>
        <p>${this.#nextStep()}</p>
      `;
    }
    if (this.token && this.busy) {
      return html`<h2>Confirming your email address…</h2>`;
    }
    return html`
      <h2>Confirm your email address</h2>
      ${
        this.token
          ? ""
          : html`<p class="form-error" role="alert">
              This link is incomplete. Open the link from the email again.
            </p>`
      }
      ${this.errorMessage()}
      <p>Need a new link? Enter your email address and we will send one.</p>
      <form @submit=${this.#resend} novalidate>
        ${emailField(this.fieldErrors.email)}
        <button type="submit" ?disabled=${this.busy}>Send a new link</button>
      </form>
      ${this.noticeMessage()}
      <p>${this.#nextStep()}</p>
    `;
  }
}

customElements.define("verify-email", VerifyEmail);
