// The account page's two-step sign-in and passkeys: set up an authenticator app from its QR code,
// keep the recovery codes (copy or download; shown once), turn it off; add, rename and delete
// passkeys. Loaded with the account page (account-page.js adds it to accountSections).
import { css, html } from "lit";
import { unsafeHTML } from "lit/directives/unsafe-html.js";
import { AccountForm, field } from "../account-form.js";
import { passkeys, passkeysSupported, twoStep } from "../two-step-api.js";
import { sectionStyles } from "./account-page.js";

const securityStyles = [
  sectionStyles,
  css`
    .qr svg {
      display: block;
    }
    code {
      overflow-wrap: anywhere;
    }
    ol.codes {
      columns: 2;
      font-family: monospace;
    }
    ul.passkeys {
      list-style: none;
      padding: 0;
      display: grid;
      gap: 0.75rem;
    }
  `,
];

export class AccountMfa extends AccountForm {
  static properties = {
    ...AccountForm.properties,
    status: { state: true },
    setup: { state: true },
    codes: { state: true },
  };
  static styles = securityStyles;

  constructor() {
    super();
    this.status = null; // {totp, recovery_codes_left}
    this.setup = null; // {secret, otpauth_uri, qr_svg} while being set up
    this.codes = null; // recovery codes, shown once
  }

  connectedCallback() {
    super.connectedCallback();
    this.#load();
  }

  #load() {
    return this.attempt(async () => (this.status = await twoStep.status()));
  }

  async #start() {
    await this.attempt(async () => (this.setup = await twoStep.startTotp()));
  }

  async #confirm(event) {
    event.preventDefault();
    const code = String(new FormData(event.target).get("code")).replaceAll(" ", "");
    let answer = null;
    if (await this.attempt(async () => (answer = await twoStep.confirmTotp(code)))) {
      this.setup = null;
      this.codes = answer.recovery_codes;
      await this.#load();
    }
  }

  async #disable(event) {
    event.preventDefault();
    const password = new FormData(event.target).get("password");
    if (await this.attempt(() => twoStep.disableTotp({ password }))) {
      this.codes = null;
      await this.#load();
      this.notice = "Two-step sign-in is off: your password alone signs you in.";
    }
  }

  async #renew() {
    let answer = null;
    if (await this.attempt(async () => (answer = await twoStep.renewRecoveryCodes()))) {
      this.codes = answer.recovery_codes;
      await this.#load();
    }
  }

  async #copy() {
    await navigator.clipboard.writeText(this.codes.join("\n"));
    this.notice = "The recovery codes are copied.";
  }

  #download() {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(
      new Blob([`${this.codes.join("\n")}\n`], { type: "text/plain" }),
    );
    link.download = "recovery-codes.txt";
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    this.notice = "The recovery codes are saved as recovery-codes.txt.";
  }

  #recoveryCodes() {
    return html`
      <p>
        Your recovery codes. Keep them somewhere safe: each signs you in once if you lose your app.
        They are shown only now.
      </p>
      <ol class="codes" data-testid="recovery-codes">
        ${this.codes.map((code) => html`<li>${code}</li>`)}
      </ol>
      <div class="actions">
        <button type="button" class="secondary" @click=${this.#copy}>Copy</button>
        <button type="button" class="secondary" @click=${this.#download}>Download</button>
        <button type="button" @click=${() => (this.codes = null)}>I saved them</button>
      </div>
    `;
  }

  #setupForm() {
    return html`
      <p>Scan this QR code with your authenticator app, or type the key into it.</p>
      <div class="qr" role="img" aria-label="QR code for your authenticator app">
        ${unsafeHTML(this.setup.qr_svg)}
      </div>
      <p>Key: <code data-testid="totp-secret">${this.setup.secret}</code></p>
      <form @submit=${this.#confirm} novalidate>
        ${field({
          name: "code",
          label: "Code from the app",
          type: "text",
          autocomplete: "one-time-code",
          message: this.fieldErrors.code,
          required: true,
        })}
        ${this.errorMessage()}
        <div class="actions">
          <button type="submit" ?disabled=${this.busy}>Turn on</button>
          <button type="button" class="secondary" @click=${() => (this.setup = null)}>
            Cancel
          </button>
        </div>
      </form>
    `;
  }

  #onForm() {
    const left = this.status.recovery_codes_left;
    return html`
      <p data-testid="mfa-status">
        On: signing in with your password also asks for a code from your authenticator app. ${left}
        recovery ${left === 1 ? "code" : "codes"} left.
      </p>
      <div class="actions">
        <button type="button" class="secondary" @click=${this.#renew} ?disabled=${this.busy}>
          New recovery codes
        </button>
      </div>
      <form @submit=${this.#disable} novalidate>
        ${field({
          name: "password",
          label: "Your password, to turn it off",
          type: "password",
          autocomplete: "current-password",
          message: this.fieldErrors.password,
          required: true,
        })}
        ${this.errorMessage()}
        <div class="actions">
          <button type="submit" class="danger" ?disabled=${this.busy}>Turn off</button>
        </div>
      </form>
    `;
  }

  render() {
    let body;
    if (this.codes) body = this.#recoveryCodes();
    else if (this.setup) body = this.#setupForm();
    else if (this.status?.totp) body = this.#onForm();
    else if (this.status) {
      body = html`
        <p data-testid="mfa-status">
          Off. With an authenticator app, signing in also asks for a code only your phone shows.
        </p>
        <button type="button" @click=${this.#start} ?disabled=${this.busy}>
          Set up an authenticator app
        </button>
        ${this.errorMessage()}
      `;
    } else body = this.errorMessage();
    return html`<h3>Two-step sign-in</h3>
      ${body} ${this.noticeMessage()}`;
  }
}

export class AccountPasskeys extends AccountForm {
  static properties = { ...AccountForm.properties, list: { state: true } };
  static styles = securityStyles;

  constructor() {
    super();
    this.list = null;
  }

  connectedCallback() {
    super.connectedCallback();
    this.#load();
  }

  #load() {
    return this.attempt(async () => (this.list = await passkeys.list()));
  }

  async #addPasskey(event) {
    event.preventDefault();
    const form = event.target;
    const name = String(new FormData(form).get("name")).trim() || "Passkey";
    if (await this.attempt(() => passkeys.add(name))) {
      form.reset();
      await this.#load();
      this.notice = `The passkey "${name}" is added: it signs you in on its own.`;
    }
  }

  async #rename(event, passkey) {
    event.preventDefault();
    const name = String(new FormData(event.target).get("name")).trim();
    if (await this.attempt(() => passkeys.rename(passkey.id, name))) {
      await this.#load();
      this.notice = `Renamed to "${name}".`;
    }
  }

  async #remove(passkey) {
    if (await this.attempt(() => passkeys.remove(passkey.id))) {
      await this.#load();
      this.notice = `The passkey "${passkey.name}" no longer signs you in.`;
    }
  }

  #item(passkey) {
    return html`
      <li data-testid="passkey">
        <form @submit=${(event) => this.#rename(event, passkey)} novalidate>
          <label>
            Name
            <input name="name" .value=${passkey.name} required maxlength="64" />
          </label>
          <div class="actions">
            <button type="submit" class="secondary" ?disabled=${this.busy}>Rename</button>
            <button
              type="button"
              class="danger"
              @click=${() => this.#remove(passkey)}
              ?disabled=${this.busy}
            >
              Delete
            </button>
          </div>
        </form>
      </li>
    `;
  }

  render() {
    const supported = passkeysSupported();
    return html`
      <h3>Passkeys</h3>
      <p>
        A passkey signs you in with your device's lock (a fingerprint, a face, a PIN): no password.
      </p>
      <ul class="passkeys">
        ${(this.list ?? []).map((passkey) => this.#item(passkey))}
      </ul>
      ${
        supported
          ? html`<form @submit=${this.#addPasskey} novalidate>
              ${field({ name: "name", label: "Name of the new passkey", type: "text", autocomplete: "off" })}
              <div class="actions">
                <button type="submit" ?disabled=${this.busy}>Add a passkey</button>
              </div>
            </form>`
          : html`<p>This browser cannot make passkeys.</p>`
      }
      ${this.errorMessage()} ${this.noticeMessage()}
    `;
  }
}

customElements.define("account-mfa", AccountMfa);
customElements.define("account-passkeys", AccountPasskeys);
