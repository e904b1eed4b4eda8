// Every colour of the app, and the styles shared by the components' shadow roots (each component
// adds its own in `static styles`, naming colours only through these custom properties).
import { css } from "lit";

// The page's custom properties, adopted by the document in main.js; they reach every shadow root.
export const palette = css`
  :root {
    --accent: #4f46e5;
    --on-accent: #ffffff;
    --danger: #b91c1c;
    --success: #047857;
    --surface: #ffffff;
    --page: #f5f5f7;
    --text: #1f2937;
    --muted: #6b7280;
    --border: #d1d5db;
    --warning: #fef3c7;
    --on-warning: #78350f;
  }
  @media (prefers-color-scheme: dark) {
    :root {
      --accent: #a5b4fc;
      --on-accent: #111827;
      --danger: #fca5a5;
      --success: #6ee7b7;
      --surface: #1f2937;
      --page: #111827;
      --text: #f3f4f6;
      --muted: #9ca3af;
      --border: #4b5563;
    }
  }
`;

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
