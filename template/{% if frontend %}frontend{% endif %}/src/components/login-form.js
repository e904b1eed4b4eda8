// Sign in with email and password; the API's own error messages show inline.
import { LitElement, html } from "lit";
import { signIn } from "../api.js";
import { field } from "../fields.js";
import { formStyles } from "../styles.js";

export class LoginForm extends LitElement {
  static properties = {
    busy: { state: true },
    error: { state: true },
    fieldErrors: { state: true },
  };

  static styles = formStyles;

  constructor() {
    super();
    this.busy = false;
    this.error = "";
    this.fieldErrors = {};
  }

  async #submit(event) {
    event.preventDefault();
    const data = new FormData(event.target);
    this.busy = true;
    try {
      const user = await signIn(data.get("email"), data.get("password"));
      this.dispatchEvent(
        new CustomEvent("signed-in", { detail: { user }, bubbles: true, composed: true }),
      );
    } catch (error) {
      this.error = error.message;
      // The login form posts OAuth2's `username`: its errors belong to the email field.
      const { username, ...rest } = error.fieldErrors ?? {};
      this.fieldErrors = { email: username, ...rest };
    } finally {
      this.busy = false;
    }
  }

  render() {
    const errors = this.fieldErrors;
    return html`
      <h2>Sign in</h2>
      <form @submit=${this.#submit} novalidate>
        ${field({
          name: "email",
          label: "Email",
          type: "email",
          autocomplete: "username",
          message: errors.email,
          required: true,
        })}
        ${field({
          name: "password",
          label: "Password",
          type: "password",
          autocomplete: "current-password",
          message: errors.password,
          required: true,
        })}
        ${this.error ? html`<p class="form-error" role="alert">${this.error}</p>` : ""}
        <button type="submit" ?disabled=${this.busy}>Sign in</button>
      </form>
      <p>New here? <a href="/register">Create an account</a></p>
    `;
  }
}

customElements.define("login-form", LoginForm);
