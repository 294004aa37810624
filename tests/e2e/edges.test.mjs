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
