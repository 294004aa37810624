// The Iceberg REST catalog server of the end-to-end tests, and a small
// fault-injecting HTTP proxy to put between floe and it.
//
//  - startRestServer: Iceberg's own RESTCatalogAdapter/RESTCatalogServlet
//    over a JdbcCatalog on SQLite (tests/engines/rest-catalog, built by
//    scripts/engines.sh into build/engines/rest-catalog), on 127.0.0.1 and
//    an ephemeral port, with optional OAuth2 / bearer / SigV4 checks and a
//    request log (JSON lines, no secrets). A server that cannot start fails
//    the test: there is no skip.
//  - startProxy: forwards to the server; a rule decides per request to
//    pass it, drop the connection after the server answered (the commit
//    landed, the client never hears), answer 503 without forwarding, delay
//    the answer past the client's timeout, or run a hook first.
//  - loadTable: GET .../tables/{t} through the REST API.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { REPO, sh } from './check_table.mjs';

export function restServerDir() {
  const env = sh(path.join(REPO, 'scripts/engines.sh'), ['--print-env', process.env.FLOE_BUILD_DIR ?? path.join(REPO, 'build')]);
  const m = /^FLOE_REST_CATALOG=(.*)$/m.exec(env);
  return m[1];
}

export async function startRestServer(dir, extraArgs = []) {
  const home = restServerDir();
  const jar = path.join(home, 'floe-rest-catalog.jar');
  if (!existsSync(jar)) throw new Error(`no REST catalog server at ${jar}: run scripts/engines.sh (make engines)`);
  const logFile = path.join(dir, 'rest-requests.log');
  const args = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', `${jar}:${path.join(home, 'lib')}/*`, 'floe.rest.RestServer',
    '--warehouse', path.join(dir, 'warehouse'), '--db', path.join(dir, 'rest-catalog.db'),
    '--port', '0', '--log', logFile, ...extraArgs];
  const proc = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`REST catalog server did not start in 60 s: ${stderr}`)), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`REST catalog server exited ${code}: ${stderr}`)); });
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []),
    stop: () => new Promise((resolve) => { proc.removeAllListeners('exit'); proc.on('exit', resolve); proc.kill('SIGTERM'); }),
  };
}

export async function loadTable(url, ns, table, headers = {}) {
  const r = await fetch(`${url}/v1/namespaces/${encodeURIComponent(ns)}/tables/${encodeURIComponent(table)}`, { headers });
  if (r.status !== 200) throw new Error(`load ${ns}.${table}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

// rule(req, body, n) -> 'pass' | 'drop-after' | 'drop-before' | 'fail-503' |
// {delayMs} | {hook: async () => ...}; n counts requests matching nothing
// in particular (the rule keeps its own counters).
export async function startProxy(targetPort, rule) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      let action = await rule(req, body);
      if (action && action.hook) { await action.hook(); action = 'pass'; }
      if (action === 'drop-before') { req.socket.destroy(); return; }
      if (action === 'fail-503') {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"injected","type":"ServiceUnavailableException","code":503}}');
        return;
      }
      const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        const out = [];
        ur.on('data', (c) => out.push(c));
        ur.on('end', () => {
          if (action === 'drop-after') { req.socket.destroy(); return; }
          const send = () => {
            if (req.socket.destroyed) return;
            res.writeHead(ur.statusCode, ur.headers);
            res.end(Buffer.concat(out));
          };
          if (action && action.delayMs) setTimeout(send, action.delayMs); else send();
        });
      });
      up.on('error', () => req.socket.destroy());
      up.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stop: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}
