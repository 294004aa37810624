// End-to-end tests of nested columns: PostgreSQL arrays replicated into
// Iceberg list columns by `floe run`, checked by independent readers:
// icebird reads the whole table, DuckDB reads the data files by Parquet
// field id (list and element ids), and floe's own scan reads them back.
// Null arrays, empty arrays, null elements, quoted text elements and
// numeric/timestamp elements all round-trip; a multi-dimensional array is
// refused with the column, the row's key and the reason.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/nested.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  REPO, liveDataFilePaths, metadataLocation, modulesPresent, pgExec, pgRows, readIceberg, readMetadata,
} from './lib/check_table.mjs';

const FLOE = process.env.FLOE_BIN ?? path.join(REPO, 'build/floe');
const PG_SH = path.join(REPO, 'tests/support/pg.sh');

function scratch(name) {
  const dir = mkdtempSync(path.join(tmpdir(), `floe-e2e-nested-${name}-`));
  if (!process.env.FLOE_KEEP_TMP) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function floe(dir, args) {
  const r = spawnSync(FLOE, args, { cwd: dir, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}

function runOk(dir, args = ['run']) {
  const r = floe(dir, args);
  assert.equal(r.status, 0, `floe ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

// Element values rendered alike on both sides: numbers as text (decimals
// exact to 6 places), timestamps as ISO text, null as null.
function elementText(v) {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString().replace(/\.000Z$/, 'Z');
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return String(Number(v.toFixed(6)));
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) return new Date(v).toISOString().replace(/\.000Z$/, 'Z');
  if (typeof v === 'string' && /^-?\d+\.\d+$/.test(v)) return String(Number(Number(v).toFixed(6)));
  return String(v);
}
const listText = (v) => (v === null || v === undefined ? null : JSON.stringify([...v].map(elementText)));

function rowsText(rows, columns) {
  return rows.map((r) => JSON.stringify(columns.map((c) => (c === 'id' ? String(r[c]) : listText(r[c])))))
    .sort();
}

function liveFilesOf(dir, ns, table) {
  return liveDataFilePaths(path.join(dir, 'catalog.db'), ns, table);
}

let duckConn = null;
async function duckAll(sql) {
  if (duckConn === null) {
    const { DuckDBInstance } = await import(pathToFileURL(path.join(REPO, 'tests/interop/node_modules/@duckdb/node-api/lib/index.js')).href);
    duckConn = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
  }
  return (await duckConn.runAndReadAll(sql)).getRowObjects();
}

describe('nested columns from PostgreSQL', () => {
  let pgDir = null;
  let conninfo = null;
  before(() => {
    assert.ok(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
    assert.ok(modulesPresent(), 'node modules missing: run scripts/deps.sh --npm');
    pgDir = mkdtempSync(path.join(tmpdir(), 'floe-e2e-nested-pg-'));
    const r = spawnSync(PG_SH, ['start', pgDir, String(process.pid)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `pg.sh start: ${r.stderr}`);
    conninfo = r.stdout.trim();
  });
  after(() => {
    if (conninfo) spawnSync(PG_SH, ['stop', pgDir]);
  });

  function job(dir, db, tables) {
    writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: postgres, conninfo: "${conninfo} dbname=${db}"}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: pg
run: {durability: none}
tables:
${tables}
`);
  }

  test('arrays become Iceberg lists: nulls at every level, quoted text, numeric and timestamp elements', async () => {
    const dir = scratch('arrays');
    pgExec(`${conninfo} dbname=postgres`, 'CREATE DATABASE e2e_arrays');
    const db = `${conninfo} dbname=e2e_arrays`;
    pgExec(db, `CREATE TABLE items (id bigint PRIMARY KEY, tags text[], nums integer[] NOT NULL,
        prices numeric(10,2)[], seen timestamptz[], batch_sk bigint NOT NULL);
      INSERT INTO items VALUES
        (1, '{red,"big, bold","with \\"quotes\\"",NULL,"NULL",""}', '{1,2,3}', '{1.50,-2.25}', '{"2024-01-02 03:04:05+00"}', 1),
        (2, NULL, '{}', NULL, NULL, 1),
        (3, '{}', '{NULL,7}', '{NULL}', '{}', 1),
        (4, '{"back\\\\slash","sp ace"}', '[0:1]={10,11}', '{0.01}', '{"1999-12-31 23:59:59.123456+00",NULL}', 2);
      INSERT INTO items SELECT g, ARRAY['t' || g, 't' || (g % 3)], ARRAY[g, g * 2, -g], ARRAY[g / 4.0]::numeric(10,2)[],
        NULL, 2 + g / 100 FROM generate_series(10, 400) g;`);
    job(dir, 'e2e_arrays', '  items: {}');
    runOk(dir);

    const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'pg', 'items'));
    const schema = md.schemas.find((s) => s['schema-id'] === md['current-schema-id']);
    const byName = Object.fromEntries(schema.fields.map((f) => [f.name, f]));
    assert.deepEqual(byName.tags.type, { type: 'list', 'element-id': byName.tags.type['element-id'], element: 'string', 'element-required': false });
    assert.equal(byName.nums.required, true);
    assert.deepEqual(byName.prices.type.element, 'decimal(10,2)');
    assert.deepEqual(byName.seen.type.element, 'timestamptz');
    // Element ids come after every top-level id (as Iceberg assigns fresh ids).
    const top = Math.max(...schema.fields.map((f) => f.id));
    for (const c of ['tags', 'nums', 'prices', 'seen']) assert.ok(byName[c].type['element-id'] > top);

    const columns = ['id', 'tags', 'nums', 'prices', 'seen'];
    const want = rowsText(pgRows(db, 'SELECT id, tags, nums, prices, seen FROM items'), columns);
    const got = rowsText(await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'items'), columns);
    assert.equal(got.length, 395);
    assert.deepEqual(got, want);
    const one = JSON.parse(got.find((r) => JSON.parse(r)[0] === '1'));
    assert.deepEqual(JSON.parse(one[1]), ['red', 'big, bold', 'with "quotes"', null, 'NULL', '']);

    // DuckDB reads the data files by field id, lists included.
    const snap = md.snapshots.find((x) => x['snapshot-id'] === md['current-snapshot-id']);
    const avro = await import(pathToFileURL(path.join(REPO, 'tests/interop/lib/avro.mjs')).href);
    const files = [];
    for (const m of (await avro.decodeAvroFile(snap['manifest-list'])).records)
      for (const e of (await avro.decodeAvroFile(m.manifest_path)).records)
        if (Number(e.status) !== 2) files.push(e.data_file.file_path.replace(/^file:/, ''));
    const { DuckDBInstance } = await import(pathToFileURL(path.join(REPO, 'tests/interop/node_modules/@duckdb/node-api/lib/index.js')).href);
    const duck = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
    const list = files.map((f) => `'${f}'`).join(', ');
    const map = `${byName.id.id}: {name: 'id', type: 'BIGINT', default_value: NULL}, ` +
      `${byName.tags.id}: {name: 'tags', type: 'VARCHAR[]', default_value: NULL}, ` +
      `${byName.nums.id}: {name: 'nums', type: 'INTEGER[]', default_value: NULL}`;
    const reader = await duck.runAndReadAll(`SELECT id::VARCHAR AS id, to_json(tags)::VARCHAR AS tags, to_json(nums)::VARCHAR AS nums
      FROM read_parquet([${list}], schema = MAP {${map}}) ORDER BY id`);
    const duckRows = reader.getRowObjects().map((r) => JSON.stringify([r.id, r.tags === null ? null : JSON.stringify(JSON.parse(r.tags)), JSON.stringify(JSON.parse(r.nums))]));
    const pgSide = pgRows(db, 'SELECT id::text AS id, tags, nums FROM items ORDER BY id')
      .map((r) => JSON.stringify([r.id, r.tags === null ? null : JSON.stringify(r.tags), JSON.stringify(r.nums)]));
    assert.deepEqual(duckRows, pgSide);
    // The Parquet schema: LIST-annotated group, repeated "list", "element" leaf with the element id.
    const ps = (await duck.runAndReadAll(`SELECT name, repetition_type, converted_type, field_id FROM parquet_schema('${files[0]}')`)).getRowObjects();
    const tags = ps.findIndex((r) => r.name === 'tags');
    assert.equal(ps[tags].converted_type, 'LIST');
    assert.equal(Number(ps[tags].field_id), byName.tags.id);
    assert.equal(ps[tags + 1].name, 'list');
    assert.equal(ps[tags + 1].repetition_type, 'REPEATED');
    assert.equal(ps[tags + 2].name, 'element');
    assert.equal(Number(ps[tags + 2].field_id), byName.tags.type['element-id']);

    // floe's own scan reads the lists back.
    const scan = runOk(dir, ['table', 'scan', 'pg.items', '-c', 'floe.yaml']);
    const lines = scan.stdout.split('\n');
    assert.ok(lines.includes('2,\\N,[],\\N,\\N,1'), scan.stdout.slice(0, 400));
    assert.ok(lines.includes('3,[],"[\\N, 7]",[\\N],[],1'));
    assert.ok(lines.includes('4,"[back\\slash, sp ace]","[10, 11]",[0.01],"[1999-12-31 23:59:59.123456+00, \\N]",2'));

    // Incremental: the next batch appends; a multi-dimensional array is refused clearly.
    pgExec(db, `INSERT INTO items VALUES (1000, '{x}', '{1}', NULL, NULL, 9)`);
    runOk(dir);
    assert.equal((await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'items')).length, 396);
    pgExec(db, `INSERT INTO items VALUES (1001, '{{a,b},{c,d}}', '{1}', NULL, NULL, 10)`);
    const bad = floe(dir, ['run']);
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /column 'tags' row \(id=1001\).*an array of more dimensions than the column's 1; floe maps each dimension to a list level/);
    assert.equal((await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'items')).length, 396);
  });
  test('composite types become structs, arrays of composites lists of structs, multi-dimensional arrays nested lists', async () => {
    const dir = scratch('composite');
    pgExec(`${conninfo} dbname=postgres`, 'CREATE DATABASE e2e_composite');
    const db = `${conninfo} dbname=e2e_composite`;
    pgExec(db, `CREATE TYPE addr AS (city text, zip varchar(10), geo numeric(9,6)[]);
      CREATE DOMAIN pos_int AS integer CHECK (VALUE > 0);
      CREATE TYPE person AS (name text, born date, "Tag, quoted" text, home addr, seen timestamptz, n pos_int);
      ALTER TYPE person DROP ATTRIBUTE n;
      ALTER TYPE person ADD ATTRIBUTE rank pos_int;
      CREATE TABLE people (id bigint PRIMARY KEY, who person, homes addr[], grid int[][], cube text[][][],
        m numeric(6,2)[][], batch_sk bigint NOT NULL);
      INSERT INTO people VALUES
        (1, ROW('Ann', '1990-02-03', 'a,b "c" \\ d', ROW('Oslo', '0150', '{59.91,10.75}'), '2024-01-02 03:04:05+00', 3),
            ARRAY[ROW('Bergen', '5003', '{}')::addr, NULL, ROW(NULL, NULL, NULL)::addr],
            '{{1,2,3},{4,NULL,6}}', '{{{a,b},{c,d}},{{"e f",NULL},{"",g}}}', '{{1.50},{-2.25}}', 1),
        (2, NULL, NULL, NULL, NULL, NULL, 1),
        (3, ROW(NULL, NULL, NULL, NULL, NULL, NULL), '{}', '{}', '{}', '{}', 1),
        (4, ROW('', '0044-03-15 BC', '(x)', ROW('', NULL, '{NULL}'), NULL, NULL),
            ARRAY[ROW('a\\b', 'q"z', NULL)::addr], '[0:1][1:2]={{7,8},{9,10}}', '{{{x}}}', '{{0.01,0.02}}', 2);`);
    job(dir, 'e2e_composite', '  people: {}');
    runOk(dir);

    // Types from pg_catalog, ids the Iceberg way (all top-level columns,
    // then each column's children in order, then grandchildren).
    const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'pg', 'people'));
    const schema = md.schemas.find((x) => x['schema-id'] === md['current-schema-id']);
    const byName = Object.fromEntries(schema.fields.map((f) => [f.name, f]));
    const who = byName.who.type;
    assert.equal(who.type, 'struct');
    assert.deepEqual(who.fields.map((f) => [f.name, typeof f.type === 'string' ? f.type : f.type.type, f.required]),
      [['name', 'string', false], ['born', 'date', false], ['Tag, quoted', 'string', false], ['home', 'struct', false],
        ['seen', 'timestamptz', false], ['rank', 'int', false]]);
    assert.deepEqual(who.fields[3].type.fields.map((f) => [f.name, f.type.type ?? f.type]), [['city', 'string'], ['zip', 'string'], ['geo', 'list']]);
    assert.equal(who.fields[3].type.fields[2].type.element, 'decimal(9,6)');
    assert.deepEqual(who.fields.map((f) => f.id), [8, 9, 10, 11, 12, 13]);
    assert.equal(byName.homes.type.type, 'list');
    assert.equal(byName.homes.type.element.type, 'struct');
    assert.deepEqual(byName.grid.type, { type: 'list', 'element-id': byName.grid.type['element-id'], 'element-required': false,
      element: { type: 'list', 'element-id': byName.grid.type.element['element-id'], element: 'int', 'element-required': false } });
    assert.equal(byName.cube.type.element.element.element, 'string');
    assert.equal(byName.m.type.element.element, 'decimal(6,2)');

    // Values: PostgreSQL's own JSON of each value against icebird's read.
    const deep = (v) => {
      if (v === null || v === undefined) return null;
      if (Array.isArray(v)) return v.map(deep);
      if (v instanceof Date) return v.toISOString();
      if (typeof v === 'bigint') return v.toString();
      if (typeof v === 'number') return String(Number(v.toFixed(6)));
      if (typeof v === 'string' && /^-?\d+\.\d+$/.test(v)) return String(Number(Number(v).toFixed(6)));
      if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return new Date(`${v}T00:00:00Z`).toISOString();
      if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d/.test(v)) return new Date(v).toISOString();
      if (typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, deep(v[k])]));
      return v;
    };
    const cols = ['id', 'who', 'homes', 'grid', 'cube', 'm'];
    const lines = (rows) => rows.map((r) => JSON.stringify(cols.map((c) => deep(r[c])))).sort();
    const want = lines(pgRows(db, `SELECT id, who, homes, grid, cube, m FROM people WHERE id <> 4`));
    const got = lines((await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'people')).filter((r) => Number(r.id) !== 4));
    assert.equal(got.length, 3);
    assert.deepEqual(got, want);
    // Row 4 (a BC date, which JavaScript's Date renders its own way): by floe's scan.
    const scan = runOk(dir, ['table', 'scan', 'pg.people', '-c', 'floe.yaml', '--format', 'jsonl']);
    const four = scan.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((r) => Number(r.id) === 4);
    assert.deepEqual(four.who, { name: '', born: '-0043-03-15', 'Tag, quoted': '(x)', home: { city: '', zip: null, geo: [null] }, seen: null, rank: null });
    assert.deepEqual(four.homes, [{ city: 'a\\b', zip: 'q"z', geo: null }]);
    assert.deepEqual(four.grid, [[7, 8], [9, 10]]);
    assert.deepEqual(four.cube, [[['x']]]);
    assert.deepEqual(four.m.map((x) => x.map(String)), [['0.01', '0.02']]);

    // DuckDB reads the data files: the nested values as PostgreSQL has them.
    const files = await liveFilesOf(dir, 'pg', 'people');
    const duckRows = await duckAll(`SELECT id::INTEGER AS id, to_json(who)::VARCHAR AS who, to_json(grid)::VARCHAR AS grid
      FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}]) WHERE id = 1`);
    const one = pgRows(db, `SELECT who, grid FROM people WHERE id = 1`)[0];
    assert.deepEqual(deep(JSON.parse(duckRows[0].who)), deep(one.who));
    assert.deepEqual(JSON.parse(duckRows[0].grid), one.grid);

    // A value of more dimensions than the column declares is refused, nothing committed.
    pgExec(db, `INSERT INTO people VALUES (5, NULL, NULL, '{{{1}}}', NULL, NULL, 3)`);
    const bad = floe(dir, ['run']);
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /column 'grid' row \(id=5\).*an array of more dimensions than the column's 2/);
    assert.match(bad.stderr, /control row compensated/);
    // ... unless the column's shape says so; int[] holding 2-D values too.
    pgExec(db, `DELETE FROM people WHERE id = 5; CREATE TABLE flat (id bigint PRIMARY KEY, pairs int[], batch_sk bigint NOT NULL);
      INSERT INTO flat VALUES (1, '{{1,2},{3,4}}', 1), (2, '{}', 1), (3, NULL, 1);`);
    job(dir, 'e2e_composite', `  people: {}
  flat:
    columns: {pairs: "list<list<long>>"}`);
    runOk(dir);
    const flat = (await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'flat')).map((r) => [Number(r.id), deep(r.pairs)]).sort();
    assert.deepEqual(flat, [[1, [['1', '2'], ['3', '4']]], [2, []], [3, null]]);

    // An attribute added to a composite type evolves the column: a new
    // nullable struct field at the struct's end with a fresh id; rows
    // written before read it as null.
    pgExec(db, `ALTER TYPE person ADD ATTRIBUTE nick text;
      INSERT INTO people VALUES (6, ROW('Cy', NULL, NULL, NULL, NULL, 2, 'cy'), NULL, NULL, NULL, NULL, 3);`);
    runOk(dir);
    const md2 = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'pg', 'people'));
    const who2 = md2.schemas.find((x) => x['schema-id'] === md2['current-schema-id']).fields.find((f) => f.name === 'who');
    assert.deepEqual(who2.type.fields.map((f) => f.name), ['name', 'born', 'Tag, quoted', 'home', 'seen', 'rank', 'nick']);
    const nick = who2.type.fields[6];
    assert.deepEqual([nick.type, nick.required, nick.id], ['string', false, md2['last-column-id']]);
    assert.ok(nick.id > Math.max(...md.schemas.flatMap((x) => JSON.stringify(x).match(/"id":\d+/g).map((m) => Number(m.slice(5))))));
    const people = await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'people');
    assert.deepEqual(people.map((r) => [Number(r.id), r.who == null ? null : r.who.nick ?? null]).sort((a, b) => a[0] - b[0]),
      [[1, null], [2, null], [3, null], [4, null], [6, 'cy']]);
  });
  test('merge on a key keeps list columns: updated rows carry their new arrays, others keep theirs', async () => {
    const dir = scratch('merge');
    pgExec(`${conninfo} dbname=postgres`, 'CREATE DATABASE e2e_array_merge');
    const db = `${conninfo} dbname=e2e_array_merge`;
    pgExec(db, `CREATE TABLE profiles (id bigint PRIMARY KEY, langs text[], scores integer[], batch_sk bigint NOT NULL);
      INSERT INTO profiles SELECT g, ARRAY['l' || g, NULL], ARRAY[g], 1 FROM generate_series(1, 50) g;`);
    job(dir, 'e2e_array_merge', '  profiles: {mode: merge}');
    runOk(dir);
    pgExec(db, `UPDATE profiles SET langs = '{}', scores = NULL, batch_sk = 2 WHERE id = 3;
      UPDATE profiles SET langs = '{c,"c++"}', scores = '{1,NULL,3}', batch_sk = 2 WHERE id = 7;
      INSERT INTO profiles VALUES (51, NULL, '{}', 2);`);
    runOk(dir);
    const columns = ['id', 'langs', 'scores'];
    const want = rowsText(pgRows(db, 'SELECT id, langs, scores FROM profiles'), columns);
    const got = rowsText(await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'profiles'), columns);
    assert.equal(got.length, 51);
    assert.deepEqual(got, want);
    assert.ok(got.includes(JSON.stringify(['7', JSON.stringify(['c', 'c++']), JSON.stringify(['1', null, '3'])])));
  });
  test('a merge past merge.memory_mb spills list columns and reads them back whole', async () => {
    const dir = scratch('spill');
    pgExec(`${conninfo} dbname=postgres`, 'CREATE DATABASE e2e_array_spill');
    const db = `${conninfo} dbname=e2e_array_spill`;
    pgExec(db, `CREATE TABLE events (id bigint PRIMARY KEY, tags text[], vals bigint[], batch_sk bigint NOT NULL);
      INSERT INTO events SELECT g, ARRAY['first-' || g, NULL, repeat('x', g % 40)], ARRAY[g, -g], 1
        FROM generate_series(1, 20000) g;`);
    writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: postgres, conninfo: "${db}"}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: pg
run: {durability: none, report: ./report.json}
tables:
  events: {mode: merge, merge: {memory_mb: 1}}
`);
    runOk(dir);
    // 15,000 changed rows with lists of varied length (some empty, some null) and 2,000 new keys
    pgExec(db, `UPDATE events SET tags = CASE WHEN id % 7 = 0 THEN '{}' WHEN id % 11 = 0 THEN NULL
          ELSE ARRAY['second-' || id, repeat('y', (id % 50)::int), NULL, 'z'] END,
        vals = CASE WHEN id % 5 = 0 THEN NULL ELSE ARRAY[id * 3, NULL, id] END, batch_sk = 2 WHERE id <= 15000;
      INSERT INTO events SELECT g, ARRAY['new-' || g], '{}', 2 FROM generate_series(20001, 22000) g;`);
    runOk(dir);
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.ok(report.tables[0].spill_bytes > 1 << 20, `spilled ${report.tables[0].spill_bytes} bytes`);
    const columns = ['id', 'tags', 'vals'];
    const want = rowsText(pgRows(db, 'SELECT id, tags, vals FROM events'), columns);
    const got = rowsText(await readIceberg(path.join(dir, 'catalog.db'), 'pg', 'events'), columns);
    assert.equal(got.length, 22000);
    assert.deepEqual(got, want);
  });
});
