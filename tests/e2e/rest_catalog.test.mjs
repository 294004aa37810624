// End-to-end tests of floe against an Iceberg REST catalog: Iceberg's own
// REST server code (RESTCatalogAdapter over a JdbcCatalog, built by
// scripts/engines.sh) started on 127.0.0.1 by the test, a SQLite source,
// a local warehouse behind the server.
//
// Every loaded table is read back by icebird from the metadata location the
// REST server reports, and compared with the source. The server's request
// log shows what floe sent (headers, auth kind, paths); no secret reaches
// floe's output. Faults come from a proxy between floe and the server: a
// commit whose answer is lost after the server applied it, a 503 before it
// was applied, an answer slower than floe's timeout, and a concurrent
// commit that makes floe's requirements fail (409).
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/rest_catalog.test.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REPO, modulesPresent, normalizeRows, readIcebergAt, sh, sqliteRows } from './lib/check_table.mjs';
import { FLOE, floe, runOk, scratch as scratchDir } from './lib/cli.mjs';
import { loadTable, startProxy, startRestServer } from './lib/rest_catalog.mjs';

const scratch = (name) => scratchDir(name, { prefix: 'floe-rest' });

if (!existsSync(FLOE)) throw new Error(`no floe binary at ${FLOE} (set FLOE_BIN)`);
if (!modulesPresent()) throw new Error('node modules missing: run scripts/deps.sh --npm');

// floe run while this process keeps serving the proxy (spawnSync would
// block the event loop the proxy runs on).
function runOkAsync(dir, env = {}, args = ['run']) {
  return new Promise((resolve, reject) => {
    const p = spawn(FLOE, args, { cwd: dir, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (status) => {
      try {
        assert.equal(status, 0, `floe ${args.join(' ')} exited ${status}\n${stdout}\n${stderr}`);
        resolve({ status, stdout, stderr, all: stdout + stderr });
      } catch (e) {
        reject(e);
      }
    });
  });
}

function sqlite(dir, sql) {
  sh('sqlite3', [path.join(dir, 'source.db'), sql]);
}

function job(dir, catalog, tables) {
  writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: sqlite, path: ./source.db}
target:
  catalog: ${catalog}
  namespace: e2e
run: {durability: none}
logging: {level: info}
tables:
${tables}
`);
}

async function tableRows(url, table) {
  const t = await loadTable(url, 'e2e', table);
  return { rows: await readIcebergAt(t['metadata-location']), metadata: t.metadata };
}

async function assertTableEqualsSource(dir, url, table, sourceSql, columns) {
  const expected = normalizeRows(sqliteRows(path.join(dir, 'source.db'), sourceSql), columns);
  const { rows, metadata } = await tableRows(url, table);
  assert.deepEqual(normalizeRows(rows, columns), expected, `icebird rows of e2e.${table} (REST)`);
  return metadata;
}

function readThroughEngines(url, table, column, spark) {
  const env = sh(path.join(REPO, 'scripts/engines.sh'), ['--print-env', process.env.FLOE_BUILD_DIR ?? path.join(REPO, 'build')]);
  const venv = /^FLOE_VENV=(.*)$/m.exec(env)[1];
  const jars = /^FLOE_JARS=(.*)$/m.exec(env)[1];
  const python = path.join(venv, 'bin/python');
  if (!existsSync(python)) throw new Error(`no engines venv at ${venv}: run scripts/engines.sh (make engines)`);
  const args = [path.join(REPO, 'tests/e2e/lib/read_rest.py'), url, 'e2e', table, column];
  if (spark) args.push('--spark', jars);
  const out = sh(python, args, { env: { ...process.env, PYSPARK_PYTHON: python, SPARK_LOCAL_IP: '127.0.0.1' } });
  return out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

const ORDERS = 'CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount DECIMAL(10,2), ts TIMESTAMP, batch_sk INTEGER NOT NULL);';
const ORDER_COLS = ['id', 'customer', 'amount', 'ts', 'batch_sk'];
function orderRows(from, to, batch) {
  const v = [];
  for (let i = from; i <= to; i++)
    v.push(`(${i}, 'c${i % 7}', ${(i * 1.25).toFixed(2)}, '2024-01-${String(1 + (i % 28)).padStart(2, '0')} 10:00:00', ${batch})`);
  return `INSERT INTO orders VALUES ${v.join(',')};`;
}

describe('floe with an Iceberg REST catalog', () => {
  test('append (partitioned), overwrite, merge and CDC through the REST catalog; headers and delegation sent', async () => {
    const dir = scratch('modes');
    const server = await startRestServer(dir);
    try {
      sqlite(dir, ORDERS + orderRows(1, 30, 1) +
        'CREATE TABLE products (sku TEXT, price REAL);' +
        "INSERT INTO products VALUES ('a', 1.0), ('b', 2.0), ('c', 3.0);" +
        'CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, batch_sk INTEGER);' +
        "INSERT INTO customers VALUES (1,'ann',1),(2,'bob',1),(3,'cy',1);" +
        'CREATE TABLE changes (order_id INTEGER, op TEXT, amount INTEGER, seq INTEGER, batch_sk INTEGER);' +
        "INSERT INTO changes VALUES (1,'I',10,1,1),(2,'I',20,2,1),(1,'U',11,3,1),(3,'I',30,4,1),(3,'D',NULL,5,1);");
      job(dir, `{type: rest, uri: "${server.url}", headers: {X-Floe-Test: e2e}}`, `
  orders: {partition_by: [day(ts), bucket(4, id)]}
  products: {strategy: full, mode: overwrite}
  customers: {mode: merge}
  orders_cdc: {source: changes, mode: merge, primary_key: [order_id], cdc: {type: op_column, column: op, sequence: seq}}`);
      runOk(dir);
      sqlite(dir, orderRows(31, 45, 2) +
        "DELETE FROM products WHERE sku = 'a'; UPDATE products SET price = 2.5 WHERE sku = 'b'; INSERT INTO products VALUES ('d', 4.0);" +
        "UPDATE customers SET name = 'bobby', batch_sk = 2 WHERE customer_id = 2; INSERT INTO customers VALUES (4,'dee',2);" +
        "INSERT INTO changes VALUES (2,'D',NULL,6,2),(4,'I',40,7,2),(1,'U',12,8,2);");
      runOk(dir);
      const again = runOk(dir);
      assert.match(again.stdout, /orders\s+nothing_new/);

      const md = await assertTableEqualsSource(dir, server.url, 'orders', 'SELECT * FROM orders', ORDER_COLS);
      const spec = md['partition-specs'].find((s) => s['spec-id'] === md['default-spec-id']);
      assert.deepEqual(spec.fields.map((f) => f.transform), ['day', 'bucket[4]']);
      const ranges = md.snapshots.map((s) => [s.summary['floe.batch-sk.low'], s.summary['floe.batch-sk.high']]);
      assert.deepEqual(ranges, [['0', '1'], ['1', '2']]);
      const products = await assertTableEqualsSource(dir, server.url, 'products', 'SELECT * FROM products', ['sku', 'price']);
      assert.equal(products.snapshots.at(-1).summary.operation, 'overwrite');
      await assertTableEqualsSource(dir, server.url, 'customers', 'SELECT * FROM customers', ['customer_id', 'name', 'batch_sk']);
      const { rows } = await tableRows(server.url, 'orders_cdc');
      assert.deepEqual(normalizeRows(rows, ['order_id', 'amount']),
        normalizeRows([{ order_id: 1, amount: 12 }, { order_id: 4, amount: 40 }], ['order_id', 'amount']));

      // PyIceberg's and Spark's REST clients read what floe wrote through the
      // same server (scripts/engines.sh installs both).
      const engines = readThroughEngines(server.url, 'orders', 'id', true);
      const [src] = sqliteRows(path.join(dir, 'source.db'), 'SELECT count(*) AS n, sum(id) AS s FROM orders');
      assert.deepEqual(engines.map((e) => e.engine), ['pyiceberg', 'spark']);
      for (const e of engines) assert.deepEqual([e.rows, e.sum], [Number(src.n), Number(src.s)], e.engine);
      const [cust] = readThroughEngines(server.url, 'customers', 'customer_id', false);
      assert.deepEqual([cust.rows, cust.sum], [4, 10], 'pyiceberg applies the merge deletes');

      // The server wrote every metadata file; floe's status reads them back.
      const status = runOk(dir, ['status']);
      assert.match(status.stdout, /orders\s+e2e\.orders\s+2\s+2/);

      const reqs = server.requests().filter((r) => r.event === 'request');
      assert.ok(reqs.length > 10);
      const fromFloe = reqs.filter((r) => r.headers['user-agent'] === 'floe');
      assert.ok(fromFloe.length > 10 && fromFloe.every((r) => r.headers['x-floe-test'] === 'e2e'), 'every request carries the configured header');
      const loads = fromFloe.filter((r) => r.method === 'GET' && /\/tables\/[^/]+$/.test(r.path));
      assert.ok(loads.length > 0 && loads.every((r) => r.headers['x-iceberg-access-delegation'] === 'vended-credentials'));
      const commits = fromFloe.filter((r) => r.method === 'POST' && /^\/v1\/namespaces\/e2e\/tables\/[^/]+$/.test(r.path));
      assert.ok(commits.length >= 8 && commits.every((r) => r.status === 200), 'commits went through POST .../tables/{table}');
    } finally {
      await server.stop();
    }
  });

  test('OAuth2 client credentials: tokens refreshed before expiry and after a 401; the secret never printed', async () => {
    const dir = scratch('oauth');
    const secret = 's3cr3t-Value-42';
    // Tokens announced for 1 s (refreshed at 0.8 s) in the first server...
    const server = await startRestServer(dir, ['--client', `floe-client:${secret}`, '--token-ttl', '1']);
    try {
      sqlite(dir, ORDERS + orderRows(1, 20, 1));
      job(dir, `{type: rest, uri: "${server.url}", credential: "floe-client:\${FLOE_TEST_SECRET}", scope: "PRINCIPAL_ROLE:ALL"}`,
        '  orders: {}');
      const env = { FLOE_TEST_SECRET: secret };
      const r = runOk(dir, ['run'], env);
      assert.ok(!r.all.includes(secret));
      await new Promise((res) => setTimeout(res, 1100));
      sqlite(dir, orderRows(21, 30, 2));
      runOk(dir, ['run'], env);
      const log = server.requests();
      const issued = log.filter((l) => l.event === 'token_issued');
      assert.ok(issued.length >= 2, 'a token per run at least');
      assert.ok(issued.every((l) => l.scope === 'PRINCIPAL_ROLE:ALL'));
      const floeReqs = log.filter((l) => l.event === 'request' && l.auth !== 'token-endpoint' && l.headers['user-agent'] === 'floe');
      assert.ok(floeReqs.every((l) => l.status !== 401), 'tokens refreshed before they expire: no 401');
      // A wrong secret: refused, and the message names no secret.
      const bad = floe(dir, ['run'], { FLOE_TEST_SECRET: 'wrong-Secret-99' });
      assert.notEqual(bad.status, 0);
      assert.match(bad.all, /client credentials refused|invalid_client/);
      assert.ok(!bad.all.includes('wrong-Secret-99'));
    } finally {
      await server.stop();
    }
    // ...and tokens that die before their announced expiry: a 401, one new
    // token, the request repeated.
    const dir2 = scratch('oauth401');
    const server2 = await startRestServer(dir2, ['--client', `floe-client:${secret}`, '--token-ttl', '600', '--token-real-ttl-ms', '0']);
    try {
      sqlite(dir2, ORDERS + orderRows(1, 5, 1));
      job(dir2, `{type: rest, uri: "${server2.url}", credential: "floe-client:\${FLOE_TEST_SECRET}"}`, '  orders: {}');
      const r = runOk(dir2, ['run'], { FLOE_TEST_SECRET: secret });
      assert.ok(!r.all.includes(secret));
      const log = server2.requests();
      const unauthorized = log.filter((l) => l.event === 'request' && l.status === 401);
      assert.ok(unauthorized.length >= 1, 'the server refused an expired token');
      assert.ok(log.filter((l) => l.event === 'token_issued').length >= 2, 'a new token after the 401');
    } finally {
      await server2.stop();
    }
  });

  test('static bearer token, and a path prefix announced by /v1/config', async () => {
    const dir = scratch('bearer');
    const token = 'tok-Static-12345';
    const server = await startRestServer(dir, ['--token', token, '--prefix', 'cat1']);
    try {
      sqlite(dir, ORDERS + orderRows(1, 10, 1));
      job(dir, `{type: rest, uri: "${server.url}", token: "\${FLOE_TEST_TOKEN}"}`, '  orders: {}');
      const r = runOk(dir, ['run'], { FLOE_TEST_TOKEN: token });
      assert.ok(!r.all.includes(token));
      const reqs = server.requests().filter((l) => l.event === 'request');
      assert.ok(reqs.every((l) => l.auth === 'bearer' && (l.status < 400 || l.status === 404)));
      assert.ok(reqs.filter((l) => l.path !== '/v1/config').every((l) => l.path.startsWith('/v1/cat1/')));
      const bad = floe(dir, ['run'], { FLOE_TEST_TOKEN: 'tok-Wrong-999' });
      assert.notEqual(bad.status, 0);
      assert.match(bad.all, /HTTP 401/);
      assert.ok(!bad.all.includes('tok-Wrong-999'));
    } finally {
      await server.stop();
    }
  });

  test('SigV4-signed requests (signing name glue) verified by the server', async () => {
    const dir = scratch('sigv4');
    const server = await startRestServer(dir, ['--sigv4', 'us-east-1:glue:AKIDFLOETEST:sigv4-Secret-Key']);
    try {
      sqlite(dir, ORDERS + orderRows(1, 10, 1));
      job(dir, `{type: rest, uri: "${server.url}", sigv4: {region: us-east-1, signing_name: glue}}`, '  orders: {}');
      const env = { AWS_ACCESS_KEY_ID: 'AKIDFLOETEST', AWS_SECRET_ACCESS_KEY: 'sigv4-Secret-Key' };
      const r = runOk(dir, ['run'], env);
      assert.ok(!r.all.includes('sigv4-Secret-Key'));
      const reqs = server.requests().filter((l) => l.event === 'request');
      assert.ok(reqs.length > 3 && reqs.every((l) => l.auth === 'sigv4' && (l.status < 400 || l.status === 404)), JSON.stringify(reqs.filter((l) => l.status >= 400)));
      const bad = floe(dir, ['run'], { ...env, AWS_SECRET_ACCESS_KEY: 'wrong-Key-77' });
      assert.notEqual(bad.status, 0);
      assert.match(bad.all, /HTTP 403/);
      assert.ok(!bad.all.includes('wrong-Key-77'));
    } finally {
      await server.stop();
    }
  });

  // A commit is POST /v1/namespaces/e2e/tables/orders.
  const isCommit = (req) => req.method === 'POST' && /^\/v1\/namespaces\/e2e\/tables\/orders$/.test(req.url);

  for (const [name, action, landed] of [
    ['the answer is lost after the server applied the commit', 'drop-after', 1],
    ['the answer comes after floe gave up waiting', { delayMs: 4000 }, 1],
    ['a 503 before the server saw the commit', 'fail-503', 0],
  ]) {
    test(`commit state unknown: ${name}; the range is loaded exactly once`, async () => {
      const dir = scratch('unknown');
      const server = await startRestServer(dir);
      let commits = 0;
      const proxy = await startProxy(server.port, (req) => (isCommit(req) && ++commits === 2 ? action : 'pass'));
      try {
        sqlite(dir, ORDERS + orderRows(1, 10, 1));
        job(dir, `{type: rest, uri: "${proxy.url}", timeout_s: 2}`, '  orders: {}');
        await runOkAsync(dir);
        sqlite(dir, orderRows(11, 25, 2));
        const r = await runOkAsync(dir);
        assert.match(r.all, /event=rest_commit_state_unknown/);
        assert.match(r.all, new RegExp(`event=rest_commit_state_resolved table=e2e.orders landed=${landed}`));
        if (!landed) assert.match(r.all, /event=table_commit .*attempt=2/);
        const md = await assertTableEqualsSource(dir, server.url, 'orders', 'SELECT * FROM orders', ORDER_COLS);
        assert.deepEqual(md.snapshots.map((s) => s.summary['floe.batch-sk.high']), ['1', '2'], 'one commit per range');
        assert.equal(md.snapshots.at(-1).summary['total-records'], '25');
        const ctl = sqliteRows(path.join(dir, 'source.db'), "SELECT batch_sk FROM floe_control WHERE table_name = 'orders' ORDER BY batch_sk");
        assert.deepEqual(ctl.map((c) => c.batch_sk), [0, 1, 2]);
        assert.match((await runOkAsync(dir)).stdout, /orders\s+nothing_new/);
      } finally {
        await proxy.stop();
        await server.stop();
      }
    });
  }

  test('409 from a concurrent commit: floe reloads, re-applies on top and commits once', async () => {
    const dir = scratch('conflict');
    const server = await startRestServer(dir);
    let commits = 0;
    // Before floe's second commit reaches the server, another writer moves
    // main: a snapshot that re-references the current manifest list.
    const concurrent = async () => {
      // Snapshot ids are longs: kept as text, never through a JS number.
      const r0 = await fetch(`${server.url}/v1/namespaces/e2e/tables/orders`);
      const text = await r0.text();
      const cur = /"current-snapshot-id":(\d+)/.exec(text)[1];
      const seq = Number(/"last-sequence-number":(\d+)/.exec(text)[1]);
      const schema = /"current-schema-id":(\d+)/.exec(text)[1];
      const list = new RegExp(`"sequence-number":\\d+,"snapshot-id":${cur}[\\s\\S]*?"manifest-list":"([^"]+)"`).exec(text)[1];
      const body = `{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":${cur}}],` +
        `"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":4242424242,"parent-snapshot-id":${cur},` +
        `"sequence-number":${seq + 1},"timestamp-ms":${Date.now()},"manifest-list":${JSON.stringify(list)},` +
        `"summary":{"operation":"append","writer":"concurrent"},"schema-id":${schema}}},` +
        '{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":4242424242}]}';
      const r = await fetch(`${server.url}/v1/namespaces/e2e/tables/orders`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 200, await r.text());
    };
    const proxy = await startProxy(server.port, (req) => (isCommit(req) && ++commits === 2 ? { hook: concurrent } : 'pass'));
    try {
      sqlite(dir, ORDERS + orderRows(1, 10, 1));
      job(dir, `{type: rest, uri: "${proxy.url}"}`, '  orders: {}');
      await runOkAsync(dir);
      sqlite(dir, orderRows(11, 20, 2));
      const r = await runOkAsync(dir);
      assert.match(r.all, /event=table_commit_conflict/);
      const conflicts = server.requests().filter((l) => l.event === 'request' && l.method === 'POST' && l.status === 409);
      assert.equal(conflicts.length, 1);
      const md = await assertTableEqualsSource(dir, server.url, 'orders', 'SELECT * FROM orders', ORDER_COLS);
      assert.deepEqual(md.snapshots.map((s) => s.summary.writer ?? s.summary['floe.batch-sk.high']), ['1', 'concurrent', '2']);
    } finally {
      await proxy.stop();
      await server.stop();
    }
  });
});
