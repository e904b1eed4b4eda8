// The second step of a sign-in: a code from the authenticator app, or one of the recovery codes.
// Shown by the sign-in form when the API answers that the account owes it (mfa_required).
import { html } from "lit";
import { AccountForm, field } from "../account-form.js";
import { twoStep } from "../two-step-api.js";

export class MfaStep extends AccountForm {
  static properties = {
    ...AccountForm.properties,
    mfaToken: { attribute: false },
    recovery: { state: true },
  };

  constructor() {
    super();
    this.mfaToken = "";
    // Whether the person signs in with a recovery code instead of the app's code.
    this.recovery = false;
  }

  async #submit(event) {
    event.preventDefault();
    const value = String(new FormData(event.target).get("code")).trim();
    const proof = this.recovery ? { recovery_code: value } : { code: value.replaceAll(" ", "") };
    await this.signInWith(() => twoStep.verify(this.mfaToken, proof));
  }

  #switch() {
    this.recovery = !this.recovery;
    this.clearError();
  }

  render() {
    const errors = this.fieldErrors;
    return html`
      <h2>Two-step sign-in</h2>
      <p>
        ${
          this.recovery
            ? "Enter one of your recovery codes. Each works once."
            : "Enter the 6-digit code your authenticator app shows for this site."
        }
      </p>
      <form @submit=${this.#submit} novalidate>
        ${field({
          name: "code",
          label: this.recovery ? "Recovery code" : "Code",
          type: "text",
          autocomplete: "one-time-code",
          message: errors.code ?? errors.recovery_code,
          required: true,
        })}
        ${this.errorMessage()}
        <button type="submit" ?disabled=${this.busy}>Verify</button>
      </form>
      <button type="button" class="secondary" @click=${this.#switch}>
        ${this.recovery ? "Use the code from my app" : "Use a recovery code"}
      </button>
      <button
        type="button"
        class="secondary"
        @click=${() => this.dispatchEvent(new Event("restart"))}
      >
        Start over
      </button>
    `;
  }
}

customElements.define("mfa-step", MfaStep);
