// Two-step sign-in and passkeys through the API: the second step of a sign-in, the account's
// authenticator app and recovery codes, and passkeys made and used by the browser's WebAuthn.
import { adoptTokens, request } from "./api.js";

const post = (path, json, auth = true) => request(path, { method: "POST", json, auth });

// Whether this browser can make and use passkeys (WebAuthn's JSON helpers included).
export const passkeysSupported = () =>
  typeof PublicKeyCredential?.parseRequestOptionsFromJSON === "function";

export const twoStep = {
  // The second step of a sign-in that answered {mfa_required, mfa_token}: the signed-in user.
  // `proof` is {code} or {recovery_code}.
  async verify(mfa_token, proof) {
    return adoptTokens(await post("/auth/mfa/verify", { mfa_token, ...proof }, false));
  },
  status: () => request("/users/me/mfa"),
  startTotp: () => post("/users/me/mfa/totp"),
  confirmTotp: (code) => post("/users/me/mfa/totp/confirm", { code }),
  // proof: {password} or {code}.
  disableTotp: (proof) => request("/users/me/mfa/totp", { method: "DELETE", json: proof }),
  renewRecoveryCodes: () => post("/users/me/mfa/recovery-codes"),
};

// The browser's ceremony, its refusals (cancelled, timed out, no passkey) said in a sentence.
async function ceremony(run) {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof DOMException)) throw error;
    throw new Error("No passkey was used. Try again, or sign in another way.");
  }
}

export const passkeys = {
  list: () => request("/users/me/passkeys"),
  async add(name) {
    const options = await post("/users/me/passkeys/options");
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
    const credential = await ceremony(() => navigator.credentials.create({ publicKey }));
    return post("/users/me/passkeys", { credential: credential.toJSON(), name });
  },
  rename: (id, name) => request(`/users/me/passkeys/${id}`, { method: "PATCH", json: { name } }),
  remove: (id) => request(`/users/me/passkeys/${id}`, { method: "DELETE" }),
  // Sign in with a passkey this device holds for the site: the signed-in user.
  async signIn() {
    const options = await post("/auth/passkey/options", undefined, false);
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
    const credential = await ceremony(() => navigator.credentials.get({ publicKey }));
    return adoptTokens(await post("/auth/passkey", { credential: credential.toJSON() }, false));
  },
};
