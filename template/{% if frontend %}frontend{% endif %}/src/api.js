// The API client: JSON in and out, the access token attached, one token refresh on a 401.
import { describe, fieldErrors } from "./errors.js";
import { appStore } from "./store.js";

const BASE = "/api/v1";
// The refresh token survives reloads; the short-lived access token lives only in memory. Script
// that could read localStorage is what the CSP keeps out (no inline or third-party script), and a
// stolen refresh token works once at most: the API revokes them all when one is reused.
const REFRESH_TOKEN_KEY = "refresh_token";
let accessToken = null;
let refreshInFlight = null;

// An error the API (or the network) reported, with per-field messages for forms.
export class ApiError extends Error {
  constructor(status, detail, retryAfter = null, code = null) {
    super(describe(status, detail, retryAfter, code));
    this.status = status;
    // The machine-readable reason some refusals carry (backend app/api/errors.py).
    this.code = code;
    this.fieldErrors = fieldErrors(detail);
  }
}

export const hasSavedSession = () => localStorage.getItem(REFRESH_TOKEN_KEY) !== null;

function saveTokens({ access_token, refresh_token }) {
  accessToken = access_token;
  localStorage.setItem(REFRESH_TOKEN_KEY, refresh_token);
}

async function send(path, { method = "GET", json, form, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  try {
    const response = await fetch(BASE + path, { method, headers, body });
    if (!appStore.state.online && navigator.onLine) appStore.set({ online: true });
    return response;
  } catch {
    // fetch only rejects when no answer arrived at all: the network (or the server) is gone.
    appStore.set({ online: false });
    throw new ApiError(0, null);
  }
}

async function parse(response) {
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  const retryAfter = response.headers.get("Retry-After");
  throw new ApiError(response.status, data?.detail, retryAfter, data?.code ?? null);
}

async function refreshAccessToken() {
  const refresh_token = localStorage.getItem(REFRESH_TOKEN_KEY);
  if (!refresh_token) return false;
  const response = await send("/auth/refresh", {
    method: "POST",
    json: { refresh_token },
    auth: false,
  });
  if (!response.ok) {
    forgetTokens();
    // Signed out elsewhere (a password change, "sign out everywhere"): the sign-in page says so.
    const code = (await response.json().catch(() => null))?.code;
    if (code === "session_ended") {
      appStore.set({ notice: describe(response.status, null, null, code) });
    }
    return false;
  }
  saveTokens(await response.json());
  return true;
}

// Concurrent 401s share one refresh: the refresh token rotates, so it may only be spent once.
function refreshOnce() {
  refreshInFlight ??= refreshAccessToken().finally(() => {
    refreshInFlight = null;
  });
  return refreshInFlight;
}

async function sendWithRefresh(path, options = {}) {
  let response = await send(path, options);
  if (response.status === 401 && options.auth !== false && (await refreshOnce())) {
    response = await send(path, options);
  }
  if (response.status === 401 && options.auth !== false) appStore.set({ user: null });
  return response;
}

export async function request(path, options = {}) {
  return parse(await sendWithRefresh(path, options));
}

export async function register({ email, password, full_name }) {
  return request("/auth/register", {
    method: "POST",
    json: { email, password, full_name },
    auth: false,
  });
}

// The signed-in user; or, for an account with two-step sign-in, the API's {mfa_required,
// mfa_token}: the code is still owed (components/mfa-step.js).
export async function signIn(email, password) {
  const tokens = await request("/auth/login", {
    method: "POST",
    form: { username: email, password },
    auth: false,
  });
  if (tokens.mfa_required) return tokens;
  saveTokens(tokens);
  return request("/users/me");
}

// A token pair the API issued another way (a provider's sign-in): keep it, load the user.
export async function adoptTokens(tokens) {
  saveTokens(tokens);
  return request("/users/me");
}

// On start-up: turn a saved refresh token into a session, or stay signed out.
export async function restoreSession() {
  if (!hasSavedSession()) return null;
  try {
    await refreshOnce();
  } catch (error) {
    // Offline: keep the saved session; cached reads (service worker) may still answer.
    if (error.status !== 0) throw error;
  }
  if (!hasSavedSession()) return null;
  return request("/users/me").catch(() => null);
}

function forgetTokens() {
  accessToken = null;
  localStorage.removeItem(REFRESH_TOKEN_KEY);
}

// This browser's session is over: tokens gone, and the cached API answers, which belong to the
// user who just left (see sw.js).
async function endSession() {
  forgetTokens();
  if ("caches" in globalThis) {
    for (const name of await caches.keys()) if (name.startsWith("api-")) await caches.delete(name);
  }
}

export async function signOut() {
  const refresh_token = localStorage.getItem(REFRESH_TOKEN_KEY);
  await endSession();
  // The API forgets the token too; offline, it simply expires.
  if (refresh_token) {
    await send("/auth/logout", { method: "POST", json: { refresh_token }, auth: false }).catch(
      () => null,
    );
  }
}

const post = (path, json, auth = false) => request(path, { method: "POST", json, auth });

// The account's lifecycle: confirming the address, resetting and changing the password, leaving.
export const account = {
  verifyEmail: (token) => post("/auth/verify-email", { token }),
  resendVerification: (email) => post("/auth/verify-email/resend", { email }),
  requestPasswordReset: (email) => post("/auth/password-reset/request", { email }),
  // Every session of the user ends, this browser's included.
  async resetPassword(token, new_password) {
    const answer = await post("/auth/password-reset/confirm", { token, new_password });
    await endSession();
    return answer;
  },
  // The API signs out every other session and hands this one a new pair.
  async changePassword(current_password, new_password) {
    saveTokens(await post("/users/me/password", { current_password, new_password }, true));
  },
  changeEmail: (new_email, password) => post("/users/me/email", { new_email, password }, true),
  async signOutEverywhere() {
    await request("/auth/logout-all", { method: "POST" });
    await endSession();
  },
  // The user's data as the API's JSON file: {blob, filename}.
  async exportData() {
    const response = await sendWithRefresh("/users/me/export");
    if (!response.ok) await parse(response); // throws the API's error
    const disposition = response.headers.get("Content-Disposition") ?? "";
    const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? "my-data.json";
    return { blob: await response.blob(), filename };
  },
  async deleteAccount(password) {
    await post("/users/me/delete", { password }, true);
    await endSession();
  },
};

// A resource the API lists in pages ({data, count}) and changes one by one at `${path}/{id}`.
export const resource = (path) => ({
  list: ({ offset = 0, limit = 20 } = {}) => request(`${path}?offset=${offset}&limit=${limit}`),
  create: (body) => request(path, { method: "POST", json: body }),
  update: (id, changes) => request(`${path}/${id}`, { method: "PATCH", json: changes }),
  remove: (id) => request(`${path}/${id}`, { method: "DELETE" }),
});

export const items = resource("/items");

// The query string of the set parameters (empty and null ones left out).
const queryString = (params) =>
  new URLSearchParams(
    Object.entries(params).filter(([, value]) => value !== "" && value != null),
  ).toString();

// The admin area (admins only: the API answers 403 to members).
export const admin = {
  users: ({ q = "", offset = 0, limit = 20 } = {}) =>
    request(`/admin/users?${queryString({ q, offset, limit })}`),
  user: (id) => request(`/admin/users/${id}`),
  // changes: {role: "member" | "admin"} or {is_active: boolean}; 409 if no active admin would remain.
  updateUser: (id, changes) => request(`/admin/users/${id}`, { method: "PATCH", json: changes }),
  resendVerification: (id) => request(`/admin/users/${id}/verification`, { method: "POST" }),
  forcePasswordReset: (id) => request(`/admin/users/${id}/password-reset`, { method: "POST" }),
  auditEvents: ({ userId = "", kind = "", offset = 0, limit = 20 } = {}) =>
    request(`/admin/audit-events?${queryString({ user_id: userId, kind, offset, limit })}`),
};
