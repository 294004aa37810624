// End-to-end tests of floe on S3 storage, against moto's standalone S3
// server started here on 127.0.0.1 (tests/e2e/lib/s3.mjs):
//
//  - the golden fixture tables that carry s3:// and s3a:// locations
//    (../shared/fixtures/iceberg) are uploaded under their original buckets
//    and keys and read with `floe table scan --metadata s3a://...`; every
//    expected CSV must match. The same tables read from the local copy with
//    --location-map ORIGINAL=DIR must match too;
//  - `floe run` into an s3:// warehouse with the SQL and the hadoop
//    catalogs: icebird reads each table from S3 equal to the source, a
//    second batch lands once, nothing new stays nothing new;
//  - faults through tests/support/s3_fault_proxy.py: 503 SlowDown and 500
//    answers are retried and the run succeeds; connections dropped on every
//    upload make the run fail cleanly (control row compensated, no snapshot,
//    no object from the run's commit visible, no multipart upload left
//    open), `floe maintain orphans` lists what the failed run left, and the
//    next run loads the range exactly once.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/s3.test.mjs

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { REPO, metadataLocation, normalizeRows, sh, sqliteRows } from './lib/check_table.mjs';
import {
  faultLog, getObject, listKeys, makeBucket, openUploads, routeS3Fetch, setFaults, startS3, uploadTree,
} from './lib/s3.mjs';
import { FIXTURES, FLOE, floe as floeRun, runOk, scratch as scratchDir } from './lib/cli.mjs';

const MODULES = path.join(REPO, 'tests/interop/node_modules');

// Runs against S3 may print much and must not hang.
const S3_RUN = { maxBuffer: 1 << 28, timeout: 180000 };
const scratch = (name) => scratchDir(name, { prefix: 'floe-s3' });
const floe = (dir, args, env) => floeRun(dir, args, env, S3_RUN);
const floeOk = (dir, args, env) => runOk(dir, args, env, S3_RUN);

// ---- CSV comparison (fixtures README: "CSV conventions") ----------------

function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false, i = 0, any = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; any = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; any = true; i++; continue; }
    if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = ''; any = false; i++; continue;
    }
    field += c; any = true; i++;
  }
  if (any || field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

// Floats compare numerically ("Compare numerically"); everything else as text.
function norm(v) {
  return /^-?(\d+\.\d*|\d*\.\d+|\d+)(e[+-]?\d+)?$/i.test(v) && /[.e]/i.test(v) ? String(Number(v)) : v;
}

// Rows of `got` (floe's CSV) in the expected CSV's column order; a column
// the scan does not have (a snapshot read with its own older schema) must
// be all null in the expected rows.
function compareCsv(name, gotText, wantText) {
  const [wantHeader, ...want] = parseCsv(wantText);
  const [gotHeader, ...got] = parseCsv(gotText);
  assert.ok(gotHeader, `${name}: floe printed no header`);
  const idx = wantHeader.map((h) => gotHeader.indexOf(h));
  const rowsGot = got.map((r) => JSON.stringify(idx.map((j) => (j < 0 ? '\\N' : norm(r[j]))))).sort();
  const rowsWant = want.map((r) => JSON.stringify(r.map(norm))).sort();
  assert.equal(rowsGot.length, rowsWant.length, `${name}: row count`);
  assert.deepEqual(rowsGot, rowsWant, `${name}: rows`);
}

// Every expected result: { name, table, version, metadata (relative), snapshot, location }.
function fixtureCases() {
  const dir = path.join(FIXTURES, 'expected/iceberg');
  const cases = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.csv')) continue;
    const base = f.slice(0, -4);
    const dot = base.indexOf('.');
    const table = base.slice(0, dot), version = base.slice(dot + 1);
    const expected = JSON.parse(readFileSync(path.join(dir, `${base}.json`), 'utf8'));
    const md = JSON.parse(readFileSync(path.join(FIXTURES, 'iceberg', table, expected.metadata), 'utf8'));
    cases.push({
      name: base, table, version, metadata: expected.metadata, location: md.location,
      snapshot: version.includes('_snap') ? expected.snapshot_id : null,
      csv: readFileSync(path.join(dir, f), 'utf8'),
    });
  }
  return cases;
}

describe('floe on S3 storage', () => {
  let s3;
  before(async () => {
    assert.ok(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
    s3 = await startS3();
  });
  after(() => s3?.stop());

  test('fixture tables uploaded under their s3a:// locations read with floe table scan --metadata', async () => {
    assert.ok(existsSync(FIXTURES), `fixtures missing at ${FIXTURES}`);
    const cases = fixtureCases().filter((c) => /^s3[an]?:\/\//.test(c.location));
    assert.ok(cases.length >= 25, `only ${cases.length} fixture results with s3 locations`);
    const uploaded = new Set();
    for (const c of cases) {
      if (uploaded.has(c.table)) continue;
      const m = /^s3[an]?:\/\/([^/]+)\/?(.*)$/.exec(c.location);
      await uploadTree(s3.endpoint, path.join(FIXTURES, 'iceberg', c.table), m[1], m[2].replace(/\/$/, ''));
      uploaded.add(c.table);
    }
    const env = { ...s3.env, AWS_ENDPOINT_URL_S3: s3.moto };
    const dir = scratch('fixtures');
    for (const c of cases) {
      // The metadata file named by the table's own location, with the
      // scheme it was written with (s3a:// mostly).
      const args = ['table', 'scan', '--metadata', `${c.location.replace(/\/$/, '')}/${c.metadata}`, '--format', 'csv'];
      if (c.snapshot) args.push('--snapshot', c.snapshot);
      const r = floeOk(dir, args, env);
      compareCsv(c.name, r.stdout, c.csv);
    }
    // inspect works on S3 too, and names the live files by their s3a:// paths.
    const inspect = floeOk(dir, ['table', 'inspect', '--metadata',
      's3a://hyperparam-iceberg/java/bunnies/metadata/v5.metadata.json'], env);
    assert.match(inspect.stdout, /s3a:\/\/hyperparam-iceberg\/java\/bunnies\/data\//);
  });

  test('--location-map reads every fixture table from its local copy', () => {
    const dir = scratch('locmap');
    let n = 0;
    for (const c of fixtureCases()) {
      const local = path.join(FIXTURES, 'iceberg', c.table);
      const from = c.location.replace(/^\.\//, '').replace(/\/$/, '');
      const args = ['table', 'scan', '--metadata', path.join(local, c.metadata), '--location-map', `${from}=${local}`,
        '--format', 'csv'];
      if (c.snapshot) args.push('--snapshot', c.snapshot);
      compareCsv(c.name, floeOk(dir, args, {}).stdout, c.csv);
      n++;
    }
    assert.ok(n >= 29, `${n} expected results`);
    // A bad map is a usage error that says so.
    const bad = floe(dir, ['table', 'scan', '--metadata', 'x.json', '--location-map', 'nothing'], {});
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--location-map nothing: expected FROM=TO/);
  });
});

// ---- floe run into an s3:// warehouse -----------------------------------

const ORDERS = `CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount DECIMAL(10,2),
  d DATE, batch_sk INTEGER NOT NULL);`;
const ORDER_COLS = ['id', 'customer', 'amount', 'd', 'batch_sk'];
function orderRows(from, to, batch) {
  const v = [];
  for (let i = from; i <= to; i++)
    v.push(`(${i}, 'c${i % 7}', ${(i * 1.25).toFixed(2)}, '2024-02-${String(1 + (i % 28)).padStart(2, '0')}', ${batch})`);
  return `INSERT INTO orders VALUES ${v.join(',')};`;
}

function writeJob(dir, catalog, warehouse, storage) {
  writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: sqlite, path: ./source.db}
target:
  warehouse: ${warehouse}
  storage: ${storage}
  catalog: ${catalog}
  namespace: e2e
run: {durability: none}
tables:
  orders: {}
  events: {mode: append, strategy: incremental}
`);
}

let icebird = null;
async function readS3Table(endpoint, metadataLoc) {
  if (!icebird) icebird = await import(pathToFileURL(path.join(MODULES, 'icebird/src/index.js')).href);
  const md = JSON.parse((await getObject(endpoint, metadataLoc)).toString('utf8'));
  if ((md['current-snapshot-id'] ?? -1) === -1) return { md, rows: [] };
  const restore = routeS3Fetch(endpoint);
  try {
    return { md, rows: await icebird.icebergRead({ tableUrl: md.location, metadataFileName: path.basename(metadataLoc) }) };
  } finally {
    restore();
  }
}

// The current metadata location of a hadoop table on S3: the newest
// v<N>.metadata.json under its metadata/ prefix.
async function hadoopMetadata(endpoint, bucket, prefix) {
  const keys = (await listKeys(endpoint, bucket, `${prefix}/metadata/`))
    .map((k) => /\/v(\d+)\.metadata\.json$/.exec(k)).filter(Boolean);
  keys.sort((a, b) => Number(a[1]) - Number(b[1]));
  return `s3://${bucket}/${keys.at(-1).input}`;
}

for (const kind of ['sql', 'hadoop']) {
  describe(`floe run into an s3:// warehouse, ${kind} catalog`, () => {
    let s3;
    before(async () => {
      assert.ok(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
      assert.ok(existsSync(path.join(MODULES, 'icebird')), 'node modules missing: run scripts/deps.sh --npm');
      s3 = await startS3();
    });
    after(() => s3?.stop());

    test('batches land once and icebird reads the tables from S3 equal to the source', async () => {
      const dir = scratch(`run-${kind}`);
      const bucket = `lake-${kind}`;
      await makeBucket(s3.endpoint, bucket);
      sh('sqlite3', [path.join(dir, 'source.db'), ORDERS + orderRows(1, 60, 1) + orderRows(61, 90, 2) +
        'CREATE TABLE events (id INTEGER, kind TEXT, batch_sk INTEGER NOT NULL);' +
        'INSERT INTO events VALUES (1, \'a\', 1), (2, \'b\', 1), (3, \'c\', 2);']);
      const catalog = kind === 'sql' ? '{type: sql, uri: "sqlite:./catalog.db"}' : '{type: hadoop}';
      writeJob(dir, catalog, `s3://${bucket}/warehouse`,
        `{type: s3, endpoint: "${s3.moto}", region: us-east-1, path_style: true}`);
      const env = { ...s3.env, AWS_ENDPOINT_URL_S3: '' };
      const metadataOf = async (table) => (kind === 'sql'
        ? metadataLocation(path.join(dir, 'catalog.db'), 'e2e', table)
        : hadoopMetadata(s3.endpoint, bucket, `warehouse/e2e/${table}`));
      const check = async (table, sql, cols) => {
        const loc = await metadataOf(table);
        assert.match(loc, new RegExp(`^s3://${bucket}/warehouse/e2e/${table}/metadata/`));
        const { md, rows } = await readS3Table(s3.endpoint, loc);
        assert.equal(md.location, `s3://${bucket}/warehouse/e2e/${table}`);
        assert.deepEqual(normalizeRows(rows, cols),
          normalizeRows(sqliteRows(path.join(dir, 'source.db'), sql), cols), `icebird rows of ${table}`);
        return md;
      };
      const r1 = floeOk(dir, ['run'], env);
      assert.match(r1.stdout, /orders\s+ok\s+\(0, 2\]\s+90/);
      await check('orders', 'SELECT * FROM orders', ORDER_COLS);
      await check('events', 'SELECT * FROM events', ['id', 'kind', 'batch_sk']);
      const again = floeOk(dir, ['run'], env);
      assert.match(again.stdout, /orders\s+nothing_new/);
      sh('sqlite3', [path.join(dir, 'source.db'), orderRows(91, 100, 3) + 'INSERT INTO events VALUES (4, \'d\', 3);']);
      const r2 = floeOk(dir, ['run'], env);
      assert.match(r2.stdout, /orders\s+ok\s+\(2, 3\]\s+10/);
      const md = await check('orders', 'SELECT * FROM orders', ORDER_COLS);
      assert.equal(md.snapshots.length, 2);
      assert.deepEqual(md.snapshots.map((s) => s.summary['floe.batch-sk.high']), ['2', '3']);
      await check('events', 'SELECT * FROM events', ['id', 'kind', 'batch_sk']);
      // floe reads its own S3 table back through the catalog.
      const scan = floeOk(dir, ['table', 'scan', 'e2e.orders', '-c', 'floe.yaml', '--format', 'csv'], env);
      assert.equal(scan.stdout.trim().split('\n').length, 101);
      assert.equal(await openUploads(s3.endpoint, bucket), 0);
    });

    test('S3 faults: transient errors are retried; lost connections fail cleanly and the next run loads once', async () => {
      const dir = scratch(`faults-${kind}`);
      const bucket = `faults-${kind}`;
      await makeBucket(s3.endpoint, bucket);
      sh('sqlite3', [path.join(dir, 'source.db'), ORDERS + orderRows(1, 40, 1) +
        'CREATE TABLE events (id INTEGER, kind TEXT, batch_sk INTEGER NOT NULL);' +
        'INSERT INTO events VALUES (1, \'a\', 1);']);
      const catalog = kind === 'sql' ? '{type: sql, uri: "sqlite:./catalog.db"}' : '{type: hadoop}';
      writeJob(dir, catalog, `s3://${bucket}/warehouse`,
        `{type: s3, endpoint: "${s3.proxy}", region: us-east-1, max_attempts: 8}`);
      const env = { ...s3.env, AWS_ENDPOINT_URL_S3: '' };
      // 503 SlowDown and 500 answers (at most five in a row, fewer than
      // max_attempts): retried, all land.
      await setFaults(s3.proxy, [
        { method: 'PUT', count: 3, status: 503, code: 'SlowDown' },
        { method: 'PUT', skip: 3, count: 2, status: 500, code: 'InternalError' },
        { method: 'GET', count: 2, status: 503, code: 'SlowDown' },
      ]);
      const r1 = floeOk(dir, ['run'], env);
      assert.match(r1.stdout, /orders\s+ok\s+\(0, 1\]\s+40/);
      const log1 = await faultLog(s3.proxy);
      assert.equal(log1.filter((e) => e.action === 'status').length, 7, 'the injected errors were met');
      assert.ok(log1.every((e) => e.sig !== false), 'every request correctly signed');
      const ordersLoc = async () => (kind === 'sql'
        ? metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'orders')
        : hadoopMetadata(s3.endpoint, bucket, 'warehouse/e2e/orders'));
      let { md, rows } = await readS3Table(s3.endpoint, await ordersLoc());
      assert.equal(rows.length, 40);

      // Batch 2, with every upload's connection dropped mid-body: the run
      // fails, compensates its control row, commits nothing.
      sh('sqlite3', [path.join(dir, 'source.db'), orderRows(41, 70, 2)]);
      const before = new Set(await listKeys(s3.endpoint, bucket, 'warehouse/e2e/orders/'));
      await setFaults(s3.proxy, [{ method: 'PUT', path_contains: '/orders/', count: 1000, action: 'drop', drop_after: 100 }]);
      const failed = floe(dir, ['run'], env);
      assert.notEqual(failed.status, 0, failed.stdout);
      assert.match(failed.stdout + failed.stderr, /bucket=faults-[a-z]+ key=warehouse\/e2e\/orders\//);
      assert.doesNotMatch(failed.stdout + failed.stderr, /e2e-secret/);
      await setFaults(s3.proxy, []);
      const control = sqliteRows(path.join(dir, 'source.db'),
        "SELECT batch_sk FROM floe_control WHERE table_name = 'orders' ORDER BY batch_sk").map((r) => r.batch_sk);
      assert.deepEqual(control, [0, 1], 'the failed run compensated its control row');
      ({ md } = await readS3Table(s3.endpoint, await ordersLoc()));
      assert.equal(md.snapshots.length, 1, 'no snapshot from the failed run');
      const afterFail = (await listKeys(s3.endpoint, bucket, 'warehouse/e2e/orders/')).filter((k) => !before.has(k));
      assert.deepEqual(afterFail.filter((k) => /metadata\/.*\.metadata\.json$/.test(k)), [],
        'no metadata file from the failed run');
      assert.equal(await openUploads(s3.endpoint, bucket), 0, 'no multipart upload left open');
      // Whatever the failed run left is listed as an orphan (and only that).
      const orphans = floeOk(dir, ['maintain', 'orphans', 'e2e.orders', '-c', 'floe.yaml', '--older-than', '0s'], env);
      for (const k of afterFail) assert.ok(orphans.stdout.includes(k), `orphan ${k} listed`);

      // The next run loads batch 2 exactly once.
      const r3 = floeOk(dir, ['run'], env);
      assert.match(r3.stdout, /orders\s+ok\s+\(1, 2\]\s+30/);
      ({ md, rows } = await readS3Table(s3.endpoint, await ordersLoc()));
      assert.deepEqual(normalizeRows(rows, ORDER_COLS),
        normalizeRows(sqliteRows(path.join(dir, 'source.db'), 'SELECT * FROM orders'), ORDER_COLS));
      assert.deepEqual(md.snapshots.map((s) => s.summary['floe.batch-sk.high']), ['1', '2']);
    });
  });
}
