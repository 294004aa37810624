// End-to-end fault tests of `floe run` against a PostgreSQL source whose
// connection is lost in the middle of the extract stream (server-side
// cursor, FETCH FORWARD per batch):
//
//  1. floe's backend is terminated (pg_terminate_backend) while floe is
//     paused after its 2nd batch (FLOE_PAUSE_AT=during_extract:2);
//  2. the server is restarted (pg_ctl restart -m fast) at the same instant.
//
// Each asserts: the run fails with an error naming the range and the lost
// source connection; no Iceberg snapshot holds any of the range; the
// compensation, which needs the same dead connection, fails, so the
// orphan control row stays; the next run repairs it (compensate) and loads
// the range exactly once: the table equals the source (icebird rows, DuckDB count
// and sum), one control row per committed range plus the init row, and a
// further run finds nothing new. The pause is a file handshake (core/debug:
// floe writes <file>.paused, waits for <file>), so nothing races on time.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/pg_faults.test.mjs
// (skipped with a visible message without the PostgreSQL server binaries.)

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  REPO, duckdbFiles, metadataLocation, normalizeRows, pgExec, pgRows, readIceberg, readMetadata,
} from './lib/check_table.mjs';
import { floe, ready, runOk, scratch, skipReason, startPaused, writeJob } from './lib/cli.mjs';

// Starts `floe run` paused at the 2nd during_extract arrival.
const runPaused = (dir) => startPaused(dir, ['run'], 'during_extract:2');

const PG_SH = path.join(REPO, 'tests/support/pg.sh');
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

// More rows than three source batches (FLOE_SOURCE_DEFAULT_BATCH_ROWS is
// 8192 and no config key changes it), so the pause after batch 2 leaves at
// least one FETCH to fail. batch_sk 1..3: the range (0, 3].
// Far more rows than the pipelined run reads ahead (a queue of 4 batches of
// 8,192 rows), so the source cursor is still open when the run is paused
// and the fault hits the fetch itself.
const ROWS = 240000;
const COLS = ['id', 'v', 'batch_sk'];

// Starts `floe run` paused at the 2nd during_extract arrival; resolves once
// the process has written the pause marker, with release() and the exit.

function asOwner(cmd, args) {
  const root = process.getuid && process.getuid() === 0;
  const r = root ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
    : spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
}

describe('PostgreSQL source faults mid-stream', { skip: ready ? false : skipReason }, () => {
  let pgDir = null;
  let conninfo = null;
  let skip = null;
  before(() => {
    pgDir = mkdtempSync(path.join(tmpdir(), 'floe-e2e-pgf-'));
    const r = spawnSync(PG_SH, ['start', pgDir, String(process.pid)], { encoding: 'utf8' });
    if (r.status === 77) skip = r.stderr.trim();
    else if (r.status !== 0) throw new Error(`pg.sh start: ${r.stderr}`);
    else conninfo = r.stdout.trim();
  });
  after(() => {
    if (conninfo) spawnSync(PG_SH, ['stop', pgDir]);
  });

  function setup(name) {
    const dir = scratch(name);
    pgExec(`${conninfo} dbname=postgres`, `CREATE DATABASE ${name}`);
    const db = `${conninfo} dbname=${name}`;
    pgExec(db, `CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL, batch_sk bigint NOT NULL);
      INSERT INTO items SELECT g, 'v' || g, 1 + (g - 1) / ${ROWS / 3} FROM generate_series(1, ${ROWS}) g;`);
    writeJob(dir, '  items: {}', { source: `{type: postgres, conninfo: "${db}"}`, namespace: 'pgf' });
    return { dir, db };
  }

  const control = (db) => pgRows(db,
    "SELECT batch_sk, kind FROM floe_control WHERE table_name = 'items' ORDER BY batch_sk")
    .map((r) => [Number(r.batch_sk), r.kind]);

  function snapshots(dir) {
    const loc = metadataLocation(path.join(dir, 'catalog.db'), 'pgf', 'items');
    return loc === null ? [] : (readMetadata(loc).snapshots ?? []);
  }

  // The failed run: non-zero, the source connection named, nothing committed.
  function assertFailedCleanly(r, dir) {
    assert.equal(r.status, 1, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /floe run: table items: batch range \(0, 3\] failed and its control row could not be deleted .*the next run repairs it\): source postgres: fetch: .*terminating connection/);
    assert.doesNotMatch(r.stderr, /event=commit /);
    assert.equal(snapshots(dir).length, 0, 'no snapshot may hold part of the range');
  }

  async function assertExactlyOnce(dir, db) {
    const want = normalizeRows(pgRows(db, 'SELECT * FROM items'), COLS);
    const got = normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'pgf', 'items'), COLS);
    assert.equal(got.length, ROWS);
    assert.equal(new Set(got.map((r) => JSON.parse(r).id)).size, ROWS, 'no duplicate id');
    assert.deepEqual(got, want);
    const d = await duckdbFiles(path.join(dir, 'catalog.db'), 'pgf', 'items', 1);
    assert.equal(d.rows, ROWS);
    assert.equal(d.sum, BigInt(ROWS) * BigInt(ROWS + 1) / 2n);
    assert.deepEqual(control(db), [[0, 'init'], [3, 'load']]);
    const snaps = snapshots(dir);
    assert.equal(snaps.length, 1);
    assert.equal(snaps[0].summary['floe.batch-sk.low'], '0');
    assert.equal(snaps[0].summary['floe.batch-sk.high'], '3');
    assert.match(runOk(dir).stdout, /items\s+nothing_new/);
    assert.equal(snapshots(dir).length, 1);
  }

  test('the backend terminated mid-stream: no commit, a clear error, the rerun loads once', async (t) => {
    if (skip) return t.skip(skip);
    const { dir, db } = setup('pgf_terminate');
    const run = await runPaused(dir);
    const killed = pgRows(`${conninfo} dbname=postgres`,
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE datname = 'pgf_terminate' AND application_name = 'floe' AND pid <> pg_backend_pid()`);
    assert.ok(killed.length >= 1 && killed.every((k) => k.ok === true), JSON.stringify(killed));
    run.release();
    const r = await run.exited;
    assertFailedCleanly(r, dir);
    const ctl = control(db);
    // The compensation needed the dead connection: the orphan row stays.
    assert.deepEqual(ctl, [[0, 'init'], [3, 'load']]);
    const again = runOk(dir);
    assert.match(again.stderr, /event=repair table=items batch_sk=3 action=compensate/);
    await assertExactlyOnce(dir, db);
  });

  test('the server restarted mid-run: no commit, a clear error, the next run loads once', async (t) => {
    if (skip) return t.skip(skip);
    const { dir, db } = setup('pgf_restart');
    const run = await runPaused(dir);
    // The writer is paused; the source thread reads ahead until its queue is
    // full and then waits, idle in the open cursor. Restart only then: a
    // backend stopped while it is still sending a FETCH result cannot send
    // its FATAL message, and libpq reports only "server closed the
    // connection unexpectedly" (a race that depends on machine load).
    await delay(1500);
    asOwner(path.join(PG_BIN, 'pg_ctl'), ['-D', path.join(pgDir, 'data'), '-l', path.join(pgDir, 'server.log'),
      '-m', 'fast', '-w', '-t', '60', 'restart']);
    run.release();
    const r = await run.exited;
    assertFailedCleanly(r, dir);
    const ctl = control(db);
    // The compensation needed the dead connection: the orphan row stays.
    assert.deepEqual(ctl, [[0, 'init'], [3, 'load']]);
    const again = runOk(dir);
    assert.match(again.stderr, /event=repair table=items batch_sk=3 action=compensate/);
    await assertExactlyOnce(dir, db);
  });
});
