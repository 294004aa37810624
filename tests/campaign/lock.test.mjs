// One floe run per table at a time (src/replicate/lock.c), end to end on a
// SQLite source:
//  - two `floe run` of one table started together: both exit 0, each batch
//    is committed once, neither compensates the other's control row;
//  - a lock held by a live run on another host makes the run wait and then
//    fail cleanly (exit 1, the holder named, nothing written); an expired
//    one is taken over;
//  - a lock left by a killed run on this host is taken over at once;
//  - a run whose lock was taken over while it loaded does not commit.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/campaign/

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  REPO, metadataLocation, modulesPresent, normalizeRows, readIceberg, readMetadata, sh, sqliteRows,
} from '../e2e/lib/check_table.mjs';

const FLOE = process.env.FLOE_BIN ?? path.join(REPO, 'build/floe');
const ready = existsSync(FLOE) && modulesPresent();

function scratch(name) {
  const dir = mkdtempSync(path.join(tmpdir(), `floe-lock-${name}-`));
  if (!process.env.FLOE_KEEP_TMP) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function floeAsync(dir, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(FLOE, args, { cwd: dir, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function floe(dir, args, env = {}) {
  const r = spawnSync(FLOE, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function setup(name, rows = 200) {
  const dir = scratch(name);
  const values = [];
  for (let i = 1; i <= rows; i++) values.push(`(${i}, 'v${i}', ${1 + (i % 5)})`);
  sh('sqlite3', [path.join(dir, 'source.db'),
    `CREATE TABLE t (id INTEGER, v TEXT, batch_sk INTEGER); INSERT INTO t VALUES ${values.join(',')};`]);
  writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: sqlite, path: ./source.db}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: lk
run: {durability: none}
tables:
  t: {strategy: chunked}
`);
  return dir;
}

function src(dir, sql) {
  return sqliteRows(path.join(dir, 'source.db'), sql);
}

function commits(dir) {
  const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'lk', 't'));
  return (md.snapshots ?? []).map((s) => [Number(s.summary['floe.batch-sk.low']), Number(s.summary['floe.batch-sk.high'])]);
}

async function assertLoadedOnce(dir) {
  const got = normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'lk', 't'), ['id', 'v', 'batch_sk']);
  const want = normalizeRows(src(dir, 'SELECT * FROM t'), ['id', 'v', 'batch_sk']);
  assert.deepEqual(got, want, 'icebird rows equal the source, each once');
  assert.deepEqual(commits(dir), [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]], 'one commit per batch, in order');
  assert.deepEqual(src(dir, "SELECT batch_sk FROM floe_control WHERE table_name = 't' ORDER BY batch_sk").map((r) => r.batch_sk),
    [0, 1, 2, 3, 4, 5]);
}

describe('one floe run per table', { skip: ready ? false : 'floe binary or node modules missing' }, () => {
  test('two runs of one table at once: each batch committed once, no compensation', async () => {
    const dir = setup('two');
    const [a, b] = await Promise.all([floeAsync(dir, ['run']), floeAsync(dir, ['run'])]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    for (const r of [a, b]) assert.doesNotMatch(r.stderr, /event=repair|event=compensate/);
    // One of them loaded, the other waited for the lock and found nothing new.
    assert.equal([a, b].filter((r) => /nothing_new/.test(r.stdout)).length, 1, a.stdout + b.stdout);
    await assertLoadedOnce(dir);
    assert.deepEqual(src(dir, 'SELECT count(*) AS n FROM floe_control_lock'), [{ n: 0 }], 'released');
  });

  test('a live holder on another host: the run waits, then fails cleanly naming it', async () => {
    const dir = setup('foreign');
    assert.equal(floe(dir, ['run', '--dry-run']).status, 0);
    sh('sqlite3', [path.join(dir, 'source.db'),
      'CREATE TABLE floe_control_lock (table_name TEXT NOT NULL PRIMARY KEY, run_id TEXT NOT NULL, host TEXT NOT NULL, ' +
      'pid BIGINT NOT NULL, acquired_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);' +
      "INSERT INTO floe_control_lock VALUES ('t', 'other-run', 'elsewhere', 1, strftime('%s','now'), strftime('%s','now') + 3600)"]);
    const r = floe(dir, ['run'], { FLOE_LOCK_WAIT_SECONDS: '1' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /table lock: table is being loaded by another floe run \(run_id other-run on host elsewhere, pid 1; its lease ends in \d+ s\)/);
    assert.equal(existsSync(path.join(dir, 'catalog.db')) ? metadataLocation(path.join(dir, 'catalog.db'), 'lk', 't') : null, null,
      'nothing written');
    // The lease runs out: the next run takes the table over.
    sh('sqlite3', [path.join(dir, 'source.db'), "UPDATE floe_control_lock SET expires_at = strftime('%s','now') - 1"]);
    const ok = floe(dir, ['run']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /event=lock table=t action=take_over holder_run_id=other-run holder_host=elsewhere holder_pid=1 reason=lease_expired/);
    await assertLoadedOnce(dir);
  });

  test('a run killed while holding the lock: the next run on this host takes over at once', async () => {
    const dir = setup('killed');
    const k = floe(dir, ['run'], { FLOE_CRASH_AT: 'after_control_insert:2' });
    assert.equal(k.status, 137);
    const [held] = src(dir, 'SELECT host, pid FROM floe_control_lock');
    assert.equal(held.host, hostname());
    const started = Date.now();
    const r = floe(dir, ['run']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Date.now() - started < 30000, 'did not wait out the lease');
    assert.match(r.stderr, /action=take_over .*reason=holder_process_gone/);
    assert.match(r.stderr, /event=repair table=t batch_sk=2 action=compensate/);
    await assertLoadedOnce(dir);
  });

  test('a run whose lock was taken over does not commit', async () => {
    const dir = setup('stolen');
    const gate = path.join(dir, 'gate');
    const run = floeAsync(dir, ['run'], { FLOE_PAUSE_AT: 'before_commit:3', FLOE_PAUSE_FILE: gate });
    for (let i = 0; i < 3000 && !existsSync(`${gate}.paused`); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(existsSync(`${gate}.paused`));
    // Another run decided the holder was dead and took the table.
    sh('sqlite3', [path.join(dir, 'source.db'), "UPDATE floe_control_lock SET run_id = 'usurper'"]);
    writeFileSync(gate, '');
    const r = await run;
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /batch range \(2, 3\] failed/);
    assert.deepEqual(commits(dir), [[0, 1], [1, 2]], 'nothing committed after the lock was lost');
    sh('sqlite3', [path.join(dir, 'source.db'), 'DELETE FROM floe_control_lock']);
    assert.equal(floe(dir, ['run']).status, 0);
    await assertLoadedOnce(dir);
  });
});
