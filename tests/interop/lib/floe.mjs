// Shared plumbing for the interop tests: where floe's build is, running its
// binaries, scratch directories, the shared fixtures, and a DuckDB
// connection.
//
// FLOE_BUILD (absolute) names the CMake build directory holding `floe`,
// `pq_sample` and `avro_sample`; it defaults to <repo>/build. A missing
// binary is a failure, not a skip: the tools are part of the build.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD = path.resolve(process.env.FLOE_BUILD ?? path.join(REPO, 'build'));
export const FIXTURES = path.resolve(REPO, '../shared/fixtures');

export function tool(name) {
  const file = path.join(BUILD, name);
  if (!existsSync(file)) {
    throw new Error(`${file} does not exist: build floe first (cmake --build ${BUILD}), or set FLOE_BUILD`);
  }
  return file;
}

// Runs a binary; returns stdout (a Buffer) and throws with stderr on a
// non-zero exit.
export function run(file, args, { allowFail = false } = {}) {
  const r = spawnSync(file, args, { maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${path.basename(file)} ${args.join(' ')} exited ${r.status ?? r.signal}:\n` +
      r.stderr.toString().slice(0, 4000));
  }
  return allowFail ? r : r.stdout;
}

// A scratch directory removed at exit (kept when FLOE_KEEP_TMP is set).
export function scratchDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), `floe-${prefix}-`));
  if (!process.env.FLOE_KEEP_TMP) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function fixturesPresent() {
  return existsSync(FIXTURES);
}

let instance = null;
export async function duck() {
  if (!instance) instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  return instance.connect();
}

export function sqlString(s) {
  return `'${String(s).replace(/'/g, "''")}'`;
}

// Rows (arrays) of a query, as node-api values.
export async function queryRows(conn, sql) {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRows();
}

// Rows as objects keyed by column name, rendered by DuckDB as JSON-safe
// values (for metadata queries: parquet_metadata, parquet_schema).
export async function queryObjects(conn, sql) {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJson();
}
