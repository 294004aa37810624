// End-to-end tests of floe's committed watermark (docs/replicate.md, "The
// committed watermark"): the table property floe.watermark.<table> that every
// floe data commit sets in the same metadata file, the commit condition on
// it, and reconciliation from it once expired snapshots and maintenance
// commits have hidden floe's snapshot summaries.
//
// Expiry and a maintenance commit are made the way Spark's
// rewrite_manifests + expire_snapshots(retain_last => 1) leave a table: a
// new "replace" snapshot on top of floe's last commit (same files, no floe
// summary), every older snapshot removed from the metadata, and the catalog
// pointer swapped to the new metadata file. Every table is then read by
// icebird and compared with the source.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/watermark.test.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test } from 'node:test';
import {
  metadataLocation, normalizeRows, readIceberg, readMetadata, sh, sqliteRows,
} from './lib/check_table.mjs';
import { FLOE, floe, ready, runOk, scratch, skipReason, sqlite, writeJob } from './lib/cli.mjs';

const job = (dir, tables, { file = 'floe.yaml', control = 'floe_control' } = {}) =>
  writeJob(dir, tables, { file, control });

function control(dir, table, ctl = 'floe_control') {
  return sqliteRows(path.join(dir, 'source.db'),
    `SELECT batch_sk, kind, run_id FROM ${ctl} WHERE table_name = '${table}' ORDER BY batch_sk`);
}

function metadata(dir, table) {
  return readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', table));
}

function watermark(dir, table, key = table) {
  const text = metadata(dir, table).properties?.[`floe.watermark.${key}`];
  return text === undefined ? undefined : JSON.parse(text);
}

// Spark's rewrite_manifests then expire_snapshots(retain_last => 1), as
// they leave the metadata: a replace snapshot over the current one, the
// history before it gone.
function maintainAndExpire(dir, table) {
  const catalogDb = path.join(dir, 'catalog.db');
  const loc = metadataLocation(catalogDb, 'e2e', table);
  const md = readMetadata(loc);
  const cur = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
  const id = Number(cur['snapshot-id'] % 1000000) + 7000001;
  const seq = md['last-sequence-number'] + 1;
  const now = md['last-updated-ms'] + 1000;
  const total = cur.summary['total-records'];
  const replace = {
    'sequence-number': seq, 'snapshot-id': id, 'parent-snapshot-id': cur['snapshot-id'],
    'timestamp-ms': now, 'manifest-list': cur['manifest-list'], 'schema-id': cur['schema-id'],
    summary: { operation: 'replace', 'total-records': total, 'added-data-files': '0', 'deleted-data-files': '0' },
  };
  md.snapshots = [replace];
  md['current-snapshot-id'] = id;
  md['last-sequence-number'] = seq;
  md['last-updated-ms'] = now;
  md.refs = { main: { 'snapshot-id': id, type: 'branch' } };
  md['snapshot-log'] = [{ 'timestamp-ms': now, 'snapshot-id': id }];
  md['metadata-log'] = [];
  const file = loc.replace(/^file:/, '');
  const next = path.join(path.dirname(file), `99999-maintained-${id}.metadata.json`);
  writeFileSync(next, JSON.stringify(md));
  sh('sqlite3', [catalogDb, `UPDATE iceberg_tables SET metadata_location = '${next}', previous_metadata_location = '${loc}' WHERE table_namespace = 'e2e' AND table_name = '${table}'`]);
}

const EVENTS = 'CREATE TABLE events (id INTEGER PRIMARY KEY, v TEXT, batch_sk INTEGER NOT NULL);';
function eventRows(from, to, batch) {
  const v = [];
  for (let i = from; i <= to; i++) v.push(`(${i}, 'v${i}', ${batch})`);
  return `INSERT INTO events VALUES ${v.join(',')};`;
}

async function assertEqualsSource(dir, table, sql, columns) {
  const expected = normalizeRows(sqliteRows(path.join(dir, 'source.db'), sql), columns);
  const got = normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', table), columns);
  assert.deepEqual(got, expected, `icebird rows of e2e.${table}`);
  return got.length;
}

describe('the committed watermark property', { skip: ready ? false : skipReason }, () => {
  test('every floe data commit sets floe.watermark.<table> in the same metadata file', async () => {
    const dir = scratch('wm-prop');
    sqlite(dir, EVENTS + eventRows(1, 10, 1) + eventRows(11, 20, 2) +
      'CREATE TABLE daily (d DATE, store TEXT, total INTEGER, batch_sk INTEGER);' +
      "INSERT INTO daily VALUES ('2024-01-01','s1',10,1),('2024-01-02','s1',30,1);" +
      'CREATE TABLE people (pid INTEGER PRIMARY KEY, name TEXT, batch_sk INTEGER);' +
      "INSERT INTO people VALUES (1,'ann',1),(2,'bob',1);");
    job(dir, `  events: {}
  daily: {strategy: partition, partition_column: d, partition_by: [d], mode: overwrite, overwrite: partitions}
  people: {mode: merge}`);
    runOk(dir);
    for (const table of ['events', 'daily', 'people']) {
      const md = metadata(dir, table);
      const snap = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
      const w = watermark(dir, table);
      assert.equal(w['batch-sk-low'], 0, table);
      assert.equal(w['batch-sk-high'], table === 'events' ? 2 : 1, table);
      assert.equal(w['run-id'], snap.summary['floe.run-id'], `${table}: the property names the commit's run`);
    }
    assert.equal(watermark(dir, 'daily').part, '2/2');
    // Each part of a partition load moved the property with its snapshot.
    sqlite(dir, "INSERT INTO daily VALUES ('2024-01-02','s2',40,2),('2024-01-03','s1',50,2);" +
      "UPDATE people SET name = 'bobby', batch_sk = 2 WHERE pid = 2");
    sqlite(dir, eventRows(21, 25, 3));
    runOk(dir);
    assert.deepEqual(watermark(dir, 'events'), { ...watermark(dir, 'events'), 'batch-sk-low': 2, 'batch-sk-high': 3 });
    assert.equal(watermark(dir, 'daily')['batch-sk-low'], 1);
    assert.equal(watermark(dir, 'daily').part, '2/2');
    assert.equal(watermark(dir, 'people')['batch-sk-high'], 2);
    // A nothing-new run commits nothing and leaves the property as it was.
    const before = metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'events');
    runOk(dir);
    assert.equal(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'events'), before);
    assert.equal(await assertEqualsSource(dir, 'people', 'SELECT * FROM people', ['pid', 'name', 'batch_sk']), 2);
  });

  test('after expiry and a maintenance commit hid every floe summary, a crash after the control insert is repaired from the property', async () => {
    const dir = scratch('wm-expired-orphan');
    sqlite(dir, EVENTS + eventRows(1, 10, 1) + eventRows(11, 20, 2));
    job(dir, '  events: {}');
    runOk(dir);
    maintainAndExpire(dir, 'events');
    assert.equal(metadata(dir, 'events').snapshots.length, 1);
    sqlite(dir, eventRows(21, 30, 3));
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'after_control_insert' }).status, 137);
    assert.deepEqual(control(dir, 'events').map((r) => r.batch_sk), [0, 2, 3]);
    // The control row 3 has no commit: the property (2) proves it, though no
    // floe snapshot is left to walk.
    const r = runOk(dir);
    assert.match(r.stderr, /event=repair table=events batch_sk=3 action=compensate/);
    assert.match(r.stdout, /events\s+ok\s+\(2, 3\]\s+10/);
    assert.deepEqual(control(dir, 'events').map((x) => x.batch_sk), [0, 2, 3]);
    assert.equal(watermark(dir, 'events')['batch-sk-high'], 3);
    assert.equal(await assertEqualsSource(dir, 'events', 'SELECT * FROM events', ['id', 'v', 'batch_sk']), 30);
  });

  for (const point of ['after_catalog_commit', 'after_commit']) {
    test(`a crash at ${point}, then expiry and a maintenance commit: the next run loads nothing twice`, async () => {
      const dir = scratch(`wm-expired-${point}`);
      sqlite(dir, EVENTS + eventRows(1, 10, 1));
      job(dir, '  events: {}');
      runOk(dir);
      sqlite(dir, eventRows(11, 20, 2));
      assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: point }).status, 137);
      maintainAndExpire(dir, 'events');
      // The ledger row of the lost summary is dropped by hand as well: the
      // property alone brings it back.
      sqlite(dir, "DELETE FROM floe_control WHERE table_name = 'events' AND batch_sk = 2");
      const r = runOk(dir);
      assert.match(r.stderr, /event=repair table=events batch_sk=2 action=reinsert/);
      assert.match(r.stdout, /events\s+nothing_new/);
      const rows = control(dir, 'events');
      assert.deepEqual(rows.map((x) => [x.batch_sk, x.kind]), [[0, 'init'], [1, 'load'], [2, 'repair']]);
      assert.equal(rows[2].run_id, watermark(dir, 'events')['run-id']);
      sqlite(dir, eventRows(21, 25, 3));
      runOk(dir);
      assert.equal(await assertEqualsSource(dir, 'events', 'SELECT * FROM events', ['id', 'v', 'batch_sk']), 25);
    });
  }

  test('a table of an older floe (summaries, no property) still reconciles from its summaries', async () => {
    const dir = scratch('wm-legacy');
    sqlite(dir, EVENTS + eventRows(1, 10, 1));
    job(dir, '  events: {}');
    runOk(dir);
    // Drop the property, as a table written before it existed.
    const catalogDb = path.join(dir, 'catalog.db');
    const loc = metadataLocation(catalogDb, 'e2e', 'events');
    const md = readMetadata(loc);
    delete md.properties['floe.watermark.events'];
    const next = loc.replace(/^file:/, '').replace(/\.metadata\.json$/, '-legacy.metadata.json');
    writeFileSync(next, JSON.stringify(md));
    sh('sqlite3', [catalogDb, `UPDATE iceberg_tables SET metadata_location = '${next}' WHERE table_name = 'events'`]);
    sqlite(dir, eventRows(11, 20, 2));
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'after_control_insert' }).status, 137);
    const r = runOk(dir);
    assert.match(r.stderr, /event=repair table=events batch_sk=2 action=compensate/);
    assert.match(r.stdout, /events\s+ok\s+\(1, 2\]\s+10/);
    assert.equal(watermark(dir, 'events')['batch-sk-high'], 2);
    assert.equal(await assertEqualsSource(dir, 'events', 'SELECT * FROM events', ['id', 'v', 'batch_sk']), 20);
  });

  test('a commit whose committed watermark moved meanwhile is refused and compensated', async () => {
    // Two jobs with different control tables (so different locks) load one
    // source table into one Iceberg table: only the commit condition can
    // stop the second from loading the range again.
    const dir = scratch('wm-race');
    sqlite(dir, EVENTS + eventRows(1, 10, 1) + eventRows(11, 20, 2));
    job(dir, '  events: {}', { file: 'a.yaml', control: 'ctl_a' });
    job(dir, '  events: {}', { file: 'b.yaml', control: 'ctl_b' });
    const gate = path.join(dir, 'release');
    const child = spawn(FLOE, ['run', '-c', 'a.yaml'], {
      cwd: dir,
      env: { ...process.env, FLOE_PAUSE_AT: 'before_commit', FLOE_PAUSE_FILE: gate },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => child.on('close', (status) => resolve(status)));
    for (let i = 0; !existsSync(`${gate}.paused`); i++) {
      if (i > 1500) { child.kill('SIGKILL'); assert.fail(`no pause marker after 30 s\n${stderr}`); }
      await delay(20);
    }
    // A has read (0, 2] and not committed; B loads and commits (0, 2].
    runOk(dir, ['run', '-c', 'b.yaml']);
    assert.equal(watermark(dir, 'events')['batch-sk-high'], 2);
    writeFileSync(gate, '');
    const status = await exited;
    assert.equal(status, 1, `${stdout}\n${stderr}`);
    assert.match(stderr + stdout, /committed watermark for events is batch_sk \(0, 2\] by run [0-9a-f-]{36}, but this commit loads batch_sk \(0, 2\]/);
    assert.match(stderr + stdout, /batch range \(0, 2\] failed \(control row compensated\)/);
    assert.deepEqual(control(dir, 'events', 'ctl_a').map((r) => r.batch_sk), [0]);
    // Once, not twice.
    assert.equal(await assertEqualsSource(dir, 'events', 'SELECT * FROM events', ['id', 'v', 'batch_sk']), 20);
    assert.equal(metadata(dir, 'events').snapshots.length, 1);
  });
});
