// End-to-end tests of data-quality checks (docs/config.md, "checks"): a
// check of severity warn logs and reports its failures and the load goes on;
// a check of severity fail stops the unit before its commit — exit code 6,
// the control row compensated, nothing committed — and the next run loads
// the range once the source is fixed; the volume guard compares a load with
// the table's recent loads; with `quarantine:` failing rows go to a side
// table (read back by icebird) and the rest loads, exactly once even after
// a crash between the quarantine commit and the load's own.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/checks.test.mjs

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FLOE, floe, readReport as report, runOk, scratch, sqlite, writeJob } from './lib/cli.mjs';
import {
  metadataLocation, modulesPresent, normalizeRows, readIceberg, readMetadata, sqliteRows,
} from './lib/check_table.mjs';

const job = (dir, table) => writeJob(dir, `  orders:\n${table}`, { control: 'floe_control', report: true });

const checkOf = (dir, name) => report(dir).tables[0].checks.find((c) => c.name === name);
const control = (dir) => sqliteRows(path.join(dir, 'source.db'),
  "SELECT batch_sk, kind FROM floe_control WHERE table_name = 'orders' ORDER BY batch_sk");

const ORDERS = `CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT, amount REAL, email TEXT,
  batch_sk INTEGER NOT NULL);`;
const COLUMNS = ['id', 'status', 'amount', 'email', 'batch_sk'];
function orderRows(from, to, batch, status = 'new', amount = 10) {
  const v = [];
  for (let i = from; i <= to; i++) v.push(`(${i}, '${status}', ${amount}, 'u${i}@example.com', ${batch})`);
  return `INSERT INTO orders VALUES ${v.join(',')};`;
}

async function icebergRows(dir, table = 'orders', columns = COLUMNS) {
  return normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', table), columns);
}
function sourceRows(dir, where) {
  return normalizeRows(sqliteRows(path.join(dir, 'source.db'), `SELECT * FROM orders WHERE ${where}`), COLUMNS);
}
function snapshots(dir, table = 'orders') {
  return readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', table)).snapshots ?? [];
}

const CHECKS = `    checks:
      - {type: not_null, column: email}
      - {type: unique, column: id}
      - {type: accepted_values, column: status, values: [new, paid], severity: warn}
      - {type: range, column: amount, min: 0, max: 1000}
      - {type: regex, column: email, pattern: '^[^@]+@[^@]+$'}`;

describe('data-quality checks', () => {
  test('the readers these tests use are installed', () => {
    assert.ok(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
    assert.ok(modulesPresent(), 'node modules missing: run scripts/deps.sh --npm');
  });

  test('a warn check reports its failures with samples and the load goes on', async () => {
    const dir = scratch('checks-warn');
    sqlite(dir, ORDERS + orderRows(1, 8, 1) + orderRows(9, 10, 1, 'lost') + orderRows(11, 11, 1, 'weird'));
    job(dir, CHECKS);
    const r = runOk(dir);
    assert.match(r.stdout, /orders\s+ok\s+\(0, 1\]\s+11/);
    assert.match(r.stderr, /level=warn event=check table=orders check=accepted_values\(status\) severity=warn .*passed=0 failing=3 samples="lost, weird"/);
    const c = checkOf(dir, 'accepted_values(status)');
    assert.deepEqual([c.passed, c.failing, c.samples, c.severity], [false, 3, ['lost', 'weird'], 'warn']);
    assert.deepEqual([checkOf(dir, 'unique(id)').passed, checkOf(dir, 'unique(id)').failing], [true, 0]);
    assert.equal(report(dir).exit_code, 0);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, '1 = 1'));
  });

  test('a fail check stops the unit before its commit: exit 6, control row compensated, the fixed data loads once', async () => {
    const dir = scratch('checks-fail');
    sqlite(dir, ORDERS + orderRows(1, 10, 1));
    job(dir, CHECKS);
    runOk(dir);
    sqlite(dir, orderRows(11, 18, 2) + orderRows(19, 20, 2, 'new', -3));
    const before = snapshots(dir).length;
    const r = floe(dir, ['run']);
    assert.equal(r.status, 6, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /orders\s+check_failed\s+\(1, 2\]/);
    assert.match(r.stderr, /level=error event=check table=orders check=range\(amount\) severity=fail batch_sk_low=1 batch_sk_high=2 passed=0 failing=2 samples=-3.0/);
    assert.match(r.stderr, /event=compensate table=orders batch_sk=2 .*deleted=1 ok=1/);
    assert.deepEqual(control(dir).map((x) => x.batch_sk), [0, 1], 'the control row of batch 2 is gone');
    assert.equal(snapshots(dir).length, before, 'nothing committed');
    const rep = report(dir);
    assert.equal(rep.status, 'check_failed');
    assert.equal(rep.exit_code, 6);
    assert.deepEqual(checkOf(dir, 'range(amount)').samples, ['-3.0']);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'batch_sk = 1'));
    // The source is fixed: the next run loads batch 2, once.
    sqlite(dir, 'UPDATE orders SET amount = 3 WHERE amount < 0;');
    const again = runOk(dir);
    assert.match(again.stdout, /orders\s+ok\s+\(1, 2\]\s+10/);
    assert.deepEqual(control(dir).map((x) => x.batch_sk), [0, 1, 2]);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, '1 = 1'));
    runOk(dir, ['validate']);
  });

  test('the volume guard refuses a load far from the median of the recent loads', async () => {
    const dir = scratch('checks-volume');
    sqlite(dir, ORDERS + orderRows(1, 10, 1));
    job(dir, `    checks:
      - {type: row_count, min_ratio: 0.5, max_ratio: 2, history: 3}`);
    runOk(dir);
    sqlite(dir, orderRows(11, 22, 2));
    runOk(dir);
    sqlite(dir, orderRows(23, 80, 3));
    const r = floe(dir, ['run']);
    assert.equal(r.status, 6, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /check=row_count .*detail="rows 58, median of the last 2 loads 11.0, expected \[5.5, 22.0\]"/);
    assert.deepEqual(control(dir).map((x) => x.batch_sk), [0, 1, 2]);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'batch_sk <= 2'));
  });

  test('quarantine: failing rows go to the side table with the check and run id, the rest loads, exactly once after a crash', async () => {
    const dir = scratch('checks-quarantine');
    sqlite(dir, ORDERS + orderRows(1, 6, 1) + orderRows(7, 7, 1, 'new', -1) +
      "INSERT INTO orders VALUES (8, 'new', 5, NULL, 1), (9, 'paid', 5, 'not-an-email', 1);");
    job(dir, `${CHECKS}\n    quarantine: e2e.orders_quarantine`);
    // Killed after the quarantine commit, before the load's own commit.
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'after_quarantine_commit' }).status, 137);
    const r = runOk(dir);
    assert.match(r.stderr, /event=repair table=orders batch_sk=1 action=compensate/);
    assert.match(r.stderr, /event=quarantine table=orders batch_sk_low=0 batch_sk_high=1 rows=3 files=1 replaced_files=1/);
    assert.match(r.stdout, /orders\s+ok\s+\(0, 1\]\s+6/);
    assert.equal(report(dir).tables[0].rows_quarantined, 3);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'id <= 6'));
    const qcols = [...COLUMNS, '_floe_check', '_floe_run_id', '_floe_batch_sk'];
    const q = (await icebergRows(dir, 'orders_quarantine', qcols)).map((x) => JSON.parse(x));
    const runId = report(dir).run_id;
    assert.deepEqual(q.map((x) => [x.id, x._floe_check, x._floe_run_id, x._floe_batch_sk, x.email]), [
      ['7', 'range(amount)', runId, '1', 'u7@example.com'],
      ['8', 'not_null(email)', runId, '1', null],
      ['9', 'regex(email)', runId, '1', 'not-an-email'],
    ]);
    // A later clean batch adds nothing to the quarantine table.
    sqlite(dir, orderRows(10, 14, 2));
    runOk(dir);
    assert.equal((await icebergRows(dir, 'orders_quarantine', qcols)).length, 3);
    assert.deepEqual(await icebergRows(dir), sourceRows(dir, 'id <= 6 OR id >= 10'));
  });

  // unique as the table's mode makes it (docs/config.md "checks"): on an
  // append table scope: table also refuses values the table already holds;
  // on a merge table a unique check on the key counts the changes the merge
  // cannot order (same key, same batch and sequence), not a key changed twice.
  const EVENTS = 'CREATE TABLE events (event_id INTEGER NOT NULL, payload TEXT, batch_sk INTEGER NOT NULL);';
  const events = (ids, batch) => `INSERT INTO events VALUES ${ids.map((i) => `(${i}, 'p${i}', ${batch})`).join(',')};`;
  const eventsJob = (dir, tableYaml) => writeJob(dir, `  events:\n${tableYaml}`, { report: true });
  const EVENT_COLS = ['event_id', 'payload', 'batch_sk'];
  const eventRows = async (dir) => normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', 'events'), EVENT_COLS);
  const sourceEvents = (dir, where) => normalizeRows(sqliteRows(path.join(dir, 'source.db'), `SELECT * FROM events WHERE ${where}`), EVENT_COLS);
  const eventControl = (dir) => sqliteRows(path.join(dir, 'source.db'),
    "SELECT batch_sk FROM floe_control WHERE table_name = 'events' ORDER BY batch_sk").map((x) => x.batch_sk);

  test('unique scope: table on an append table refuses a value the table already holds; scope: load does not look', async () => {
    const dir = scratch('checks-unique-table');
    sqlite(dir, EVENTS + events([1, 2, 3, 4, 5], 1));
    eventsJob(dir, `    checks:
      - {type: unique, column: event_id, scope: table}
    quarantine: e2e.events_quarantine`);
    runOk(dir);
    // Batch 2 re-sends event 3 and repeats 7 within itself.
    sqlite(dir, events([6, 7, 3, 7], 2));
    const r = floe(dir, ['run']);
    assert.equal(r.status, 6, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /check=unique\(event_id\) severity=fail batch_sk_low=1 batch_sk_high=2 passed=0 failing=2 samples="7, 3" detail="1 value\(s\) of the load already in the table"/);
    assert.deepEqual(eventControl(dir), [0, 1], 'compensated: a value already in the table cannot be quarantined');
    assert.deepEqual(checkOf(dir, 'unique(event_id)').samples, ['7', '3']);
    assert.deepEqual(await eventRows(dir), sourceEvents(dir, 'batch_sk = 1'));
    // Fixed at the source (the re-sent row removed): the load goes through,
    // the repeated 7 quarantined as a within-load duplicate.
    sqlite(dir, 'DELETE FROM events WHERE event_id = 3 AND batch_sk = 2;');
    const ok = runOk(dir);
    assert.match(ok.stdout, /events\s+ok\s+\(1, 2\]/);
    assert.deepEqual(await eventRows(dir), normalizeRows(
      sqliteRows(path.join(dir, 'source.db'), 'SELECT * FROM events WHERE batch_sk = 1 UNION ALL SELECT * FROM events WHERE batch_sk = 2 AND event_id IN (6, 7) GROUP BY event_id'), EVENT_COLS));
    // scope: load (the default) sees only the load: the same re-send passes.
    const loose = scratch('checks-unique-load');
    sqlite(loose, EVENTS + events([1, 2, 3], 1));
    eventsJob(loose, `    checks:
      - {type: unique, column: event_id}`);
    runOk(loose);
    sqlite(loose, events([4, 3], 2));
    runOk(loose);
    assert.deepEqual(await eventRows(loose), sourceEvents(loose, '1 = 1'));
  });

  test('unique on a merge key fails only on changes the merge cannot order; scope: table is refused on a merge table', async () => {
    const dir = scratch('checks-unique-merge');
    sqlite(dir, 'CREATE TABLE items (id INTEGER NOT NULL, v TEXT, seq INTEGER NOT NULL, batch_sk INTEGER NOT NULL);' +
      "INSERT INTO items VALUES (1, 'a', 1, 1), (1, 'b', 2, 1), (2, 'c', 1, 1);");
    const itemsJob = (scope) => writeJob(dir, `  items:
    mode: merge
    primary_key: [id]
    merge: {order_by: seq}
    checks:
      - {type: unique, column: id${scope}}`, { report: true });
    itemsJob(', scope: table');
    const refused = floe(dir, ['run']);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /unique\(id\) has scope: table, which is for append tables; this table's mode is merge/);
    itemsJob('');
    // Key 1 changes twice in batch 1 (seq 1, 2): ordered, passes.
    runOk(dir);
    const items = async () => normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', 'items'), ['id', 'v', 'seq']);
    assert.deepEqual(await items(), normalizeRows([{ id: 1, v: 'b', seq: 2 }, { id: 2, v: 'c', seq: 1 }], ['id', 'v', 'seq']));
    // Batch 2 updates key 1 (already in the table: a merge's business) and
    // sends key 2 twice with the same seq: a tie the merge cannot order.
    sqlite(dir, "INSERT INTO items VALUES (1, 'd', 3, 2), (2, 'e', 5, 2), (2, 'f', 5, 2);");
    const r = floe(dir, ['run']);
    assert.equal(r.status, 6, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /check=unique\(id\) severity=fail batch_sk_low=1 batch_sk_high=2 passed=0 failing=1 samples=2 /);
    assert.deepEqual(await items(), normalizeRows([{ id: 1, v: 'b', seq: 2 }, { id: 2, v: 'c', seq: 1 }], ['id', 'v', 'seq']));
    sqlite(dir, "UPDATE items SET seq = 6 WHERE v = 'f';");
    runOk(dir);
    assert.deepEqual(await items(), normalizeRows([{ id: 1, v: 'd', seq: 3 }, { id: 2, v: 'f', seq: 6 }], ['id', 'v', 'seq']));
  });
});
