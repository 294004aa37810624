// bench/parquet_write_duckdb.mjs: DuckDB's side of bench/parquet_write.
//
// Builds the benchmark table in memory with the same deterministic
// generator as bench/parquet_write.c (untimed), then times
//   SET threads = 1; COPY t TO '<out>' (FORMAT parquet, COMPRESSION zstd)
// and prints "duckdb_s=<seconds> duckdb_bytes=<file size>". Given floe's
// file too, it checks that DuckDB reads back exactly the same rows from it
// (by field id) and prints "same_rows=true|false".
//
// usage: node parquet_write_duckdb.mjs <duckdb_out.parquet> [rows] [floe.parquet]
import { statSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const out = process.argv[2];
const rows = BigInt(process.argv[3] ?? '10000000');
const floeFile = process.argv[4];

const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const run = (sql) => c.run(sql);
const one = async (sql) => (await c.runAndReadAll(sql)).getRows()[0][0];

await run('SET threads = 1');
await run('SET preserve_insertion_order = true');
await run(`CREATE TABLE t AS SELECT
    i::BIGINT AS id,
    ((i * 48271) % 2147483647)::DOUBLE / 2147483647::DOUBLE * 1000::DOUBLE AS d,
    'customer_' || lpad(((i * 7919) % 20000)::VARCHAR, 6, '0') || '_name' AS s,
    make_timestamp(1704067200000000 + i * 1000003) AS ts,
    CAST(((i * 104729) % 10000000000)::DECIMAL(18,0) * 0.01 AS DECIMAL(18,2)) AS dec,
    CASE WHEN ((i * 2654435761) % 4294967296) % 10 = 0 THEN NULL
         ELSE ((i * 31) % 100000)::INTEGER END AS n
  FROM range(${rows}) r(i) ORDER BY i`);

const t0 = process.hrtime.bigint();
await run(`COPY t TO '${out}' (FORMAT parquet, COMPRESSION zstd)`);
const t1 = process.hrtime.bigint();
const seconds = Number(t1 - t0) / 1e9;
console.log(`duckdb_s=${seconds.toFixed(3)} duckdb_bytes=${statSync(out).size}`);

if (floeFile) {
  await run('SET threads = 4');
  const schema = `MAP{1: {name: 'id', type: 'BIGINT', default_value: NULL},
    2: {name: 'd', type: 'DOUBLE', default_value: NULL},
    3: {name: 's', type: 'VARCHAR', default_value: NULL},
    4: {name: 'ts', type: 'TIMESTAMP', default_value: NULL},
    5: {name: 'dec', type: 'DECIMAL(18,2)', default_value: NULL},
    6: {name: 'n', type: 'INTEGER', default_value: NULL}}`;
  // Same multiset of rows: equal count and equal sum of per-row hashes.
  const digest = (from) => one(`SELECT count(*)::VARCHAR || ':' || sum(hash(id, d, s, ts, dec, n))::VARCHAR FROM ${from}`);
  const want = await digest('t');
  const got = await digest(`read_parquet('${floeFile}', schema = ${schema})`);
  const diff = want === got ? 0n : 1n;
  const count = rows;
  console.log(`same_rows=${diff === 0n && count === rows}`);
}
