// End-to-end tests of load metadata columns (docs/config.md, "Load metadata
// columns"): `metadata_columns` adds _floe_batch_sk, _floe_loaded_at,
// _floe_run_id and _floe_op (names configurable) to the target, filled per
// unit for appends, chunked loads, full overwrites, merges (I for a new key,
// U for an updated one, on the rows the merge writes) and change capture;
// an existing table gets them by schema evolution (new optional columns,
// older rows null); a source column of the same name is refused before
// anything is written. On SQLite and on a PostgreSQL server the test starts;
// icebird reads every table.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/metadata_columns.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  REPO, metadataLocation, modulesPresent, normalizeValue, pgExec, pgRows, readIceberg, readMetadata, sh,
  sqliteRows,
} from './lib/check_table.mjs';
import { FLOE, floe, runOk, scratch, writeJob } from './lib/cli.mjs';

const PG_SH = path.join(REPO, 'tests/support/pg.sh');

// floe run, which must exit 0; returns the run id it logged.
function runLoggingId(dir) {
  const r = runOk(dir);
  const m = /event=run run_id=([0-9a-f-]{36})/.exec(r.stderr);
  assert.ok(m, 'the run logs its id');
  return m[1];
}

const TABLES = {
  app: '{source: orders, metadata_columns: true}',
  chk: '{source: orders, strategy: chunked, chunk: {by: batch}, metadata_columns: true}',
  ow: '{source: orders, strategy: full, mode: overwrite, metadata_columns: {batch_sk: true, op: true}}',
  mrg: '{source: orders, mode: merge, primary_key: [id], merge: {deletes: equality}, ' +
    'metadata_columns: {batch_sk: true, loaded_at: load_time, run_id: true, op: change}}',
  cdc: '{source: changes, mode: merge, primary_key: [id], cdc: {type: op_column, column: op}, metadata_columns: true}',
};

const job = (dir, source, tables) => writeJob(dir,
  Object.entries(tables).map(([k, v]) => `  ${k}: ${v}`).join('\n'), { source, control: 'floe_control' });

const read = async (dir, table) => readIceberg(path.join(dir, 'catalog.db'), 'e2e', table);
const byId = (rows) => new Map(rows.map((r) => [Number(r.id), r]));
const text = (v) => normalizeValue(v);

// One source in two dialects: SQL that creates and changes it per step.
const STEPS = [
  `CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, batch_sk INTEGER NOT NULL);
   INSERT INTO orders VALUES (1, 'a', 1), (2, 'b', 1), (3, 'c', 1), (4, 'd', 2);
   CREATE TABLE changes (id INTEGER, op TEXT, amount INTEGER, batch_sk INTEGER NOT NULL);
   INSERT INTO changes VALUES (1, 'I', 10, 1), (2, 'I', 20, 1);
   CREATE TABLE clash (id INTEGER, "_FLOE_OP" TEXT, batch_sk INTEGER NOT NULL);
   INSERT INTO clash VALUES (1, 'x', 1);`,
  `UPDATE orders SET item = 'b2', batch_sk = 3 WHERE id = 2; INSERT INTO orders VALUES (5, 'e', 3);
   INSERT INTO changes VALUES (1, 'U', 11, 2), (2, 'D', NULL, 2), (3, 'I', 30, 2);`,
];

async function walk(dir, source, exec) {
  exec(STEPS[0]);
  // late: created without metadata columns, they come with the second run.
  job(dir, source, { ...TABLES, late: '{source: orders}' });
  const run1 = runLoggingId(dir);

  const app1 = await read(dir, 'app');
  assert.equal(app1.length, 4);
  for (const r of app1) {
    assert.equal(text(r._floe_batch_sk), '2', 'the unit loaded batches (0, 2]: control batch 2');
    assert.equal(r._floe_run_id, run1);
    assert.equal(r._floe_op, 'I');
    assert.ok(r._floe_loaded_at !== null && r._floe_loaded_at !== undefined);
  }
  assert.equal(new Set(app1.map((r) => text(r._floe_loaded_at))).size, 1, 'one load time per unit');
  const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'app'));
  const fields = md.schemas.find((s) => s['schema-id'] === md['current-schema-id']).fields;
  assert.deepEqual(fields.slice(-4).map((f) => [f.name, f.type, f.required]),
    [['_floe_batch_sk', 'long', false], ['_floe_loaded_at', 'timestamptz', false],
      ['_floe_run_id', 'string', false], ['_floe_op', 'string', false]]);

  // chunked: one unit per batch, each with its own batch and load time.
  const chk = await read(dir, 'chk');
  assert.deepEqual(chk.map((r) => [Number(r.id), text(r._floe_batch_sk)]).sort((a, b) => a[0] - b[0]),
    [[1, '1'], [2, '1'], [3, '1'], [4, '2']]);
  // A subset of the columns.
  const ow = await read(dir, 'ow');
  assert.deepEqual(Object.keys(ow[0]).filter((k) => k.startsWith('_')).sort(), ['_floe_batch_sk', '_floe_op']);
  const mrg1 = byId(await read(dir, 'mrg'));
  assert.deepEqual([...mrg1.values()].map((r) => r.change), ['I', 'I', 'I', 'I']);
  assert.ok([...mrg1.values()].every((r) => r.load_time !== null && r._floe_run_id === run1));

  exec(STEPS[1]);
  job(dir, source, { ...TABLES, late: '{source: orders, metadata_columns: true}' });
  const run2 = runLoggingId(dir);

  const app2 = await read(dir, 'app');
  const second = app2.filter((r) => r._floe_run_id === run2);
  assert.deepEqual(second.map((r) => Number(r.id)).sort(), [2, 5], 'append: the changed and new rows');
  assert.ok(second.every((r) => text(r._floe_batch_sk) === '3' && r._floe_op === 'I'));
  assert.ok(text(second[0]._floe_loaded_at) > text(app1[0]._floe_loaded_at));

  // merge: the rows it writes carry this run; the others keep theirs.
  const mrg2 = byId(await read(dir, 'mrg'));
  assert.equal(mrg2.size, 5);
  assert.deepEqual([mrg2.get(2).item, mrg2.get(2).change, text(mrg2.get(2)._floe_batch_sk), mrg2.get(2)._floe_run_id],
    ['b2', 'U', '3', run2]);
  assert.deepEqual([mrg2.get(5).change, mrg2.get(5)._floe_run_id], ['I', run2]);
  for (const id of [1, 3, 4]) {
    assert.deepEqual([mrg2.get(id).change, mrg2.get(id)._floe_run_id, text(mrg2.get(id)._floe_batch_sk)],
      ['I', run1, '2'], `row ${id} untouched`);
  }
  assert.ok(text(mrg2.get(2).load_time) > text(mrg2.get(1).load_time));

  // change capture: U for the update, the delete removes the row.
  const cdc = byId(await read(dir, 'cdc'));
  assert.deepEqual([...cdc.keys()].sort(), [1, 3]);
  assert.deepEqual([cdc.get(1)._floe_op, text(cdc.get(1).amount), cdc.get(1)._floe_run_id], ['U', '11', run2]);
  assert.deepEqual([cdc.get(3)._floe_op, cdc.get(3)._floe_run_id], ['I', run2]);

  // an existing table: schema evolution adds the columns, older rows null.
  const lmd = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'late'));
  const lfields = lmd.schemas.find((s) => s['schema-id'] === lmd['current-schema-id']).fields;
  assert.equal(lmd.schemas.length, 2);
  assert.deepEqual(lfields.map((f) => f.id), [1, 2, 3, 4, 5, 6, 7]);
  const late = await read(dir, 'late');
  assert.deepEqual(late.filter((r) => r._floe_run_id === null || r._floe_run_id === undefined)
    .map((r) => Number(r.id)).sort(), [1, 2, 3, 4]);
  assert.deepEqual(late.filter((r) => r._floe_run_id === run2).map((r) => [Number(r.id), r._floe_op]).sort(),
    [[2, 'I'], [5, 'I']]);

  // A source column with a metadata column's name is refused; nothing written.
  job(dir, source, { clash: '{metadata_columns: true}' });
  const refused = floe(dir, ['run']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /metadata_columns\.op: the source already has a column '_FLOE_OP'; give the metadata column another name/);
  assert.equal(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'clash'), null);
}

describe('load metadata columns', () => {
  test('the readers these tests use are installed', () => {
    assert.ok(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
    assert.ok(modulesPresent(), 'node modules missing: run scripts/deps.sh --npm');
  });

  test('SQLite: every strategy and mode, schema evolution of an existing table, a clashing name refused', async () => {
    const dir = scratch('meta-sqlite');
    const db = path.join(dir, 'source.db');
    await walk(dir, '{type: sqlite, path: ./source.db}', (sql) => sh('sqlite3', [db, sql]));
    assert.equal(sqliteRows(db, "SELECT count(*) AS n FROM floe_control WHERE table_name = 'clash'")[0].n, 0);
  });

  describe('PostgreSQL', () => {
    let pgDir = null;
    let conninfo = null;
    before(() => {
      pgDir = mkdtempSync(path.join(tmpdir(), 'floe-e2e-meta-pg-'));
      const r = spawnSync(PG_SH, ['start', pgDir, String(process.pid)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `the PostgreSQL server must start (pg.sh start): ${r.stderr}`);
      conninfo = r.stdout.trim();
    });
    after(() => {
      if (conninfo) spawnSync(PG_SH, ['stop', pgDir]);
    });

    test('every strategy and mode, schema evolution of an existing table, a clashing name refused', async () => {
      const dir = scratch('meta-pg');
      pgExec(`${conninfo} dbname=postgres`, 'CREATE DATABASE meta');
      const db = `${conninfo} dbname=meta`;
      await walk(dir, `{type: postgres, conninfo: "${db}"}`, (sql) => pgExec(db, sql));
      assert.equal(pgRows(db, "SELECT count(*) AS n FROM floe_control WHERE table_name = 'clash'")[0].n, 0);
    });
  });
});
