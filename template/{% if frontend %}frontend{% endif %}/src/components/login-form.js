// Sign in with email and password; the API's own error messages show inline.
import { html } from "lit";
import { AccountForm, field, signInOptions } from "../account-form.js";
import { signIn } from "../api.js";

export class LoginForm extends AccountForm {
  #submit(event) {
    event.preventDefault();
    const data = new FormData(event.target);
    return this.signInWith(
      () => signIn(data.get("email"), data.get("password")),
      // The login form posts OAuth2's `username`: its errors belong to the email field.
      ({ username, ...rest }) => ({ email: username, ...rest }),
    );
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
      ${signInOptions.map((option) => option())}
      <p>New here? <a href="/register">Create an account</a></p>
    `;
  }
}

customElements.define("login-form", LoginForm);
