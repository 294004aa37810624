// End-to-end tests of the control-table protocol at its edges and of what
// a user meets around it (issue 14): a source behind the control table,
// schedule-independent merges, refusing Iceberg v3 targets, command-line
// conventions and messages.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/edges.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  REPO, metadataLocation, normalizeRows, pgExec, pgRows, readIceberg, sh, sqliteRows,
} from './lib/check_table.mjs';
import {
  FIXTURES, FLOE, floe, readReport as report, ready, runOk, scratch, skipReason, sqlite, writeJob,
} from './lib/cli.mjs';

const job = (dir, tables, extra = '') => writeJob(dir, tables, { report: true, extra });

function readMetadataFile(dir, table) {
  return JSON.parse(readFileSync(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', table).replace(/^file:/, ''), 'utf8'));
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

describe('merges do not depend on how batches are grouped into runs', { skip: ready ? false : skipReason }, () => {
  const kinds = {
    upsert: {
      create: 'CREATE TABLE src (k INTEGER, v TEXT, seq INTEGER, batch_sk INTEGER);',
      batches: [
        "INSERT INTO src VALUES (1,'a',1,1),(2,'b',2,1);",
        // Batch 2's change to key 1 has the larger sequence value...
        "INSERT INTO src VALUES (1,'old-batch-high-seq',90,2),(3,'c2',91,2);",
        // ...but batch 3 is the later load.
        "INSERT INTO src VALUES (1,'new-batch-low-seq',5,3),(3,'c3',6,3);",
      ],
      table: (deletes) => `  t: {source: src, mode: merge, primary_key: [k], merge: {deletes: ${deletes}, order_by: seq}}`,
      expected: [{ k: 1, v: 'new-batch-low-seq' }, { k: 2, v: 'b' }, { k: 3, v: 'c3' }],
    },
    cdc: {
      create: 'CREATE TABLE src (k INTEGER, op TEXT, v TEXT, seq INTEGER, batch_sk INTEGER);',
      batches: [
        "INSERT INTO src VALUES (1,'I','a',1,1),(2,'I','b',2,1);",
        "INSERT INTO src VALUES (1,'U','x',90,2),(3,'I','c',91,2);",
        "INSERT INTO src VALUES (1,'U','y',5,3),(3,'D',NULL,6,3);",
      ],
      table: (deletes) => `  t: {source: src, mode: merge, primary_key: [k], merge: {deletes: ${deletes}}, cdc: {type: op_column, column: op, sequence: seq}}`,
      expected: [{ k: 1, v: 'y' }, { k: 2, v: 'b' }],
    },
  };
  for (const [kind, spec] of Object.entries(kinds)) {
    for (const deletes of ['position', 'equality', 'copy_on_write']) {
      test(`${kind} with ${deletes} deletes: batches 2 and 3 in one run equal one run each`, async () => {
        const results = [];
        for (const grouping of ['together', 'one_each']) {
          const dir = scratch(`order-${kind}-${deletes}-${grouping}`);
          sqlite(dir, spec.create + spec.batches[0]);
          job(dir, spec.table(deletes));
          runOk(dir);
          if (grouping === 'together') {
            sqlite(dir, spec.batches[1] + spec.batches[2]);
            runOk(dir);
          } else {
            sqlite(dir, spec.batches[1]);
            runOk(dir);
            sqlite(dir, spec.batches[2]);
            runOk(dir);
          }
          results.push(await tableRows(dir, 't', ['k', 'v']));
        }
        assert.deepEqual(results[0], normalizeRows(spec.expected, ['k', 'v']));
        assert.deepEqual(results[1], results[0]);
      });
    }
  }

  test('a tie (same key, batch and order value) keeps the later row and warns once per batch with its count', async () => {
    const dir = scratch('order-tie');
    // Batch 1: key 1 tied; batch 2: keys 2 and 3 tied; batch 3: none (key 1
    // changes again, a later batch, not a tie).
    sqlite(dir, 'CREATE TABLE src (k INTEGER, v TEXT, batch_sk INTEGER);' +
      "INSERT INTO src VALUES (1,'first',1),(1,'second',1),(2,'x',1)," +
      "(2,'y',2),(2,'z',2),(3,'a',2),(3,'b',2),(1,'third',3);");
    job(dir, '  t: {source: src, mode: merge, primary_key: [k]}');
    const r = runOk(dir);
    const ties = r.stderr.split('\n').filter((l) => /event=merge_tie/.test(l));
    assert.equal(ties.length, 2, ties.join('\n'));
    assert.match(ties[0], /level=warn.*event=merge_tie table=t batch_sk=1 tied_keys=1 /);
    assert.match(ties[1], /level=warn.*event=merge_tie table=t batch_sk=2 tied_keys=2 /);
    assert.deepEqual(await tableRows(dir, 't', ['k', 'v']),
      normalizeRows([{ k: 1, v: 'third' }, { k: 2, v: 'z' }, { k: 3, v: 'b' }], ['k', 'v']));
  });
});

describe('what a user meets', { skip: ready ? false : skipReason }, () => {
  test('invalid UTF-8 from the source never makes report.json or JSON log lines unparseable', () => {
    const dir = scratch('utf8');
    sqlite(dir, 'CREATE TABLE t (k1 TEXT, v TEXT, batch_sk INTEGER);' +
      "INSERT INTO t VALUES ('ok', 'x', 1), (CAST(X'61FF62' AS TEXT), 'y', 1);");
    job(dir, '  t: {}', 'logging: {format: json, level: info}');
    const r = floe(dir, ['run']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('{'));
    assert.ok(lines.length > 3);
    const parsed = lines.map((l) => JSON.parse(l)); // every line parses
    // The message quoting the value has the bad byte replaced.
    assert.ok(parsed.some((l) => /value 'a\?b' does not fit string: not valid UTF-8/.test(l.error ?? '')));
    const rep = report(dir); // parses
    assert.match(rep.tables[0].message, /column 'k1' row 2: value 'a\?b' does not fit string/);
    // logfmt lines are valid UTF-8 too.
    job(dir, '  t: {}');
    const r2 = spawnSync(FLOE, ['run'], { cwd: dir });
    assert.equal(r2.status, 1);
    assert.ok(!r2.stderr.includes(Buffer.from([0xff])), 'no raw 0xFF byte in the log');
    assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true }).decode(r2.stderr));
  });

  test('a null key names its row by its batch and other key values', () => {
    const dir = scratch('nullkey');
    sqlite(dir, 'CREATE TABLE t (k1 TEXT, k2 INTEGER, v TEXT, batch_sk INTEGER);' +
      "INSERT INTO t VALUES ('ok', 1, 'x', 1), ('ab', NULL, 'y', 1);");
    job(dir, '  t: {mode: merge, primary_key: [k1, k2]}');
    const r = floe(dir, ['run']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(report(dir).tables[0].message, /key column 'k2' is null in the row batch_sk=1, k1=ab/);
  });

  test('a namespace with "/" is a configuration error with its position', () => {
    const dir = scratch('ns');
    sqlite(dir, 'CREATE TABLE t (id INTEGER, batch_sk INTEGER);');
    writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: sqlite, path: ./source.db}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: /abs/ns
tables:
  t: {}
  u: {target: "a/b.u", source: t}
`);
    const r = floe(dir, ['config', 'check']);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /floe\.yaml:6:\d+: target\.namespace: a namespace name expected .*'\/' is not allowed/);
    assert.match(r.stderr, /floe\.yaml:9:\d+: tables\.u\.target: bad target 'a\/b\.u' .*'\/' is not allowed/);
  });

  test('config check --connect checks tables and columns online', () => {
    const dir = scratch('connect');
    sqlite(dir, 'CREATE TABLE t (id INTEGER, batch_sk INTEGER); CREATE TABLE c (id INTEGER, ts TEXT);');
    job(dir, `  t: {}
  gone: {}
  c: {cursor_column: updated}
  m: {source: t, mode: merge, primary_key: [idd]}`);
    const offline = floe(dir, ['config', 'check']);
    assert.equal(offline.status, 0, offline.stderr);
    const r = floe(dir, ['config', 'check', '--connect']);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /table gone: .*gone/);
    assert.match(r.stderr, /table c: .*updated/);
    assert.match(r.stderr, /table m: primary_key: column 'idd' is not a column of source table/);
    assert.doesNotMatch(r.stderr, /table t:/);
    job(dir, '  t: {}');
    const ok = floe(dir, ['config', 'check', '--connect']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /ok \(1 table; source, columns and catalog checked\)/);
    // Read only: nothing was created in the source.
    assert.deepEqual(sqliteRows(path.join(dir, 'source.db'), "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((x) => x.name), ['c', 't']);
  });

  test('the control table is created only when a table loads, not when the only table fails discovery', () => {
    const dir = scratch('lazy-control');
    sqlite(dir, 'CREATE TABLE other (id INTEGER);');
    job(dir, '  missing: {}');
    const r = floe(dir, ['run']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const tables = sqliteRows(path.join(dir, 'source.db'), "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    assert.deepEqual(tables.map((x) => x.name), ['other']);
    sqlite(dir, 'CREATE TABLE missing (id INTEGER, batch_sk INTEGER); INSERT INTO missing VALUES (1, 1);');
    runOk(dir);
    assert.equal(sqliteRows(path.join(dir, 'source.db'), 'SELECT count(*) AS n FROM floe_control')[0].n, 2);
  });

  test('options before or after positionals, --help on every subcommand, quiet interactive commands', () => {
    const dir = scratch('cli');
    sqlite(dir, 'CREATE TABLE t (id INTEGER, batch_sk INTEGER); INSERT INTO t VALUES (7, 1), (8, 1);');
    job(dir, '  t: {}', 'logging: {level: info}');
    runOk(dir);
    const md = JSON.parse(readFileSync(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 't').replace(/^file:/, ''), 'utf8'));
    const list = md.snapshots.at(-1)['manifest-list'].replace(/^file:/, '');
    const manifests = floe(dir, ['avro', 'cat', '--limit', '1', list]);
    assert.equal(manifests.status, 0, manifests.stderr);
    const manifest = JSON.parse(manifests.stdout.split('\n')[0]).manifest_path.replace(/^file:/, '');
    const entry = JSON.parse(runOk(dir, ['avro', 'cat', manifest]).stdout.split('\n')[0]);
    const file = entry.data_file.file_path.replace(/^file:/, '');
    const before = runOk(dir, ['parquet', 'cat', '--format', 'jsonl', file]).stdout;
    const after = runOk(dir, ['parquet', 'cat', file, '--format', 'jsonl']).stdout;
    assert.equal(before, after);
    assert.equal(before.trim().split('\n').map((l) => JSON.parse(l).id).join(','), '7,8');
    for (const args of [['parquet', 'cat', '--help'], ['parquet', '--help'], ['avro', 'cat', '-h'],
      ['table', 'scan', '--help'], ['maintain', 'orphans', '--help'], ['run', '--help'],
      ['status', '--help'], ['validate', '--help'], ['config', 'check', '--help'], ['init', '--help'],
      ['demo', '--help']]) {
      const h = floe(dir, args);
      assert.equal(h.status, 0, `${args.join(' ')}: ${h.stderr}`);
      assert.match(h.stdout, /usage: floe/, args.join(' '));
    }
    // status and validate: warnings and errors only, whatever logging.level says, unless -v.
    const st = runOk(dir, ['status']);
    assert.equal(st.stderr, '');
    assert.match(runOk(dir, ['status', '-v']).stderr, /event=connect/);
    assert.equal(runOk(dir, ['validate']).stderr, '');
  });
});

// ---- rows floe will never load (A2) -----------------------------------------
//
// The same scenario on SQLite and PostgreSQL: three batches loaded one
// commit each (chunked), then a row arrives late into batch 2, rows arrive
// with a NULL, 0 and negative batch, and a new batch comes. warn reports
// them (log, report, floe status) and loads the new batch; fail exits 5
// before inserting a control row; reload overwrites the late range, and an
// independent reader (icebird) finds the table equal to the source's rows
// with a valid batch, on that run and after further runs.

const LATE_COLS = ['id', 'batch_sk'];

async function lateScenario(src) {
  const { dir, exec, rows, writeJob, readTable } = src;
  exec('CREATE TABLE t (id INTEGER, batch_sk INTEGER); CREATE INDEX t_batch ON t (batch_sk);' +
    'INSERT INTO t VALUES (1, 1), (2, 1), (3, 2), (4, 3), (5, 3);');
  writeJob('  t: {strategy: chunked, chunk: {by: batch}}');
  runOk(dir);
  let rep = report(dir);
  assert.equal(rep.tables[0].rows_written, 5);
  assert.equal(rep.tables[0].rows_invalid, 0);
  assert.equal(rep.tables[0].rows_late, null, 'nothing was loaded before this run');
  runOk(dir);
  rep = report(dir);
  assert.equal(rep.tables[0].status, 'nothing_new');
  assert.equal(rep.tables[0].rows_late, 0);
  assert.deepEqual(rep.tables[0].late_ranges, []);

  // One row late into batch 2, three invalid ones, a new batch 4.
  exec('INSERT INTO t VALUES (6, 2), (7, NULL), (8, 0), (9, -1), (10, 4);');
  let r = runOk(dir);
  assert.match(r.stderr, /level=warn.*event=invalid_rows table=t rows=3 /);
  assert.match(r.stderr, /level=warn.*event=late_rows table=t rows=1 batch_sk_low=1 batch_sk_high=2 source_rows=2 loaded_rows=1 /);
  rep = report(dir);
  assert.equal(rep.tables[0].status, 'ok');
  assert.equal(rep.tables[0].rows_invalid, 3);
  assert.equal(rep.tables[0].rows_late, 1);
  assert.deepEqual(rep.tables[0].late_ranges,
    [{ batch_sk_low: 1, batch_sk_high: 2, source_rows: 2, loaded_rows: 1, baseline: false }]);
  assert.equal(rep.counts.late_rows, 1);
  assert.equal(rep.tables[0].rows_written, 1, 'batch 4 only: the late row is not loaded');
  assert.equal(rep.tables[0].rows_reloaded, 0);
  const st = runOk(dir, ['status']);
  assert.match(st.stdout, /never loaded: 3 invalid, 1 late in \(1, 2\]/);
  // The count carries across runs: still found, not forgotten.
  runOk(dir);
  assert.equal(report(dir).tables[0].rows_late, 1);

  // fail: exit 5, no control row, nothing committed.
  writeJob('  t: {strategy: chunked, chunk: {by: batch}, late_rows: fail}');
  exec('INSERT INTO t VALUES (11, 5);');
  const before = await readTable();
  r = floe(dir, ['run']);
  assert.equal(r.status, 5, r.stdout + r.stderr);
  assert.match(r.stderr, /late_rows: fail: 3 source row\(s\) with a NULL, 0 or negative batch_sk and 1 late row\(s\) in loaded batch ranges \(first in batch range \(1, 2\]\); nothing was loaded/);
  rep = report(dir);
  assert.equal(rep.status, 'late_rows');
  assert.equal(rep.exit_code, 5);
  assert.equal(rep.tables[0].status, 'failed');
  assert.deepEqual(rows("SELECT max(batch_sk) AS m FROM floe_control WHERE table_name = 't'")[0].m, 4);
  assert.deepEqual(await readTable(), before);

  // reload: the late range is overwritten from the source; batch 5 loads.
  writeJob('  t: {strategy: chunked, chunk: {by: batch}, late_rows: reload}');
  r = runOk(dir);
  assert.match(r.stderr, /level=warn.*event=late_rows_reloaded table=t batch_sk_low=1 batch_sk_high=2 rows=2 loaded_before=1 /);
  rep = report(dir);
  assert.equal(rep.tables[0].status, 'ok');
  assert.equal(rep.tables[0].rows_late, 1);
  assert.equal(rep.tables[0].rows_reloaded, 2);
  assert.equal(rep.tables[0].rows_written, 1, 'batch 5');
  const want = normalizeRows(rows('SELECT id, batch_sk FROM t WHERE batch_sk > 0'), LATE_COLS);
  assert.equal(want.length, 8);
  assert.deepEqual(await readTable(), want);
  // The next run finds nothing late and reloads nothing: no duplicate.
  r = runOk(dir);
  rep = report(dir);
  assert.equal(rep.tables[0].rows_late, 0);
  assert.equal(rep.tables[0].rows_reloaded, 0);
  assert.doesNotMatch(r.stderr, /event=late_rows/);
  assert.deepEqual(await readTable(), want);
  // Late rows into two ranges at once: both reloaded, each once.
  exec('INSERT INTO t VALUES (12, 1), (13, 3), (14, 3);');
  r = runOk(dir);
  rep = report(dir);
  assert.equal(rep.tables[0].rows_late, 3);
  assert.deepEqual(rep.tables[0].late_ranges.map((x) => [x.batch_sk_low, x.batch_sk_high]), [[0, 1], [2, 3]]);
  assert.equal(rep.tables[0].rows_reloaded, 3 + 4);
  const want2 = normalizeRows(rows('SELECT id, batch_sk FROM t WHERE batch_sk > 0'), LATE_COLS);
  assert.deepEqual(await readTable(), want2);
  assert.equal(runOk(dir, ['validate']).status, 0);
}

describe('rows floe will never load', { skip: ready ? false : skipReason }, () => {
  test('SQLite: late and invalid rows are reported (warn), stop the table (fail, exit 5) and are reloaded (reload)', async () => {
    const dir = scratch('late');
    await lateScenario({
      dir,
      exec: (sql) => sqlite(dir, sql),
      rows: (sql) => sqliteRows(path.join(dir, 'source.db'), sql),
      writeJob: (tables) => job(dir, tables),
      readTable: () => tableRows(dir, 't', LATE_COLS),
    });
  });

  test('SQLite merge: reload merges from the late range to the control max, so a late change never beats a later batch', async () => {
    const dir = scratch('late-merge');
    sqlite(dir, 'CREATE TABLE m (id INTEGER, v TEXT, batch_sk INTEGER);' +
      "INSERT INTO m VALUES (1, 'a', 1), (2, 'b', 1), (1, 'a2', 2), (3, 'c', 3);");
    const conf = (late) => job(dir, `  m: {strategy: chunked, chunk: {by: batch}, mode: merge, primary_key: [id], late_rows: ${late}}`);
    conf('warn');
    runOk(dir);
    // Late into batch 1: a new key, and a change of key 1 that batch 2 has
    // already superseded.
    sqlite(dir, "INSERT INTO m VALUES (4, 'd', 1), (1, 'late', 1), (2, 'b3', 3);");
    conf('reload');
    const r = runOk(dir);
    assert.match(r.stderr, /event=late_rows table=m rows=2 batch_sk_low=0 batch_sk_high=1 source_rows=4 loaded_rows=2 /);
    assert.match(r.stderr, /event=late_rows_reloaded table=m batch_sk_low=0 batch_sk_high=3 rows=7 /);
    const cols = ['id', 'v', 'batch_sk'];
    assert.deepEqual(await tableRows(dir, 'm', cols), normalizeRows([
      { id: 1, v: 'a2', batch_sk: 2 }, { id: 2, v: 'b3', batch_sk: 3 },
      { id: 3, v: 'c', batch_sk: 3 }, { id: 4, v: 'd', batch_sk: 1 }], cols));
    runOk(dir);
    assert.equal(report(dir).tables[0].rows_late, 0);
    assert.equal(report(dir).tables[0].rows_reloaded, 0);
  });

  test('reload is idempotent across crashes: before its commit the rows stay late, after it nothing is reloaded twice', async () => {
    const dir = scratch('late-crash');
    sqlite(dir, 'CREATE TABLE t (id INTEGER, batch_sk INTEGER);' +
      'INSERT INTO t VALUES (1, 1), (2, 2), (3, 3);');
    job(dir, '  t: {strategy: chunked, chunk: {by: batch}, late_rows: reload}');
    runOk(dir);
    sqlite(dir, 'INSERT INTO t VALUES (4, 2), (5, 2), (6, 4);');
    const want = () => normalizeRows(sqliteRows(path.join(dir, 'source.db'), 'SELECT id, batch_sk FROM t'), LATE_COLS);
    for (const point of ['before_commit', 'after_commit']) {
      const before = await tableRows(dir, 't', LATE_COLS);
      const r = floe(dir, ['run'], { FLOE_CRASH_AT: point });
      assert.equal(r.status, 137, `${point}: ${r.stdout}${r.stderr}`);
      if (point === 'before_commit') assert.deepEqual(await tableRows(dir, 't', LATE_COLS), before, 'nothing committed');
    }
    // before_commit: the next run (crashing after the reload's commit)
    // reloaded (1, 2]; this run finds nothing late and loads batch 4 only.
    runOk(dir);
    const rep = report(dir).tables[0];
    assert.equal(rep.rows_late, 0);
    assert.equal(rep.rows_reloaded, 0);
    assert.equal(rep.rows_written, 1);
    assert.deepEqual(await tableRows(dir, 't', LATE_COLS), want());
    assert.equal(runOk(dir, ['validate']).status, 0);
  });

  test('expired snapshots: the ranges they recorded form one range from 0, found and reloaded as one', async () => {
    const dir = scratch('late-expired');
    sqlite(dir, 'CREATE TABLE t (id INTEGER, batch_sk INTEGER);' +
      'INSERT INTO t VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 4);');
    job(dir, '  t: {strategy: chunked, chunk: {by: batch}, late_rows: reload}');
    runOk(dir);
    runOk(dir, ['maintain', 'e2e.t', '--expire-snapshots', '--older-than', '0ms', '--retain-last', '2', '-c', 'floe.yaml']);
    const kept = readMetadataFile(dir, 't').snapshots.filter((x) => x.summary['floe.source-table'] === 't');
    assert.deepEqual(kept.map((x) => x.summary['floe.batch-sk.low']), ['2', '3']);
    sqlite(dir, 'INSERT INTO t VALUES (6, 1), (7, 4);');
    const r = runOk(dir);
    assert.deepEqual(report(dir).tables[0].late_ranges.map((x) => [x.batch_sk_low, x.batch_sk_high, x.source_rows, x.loaded_rows]),
      [[0, 2, 3, 2], [3, 4, 3, 2]]);
    assert.match(r.stderr, /event=late_rows_reloaded table=t batch_sk_low=0 batch_sk_high=2 rows=3 loaded_before=2 /);
    assert.deepEqual(await tableRows(dir, 't', LATE_COLS),
      normalizeRows(sqliteRows(path.join(dir, 'source.db'), 'SELECT id, batch_sk FROM t'), LATE_COLS));
    runOk(dir);
    assert.equal(report(dir).tables[0].rows_late, 0);
  });

  test('start_after: rows late into the baseline\'s batches are reported but never reloaded; rows late into loaded ones are', async () => {
    const dir = scratch('late-baseline');
    sqlite(dir, 'CREATE TABLE t (id INTEGER, batch_sk INTEGER);' +
      'INSERT INTO t VALUES (1, 1), (2, 2), (3, 3), (4, 4);');
    job(dir, '  t: {strategy: chunked, chunk: {by: batch}, start_after: 2, late_rows: reload}');
    runOk(dir);
    assert.equal(report(dir).tables[0].rows_written, 2, 'batches 3 and 4');
    const baseline = readMetadataFile(dir, 't').snapshots.find((x) => x.summary['floe.baseline']);
    assert.equal(baseline.summary['floe.source-rows'], '2', 'the baseline counts the rows of its batches');
    sqlite(dir, 'INSERT INTO t VALUES (5, 1), (6, 4);');
    const r = runOk(dir);
    const rep = report(dir).tables[0];
    assert.equal(rep.rows_late, 2);
    assert.deepEqual(rep.late_ranges.map((x) => [x.batch_sk_low, x.batch_sk_high, x.baseline]), [[0, 2, true], [3, 4, false]]);
    assert.match(r.stderr, /event=late_rows_not_reloaded table=t batch_sk_low=0 batch_sk_high=2 /);
    assert.match(r.stderr, /event=late_rows_reloaded table=t batch_sk_low=3 batch_sk_high=4 rows=2 /);
    assert.equal(rep.rows_reloaded, 2);
    assert.deepEqual(await tableRows(dir, 't', LATE_COLS),
      normalizeRows(sqliteRows(path.join(dir, 'source.db'), 'SELECT id, batch_sk FROM t WHERE batch_sk > 2'), LATE_COLS));
    // Still reported (the baseline's range keeps them), nothing reloaded again.
    runOk(dir);
    assert.equal(report(dir).tables[0].rows_late, 1);
    assert.equal(report(dir).tables[0].rows_reloaded, 0);
  });

  test('PostgreSQL: late and invalid rows are reported (warn), stop the table (fail, exit 5) and are reloaded (reload)', async () => {
    const pgDir = mkdtempSync(path.join(tmpdir(), 'floe-e2e-pg-late-'));
    const start = spawnSync(path.join(REPO, 'tests/support/pg.sh'), ['start', pgDir, String(process.pid)], { encoding: 'utf8' });
    assert.equal(start.status, 0, `PostgreSQL did not start: ${start.stderr}`);
    const conninfo = start.stdout.trim();
    try {
      pgExec(`${conninfo} dbname=postgres`, 'CREATE DATABASE late');
      const db = `${conninfo} dbname=late`;
      const dir = scratch('late-pg');
      await lateScenario({
        dir,
        exec: (sql) => pgExec(db, sql),
        rows: (sql) => pgRows(db, sql),
        writeJob: (tables) => writeJob(dir, tables, { source: `{type: postgres, conninfo: "${db}"}`, report: true }),
        readTable: () => tableRows(dir, 't', LATE_COLS),
      });
    } finally {
      spawnSync(path.join(REPO, 'tests/support/pg.sh'), ['stop', pgDir]);
    }
  });
});
