// floe's Parquet reader on list columns written by DuckDB: INTEGER[],
// VARCHAR[] and DOUBLE[] with null lists, empty lists and null elements,
// several row groups, v1 and v2 data pages, with and without compression.
// `floe parquet cat FILE --format jsonl` renders a list as a JSON array
// (a null element as null); the expected arrays are DuckDB's to_json of the
// same file. The CSV output renders lists as the fixture CSVs do
// ("[a, b]", a null element "\N"), checked against DuckDB's text.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { duck, queryObjects, run, scratchDir, sqlString, tool } from './lib/floe.mjs';

// floe's JSON lines; every number here fits a double.
const jsonLines = (text) => text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));

const N = 5000;

// i in 0..N-1: every 9th list null, every 7th empty, elements null every 5th.
const LISTS = {
  li: `CASE WHEN i % 9 = 4 THEN NULL WHEN i % 7 = 3 THEN []::INTEGER[]
        ELSE list_transform(range((i % 13)::BIGINT), k -> CASE WHEN (i + k) % 5 = 0 THEN NULL
             ELSE ((i * 31 + k) % 100000 - 50000)::INTEGER END) END`,
  ls: `CASE WHEN i % 11 = 6 THEN NULL WHEN i % 7 = 2 THEN []::VARCHAR[]
        ELSE list_transform(range((i % 4)::BIGINT), k -> CASE WHEN (i + k) % 6 = 1 THEN NULL
             ELSE 'v' || (i * 7 + k)::VARCHAR END) END`,
  ld: `CASE WHEN i % 10 = 5 THEN NULL
        ELSE list_transform(range((i % 3)::BIGINT), k -> ((i + k) % 1000)::DOUBLE / 8) END`,
};

// DuckDB's text of a list as floe's CSV renders it.
function renderSql(col) {
  return `CASE WHEN ${col} IS NULL THEN NULL ELSE '[' || array_to_string(list_transform(${col},
            x -> coalesce(x::VARCHAR, '\\N')), ', ') || ']' END`;
}

const VARIANTS = [
  ['v1-uncompressed', "COMPRESSION 'uncompressed', ROW_GROUP_SIZE 2048"],
  ['v2-zstd', "COMPRESSION 'zstd', PARQUET_VERSION 'V2', ROW_GROUP_SIZE 1500"],
  ['v1-snappy-one-group', "COMPRESSION 'snappy'"],
];

describe('floe reads DuckDB list columns', () => {
  for (const [name, options] of VARIANTS) {
    test(name, async () => {
      const dir = scratchDir('lists');
      const file = path.join(dir, `${name}.parquet`);
      const db = await duck();
      const cols = Object.entries(LISTS).map(([c, e]) => `${e} AS ${c}`).join(', ');
      await db.run(`COPY (SELECT i::BIGINT AS id, ${cols} FROM range(${N}) t(i))
                    TO ${sqlString(file)} (FORMAT parquet, ${options})`);
      const want = await queryObjects(db, `SELECT id, ${Object.keys(LISTS).map((c) => `to_json(${c})::VARCHAR AS ${c}`)
        .join(', ')} FROM read_parquet(${sqlString(file)}) ORDER BY id`);
      const got = jsonLines(run(tool('floe'), ['parquet', 'cat', file, '--format', 'jsonl']).toString());
      assert.equal(got.length, N);
      let nulls = 0, empties = 0, nullElements = 0;
      for (let r = 0; r < N; r++) {
        assert.equal(Number(got[r].id), Number(want[r].id), `row ${r} id`);
        for (const c of Object.keys(LISTS)) {
          const w = want[r][c] == null ? null : JSON.parse(want[r][c]);
          assert.deepEqual(got[r][c], w, `row ${r} column ${c}`);
          if (w === null) nulls++;
          else if (w.length === 0) empties++;
          else if (w.includes(null)) nullElements++;
        }
      }
      // The CSV output keeps the fixture CSVs' list text.
      const text = await queryObjects(db, `SELECT ${Object.keys(LISTS).map((c) => `coalesce(${renderSql(c)}, '\\N') AS ${c}`)
        .join(', ')} FROM read_parquet(${sqlString(file)}) ORDER BY id LIMIT 50`);
      const csv = run(tool('floe'), ['parquet', 'cat', file, '--limit', '50']).toString().trim().split('\n').slice(1);
      assert.equal(csv.length, 50);
      for (let r = 0; r < 50; r++) {
        const cells = Object.keys(LISTS).map((c) => {
          const t = text[r][c];
          return /[",\n]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t;
        });
        assert.equal(csv[r], `${r},${cells.join(',')}`, `csv row ${r}`);
      }
      // the file really has each case
      assert.ok(nulls > 100 && empties > 100 && nullElements > 100, `${nulls} ${empties} ${nullElements}`);
    });
  }
});
