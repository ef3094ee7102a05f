// server.mjs: the local OAuth 2.0 / OpenID Connect identity provider of the
// sasl-oauth2 integration tests (npm oidc-provider 8.x, which runs on the
// Node.js 18 of Debian 12 and on newer ones), on 127.0.0.1 only, plain
// http.  Everything lives in memory and dies with the process.
//
// SECRETS: only the throw-away client secrets of clients.env, known to every
// test.
// Tokens are never logged.
//
// Environment:
//   IDP_PORT             TCP port on 127.0.0.1 (required)
//   IDP_AT_TTL           access token lifetime in seconds (default 3600)
//   IDP_RT_TTL           refresh token lifetime in seconds (default 14 days)
//   IDP_DEVICE_INTERVAL  "interval" in device authorization responses
//                        (default 1; the RFC 8628 default of 5 s makes tests slow)
// Prints "ready <issuer>" on stdout once it listens.
//
// The provider runs at oidc-provider's defaults: in particular it grants
// offline_access (and so a refresh token) only to an authorization or
// device request that carries prompt=consent (OpenID Connect Core 1.0
// section 11), and refuses a refresh whose scope exceeds the refresh
// token's (RFC 6749 section 6).  What the tests configure on top:
//   - any login name is an account; its "email" claim is the login name.
//   - client_credentials tokens carry the client's mailbox as "email".
//   - introspection (/token/introspection) returns active + email; the
//     dovecot client may introspect any token.  Revocation is upstream's:
//     each client revokes its own tokens; revoking an access token kills
//     that token, revoking a refresh token revokes its grant.
//   - refresh tokens rotate on every use (as Microsoft's do), and reusing a
//     consumed one revokes the whole grant (oidc-provider's reuse
//     detection); the Google-like client's do not rotate.
//   - two clients model a real provider's documented behaviour, on purpose
//     and only for themselves (see PROVIDER MODELS below): mua-ms
//     (Microsoft Entra, v2.0 endpoint) and mua-google (Google).
//   - GET /_test/stats, POST /_test/reset: counters (see below).
//   - IDP_GOOGLE_SA (a JSON file a test writes): Google service accounts
//     and their Workspace domain, for the JWT bearer grant of domain-wide
//     delegation (PROVIDER MODELS: Google service accounts).

import http from 'node:http';
import { readFileSync } from 'node:fs';
import * as querystring from 'node:querystring';
import {
  createPublicKey, createSign, createVerify, generateKeyPairSync, randomUUID,
} from 'node:crypto';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

// ---- fixed test clients (throw-away secrets) --------------------------------
// The ids, secrets, scopes and the app-only mailbox live in clients.env (one
// place, also sourced by lib-idp.sh); see the comment there.
function loadClientsEnv() {
  const file = fileURLToPath(new URL('./clients.env', import.meta.url));
  const out = {};
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) throw new Error(`clients.env: bad line: ${line}`);
    out[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return out;
}
const C = loadClientsEnv();
// Tests run in parallel and share each uid's kernel keyring, so each test
// gets its own app-only mailbox (lib-idp.sh sets it per test).
if (process.env.IDP_RELAY_MAILBOX) C.IDP_RELAY_MAILBOX = process.env.IDP_RELAY_MAILBOX;

const CC_SCOPE = C.IDP_CC_SCOPE;
// Microsoft Graph's, which an Exchange mail login cannot use (PROVIDER
// MODELS: IDP_MS_JWT_APP_ID)
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const MUA_SCOPE = C.IDP_MUA_SCOPE;
const MUA_GRANTS = [
  'authorization_code',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code',
];
const MUA_REDIRECTS = ['http://127.0.0.1/callback', 'http://[::1]/callback'];
// What docs/microsoft365.md tells Entra admins to register.
const MS_REDIRECTS = ['http://localhost'];

// mailbox of each app-only (client credentials) client
const APP_MAILBOX = {
  [C.IDP_RELAY_BASIC_ID]: C.IDP_RELAY_MAILBOX,
  [C.IDP_RELAY_POST_ID]: C.IDP_RELAY_MAILBOX,
  [C.IDP_MS_APP_ID]: C.IDP_RELAY_MAILBOX,
  [C.IDP_MS_JWT_APP_ID]: C.IDP_RELAY_MAILBOX,
  [C.IDP_MS_JWT_RBAC_ID]: C.IDP_RELAY_MAILBOX,
};

const CLIENTS = [
  {
    client_id: C.IDP_RELAY_BASIC_ID,
    client_secret: C.IDP_RELAY_BASIC_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: CC_SCOPE,
  },
  {
    // Entra's JWT access tokens, app-only (see PROVIDER MODELS)
    client_id: C.IDP_MS_JWT_APP_ID,
    client_secret: C.IDP_MS_JWT_APP_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: `${CC_SCOPE} ${GRAPH_SCOPE}`,
  },
  {
    // the same, rights by RBAC for Applications (see PROVIDER MODELS)
    client_id: C.IDP_MS_JWT_RBAC_ID,
    client_secret: C.IDP_MS_JWT_RBAC_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: CC_SCOPE,
  },
  {
    // relay-basic under a GUID, as Entra names its apps
    client_id: C.IDP_MS_APP_ID,
    client_secret: C.IDP_MS_APP_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: CC_SCOPE,
  },
  {
    client_id: C.IDP_RELAY_POST_ID,
    client_secret: C.IDP_RELAY_POST_SECRET,
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: CC_SCOPE,
  },
  {
    client_id: C.IDP_DOVECOT_ID,
    client_secret: C.IDP_DOVECOT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  },
  {
    client_id: C.IDP_MUA_ID,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: MUA_GRANTS,
    response_types: ['code'],
    redirect_uris: MUA_REDIRECTS,
    scope: MUA_SCOPE,
  },
  {
    // Microsoft-like (see PROVIDER MODELS)
    client_id: C.IDP_MUA_MS_ID,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: MUA_GRANTS,
    response_types: ['code'],
    redirect_uris: MS_REDIRECTS,
    scope: MUA_SCOPE,
  },
  {
    // mua-ms under a GUID, as Entra names its apps (PROVIDER MODELS)
    client_id: C.IDP_MS_PUBLIC_ID,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: MUA_GRANTS,
    response_types: ['code'],
    redirect_uris: MS_REDIRECTS,
    scope: MUA_SCOPE,
  },
  {
    // mua-ms with Entra's JWT access tokens (PROVIDER MODELS)
    client_id: C.IDP_MS_JWT_PUBLIC_ID,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: MUA_GRANTS,
    response_types: ['code'],
    redirect_uris: MS_REDIRECTS,
    scope: MUA_SCOPE,
  },
  {
    // Google-like (see PROVIDER MODELS): a "Desktop app" client, which
    // Google gives a client secret; Google's device flow refuses the Gmail
    // scope, so no device grant here
    client_id: C.IDP_MUA_GOOGLE_ID,
    client_secret: C.IDP_MUA_GOOGLE_SECRET,
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: MUA_REDIRECTS,
    scope: MUA_SCOPE,
  },
  {
    client_id: C.IDP_MUA_SECRET_ID,
    client_secret: C.IDP_MUA_SECRET_SECRET,
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: MUA_GRANTS,
    response_types: ['code'],
    redirect_uris: MUA_REDIRECTS,
    scope: MUA_SCOPE,
  },
  {
    // the secret in the form body, as the tools "import" takes accounts
    // over from send it
    client_id: C.IDP_MUA_POST_ID,
    client_secret: C.IDP_MUA_POST_SECRET,
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: MUA_GRANTS,
    response_types: ['code'],
    redirect_uris: MUA_REDIRECTS,
    scope: MUA_SCOPE,
  },
];

// relay-jwt: client credentials with private_key_jwt (RS256), enabled when
// a test hands over its public key (PEM file) in IDP_JWT_PUBKEY.
if (process.env.IDP_JWT_PUBKEY) {
  const jwk = createPublicKey(readFileSync(process.env.IDP_JWT_PUBKEY))
    .export({ format: 'jwk' });
  CLIENTS.push({
    client_id: 'relay-jwt',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS256',
    jwks: { keys: [{ ...jwk, use: 'sig', alg: 'RS256' }] },
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: CC_SCOPE,
  });
  APP_MAILBOX['relay-jwt'] = C.IDP_RELAY_MAILBOX;
}

// Google service accounts (PROVIDER MODELS), from IDP_GOOGLE_SA:
//   {"domain_users": [MAILBOX...],
//    "accounts": [{"client_email", "client_id", "private_key_id",
//                  "public_key": PEM, "delegated_scopes": [SCOPE...]}]}
// domain_users are the Workspace domain's users; delegated_scopes what the
// Admin console granted the account's client ID (none: no delegation).
// Each account is a client (its client ID, no client authentication) so
// that the tokens it gets are the library's own, introspectable ones.
const GOOGLE_SA = process.env.IDP_GOOGLE_SA
  ? JSON.parse(readFileSync(process.env.IDP_GOOGLE_SA, 'utf8')) : { domain_users: [], accounts: [] };
for (const sa of GOOGLE_SA.accounts) {
  sa.key = createPublicKey(sa.public_key);
  CLIENTS.push({
    client_id: sa.client_id,
    token_endpoint_auth_method: 'none',
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  });
}

// mua-ropc: a public client for the legacy password grant (see below).
CLIENTS.push({
  client_id: 'mua-ropc',
  token_endpoint_auth_method: 'none',
  grant_types: ['password', 'refresh_token'],
  response_types: [],
  redirect_uris: [],
  scope: MUA_SCOPE,
});

// ---- settings -----------------------------------------------------------------
function envInt(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  if (!/^[0-9]+$/.test(v)) {
    console.error(`idp: ${name} must be a number of seconds, not "${v}"`);
    process.exit(2);
  }
  return Number(v);
}

const PORT = envInt('IDP_PORT', 0);
if (!PORT) {
  console.error('idp: set IDP_PORT');
  process.exit(2);
}
const AT_TTL = envInt('IDP_AT_TTL', 3600);
const RT_TTL = envInt('IDP_RT_TTL', 14 * 24 * 3600);
const DEVICE_INTERVAL = envInt('IDP_DEVICE_INTERVAL', 1);
const ISSUER = `http://127.0.0.1:${PORT}`;

// ---- storage ------------------------------------------------------------------
// An unbounded in-memory adapter (the built-in one is an LRU of 1000 entries,
// which a benchmark could overflow and so evict refresh tokens).
const store = new Map(); // key -> { payload, expiresAt }
const grantMembers = new Map(); // grantId -> Set of keys
const userCodes = new Map(); // userCode -> id
const sessionUids = new Map(); // uid -> id

function live(key) {
  const e = store.get(key);
  if (!e) return undefined;
  if (e.expiresAt !== undefined && e.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return e.payload;
}

class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { payload, expiresAt });
    if (payload.grantId) {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
    if (payload.userCode) userCodes.set(payload.userCode, id);
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, id);
  }

  async find(id) {
    return live(this.key(id));
  }

  async findByUserCode(userCode) {
    const id = userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const p = live(this.key(id));
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    const key = this.key(id);
    const p = live(key);
    store.delete(key);
    if (p?.grantId) grantMembers.get(p.grantId)?.delete(key);
    if (p?.userCode) userCodes.delete(p.userCode);
  }

  async revokeByGrantId(grantId) {
    const members = grantMembers.get(grantId);
    if (!members) return;
    for (const key of [...members]) {
      if (key.startsWith(`${this.model}:`)) {
        store.delete(key);
        members.delete(key);
      }
    }
    if (members.size === 0) grantMembers.delete(grantId);
  }
}

// ---- counters for /_test/stats -----------------------------------------------
const stats = {
  token_requests: 0, by_grant: {}, grants_revoked: 0, device_authorizations: 0,
};
function resetStats() {
  stats.token_requests = 0;
  stats.by_grant = {};
  stats.grants_revoked = 0;
  stats.device_authorizations = 0;
}

// ---- provider -------------------------------------------------------------------
const configuration = {
  clients: CLIENTS,
  adapter: TestAdapter,
  // the mail scopes are declared so that the consent puts them into the
  // grant and the access token's "scope" lists them, like Microsoft does
  scopes: [...new Set([...MUA_SCOPE.split(' '), CC_SCOPE, GRAPH_SCOPE])],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true };
      },
    };
  },
  async extraTokenClaims(_ctx, token) {
    if (token.kind === 'ClientCredentials') {
      const email = APP_MAILBOX[token.clientId];
      return email ? { email } : undefined;
    }
    if (token.accountId) return { email: token.accountId };
    return undefined;
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: {
      enabled: true,
      // confidential clients (dovecot) may introspect any token, a public
      // client only its own (the library default, made explicit)
      async allowedPolicy(ctx, client, token) {
        return client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client.clientId;
      },
    },
    revocation: { enabled: true },
  },
  pkce: {
    methods: ['S256'],
    required: () => true,
  },
  // Refresh tokens rotate on every use, as Microsoft's do (upstream rotates
  // those of public clients); reuse detection stays on (built in).  Google
  // does not rotate.
  rotateRefreshToken(ctx) {
    return ctx.oidc.client.clientId !== C.IDP_MUA_GOOGLE_ID;
  },
  // Google's authorization parameter, read by the Google model below.
  extraParams: ['access_type'],
  ttl: {
    AccessToken: AT_TTL,
    ClientCredentials: AT_TTL,
    RefreshToken: RT_TTL,
    Grant: Math.max(RT_TTL, 14 * 24 * 3600) + 3600,
    Session: Math.max(RT_TTL, 14 * 24 * 3600) + 3600,
    AuthorizationCode: 120,
    DeviceCode: 600,
    Interaction: 3600,
    IdToken: 3600,
  },
  cookies: {
    keys: ['sasl-oauth2-test-cookie-key'],
  },
};

const provider = new Provider(ISSUER, configuration);

// The legacy password grant (ROPC), which oidc-provider does not ship:
// registered here so the helper's flow = password meets a real token
// endpoint.  Every test account's password is ROPC_PASSWORD.
const ROPC_PASSWORD = 'ropc-password-1f4e';
provider.registerGrantType('password', async (ctx) => {
  const { username, password, scope } = ctx.oidc.params;
  if (!username || password !== ROPC_PASSWORD) {
    throw new errors.InvalidGrant('AADSTS50126: wrong user name or password');
  }
  const { client } = ctx.oidc;
  const scopes = (scope || '').split(' ').filter(Boolean);
  const grant = new provider.Grant({ accountId: username, clientId: client.clientId });
  grant.addOIDCScope(scopes.join(' '));
  const grantId = await grant.save();
  const at = new provider.AccessToken({
    accountId: username, client, grantId, scope: scopes.join(' '), gty: 'password',
  });
  const body = {
    access_token: await at.save(), token_type: 'Bearer',
    expires_in: at.expiration, scope: scopes.join(' '),
  };
  if (scopes.includes('offline_access')) {
    const rt = new provider.RefreshToken({
      accountId: username, client, grantId, scope: scopes.join(' '), gty: 'password',
    });
    body.refresh_token = await rt.save();
  }
  ctx.body = body;
}, ['username', 'password', 'scope']);

provider.on('grant.revoked', () => {
  stats.grants_revoked += 1;
});
provider.on('device_authorization.success', (_ctx, body) => {
  body.interval = DEVICE_INTERVAL;
});
provider.on('server_error', (_ctx, err) => {
  console.error('idp: server_error:', err);
});

// ---- PROVIDER MODELS ----------------------------------------------------------
// Where a real provider differs from the standards oidc-provider follows,
// one test client models its documented behaviour, named here, so that the
// helper's preset for that provider is tested against what it will meet.
// Nothing here applies to any other client.
//
// mua-ms (and IDP_MS_PUBLIC_ID), Microsoft Entra ID (v2.0 endpoint):
//   - grants offline_access whenever it is requested (once consented); it
//     needs no prompt=consent.  Mapped onto oidc-provider by adding the
//     consent prompt to its authorization and device requests.
//   - requires "scope" on a refresh_token request ("AADSTS900144: The
//     request body must contain the following parameter: 'scope'").
//   - answers with a narrower "scope": the resource's scopes, without
//     openid, profile, email and offline_access.
//   - matches redirect URIs as "Redirect URI (reply URL) restrictions"
//     documents (learn.microsoft.com/entra/identity-platform/reply-url):
//     for a localhost or 127.0.0.1 URI the port is ignored, nothing else:
//     the scheme, the host (localhost is not 127.0.0.1) and the path
//     (case-sensitive; none is "/") must be those of a registered URI;
//     [::1] is not supported.  Anything else is refused on Entra's own
//     page with AADSTS50011, never redirected.  The client registers
//     http://localhost only, as docs/microsoft365.md says.
// mua-google, Google OAuth 2.0 for installed apps:
//   - issues a refresh token only for access_type=offline, and a new one
//     only with prompt=consent; Google has no offline_access scope.  Mapped
//     onto oidc-provider by turning that pair into offline_access and
//     dropping offline_access otherwise.
//   - does not rotate refresh tokens: a refresh answer has no
//     refresh_token.
// IDP_MS_JWT_APP_ID and IDP_MS_JWT_RBAC_ID, Microsoft Entra ID app-only
// (client credentials) tokens for Exchange Online:
//   - the access token is a JWT (v1.0, RS256) for the resource of the
//     .default scope: aud https://outlook.office365.com, iss
//     https://sts.windows.net/TENANT/, tid, appid, oid, and in "roles" the
//     application permissions an admin consented to (SMTP.SendAsApp); an
//     app given its rights with Exchange's RBAC for Applications has no
//     such permission, so its token carries no roles.  No user claims.
//     Mapped onto oidc-provider by handing out such a JWT (signed with a
//     key made at start, expiring with the token's expires_in) instead of
//     the opaque token the library issued.  The library keeps only the
//     opaque one, so these JWTs can be neither introspected nor revoked
//     here: tests use them with servers that do not introspect.
// IDP_MS_JWT_PUBLIC_ID, the same for delegated tokens: a public client
//   behaving as mua-ms does, whose access tokens are Entra's JWTs for
//   Exchange Online: aud https://outlook.office.com, the granted delegated
//   permissions by their short names in "scp" (IMAP.AccessAsUser.All
//   SMTP.Send), the signed-in user in "upn" and "unique_name", tid, appid.
// IDP_MS_JWT_APP_ID may also ask for https://graph.microsoft.com/.default,
//   as apps set up for Graph's sendMail do by mistake for SMTP: Entra then
//   issues a token for Microsoft Graph (aud https://graph.microsoft.com,
//   the app's Graph permissions in roles, here Mail.Send), which Exchange
//   refuses.
// Google service accounts with domain-wide delegation (IDP_GOOGLE_SA), as
//   developers.google.com/identity/protocols/oauth2/service-account
//   documents the server-to-server flow: POST to the token endpoint with
//   grant_type urn:ietf:params:oauth:grant-type:jwt-bearer and assertion, a
//   JWT (RFC 7523 2.1) signed RS256 with the service account's key, claims
//   iss (client_email), scope (space-separated), aud (the token endpoint),
//   iat, exp (at most an hour after iat) and sub (the user impersonated);
//   no client authentication.  The answer: access_token, expires_in,
//   token_type, no refresh token.  Refusals in Google's words:
//   - a signature the account's registered key does not verify:
//     invalid_grant "Invalid JWT Signature."
//   - the times: invalid_grant "Invalid JWT: Token must be a short-lived
//     token (60 minutes) and in a reasonable timeframe. Check your iat and
//     exp values in the JWT claim."
//   - no scope: invalid_scope "Invalid OAuth scope or ID token audience
//     provided."
//   - no delegation for the client ID, or not for the scope:
//     unauthorized_client "Client is unauthorized to retrieve access tokens
//     using this method, or client not authorized for any of the scopes
//     requested."
//   - a sub that is no user of the domain: invalid_grant "Invalid email or
//     User ID"
//   The wording of the other refusals (an unknown iss, a wrong aud, a
//   malformed JWT) is this model's.  Without sub the token is the service
//   account's own (no mailbox: Gmail refuses it).  The access token is the
//   library's opaque one for the account sub, so introspection (Dovecot)
//   names that mailbox and no other.
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function googleRefuse(ctx, error, description) {
  ctx.status = 400;
  ctx.set('cache-control', 'no-store');
  ctx.body = { error, error_description: description };
}

function b64part(p) {
  return JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
}

async function googleJwtBearer(ctx, form) {
  const parts = String(form.assertion || '').split('.');
  let header;
  let claims;
  try {
    if (parts.length !== 3) throw new Error('parts');
    header = b64part(parts[0]);
    claims = b64part(parts[1]);
  } catch {
    googleRefuse(ctx, 'invalid_grant', 'Invalid JWT: not a signed JWT.');
    return;
  }
  const sa = GOOGLE_SA.accounts.find((a) => a.client_email === claims.iss);
  if (!sa) {
    googleRefuse(ctx, 'invalid_grant', 'Invalid grant: account not found');
    return;
  }
  const ok = header.alg === 'RS256'
    && createVerify('RSA-SHA256').update(`${parts[0]}.${parts[1]}`)
      .verify(sa.key, Buffer.from(parts[2], 'base64url'));
  if (!ok) {
    googleRefuse(ctx, 'invalid_grant', 'Invalid JWT Signature.');
    return;
  }
  if (claims.aud !== `${ISSUER}/token`) {
    googleRefuse(ctx, 'invalid_grant', `Invalid JWT: Failed audience check. The right audience is ${ISSUER}/token`);
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  if (!Number.isInteger(claims.iat) || !Number.isInteger(claims.exp)
      || claims.exp <= now || claims.iat > now + 60 || claims.exp - claims.iat > 3600) {
    googleRefuse(ctx, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) '
      + 'and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    return;
  }
  const scopes = words(claims.scope);
  if (scopes.length === 0) {
    googleRefuse(ctx, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    return;
  }
  let accountId = sa.client_email;
  if (claims.sub !== undefined) {
    if (!scopes.every((sc) => sa.delegated_scopes.includes(sc))) {
      googleRefuse(ctx, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens '
        + 'using this method, or client not authorized for any of the scopes requested.');
      return;
    }
    if (!GOOGLE_SA.domain_users.includes(claims.sub)) {
      googleRefuse(ctx, 'invalid_grant', 'Invalid email or User ID');
      return;
    }
    accountId = claims.sub;
  }
  const client = await provider.Client.find(sa.client_id);
  const grant = new provider.Grant({ accountId, clientId: sa.client_id });
  grant.addOIDCScope(scopes.join(' '));
  const grantId = await grant.save();
  const at = new provider.AccessToken({
    accountId, client, grantId, scope: scopes.join(' '), gty: JWT_BEARER,
  });
  const token = await at.save();
  ctx.status = 200;
  ctx.set('cache-control', 'no-store');
  ctx.body = { access_token: token, expires_in: at.expiration, token_type: 'Bearer' };
}

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);
const MS_JWT_MODEL = new Set([C.IDP_MS_JWT_APP_ID, C.IDP_MS_JWT_RBAC_ID, C.IDP_MS_JWT_PUBLIC_ID]);
const { privateKey: MS_JWT_KEY } = generateKeyPairSync('rsa', { modulusLength: 2048 });

function b64json(o) {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

// user: the signed-in account and the granted scope (delegated), or none.
function entraToken(clientId, expiresIn, user, scope) {
  const graph = words(scope).includes(GRAPH_SCOPE);
  const now = Math.floor(Date.now() / 1000);
  const sts = `https://sts.windows.net/${C.IDP_MS_TENANT_ID}/`;
  const claims = {
    aud: graph ? 'https://graph.microsoft.com'
      : user ? 'https://outlook.office.com' : 'https://outlook.office365.com',
    iss: sts, iat: now, nbf: now,
    exp: now + Number(expiresIn || AT_TTL), app_displayname: 'sasl-oauth2 test',
    appid: clientId, appidacr: '1', idp: sts, oid: randomUUID(), sub: randomUUID(),
    tid: C.IDP_MS_TENANT_ID, ver: '1.0',
  };
  if (clientId === C.IDP_MS_JWT_APP_ID) claims.roles = graph ? ['Mail.Send'] : ['SMTP.SendAsApp'];
  if (user) {
    claims.scp = words(user.scope).filter((w) => w.startsWith('https://outlook.office.com/'))
      .map((w) => w.slice('https://outlook.office.com/'.length)).join(' ');
    claims.upn = user.accountId;
    claims.unique_name = user.accountId;
  }
  const input = `${b64json({ typ: 'JWT', alg: 'RS256', kid: 'sasl-oauth2-test' })}.${b64json(claims)}`;
  const sig = createSign('RSA-SHA256').update(input).sign(MS_JWT_KEY).toString('base64url');
  return `${input}.${sig}`;
}
const MS_MODEL = new Set([C.IDP_MUA_MS_ID, C.IDP_MS_PUBLIC_ID, C.IDP_MS_JWT_PUBLIC_ID]);

function words(v) {
  return String(v || '').split(' ').filter(Boolean);
}

// The form body of a POST, read here (oidc-provider then parses the
// string handed back in ctx.req.body): parsed, and a way to change it.
async function readForm(ctx) {
  const chunks = [];
  let n = 0;
  for await (const c of ctx.req) {
    n += c.length;
    if (n > 56 * 1024) ctx.throw(413);
    chunks.push(c);
  }
  const form = querystring.parse(Buffer.concat(chunks).toString('utf8'));
  ctx.req.body = querystring.stringify(form);
  return form;
}

function setForm(ctx, form) {
  ctx.req.body = querystring.stringify(form);
}

function msConsent(params) {
  const prompts = words(params.prompt);
  if (words(params.scope).includes('offline_access') && !prompts.includes('consent')) {
    return { ...params, prompt: [...prompts, 'consent'].join(' ') };
  }
  return params;
}

const ENTRA_LOOPBACKS = new Set(['localhost', '127.0.0.1']);

// Entra's rule for one registered URI (see the model above).
function entraRedirectMatches(registered, requested) {
  let reg;
  let req;
  try {
    reg = new URL(registered);
    req = new URL(requested);
  } catch {
    return false;
  }
  if (req.hash !== '' || req.username !== '' || req.password !== '') return false;
  if (ENTRA_LOOPBACKS.has(reg.hostname) && reg.hostname === req.hostname) {
    reg.port = '';
    req.port = '';
  }
  return reg.href === req.href;
}

function entraRefusal(ctx, redirectUri, clientId) {
  ctx.status = 400;
  ctx.type = 'html';
  const shown = String(redirectUri).replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
  ctx.body = '<!DOCTYPE html><html><head><title>Sign in to your account</title></head>'
    + `<body><p>AADSTS50011: The redirect URI '${shown}' specified in the request does not match `
    + `the redirect URIs configured for the application '${clientId}'.</p></body></html>`;
}

function googleOffline(params) {
  const scopes = words(params.scope).filter((s) => s !== 'offline_access');
  if (params.access_type === 'offline' && words(params.prompt).includes('consent')) {
    scopes.push('offline_access');
  }
  return { ...params, scope: scopes.join(' ') };
}

provider.use(async (ctx, next) => {
  const form = ctx.method === 'POST' && ctx.is('application/x-www-form-urlencoded')
    && (ctx.path === '/token' || ctx.path === '/device/auth')
    ? await readForm(ctx) : undefined;
  const clientId = (form || ctx.query).client_id;

  if (ctx.method === 'GET' && ctx.path === '/auth') {
    if (MS_MODEL.has(clientId)
        && !MS_REDIRECTS.some((r) => entraRedirectMatches(r, ctx.query.redirect_uri))) {
      entraRefusal(ctx, ctx.query.redirect_uri, clientId);
      return;
    }
    if (MS_MODEL.has(clientId)) ctx.query = msConsent(ctx.query);
    if (clientId === C.IDP_MUA_GOOGLE_ID) ctx.query = googleOffline(ctx.query);
  }
  if (ctx.path === '/device/auth' && form && MS_MODEL.has(clientId)) {
    setForm(ctx, msConsent(form));
  }
  const msRefresh = ctx.path === '/token' && form?.grant_type === 'refresh_token'
    && MS_MODEL.has(clientId);
  try {
    if (msRefresh && !form.scope) {
      ctx.status = 400;
      ctx.body = {
        error: 'invalid_request',
        error_description: "AADSTS900144: The request body must contain the following parameter: 'scope'.",
      };
    } else if (ctx.path === '/token' && form?.grant_type === JWT_BEARER
        && GOOGLE_SA.accounts.length > 0) {
      await googleJwtBearer(ctx, form);
    } else {
      await next();
    }
  } finally {
    if (ctx.method === 'POST' && ctx.path === '/device/auth') {
      stats.device_authorizations += 1;
    }
    if (ctx.method === 'POST' && ctx.path === '/token') {
      stats.token_requests += 1;
      const g = form?.grant_type || 'unknown';
      stats.by_grant[g] = (stats.by_grant[g] || 0) + 1;
    }
  }
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.access_token) {
    // a confidential client's id is in the Authorization header, not the form
    const authed = ctx.oidc?.client?.clientId;
    if (MS_JWT_MODEL.has(authed)) {
      const at = authed === C.IDP_MS_JWT_PUBLIC_ID
        ? await provider.AccessToken.find(ctx.body.access_token) : undefined;
      ctx.body.access_token = entraToken(authed, ctx.body.expires_in, at, form?.scope);
    }
    if (MS_MODEL.has(clientId) && ctx.body.scope) {
      ctx.body.scope = words(ctx.body.scope).filter((s) => !OIDC_SCOPES.has(s)).join(' ');
    }
    if (clientId === C.IDP_MUA_GOOGLE_ID && form?.grant_type === 'refresh_token') {
      delete ctx.body.refresh_token;
    }
  }
});

const oidcCallback = provider.callback();

function testEndpoint(req, res) {
  const url = new URL(req.url, ISSUER);
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(`${JSON.stringify(body)}\n`);
  };
  if (url.pathname === '/_test/stats' && req.method === 'GET') {
    send(200, stats);
  } else if (url.pathname === '/_test/reset' && req.method === 'POST') {
    resetStats();
    send(200, stats);
  } else {
    send(404, { error: 'not_found' });
  }
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/_test/')) {
    testEndpoint(req, res);
  } else {
    oidcCallback(req, res);
  }
});

server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`ready ${ISSUER}\n`);
});

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
