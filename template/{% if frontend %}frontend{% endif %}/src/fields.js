// A labelled input with the API's message for it: the building block the account forms share.
import { html } from "lit";

export function field({ name, label, type, autocomplete, message, required = false }) {
  return html`
    <label>
      ${label}
      <input
        name=${name}
        type=${type}
        autocomplete=${autocomplete}
        ?required=${required}
        aria-invalid=${Boolean(message)}
      />
      ${message ? html`<span class="field-error">${message}</span>` : ""}
    </label>
  `;
}
