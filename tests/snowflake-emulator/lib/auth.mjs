// Authentication of SQL API requests.
//
// Follows "Authenticating to the server" of the SQL API guide and "Key-pair
// authentication" (Using key-pair authentication: generating a JWT):
// - Header `Authorization: Bearer <token>`; `X-Snowflake-Authorization-Token-Type`
//   is KEYPAIR_JWT, OAUTH or PROGRAMMATIC_ACCESS_TOKEN; when absent, OAUTH is
//   assumed (sqlapi.yaml, parameter snowflakeAuthorizationTokenType).
// - A key-pair JWT is signed with RS256; `iss` is
//   ACCOUNT.USER.SHA256:<base64 of the SHA-256 digest of the public key's DER
//   SubjectPublicKeyInfo>, `sub` is ACCOUNT.USER (account and user upper-case),
//   `iat` is the issue time and `exp` at most one hour later.
// Failures answer 401 with a JSON body {code, message} as the service does:
// 390101 when the Authorization header is missing, 390144 "JWT token is
// invalid." for any JWT failure, 390303 / 390318 for invalid / expired
// OAuth or programmatic access tokens.

import crypto from 'node:crypto';

export function publicKeyFingerprint(pem) {
  const key = crypto.createPublicKey(pem);
  const der = key.export({ type: 'spki', format: 'der' });
  return 'SHA256:' + crypto.createHash('sha256').update(der).digest('base64');
}

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// cfg: { keys: [{pem, fingerprint, key}], account?, oauthTokens: Set, patTokens: Set,
//        expireAll: () => boolean }
// Returns { ok: true, principal } or { ok: false, status, code, message, reason }.
export function authenticate(headers, cfg, nowSec = Math.floor(Date.now() / 1000)) {
  const auth = headers['authorization'];
  if (!auth) {
    return fail('390101', 'Authorization header not found in the request data.', 'missing Authorization header');
  }
  const m = /^Bearer\s+(.+)$/i.exec(auth);
  if (!m) return fail('390101', 'Authorization header not found in the request data.', 'Authorization is not a Bearer token');
  const token = m[1].trim();
  const type = (headers['x-snowflake-authorization-token-type'] || 'OAUTH').toUpperCase();
  if (type === 'KEYPAIR_JWT') return verifyJwt(token, cfg, nowSec);
  if (type === 'OAUTH' || type === 'PROGRAMMATIC_ACCESS_TOKEN') {
    const set = type === 'OAUTH' ? cfg.oauthTokens : cfg.patTokens;
    if (!set.has(token)) return fail('390303', 'Invalid OAuth access token. ', `unknown ${type} token`);
    if (cfg.expireAll()) return fail('390318', 'OAuth access token expired. ', `${type} token expired (fault)`);
    return { ok: true, principal: { type } };
  }
  return fail('390101', 'Authorization header not found in the request data.', `unknown token type ${type}`);
}

function verifyJwt(token, cfg, now) {
  const invalid = (reason) => fail('390144', 'JWT token is invalid.', reason);
  const parts = token.split('.');
  if (parts.length !== 3) return invalid('not a JWT (expected 3 parts)');
  let header;
  let payload;
  try {
    header = b64urlJson(parts[0]);
    payload = b64urlJson(parts[1]);
  } catch {
    return invalid('JWT header or payload is not base64url JSON');
  }
  if (header.alg !== 'RS256') return invalid(`alg ${header.alg} is not RS256`);
  const iss = String(payload.iss || '');
  const sub = String(payload.sub || '');
  const im = /^(.+)\.SHA256:([A-Za-z0-9+/=]+)$/.exec(iss);
  if (!im) return invalid(`iss '${iss}' is not ACCOUNT.USER.SHA256:<fingerprint>`);
  const who = im[1];
  const fp = 'SHA256:' + im[2];
  if (sub !== who) return invalid(`sub '${sub}' does not match iss prefix '${who}'`);
  if (who !== who.toUpperCase()) return invalid('account and user in iss/sub must be upper-case');
  const dot = who.indexOf('.');
  if (dot < 1) return invalid('sub is not ACCOUNT.USER');
  const account = who.slice(0, dot);
  const user = who.slice(dot + 1);
  if (cfg.account && cfg.account.toUpperCase() !== account) return invalid(`account ${account} is not ${cfg.account}`);
  const key = cfg.keys.find((k) => k.fingerprint === fp);
  if (!key) return invalid(`no registered public key has fingerprint ${fp}`);
  const ok = crypto.verify('RSA-SHA256', Buffer.from(parts[0] + '.' + parts[1]), key.key, Buffer.from(parts[2], 'base64url'));
  if (!ok) return invalid('RS256 signature does not verify');
  const iat = Number(payload.iat);
  const exp = Number(payload.exp);
  if (!Number.isFinite(iat) || !Number.isFinite(exp)) return invalid('iat/exp missing');
  if (iat > now + 60) return invalid('iat is in the future');
  if (exp - iat > 3600) return invalid('exp is more than 1 hour after iat');
  if (exp <= now) return invalid('token expired');
  if (cfg.expireAll()) return invalid('token expired (fault)');
  return { ok: true, principal: { type: 'KEYPAIR_JWT', account, user } };
}

function fail(code, message, reason) {
  return { ok: false, status: 401, code, message, reason };
}
