// End-to-end tests of `floe run|status|validate|config|init` against a
// SQLite source (every test) and a PostgreSQL server started by
// tests/support/pg.sh (the PostgreSQL block; skipped with a visible message
// when the server binaries are missing).
//
// Every loaded table is checked against the source with independent
// readers: icebird reads the whole Iceberg table (deletes applied), DuckDB
// reads the live data files by field id; the expected rows come from the
// source through the sqlite3 / psql clients (lib/check_table.mjs).
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/
// (FLOE_BIN defaults to <repo>/build/floe; the node modules come from
// tests/interop, installed by scripts/deps.sh --npm.)

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  REPO, duckdbFiles, metadataLocation, normalizeRows, pgExec, pgRows, readIceberg, readMetadata, sh,
  sqliteRows,
} from './lib/check_table.mjs';
import { floe, ready, runOk, scratch, skipReason, sqlite, writeJob } from './lib/cli.mjs';

const job = (dir, tables, extra = '') => writeJob(dir, tables, { report: true, extra });

function control(dir, table) {
  return sqliteRows(path.join(dir, 'source.db'),
    `SELECT batch_sk, kind, watermark FROM floe_control WHERE table_name = '${table}' ORDER BY batch_sk`);
}

async function assertTableEqualsSource(dir, table, sourceSql, columns, { idField = 1, ns = 'e2e' } = {}) {
  const expected = normalizeRows(sqliteRows(path.join(dir, 'source.db'), sourceSql), columns);
  const got = normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), ns, table), columns);
  assert.deepEqual(got, expected, `icebird rows of ${ns}.${table}`);
  return expected.length;
}

async function assertDuckdb(dir, table, sourceSql, { idField = 1, ns = 'e2e' } = {}) {
  const d = await duckdbFiles(path.join(dir, 'catalog.db'), ns, table, idField);
  const [s] = sqliteRows(path.join(dir, 'source.db'), sourceSql);
  assert.equal(d.rows, Number(s.n), `DuckDB row count of ${table}`);
  assert.equal(d.sum, BigInt(s.total ?? 0), `DuckDB sum of field ${idField} of ${table}`);
}

function snapshots(dir, table, ns = 'e2e') {
  const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), ns, table));
  return md.snapshots ?? [];
}

const ORDERS = `CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount DECIMAL(10,2),
  ts TIMESTAMP, d DATE, batch_sk INTEGER NOT NULL);`;
const ORDER_COLS = ['id', 'customer', 'amount', 'ts', 'd', 'batch_sk'];
function orderRows(from, to, batch) {
  const v = [];
  for (let i = from; i <= to; i++) {
    v.push(`(${i}, 'c${i % 7}', ${(i * 1.25).toFixed(2)}, '2024-01-${String(1 + (i % 28)).padStart(2, '0')} 10:${String(i % 60).padStart(2, '0')}:00', '2024-02-${String(1 + (i % 28)).padStart(2, '0')}', ${batch})`);
  }
  return `INSERT INTO orders VALUES ${v.join(',')};`;
}

describe('floe run on SQLite', { skip: ready ? false : skipReason }, () => {
  test('case 1, case 2, nothing new: the control table and the Iceberg table follow the source', async () => {
    const dir = scratch('cases');
    sqlite(dir, ORDERS + orderRows(1, 50, 1) + orderRows(51, 120, 2));
    job(dir, '  orders: {}');
    const r1 = runOk(dir);
    assert.match(r1.stdout, /orders\s+ok\s+\(0, 2\]\s+120/);
    assert.deepEqual(control(dir, 'orders').map((r) => [r.batch_sk, r.kind]), [[0, 'init'], [2, 'load']]);
    assert.equal(await assertTableEqualsSource(dir, 'orders', 'SELECT * FROM orders', ORDER_COLS), 120);
    await assertDuckdb(dir, 'orders', 'SELECT count(*) AS n, sum(id) AS total FROM orders');
    const snap = snapshots(dir, 'orders').at(-1);
    assert.equal(snap.summary['floe.source-table'], 'orders');
    assert.equal(snap.summary['floe.batch-sk.low'], '0');
    assert.equal(snap.summary['floe.batch-sk.high'], '2');
    assert.match(snap.summary['floe.run-id'], /^[0-9a-f-]{36}$/);
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.equal(report.tables[0].status, 'ok');
    assert.equal(report.tables[0].rows_written, 120);
    assert.equal(report.tables[0].rows_source, 120);
    assert.equal(report.tables[0].snapshot_id, Number(snap['snapshot-id']));

    const r2 = runOk(dir);
    assert.match(r2.stdout, /orders\s+nothing_new/);
    assert.match(r2.stderr, /event=nothing_new table=orders/);
    assert.equal(snapshots(dir, 'orders').length, 1);
    assert.equal(control(dir, 'orders').length, 2);

    sqlite(dir, orderRows(121, 130, 3) + orderRows(131, 135, 5));
    const r3 = runOk(dir);
    assert.match(r3.stdout, /orders\s+ok\s+\(2, 5\]\s+15/);
    assert.deepEqual(control(dir, 'orders').map((r) => r.batch_sk), [0, 2, 5]);
    assert.equal(await assertTableEqualsSource(dir, 'orders', 'SELECT * FROM orders', ORDER_COLS), 135);
    await assertDuckdb(dir, 'orders', 'SELECT count(*) AS n, sum(id) AS total FROM orders');
    const status = runOk(dir, ['status']);
    assert.match(status.stdout, /orders\s+e2e\.orders\s+5\s+5\s+-\s+\d+\s+135/);
  });

  test('a failure at commit compensates the control row; the rerun loads the range once', async () => {
    const dir = scratch('failcommit');
    sqlite(dir, ORDERS + orderRows(1, 20, 1));
    job(dir, '  orders: {}');
    runOk(dir);
    sqlite(dir, orderRows(21, 40, 2));
    const r = floe(dir, ['run'], { FLOE_FAIL_AT: 'commit' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /batch range \(1, 2\] failed \(control row compensated\)/);
    assert.match(r.stderr, /event=compensate table=orders batch_sk=2/);
    assert.deepEqual(control(dir, 'orders').map((x) => x.batch_sk), [0, 1]);
    assert.equal(snapshots(dir, 'orders').length, 1);
    runOk(dir);
    assert.deepEqual(control(dir, 'orders').map((x) => x.batch_sk), [0, 1, 2]);
    assert.equal(await assertTableEqualsSource(dir, 'orders', 'SELECT * FROM orders', ORDER_COLS), 40);
    await assertDuckdb(dir, 'orders', 'SELECT count(*) AS n, sum(id) AS total FROM orders');
  });

  test('an unwritable warehouse fails the load and compensates; the rerun loads once', async () => {
    if (process.getuid && process.getuid() === 0) return; // root writes anywhere
    const dir = scratch('readonly');
    sqlite(dir, ORDERS + orderRows(1, 10, 1));
    job(dir, '  orders: {}');
    runOk(dir);
    sqlite(dir, orderRows(11, 20, 2));
    const data = path.join(dir, 'warehouse/e2e/orders/data');
    sh('chmod', ['0555', data]);
    const r = floe(dir, ['run']);
    sh('chmod', ['0755', data]);
    assert.equal(r.status, 1);
    assert.deepEqual(control(dir, 'orders').map((x) => x.batch_sk), [0, 1]);
    runOk(dir);
    assert.equal(await assertTableEqualsSource(dir, 'orders', 'SELECT * FROM orders', ORDER_COLS), 20);
  });

  for (const point of ['after_control_insert', 'after_data_file', 'before_commit', 'after_manifest']) {
    test(`a crash at ${point} is repaired by the next run, which loads the range once`, async () => {
      const dir = scratch(point);
      sqlite(dir, ORDERS + orderRows(1, 30, 1));
      job(dir, '  orders: {}');
      runOk(dir);
      sqlite(dir, orderRows(31, 45, 2));
      const r = floe(dir, ['run'], { FLOE_CRASH_AT: point });
      assert.equal(r.status, 137, r.stderr);
      assert.deepEqual(control(dir, 'orders').map((x) => x.batch_sk), [0, 1, 2]); // orphan
      assert.equal(snapshots(dir, 'orders').length, 1);
      const again = runOk(dir);
      assert.match(again.stderr, /event=repair table=orders batch_sk=2 action=compensate/);
      assert.deepEqual(control(dir, 'orders').map((x) => x.batch_sk), [0, 1, 2]);
      assert.equal(snapshots(dir, 'orders').length, 2);
      assert.equal(await assertTableEqualsSource(dir, 'orders', 'SELECT * FROM orders', ORDER_COLS), 45);
      await assertDuckdb(dir, 'orders', 'SELECT count(*) AS n, sum(id) AS total FROM orders');
      runOk(dir); // and nothing more
      assert.equal(snapshots(dir, 'orders').length, 2);
    });
  }

  test('a crash after the commit leaves a consistent ledger; a missing control row is re-inserted', async () => {
    const dir = scratch('aftercommit');
    sqlite(dir, ORDERS + orderRows(1, 30, 1));
    job(dir, '  orders: {}');
    const r = floe(dir, ['run'], { FLOE_CRASH_AT: 'after_commit' });
    assert.equal(r.status, 137);
    const again = runOk(dir);
    assert.match(again.stdout, /nothing_new/);
    assert.equal(snapshots(dir, 'orders').length, 1);
    // The user deletes a committed row by hand: the table proves it.
    sqlite(dir, "DELETE FROM floe_control WHERE table_name = 'orders' AND batch_sk = 1");
    const repaired = runOk(dir);
    assert.match(repaired.stderr, /event=repair table=orders batch_sk=1 action=reinsert/);
    assert.deepEqual(control(dir, 'orders').map((x) => [x.batch_sk, x.kind]), [[0, 'init'], [1, 'repair']]);
    assert.equal(snapshots(dir, 'orders').length, 1);
    assert.equal(await assertTableEqualsSource(dir, 'orders', 'SELECT * FROM orders', ORDER_COLS), 30);
  });

  test('a crash during compensation is repaired by the next run', async () => {
    const dir = scratch('comp');
    sqlite(dir, ORDERS + orderRows(1, 10, 1));
    job(dir, '  orders: {}');
    const r = floe(dir, ['run'], { FLOE_FAIL_AT: 'commit', FLOE_CRASH_AT: 'during_compensation' });
    assert.equal(r.status, 137);
    assert.deepEqual(control(dir, 'orders').map((x) => x.batch_sk), [0, 1]);
    runOk(dir);
    assert.equal(await assertTableEqualsSource(dir, 'orders', 'SELECT * FROM orders', ORDER_COLS), 10);
  });

  test('dry run plans without writing anything, not even the control table', () => {
    const dir = scratch('dry');
    sqlite(dir, ORDERS + orderRows(1, 25, 3));
    job(dir, '  orders: {}');
    const r = runOk(dir, ['run', '--dry-run']);
    assert.match(r.stdout, /orders\s+planned\s+\(0, 3\]\s+25/);
    const tables = sqliteRows(path.join(dir, 'source.db'), "SELECT name FROM sqlite_master WHERE name = 'floe_control'");
    assert.equal(tables.length, 0);
    assert.equal(existsSync(path.join(dir, 'warehouse')), false);
  });

  test('chunked by batch: one commit and one control row per batch value, resumable', async () => {
    const dir = scratch('chunked');
    sqlite(dir, ORDERS + orderRows(1, 10, 1) + orderRows(11, 25, 2) + orderRows(26, 30, 4));
    job(dir, '  orders: {strategy: chunked, chunk: {by: batch}}');
    // The second chunk fails: the first stays committed and recorded.
    const r = floe(dir, ['run'], { FLOE_FAIL_AT: 'commit:2' });
    assert.equal(r.status, 1);
    assert.deepEqual(control(dir, 'orders').map((x) => x.batch_sk), [0, 1]);
    runOk(dir);
    assert.deepEqual(control(dir, 'orders').map((x) => x.batch_sk), [0, 1, 2, 4]);
    const snaps = snapshots(dir, 'orders');
    assert.deepEqual(snaps.map((s) => [s.summary['floe.batch-sk.low'], s.summary['floe.batch-sk.high'], s.summary['added-records']]),
      [['0', '1', '10'], ['1', '2', '15'], ['2', '4', '5']]);
    assert.equal(await assertTableEqualsSource(dir, 'orders', 'SELECT * FROM orders', ORDER_COLS), 30);
  });

  test('chunked by rows on a cursor column: about N rows per commit, watermark per control row', async () => {
    const dir = scratch('chunkrows');
    sqlite(dir, 'CREATE TABLE clicks (click_id INTEGER, url TEXT, ts TEXT);' +
      `INSERT INTO clicks VALUES ${Array.from({ length: 25 }, (_, i) => `(${i + 1}, 'u${i}', '2024-03-01T00:00:${String(i).padStart(2, '0')}')`).join(',')};`);
    job(dir, '  clicks: {strategy: chunked, cursor_column: click_id, chunk: {by: rows, rows: 10}}');
    runOk(dir);
    assert.deepEqual(control(dir, 'clicks').map((x) => [x.batch_sk, x.watermark]),
      [[0, null], [1, '10'], [2, '20'], [3, '25']]);
    assert.deepEqual(snapshots(dir, 'clicks').map((s) => s.summary['added-records']), ['10', '10', '5']);
    sqlite(dir, "INSERT INTO clicks VALUES (26, 'new', '2024-03-02T00:00:00')");
    runOk(dir);
    assert.deepEqual(control(dir, 'clicks').at(-1), { batch_sk: 4, kind: 'load', watermark: '26' });
    assert.equal(await assertTableEqualsSource(dir, 'clicks', 'SELECT * FROM clicks', ['click_id', 'url', 'ts']), 26);
  });

  test('incremental on a timestamp cursor column', async () => {
    const dir = scratch('cursor');
    sqlite(dir, "CREATE TABLE payments (id INTEGER, updated_at TEXT, amount REAL);" +
      "INSERT INTO payments VALUES (1, '2024-01-01 00:00:00', 1.5), (2, '2024-01-01 00:00:05', 2.5);");
    job(dir, '  payments: {cursor_column: updated_at}');
    runOk(dir);
    sqlite(dir, "INSERT INTO payments VALUES (3, '2024-01-01 00:00:05', 9.5), (4, '2024-01-02 00:00:00', 3.5)");
    // (3 has the old watermark: a cursor load takes only rows past it.)
    runOk(dir);
    assert.deepEqual(control(dir, 'payments').map((x) => x.watermark), [null, '2024-01-01 00:00:05', '2024-01-02 00:00:00']);
    const snap = snapshots(dir, 'payments').at(-1);
    assert.equal(snap.summary['floe.watermark.low'], '2024-01-01 00:00:05');
    assert.equal(snap.summary['floe.watermark.high'], '2024-01-02 00:00:00');
    await assertTableEqualsSource(dir, 'payments', 'SELECT * FROM payments WHERE id <> 3', ['id', 'updated_at', 'amount']);
  });

  test('full + overwrite table replaces the table each run (deletes in the source disappear)', async () => {
    const dir = scratch('full');
    sqlite(dir, 'CREATE TABLE products (sku TEXT, price REAL);' +
      "INSERT INTO products VALUES ('a', 1.0), ('b', 2.0), ('c', 3.0);");
    job(dir, '  products: {strategy: full, mode: overwrite}');
    runOk(dir);
    sqlite(dir, "DELETE FROM products WHERE sku = 'a'; UPDATE products SET price = 2.5 WHERE sku = 'b'; INSERT INTO products VALUES ('d', 4.0)");
    runOk(dir);
    assert.deepEqual(control(dir, 'products').map((x) => x.batch_sk), [0, 1, 2]); // a load counter
    const snaps = snapshots(dir, 'products');
    assert.equal(snaps.at(-1).summary.operation, 'overwrite');
    assert.equal(snaps.at(-1).summary['total-records'], '3');
    assert.equal(await assertTableEqualsSource(dir, 'products', 'SELECT * FROM products', ['sku', 'price']), 3);
  });

  test('overwrite range: each range replaces its own rows; partitioned and bucketed target', async () => {
    const dir = scratch('range');
    sqlite(dir, ORDERS + orderRows(1, 40, 1));
    job(dir, '  orders: {mode: overwrite, overwrite: range, partition_by: [day(ts), bucket(4, id)]}');
    runOk(dir);
    sqlite(dir, orderRows(41, 60, 2));
    runOk(dir);
    const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'orders'));
    const spec = md['partition-specs'].find((s) => s['spec-id'] === md['default-spec-id']);
    assert.deepEqual(spec.fields.map((f) => f.transform), ['day', 'bucket[4]']);
    assert.equal(snapshots(dir, 'orders').at(-1).summary.operation, 'overwrite');
    assert.equal(await assertTableEqualsSource(dir, 'orders', 'SELECT * FROM orders', ORDER_COLS), 60);
    await assertDuckdb(dir, 'orders', 'SELECT count(*) AS n, sum(id) AS total FROM orders');
  });

  test('partition strategy: changed partitions are replaced one commit each', async () => {
    const dir = scratch('partition');
    sqlite(dir, 'CREATE TABLE daily (sale_date DATE, store TEXT, total INTEGER, batch_sk INTEGER);' +
      "INSERT INTO daily VALUES ('2024-01-01','s1',10,1),('2024-01-01','s2',20,1),('2024-01-02','s1',30,1);");
    job(dir, '  daily: {strategy: partition, partition_column: sale_date, partition_by: [sale_date], mode: overwrite, overwrite: partitions}');
    runOk(dir);
    // A late row for 2024-01-02 and a new day.
    sqlite(dir, "INSERT INTO daily VALUES ('2024-01-02','s2',40,2),('2024-01-03','s1',50,2)");
    runOk(dir);
    const snaps = snapshots(dir, 'daily');
    assert.deepEqual(snaps.map((s) => s.summary['floe.part']), ['1/2', '2/2', '1/2', '2/2']);
    assert.equal(await assertTableEqualsSource(dir, 'daily', 'SELECT * FROM daily', ['sale_date', 'store', 'total', 'batch_sk']), 5);
  });

  test('merge upsert: the latest version of each key wins', async () => {
    const dir = scratch('merge');
    sqlite(dir, 'CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, batch_sk INTEGER);' +
      "INSERT INTO customers VALUES (1,'ann',1),(2,'bob',1),(3,'cy',1);");
    job(dir, '  customers: {mode: merge}');
    runOk(dir);
    sqlite(dir, "UPDATE customers SET name = 'bobby', batch_sk = 2 WHERE customer_id = 2; INSERT INTO customers VALUES (4,'dee',2)");
    const r = runOk(dir);
    assert.match(r.stdout, /customers\s+ok/);
    assert.equal(await assertTableEqualsSource(dir, 'customers', 'SELECT * FROM customers', ['customer_id', 'name', 'batch_sk']), 4);
  });

  test('CDC op column: inserts, updates and deletes applied in sequence order', async () => {
    const dir = scratch('cdc');
    sqlite(dir, 'CREATE TABLE changes (order_id INTEGER, op TEXT, amount INTEGER, seq INTEGER, batch_sk INTEGER);' +
      "INSERT INTO changes VALUES (1,'I',10,1,1),(2,'I',20,2,1),(1,'U',11,3,1),(3,'I',30,4,1),(3,'D',NULL,5,1);");
    job(dir, '  orders_cdc: {source: changes, mode: merge, primary_key: [order_id], cdc: {type: op_column, column: op, sequence: seq}}');
    runOk(dir);
    sqlite(dir, "INSERT INTO changes VALUES (2,'D',NULL,6,2),(4,'I',40,7,2),(1,'U',12,8,2)");
    runOk(dir);
    const rows = await readIceberg(path.join(dir, 'catalog.db'), 'e2e', 'orders_cdc');
    assert.deepEqual(normalizeRows(rows, ['order_id', 'amount']),
      normalizeRows([{ order_id: 1, amount: 12 }, { order_id: 4, amount: 40 }], ['order_id', 'amount']));
    const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'orders_cdc'));
    const schema = md.schemas.find((s) => s['schema-id'] === md['current-schema-id']);
    assert.equal(schema.fields.some((f) => f.name === 'op'), false, 'the op column is not written');
  });

  test('hash diff: the table follows a full source; an unchanged source commits nothing new', async () => {
    const dir = scratch('hashdiff');
    sqlite(dir, "CREATE TABLE prices (sku TEXT PRIMARY KEY, price DECIMAL(8,2)); INSERT INTO prices VALUES ('a',1.00),('b',2.00),('c',3.00);");
    job(dir, '  prices: {strategy: full, mode: merge, cdc: {type: hash_diff}}');
    runOk(dir);
    sqlite(dir, "UPDATE prices SET price = 2.50 WHERE sku = 'b'; DELETE FROM prices WHERE sku = 'a'; INSERT INTO prices VALUES ('d', 4.00)");
    runOk(dir);
    assert.equal(await assertTableEqualsSource(dir, 'prices', 'SELECT * FROM prices', ['sku', 'price']), 3);
  });

  test('schema drift: a new column is added, an incompatible change stops the table and writes nothing', async () => {
    const dir = scratch('drift');
    sqlite(dir, 'CREATE TABLE items (id INTEGER, code INTEGER, batch_sk INTEGER); INSERT INTO items VALUES (1, 10, 1), (2, 20, 1);');
    job(dir, '  items: {}');
    runOk(dir);
    sqlite(dir, "ALTER TABLE items ADD COLUMN note TEXT; INSERT INTO items VALUES (3, 30, 2, 'new')");
    const r = runOk(dir);
    assert.match(r.stderr, /event=schema_change table=items changes="added note \(string\)/);
    assert.equal(await assertTableEqualsSource(dir, 'items', 'SELECT * FROM items', ['id', 'code', 'batch_sk', 'note']), 3);
    // code becomes text: incompatible.
    sqlite(dir, 'CREATE TABLE items2 (id INTEGER, code TEXT, batch_sk INTEGER, note TEXT); INSERT INTO items2 SELECT * FROM items; ' +
      "DROP TABLE items; ALTER TABLE items2 RENAME TO items; INSERT INTO items VALUES (4, 'x', 3, NULL)");
    const before = snapshots(dir, 'items').length;
    const bad = floe(dir, ['run']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /column 'code': source type string \(declared 'TEXT'\) cannot be stored in the table's long column/);
    assert.equal(snapshots(dir, 'items').length, before);
    assert.deepEqual(control(dir, 'items').map((x) => x.batch_sk), [0, 1, 2]);
  });

  test('validation: floe validate finds a late row and a changed value (exit 3)', () => {
    const dir = scratch('validate');
    sqlite(dir, ORDERS + orderRows(1, 20, 1) + orderRows(21, 30, 2));
    job(dir, '  orders: {validate: {checksum: true}}');
    const r = runOk(dir);
    assert.match(r.stderr, /event=validate table=orders snapshot=\d+ source_rows=30 written_rows=30 checksum=1 ok=1/);
    runOk(dir, ['validate']);
    sqlite(dir, "UPDATE orders SET customer = 'changed' WHERE id = 25");
    const c = floe(dir, ['validate']);
    assert.equal(c.status, 3, c.stdout + c.stderr);
    assert.match(c.stdout, /checksum mismatch in \(0, 2\], column 'customer'/);
    sqlite(dir, "UPDATE orders SET customer = 'c4' WHERE id = 25; " + orderRows(31, 31, 1));
    const v = floe(dir, ['validate', '--json']);
    assert.equal(v.status, 3);
    const report = JSON.parse(v.stdout);
    assert.equal(report.tables[0].status, 'mismatch');
    assert.match(report.tables[0].message, /count mismatch in \(0, 2\]: source has 31 rows, snapshot \d+ added 30/);
  });

  test('config errors: exit 2 with file:line; config check, --show and init', () => {
    const dir = scratch('config');
    sqlite(dir, ORDERS);
    job(dir, '  orders: {mode: upsert}');
    const r = floe(dir, ['run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /floe\.yaml:\d+:\d+: tables\.orders\.mode: unknown value 'upsert'/);
    const c = floe(dir, ['config', 'check']);
    assert.equal(c.status, 2);
    job(dir, '  orders: {}');
    assert.match(runOk(dir, ['config', 'check']).stdout, /ok \(1 table\)/);
    assert.match(runOk(dir, ['config', 'check', '--show']).stdout, /orders:/);
    const t = floe(dir, ['run', '--table', 'nosuch']);
    assert.equal(t.status, 2);
    assert.match(t.stderr, /--table nosuch: no such table/);
    const init = runOk(dir, ['init']);
    writeFileSync(path.join(dir, 'sample.yaml'), init.stdout);
    runOk(dir, ['config', 'check', 'sample.yaml']);
    const missing = floe(dir, ['run', '-c', 'nope.yaml']);
    assert.equal(missing.status, 2);
  });

  test('--set overrides and --table select', async () => {
    const dir = scratch('set');
    sqlite(dir, ORDERS + orderRows(1, 5, 1) + 'CREATE TABLE other (id INTEGER, batch_sk INTEGER); INSERT INTO other VALUES (1, 1);');
    job(dir, '  orders: {}\n  other: {}');
    const r = runOk(dir, ['run', '--table', 'orders', '--set', 'tables.orders.target=alt.orders_copy']);
    assert.match(r.stdout, /orders\s+ok/);
    assert.doesNotMatch(r.stdout, /other/);
    assert.equal(await assertTableEqualsSource(dir, 'orders_copy', 'SELECT * FROM orders', ORDER_COLS, { ns: 'alt' }), 5);
  });
});

// ---- PostgreSQL ------------------------------------------------------------

const PG_SH = path.join(REPO, 'tests/support/pg.sh');

describe('floe run on PostgreSQL', { skip: ready ? false : skipReason }, () => {
  let pgDir = null;
  let conninfo = null;
  let skip = null;
  before(() => {
    pgDir = mkdtempSync(path.join(tmpdir(), 'floe-e2e-pg-'));
    const r = spawnSync(PG_SH, ['start', pgDir, String(process.pid)], { encoding: 'utf8' });
    if (r.status === 77) skip = r.stderr.trim();
    else if (r.status !== 0) throw new Error(`pg.sh start: ${r.stderr}`);
    else conninfo = r.stdout.trim();
  });
  after(() => {
    if (conninfo) spawnSync(PG_SH, ['stop', pgDir]);
  });

  function pgJob(dir, db, tables) {
    writeJob(dir, tables, { source: `{type: postgres, conninfo: "${conninfo} dbname=${db}"}`, namespace: 'pg' });
  }
  function createDb(db) {
    pgExec(`${conninfo} dbname=postgres`, `CREATE DATABASE ${db}`);
    return `${conninfo} dbname=${db}`;
  }

  test('case 1, case 2, crash repair, drift (int -> bigint widened, text -> int refused)', async (t) => {
    if (skip) return t.skip(skip);
    const dir = scratch('pg');
    const db = createDb('e2e_orders');
    pgExec(db, `CREATE TABLE public.orders (id integer PRIMARY KEY, customer text NOT NULL, amount numeric(10,2),
      ts timestamptz, qty integer, batch_sk bigint NOT NULL);
      INSERT INTO orders SELECT g, 'c' || (g % 5), g * 1.25, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour', g, 1 + g / 50
      FROM generate_series(1, 120) g;`);
    pgJob(dir, 'e2e_orders', '  orders: {validate: {checksum: true}}');
    runOk(dir);
    const cols = ['id', 'customer', 'amount', 'ts', 'qty', 'batch_sk'];
    const expect = async () => {
      const want = normalizeRows(pgRows(db, 'SELECT * FROM orders'), cols);
      const got = normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'orders'), cols);
      assert.deepEqual(got, want);
      return want.length;
    };
    assert.equal(await expect(), 120);
    const ctl = () => pgRows(db, "SELECT batch_sk, kind FROM floe_control WHERE table_name = 'orders' ORDER BY batch_sk").map((r) => r.batch_sk);
    assert.deepEqual(ctl(), [0, 3]);
    assert.match(runOk(dir).stdout, /nothing_new/);

    pgExec(db, `INSERT INTO orders SELECT g, 'n', 1, now(), g, 4 FROM generate_series(121, 130) g`);
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'after_control_insert' }).status, 137);
    assert.deepEqual(ctl(), [0, 3, 4]);
    const again = runOk(dir);
    assert.match(again.stderr, /action=compensate/);
    assert.equal(await expect(), 130);

    // int -> bigint widens the table column; values keep flowing.
    pgExec(db, `ALTER TABLE orders ALTER COLUMN qty TYPE bigint; INSERT INTO orders VALUES (131, 'w', 2, now(), 5000000000, 5)`);
    const w = runOk(dir);
    assert.match(w.stderr, /widened qty int->long/);
    assert.equal(await expect(), 131);
    // text -> integer is refused, nothing written.
    pgExec(db, `ALTER TABLE orders ALTER COLUMN customer TYPE integer USING length(customer); INSERT INTO orders VALUES (132, 1, 2, now(), 1, 6)`);
    const bad = floe(dir, ['run']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /column 'customer': source type int \(declared 'integer'\) cannot be stored in the table's string column/);
    assert.deepEqual(ctl(), [0, 3, 4, 5]);
    const v = floe(dir, ['validate', '--table', 'orders']);
    assert.equal(v.status, 1); // the table cannot be read against this source any more
    assert.match(v.stdout, /orders\s+failed/);
  });

  test('merge upsert and chunked loads from PostgreSQL', async (t) => {
    if (skip) return t.skip(skip);
    const dir = scratch('pgmerge');
    const db = createDb('e2e_merge');
    pgExec(db, `CREATE TABLE customers (customer_id bigint PRIMARY KEY, name text, batch_sk bigint);
      INSERT INTO customers VALUES (1,'ann',1),(2,'bob',1),(3,'cy',2);
      CREATE TABLE events (id bigint, v double precision, batch_sk integer);
      INSERT INTO events SELECT g, g / 3.0, g % 4 FROM generate_series(1, 40) g;`);
    pgJob(dir, 'e2e_merge', '  customers: {mode: merge}\n  events: {strategy: chunked}');
    runOk(dir);
    pgExec(db, "UPDATE customers SET name = 'bobby', batch_sk = 3 WHERE customer_id = 2; INSERT INTO customers VALUES (4, 'dee', 3)");
    runOk(dir);
    const want = normalizeRows(pgRows(db, 'SELECT * FROM customers'), ['customer_id', 'name', 'batch_sk']);
    const got = normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'customers'), ['customer_id', 'name', 'batch_sk']);
    assert.deepEqual(got, want);
    const ev = normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'events'), ['id', 'v', 'batch_sk']);
    assert.deepEqual(ev, normalizeRows(pgRows(db, 'SELECT * FROM events WHERE batch_sk > 0'), ['id', 'v', 'batch_sk']));
    assert.equal(snapshots(dir, 'events', 'pg').length, 3); // batches 1, 2, 3 (0 is not past the first control row)
  });
});
