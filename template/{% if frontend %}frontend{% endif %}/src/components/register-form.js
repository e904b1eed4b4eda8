// Create an account, then sign in with it; the API's validation messages show next to each field.
import { html } from "lit";
import { AccountForm, field, signInOptions } from "../account-form.js";
import { register, signIn } from "../api.js";

export class RegisterForm extends AccountForm {
  #submit(event) {
    event.preventDefault();
    const data = new FormData(event.target);
    const account = {
      email: data.get("email"),
      password: data.get("password"),
      full_name: data.get("full_name") || null,
    };
    return this.signInWith(async () => {
      await register(account);
      return signIn(account.email, account.password);
    });
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
      ${signInOptions.map((option) => option())}
      <p>Already registered? <a href="/login">Sign in</a></p>
    `;
  }
}

customElements.define("register-form", RegisterForm);
