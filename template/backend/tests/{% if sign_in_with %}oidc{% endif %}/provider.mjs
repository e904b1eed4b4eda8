// A real OpenID Connect provider for the backend's tests: the certified npm package oidc-provider,
// with its development login and consent pages (any login name, any password).
//
//   node provider.mjs <redirect-uri>...
//
// It listens on a port the system picks and prints "listening on <issuer>" once it answers.
// The login name is the account's email; one starting with "unverified:" has email_verified false.
// It also answers GitHub's /user and /user/emails under /github, for the GitHub flow's tests.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import Provider from "oidc-provider";

const redirectUris = process.argv.slice(2);
// Listen before the issuer is named (it holds the port): a port probed free and then listened on
// can be taken in between by another test run on the same machine.
const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

function claimsOf(login) {
  const verified = !login.startsWith("unverified:");
  const email = login.replace(/^unverified:/, "");
  return { sub: login, email, email_verified: verified, name: email.split("@")[0] };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "neoforge-test",
      client_secret: "neoforge-test-secret",
      redirect_uris: redirectUris,
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
    {
      // GitHub's way: the secret in the token request's form, not in an Authorization header.
      client_id: "neoforge-test-github",
      client_secret: "neoforge-test-secret",
      redirect_uris: redirectUris,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  scopes: ["openid", "email", "profile", "read:user", "user:email"],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  findAccount: (ctx, id) => ({ accountId: id, claims: () => claimsOf(id) }),
  pkce: { required: () => true },
  ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
  cookies: { keys: ["neoforge-test-cookie-key"] },
  features: { devInteractions: { enabled: true } },
});

// GitHub's REST API, the little of it the app reads, for an access token this provider issued.
provider.use(async (ctx, next) => {
  if (ctx.path !== "/github/user" && ctx.path !== "/github/user/emails") return next();
  const value = (ctx.get("authorization") || "").replace(/^(Bearer|token) /i, "");
  const token = value ? await provider.AccessToken.find(value) : undefined;
  if (!token) {
    ctx.status = 401;
    ctx.body = { message: "Bad credentials" };
    return;
  }
  const claims = claimsOf(token.accountId);
  const id = parseInt(createHash("sha256").update(claims.sub).digest("hex").slice(0, 8), 16);
  ctx.body =
    ctx.path === "/github/user"
      ? { id, login: claims.name, name: null, email: null }
      : [{ email: claims.email, primary: true, verified: claims.email_verified, visibility: null }];
});

server.on("request", provider.callback());
process.on("exit", (code) => console.log(`exiting with code ${code}`));
console.log(`listening on ${issuer}`);
