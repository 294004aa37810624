// End-to-end tests of partition and sort-order evolution (docs/config.md,
// "Partitioning and sort order"): a changed partition_by on an existing
// table gives it a new default spec (new spec id, field ids after the last
// partition field id); files already written keep their spec; new data goes
// into the new one; merges delete rows of old-spec files in those files'
// specs; maintenance compacts across specs; an unchanged partition_by
// commits nothing. After every run icebird reads the table and it must equal
// the source.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/evolve.test.mjs

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  duckdbFileRows, metadataLocation, modulesPresent, normalizeRows, readIceberg, readMetadata, sqliteRows,
} from './lib/check_table.mjs';
import { FLOE, floe, runOk, scratch, sqlite, writeJob } from './lib/cli.mjs';

const job = (dir, entry) => writeJob(dir, `  events: ${entry}`, { control: 'floe_control' });

const COLUMNS = ['id', 'ts', 'v', 'batch_sk'];
const CREATE = 'CREATE TABLE events (id INTEGER PRIMARY KEY, ts TIMESTAMP, v TEXT, batch_sk INTEGER NOT NULL);';
function rows(from, to, batch, day = (i) => 1 + (((i - 1) >> 2) % 28)) {
  const v = [];
  for (let i = from; i <= to; i++) v.push(`(${i}, '2024-03-${String(day(i)).padStart(2, '0')} 1${i % 10}:00:00', 'v${i}', ${batch})`);
  return `INSERT INTO events VALUES ${v.join(',')};`;
}

const metadata = (dir) => readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 'events'));

async function assertEqualsSource(dir, what, where = '1 = 1') {
  const got = normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', 'events'), COLUMNS);
  const want = normalizeRows(sqliteRows(path.join(dir, 'source.db'), `SELECT * FROM events WHERE ${where}`), COLUMNS);
  assert.deepEqual(got, want, `${what}: icebird's rows differ from the source`);
}

// The live data files' spec ids, from `floe table inspect`.
function liveSpecs(dir) {
  const out = runOk(dir, ['table', 'inspect', 'e2e.events', '-c', 'floe.yaml']).stdout;
  const specs = {};
  for (const m of out.matchAll(/^ {2}(data|position-deletes|equality-deletes) .* spec=(\d+) /gm)) {
    specs[m[1]] ??= new Set();
    specs[m[1]].add(Number(m[2]));
  }
  return { out, specs };
}

describe('partition evolution', () => {
  test('the readers these tests use are installed', () => {
    assert.ok(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
    assert.ok(modulesPresent(), 'node modules missing: run scripts/deps.sh --npm');
  });

  test('append by day, then bucket: a new spec; merges after the change delete old-spec rows in their own spec', async () => {
    const dir = scratch('evolve');
    sqlite(dir, CREATE + rows(1, 12, 1));
    job(dir, '{partition_by: [day(ts)]}');
    runOk(dir);
    let md = metadata(dir);
    assert.equal(md['default-spec-id'], 0);
    assert.deepEqual(md['partition-specs'][0].fields.map((f) => [f.name, f.transform, f['field-id']]),
      [['ts_day', 'day', 1000]]);
    await assertEqualsSource(dir, 'run 1');

    // Unchanged partition_by: no new spec, no metadata-only commit.
    sqlite(dir, rows(13, 14, 2));
    const same = runOk(dir);
    assert.doesNotMatch(same.stderr, /partition_evolution/);
    assert.equal(metadata(dir)['partition-specs'].length, 1);

    // day -> bucket: spec 1, field id 1001, logged old -> new.
    job(dir, '{partition_by: [bucket(4, id)]}');
    sqlite(dir, rows(15, 20, 3));
    const evolved = runOk(dir);
    assert.match(evolved.stderr,
      /level=info event=partition_evolution table=events target=e2e.events old="0:\[ts_day=day\(2\)#1000\]" new="1:\[id_bucket=bucket\[4\]\(1\)#1001\]"/);
    md = metadata(dir);
    assert.equal(md['default-spec-id'], 1);
    assert.equal(md['last-partition-id'], 1001);
    assert.deepEqual(md['partition-specs'].map((s) => s['spec-id']), [0, 1]);
    let { out, specs } = liveSpecs(dir);
    assert.match(out, /^ {2}spec 0: ts_day=day\(2\) \[1000\]$/m);
    assert.match(out, /^ {2}spec 1 \(default\): id_bucket=bucket\[4\]\(1\) \[1001\]$/m);
    assert.deepEqual([...specs.data].sort(), [0, 1], 'old files keep spec 0, new ones are in spec 1');
    await assertEqualsSource(dir, 'after the change');

    // Merges touching rows of both specs, with each kind of delete.
    for (const [deletes, batch, ids] of [['position', 4, [1, 2, 16]], ['equality', 5, [3, 5, 17]],
      ['copy_on_write', 6, [6, 9, 18]]]) {
      job(dir, `{partition_by: [bucket(4, id)], mode: merge, primary_key: [id], merge: {deletes: ${deletes}}}`);
      sqlite(dir, `UPDATE events SET v = '${deletes}', batch_sk = ${batch} WHERE id IN (${ids.join(',')});` +
        rows(100 + batch, 100 + batch, batch));
      const r = runOk(dir);
      assert.doesNotMatch(r.stderr, /partition_evolution/);
      await assertEqualsSource(dir, `merge with ${deletes} deletes`);
      ({ specs } = liveSpecs(dir));
      if (deletes === 'position') assert.deepEqual([...specs['position-deletes']].sort(), [0, 1]);
      if (deletes === 'equality') {
        // Several specs: the merge deletes by position, in each file's spec.
        assert.equal(specs['equality-deletes'], undefined);
        assert.deepEqual([...specs['position-deletes']].sort(), [0, 1]);
      }
    }
    runOk(dir, ['validate']);

    // Maintenance across specs: equality deletes converted into each data
    // file's spec, small files of both specs compacted into the default.
    runOk(dir, ['maintain', 'e2e.events', '--convert-equality-deletes', '--compact', '--min-input-files', '2',
      '-c', 'floe.yaml']);
    ({ specs } = liveSpecs(dir));
    assert.equal(specs['equality-deletes'], undefined);
    await assertEqualsSource(dir, 'after maintenance');

    // partition_by emptied: the unpartitioned spec becomes the default.
    job(dir, '{partition_by: [], mode: merge, primary_key: [id]}');
    sqlite(dir, "UPDATE events SET v = 'unpartitioned', batch_sk = 7 WHERE id IN (4, 19);" + rows(200, 201, 7));
    const r = runOk(dir);
    assert.match(r.stderr, /event=partition_evolution .* new=2:\[\]/);
    md = metadata(dir);
    assert.equal(md['default-spec-id'], 2);
    assert.deepEqual(md['partition-specs'][2].fields, []);
    await assertEqualsSource(dir, 'unpartitioned');
    runOk(dir, ['validate']);
  });

  test('sort_by sets the sort order; a change adds an order and makes it the default', async () => {
    const dir = scratch('sort');
    sqlite(dir, CREATE + rows(1, 4, 1));
    job(dir, '{sort_by: [ts desc, id]}');
    runOk(dir);
    let md = metadata(dir);
    assert.equal(md['default-sort-order-id'], 1);
    assert.deepEqual(md['sort-orders'].find((o) => o['order-id'] === 1).fields.map((f) => [f['source-id'], f.direction, f['null-order']]),
      [[2, 'desc', 'nulls-last'], [1, 'asc', 'nulls-first']]);
    sqlite(dir, rows(5, 6, 2));
    job(dir, '{sort_by: [v asc nulls last]}');
    const r = runOk(dir);
    assert.match(r.stderr, /event=sort_order_evolution table=events target=e2e.events old="1:\[2 desc nulls last, 1 asc nulls first\]" new="2:\[3 asc nulls last\]"/);
    md = metadata(dir);
    assert.equal(md['default-sort-order-id'], 2);
    assert.deepEqual(md['sort-orders'].map((o) => o['order-id']), [1, 2]);
    // No sort_by: the table's order stays; sort_by: [] is the unsorted order 0.
    job(dir, '{}');
    sqlite(dir, rows(7, 7, 3));
    runOk(dir);
    assert.equal(metadata(dir)['default-sort-order-id'], 2);
    job(dir, '{sort_by: []}');
    sqlite(dir, rows(8, 8, 4));
    runOk(dir);
    assert.equal(metadata(dir)['default-sort-order-id'], 0);
    job(dir, '{sort_by: [nosuch desc]}');
    sqlite(dir, rows(9, 9, 5));
    const refused = floe(dir, ['run']);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /sort_by\[0\]: column 'nosuch' is not a column of the table/);
    // The refused run wrote nothing: batch 5 is not in the table.
    await assertEqualsSource(dir, 'sorted table', 'batch_sk < 5');
  });
  test('data files are written in the sort order and carry its id', async () => {
    // Rows arrive in a scrambled order; grp has nulls; two buckets.
    const dir = scratch('sorted-files');
    const insert = (ids, batch) => `INSERT INTO s VALUES ${ids.map((i) =>
      `(${i}, ${i % 7 === 3 ? 'NULL' : `'g${i % 5}'`}, '2024-05-${String(1 + ((i * 37) % 28)).padStart(2, '0')} 0${i % 10}:00:00', ${i}.5, ${batch})`).join(',')};`;
    const scrambled = (from, to) => {
      const ids = [];
      for (let i = from; i <= to; i++) ids.push(i);
      return ids.sort((a, b) => ((a * 7919) % 257) - ((b * 7919) % 257));
    };
    sqlite(dir, 'CREATE TABLE s (id INTEGER PRIMARY KEY, grp TEXT, ts TIMESTAMP, amount REAL, batch_sk INTEGER NOT NULL);' +
      insert(scrambled(1, 300), 1));
    const entry = (extra = '') => writeJob(dir,
      `  s: {partition_by: [bucket(2, id)], sort_by: [grp desc nulls last, ts, id]${extra}}`, { control: 'floe_control' });
    entry();
    runOk(dir);

    // grp desc nulls last, then ts asc (nulls first), then id asc.
    const cmp = (a, b) => {
      if ((a[1] === null) !== (b[1] === null)) return a[1] === null ? 1 : -1;
      if (a[1] !== b[1]) return a[1] < b[1] ? 1 : -1;
      if (a[2] !== b[2]) return a[2] < b[2] ? -1 : 1;
      return Number(a[0]) - Number(b[0]);
    };
    const checkFiles = async (what) => {
      const out = runOk(dir, ['table', 'inspect', 'e2e.s', '-c', 'floe.yaml']).stdout;
      const files = [...out.matchAll(/^ {2}data (\S+) records=(\d+) .* snapshot=\d+( sort_order=(\d+))?$/gm)];
      assert.ok(files.length >= 2, `${what}: expected a file per bucket\n${out}`);
      let rows = 0;
      for (const [, file, records, , order] of files) {
        assert.equal(order, '1', `${what}: ${file} should carry sort order 1\n${out}`);
        const got = await duckdbFileRows(file, [[1, 'id', 'BIGINT'], [2, 'grp', 'VARCHAR'], [3, 'ts', 'TIMESTAMP']]);
        assert.equal(got.length, Number(records));
        assert.deepEqual(got, [...got].sort(cmp), `${what}: ${file} is not in the sort order`);
        rows += got.length;
      }
      return rows;
    };
    assert.equal(await checkFiles('append'), 300);
    const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'e2e', 's'));
    assert.deepEqual(md['sort-orders'].find((o) => o['order-id'] === 1).fields.map((f) => [f['source-id'], f.direction, f['null-order']]),
      [[2, 'desc', 'nulls-last'], [3, 'asc', 'nulls-first'], [1, 'asc', 'nulls-first']]);

    // A copy-on-write merge: rewritten files and new rows are sorted too.
    entry(', mode: merge, primary_key: [id], merge: {deletes: copy_on_write}');
    sqlite(dir, `UPDATE s SET grp = 'changed', batch_sk = 2 WHERE id % 10 = 0;` + insert(scrambled(301, 360), 2));
    runOk(dir);
    assert.equal(await checkFiles('copy-on-write merge'), 360);
    const got = normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', 's'), ['id', 'grp', 'ts', 'amount', 'batch_sk']);
    const want = normalizeRows(sqliteRows(path.join(dir, 'source.db'), 'SELECT * FROM s'), ['id', 'grp', 'ts', 'amount', 'batch_sk']);
    assert.deepEqual(got, want);
  });
  test('overwrite: partitions also replaces rows of older-spec files (implied partitions dropped, other files rewritten)', async () => {
    const dir = scratch('overwrite-specs');
    const COLS = ['id', 'ts', 'region', 'v', 'batch_sk'];
    const ins = (rows) => `INSERT INTO o VALUES ${rows.map(([id, ts, region, v, b]) =>
      `(${id}, '${ts}', ${region === null ? 'NULL' : `'${region}'`}, '${v}', ${b})`).join(',')};`;
    // Batch 1: March and April, three regions (one null).
    const b1 = [];
    for (let i = 1; i <= 24; i++)
      b1.push([i, `2024-0${3 + (i % 2)}-${String(1 + (i % 5)).padStart(2, '0')} 1${i % 10}:00:00`, [null, 'eu', 'us'][i % 3], `a${i}`, 1]);
    sqlite(dir, 'CREATE TABLE o (id INTEGER, ts TIMESTAMP, region TEXT, v TEXT, batch_sk INTEGER NOT NULL);' + ins(b1));
    const entry = (p) => writeJob(dir, `  o: {partition_by: [${p}], mode: overwrite, overwrite: partitions}`, { control: 'floe_control' });
    entry('day(ts)');
    runOk(dir);
    const table = async () => normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', 'o'), COLS);
    const source = (where) => normalizeRows(sqliteRows(path.join(dir, 'source.db'), `SELECT * FROM o WHERE ${where}`), COLS);
    assert.deepEqual(await table(), source('1 = 1'));

    // day -> month: an old day file implies its month. Batch 2 writes March
    // only: every old March file is dropped whole, April's stay unread.
    entry('month(ts)');
    sqlite(dir, ins([[100, '2024-03-20 08:00:00', 'eu', 'b100', 2], [101, '2024-03-02 09:00:00', null, 'b101', 2]]));
    let r = runOk(dir);
    assert.match(r.stderr, /event=partition_evolution/);
    const march1 = b1.filter(([, ts]) => ts.startsWith('2024-03')).length;
    assert.match(r.stderr, new RegExp(`event=overwrite_older_specs table=o dropped_files=\\d+ read_files=0 rewritten_files=0 rows_removed=${march1} rows_kept=0`));
    assert.deepEqual(await table(), source("batch_sk = 2 OR ts >= '2024-04'"));
    let { specs } = liveSpecs2(dir);
    assert.deepEqual([...specs.data].sort(), [0, 1], 'April keeps its day files');

    // month -> region: no month or day file implies a region, so their
    // rows are read; batch 3 writes region 'eu': files holding eu rows are
    // rewritten without them (other rows move into the region spec), the
    // others are kept as they are.
    entry('region');
    sqlite(dir, ins([[200, '2024-05-01 00:00:00', 'eu', 'c200', 3]]));
    r = runOk(dir);
    const m = /event=overwrite_older_specs table=o dropped_files=0 read_files=(\d+) rewritten_files=(\d+) rows_removed=(\d+) rows_kept=(\d+)/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const [{ n: euBefore }] = sqliteRows(path.join(dir, 'source.db'),
      "SELECT count(*) AS n FROM o WHERE batch_sk < 3 AND (batch_sk = 2 OR ts >= '2024-04') AND region = 'eu'");
    assert.ok(euBefore > 1);
    assert.equal(Number(m[3]), euBefore, 'every eu row of the older specs is removed');
    assert.ok(Number(m[2]) >= 1 && Number(m[2]) <= Number(m[1]));
    assert.deepEqual(await table(), source("batch_sk = 3 OR ((batch_sk = 2 OR ts >= '2024-04') AND (region IS NULL OR region <> 'eu'))"));
    ({ specs } = liveSpecs2(dir));
    assert.ok(specs.data.has(2), 'rewritten rows are in the region spec');
    // A later load of another region leaves eu alone.
    sqlite(dir, ins([[300, '2024-06-01 00:00:00', 'us', 'd300', 4]]));
    r = runOk(dir);
    // The region=null rows batch 3 rewrote into the new spec stay: files
    // a load adds for rewritten rows select no partition.
    assert.match(r.stderr, /event=overwrite_older_specs table=o dropped_files=0 read_files=1 rewritten_files=1 rows_removed=1 rows_kept=1/);
    assert.deepEqual(await table(), source("batch_sk IN (3, 4) OR ((batch_sk = 2 OR ts >= '2024-04') AND region IS NULL)"));
    runOk(dir, ['validate']);
  });
});

// The live data files' spec ids of e2e.o.
function liveSpecs2(dir) {
  const out = runOk(dir, ['table', 'inspect', 'e2e.o', '-c', 'floe.yaml']).stdout;
  const specs = {};
  for (const m of out.matchAll(/^ {2}(data|position-deletes|equality-deletes) .* spec=(\d+) /gm)) {
    specs[m[1]] ??= new Set();
    specs[m[1]].add(Number(m[2]));
  }
  return { out, specs };
}
