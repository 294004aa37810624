// Iceberg tables written by floe's table API (tests/tools/iceberg_sample),
// read by independent readers:
//  - icebird 0.3.1 reads each whole table (snapshot, manifests, data files,
//    position and equality deletes, schema evolution by field id) and must
//    return the same rows as `floe table scan --metadata ... --format jsonl`
//    (rows compared sorted, values normalised by Iceberg type);
//  - DuckDB reads every live data file by Parquet field id: its row count
//    and the id column's min/max must match the manifest entry;
//  - avsc decodes every manifest list and manifest of every snapshot: the
//    header keys the spec requires, counts and sequence numbers.
// The row counts themselves follow from how iceberg_sample generated the
// rows (see the comments there).
//
// icebird reads through fetch(); the tables name local paths, so fetch is
// given a small shim that serves absolute paths and file:// URLs from disk
// (with Range support, which hyparquet uses).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { icebergRead } from 'icebird';
import { decodeAvroFile } from './lib/avro.mjs';
import { JsonNumber, parseLossless } from './lib/json.mjs';
import { duck, queryRows, run, scratchDir, sqlString, tool } from './lib/floe.mjs';

const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const u = String(url);
  let file = null;
  if (u.startsWith('file:')) file = fileURLToPath(u);
  else if (u.startsWith('/')) file = u;
  if (file === null) return realFetch(url, init);
  let data;
  try {
    data = readFileSync(file);
  } catch {
    return new Response(null, { status: 404, statusText: `Not Found: ${file}` });
  }
  const headers = new Headers(init?.headers ?? {});
  const range = headers.get('range');
  const m = range && /^bytes=(\d+)-(\d*)$/.exec(range);
  if (m) {
    const start = Number(m[1]);
    const end = m[2] === '' ? data.length - 1 : Math.min(Number(m[2]), data.length - 1);
    const body = data.subarray(start, end + 1);
    return new Response(body, {
      status: 206,
      headers: { 'content-length': String(body.length), 'content-range': `bytes ${start}-${end}/${data.length}` },
    });
  }
  return new Response(data, { status: 200, headers: { 'content-length': String(data.length) } });
};

// Rows each sample table holds (iceberg_sample.c).
const EXPECTED_ROWS = {
  unpartitioned: 40,
  identity: 30,
  bucket_day: 40,
  truncate: 30,
  overwrite: 28, // 39 rows, the 13 of region "us" replaced by 2
  position_deletes: 17, // 20 - 3
  equality_deletes: 18, // 20 - 3 + 1 re-added
  evolved: 21,
  decimal_identity: 12,
};

let tables = null;
let loadError = null;
try {
  const dir = scratchDir('iceberg');
  const out = run(tool('iceberg_sample'), [path.join(dir, 'warehouse')]).toString();
  tables = out.trim().split('\n').map((line) => JSON.parse(line));
} catch (err) {
  loadError = err;
}

if (loadError) {
  test('iceberg_sample builds the sample tables', () => { throw loadError; });
} else {
  test('iceberg_sample wrote every table', () => {
    assert.deepEqual(tables.map((t) => t.name).sort(), Object.keys(EXPECTED_ROWS).sort());
  });
  for (const table of tables) describe(table.name, () => tableTests(table));
}

// ---- normalising values ------------------------------------------------

function canon(type, v) {
  if (v === null || v === undefined) return null;
  if (type === 'long' || type === 'int') return String(v);
  if (type === 'double' || type === 'float') return String(Number(v));
  if (type === 'boolean') return String(v);
  if (type === 'string') return String(v);
  if (type === 'date') {
    if (v instanceof Date) return v.toISOString().slice(0, 10);
    return String(v);
  }
  if (type === 'timestamptz' || type === 'timestamp') {
    if (v instanceof Date) return String(v.getTime());
    if (typeof v === 'bigint') return String(v / 1000n);
    // floe: "2024-03-01 00:00:00+00" (or without zone for timestamp)
    let s = String(v).replace(' ', 'T');
    if (/[+-]\d\d$/.test(s)) s += ':00';
    else if (!/(Z|[+-]\d\d:\d\d)$/.test(s)) s += 'Z';
    return String(Date.parse(s));
  }
  const dec = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
  if (dec) return Number(v).toFixed(Number(dec[2]));
  return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x));
}

function rowKeys(schema, rows) {
  return rows.map((row) => schema.fields.map((f) => {
    const c = canon(f.type, row[f.name]);
    return c === null ? '\\N' : c;
  }).join('|')).sort();
}

// Metadata with exact snapshot ids: integers beyond 2^53 become BigInt.
function exact(v) {
  if (v instanceof JsonNumber) {
    if (!v.isInteger()) return v.toNumber();
    const n = v.toNumber();
    return Number.isSafeInteger(n) ? n : v.toBigInt();
  }
  if (Array.isArray(v)) return v.map(exact);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, exact(x)]));
  return v;
}

function readMetadata(file) {
  return exact(parseLossless(readFileSync(file, 'utf8')));
}

function currentSchema(md) {
  return md.schemas.find((s) => s['schema-id'] === md['current-schema-id']);
}

function floeScan(metadataFile) {
  const out = run(tool('floe'), ['table', 'scan', '--metadata', metadataFile, '--format', 'jsonl']).toString();
  return out.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

const toNum = (v) => (typeof v === 'bigint' ? Number(v) : v);

// Live data files of a snapshot, decoded by avsc.
async function liveFiles(listPath) {
  const list = await decodeAvroFile(listPath);
  const files = [];
  for (const m of list.records) {
    const manifest = await decodeAvroFile(m.manifest_path);
    for (const e of manifest.records) {
      if (toNum(e.status) === 2) continue;
      files.push({ ...e.data_file, manifestContent: toNum(m.content) });
    }
  }
  return files;
}

function boundLong(bounds, id) {
  const entry = (bounds ?? []).find((b) => toNum(b.key) === id);
  if (!entry) return null;
  const buf = Buffer.from(entry.value);
  return buf.length === 8 ? buf.readBigInt64LE(0) : BigInt(buf.readInt32LE(0));
}

function tableTests(table) {
  const md = readMetadata(table.metadata);
  const schema = currentSchema(md);

  test('floe table scan returns the expected number of rows', () => {
    assert.equal(floeScan(table.metadata).length, EXPECTED_ROWS[table.name]);
  });

  if (table.icebird_skip) {
    // icebird cannot read this table's manifests (the reason is printed by
    // the sample tool); DuckDB reads every live data file by name instead.
    test(`DuckDB reads the same rows as floe table scan (icebird: ${table.icebird_skip})`, async () => {
      const snap = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
      const files = await liveFiles(snap['manifest-list']);
      assert.ok(files.every((f) => toNum(f.content ?? 0) === 0), 'no delete files');
      const list = files.map((f) => sqlString(f.file_path)).join(', ');
      const conn = await duck();
      const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet([${list}])`);
      const rows = reader.getRowObjectsJson();
      const ours = floeScan(table.metadata);
      assert.equal(rows.length, EXPECTED_ROWS[table.name]);
      assert.deepEqual(rowKeys(schema, rows), rowKeys(schema, ours));
    });
  } else test('icebird reads the same rows as floe table scan', async () => {
    const tableUrl = md.location.startsWith('/') ? md.location : fileURLToPath(md.location);
    const rows = await icebergRead({ tableUrl, metadataFileName: path.basename(table.metadata) });
    const ours = floeScan(table.metadata);
    assert.equal(rows.length, EXPECTED_ROWS[table.name]);
    assert.deepEqual(rowKeys(schema, rows), rowKeys(schema, ours));
  });

  test('DuckDB reads every live data file by field id, matching its manifest entry', async () => {
    const conn = await duck();
    const snap = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
    const files = await liveFiles(snap['manifest-list']);
    const data = files.filter((f) => toNum(f.content ?? 0) === 0);
    assert.ok(data.length > 0);
    let rows = 0;
    for (const f of data) {
      // Field 1 ("id", long) by id, under a name the file does not use.
      const sql = `SELECT count(*), min(c1), max(c1) FROM read_parquet(${sqlString(f.file_path)}, ` +
        `schema = MAP {1: {name: 'c1', type: 'BIGINT', default_value: NULL}})`;
      const [[count, min, max]] = await queryRows(conn, sql);
      assert.equal(BigInt(count), BigInt(f.record_count), f.file_path);
      assert.equal(BigInt(min), boundLong(f.lower_bounds, 1), `${f.file_path} lower bound`);
      assert.equal(BigInt(max), boundLong(f.upper_bounds, 1), `${f.file_path} upper bound`);
      rows += Number(f.record_count);
    }
    const summary = snap.summary;
    assert.equal(String(rows), summary['total-records']);
    assert.equal(String(data.length), summary['total-data-files']);
    assert.equal(String(files.length - data.length), summary['total-delete-files']);
    // Delete files sit in delete manifests; data files in data manifests.
    for (const f of files) assert.equal(f.manifestContent, toNum(f.content ?? 0) === 0 ? 0 : 1);
  });

  test('avsc decodes every manifest list and manifest of every snapshot', async () => {
    for (const snap of md.snapshots) {
      const list = await decodeAvroFile(snap['manifest-list']);
      const h = (k) => list.header[k]?.toString();
      assert.equal(h('format-version'), '2');
      assert.equal(h('snapshot-id'), String(snap['snapshot-id']));
      assert.equal(h('sequence-number'), String(snap['sequence-number']));
      assert.equal(h('parent-snapshot-id'), snap['parent-snapshot-id'] === undefined ? 'null' : String(snap['parent-snapshot-id']));
      for (const m of list.records) {
        assert.ok(toNum(m.sequence_number) <= snap['sequence-number']);
        assert.ok(toNum(m.min_sequence_number) <= toNum(m.sequence_number));
        const manifest = await decodeAvroFile(m.manifest_path);
        const mh = (k) => manifest.header[k]?.toString();
        for (const key of ['schema', 'schema-id', 'partition-spec', 'partition-spec-id', 'format-version', 'content']) {
          assert.ok(mh(key) !== undefined, `${m.manifest_path}: header key ${key}`);
        }
        assert.equal(mh('partition-spec-id'), String(toNum(m.partition_spec_id)));
        assert.equal(mh('content'), toNum(m.content) === 0 ? 'data' : 'deletes');
        const count = (s) => manifest.records.filter((e) => toNum(e.status) === s).length;
        assert.equal(count(1), toNum(m.added_files_count));
        assert.equal(count(0), toNum(m.existing_files_count));
        assert.equal(count(2), toNum(m.deleted_files_count));
        for (const e of manifest.records) {
          // ADDED entries of this manifest's snapshot inherit their sequence
          // numbers; every other entry carries them.
          if (toNum(e.status) === 1) assert.equal(e.sequence_number ?? null, null);
          else assert.notEqual(e.sequence_number ?? null, null);
        }
      }
    }
  });
}
