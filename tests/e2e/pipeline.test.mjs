// The pipelined run (src/replicate/pipeline.c, run.threads): the source on
// one thread, encoding on the other, and the data files byte-identical
// whatever the thread count.
//
// One SQLite source of 60,000 mixed-type rows (seven source batches, so
// batches really cross the queue) is replicated with run.threads 1, 2 and 4
// into three warehouses: an unpartitioned table whose files roll at a small
// target size, a bucketed one (one writer per partition) and a merge. Every
// data file of one run must equal, byte for byte, the file at the same place
// of the others (file names differ only by the run's UUIDs); icebird reads
// each table equal to the source, so the files hold the right rows.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/pipeline.test.mjs

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { modulesPresent, normalizeRows, readIceberg, sh, sqliteRows } from './lib/check_table.mjs';
import { FLOE, floe, scratch } from './lib/cli.mjs';

const ROWS = 60000;

function makeSource(db) {
  sh('sqlite3', [db, `
CREATE TABLE events (
  id INTEGER PRIMARY KEY, batch_sk INTEGER NOT NULL, customer_id INTEGER NOT NULL,
  amount DECIMAL(12,2) NOT NULL, score REAL, name TEXT NOT NULL, status TEXT,
  created_at TIMESTAMP NOT NULL, day DATE NOT NULL, flag BOOLEAN NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
INSERT INTO events SELECT
  i, 1 + i / 20000, (i * 7919) % 1000,
  printf('%d.%02d', (i * 104729) % 1000000, i % 100),
  CASE WHEN i % 17 = 0 THEN NULL ELSE ((i * 48271) % 2147483647) / 2147483647.0 * 1000.0 END,
  'customer_' || ((i * 7919) % 20000) || '_name',
  CASE WHEN i % 10 = 0 THEN NULL WHEN i % 3 = 0 THEN 'paid' ELSE 'new' END,
  datetime(1704067200 + i * 37, 'unixepoch'),
  date(1704067200 + (i / 1000) * 86400, 'unixepoch'),
  i % 2
FROM n;`]);
}

function writeJob(dir, threads) {
  writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: sqlite, path: ../source.db}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: e2e
run: {durability: none, threads: ${threads}}
logging: {level: warn}
tables:
  rolled:
    source: events
    properties: {write.target-file-size-bytes: '150000'}
  bucketed: {source: events, partition_by: ['bucket(4, customer_id)']}
  merged: {source: events, mode: merge, primary_key: [id]}
`);
}

// Data files of a warehouse: path with the run's UUIDs masked -> sha256.
function dataFiles(dir) {
  const files = new Map();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.parquet')) {
        const key = path.relative(dir, p).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID');
        assert(!files.has(key), `two data files map to ${key}`);
        files.set(key, createHash('sha256').update(readFileSync(p)).digest('hex'));
      }
    }
  };
  walk(path.join(dir, 'warehouse'));
  return files;
}

test('data files are byte-identical with run.threads 1, 2 and 4', async () => {
  assert(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
  assert(modulesPresent(), 'node modules missing: run scripts/deps.sh --npm');
  const root = scratch('pipeline');
  const db = path.join(root, 'source.db');
  makeSource(db);
  const runs = {};
  for (const threads of [1, 2, 4]) {
    const dir = path.join(root, `t${threads}`);
    sh('mkdir', ['-p', dir]);
    writeJob(dir, threads);
    const r = floe(dir, ['run']);
    assert.equal(r.status, 0, `threads=${threads}: floe run exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    runs[threads] = dataFiles(dir);
    // The next run starts from an empty ledger, like this one.
    sh('sqlite3', [db, 'DROP TABLE floe_control; DROP TABLE IF EXISTS floe_lock']);
  }
  const one = runs[1];
  const rolled = [...one.keys()].filter((k) => k.includes('/rolled/'));
  const bucketed = [...one.keys()].filter((k) => k.includes('/bucketed/'));
  assert(rolled.length >= 3, `the rolled table has ${rolled.length} files, want several`);
  assert(bucketed.length >= 4, `the bucketed table has ${bucketed.length} files, want one per bucket`);
  for (const threads of [2, 4]) {
    assert.deepEqual([...runs[threads].keys()].sort(), [...one.keys()].sort(), `threads=${threads}: file set`);
    for (const [key, hash] of one)
      assert.equal(runs[threads].get(key), hash, `threads=${threads}: ${key} differs from threads=1`);
  }
  const columns = ['id', 'batch_sk', 'customer_id', 'amount', 'score', 'name', 'status', 'created_at', 'day', 'flag'];
  const select = columns.map((c) => (c === 'flag' ? "CASE flag WHEN 1 THEN 'true' ELSE 'false' END AS flag" : c));
  const expected = normalizeRows(sqliteRows(db, `SELECT ${select.join(', ')} FROM events`), columns);
  assert.equal(expected.length, ROWS);
  for (const table of ['rolled', 'bucketed', 'merged']) {
    const got = normalizeRows(await readIceberg(path.join(root, 't2', 'catalog.db'), 'e2e', table), columns);
    assert.deepEqual(got, expected, `icebird rows of e2e.${table} (threads=2)`);
  }
});
