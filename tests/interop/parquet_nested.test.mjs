// floe's Parquet writer on nested columns, checked by DuckDB: pq_nested_sample
// writes structs, maps, lists of structs of maps, maps of lists and a
// required struct with a required list, nulls at every level and empty
// lists/maps, once over several pages and row groups with dictionaries and
// once PLAIN. DuckDB must read every row equal to what was written (as
// to_json), see the standard LIST/MAP layout with a field id on every group
// and leaf, and its per-chunk value and null counts must add up to floe's
// Iceberg metrics; bounds are kept only for leaves reached through structs
// (as Iceberg Java's ParquetUtil keeps them), not under lists or maps.
// floe's reader assembles the same files back (`floe parquet cat --format
// jsonl` equals what was written), and reads nested files DuckDB wrote
// equal to DuckDB's own to_json.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { duck, queryObjects, run, scratchDir, sqlString, tool } from './lib/floe.mjs';

// floe's JSON lines; every number here fits a double.
const jsonLines = (text) => text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));

const dir = scratchDir('nested');
run(tool('pq_nested_sample'), [dir]);

// name, field id, repetition, converted type, children: the schema floe
// must write (parquet-format LogicalTypes.md "Lists" and "Maps").
const SCHEMA = [
  ['schema', null, null, null, 5],
  ['id', 1, 'REQUIRED', null, null],
  ['s', 2, 'OPTIONAL', null, 3],
  ['a', 3, 'OPTIONAL', null, null],
  ['b', 4, 'OPTIONAL', 'UTF8', null],
  ['inner', 5, 'OPTIONAL', null, 1],
  ['x', 6, 'OPTIONAL', null, null],
  ['m', 7, 'OPTIONAL', 'MAP', 1],
  ['key_value', null, 'REPEATED', null, 2],
  ['key', 8, 'REQUIRED', 'UTF8', null],
  ['value', 9, 'OPTIONAL', 'LIST', 1],
  ['list', null, 'REPEATED', null, 1],
  ['element', 10, 'OPTIONAL', null, null],
  ['ls', 11, 'OPTIONAL', 'LIST', 1],
  ['list', null, 'REPEATED', null, 1],
  ['element', 12, 'OPTIONAL', null, 2],
  ['k', 13, 'OPTIONAL', 'UTF8', null],
  ['v', 14, 'OPTIONAL', 'MAP', 1],
  ['key_value', null, 'REPEATED', null, 2],
  ['key', 15, 'REQUIRED', null, null],
  ['value', 16, 'OPTIONAL', 'UTF8', null],
  ['r', 17, 'REQUIRED', null, 2],
  ['n', 18, 'REQUIRED', null, null],
  ['tags', 19, 'REQUIRED', 'LIST', 1],
  ['list', null, 'REPEATED', null, 1],
  ['element', 20, 'OPTIONAL', 'UTF8', null],
];

// Leaves whose path holds only structs keep bounds.
const BOUNDED = new Set([1, 3, 4, 6, 18]);

for (const [name, rows, minGroups] of [['nested-paged', 5000, 2], ['nested-plain', 300, 1]]) {
  describe(name, () => {
    const file = path.join(dir, `${name}.parquet`);
    const want = JSON.parse(readFileSync(path.join(dir, `${name}.expected.json`), 'utf8'));

    test('DuckDB reads every row as written', async () => {
      const db = await duck();
      const got = await queryObjects(db, `SELECT id, to_json(s)::VARCHAR AS s, to_json(m)::VARCHAR AS m,
        to_json(ls)::VARCHAR AS ls, to_json(r)::VARCHAR AS r FROM read_parquet(${sqlString(file)}) ORDER BY id`);
      assert.equal(got.length, rows);
      assert.equal(want.rows.length, rows);
      let nullStructs = 0, emptyMaps = 0, nullElements = 0;
      for (let i = 0; i < rows; i++) {
        assert.equal(Number(got[i].id), want.rows[i].id);
        for (const c of ['s', 'm', 'ls', 'r']) {
          const g = got[i][c] == null ? null : JSON.parse(got[i][c]);
          assert.deepEqual(g, want.rows[i][c], `row ${i} column ${c}`);
        }
        if (want.rows[i].s === null) nullStructs++;
        if (want.rows[i].m !== null && Object.keys(want.rows[i].m).length === 0) emptyMaps++;
        if (want.rows[i].ls?.includes(null)) nullElements++;
      }
      // The data really holds each kind of null and emptiness.
      assert.ok(nullStructs > 0 && emptyMaps > 0 && nullElements > 0);
    });

    test('DuckDB reads by field id through the nested layout', async () => {
      const db = await duck();
      const schema = await queryObjects(db, `SELECT name, field_id, repetition_type, converted_type,
        num_children FROM parquet_schema(${sqlString(file)})`);
      assert.deepEqual(schema.map((e) => [e.name, e.field_id === null ? null : Number(e.field_id),
        e.repetition_type, e.converted_type, e.num_children === null ? null : Number(e.num_children)]), SCHEMA);
      const groups = await queryObjects(db, `SELECT count(DISTINCT row_group_id) AS n
        FROM parquet_metadata(${sqlString(file)})`);
      assert.ok(Number(groups[0].n) >= minGroups, `${groups[0].n} row groups`);
    });

    test('floe reads every row back as written', () => {
      const got = jsonLines(run(tool('floe'), ['parquet', 'cat', file, '--format', 'jsonl']).toString());
      assert.equal(got.length, rows);
      for (let i = 0; i < rows; i++) {
        assert.equal(Number(got[i].id), want.rows[i].id);
        for (const c of ['s', 'm', 'ls', 'r']) assert.deepEqual(got[i][c], want.rows[i][c], `row ${i} column ${c}`);
      }
      // One nested column by name; a struct leaf stays readable flat.
      const one = jsonLines(run(tool('floe'), ['parquet', 'cat', file, '--format', 'jsonl', '--columns', 'ls,s.a']).toString());
      assert.deepEqual(one[0], { ls: want.rows[0].ls, 's.a': want.rows[0].s.a });
    });

    test("floe's metrics add up to DuckDB's chunk counts", async () => {
      const db = await duck();
      const chunks = await queryObjects(db, `SELECT path_in_schema AS p, sum(num_values) AS values,
        sum(stats_null_count) AS nulls FROM parquet_metadata(${sqlString(file)}) GROUP BY 1`);
      const leafIds = SCHEMA.filter((e) => e[4] === null).map((e) => e[1]);
      assert.deepEqual(want.metrics.map((m) => m.field_id), leafIds);
      assert.equal(chunks.length, leafIds.length);
      const byPath = Object.fromEntries(chunks.map((c) => [c.p, c]));
      const paths = ['id', 's, a', 's, b', 's, inner, x', 'm, key_value, key', 'm, key_value, value, list, element',
        'ls, list, element, k', 'ls, list, element, v, key_value, key', 'ls, list, element, v, key_value, value',
        'r, n', 'r, tags, list, element'];
      for (let i = 0; i < leafIds.length; i++) {
        const c = byPath[paths[i]] ?? byPath[paths[i].replaceAll(', ', '.')];
        assert.ok(c, `chunk ${paths[i]} in ${Object.keys(byPath).join(' | ')}`);
        assert.equal(Number(c.values), want.metrics[i].value_count, `values of ${paths[i]}`);
        assert.equal(Number(c.nulls), want.metrics[i].null_count, `nulls of ${paths[i]}`);
        assert.equal(want.metrics[i].bounds, BOUNDED.has(leafIds[i]), `bounds of ${paths[i]}`);
      }
      // Leaves under a repeated level hold more entries than rows.
      assert.ok(want.metrics[leafIds.indexOf(10)].value_count > rows);
    });
  });
}

// The same rows as an Iceberg table written through floe's table API (two
// appends): `floe table scan` reads every nested column back by field id.
describe('Iceberg table with nested columns', () => {
  const want = JSON.parse(readFileSync(path.join(dir, 'iceberg.expected.json'), 'utf8'));
  test('floe table scan returns every row as written', () => {
    const got = jsonLines(run(tool('floe'), ['table', 'scan', '--metadata', want.metadata, '--format', 'jsonl']).toString())
      .sort((a, b) => a.id - b.id);
    assert.equal(got.length, 600);
    for (let i = 0; i < 600; i++) assert.deepEqual(got[i], want.rows[i], `row ${i}`);
    // A projection of one nested column.
    const ls = jsonLines(run(tool('floe'), ['table', 'scan', '--metadata', want.metadata, '--format', 'jsonl',
      '--columns', 'id,ls']).toString()).sort((a, b) => a.id - b.id);
    assert.deepEqual(ls[5], { id: 5, ls: want.rows[5].ls });
  });
});

// Files DuckDB writes: floe's assembly must equal DuckDB's own reading.
const DUCK_COLUMNS = {
  st: `CASE WHEN i % 5 = 1 THEN NULL ELSE {'a': CASE WHEN i % 3 = 0 THEN NULL ELSE i END,
        'b': 's' || (i % 17)::VARCHAR, 'inner': CASE WHEN i % 7 = 2 THEN NULL ELSE {'x': i / 8} END} END`,
  mp: `CASE WHEN i % 6 = 2 THEN NULL WHEN i % 6 = 3 THEN MAP {}::MAP(VARCHAR, INTEGER[])
        ELSE MAP {'k' || (i % 4)::VARCHAR: list_transform(range(i % 3), k -> CASE WHEN k = 1 THEN NULL ELSE k::INTEGER END)} END`,
  lst: `CASE WHEN i % 9 = 4 THEN NULL ELSE list_transform(range(i % 4), k -> CASE WHEN (i + k) % 5 = 0 THEN NULL
        ELSE {'k': 'e' || k::VARCHAR, 'v': MAP {k::INTEGER: (i * k)::VARCHAR}} END) END`,
  ll: `CASE WHEN i % 8 = 3 THEN NULL ELSE list_transform(range(i % 3), k -> list_transform(range(k), j -> (i + j)::BIGINT)) END`,
};

describe('floe reads nested files DuckDB wrote', () => {
  for (const [name, options] of [['v1', "ROW_GROUP_SIZE 1000"], ['v2-zstd', "COMPRESSION 'zstd', PARQUET_VERSION 'V2', ROW_GROUP_SIZE 700"]]) {
    test(name, async () => {
      const file = path.join(dir, `duck-${name}.parquet`);
      const db = await duck();
      const cols = Object.entries(DUCK_COLUMNS).map(([c, e]) => `${e} AS ${c}`).join(', ');
      await db.run(`COPY (SELECT i::BIGINT AS id, ${cols} FROM range(3000) t(i)) TO ${sqlString(file)} (FORMAT parquet, ${options})`);
      const want = await queryObjects(db, `SELECT id, ${Object.keys(DUCK_COLUMNS).map((c) => `to_json(${c})::VARCHAR AS ${c}`)
        .join(', ')} FROM read_parquet(${sqlString(file)}) ORDER BY id`);
      const got = jsonLines(run(tool('floe'), ['parquet', 'cat', file, '--format', 'jsonl']).toString());
      assert.equal(got.length, 3000);
      for (let r = 0; r < 3000; r++) {
        assert.equal(Number(got[r].id), Number(want[r].id));
        for (const c of Object.keys(DUCK_COLUMNS)) {
          const w = want[r][c] == null ? null : JSON.parse(want[r][c]);
          assert.deepEqual(got[r][c], w, `row ${r} column ${c}`);
        }
      }
    });
  }
});
