// End-to-end tests of `floe maintain NS.TABLE` on tables that `floe run`
// loads from a SQLite source, and of maintenance racing replication.
//
// Every maintained table is read by independent readers and compared with
// the source: icebird reads the whole table (deletes applied), DuckDB reads
// the live data files by field id once compaction has folded every delete
// into them. The races use the crash points as gates (FLOE_PAUSE_AT): one
// process is held just before its commit while the other commits, then
// released; in every order the table must equal the source afterwards, the
// control table must hold each batch once, and no batch may be committed
// twice.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/maintain.test.mjs

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  duckdbFiles, metadataLocation, normalizeRows, readIceberg, readMetadata, sh, sqliteRows,
} from './lib/check_table.mjs';
import {
  FIXTURES, floe, ready, runOk as ok, scratch, skipReason, sqlite, startPaused, writeJob,
} from './lib/cli.mjs';

const job = (dir, deletes) => writeJob(dir, `  customers: {mode: merge, merge: {deletes: ${deletes}}}`);

function maintain(dir, args, env = {}) {
  const r = ok(dir, ['maintain', 'e2e.customers', ...args, '--json', '-c', 'floe.yaml'], env);
  return JSON.parse(r.stdout);
}

const COLS = ['customer_id', 'name', 'batch_sk'];

// Batch b: customers b..b+2 updated, customer 100+b inserted.
function loadBatch(dir, b) {
  sqlite(dir, `UPDATE customers SET name = name || '-${b}', batch_sk = ${b} WHERE customer_id BETWEEN ${b} AND ${b + 2};` +
    `INSERT INTO customers VALUES (${100 + b}, 'new${b}', ${b});`);
}

function setup(name, deletes, batches) {
  const dir = scratch(name);
  const values = [];
  for (let i = 1; i <= 20; i++) values.push(`(${i}, 'c${i}', 1)`);
  sqlite(dir, `CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, batch_sk INTEGER);
    INSERT INTO customers VALUES ${values.join(',')};`);
  job(dir, deletes);
  ok(dir, ['run']);
  for (let b = 2; b <= batches; b++) {
    loadBatch(dir, b);
    ok(dir, ['run']);
  }
  return dir;
}

async function assertEqualsSource(dir) {
  const expected = normalizeRows(sqliteRows(path.join(dir, 'source.db'), 'SELECT * FROM customers'), COLS);
  const got = normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', 'customers'), COLS);
  assert.deepEqual(got, expected, 'icebird rows of e2e.customers');
  return expected.length;
}

async function assertDuckdb(dir) {
  const d = await duckdbFiles(path.join(dir, 'catalog.db'), 'e2e', 'customers', 1);
  const [s] = sqliteRows(path.join(dir, 'source.db'), 'SELECT count(*) AS n, sum(customer_id) AS total FROM customers');
  assert.equal(d.rows, Number(s.n), 'DuckDB row count');
  assert.equal(d.sum, BigInt(s.total), 'DuckDB sum of customer_id');
  return d.files;
}

function metadata(dir) {
  return readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'customers'));
}

// Each batch is in the control table once and committed by one snapshot.
function assertExactlyOnce(dir, maxBatch) {
  const control = sqliteRows(path.join(dir, 'source.db'),
    "SELECT batch_sk FROM floe_control WHERE table_name = 'customers' AND batch_sk > 0 ORDER BY batch_sk");
  assert.deepEqual(control.map((r) => r.batch_sk), Array.from({ length: maxBatch }, (_, i) => i + 1));
  const highs = metadata(dir).snapshots.map((s) => s.summary['floe.batch-sk.high']).filter((h) => h !== undefined);
  assert.equal(new Set(highs).size, highs.length, `a batch committed twice: ${highs}`);
}

// Starts floe paused at `point`; resolves once it is paused.

describe('floe maintain', { skip: ready ? false : skipReason }, () => {
  test('dry run, then every operation: independent readers read the source, replication carries on', async () => {
    const dir = setup('maintain', 'equality', 4);
    const before = metadata(dir);
    const location = metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'customers');
    const dry = maintain(dir, ['--dry-run', '--older-than', '0']);
    assert.equal(dry.dry_run, true);
    assert.equal(dry.commits, 0);
    assert.equal(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'customers'), location);
    assert.ok(dry.convert_equality_deletes.equality_delete_files_removed >= 3, JSON.stringify(dry));
    assert.ok(dry.compact.files_rewritten >= 4, JSON.stringify(dry));

    const r = maintain(dir, ['--older-than', '0']);
    assert.equal(r.convert_equality_deletes.equality_delete_files_removed, dry.convert_equality_deletes.equality_delete_files_removed);
    assert.equal(r.convert_equality_deletes.rows, 9); // 3 updated keys x batches 2..4
    assert.equal(r.compact.files_rewritten, dry.compact.files_rewritten);
    assert.equal(r.compact.data_files_after, 1);
    assert.equal(r.compact.delete_files_after, 0);
    assert.equal(r.compact.rows_rewritten, 23);
    assert.ok(r.rewrite_manifests.manifests_after < r.rewrite_manifests.manifests_before);
    // floe's committed watermark property stands in for the load
    // snapshots: every one of them expires, and with them every file the
    // compaction and the conversion replaced.
    assert.equal(r.expire_snapshots.snapshots_after, 1, JSON.stringify(r.expire_snapshots));
    assert.equal(r.expire_snapshots.snapshots_kept_for_floe, 0);
    assert.equal(r.expire_snapshots.data_files_deleted, r.compact.files_rewritten);
    assert.equal(r.expire_snapshots.delete_files_deleted,
      r.convert_equality_deletes.equality_delete_files_removed + r.convert_equality_deletes.position_delete_files_added);
    assert.equal(r.commits, 3 + (r.expire_snapshots.snapshots_expired > 0 ? 1 : 0));
    assert.equal(await assertEqualsSource(dir), 23);
    assert.equal(await assertDuckdb(dir), 1);
    const after = metadata(dir);
    assert.ok(after.snapshots.length < before.snapshots.length + 3);
    for (const s of after.snapshots.filter((x) => x.summary['floe.maintenance'])) {
      assert.equal(s.summary['floe.source-table'], undefined);
      assert.ok(['replace', 'overwrite', 'delete'].includes(s.summary.operation));
    }

    // Replication goes on after expiry: reconciliation reads the property.
    loadBatch(dir, 5);
    ok(dir, ['run']);
    assert.equal(await assertEqualsSource(dir), 24);
    assertExactlyOnce(dir, 5);
    const e = maintain(dir, ['--expire-snapshots', '--older-than', '0']);
    assert.equal(e.expire_snapshots.snapshots_expired, 1, JSON.stringify(e.expire_snapshots));
    assert.equal(e.expire_snapshots.data_files_deleted, 0); // still live
    assert.equal(await assertEqualsSource(dir), 24);
    const orphans = ok(dir, ['maintain', 'orphans', 'e2e.customers', '--older-than', '0', '-c', 'floe.yaml']);
    assert.match(orphans.stdout, /^0 orphan files/m);
    loadBatch(dir, 6);
    ok(dir, ['run']);
    assert.equal(await assertEqualsSource(dir), 25);
    assertExactlyOnce(dir, 6);
  });

  test('a merge committed while compaction waits to commit: the group is redone, nothing lost or resurrected', async () => {
    const dir = setup('race-merge-first', 'position', 3);
    const m = await startPaused(dir, ['maintain', 'e2e.customers', '--compact', '--json', '-c', 'floe.yaml'],
      'maintain_before_commit');
    loadBatch(dir, 4);
    ok(dir, ['run']);
    m.release();
    const r = await m.exited;
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.compact.groups_conflicted, 1);
    assert.equal(report.compact.groups_redone, 1);
    assert.equal(report.compact.groups_committed, 1);
    assert.equal(await assertEqualsSource(dir), 23);
    assertExactlyOnce(dir, 4);
  });

  test('compaction committed while a merge waits to commit: the merge is redone in the same run, once', async () => {
    const dir = setup('race-compact-first', 'position', 3);
    loadBatch(dir, 4);
    const run = await startPaused(dir, ['run'], 'before_commit');
    const report = maintain(dir, ['--compact']);
    assert.equal(report.compact.groups_committed, 1);
    run.release();
    const r = await run.exited;
    // The merge's position deletes name a data file the compaction
    // replaced: its commit conflicts, and the run redoes the merge on the
    // compacted table (the control row stays).
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /event=merge_redo table=customers batch_sk_low=3 batch_sk_high=4 .*deleted by a concurrent commit/);
    assert.doesNotMatch(r.stderr, /event=compensate/);
    assert.match(r.stdout, /customers\s+ok\s+\(3, 4\]/);
    assert.equal(await assertEqualsSource(dir), 23);
    assertExactlyOnce(dir, 4);
    // The next run finds nothing new.
    const again = ok(dir, ['run']);
    assert.doesNotMatch(again.stderr, /event=(repair|compensate)/);
    assertExactlyOnce(dir, 4);
  });

  test('the job\'s maintenance block: floe run maintains the table when thresholds are crossed', async () => {
    const dir = scratch('maintenance-block');
    const values = [];
    for (let i = 1; i <= 20; i++) values.push(`(${i}, 'c${i}', 1)`);
    sqlite(dir, `CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, batch_sk INTEGER);
      INSERT INTO customers VALUES ${values.join(',')};`);
    writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: sqlite, path: ./source.db}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: e2e
run: {durability: none, report: ./report.json}
defaults:
  maintenance: {compact_min_files: 4, delete_ratio_percent: 200, convert_equality_deletes: true,
                max_manifests: 6, max_snapshots: 5, expire_older_than: 0ms, retain_last: 3}
tables:
  customers: {mode: merge, merge: {deletes: equality}}
`);
    ok(dir, ['run']);
    const reports = [];
    for (let b = 2; b <= 9; b++) {
      loadBatch(dir, b);
      ok(dir, ['run']);
      const rep = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')).tables[0];
      assert.equal(rep.status, 'ok');
      reports.push(rep.maintenance ?? null);
      assert.equal(await assertEqualsSource(dir), 20 + b - 1);
      // Never more snapshots than the block allows plus one run's commits.
      assert.ok(metadata(dir).snapshots.length <= 5 + 4, `${metadata(dir).snapshots.length} snapshots`);
    }
    const done = reports.filter((r) => r !== null);
    assert.ok(done.length >= 2, JSON.stringify(reports));
    for (const r of done) assert.equal(r.error, null, JSON.stringify(r));
    // Equality deletes were converted, small files compacted, snapshots expired.
    assert.ok(done.some((r) => r.convert_equality_deletes.equality_delete_files_removed > 0));
    assert.ok(done.some((r) => r.compact.groups_committed > 0));
    assert.ok(done.some((r) => r.expire_snapshots.snapshots_expired > 0));
    assert.ok(done.every((r) => r.reasons.length > 0));
    assertExactlyOnce(dir, 9);
    // Nothing new: no load; whatever maintenance still does keeps the data.
    const again = ok(dir, ['run']);
    assert.match(again.stdout, /nothing_new/);
    assert.equal(await assertEqualsSource(dir), 28);
    const v = floe(dir, ['validate']);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });

  test('appends racing compaction in both orders', async () => {
    const dir = scratch('race-append');
    sqlite(dir, 'CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, batch_sk INTEGER);');
    writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: sqlite, path: ./source.db}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: e2e
run: {durability: none}
tables:
  customers: {mode: append}
`);
    for (let b = 1; b <= 4; b++) {
      sqlite(dir, `INSERT INTO customers VALUES (${b * 2 - 1}, 'a${b}', ${b}), (${b * 2}, 'b${b}', ${b});`);
      ok(dir, ['run']);
    }
    // Compaction held at its commit while an append lands.
    const m = await startPaused(dir, ['maintain', 'e2e.customers', '--compact', '--json', '-c', 'floe.yaml'],
      'maintain_before_commit');
    sqlite(dir, "INSERT INTO customers VALUES (9, 'a5', 5);");
    ok(dir, ['run']);
    m.release();
    const r = await m.exited;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).compact.groups_conflicted, 0); // an append never conflicts
    assert.equal(await assertEqualsSource(dir), 9);
    // An append held at its commit while compaction lands.
    sqlite(dir, "INSERT INTO customers VALUES (10, 'a6', 6);");
    const run = await startPaused(dir, ['run'], 'before_commit');
    maintain(dir, ['--compact', '--min-input-files', '2']);
    run.release();
    assert.equal((await run.exited).status, 0);
    assert.equal(await assertEqualsSource(dir), 10);
    assert.equal(await assertDuckdb(dir) >= 1, true);
    assertExactlyOnce(dir, 6);
  });
  // Iceberg v3 tables other engines wrote (../shared/fixtures): floe does
  // not write v3 yet, so the operations that write files refuse by name;
  // expiry writes only metadata and works.
  for (const fixture of ['lithium_deletion_vectors', 'lithium_spark_v3_deletion_vector_sample']) {
    test(`a format-version 3 table (${fixture}): rewrites refused by name, nothing written`, () => {
      const dir = scratch('v3');
      sqlite(dir, "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, batch_sk INTEGER); INSERT INTO customers VALUES (1, 'a', 1);");
      job(dir, 'position');
      ok(dir, ['run']);
      const mdDir = path.join(FIXTURES, 'iceberg', fixture, 'metadata');
      const latest = sh('ls', [mdDir]).split('\n').filter((f) => f.endsWith('.metadata.json')).sort().at(-1);
      const loc = path.join(mdDir, latest);
      sh('sqlite3', [path.join(dir, 'catalog.db'),
        `INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location) VALUES ('floe', 'e2e', 'dv', '${loc}')`]);
      for (const [op, what] of [['--convert-equality-deletes', 'converting equality deletes'], ['--compact', 'compaction'],
        ['--rewrite-manifests', 'the manifest rewrite'], [null, 'converting equality deletes']]) {
        const r = floe(dir, ['maintain', 'e2e.dv', ...(op ? [op] : []), '-c', 'floe.yaml']);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, new RegExp(`floe: table e2e\\.dv: .*the table is Iceberg format-version 3; floe does not write v3 tables yet .*so ${what} wrote nothing`));
        assert.equal(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'dv'), loc);
      }
    });
  }

  test('snapshot expiry on a format-version 3 table Spark wrote (deletion vectors)', () => {
    const dir = scratch('v3-expire');
    sqlite(dir, "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, batch_sk INTEGER); INSERT INTO customers VALUES (1, 'a', 1);");
    job(dir, 'position');
    ok(dir, ['run']);
    // The fixture's location is relative ("warehouse/deletion_vector/..."):
    // a copy under the job's directory is a writable table.
    const table = path.join(dir, 'warehouse/deletion_vector/deletion_vector_sample');
    mkdirSync(path.dirname(table), { recursive: true });
    cpSync(path.join(FIXTURES, 'iceberg/lithium_spark_v3_deletion_vector_sample'), table, { recursive: true });
    const v3 = 'warehouse/deletion_vector/deletion_vector_sample/metadata/v3.metadata.json';
    sh('sqlite3', [path.join(dir, 'catalog.db'),
      `INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location) VALUES ('floe', 'e2e', 'dv', '${v3}')`]);
    const expected = readFileSync(path.join(FIXTURES, 'expected/iceberg/lithium_spark_v3_deletion_vector_sample.v3.csv'), 'utf8').trim();
    const scan = () => ok(dir, ['table', 'scan', 'e2e.dv', '-c', 'floe.yaml', '--format', 'csv']).stdout.trim();
    assert.equal(scan(), expected);
    const before = readMetadata(path.join(dir, v3));
    const r = JSON.parse(ok(dir, ['maintain', 'e2e.dv', '--expire-snapshots', '--older-than', '0', '--retain-last', '1',
      '--json', '-c', 'floe.yaml']).stdout);
    assert.equal(r.expire_snapshots.snapshots_expired, 1);
    assert.equal(r.expire_snapshots.manifest_lists_deleted, 1);
    assert.equal(r.expire_snapshots.data_files_deleted + r.expire_snapshots.delete_files_deleted, 0);
    const loc = metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'dv');
    assert.notEqual(loc, v3);
    const after = readMetadata(path.join(dir, loc));
    assert.equal(after['format-version'], 3);
    assert.equal(after['table-uuid'], before['table-uuid']);
    assert.deepEqual(after.snapshots, before.snapshots.filter((s) => s['snapshot-id'] === before['current-snapshot-id']));
    assert.deepEqual(after.refs, before.refs);
    // This table predates row lineage (no next-row-id): the v3 metadata
    // floe writes states it as 0 (no row id assigned yet; the spec lists
    // next-row-id as required in v3).
    assert.equal(after['next-row-id'], before['next-row-id'] ?? 0);
    // The expired snapshot's manifest list is gone; the data file, the
    // deletion vector's Puffin file and both manifests are still reached.
    const gone = before.snapshots.find((s) => s['snapshot-id'] !== before['current-snapshot-id'])['manifest-list'];
    assert.equal(existsSync(path.join(dir, gone)), false);
    assert.equal(sh('ls', [path.join(table, 'data')]).split('\n').filter(Boolean).length, 2);
    assert.equal(scan(), expected);
  });
});
