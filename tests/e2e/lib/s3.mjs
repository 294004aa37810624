// A real S3 server for the end-to-end tests: moto's standalone server
// (moto[server], pinned in scripts/versions.env, installed into
// build/engines/venv by scripts/engines.sh) on a free 127.0.0.1 port, and
// optionally the fault-injecting proxy tests/support/s3_fault_proxy.py in
// front of it. A server that cannot start throws: the test fails, it is
// never skipped.
//
// moto checks no signatures, so the helpers here talk to it with plain
// HTTP: creating buckets, uploading fixtures, reading objects back. floe
// itself signs every request (the unit test test_io_s3 checks those
// signatures against botocore's). Node's own requests (uploads, icebird's
// reads) go through the proxy, which signs them (moto refuses anonymous
// reads of objects that signed requests wrote) and opens a fresh upstream
// connection per request. The servers' output goes to files, never to a pipe: while a test
// waits in spawnSync nobody would drain the pipe, and moto, logging every
// request, would block on it and stop answering.

import { spawn } from 'node:child_process';
import {
  closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { REPO } from './check_table.mjs';

export const VENV = process.env.FLOE_ENGINES_VENV ?? path.join(REPO, 'build/engines/venv');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitHttp(url, child, name) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${name} did not answer at ${url}`);
}

const serverDirs = [];
process.on('exit', () => { for (const d of serverDirs) rmSync(d, { recursive: true, force: true }); });

function spawnServer(cmd, args, env = {}) {
  if (!existsSync(cmd)) throw new Error(`${cmd} not found: run scripts/engines.sh (make engines)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-s3-server-'));
  const log = openSync(path.join(dir, 'server.log'), 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  closeSync(log);
  serverDirs.push(dir);
  return child;
}

// Starts moto (and the proxy when asked). Returns { endpoint, proxy, env,
// stop }: env is what a floe process needs to reach the server. `secrets`:
// more KEY=SECRET pairs whose signatures the proxy verifies (vended keys).
export async function startS3({ secrets = [] } = {}) {
  const port = await freePort();
  const moto = spawnServer(path.join(VENV, 'bin/moto_server'), ['-H', '127.0.0.1', '-p', String(port)],
    { S3_UPLOAD_PART_MIN_SIZE: '1024' });
  const endpoint = `http://127.0.0.1:${port}`;
  const children = [moto];
  const stop = () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); };
  process.on('exit', stop);
  try {
    await waitHttp(endpoint, moto, 'moto_server');
    let proxyEndpoint = null;
    {
      const pport = await freePort();
      const p = spawnServer(path.join(VENV, 'bin/python3'), [path.join(REPO, 'tests/support/s3_fault_proxy.py'),
        '--port', String(pport), '--upstream', endpoint, '--secret', 'e2e-key=e2e-secret',
        '--sign-unsigned', 'e2e-key=e2e-secret', ...secrets.flatMap((s) => ['--secret', s])]);
      children.push(p);
      proxyEndpoint = `http://127.0.0.1:${pport}`;
      await waitHttp(`${proxyEndpoint}/__faults__/log`, p, 's3_fault_proxy');
    }
    const env = {
      AWS_ACCESS_KEY_ID: 'e2e-key', AWS_SECRET_ACCESS_KEY: 'e2e-secret', AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: proxyEndpoint ?? endpoint, AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PROFILE: '', AWS_SESSION_TOKEN: '',
    };
    // `endpoint`: what node talks to (the proxy); `moto`: the server itself.
    return { endpoint: proxyEndpoint, moto: endpoint, proxy: proxyEndpoint, env, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

// One more fault proxy in front of a running S3 server (a process with
// rules of its own, e.g. per campaign worker). Returns { endpoint, stop }.
export async function startS3Proxy(upstream) {
  const pport = await freePort();
  const p = spawnServer(path.join(VENV, 'bin/python3'), [path.join(REPO, 'tests/support/s3_fault_proxy.py'),
    '--port', String(pport), '--upstream', upstream, '--secret', 'e2e-key=e2e-secret',
    '--sign-unsigned', 'e2e-key=e2e-secret']);
  const stop = () => { if (p.exitCode === null) p.kill('SIGTERM'); };
  process.on('exit', stop);
  const endpoint = `http://127.0.0.1:${pport}`;
  try {
    await waitHttp(`${endpoint}/__faults__/log`, p, 's3_fault_proxy');
  } catch (e) {
    stop();
    throw e;
  }
  return { endpoint, stop };
}

export async function makeBucket(endpoint, bucket) {
  const r = await fetch(`${endpoint}/${bucket}`, { method: 'PUT' });
  if (r.status !== 200 && r.status !== 409) throw new Error(`create bucket ${bucket}: HTTP ${r.status}`);
}

function encodeKey(key) {
  return key.split('/').map(encodeURIComponent).join('/');
}

export async function putObject(endpoint, bucket, key, body) {
  const r = await fetch(`${endpoint}/${bucket}/${encodeKey(key)}`,
    { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
  if (r.status !== 200) throw new Error(`put ${bucket}/${key}: HTTP ${r.status}`);
}

export async function getObject(endpoint, location) {
  const m = /^s3[an]?:\/\/([^/]+)\/(.*)$/.exec(location);
  if (!m) throw new Error(`not an s3 location: ${location}`);
  const r = await fetch(`${endpoint}/${m[1]}/${encodeKey(m[2])}`);
  if (r.status !== 200) throw new Error(`get ${location}: HTTP ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

// Every key under bucket/prefix (ListObjectsV2 without a delimiter).
export async function listKeys(endpoint, bucket, prefix = '') {
  const keys = [];
  let token = null;
  for (;;) {
    const q = new URLSearchParams({ 'list-type': '2', prefix });
    if (token) q.set('continuation-token', token);
    const text = await (await fetch(`${endpoint}/${bucket}?${q}`)).text();
    for (const m of text.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(m[1].replace(/&amp;/g, '&'));
    const next = /<NextContinuationToken>([^<]*)</.exec(text);
    if (!/<IsTruncated>true/.test(text) || !next) break;
    token = next[1];
  }
  return keys;
}

// Multipart uploads still open in a bucket.
export async function openUploads(endpoint, bucket) {
  const text = await (await fetch(`${endpoint}/${bucket}?uploads`)).text();
  return [...text.matchAll(/<Upload>/g)].length;
}

// Uploads a directory tree to s3://bucket/prefix/<relative path>.
export async function uploadTree(endpoint, dir, bucket, prefix) {
  await makeBucket(endpoint, bucket);
  let n = 0;
  const walk = async (d, rel) => {
    for (const name of readdirSync(d).sort()) {
      const full = path.join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(full).isDirectory()) await walk(full, r);
      else {
        await putObject(endpoint, bucket, prefix ? `${prefix}/${r}` : r, readFileSync(full));
        n++;
      }
    }
  };
  await walk(dir, '');
  return n;
}

// The proxy's rules and request log.
export async function setFaults(proxyEndpoint, rules) {
  await fetch(`${proxyEndpoint}/__faults__`, { method: 'POST', body: JSON.stringify({ rules }) });
  await fetch(`${proxyEndpoint}/__faults__/log`, { method: 'DELETE' });
}

export async function faultLog(proxyEndpoint) {
  return (await fetch(`${proxyEndpoint}/__faults__/log`)).json();
}

// fetch() for icebird: s3://, s3a:// and s3n:// URLs, and the AWS URLs
// icebird turns them into (https://BUCKET.s3.amazonaws.com/KEY), are served
// by the test's S3 server (Range headers passed through); nothing leaves
// 127.0.0.1.
export function routeS3Fetch(endpoint) {
  const previous = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    const u = String(url);
    let m = /^s3[an]?:\/\/([^/]+)\/(.*)$/.exec(u);
    if (m) return previous(`${endpoint}/${m[1]}/${encodeKey(m[2])}`, init);
    m = /^https:\/\/([^./]+)\.s3\.amazonaws\.com\/(.*)$/.exec(u);
    if (m) return previous(`${endpoint}/${m[1]}/${m[2]}`, init);
    m = /^https:\/\/s3\.amazonaws\.com\/(.*)$/.exec(u);
    if (m) return previous(`${endpoint}/${m[1]}`, init);
    return previous(url, init);
  };
  return () => { globalThis.fetch = previous; };
}
