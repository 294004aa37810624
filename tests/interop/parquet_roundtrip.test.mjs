// floe's Parquet reader against files it did not write, and its own files
// against what was meant to be in them.
//
// 1. DuckDB writes Parquet files (every type it can map to an Iceberg type,
//    nulls, each codec, several row groups, dictionary and plain pages, page
//    format v1 and v2 with DuckDB's own encoding choices, field ids via
//    FIELD_IDS) and `floe parquet cat FILE --format jsonl` must return what
//    DuckDB reads back from the same file.
// 2. Every file pq_sample writes, read by `floe parquet cat`, equals its
//    expected JSON.
//
// `floe parquet cat --format jsonl`: one JSON object per row keyed by column
// name; ints and floats as JSON numbers (NaN/Infinity as strings); the rest
// as strings rendered like the fixture CSVs; null as null.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { duck, queryRows, run, scratchDir, sqlString, tool } from './lib/floe.mjs';
import { parseJsonLines } from './lib/json.mjs';
import { parquetSamples } from './lib/samples.mjs';
import { compareRows, renderDuckValue } from './lib/values.mjs';

const N = 3000;

// Column name, Iceberg type, field id, and the DuckDB expression over i
// (0..N-1) that makes it. The first rows carry the extreme values.
const COLUMNS = [
  ['id', 'long', 1, 'i::BIGINT'],
  ['flag', 'boolean', 2, 'CASE WHEN i % 7 = 3 THEN NULL ELSE i % 3 = 0 END'],
  ['i32', 'int', 3, `CASE WHEN i % 11 = 5 THEN NULL WHEN i = 0 THEN -2147483648 WHEN i = 1 THEN 2147483647
     ELSE ((hash(i) % 4294967296)::BIGINT - 2147483648)::INTEGER END`],
  ['i64', 'long', 4, `CASE WHEN i % 13 = 6 THEN NULL WHEN i = 0 THEN (-9223372036854775807 - 1)::BIGINT
     WHEN i = 1 THEN 9223372036854775807::BIGINT WHEN i = 2 THEN 9007199254740993::BIGINT
     ELSE (hash(i)::HUGEINT - 9223372036854775808)::BIGINT END`],
  ['f32', 'float', 5, `CASE WHEN i % 17 = 8 THEN NULL WHEN i = 0 THEN 'nan'::FLOAT WHEN i = 1 THEN '-0.0'::FLOAT
     WHEN i = 2 THEN 'inf'::FLOAT WHEN i = 3 THEN '-inf'::FLOAT WHEN i = 4 THEN 3.4028235e38::FLOAT
     WHEN i = 5 THEN 1.4e-45::FLOAT ELSE ((hash(i) % 2000000)::DOUBLE / 7 - 140000)::FLOAT END`],
  ['f64', 'double', 6, `CASE WHEN i % 19 = 9 THEN NULL WHEN i = 0 THEN 'nan'::DOUBLE WHEN i = 1 THEN '-0.0'::DOUBLE
     WHEN i = 2 THEN 'inf'::DOUBLE WHEN i = 3 THEN '-inf'::DOUBLE WHEN i = 4 THEN 1.7976931348623157e308
     WHEN i = 5 THEN 5e-324 WHEN i = 6 THEN 0.1 ELSE (hash(i) % 1000000000)::DOUBLE / 977 - 500000 END`],
  ['dec9', 'decimal(9,2)', 7, `CASE WHEN i % 23 = 10 THEN NULL WHEN i = 0 THEN '9999999.99'::DECIMAL(9,2)
     WHEN i = 1 THEN '-9999999.99'::DECIMAL(9,2) WHEN i = 2 THEN '-0.01'::DECIMAL(9,2)
     ELSE (((hash(i) % 1999999999)::BIGINT - 999999999) / 100.0)::DECIMAL(9,2) END`],
  ['dec18', 'decimal(18,4)', 8, `CASE WHEN i % 29 = 11 THEN NULL WHEN i = 0 THEN '99999999999999.9999'::DECIMAL(18,4)
     WHEN i = 1 THEN '-99999999999999.9999'::DECIMAL(18,4)
     ELSE (((hash(i) % 1999999999999)::BIGINT - 999999999999) / 10000.0)::DECIMAL(18,4) END`],
  ['dec38', 'decimal(38,10)', 9, `CASE WHEN i % 31 = 12 THEN NULL
     WHEN i = 0 THEN '9999999999999999999999999999.9999999999'::DECIMAL(38,10)
     WHEN i = 1 THEN '-9999999999999999999999999999.9999999999'::DECIMAL(38,10)
     ELSE (CASE WHEN i % 2 = 0 THEN '-' ELSE '' END || (hash(i) % 100000000000000000)::VARCHAR || '.'
           || lpad((hash(i + 1) % 10000000000)::VARCHAR, 10, '0'))::DECIMAL(38,10) END`],
  ['d', 'date', 10, `CASE WHEN i % 37 = 13 THEN NULL WHEN i = 0 THEN '0001-01-01'::DATE WHEN i = 1 THEN '9999-12-31'::DATE
     WHEN i = 2 THEN '1969-12-31'::DATE ELSE '1970-01-01'::DATE + ((hash(i) % 100000)::INTEGER - 50000) END`],
  ['t', 'time', 11, `CASE WHEN i % 41 = 14 THEN NULL WHEN i = 0 THEN '23:59:59.999999'::TIME
     ELSE '00:00:00'::TIME + to_microseconds((hash(i) % 86400000000)::BIGINT) END`],
  ['ts', 'timestamp', 12, `CASE WHEN i % 43 = 15 THEN NULL WHEN i = 0 THEN '0001-01-01 00:00:00'::TIMESTAMP
     WHEN i = 1 THEN '9999-12-31 23:59:59.999999'::TIMESTAMP WHEN i = 2 THEN '1969-12-31 23:59:59.999999'::TIMESTAMP
     ELSE make_timestamp((hash(i) % 6311433600000000)::BIGINT - 2208988800000000) END`],
  ['tstz', 'timestamptz', 13, `CASE WHEN i % 47 = 16 THEN NULL WHEN i = 0 THEN '1900-01-01 00:00:00+00'::TIMESTAMPTZ
     ELSE make_timestamp((hash(i + 3) % 6311433600000000)::BIGINT - 2208988800000000)::TIMESTAMPTZ END`],
  ['s', 'string', 14, `CASE WHEN i % 53 = 17 THEN NULL WHEN i = 0 THEN '' WHEN i = 1 THEN 'héllo wörld ✓ 日本語 😀'
     WHEN i = 2 THEN repeat('long string ', 20) ELSE 'v' || (hash(i) % 100000)::VARCHAR || repeat('é', (i % 5)::INTEGER) END`],
  ['s_dict', 'string', 15, `CASE WHEN i % 10 = 0 THEN NULL ELSE ['red', 'green', 'blue', 'ünïcode'][(i % 4 + 1)::INTEGER] END`],
  ['bin', 'binary', 16, `CASE WHEN i % 59 = 18 THEN NULL WHEN i = 0 THEN ''::BLOB WHEN i = 1 THEN '\\x00\\xFF'::BLOB
     ELSE unhex(printf('%016x', hash(i))) END`],
  ['u', 'uuid', 17, `CASE WHEN i % 61 = 19 THEN NULL WHEN i = 0 THEN '00000000-0000-0000-0000-000000000000'::UUID
     WHEN i = 1 THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff'::UUID
     ELSE (printf('%016x', hash(i)) || printf('%016x', hash(i + 7)))::UUID END`],
  ['i32_req', 'int', 18, '(i % 1000)::INTEGER - 500'],
  ['lowcard', 'long', 19, '(i % 5)::BIGINT * 1000000007'],
];

const FILES = [
  { name: 'uncompressed', options: 'COMPRESSION uncompressed, ROW_GROUP_SIZE 1000' },
  { name: 'snappy', options: 'COMPRESSION snappy, ROW_GROUP_SIZE 1000' },
  { name: 'gzip', options: 'COMPRESSION gzip, ROW_GROUP_SIZE 1000' },
  { name: 'zstd', options: 'COMPRESSION zstd, ROW_GROUP_SIZE 2048' },
  { name: 'v2_zstd', options: 'COMPRESSION zstd, PARQUET_VERSION V2, ROW_GROUP_SIZE 1000' },
  { name: 'v2_uncompressed', options: 'COMPRESSION uncompressed, PARQUET_VERSION V2' },
  { name: 'no_dictionary', options: 'COMPRESSION snappy, DICTIONARY_SIZE_LIMIT 1' },
  { name: 'all_null', options: 'COMPRESSION snappy', allNull: true },
  { name: 'zero_rows', options: 'COMPRESSION zstd', rows: 0 },
  { name: 'one_row', options: 'COMPRESSION uncompressed', rows: 1 },
];

// Reads `floe parquet cat` output into row arrays in schema order.
function floeCat(file, schema) {
  const out = run(tool('floe'), ['parquet', 'cat', file, '--format', 'jsonl']).toString('utf8');
  return parseJsonLines(out).map((obj, r) => {
    const keys = Object.keys(obj);
    const names = schema.map((f) => f.name);
    assert.deepEqual(keys, names, `row ${r}: keys of the JSON object are the column names in schema order`);
    return names.map((n) => obj[n]);
  });
}

describe('floe parquet cat reads what DuckDB writes', () => {
  const dir = scratchDir('pq-duckdb');
  const schema = COLUMNS.map(([name, type, fieldId]) => ({ name, type, field_id: fieldId }));

  for (const spec of FILES) {
    test(spec.name, async () => {
      const conn = await duck();
      await conn.run(`SET TimeZone = 'UTC'`).catch(() => {});
      const rows = spec.rows ?? N;
      const select = COLUMNS.map(([name, type, , expr]) =>
        (spec.allNull && name !== 'id' ? `NULL::${duckTypeOfColumn(type)}` : expr) + ` AS ${name}`).join(',\n');
      const file = path.join(dir, `${spec.name}.parquet`);
      const ids = COLUMNS.map(([name, , id]) => `${name}: ${id}`).join(', ');
      await conn.run(`COPY (SELECT ${select} FROM range(${rows}) t(i) ORDER BY i) TO ${sqlString(file)}
        (FORMAT parquet, ${spec.options}, FIELD_IDS {${ids}})`);
      const expected = (await queryRows(conn, `SELECT * FROM read_parquet(${sqlString(file)})`))
        .map((row) => row.map((v, c) => renderDuckValue(schema[c].type, v)));
      assert.equal(expected.length, rows);
      const got = floeCat(file, schema);
      const problems = compareRows(schema, expected, got);
      assert.deepEqual(problems, [], `${file}:\n${problems.join('\n')}`);
    });
  }
});

function duckTypeOfColumn(type) {
  return {
    boolean: 'BOOLEAN', int: 'INTEGER', long: 'BIGINT', float: 'FLOAT', double: 'DOUBLE',
    'decimal(9,2)': 'DECIMAL(9,2)', 'decimal(18,4)': 'DECIMAL(18,4)', 'decimal(38,10)': 'DECIMAL(38,10)',
    date: 'DATE', time: 'TIME', timestamp: 'TIMESTAMP', timestamptz: 'TIMESTAMPTZ', string: 'VARCHAR',
    binary: 'BLOB', uuid: 'UUID',
  }[type];
}

describe('floe parquet cat reads floe\'s own files as written', () => {
  let loaded;
  try {
    loaded = parquetSamples();
  } catch (err) {
    test('pq_sample writes the sample files', () => { throw err; });
    return;
  }
  for (const { name, file, expected } of loaded.samples) {
    test(name, () => {
      const got = floeCat(file, expected.schema);
      const problems = compareRows(expected.schema, expected.rows, got);
      assert.deepEqual(problems, [], `${file}:\n${problems.join('\n')}`);
    });
  }
});
