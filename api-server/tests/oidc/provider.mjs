// Test-only OpenID Connect identity provider for the Consortia api-server
// integration tests. NOT for production use: logins are automatic, and the
// /test/* control endpoints can forge and tamper with tokens.
//
// Built on oidc-provider 9 (see README.md next to this file for the HTTP
// contract). Start with `node provider.mjs`; after listening it prints exactly
// one JSON line to stdout: {"issuer":"http://127.0.0.1:PORT","port":PORT}.
// Everything else goes to stderr.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as querystring from 'node:querystring';

// ---------------------------------------------------------------------------
// stdout carries exactly one line (the ready line). oidc-provider prints
// notices with console.info, so route every console method to stderr before
// the library is loaded.
// ---------------------------------------------------------------------------
const toStderr = (...args) => {
  process.stderr.write(`${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`);
};
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;

const { default: Provider, interactionPolicy, errors } = await import('oidc-provider');

// ---------------------------------------------------------------------------
// Configuration from the environment
// ---------------------------------------------------------------------------
function intEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

const PORT = intEnv('OIDC_PORT', 0);
const ID_TOKEN_TTL = intEnv('OIDC_ID_TOKEN_TTL', 600);
const ACCESS_TOKEN_TTL = intEnv('OIDC_ACCESS_TOKEN_TTL', 600);
const API_AUDIENCE = process.env.OIDC_API_AUDIENCE || 'consortia-api';
const API_SCOPE = 'api';
// "1" keeps normal OIDC single sign-on: an existing IdP session is reused
// without an interaction. Default: every authorization request goes through
// the (automatic) login interaction, so /test/next-login always applies.
const SSO = process.env.OIDC_SSO === '1';
// "1" shows a sign-in page for every login (a person types a username and any password),
// as a browser meets at a real identity provider; by default logins finish by themselves.
const LOGIN_PAGE = process.env.OIDC_LOGIN_PAGE === '1';
const DEFAULT_ACCOUNT = 'alice';

const DEFAULT_CLIENTS = [{
  client_id: 'consortia',
  client_secret: 's3cret',
  redirect_uris: ['http://127.0.0.1:8080/auth/callback'],
  post_logout_redirect_uris: ['http://127.0.0.1:8080/'],
  grant_types: ['authorization_code', 'client_credentials'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
}];

let CLIENTS = DEFAULT_CLIENTS;
if (process.env.OIDC_CLIENTS) {
  CLIENTS = JSON.parse(process.env.OIDC_CLIENTS);
  if (!Array.isArray(CLIENTS)) throw new Error('OIDC_CLIENTS must be a JSON array');
}

// oidc-provider only accepts absolute URIs as resource indicators (RFC 8707).
// When the audience is not one (e.g. the default "consortia-api"), requests
// may still say resource=<audience>: it is rewritten to this internal URN
// before oidc-provider sees it, and tokens carry aud=<audience> regardless.
function isAbsoluteUri(value) {
  const parsed = URL.parse(value);
  return !!parsed && !parsed.href.includes('#');
}
const RESOURCE = isAbsoluteUri(API_AUDIENCE)
  ? API_AUDIENCE
  : `urn:consortia-test-idp:audience:${encodeURIComponent(API_AUDIENCE)}`;
const RESOURCE_ALIASED = RESOURCE !== API_AUDIENCE;

// ---------------------------------------------------------------------------
// Keys. The provider signs ID tokens and JWT access tokens with MAIN_KEY
// (RS256). ROTATED_KEY is created on demand and then published in the JWKS.
// UNKNOWN_KEY is never published.
// ---------------------------------------------------------------------------
function newRsaKey(prefix) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `${prefix}-${crypto.randomBytes(6).toString('hex')}`;
  const jwk = privateKey.export({ format: 'jwk' });
  const publicJwk = {
    kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig',
  };
  return {
    kid, privateKey, privateJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' }, publicJwk,
  };
}

const MAIN_KEY = newRsaKey('main');
let ROTATED_KEY;
let UNKNOWN_KEY;

function rotatedKey() {
  ROTATED_KEY ||= newRsaKey('rotated');
  return ROTATED_KEY;
}
function unknownKey() {
  UNKNOWN_KEY ||= newRsaKey('unknown');
  return UNKNOWN_KEY;
}

const b64u = (input) => Buffer.from(input).toString('base64url');

function signJwt(header, payload, key) {
  const head = { ...header, alg: 'RS256', kid: key.kid };
  const input = `${b64u(JSON.stringify(head))}.${b64u(JSON.stringify(payload))}`;
  const signature = crypto.sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

function decodeJwt(token) {
  const [h, p] = String(token).split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()),
  };
}

function keyFor(name, allowed) {
  if (!allowed.includes(name)) {
    throw new HttpError(400, `key must be one of ${allowed.join(', ')}`);
  }
  switch (name) {
    case 'provider': return MAIN_KEY;
    case 'rotated': return rotatedKey();
    default: return unknownKey();
  }
}

// ---------------------------------------------------------------------------
// Test state, driven by the /test/* endpoints
// ---------------------------------------------------------------------------
const accounts = new Map(); // sub -> { email, email_verified, name, groups }
let nextLogin; // one-shot account id for the next interactive login
let pendingTamper; // one-shot id_token rewrite for the next code exchange
const stats = { jwks_requests: 0, token_requests: 0, discovery_requests: 0 };

function accountClaims(sub) {
  const stored = accounts.get(sub) || {};
  return {
    sub,
    email: stored.email ?? `${sub}@idp.example`,
    email_verified: stored.email_verified ?? true,
    name: stored.name ?? sub,
    groups: stored.groups ?? [],
  };
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------------------
// Helpers for raw request bodies
// ---------------------------------------------------------------------------
function readRaw(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 1024 * 1024) {
        reject(new HttpError(413, 'request body too large'));
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readJson(ctx) {
  const raw = await readRaw(ctx.req);
  if (!raw.trim()) return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'body must be JSON');
  }
}

// Replace a form body oidc-provider has not read yet. The stream is drained
// and the new body is handed over through req.body, which oidc-provider's
// body parser falls back to (it logs one warning about that, to stderr).
async function replaceFormBody(ctx, mutate) {
  const raw = await readRaw(ctx.req);
  const form = querystring.parse(raw);
  mutate(form);
  ctx.req.body = querystring.stringify(form);
}

function aliasResource(params) {
  const { resource } = params;
  if (resource === undefined) return false;
  const map = (value) => (value === API_AUDIENCE ? RESOURCE : value);
  const mapped = Array.isArray(resource) ? resource.map(map) : map(resource);
  const changed = JSON.stringify(mapped) !== JSON.stringify(resource);
  params.resource = mapped;
  return changed;
}

// ---------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------
const policy = interactionPolicy.base();
if (!SSO) {
  policy.get('login').checks.add(new interactionPolicy.Check(
    'test_idp_always_login',
    'the test IdP authenticates on every authorization request',
    'login_required',
    (ctx) => (ctx.oidc.result?.login
      ? interactionPolicy.Check.NO_NEED_TO_PROMPT
      : interactionPolicy.Check.REQUEST_PROMPT),
  ));
}

const OIDC_SCOPES = ['openid', 'email', 'profile', 'groups'];

const configuration = {
  clients: CLIENTS,
  jwks: { keys: [MAIN_KEY.privateJwk] },
  cookies: {
    keys: [crypto.randomBytes(32).toString('hex')],
  },
  scopes: OIDC_SCOPES,
  responseTypes: ['code'],
  claims: {
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // Put scope-requested claims (email, name, groups) into the ID token even
  // when an access token is issued too.
  conformIdTokenClaims: false,
  clientDefaults: {
    grant_types: ['authorization_code'],
    id_token_signed_response_alg: 'RS256',
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  pkce: {
    required: () => true,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    userinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // Instead of a confirmation page: redirect straight to a GET form of the
      // confirm endpoint (converted to the POST oidc-provider expects by the
      // middleware below).
      async logoutSource(ctx) {
        const { secret } = ctx.oidc.session.state;
        ctx.status = 303;
        ctx.redirect(confirmLogoutUrl(secret));
      },
      async postLogoutSuccessSource(ctx) {
        ctx.type = 'json';
        ctx.body = { logged_out: true, client_id: ctx.oidc.client?.clientId ?? null };
      },
    },
    resourceIndicators: {
      enabled: true,
      async defaultResource(_ctx, _client, oneOf) {
        if (oneOf) return oneOf.includes(RESOURCE) ? RESOURCE : oneOf;
        return RESOURCE;
      },
      // Use the (default) resource granted at the authorization endpoint when
      // the token request names none, so code exchanges give JWT access
      // tokens for the API.
      async useGrantedResource() {
        return true;
      },
      async getResourceServerInfo(_ctx, resourceIndicator) {
        if (resourceIndicator !== RESOURCE) {
          throw new errors.InvalidTarget(`unknown resource indicator (this IdP serves only ${API_AUDIENCE})`);
        }
        return {
          scope: API_SCOPE,
          audience: API_AUDIENCE,
          accessTokenTTL: ACCESS_TOKEN_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  formats: {
    customizers: {
      // API access tokens always carry the "api" scope, whether or not the
      // client asked for it.
      async jwt(_ctx, _token, structured) {
        if (structured.payload.aud === API_AUDIENCE) {
          const scopes = new Set((structured.payload.scope || '').split(' ').filter(Boolean));
          scopes.add(API_SCOPE);
          structured.payload.scope = [...scopes].join(' ');
        }
      },
    },
  },
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    ClientCredentials: ACCESS_TOKEN_TTL,
    IdToken: ID_TOKEN_TTL,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  interactions: {
    policy,
    // Absolute, so clients following Location by hand need no URL resolution.
    url: (_ctx, interaction) => `${ISSUER}/interaction/${interaction.uid}`,
  },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return accountClaims(sub);
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
};

// Bind first so the issuer (which needs the port) is known.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
const ISSUER = `http://127.0.0.1:${port}`;

function confirmLogoutUrl(secret) {
  return `${ISSUER}/session/end/confirm?${querystring.stringify({ xsrf: secret, logout: 'yes' })}`;
}

const provider = new Provider(ISSUER, configuration);

provider.on('server_error', (_ctx, err) => {
  console.error('oidc-provider server_error:', err);
});

// ---------------------------------------------------------------------------
// Middleware (runs in front of oidc-provider's router)
// ---------------------------------------------------------------------------

// 1. Test control endpoints.
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/test/')) {
    await next();
    return;
  }
  try {
    ctx.type = 'json';
    ctx.body = await control(ctx);
  } catch (err) {
    ctx.status = err.status || 500;
    ctx.type = 'json';
    ctx.body = { error: err.message };
    if (!err.status) console.error(err);
  }
});

async function control(ctx) {
  const route = `${ctx.method} ${ctx.path}`;
  switch (route) {
    case 'GET /test/health':
      return { ok: true };
    case 'GET /test/stats':
      return { ...stats };
    case 'POST /test/stats/reset':
      stats.jwks_requests = 0;
      stats.token_requests = 0;
      stats.discovery_requests = 0;
      return { ...stats };
    case 'POST /test/accounts': {
      const body = await readJson(ctx);
      if (typeof body.sub !== 'string' || !body.sub) throw new HttpError(400, 'sub (string) is required');
      const entry = {};
      for (const field of ['email', 'email_verified', 'name', 'groups']) {
        if (body[field] !== undefined) entry[field] = body[field];
      }
      if (entry.groups !== undefined && !(Array.isArray(entry.groups) && entry.groups.every((g) => typeof g === 'string'))) {
        throw new HttpError(400, 'groups must be an array of strings');
      }
      accounts.set(body.sub, entry);
      return accountClaims(body.sub);
    }
    case 'POST /test/next-login': {
      const body = await readJson(ctx);
      if (body.sub !== null && (typeof body.sub !== 'string' || !body.sub)) {
        throw new HttpError(400, 'sub (string, or null to reset) is required');
      }
      nextLogin = body.sub ?? undefined;
      return { next_login: nextLogin ?? DEFAULT_ACCOUNT };
    }
    case 'POST /test/tamper': {
      const body = await readJson(ctx);
      const tamper = {
        claims: body.claims ?? {},
        remove: body.remove ?? [],
        key: body.key ?? 'provider',
      };
      if (typeof tamper.claims !== 'object' || Array.isArray(tamper.claims)) throw new HttpError(400, 'claims must be an object');
      if (!Array.isArray(tamper.remove)) throw new HttpError(400, 'remove must be an array');
      keyFor(tamper.key, ['provider', 'unknown']);
      pendingTamper = tamper;
      return { armed: true, ...tamper };
    }
    case 'POST /test/rotate':
      return { kid: rotatedKey().kid };
    case 'POST /test/mint': {
      const body = await readJson(ctx);
      const key = keyFor(body.key ?? 'provider', ['provider', 'rotated', 'unknown']);
      const ttl = body.ttl ?? ACCESS_TOKEN_TTL;
      if (!Number.isInteger(ttl)) throw new HttpError(400, 'ttl must be an integer (seconds, may be negative)');
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: ISSUER,
        iat: now,
        exp: now + ttl,
        jti: crypto.randomBytes(16).toString('hex'),
        ...(body.claims ?? {}),
      };
      // A null claim value removes that claim (e.g. {"exp": null}).
      for (const [k, v] of Object.entries(payload)) if (v === null) delete payload[k];
      const header = { typ: 'at+jwt', ...(body.header ?? {}) };
      return { token: signJwt(header, payload, key), kid: key.kid };
    }
    default:
      throw new HttpError(404, `no such control endpoint: ${route}`);
  }
}

// 2. Request counting, JWKS augmentation, resource aliasing, token tampering.
provider.use(async (ctx, next) => {
  const { path, method } = ctx;

  if (path === '/.well-known/openid-configuration') stats.discovery_requests += 1;
  if (path === '/jwks') stats.jwks_requests += 1;
  if (path === '/token' && method === 'POST') stats.token_requests += 1;

  // resource=<audience> -> internal resource indicator URI.
  if (RESOURCE_ALIASED && ['/auth', '/token', '/request'].includes(path)) {
    if (ctx.querystring) {
      const query = querystring.parse(ctx.querystring);
      if (aliasResource(query)) ctx.querystring = querystring.stringify(query);
    }
    if (method === 'POST' && ctx.is('application/x-www-form-urlencoded')) {
      await replaceFormBody(ctx, aliasResource);
    }
  }

  // Logout confirmation over plain GET: oidc-provider only accepts a POST of
  // xsrf + logout at the confirm endpoint.
  if (path === '/session/end/confirm' && method === 'GET') {
    const { xsrf, logout } = ctx.query;
    const form = querystring.stringify({ xsrf, ...(logout ? { logout } : {}) });
    await readRaw(ctx.req);
    ctx.method = 'POST';
    ctx.req.headers['content-type'] = 'application/x-www-form-urlencoded';
    ctx.req.headers['content-length'] = String(Buffer.byteLength(form));
    ctx.req.body = form;
  }

  await next();

  // oidc-provider answers with an auto-submitting HTML form (POST to the
  // logout confirm endpoint) when logging out without a signed-in session, and
  // when a new login replaces the session's account. Turn those into a 303 to
  // the GET form of the confirm endpoint so plain HTTP clients can follow.
  if (
    ctx.status === 200
    && typeof ctx.body === 'string'
    && ctx.body.includes('/session/end/confirm')
  ) {
    const match = /name="xsrf" value="([^"]+)"/.exec(ctx.body);
    if (match) {
      ctx.status = 303;
      ctx.redirect(confirmLogoutUrl(match[1]));
    }
  }

  if (path === '/jwks' && ROTATED_KEY && ctx.status === 200 && ctx.body?.keys) {
    ctx.body = { keys: [...ctx.body.keys, ROTATED_KEY.publicJwk] };
  }

  // The JWT customizer adds the "api" scope to API access tokens even when the
  // client did not ask for it; make the token response's "scope" agree
  // instead of leaving it empty.
  if (path === '/token' && ctx.status === 200 && typeof ctx.body?.access_token === 'string' && !ctx.body.scope) {
    try {
      const { payload } = decodeJwt(ctx.body.access_token);
      if (payload.aud === API_AUDIENCE && payload.scope) ctx.body = { ...ctx.body, scope: payload.scope };
    } catch {
      // not a JWT
    }
  }

  if (
    path === '/token'
    && pendingTamper
    && ctx.status === 200
    && ctx.oidc?.params?.grant_type === 'authorization_code'
    && ctx.body?.id_token
  ) {
    const tamper = pendingTamper;
    pendingTamper = undefined;
    const { header, payload } = decodeJwt(ctx.body.id_token);
    Object.assign(payload, tamper.claims);
    for (const claim of tamper.remove) delete payload[claim];
    const key = keyFor(tamper.key, ['provider', 'unknown']);
    ctx.body = { ...ctx.body, id_token: signJwt(header, payload, key) };
    console.error(`test-idp: tampered id_token (key=${tamper.key}, kid=${key.kid})`);
  }
});

// 3. Automatic interactions: log in as the next-login account and grant
//    everything requested, then send the user agent back to oidc-provider.
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) {
    await next();
    return;
  }
  try {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params } = details;
    const clientId = params.client_id;
    let result;

    if (prompt.name === 'login' && LOGIN_PAGE && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = loginPage(details.uid, params.client_id);
      return;
    }
    if (prompt.name === 'login') {
      let accountId = nextLogin ?? DEFAULT_ACCOUNT;
      nextLogin = undefined;
      if (LOGIN_PAGE) {
        const form = querystring.parse(await readRaw(ctx.req));
        const username = String(form.username ?? '').trim();
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(username) || !String(form.password ?? '')) {
          ctx.status = 400;
          ctx.type = 'html';
          ctx.body = loginPage(details.uid, params.client_id, 'Enter a username and a password.');
          return;
        }
        accountId = username;
      }
      const grant = new provider.Grant({ accountId, clientId });
      const requested = String(params.scope || '').split(' ').filter(Boolean);
      const oidcScopes = requested.filter((s) => OIDC_SCOPES.includes(s));
      if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
      const claimNames = requestedClaimNames(params.claims);
      if (claimNames.length) grant.addOIDCClaims(claimNames);
      grant.addResourceScope(RESOURCE, API_SCOPE);
      const grantId = await grant.save();
      result = { login: { accountId }, consent: { grantId } };
      console.error(`test-idp: interaction ${details.uid}: login as ${accountId} for ${clientId}`);
    } else if (prompt.name === 'consent') {
      const accountId = details.session?.accountId;
      let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
      grant ||= new provider.Grant({ accountId, clientId });
      const missing = prompt.details || {};
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      result = { consent: { grantId } };
      console.error(`test-idp: interaction ${details.uid}: consent for ${accountId} / ${clientId}`);
    } else {
      result = { error: 'interaction_required', error_description: `unsupported prompt ${prompt.name}` };
    }

    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: prompt.name !== 'login',
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
  } catch (err) {
    ctx.status = err.statusCode || err.status || 500;
    ctx.type = 'json';
    ctx.body = { error: err.error || 'server_error', error_description: err.error_description || err.message };
    console.error('test-idp: interaction failed:', err);
  }
});

const escapeHtml = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The sign-in page of OIDC_LOGIN_PAGE=1: any password is accepted. */
function loginPage(uid, clientId, error) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test identity provider: sign in</title></head>
<body><main>
<h1>Sign in to the test identity provider</h1>
<p>${escapeHtml(clientId)} asks who you are.</p>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label for="username">Username</label> <input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></main></body></html>`;
}

function requestedClaimNames(claimsParam) {
  if (!claimsParam) return [];
  try {
    const parsed = typeof claimsParam === 'string' ? JSON.parse(claimsParam) : claimsParam;
    return [...new Set([
      ...Object.keys(parsed.id_token || {}),
      ...Object.keys(parsed.userinfo || {}),
    ])];
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------
// Serve, announce, and shut down cleanly
// ---------------------------------------------------------------------------
server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer: ISSUER, port })}\n`);
console.error(`test-idp: listening on ${ISSUER} (audience ${API_AUDIENCE}, resource indicator ${RESOURCE}, sso ${SSO})`);

let stopping = false;
function shutdown(reason) {
  if (stopping) return;
  stopping = true;
  console.error(`test-idp: shutting down (${reason})`);
  server.close();
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 50).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

// A parent holding our stdin as a pipe can kill us by closing it (or dying).
// Only watch pipes/sockets: /dev/null or a TTY on stdin must not stop us.
try {
  const stat = fs.fstatSync(0);
  if (stat.isFIFO() || stat.isSocket()) {
    process.stdin.on('end', () => shutdown('stdin closed'));
    process.stdin.on('close', () => shutdown('stdin closed'));
    process.stdin.on('error', () => shutdown('stdin error'));
    process.stdin.resume();
  }
} catch {
  // no stdin at all
}
