// What a person reads when the API refuses something: every message a sentence. FastAPI's 422
// details ({type, loc, msg}) are mapped by the field (loc's last part) and the error's type.
// The API says the same (backend/app/accounts/models.py); the forms show it under new-password fields.
export const PASSWORD_RULE =
  "Use at least 8 characters, with letters and at least one digit or symbol.";

// The login form posts OAuth2's `username`: it is the email address.
const FIELD_NAMES = {
  email: "email address",
  username: "email address",
  new_email: "new email address",
  password: "password",
  new_password: "new password",
  current_password: "current password",
  full_name: "name",
  title: "title",
  description: "description",
  token: "link",
};

const PASSWORDS = new Set(["password", "new_password"]);
const EMAILS = new Set(["email", "username", "new_email"]);

// Field-specific sentences first ("field:type"), then one per type for any field.
const BY_FIELD_AND_TYPE = {
  "title:string_pattern_mismatch": () => "Give the title at least one letter, digit or symbol.",
  "token:missing": () => "This link is incomplete. Open the link from the email again.",
};

const BY_TYPE = {
  missing: (name) => `Enter your ${name}.`,
  string_too_short: (name, field) =>
    PASSWORDS.has(field) ? `This password is too short. ${PASSWORD_RULE}` : `Enter your ${name}.`,
  string_too_long: (name, field, msg, ctx) =>
    ctx?.max_length
      ? `This ${name} is too long: use at most ${ctx.max_length} characters.`
      : `This ${name} is too long.`,
  string_pattern_mismatch: (name, field) =>
    PASSWORDS.has(field)
      ? `This password is too weak. ${PASSWORD_RULE}`
      : `This ${name} contains characters that cannot be stored.`,
  string_type: (name) => `Enter your ${name} as text.`,
  value_error: (name, field, msg) =>
    EMAILS.has(field) ? "Enter an email address such as name@example.com." : ownSentence(msg, name),
};

// The API's own validators already write sentences ("Value error, Password is too weak. ...").
function ownSentence(msg, name) {
  const text = msg.replace(/^Value error, /, "");
  return /^[A-Z].*[.!?]$/.test(text) ? text : `Check your ${name}.`;
}

// Where an error belongs: a field's name, or "form" for the request as a whole.
export function fieldOf(loc = []) {
  return loc.length > 1 ? String(loc.at(-1)) : "form";
}

// One 422 detail as a sentence a person can act on.
export function validationMessage({ type = "", loc = [], msg = "", ctx = null }) {
  const field = fieldOf(loc);
  const name = FIELD_NAMES[field] ?? field.replaceAll("_", " ");
  const rule = BY_FIELD_AND_TYPE[`${field}:${type}`] ?? BY_TYPE[type];
  if (rule) return rule(name, field, msg, ctx);
  if (field === "form") return "The form could not be sent. Reload the page and try again.";
  return `Check your ${name}.`;
}

// A 422's details as {field: sentence}, the first error of each field.
export function fieldErrors(detail) {
  if (!Array.isArray(detail)) return {};
  const errors = {};
  for (const error of detail) errors[fieldOf(error.loc)] ??= validationMessage(error);
  return errors;
}

// Any text ending as a sentence does: "Incorrect email or password" gains its full stop.
export function sentence(text) {
  const trimmed = String(text).trim();
  if (!trimmed) return trimmed;
  const capitalised = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

// Refusals the API marks with a code (backend app/api/errors.py ErrorCode), in the page's words.
const BY_CODE = {
  email_not_verified:
    "Confirm your email address first: open the link we sent you, or have it sent again.",
  account_deactivated:
    "This account is deactivated. Ask the administrator of this site to reactivate it.",
  last_admin: "This is the last active admin. Make someone else an admin first.",
  session_ended:
    "You were signed out: the password was changed or every session signed out. Sign in again.",
  mfa_invalid_code:
    "That code is not right, or was already used. Enter the newest code from your app.",
  mfa_expired: "This sign-in took too long or had too many wrong codes. Sign in again.",
  mfa_already_on: "Your authenticator app is already on. Turn it off first to set up another.",
  mfa_not_on: "Turn on an authenticator app first.",
  mfa_required:
    "Admins must use two-step sign-in: set up an authenticator app on your account page first.",
};

// The message for a whole failed request.
export function describe(status, detail, retryAfter, code = null) {
  if (BY_CODE[code]) return BY_CODE[code];
  if (status === 0) return "You are offline. Try again when the connection is back.";
  if (status === 429) {
    const wait = Number(retryAfter);
    const when = wait === 1 ? "1 second" : `${wait > 0 ? wait : "a few"} seconds`;
    return `Too many attempts. Try again in ${when}.`;
  }
  if (typeof detail === "string" && detail) return sentence(detail);
  if (Array.isArray(detail)) {
    const errors = fieldErrors(detail);
    const onlyForm = Object.keys(errors).length === 1 && errors.form;
    return onlyForm || "Please correct the highlighted fields.";
  }
  if (status >= 500) return "Something went wrong on our side. Try again in a moment.";
  return `The server refused the request (error ${status}). Try again, or reload the page.`;
}
