// Styles shared by the components' shadow roots (each component adds its own in `static styles`).
import { css } from "lit";

export const formStyles = css`
  /* The box around a form spaces it with its padding alone: as much room above as below. */
  :host {
    display: block;
  }
  :host > :first-child {
    margin-top: 0;
  }
  :host > :last-child {
    margin-bottom: 0;
  }
  form {
    display: grid;
    gap: 0.75rem;
  }
  label {
    display: grid;
    gap: 0.25rem;
    font-weight: 600;
  }
  input,
  textarea {
    font: inherit;
    font-weight: 400;
    padding: 0.5rem 0.6rem;
    border: 1px solid var(--border);
    border-radius: 6px;
    background: var(--surface);
    color: inherit;
  }
  input[aria-invalid="true"] {
    border-color: var(--danger);
  }
  .field-error,
  .form-error {
    color: var(--danger);
    font-weight: 400;
    font-size: 0.9rem;
    margin: 0;
  }
  /* Always in the page (empty, it takes no room), so screen readers announce what appears. */
  .notice {
    margin: 0;
    color: var(--success);
  }
  .notice:not(:empty) {
    margin-top: 1rem;
  }
  .hint {
    font-weight: 400;
    font-size: 0.9rem;
    margin: 0;
  }
  button {
    font: inherit;
    font-weight: 600;
    padding: 0.5rem 1rem;
    border: 0;
    border-radius: 6px;
    background: var(--accent);
    color: var(--on-accent);
    cursor: pointer;
  }
  button.secondary {
    background: transparent;
    color: var(--accent);
    border: 1px solid var(--accent);
  }
  button:disabled {
    opacity: 0.6;
    cursor: progress;
  }
  a {
    color: var(--accent);
  }
`;
