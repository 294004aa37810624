// End-to-end tests of switching to floe (docs/replicate.md, "Switching to
// floe"): a last batch the user provides — a control row inserted by hand,
// `start_after`, `floe control set` — is honoured (a baseline commit, never a
// compensation and a reload), including after a crash right after it; and a
// target table that another writer filled is refused unless `on_existing`
// says adopt, append or overwrite. Every table is read back by icebird and
// compared with the rows the source says it must hold.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/adopt.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  REPO, metadataLocation, modulesPresent, normalizeRows, pgExec, pgRows, readIceberg, readMetadata,
  sqliteRows,
} from './lib/check_table.mjs';
import { FLOE, floe, runOk, scratch, sqlite, writeJob } from './lib/cli.mjs';

const job = (dir, tables, ctl = 'floe_control') => writeJob(dir, tables, { control: ctl });

const control = (dir, table) => sqliteRows(path.join(dir, 'source.db'),
  `SELECT batch_sk, kind, run_id FROM floe_control WHERE table_name = '${table}' ORDER BY batch_sk`);

function snapshots(dir, table) {
  const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', table));
  return md.snapshots.map((s) => s.summary);
}

// The shipped statement, as a user creating the table by hand runs it.
const CREATE_CONTROL = `CREATE TABLE IF NOT EXISTS floe_control (
  table_name TEXT NOT NULL, batch_sk INTEGER NOT NULL, run_id TEXT NOT NULL,
  inserted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  watermark TEXT, kind TEXT NOT NULL DEFAULT 'manual', PRIMARY KEY (table_name, batch_sk));`;
// A control table as floe versions before 'manual' created it.
const CREATE_CONTROL_OLD = CREATE_CONTROL.replace("DEFAULT 'manual'", "DEFAULT 'load'");

const ORDERS = 'CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, batch_sk INTEGER NOT NULL);';
function orderRows(from, to, batch) {
  const v = [];
  for (let i = from; i <= to; i++) v.push(`(${i}, 'item${i}', ${batch})`);
  return `INSERT INTO orders VALUES ${v.join(',')};`;
}
const COLUMNS = ['id', 'item', 'batch_sk'];

async function icebergRows(dir, table = 'orders') {
  return normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', table), COLUMNS);
}
function sourceRows(dir, where) {
  return normalizeRows(sqliteRows(path.join(dir, 'source.db'), `SELECT * FROM orders WHERE ${where}`), COLUMNS);
}

describe('a last batch the user provides', () => {
  test('the readers these tests use are installed', () => {
    assert.ok(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
    assert.ok(modulesPresent(), 'node modules missing: run scripts/deps.sh --npm');
  });

  for (const [what, create, row] of [
    ["a row of kind 'manual'", CREATE_CONTROL, "('orders', 2, 'manual', 'manual')"],
    ['a notebook-era row (kind defaulted to load, run id not floe\'s)', CREATE_CONTROL_OLD, "('orders', 2, 'notebook')"],
  ]) {
    test(`${what} inserted by hand is honoured: batches above it load, nothing is compensated`, async () => {
      const dir = scratch('manual-row');
      sqlite(dir, ORDERS + orderRows(1, 10, 1) + orderRows(11, 20, 2) + orderRows(21, 25, 3) + create +
        `INSERT INTO floe_control (table_name, batch_sk, run_id) VALUES ${row.replace(", 'manual')", ')')};` +
        (row.includes("'manual')") ? "UPDATE floe_control SET kind = 'manual';" : ''));
      job(dir, '  orders: {}');
      const r = runOk(dir);
      assert.match(r.stderr, /event=repair table=orders batch_sk=2 action=baseline/);
      assert.doesNotMatch(r.stderr, /action=compensate/);
      assert.match(r.stdout, /orders\s+ok\s+\(2, 3\]\s+5/);
      const rows = control(dir, 'orders');
      assert.deepEqual(rows.map((x) => x.batch_sk), [2, 3], 'the user row stays; the load adds 3');
      const summaries = snapshots(dir, 'orders');
      assert.equal(summaries.filter((s) => s['floe.baseline'] === 'control_row').length, 1);
      assert.equal(summaries[summaries.length - 2]['floe.batch-sk.high'], '2');
      assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'batch_sk > 2'));
      // Nothing new, nothing repaired, and validate skips the baseline.
      const again = runOk(dir);
      assert.match(again.stdout, /orders\s+nothing_new/);
      assert.doesNotMatch(again.stderr, /event=repair/);
      runOk(dir, ['validate']);
    });
  }

  test('start_after: batches up to it count as loaded; a crash before the baseline commit is rolled forward', async () => {
    const dir = scratch('start-after');
    sqlite(dir, ORDERS + orderRows(1, 10, 1) + orderRows(11, 20, 2) + orderRows(21, 25, 3));
    job(dir, '  orders: {start_after: 2}');
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'before_baseline_commit' }).status, 137);
    assert.deepEqual(control(dir, 'orders').map((x) => [x.batch_sk, x.kind]), [[2, 'baseline']]);
    const r = runOk(dir);
    assert.match(r.stderr, /action=baseline/);
    assert.match(r.stdout, /orders\s+ok\s+\(2, 3\]\s+5/);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'batch_sk > 2'));
    assert.equal(snapshots(dir, 'orders').filter((s) => s['floe.baseline']).length, 1);
    // start_after below the control max changes nothing.
    sqlite(dir, orderRows(26, 30, 4));
    runOk(dir);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'batch_sk > 2'));
    assert.deepEqual(control(dir, 'orders').map((x) => x.batch_sk), [2, 3, 4]);
  });

  test('floe control set records a baseline; a crash right after its control insert is rolled forward, never reloaded', async () => {
    const dir = scratch('control-set');
    sqlite(dir, ORDERS + orderRows(1, 10, 1));
    job(dir, '  orders: {}');
    runOk(dir);
    // Batches 2 and 3 were backfilled by another tool; floe is told so.
    sqlite(dir, orderRows(11, 20, 2) + orderRows(21, 30, 3));
    const refused = floe(dir, ['control', 'set', 'orders', '1', '--reason', 'too low']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /batch_sk 1 is not above the table's last batch \(control max 1, committed 1\)/);
    assert.equal(floe(dir, ['control', 'set', 'orders', '3']).status, 2, '--reason is required');
    assert.equal(floe(dir, ['control', 'set', 'orders', '3', '--reason', 'backfill'],
      { FLOE_CRASH_AT: 'after_control_set_insert' }).status, 137);
    sqlite(dir, orderRows(31, 35, 4));
    const r = runOk(dir);
    assert.match(r.stderr, /event=repair table=orders batch_sk=3 action=baseline/);
    assert.match(r.stdout, /orders\s+ok\s+\(3, 4\]\s+5/);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'batch_sk = 1 OR batch_sk = 4'));
    // And without a crash: the reason lands in the summary.
    sqlite(dir, orderRows(36, 40, 5) + orderRows(41, 45, 6));
    const set = runOk(dir, ['control', 'set', 'orders', '5', '--reason', 'restored from backup']);
    assert.match(set.stdout, /orders: batches up to 5 recorded as loaded/);
    const last = snapshots(dir, 'orders').at(-1);
    assert.equal(last['floe.baseline'], 'control_set: restored from backup');
    assert.equal(last['floe.batch-sk.low'], '4');
    runOk(dir);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'batch_sk IN (1, 4, 6)'));
    assert.deepEqual(control(dir, 'orders').map((x) => [x.batch_sk, x.kind]),
      [[0, 'init'], [1, 'load'], [3, 'manual'], [4, 'load'], [5, 'manual'], [6, 'load']]);
  });
});

describe('a target another writer filled', () => {
  // The "other writer": a floe job under another table key (its commits
  // name another source table) fills e2e.orders with batches 1 and 2.
  function filled() {
    const dir = scratch('foreign');
    sqlite(dir, ORDERS + orderRows(1, 10, 1) + orderRows(11, 20, 2));
    job(dir, '  legacy: {source: orders, target: e2e.orders}');
    runOk(dir);
    sqlite(dir, orderRows(21, 25, 3));
    return dir;
  }

  test('is refused by default, naming the choices; nothing is written', async () => {
    const dir = filled();
    const before = snapshots(dir, 'orders').length;
    job(dir, '  orders: {}');
    const r = floe(dir, ['run']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /target e2e.orders already holds 20 rows that no floe commit for source table 'orders' explains/);
    assert.match(r.stderr, /on_existing: adopt/);
    assert.equal(snapshots(dir, 'orders').length, before);
    assert.deepEqual(control(dir, 'orders'), []);
  });

  test('on_existing: adopt needs a batch, then takes the rows as batches up to it', async () => {
    const dir = filled();
    job(dir, '  orders: {on_existing: adopt}');
    const r = floe(dir, ['run']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /on_existing is adopt, but no batch says what they hold: set tables.orders.start_after/);
    job(dir, '  orders: {on_existing: adopt, start_after: 2}');
    runOk(dir);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, '1 = 1'), 'every row once');
    assert.equal(snapshots(dir, 'orders').filter((s) => s['floe.baseline'] === 'adopt').length, 1);
    assert.deepEqual(control(dir, 'orders').map((x) => [x.batch_sk, x.kind]), [[2, 'baseline'], [3, 'load']]);
  });

  test('on_existing: overwrite replaces the rows with the first load; append keeps them', async () => {
    const over = filled();
    job(over, '  orders: {on_existing: overwrite}');
    runOk(over);
    assert.deepEqual(await icebergRows(over), sourceRows(over, '1 = 1'));
    const app = filled();
    job(app, '  orders: {on_existing: append, start_after: 2}');
    runOk(app);
    assert.deepEqual(await icebergRows(app), sourceRows(app, '1 = 1'));
    const dup = filled();
    job(dup, '  orders: {on_existing: append}');
    runOk(dup);
    const rows = await icebergRows(dup);
    assert.equal(rows.length, 45, 'the 20 rows kept plus all 25 loaded, as asked');
  });
});

describe('a notebook-era control table (table_name, batch_sk)', () => {
  const rowsOf = (dir, sql) => sqliteRows(path.join(dir, 'source.db'), sql);

  test('is used as it is: its rows are honoured, floe keeps its columns in control_table_floe, crashes between the two inserts load nothing twice', async () => {
    const dir = scratch('minimal');
    sqlite(dir, ORDERS + orderRows(1, 10, 1) + orderRows(11, 20, 2) + orderRows(21, 25, 3) +
      'CREATE TABLE control_table (table_name TEXT, batch_sk INTEGER);' +
      "INSERT INTO control_table VALUES ('orders', 1), ('orders', 2);");
    job(dir, '  orders: {}', 'control_table');
    // The side row is written, the user's row not yet: nothing is claimed.
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'between_control_inserts' }).status, 137);
    assert.deepEqual(rowsOf(dir, 'SELECT batch_sk FROM control_table ORDER BY 1').map((r) => r.batch_sk), [1, 2]);
    // Both rows written, no commit: compensated (user's row first, side row second).
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'before_commit' }).status, 137);
    assert.deepEqual(rowsOf(dir, 'SELECT batch_sk FROM control_table ORDER BY 1').map((r) => r.batch_sk), [1, 2, 3]);
    const r = runOk(dir);
    assert.match(r.stderr, /event=control_layout .*layout=minimal side_table=.*control_table_floe/);
    assert.match(r.stderr, /batch_sk=3 action=compensate/);
    // The first (crashed) run had already rolled the user's rows forward.
    assert.deepEqual(snapshots(dir, 'orders').filter((x) => x['floe.baseline']).map((x) => [x['floe.baseline'], x['floe.batch-sk.high']]),
      [['control_row', '2']]);
    assert.match(r.stdout, /orders\s+ok\s+\(2, 3\]\s+5/);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'batch_sk > 2'));
    assert.deepEqual(rowsOf(dir, 'SELECT * FROM control_table ORDER BY batch_sk').map((x) => Object.keys(x).length), [2, 2, 2],
      'the notebook table keeps its two columns');
    const side = rowsOf(dir, 'SELECT batch_sk, kind FROM control_table_floe ORDER BY batch_sk');
    assert.deepEqual(side.map((x) => [x.batch_sk, x.kind]), [[3, 'load']]);
    assert.match(runOk(dir).stdout, /orders\s+nothing_new/);

    // Migration to the full layout, then floe goes on with it.
    const m = runOk(dir, ['control', 'migrate']);
    assert.match(m.stdout, /control table migrated to the full layout: 3 rows/);
    assert.deepEqual(rowsOf(dir, "SELECT name FROM sqlite_master WHERE name LIKE 'control_table%' AND type = 'table' ORDER BY 1").map((x) => x.name),
      ['control_table', 'control_table_lock']);
    const migrated = rowsOf(dir, 'SELECT batch_sk, kind, run_id FROM control_table ORDER BY batch_sk');
    assert.deepEqual(migrated.map((x) => [x.batch_sk, x.kind]), [[1, 'manual'], [2, 'manual'], [3, 'load']]);
    assert.equal(migrated[2].run_id, snapshots(dir, 'orders').at(-1)['floe.run-id']);
    const again = floe(dir, ['control', 'migrate']);
    assert.equal(again.status, 2, 'a second migrate refuses');
    assert.match(again.stderr, /already has the full layout/);
    sqlite(dir, orderRows(26, 30, 4));
    const after = runOk(dir);
    assert.doesNotMatch(after.stderr, /layout=minimal/);
    assert.doesNotMatch(after.stderr, /event=repair/);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'batch_sk > 2'));
  });
});

// The path docs/replicate.md ("Switching to floe") documents, walked on
// PostgreSQL: the notebook's two-column control table and an Iceberg table
// another writer filled (a floe job under another table key: its commits
// name another source table, so for 'orders' they are foreign rows) →
// on_existing: adopt with the user's control rows as the provided batch →
// incremental loads exactly once, across a crash → `floe control migrate` →
// loads continue on the full layout.
describe('switching on PostgreSQL: notebook-era control table and a filled target', () => {
  const PG_SH = path.join(REPO, 'tests/support/pg.sh');
  let pgDir = null;
  let conninfo = null;
  before(() => {
    pgDir = mkdtempSync(path.join(tmpdir(), 'floe-e2e-adopt-pg-'));
    const r = spawnSync(PG_SH, ['start', pgDir, String(process.pid)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `the PostgreSQL server must start (pg.sh start): ${r.stderr}`);
    conninfo = r.stdout.trim();
  });
  after(() => {
    if (conninfo) spawnSync(PG_SH, ['stop', pgDir]);
  });

  test('adopt, load exactly once across a crash, migrate, load on', async () => {
    pgExec(`${conninfo} dbname=postgres`, 'CREATE DATABASE switching');
    const db = `${conninfo} dbname=switching`;
    const dir = scratch('adopt-pg');
    const pgJob = (tables, ctl) => writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: postgres, conninfo: "${db}"}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: e2e
control: ${ctl}
run: {durability: none}
tables:
${tables}
`);
    const pgOrders = (from, to, batch) => orderRows(from, to, batch);
    const source = () => normalizeRows(pgRows(db, 'SELECT * FROM orders'), COLUMNS);
    const controlRows = () => pgRows(db, "SELECT * FROM control_table WHERE table_name = 'orders' ORDER BY batch_sk");
    pgExec(db, 'CREATE TABLE orders (id bigint PRIMARY KEY, item text, batch_sk bigint NOT NULL);' +
      pgOrders(1, 10, 1) + pgOrders(11, 20, 2));

    // The notebooks' world: their ledger, and the Iceberg table they filled.
    pgExec(db, 'CREATE TABLE control_table (table_name varchar(200), batch_sk bigint);' +
      "INSERT INTO control_table VALUES ('orders', 1), ('orders', 2);");
    pgJob('  legacy: {source: orders, target: e2e.orders}', '{table: notebook_writer_control}');
    runOk(dir);
    assert.deepEqual(await icebergRows(dir), source(), 'the other writer filled batches 1 and 2');
    pgExec(db, pgOrders(21, 25, 3));

    // Without on_existing the filled table is refused, nothing written.
    pgJob('  orders: {}', '{table: control_table, layout: minimal}');
    const refused = floe(dir, ['run']);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /target e2e.orders already holds 20 rows that no floe commit for source table 'orders' explains/);
    assert.deepEqual(controlRows().map((x) => x.batch_sk), [1, 2]);

    // Adopt: the user's control rows say batches up to 2 are in the table.
    pgJob('  orders: {on_existing: adopt}', '{table: control_table, layout: minimal}');
    const adopted = runOk(dir);
    assert.match(adopted.stderr, /event=control_layout .*layout=minimal side_table=.*control_table_floe/);
    assert.match(adopted.stdout, /orders\s+ok\s+\(2, 3\]\s+5/);
    assert.deepEqual(await icebergRows(dir), source(), 'every row exactly once');
    assert.deepEqual(snapshots(dir, 'orders').filter((x) => x['floe.baseline']).map((x) => [x['floe.baseline'], x['floe.batch-sk.high']]),
      [['adopt', '2']]);
    assert.deepEqual(controlRows().map((x) => Object.keys(x).sort()), [1, 2, 3].map(() => ['batch_sk', 'table_name']),
      'the notebook table keeps its two columns');
    assert.deepEqual(controlRows().map((x) => x.batch_sk), [1, 2, 3]);
    assert.deepEqual(pgRows(db, 'SELECT batch_sk, kind FROM control_table_floe ORDER BY batch_sk').map((x) => [x.batch_sk, x.kind]),
      [[3, 'load']]);

    // Incremental loads exactly once: a crash between the two control
    // inserts, another before the commit, then the load.
    pgExec(db, pgOrders(26, 30, 4));
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'between_control_inserts' }).status, 137);
    assert.deepEqual(controlRows().map((x) => x.batch_sk), [1, 2, 3], 'the side row alone claims nothing');
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'before_commit' }).status, 137);
    assert.deepEqual(controlRows().map((x) => x.batch_sk), [1, 2, 3, 4]);
    const resumed = runOk(dir);
    assert.match(resumed.stderr, /batch_sk=4 action=compensate/);
    assert.match(resumed.stdout, /orders\s+ok\s+\(3, 4\]\s+5/);
    assert.deepEqual(await icebergRows(dir), source());
    assert.match(runOk(dir).stdout, /orders\s+nothing_new/);

    // Migration to the full layout in place; floe goes on with it.
    const m = runOk(dir, ['control', 'migrate']);
    assert.match(m.stdout, /control table migrated to the full layout: 4 rows/);
    const tables = pgRows(db, "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'control_table%' ORDER BY 1");
    assert.deepEqual(tables.map((x) => x.table_name).filter((x) => !x.endsWith('_lock')), ['control_table']);
    const migrated = controlRows();
    assert.deepEqual(migrated.map((x) => [x.batch_sk, x.kind]), [[1, 'manual'], [2, 'manual'], [3, 'load'], [4, 'load']]);
    assert.equal(migrated[3].run_id, snapshots(dir, 'orders').at(-1)['floe.run-id']);
    pgJob('  orders: {on_existing: adopt}', '{table: control_table}');
    pgExec(db, pgOrders(31, 33, 5));
    const on = runOk(dir);
    assert.doesNotMatch(on.stderr, /layout=minimal|event=repair/);
    assert.match(on.stdout, /orders\s+ok\s+\(4, 5\]\s+3/);
    assert.deepEqual(await icebergRows(dir), source(), 'every row exactly once after the switch');
    assert.deepEqual(controlRows().map((x) => [x.batch_sk, x.kind]).at(-1), [5, 'load']);
  });
});
