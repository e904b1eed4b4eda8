// The API client: JSON in and out, the access token attached, one token refresh on a 401.
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
  constructor(status, detail, retryAfter = null) {
    super(describe(status, detail, retryAfter));
    this.status = status;
    this.fieldErrors = fieldErrors(detail);
  }
}

function describe(status, detail, retryAfter) {
  if (status === 0) return "You are offline. Try again when the connection is back.";
  if (status === 429) return `Too many attempts. Try again in ${retryAfter ?? "a few"} seconds.`;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return "Please correct the highlighted fields.";
  return `The server answered ${status}.`;
}

// FastAPI's 422 body: [{loc: ["body", "password"], msg: "..."}] becomes {password: "..."}.
function fieldErrors(detail) {
  if (!Array.isArray(detail)) return {};
  const errors = {};
  for (const { loc = [], msg = "" } of detail) {
    const field = loc.length > 1 ? loc.at(-1) : "form";
    errors[field] ??= msg.replace(/^Value error, /, "");
  }
  return errors;
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
  throw new ApiError(response.status, data?.detail, response.headers.get("Retry-After"));
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

export async function request(path, options = {}) {
  let response = await send(path, options);
  if (response.status === 401 && options.auth !== false && (await refreshOnce())) {
    response = await send(path, options);
  }
  if (response.status === 401 && options.auth !== false) appStore.set({ user: null });
  return parse(response);
}

export async function register({ email, password, full_name }) {
  return request("/auth/register", {
    method: "POST",
    json: { email, password, full_name },
    auth: false,
  });
}

export async function signIn(email, password) {
  const tokens = await request("/auth/login", {
    method: "POST",
    form: { username: email, password },
    auth: false,
  });
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

export async function signOut() {
  forgetTokens();
  // Cached API answers belong to the user who just left: drop them (see sw.js).
  if ("caches" in globalThis) {
    for (const name of await caches.keys()) if (name.startsWith("api-")) await caches.delete(name);
  }
}

export const items = {
  list: (offset = 0, limit = 50) => request(`/items?offset=${offset}&limit=${limit}`),
  create: (item) => request("/items", { method: "POST", json: item }),
  update: (id, changes) => request(`/items/${id}`, { method: "PATCH", json: changes }),
  remove: (id) => request(`/items/${id}`, { method: "DELETE" }),
};
