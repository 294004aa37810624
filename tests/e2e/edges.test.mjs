// End-to-end tests of the control-table protocol at its edges and of what
// a user meets around it (issue 14): a source behind the control table,
// schedule-independent merges, refusing Iceberg v3 targets, command-line
// conventions and messages.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/edges.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  REPO, metadataLocation, modulesPresent, normalizeRows, readIceberg, sh, sqliteRows,
} from './lib/check_table.mjs';

const FLOE = process.env.FLOE_BIN ?? path.join(REPO, 'build/floe');
const FIXTURES = path.resolve(REPO, '../shared/fixtures');
const ready = existsSync(FLOE) && modulesPresent();
const skipReason = !existsSync(FLOE) ? `no floe binary at ${FLOE} (set FLOE_BIN)`
  : 'node modules missing: run scripts/deps.sh --npm';

function scratch(name) {
  const dir = mkdtempSync(path.join(tmpdir(), `floe-e2e-${name}-`));
  if (!process.env.FLOE_KEEP_TMP) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function floe(dir, args, env = {}) {
  const r = spawnSync(FLOE, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runOk(dir, args = ['run'], env = {}) {
  const r = floe(dir, args, env);
  assert.equal(r.status, 0, `floe ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

function sqlite(dir, sql) {
  sh('sqlite3', [path.join(dir, 'source.db'), sql]);
}

function job(dir, tables, extra = '') {
  writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: sqlite, path: ./source.db}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: e2e
run: {durability: none, report: ./report.json}
${extra}
tables:
${tables}
`);
}

function report(dir) {
  return JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
}

async function tableRows(dir, table, columns) {
  return normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', table), columns);
}

describe('floe at the edges', { skip: ready ? false : skipReason }, () => {
  for (const fixture of ['lithium_deletion_vectors', 'lithium_spark_v3_deletion_vector_sample']) {
    test(`a format-version 3 target (${fixture}) is refused before anything is written`, () => {
      const dir = scratch('v3');
      sqlite(dir, 'CREATE TABLE first (id INTEGER, batch_sk INTEGER); INSERT INTO first VALUES (1, 1);' +
        'CREATE TABLE dv (c1 INTEGER PRIMARY KEY, batch_sk INTEGER); INSERT INTO dv VALUES (1, 1), (2, 1);');
      job(dir, '  first: {}');
      runOk(dir);
      // Adopt the other engine's v3 table into floe's catalog.
      const mdDir = path.join(FIXTURES, 'iceberg', fixture, 'metadata');
      const latest = sh('ls', [mdDir]).split('\n').filter((f) => f.endsWith('.metadata.json')).sort().at(-1);
      const loc = path.join(mdDir, latest);
      sh('sqlite3', [path.join(dir, 'catalog.db'),
        `INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location) VALUES ('floe', 'e2e', 'dv', '${loc}')`]);
      job(dir, '  dv: {mode: merge}');
      const r = floe(dir, ['run']);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr + r.stdout, /format-version 3 \(written by another engine\); floe does not write v3 tables yet/);
      assert.equal(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'dv'), loc);
      assert.equal(report(dir).tables[0].status, 'failed');
    });
  }

  test('a job asking for format-version 3 tables is refused', () => {
    const dir = scratch('v3-create');
    sqlite(dir, 'CREATE TABLE t (id INTEGER, batch_sk INTEGER); INSERT INTO t VALUES (1, 1);');
    job(dir, '  t: {properties: {format-version: "3"}}');
    const r = floe(dir, ['run']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr + r.stdout, /format-version 3: floe does not write Iceberg v3 tables yet/);
    assert.equal(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 't'), null);
  });
});

describe('a source behind its control table', { skip: ready ? false : skipReason }, () => {
  test('is reported as source_behind at warning level, not as nothing new; on_source_behind: fail exits 4', () => {
    const dir = scratch('behind');
    sqlite(dir, 'CREATE TABLE t (id INTEGER, batch_sk INTEGER);' +
      'INSERT INTO t VALUES (1, 1), (2, 2), (3, 3);');
    job(dir, '  t: {}');
    runOk(dir);
    // Equal max: routine nothing new.
    let r = runOk(dir);
    assert.match(r.stdout, /t\s+nothing_new/);
    // Batches 2 and 3 deleted (or renumbered): the source max is now 1 < 3.
    sqlite(dir, 'DELETE FROM t WHERE batch_sk >= 2');
    r = runOk(dir);
    assert.match(r.stdout, /t\s+source_behind\s+.*source behind the control table: source max\(batch_sk\) = 1, control max = 3/);
    assert.match(r.stderr, /level=warn.*event=source_behind table=t/);
    let rep = report(dir);
    assert.equal(rep.tables[0].status, 'source_behind');
    assert.equal(rep.counts.source_behind, 1);
    assert.equal(rep.exit_code, 0);
    const st = runOk(dir, ['status']);
    assert.match(st.stdout, /source behind: max\(batch\) = 1 is below the control max 3/);
    // An emptied source is behind too.
    sqlite(dir, 'DELETE FROM t');
    job(dir, '  t: {on_source_behind: fail}');
    r = floe(dir, ['run']);
    assert.equal(r.status, 4, r.stdout + r.stderr);
    assert.match(r.stdout, /source max\(batch_sk\) = null, control max = 3/);
    rep = report(dir);
    assert.equal(rep.status, 'source_behind');
    assert.equal(rep.exit_code, 4);
    // Nothing was loaded or inserted meanwhile.
    assert.deepEqual(sqliteRows(path.join(dir, 'source.db'),
      "SELECT batch_sk FROM floe_control WHERE table_name = 't' ORDER BY batch_sk").map((x) => x.batch_sk), [0, 3]);
  });

  test('a cursor table whose max fell below its watermark is behind too', () => {
    const dir = scratch('behind-cursor');
    sqlite(dir, "CREATE TABLE p (id INTEGER, ts TEXT); INSERT INTO p VALUES (1, '2024-01-01'), (2, '2024-01-05');");
    job(dir, '  p: {cursor_column: ts, on_source_behind: fail}');
    runOk(dir);
    assert.match(runOk(dir).stdout, /p\s+nothing_new/);
    sqlite(dir, "DELETE FROM p WHERE ts = '2024-01-05'");
    const r = floe(dir, ['run']);
    assert.equal(r.status, 4, r.stdout + r.stderr);
    assert.match(r.stdout, /source max\(ts\) = 2024-01-01, control watermark = 2024-01-05/);
  });
});
