// The signed-in user's account: confirm the address, change the password or the address, sign
// out everywhere, download one's data, delete the account. Each section is a small form with its
// own messages; the ones that end the session say so with a "session-ended" event on window.
import { LitElement, css, html } from "lit";
import { AccountForm, accountSections, field } from "../account-form.js";
import { account } from "../api.js";
import { PASSWORD_RULE } from "../errors.js";
import { StoreController, appStore } from "../store.js";
import { formStyles } from "../styles.js";

export const sectionStyles = [
  formStyles,
  css`
    :host {
      border-top: 1px solid var(--border);
      padding-top: 1.25rem;
    }
    h3 {
      font-size: 1.05rem;
      margin: 0 0 0.75rem;
    }
    p {
      margin: 0 0 0.75rem;
    }
    .actions {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem;
    }
    button.danger {
      background: var(--danger);
      color: var(--surface);
    }
  `,
];

// On window, not on the section: another request of this page may have met the ended session
// first and replaced the page, and an event from a detached element reaches no one.
function endSession(notice) {
  window.dispatchEvent(new CustomEvent("session-ended", { detail: { notice } }));
}

export class AccountEmail extends AccountForm {
  static styles = sectionStyles;
  #store = new StoreController(this, appStore);

  async #resend() {
    const { email } = this.#store.state.user;
    if (await this.attempt(() => account.resendVerification(email))) {
      this.notice = `We sent a new confirmation link to ${email}.`;
    }
  }

  render() {
    const { email, email_verified } = this.#store.state.user ?? {};
    return html`
      <h3>Email address</h3>
      <p data-testid="account-email">
        ${email}: ${email_verified ? "confirmed." : "not confirmed yet."}
      </p>
      ${
        email_verified
          ? ""
          : html`<button class="secondary" @click=${this.#resend} ?disabled=${this.busy}>
              Send the confirmation link again
            </button>`
      }
      ${this.errorMessage()} ${this.noticeMessage()}
    `;
  }
}

export class ChangePassword extends AccountForm {
  static styles = sectionStyles;

  async #submit(event) {
    event.preventDefault();
    const form = event.target;
    const data = new FormData(form);
    const work = () =>
      account.changePassword(data.get("current_password"), data.get("new_password"));
    if (await this.attempt(work)) {
      form.reset();
      this.notice = "Your password is changed. Every other device is signed out.";
    }
  }

  render() {
    const errors = this.fieldErrors;
    return html`
      <h3>Change your password</h3>
      <form @submit=${this.#submit} novalidate>
        ${field({
          name: "current_password",
          label: "Current password",
          type: "password",
          autocomplete: "current-password",
          message: errors.current_password,
          required: true,
        })}
        ${field({
          name: "new_password",
          label: "New password",
          type: "password",
          autocomplete: "new-password",
          message: errors.new_password,
          required: true,
          hint: PASSWORD_RULE,
        })}
        ${this.errorMessage()}
        <div class="actions">
          <button type="submit" ?disabled=${this.busy}>Change password</button>
        </div>
      </form>
      ${this.noticeMessage()}
    `;
  }
}

export class ChangeEmail extends AccountForm {
  static styles = sectionStyles;

  async #submit(event) {
    event.preventDefault();
    const form = event.target;
    const data = new FormData(form);
    const email = data.get("new_email");
    if (await this.attempt(() => account.changeEmail(email, data.get("password")))) {
      form.reset();
      this.notice = `We sent a link to ${email}. Your address changes when you open it.`;
    }
  }

  render() {
    const errors = this.fieldErrors;
    return html`
      <h3>Change your email address</h3>
      <form @submit=${this.#submit} novalidate>
        ${field({
          name: "new_email",
          label: "New email address",
          type: "email",
          autocomplete: "email",
          message: errors.new_email,
          required: true,
        })}
        ${field({
          name: "password",
          label: "Your password",
          type: "password",
          autocomplete: "current-password",
          message: errors.password,
          required: true,
        })}
        ${this.errorMessage()}
        <div class="actions">
          <button type="submit" ?disabled=${this.busy}>Change email</button>
        </div>
      </form>
      ${this.noticeMessage()}
    `;
  }
}

export class AccountData extends AccountForm {
  static styles = sectionStyles;

  async #signOutEverywhere() {
    if (await this.attempt(() => account.signOutEverywhere())) {
      endSession("You are signed out on every device.");
    }
  }

  async #download() {
    let file = null;
    if (await this.attempt(async () => (file = await account.exportData()))) {
      const link = document.createElement("a");
      link.href = URL.createObjectURL(file.blob);
      link.download = file.filename;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
      this.notice = `Your data is saved as ${file.filename}.`;
    }
  }

  render() {
    return html`
      <h3>Sessions and data</h3>
      <p>Lost a device, or signed in somewhere you should not have? Sign out everywhere.</p>
      <div class="actions">
        <button class="secondary" @click=${this.#signOutEverywhere} ?disabled=${this.busy}>
          Sign out everywhere
        </button>
        <button class="secondary" @click=${this.#download} ?disabled=${this.busy}>
          Download my data
        </button>
      </div>
      ${this.errorMessage()} ${this.noticeMessage()}
    `;
  }
}

export class DeleteAccount extends AccountForm {
  static styles = sectionStyles;

  async #submit(event) {
    event.preventDefault();
    const password = new FormData(event.target).get("password");
    if (!confirm("Delete your account and all its data? This cannot be undone.")) return;
    if (await this.attempt(() => account.deleteAccount(password))) {
      endSession("Your account and its data are deleted.");
    }
  }

  render() {
    return html`
      <h3>Delete your account</h3>
      <p>Your account and everything in it are deleted at once; this cannot be undone.</p>
      <form @submit=${this.#submit} novalidate>
        ${field({
          name: "password",
          label: "Confirm with your password",
          type: "password",
          autocomplete: "current-password",
          message: this.fieldErrors.password,
          required: true,
        })}
        ${this.errorMessage()}
        <div class="actions">
          <button type="submit" class="danger" ?disabled=${this.busy}>Delete my account</button>
        </div>
      </form>
    `;
  }
}

export class AccountPage extends LitElement {
  static styles = [
    formStyles,
    css`
      .sections {
        display: grid;
        gap: 1.25rem;
      }
    `,
  ];

  render() {
    return html`
      <h2>Your account</h2>
      <div class="sections">
        <account-email></account-email>
        ${accountSections.map((section) => section())}
        <change-password></change-password>
        <change-email></change-email>
        <account-data></account-data>
        <delete-account></delete-account>
      </div>
    `;
  }
}

// Two-step sign-in and passkeys (account-security.js), loaded with this page.
accountSections.push(() => {
  import("./account-security.js");
  return html`<account-mfa></account-mfa><account-passkeys></account-passkeys>`;
});

customElements.define("account-email", AccountEmail);
customElements.define("change-password", ChangePassword);
customElements.define("change-email", ChangeEmail);
customElements.define("account-data", AccountData);
customElements.define("delete-account", DeleteAccount);
customElements.define("account-page", AccountPage);
