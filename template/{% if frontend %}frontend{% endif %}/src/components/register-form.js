// Create an account, then sign in with it; the API's validation messages show next to each field.
import { LitElement, html } from "lit";
import { register, signIn } from "../api.js";
import { field } from "../fields.js";
import { formStyles } from "../styles.js";

export class RegisterForm extends LitElement {
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
    const account = {
      email: data.get("email"),
      password: data.get("password"),
      full_name: data.get("full_name") || null,
    };
    this.busy = true;
    try {
      await register(account);
      const user = await signIn(account.email, account.password);
      this.dispatchEvent(
        new CustomEvent("signed-in", { detail: { user }, bubbles: true, composed: true }),
      );
    } catch (error) {
      this.error = error.message;
      this.fieldErrors = error.fieldErrors ?? {};
    } finally {
      this.busy = false;
    }
  }

  render() {
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
        })}
        ${this.error ? html`<p class="form-error" role="alert">${this.error}</p>` : ""}
        <button type="submit" ?disabled=${this.busy}>Create account</button>
      </form>
      <p>Already registered? <a href="/login">Sign in</a></p>
    `;
  }
}

customElements.define("register-form", RegisterForm);
