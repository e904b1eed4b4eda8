// "Sign in with a passkey", under the sign-in form: the device offers the passkeys it holds for
// this site and verifies its user, so no password and no second step are asked.
import { html } from "lit";
import { AccountForm } from "../account-form.js";
import { passkeys, passkeysSupported } from "../two-step-api.js";

export class PasskeySignIn extends AccountForm {
  render() {
    if (!passkeysSupported()) return html``;
    return html`
      <button
        type="button"
        class="secondary"
        @click=${() => this.signInWith(() => passkeys.signIn())}
        ?disabled=${this.busy}
      >
        Sign in with a passkey
      </button>
      ${this.errorMessage()}
    `;
  }
}

customElements.define("passkey-sign-in", PasskeySignIn);
