// Test helpers: a TEST-ONLY RSA key pair generated with `openssl genpkey`
// into keys/ (never committed: keys/ is git-ignored), JWT signing as the
// key-pair authentication guide describes, and an emulator child process.

import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const KEYS = path.join(ROOT, 'keys');
export const ACCOUNT = 'FLOETEST';
export const USER = 'FLOE_USER';

// Generates (once) a test key pair; returns { privatePem, publicPem, publicPath }.
export function testKeys(name = 'test_rsa') {
  const priv = path.join(KEYS, `${name}_key.p8`);
  const pub = path.join(KEYS, `${name}_key.pub`);
  if (!fs.existsSync(priv) || !fs.existsSync(pub)) {
    // Test files run in parallel: build the pair in a private directory and
    // move the whole directory into place, so a pair is never mixed.
    const tmp = `${KEYS}.${process.pid}.tmp`;
    fs.mkdirSync(tmp, { recursive: true });
    const tpriv = path.join(tmp, path.basename(priv));
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', tpriv], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', tpriv, '-pubout', '-out', path.join(tmp, path.basename(pub))], { stdio: 'ignore' });
    try {
      fs.renameSync(tmp, KEYS);
    } catch {
      fs.rmSync(tmp, { recursive: true, force: true }); // another process won
    }
  }
  return { privatePem: fs.readFileSync(priv, 'utf8'), publicPem: fs.readFileSync(pub, 'utf8'), publicPath: pub };
}

export function fingerprint(publicPem) {
  const der = crypto.createPublicKey(publicPem).export({ type: 'spki', format: 'der' });
  return 'SHA256:' + crypto.createHash('sha256').update(der).digest('base64');
}

export function signJwt({ privatePem, publicPem, account = ACCOUNT, user = USER, iat, exp, fp, sub, alg = 'RS256' }) {
  const now = Math.floor(Date.now() / 1000);
  const i = iat ?? now;
  const payload = {
    iss: `${account}.${user}.${fp ?? fingerprint(publicPem)}`,
    sub: sub ?? `${account}.${user}`,
    iat: i,
    exp: exp ?? i + 3540,
  };
  const head = Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const sig = crypto.sign('RSA-SHA256', Buffer.from(`${head}.${body}`), privatePem).toString('base64url');
  return `${head}.${body}.${sig}`;
}

// Starts `node server.mjs` and resolves once it printed LISTENING.
export async function startEmulator({ state, args = [] } = {}) {
  const keys = testKeys();
  const dir = state ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sfemu-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'server.mjs'), '--port', '0', '--state', dir,
    '--public-key', keys.publicPath, '--oauth-token', 'oauth-test-token', '--pat', 'pat-test-token',
    '--account', ACCOUNT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /LISTENING 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`emulator exited ${code}: ${err}`)));
  });
  const token = signJwt(keys);
  const emu = {
    port, dir, child, keys, token,
    base: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await done;
    },
    request: (opts) => request(port, opts),
    // POST /api/v2/statements with a valid JWT.
    async sql(statement, extra = {}, query = '') {
      const body = { statement, timeout: 60, database: 'FLOE_TEST', schema: 'PUBLIC', ...extra };
      return request(port, { method: 'POST', path: `/api/v2/statements${query}`, body, token: emu.token });
    },
    async ok(statement, extra = {}, query = '') {
      const r = await emu.sql(statement, extra, query);
      if (r.status !== 200) throw new Error(`expected 200 for ${statement}: ${r.status} ${r.text}`);
      return r.json;
    },
    async get(handle, query = '', headers = {}) {
      return request(port, { method: 'GET', path: `/api/v2/statements/${handle}${query}`, token: emu.token, headers });
    },
    admin: (method, p, body) => request(port, { method, path: `/_emulator/${p}`, body, noAuth: true }),
  };
  return emu;
}

// Minimal HTTP client: returns { status, headers, raw, text, json, error }.
export function request(port, { method = 'GET', path: p, body, token, tokenType = 'KEYPAIR_JWT', headers = {}, noAuth = false, userAgent = 'floe-emulator-test/1.0' }) {
  return new Promise((resolve) => {
    const h = { Accept: 'application/json', ...headers };
    if (userAgent) h['User-Agent'] = userAgent;
    if (!noAuth && token !== undefined) {
      h.Authorization = `Bearer ${token}`;
      if (tokenType) h['X-Snowflake-Authorization-Token-Type'] = tokenType;
    }
    let data;
    if (body !== undefined) {
      data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      h['Content-Type'] = h['Content-Type'] || 'application/json';
      h['Content-Length'] = data.length;
    }
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: h, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (e) => resolve({ status: res.statusCode, headers: res.headers, error: e, raw: Buffer.concat(chunks) }));
      res.on('aborted', () => resolve({ status: res.statusCode, headers: res.headers, error: new Error('aborted'), raw: Buffer.concat(chunks) }));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        let text = raw;
        if (res.headers['content-encoding'] === 'gzip') text = zlib.gunzipSync(raw);
        text = text.toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, raw, text, json });
      });
    });
    req.on('error', (e) => resolve({ status: null, error: e }));
    if (data) req.write(data);
    req.end();
  });
}
