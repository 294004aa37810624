// End-to-end tests of changelog tables (docs/replicate.md, "Changelog
// tables"): a merge or change-capture table with `changelog: {target: ...}`
// records every change it applies — the source columns, _op, _sequence,
// _batch_sk, _run_id, _loaded_at — in an append-only Iceberg table,
// committed just before the merge; a crash between the two commits leaves
// changelog rows that the next run replaces when it loads the range again,
// so the changelog holds each applied change exactly once. icebird reads
// both tables.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/changelog.test.mjs

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FLOE, floe, readReport as report, runOk, scratch, sqlite, writeJob } from './lib/cli.mjs';
import { modulesPresent, normalizeRows, readIceberg, sqliteRows } from './lib/check_table.mjs';

const job = (dir, table) => writeJob(dir, `  acct:\n${table}`, { control: 'floe_control', report: true });

const CDC = `    mode: merge
    primary_key: [id]
    cdc: {type: op_column, column: op, sequence: seq}
    changelog: {target: e2e.acct_changes}`;
const ACCT = 'CREATE TABLE acct (id INTEGER NOT NULL, bal INTEGER, op TEXT, seq INTEGER NOT NULL, batch_sk INTEGER NOT NULL);';

// A batch of changes: new accounts, updates and deletes of earlier ones.
let seq = 0;
function changes(batch, rows) {
  return `INSERT INTO acct VALUES ${rows.map(([id, bal, op]) => `(${id}, ${bal ?? 'NULL'}, '${op}', ${++seq}, ${batch})`).join(',')};`;
}

const CL = ['id', 'bal', 'seq', 'batch_sk', '_op', '_sequence'];
async function changelogRows(dir) {
  return (await readIceberg(path.join(dir, 'catalog.db'), 'e2e', 'acct_changes'));
}
// What the changelog must hold: every change row of the source, once.
function sourceChanges(dir, where = '1 = 1') {
  return normalizeRows(sqliteRows(path.join(dir, 'source.db'),
    `SELECT id, bal, seq, batch_sk, op AS _op, CAST(seq AS TEXT) AS _sequence FROM acct WHERE ${where}`), CL);
}
async function tableRows(dir) {
  return normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', 'acct'), ['id', 'bal', 'seq', 'batch_sk']);
}
function expectedTable(dir) {
  return normalizeRows(sqliteRows(path.join(dir, 'source.db'),
    "SELECT id, bal, seq, batch_sk FROM acct c WHERE seq = (SELECT max(seq) FROM acct x WHERE x.id = c.id) AND op <> 'D'"),
  ['id', 'bal', 'seq', 'batch_sk']);
}

describe('changelog tables', () => {
  test('the readers these tests use are installed', () => {
    assert.ok(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
    assert.ok(modulesPresent(), 'node modules missing: run scripts/deps.sh --npm');
  });

  test('every applied change is recorded once with op, sequence, batch, run id and load time', async () => {
    const dir = scratch('changelog');
    sqlite(dir, ACCT + changes(1, [[1, 10, 'I'], [2, 20, 'I'], [3, 30, 'I']]));
    job(dir, CDC);
    const before = Date.now();
    runOk(dir);
    const run1 = report(dir).run_id;
    assert.equal(report(dir).tables[0].changelog_rows, 3);
    sqlite(dir, changes(2, [[1, 11, 'U'], [2, null, 'D'], [4, 40, 'I']]) + changes(3, [[1, 12, 'U']]));
    runOk(dir);
    const run2 = report(dir).run_id;
    const rows = await changelogRows(dir);
    assert.deepEqual(normalizeRows(rows, CL), sourceChanges(dir));
    const byRun = (r) => rows.filter((x) => x._run_id === r).map((x) => Number(x._batch_sk));
    assert.deepEqual(byRun(run1), [1, 1, 1]);
    assert.deepEqual(byRun(run2), [3, 3, 3, 3], '_batch_sk is the control batch of the load');
    for (const r of rows) {
      const t = new Date(r._loaded_at).getTime();
      assert.ok(t >= before - 1000 && t <= Date.now() + 1000, `_loaded_at ${r._loaded_at}`);
    }
    assert.deepEqual(await tableRows(dir), expectedTable(dir));
    const again = runOk(dir);
    assert.match(again.stdout, /acct\s+nothing_new/);
    assert.equal((await changelogRows(dir)).length, 7);
  });

  for (const between of [false, true]) {
    test(`a crash between the changelog commit and the merge: the next run replaces the orphan rows${between ? ' (new batches arrived meanwhile)' : ''}`, async () => {
      const dir = scratch('changelog-crash');
      sqlite(dir, ACCT + changes(1, [[1, 10, 'I'], [2, 20, 'I']]));
      job(dir, CDC);
      runOk(dir);
      sqlite(dir, changes(2, [[1, 11, 'U'], [3, 30, 'I']]));
      assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'after_changelog_commit' }).status, 137);
      // The changelog ran ahead of the table: batch 2's changes are there.
      assert.equal((await changelogRows(dir)).length, 4);
      if (between) sqlite(dir, changes(3, [[2, null, 'D']]));
      const r = runOk(dir);
      assert.match(r.stderr, /event=repair table=acct batch_sk=2 action=compensate/);
      assert.match(r.stderr, new RegExp(`event=changelog table=acct batch_sk_low=1 batch_sk_high=${between ? 3 : 2} rows=${between ? 3 : 2} files=1 replaced_files=1`));
      assert.deepEqual(normalizeRows(await changelogRows(dir), CL), sourceChanges(dir));
      assert.deepEqual(await tableRows(dir), expectedTable(dir));
    });
  }

  test('an upsert merge records its rows as U; a changelog needs mode merge', async () => {
    const dir = scratch('changelog-upsert');
    sqlite(dir, 'CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER, batch_sk INTEGER NOT NULL);' +
      'INSERT INTO acct VALUES (1, 10, 1), (2, 20, 1);');
    job(dir, '    mode: merge\n    changelog: {target: e2e.acct_changes}');
    runOk(dir);
    sqlite(dir, 'UPDATE acct SET bal = 11, batch_sk = 2 WHERE id = 1; INSERT INTO acct VALUES (3, 30, 2);');
    runOk(dir);
    const rows = normalizeRows(await changelogRows(dir), ['id', 'bal', 'batch_sk', '_op', '_sequence', '_batch_sk']);
    assert.deepEqual(rows.map((x) => JSON.parse(x)), [
      { id: '1', bal: '10', batch_sk: '1', _op: 'U', _sequence: null, _batch_sk: '1' },
      { id: '1', bal: '11', batch_sk: '2', _op: 'U', _sequence: null, _batch_sk: '2' },
      { id: '2', bal: '20', batch_sk: '1', _op: 'U', _sequence: null, _batch_sk: '1' },
      { id: '3', bal: '30', batch_sk: '2', _op: 'U', _sequence: null, _batch_sk: '2' },
    ]);
    job(dir, '    changelog: {target: e2e.acct_changes}');
    const bad = floe(dir, ['config', 'check']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr + bad.stdout, /tables\.acct\.changelog: a changelog records the changes a merge applies: it needs mode: merge/);
  });
});
