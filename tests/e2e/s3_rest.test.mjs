// End-to-end tests of floe writing to S3 behind an Iceberg REST catalog,
// the way its users deploy it: moto's S3 server and Iceberg's own REST
// catalog server (tests/engines/rest-catalog), both started on 127.0.0.1 by
// the test. The server keeps its warehouse on the S3 server and writes
// every metadata file there through Iceberg's S3FileIO; floe writes the data
// files, manifests and manifest lists to the same s3:// warehouse.
//
//  - every strategy and mode (append into a day+bucket partitioned table,
//    full overwrite, range overwrite, merge, CDC, chunked by batch and by
//    rows, a cursor column with copy-on-write merge, the partition
//    strategy with partition overwrite) runs twice and once more with nothing new;
//    icebird reads each table from S3 equal to the source, and PyIceberg's
//    (RestCatalog, pyarrow's S3) and Spark's (SparkCatalog type rest,
//    S3FileIO) REST clients read them through the same server;
//  - vended credentials: a server that vends storage credentials differing
//    from floe's own, with an endpoint floe was not configured with: the
//    fault proxy's log shows every S3 request of floe signed with the
//    vended key (botocore recomputes the signature), the next load's
//    rotated key is used, credentials near expiry are asked for again
//    within one run, and no vended secret appears in floe's output;
//  - without an s3:// warehouse (nothing vended), the tables' files are
//    reached through the AWS_* environment.
//
// floe reaches S3 through tests/support/s3_fault_proxy.py (request log with
// the signing key); the REST server and the engines talk to moto directly.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/s3_rest.test.mjs

import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO, normalizeRows, sh, sqliteRows } from './lib/check_table.mjs';
import { FLOE, runOk, scratch as scratchDir, sqlite } from './lib/cli.mjs';
import { loadTable, startRestServer } from './lib/rest_catalog.mjs';
import { faultLog, getObject, listKeys, makeBucket, routeS3Fetch, setFaults, startS3 } from './lib/s3.mjs';

const MODULES = path.join(REPO, 'tests/interop/node_modules');
const SERVER_KEYS = 'catalog-key:catalog-secret';

const scratch = (name) => scratchDir(name, { prefix: 'floe-s3rest' });

function job(dir, { uri, endpoint, tables, logLevel = 'info' }) {
  const storage = endpoint === null ? '' : `
  warehouse: s3://lake/wh
  storage: {type: s3, region: us-east-1, endpoint: "${endpoint}", path_style: true}`;
  writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: sqlite, path: ./source.db}
target:${storage}
  catalog: {type: rest, uri: "${uri}"}
  namespace: e2e
run: {durability: none}
logging: {level: ${logLevel}}
tables:
${tables}
`);
}

let icebird = null;
async function readS3Table(endpoint, url, table) {
  if (!icebird) icebird = await import(pathToFileURL(path.join(MODULES, 'icebird/src/index.js')).href);
  const t = await loadTable(url, 'e2e', table);
  const loc = t['metadata-location'];
  assert.match(loc, /^s3:\/\/lake\/wh\/e2e\//, `${table}: metadata on S3`);
  const md = JSON.parse((await getObject(endpoint, loc)).toString('utf8'));
  if ((md['current-snapshot-id'] ?? -1) === -1) return { md, rows: [] };
  const restore = routeS3Fetch(endpoint);
  try {
    return { md, rows: await icebird.icebergRead({ tableUrl: md.location, metadataFileName: path.basename(loc) }) };
  } finally {
    restore();
  }
}

async function assertEqualsSource(dir, s3, url, table, sql, columns) {
  const { md, rows } = await readS3Table(s3.endpoint, url, table);
  assert.deepEqual(normalizeRows(rows, columns), normalizeRows(sqliteRows(path.join(dir, 'source.db'), sql), columns),
    `icebird rows of e2e.${table} (S3 + REST)`);
  return md;
}

// PyIceberg and Spark read the tables through the REST server, their files
// from moto: one Python process, one Spark session.
function readThroughEngines(url, moto, tables) {
  const env = sh(path.join(REPO, 'scripts/engines.sh'), ['--print-env', process.env.FLOE_BUILD_DIR ?? path.join(REPO, 'build')]);
  const venv = /^FLOE_VENV=(.*)$/m.exec(env)[1];
  const jars = /^FLOE_JARS=(.*)$/m.exec(env)[1];
  const python = path.join(venv, 'bin/python');
  if (!existsSync(python)) throw new Error(`no engines venv at ${venv}: run scripts/engines.sh (make engines)`);
  const args = [path.join(REPO, 'tests/e2e/lib/read_rest.py'), url, 'e2e', ...tables,
    '--spark', jars, '--s3-endpoint', moto, '--s3-credentials', 'reader-key:reader-secret'];
  const out = sh(python, args, { env: { ...process.env, PYSPARK_PYTHON: python, SPARK_LOCAL_IP: '127.0.0.1',
    AWS_EC2_METADATA_DISABLED: 'true' } });
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

// Requests floe made: node's own reads reach the proxy unsigned (it signs
// them on), the REST server and the engines talk to moto directly.
function floeRequests(log) {
  return log.filter((r) => r.akid !== '');
}

describe('floe on S3 behind an Iceberg REST catalog', () => {
  let s3;
  before(async () => {
    assert.ok(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
    assert.ok(existsSync(path.join(MODULES, 'icebird')), 'node modules missing: run scripts/deps.sh --npm');
    s3 = await startS3({ secrets: ['vended-key-1=vended-secret-1', 'vended-key-2=vended-secret-2'] });
    await makeBucket(s3.moto, 'lake');
  });
  after(() => s3?.stop());

  test('append (partitioned), overwrite, merge and CDC on S3 + REST; Spark and PyIceberg read them equal to the source', async () => {
    const dir = scratch('modes');
    const server = await startRestServer(dir, ['--warehouse', 's3://lake/wh', '--s3-endpoint', s3.moto,
      '--s3-credentials', SERVER_KEYS]);
    try {
      sqlite(dir, ORDERS + orderRows(1, 30, 1) +
        'CREATE TABLE products (sku TEXT, price REAL, n INTEGER);' +
        "INSERT INTO products VALUES ('a', 1.0, 1), ('b', 2.0, 2), ('c', 3.0, 3);" +
        'CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, batch_sk INTEGER);' +
        "INSERT INTO customers VALUES (1,'ann',1),(2,'bob',1),(3,'cy',1);" +
        'CREATE TABLE changes (order_id INTEGER, op TEXT, amount INTEGER, seq INTEGER, batch_sk INTEGER);' +
        "INSERT INTO changes VALUES (1,'I',10,1,1),(2,'I',20,2,1),(1,'U',11,3,1),(3,'I',30,4,1),(3,'D',NULL,5,1);" +
        'CREATE TABLE events (id INTEGER, v TEXT, batch_sk INTEGER);' +
        "INSERT INTO events VALUES (1,'a',1),(2,'b',1),(3,'c',2),(4,'d',3);" +
        'CREATE TABLE clicks (click_id INTEGER, page TEXT);' +
        `INSERT INTO clicks VALUES ${Array.from({ length: 10 }, (_, i) => `(${i + 1}, 'p${(i + 1) % 3}')`).join(',')};` +
        'CREATE TABLE visits (id INTEGER PRIMARY KEY, pages INTEGER, updated_at TIMESTAMP);' +
        "INSERT INTO visits VALUES (1,1,'2024-01-01 00:00:01'),(2,2,'2024-01-01 00:00:02'),(3,3,'2024-01-01 00:00:03');" +
        'CREATE TABLE daily_sales (sale_date TEXT, store INTEGER, amount INTEGER, batch_sk INTEGER);' +
        "INSERT INTO daily_sales VALUES ('2024-01-01',1,10,1),('2024-01-01',2,20,1),('2024-01-02',1,30,1);");
      job(dir, { uri: server.url, endpoint: s3.proxy, tables: `
  orders: {partition_by: [day(ts), bucket(4, id)]}
  products: {strategy: full, mode: overwrite}
  customers: {mode: merge}
  orders_cdc: {source: changes, mode: merge, primary_key: [order_id], cdc: {type: op_column, column: op, sequence: seq}}
  orders_range: {source: orders, mode: overwrite, overwrite: range}
  events: {strategy: chunked, chunk: {by: batch}}
  clicks: {strategy: chunked, cursor_column: click_id, chunk: {by: rows, rows: 4}}
  visits: {cursor_column: updated_at, mode: merge, merge: {deletes: copy_on_write}}
  daily_sales: {strategy: partition, partition_column: sale_date, partition_by: [sale_date], mode: overwrite, overwrite: partitions}` });
      await setFaults(s3.proxy, []);
      runOk(dir, ['run'], s3.env);
      sqlite(dir, orderRows(31, 45, 2) +
        "DELETE FROM products WHERE sku = 'a'; UPDATE products SET price = 2.5 WHERE sku = 'b'; INSERT INTO products VALUES ('d', 4.0, 4);" +
        "UPDATE customers SET name = 'bobby', batch_sk = 2 WHERE customer_id = 2; INSERT INTO customers VALUES (4,'dee',2);" +
        "INSERT INTO changes VALUES (2,'D',NULL,6,2),(4,'I',40,7,2),(1,'U',12,8,2);" +
        "INSERT INTO events VALUES (5,'e',4),(6,'f',5);" +
        `INSERT INTO clicks VALUES ${Array.from({ length: 5 }, (_, i) => `(${i + 11}, 'q${(i + 11) % 3}')`).join(',')};` +
        "UPDATE visits SET pages = 20, updated_at = '2024-01-02 00:00:00' WHERE id = 2; INSERT INTO visits VALUES (4,4,'2024-01-02 00:00:01');" +
        "INSERT INTO daily_sales VALUES ('2024-01-02',2,40,2),('2024-01-03',1,50,2);");
      runOk(dir, ['run'], s3.env);
      const again = runOk(dir, ['run'], s3.env);
      assert.match(again.stdout, /orders\s+nothing_new/);

      // floe's S3 requests: signed with its configured key (the server
      // vends nothing here), every signature right, data and manifests
      // written under the server's table locations.
      const log = floeRequests(await faultLog(s3.proxy));
      const puts = log.filter((r) => r.method === 'PUT');
      assert.ok(puts.length > 20, `floe wrote through the proxy (${puts.length} PUTs)`);
      assert.ok(log.every((r) => r.akid === 'e2e-key' && r.sig === true), 'signed with the configured key');
      assert.ok(puts.some((r) => /^\/lake\/wh\/e2e\/orders\/data\/.*\.parquet$/.test(r.path)));
      assert.ok(puts.some((r) => /^\/lake\/wh\/e2e\/orders\/metadata\/.*\.avro$/.test(r.path)));
      assert.ok(!puts.some((r) => /\.metadata\.json$/.test(r.path)), 'the server writes the metadata files, not floe');
      const metadataFiles = (await listKeys(s3.endpoint, 'lake', 'wh/e2e/orders/metadata/')).filter((k) => k.endsWith('.metadata.json'));
      assert.ok(metadataFiles.length >= 3, 'the REST server wrote its metadata files to S3');

      const md = await assertEqualsSource(dir, s3, server.url, 'orders', 'SELECT * FROM orders', ORDER_COLS);
      const spec = md['partition-specs'].find((s) => s['spec-id'] === md['default-spec-id']);
      assert.deepEqual(spec.fields.map((f) => f.transform), ['day', 'bucket[4]']);
      assert.deepEqual(md.snapshots.map((s) => [s.summary['floe.batch-sk.low'], s.summary['floe.batch-sk.high']]),
        [['0', '1'], ['1', '2']]);
      const products = await assertEqualsSource(dir, s3, server.url, 'products', 'SELECT * FROM products', ['sku', 'price', 'n']);
      assert.equal(products.snapshots.at(-1).summary.operation, 'overwrite');
      await assertEqualsSource(dir, s3, server.url, 'customers', 'SELECT * FROM customers', ['customer_id', 'name', 'batch_sk']);
      const ranged = await assertEqualsSource(dir, s3, server.url, 'orders_range', 'SELECT * FROM orders', ORDER_COLS);
      assert.deepEqual(ranged.snapshots.map((s) => s.summary['floe.batch-sk.high']), ['1', '2']);
      const events = await assertEqualsSource(dir, s3, server.url, 'events', 'SELECT * FROM events', ['id', 'v', 'batch_sk']);
      assert.deepEqual(events.snapshots.map((s) => s.summary['floe.batch-sk.high']), ['1', '2', '3', '4', '5'],
        'chunked by batch: one commit per batch');
      const clicks = await assertEqualsSource(dir, s3, server.url, 'clicks', 'SELECT * FROM clicks', ['click_id', 'page']);
      assert.equal(clicks.snapshots.length, 5, 'chunked by rows: 10 rows then 5 rows in chunks of 4');
      await assertEqualsSource(dir, s3, server.url, 'visits', 'SELECT * FROM visits', ['id', 'pages', 'updated_at']);
      await assertEqualsSource(dir, s3, server.url, 'daily_sales', 'SELECT * FROM daily_sales',
        ['sale_date', 'store', 'amount', 'batch_sk']);
      const { rows: cdc } = await readS3Table(s3.endpoint, server.url, 'orders_cdc');
      assert.deepEqual(normalizeRows(cdc, ['order_id', 'amount']),
        normalizeRows([{ order_id: 1, amount: 12 }, { order_id: 4, amount: 40 }], ['order_id', 'amount']));

      // `floe table` on the same catalog: --catalog-type rest, files from
      // S3 through the s3:// warehouse and the AWS_* environment.
      const cat = ['--catalog-type', 'rest', '--catalog-uri', server.url, '--warehouse', 's3://lake/wh'];
      const list = runOk(dir, ['table', 'list', 'e2e', ...cat], s3.env);
      assert.deepEqual(list.stdout.trim().split('\n').sort(), ['e2e.clicks', 'e2e.customers', 'e2e.daily_sales', 'e2e.events',
        'e2e.orders', 'e2e.orders_cdc', 'e2e.orders_range', 'e2e.products', 'e2e.visits']);
      const scan = runOk(dir, ['table', 'scan', 'e2e.orders', ...cat, '--format', 'jsonl', '--columns', 'id'], s3.env);
      assert.deepEqual(scan.stdout.trim().split('\n').map((l) => JSON.parse(l).id).sort((a, b) => a - b),
        Array.from({ length: 45 }, (_, i) => i + 1));

      // PyIceberg and Spark, through the same catalog, files from S3.
      const engines = readThroughEngines(server.url, s3.moto,
        ['orders=id', 'products=n', 'customers=customer_id', 'orders_cdc=order_id', 'orders_range=id', 'events=id',
          'clicks=click_id', 'visits=id', 'daily_sales=amount']);
      const expected = {
        orders: sqliteRows(path.join(dir, 'source.db'), 'SELECT id AS k FROM orders ORDER BY id').map((r) => Number(r.k)),
        products: [2, 3, 4],
        customers: [1, 2, 3, 4],
        orders_cdc: [1, 4],
        orders_range: sqliteRows(path.join(dir, 'source.db'), 'SELECT id AS k FROM orders ORDER BY id').map((r) => Number(r.k)),
        events: [1, 2, 3, 4, 5, 6],
        clicks: Array.from({ length: 15 }, (_, i) => i + 1),
        visits: [1, 2, 3, 4],
        daily_sales: [10, 20, 30, 40, 50],
      };
      for (const engine of ['pyiceberg', 'spark']) {
        for (const [table, keys] of Object.entries(expected)) {
          const got = engines.find((e) => e.engine === engine && e.table === table);
          assert.ok(got, `${engine} read ${table}`);
          assert.deepEqual(got.keys, keys, `${engine}: ${table} keys`);
          assert.equal(got.rows, keys.length, `${engine}: ${table} rows`);
        }
      }
    } finally {
      await server.stop();
    }
  });

  test('vended credentials: floe signs the table files with the key the catalog vended, rotated on reload, no secret shown', async () => {
    const dir = scratch('vended');
    // The server vends keys of its own and the proxy's endpoint; floe is
    // configured with moto's address directly, so only a vended endpoint
    // brings its requests through the proxy.
    const server = await startRestServer(dir, ['--warehouse', 's3://lake/wh', '--s3-endpoint', s3.moto,
      '--s3-credentials', SERVER_KEYS, '--vend', 'vended-key-1:vended-secret-1:vended-token-1',
      '--vend-endpoint', s3.proxy]);
    try {
      sqlite(dir, ORDERS + orderRows(1, 20, 1));
      job(dir, { uri: server.url, endpoint: s3.moto, logLevel: 'debug', tables: `
  vorders: {source: orders, partition_by: [bucket(2, id)]}` });
      await setFaults(s3.proxy, []);
      const first = runOk(dir, ['run'], s3.env);
      let log = floeRequests(await faultLog(s3.proxy));
      const puts = log.filter((r) => r.method === 'PUT');
      assert.ok(puts.some((r) => /\/vorders\/data\/.*\.parquet$/.test(r.path)), 'data files went to the vended endpoint');
      assert.ok(puts.some((r) => /\/vorders\/metadata\/.*\.avro$/.test(r.path)), 'manifests went to the vended endpoint');
      assert.ok(log.every((r) => r.akid === 'vended-key-1' && r.sig === true && r.token === true),
        `every request signed with the vended key and session token: ${JSON.stringify(log.map((r) => r.akid))}`);

      // The catalog rotates its credentials: the next load's are used.
      const rotated = await fetch(`${server.url}/__test__/vend`, { method: 'POST', body: 'vended-key-2:vended-secret-2' });
      assert.equal(rotated.status, 204);
      sqlite(dir, orderRows(21, 35, 2));
      await setFaults(s3.proxy, []);
      const second = runOk(dir, ['run'], s3.env);
      log = floeRequests(await faultLog(s3.proxy));
      assert.ok(log.some((r) => r.method === 'PUT'));
      assert.ok(log.every((r) => r.akid === 'vended-key-2' && r.sig === true && r.token === false),
        `signed with the rotated key: ${JSON.stringify([...new Set(log.map((r) => r.akid))])}`);

      const { rows } = await readS3Table(s3.endpoint, server.url, 'vorders');
      assert.deepEqual(normalizeRows(rows, ORDER_COLS),
        normalizeRows(sqliteRows(path.join(dir, 'source.db'), 'SELECT * FROM orders'), ORDER_COLS));
      for (const out of [first.all, second.all])
        for (const secret of ['vended-secret-1', 'vended-secret-2', 'vended-token-1', 'catalog-secret'])
          assert.ok(!out.includes(secret), `floe's output shows no ${secret}`);
      const vendedLoads = server.requests().filter((r) => r.event === 'request' && /\+vended:/.test(r.auth));
      assert.ok(vendedLoads.length >= 2, 'the server vended on the loads floe asked to delegate');
    } finally {
      await server.stop();
    }
  });

  test('a REST catalog without an s3:// warehouse: tables on S3 are reached through the AWS environment', async () => {
    const dir = scratch('nowarehouse');
    const server = await startRestServer(dir, ['--warehouse', 's3://lake/wh', '--s3-endpoint', s3.moto,
      '--s3-credentials', SERVER_KEYS]);
    try {
      sqlite(dir, ORDERS + orderRows(1, 12, 1));
      job(dir, { uri: server.url, endpoint: null, tables: `
  norders: {source: orders}` });
      await setFaults(s3.proxy, []);
      runOk(dir, ['run'], s3.env); // AWS_ENDPOINT_URL_S3 is the proxy, keys e2e-key
      const log = floeRequests(await faultLog(s3.proxy));
      assert.ok(log.some((r) => r.method === 'PUT' && /\/norders\/data\/.*\.parquet$/.test(r.path)));
      assert.ok(log.every((r) => r.akid === 'e2e-key' && r.sig === true));
      const { rows } = await readS3Table(s3.endpoint, server.url, 'norders');
      assert.deepEqual(normalizeRows(rows, ORDER_COLS),
        normalizeRows(sqliteRows(path.join(dir, 'source.db'), 'SELECT * FROM orders'), ORDER_COLS));
    } finally {
      await server.stop();
    }
  });

  test('vended credentials near expiry are asked of the catalog again within one run', async () => {
    const dir = scratch('expiry');
    // Every vended set expires within floe's five-minute margin, and the
    // server hands out a new key on every load: each S3 request of floe
    // makes it reload the table's credentials first.
    const server = await startRestServer(dir, ['--warehouse', 's3://lake/wh', '--s3-endpoint', s3.moto,
      '--s3-credentials', SERVER_KEYS, '--vend', 'rotating-key:rotating-secret', '--vend-rotate', 'true',
      '--vend-ttl-ms', '120000', '--vend-endpoint', s3.proxy]);
    try {
      sqlite(dir, ORDERS + orderRows(1, 10, 1));
      job(dir, { uri: server.url, endpoint: s3.moto, tables: `
  xorders: {source: orders}` });
      await setFaults(s3.proxy, []);
      const r = runOk(dir, ['run'], s3.env);
      const keys = [...new Set(floeRequests(await faultLog(s3.proxy)).map((x) => x.akid))];
      assert.ok(keys.length >= 3 && keys.every((k) => /^rotating-key-\d+$/.test(k)),
        `one run used several vended keys, each fetched fresh: ${JSON.stringify(keys)}`);
      assert.ok(!r.all.includes('rotating-secret'));
      const { rows } = await readS3Table(s3.endpoint, server.url, 'xorders');
      assert.equal(rows.length, 10);
    } finally {
      await server.stop();
    }
  });
});
