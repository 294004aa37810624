// End-to-end: a merge past merge.memory_mb spills to run.spill_dir and
// leaves the same table as the merge in memory (issue 13). For upsert with
// position deletes, equality deletes and copy-on-write, and for CDC with
// equality deletes, one job loads 8,000 rows, then merges 10,000 changes
// (repeated keys, inserts, CDC deletes of present and absent keys) once
// with memory_mb: 1 and once with the default; icebird (an independent reader, applying the delete
// files itself) must read the same rows from both tables, the run report
// must show that only the first spilled, and the spill directory must be
// left empty.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/merge_spill.test.mjs

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { normalizeRows, readIceberg, sh } from './lib/check_table.mjs';
import { readReport, ready, runOk as run, scratch, skipReason, writeJob } from './lib/cli.mjs';

// floe run, which must exit 0; returns its report.
function runOk(dir) {
  run(dir);
  return readReport(dir);
}

// Rows 1..8000 in batch 1; 10,000 changes in batch 2 over keys 1..9000
// (every key once, 1,000 of them twice with growing seq; keys above 8000
// are new; long values, so 10,000 rows are over 1 MiB); for CDC every
// fifth change is a delete.
const SETUP = `
CREATE TABLE src (k INTEGER, op TEXT, v TEXT, n INTEGER, x REAL, seq INTEGER, batch_sk INTEGER);
WITH RECURSIVE i(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM i WHERE j < 8000)
INSERT INTO src SELECT j, 'I', 'base-' || j, j % 97, j / 8.0, 0, 1 FROM i;`;
const CHANGES = `
WITH RECURSIVE i(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM i WHERE j < 10000)
INSERT INTO src SELECT (j * 7919) % 9000 + 1, CASE WHEN j % 5 = 0 THEN 'D' ELSE 'U' END,
  CASE WHEN j % 11 = 0 THEN NULL ELSE 'chg-' || j || '-' || hex(zeroblob(60)) END, j % 13, j / 4.0, j,
  2 FROM i;`;

function job(dir, kind, deletes, memory) {
  const cdc = kind === 'cdc' ? ', cdc: {type: op_column, column: op, sequence: seq}' : '';
  const order = kind === 'cdc' ? '' : ', order_by: seq';
  const mem = memory ? `, memory_mb: ${memory}` : '';
  writeJob(dir, `  t: {source: src, mode: merge, primary_key: [k], merge: {deletes: ${deletes}${order}${mem}}${cdc}}`,
    { run: '{durability: none, report: ./report.json, spill_dir: ./spill}' });
}

describe('merges past merge.memory_mb spill and give the in-memory table', { skip: ready ? false : skipReason }, () => {
  const cases = [['upsert', 'position'], ['upsert', 'equality'], ['upsert', 'copy_on_write'],
    ['cdc', 'equality']];
  for (const [kind, deletes] of cases) {
    {
      test(`${kind}, ${deletes} deletes: memory_mb 1 equals the default`, async () => {
        const tables = [];
        const spilled = [];
        for (const memory of [1, 0]) {
          const dir = scratch(`spill-${kind}-${deletes}-${memory}`);
          mkdirSync(path.join(dir, 'spill'));
          sh('sqlite3', [path.join(dir, 'source.db'), SETUP]);
          job(dir, kind, deletes, memory);
          runOk(dir);
          sh('sqlite3', [path.join(dir, 'source.db'), CHANGES]);
          const rep = runOk(dir);
          const t = rep.tables[0];
          assert.equal(t.status, 'ok');
          spilled.push(t.spill_bytes);
          assert.deepEqual(readdirSync(path.join(dir, 'spill')), []);
          tables.push(normalizeRows(await readIceberg(path.join(dir, 'catalog.db'), 'e2e', 't'),
            ['k', 'v', 'n', 'x', 'seq']));
        }
        assert.ok(spilled[0] > 1 << 20, `memory_mb 1 spilled ${spilled[0]} bytes`);
        assert.equal(spilled[1], 0);
        // the merges did change the table: updated values, new keys, deletes
        const rows = tables[1].map((r) => JSON.parse(r));
        assert.ok(rows.filter((r) => String(r.v).startsWith('chg-')).length > 5000);
        assert.ok(rows.some((r) => Number(r.k) > 8000));
        if (kind === 'cdc') assert.ok(rows.length < 8000);
        else assert.equal(rows.length, 9000);
        assert.equal(tables[0].length, tables[1].length);
        assert.deepEqual(tables[0], tables[1]);
      });
    }
  }
});
