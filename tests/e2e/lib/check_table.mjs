// Independent checks of what `floe run` wrote, for the end-to-end tests.
//
//  - readIceberg: the whole table read by icebird 0.3.1 (snapshot,
//    manifests, data files, position and equality deletes), from the
//    metadata file the SQL catalog (a SQLite file) points at;
//  - duckdbFiles: DuckDB reading every live data file of the current
//    snapshot by Parquet field id (count and sum of one long column);
//  - sourceRows: the rows the test expects, pulled from the source with the
//    sqlite3 or psql command-line client;
//  - normalizeRows: both sides rendered alike (longs, numbers rounded to 6
//    places, timestamps/dates as ISO text without zone and zero parts) and
//    sorted, so they compare with deepEqual.
//
// The node modules live in tests/interop (scripts/deps.sh --npm installs
// them); they are imported from there by path.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const INTEROP = path.join(REPO, 'tests/interop');
const MODULES = path.join(INTEROP, 'node_modules');

export function modulesPresent() {
  return existsSync(path.join(MODULES, 'icebird')) && existsSync(path.join(MODULES, '@duckdb/node-api'));
}

let icebird = null;
let avro = null;
let duckInstance = null;

async function loadModules() {
  if (icebird) return;
  icebird = await import(pathToFileURL(path.join(MODULES, 'icebird/src/index.js')).href);
  avro = await import(pathToFileURL(path.join(INTEROP, 'lib/avro.mjs')).href);
}

// icebird reads through fetch(): serve absolute paths and file:// URLs from
// disk, with the Range requests hyparquet makes.
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const u = String(url);
  const file = u.startsWith('file:') ? fileURLToPath(u) : u.startsWith('/') ? u : null;
  if (file === null) return realFetch(url, init);
  let data;
  try {
    data = readFileSync(file);
  } catch {
    return new Response(null, { status: 404, statusText: `Not Found: ${file}` });
  }
  const range = new Headers(init?.headers ?? {}).get('range');
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

export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// The current metadata file of ns.table in a SQLite SQL catalog.
export function metadataLocation(catalogDb, ns, table) {
  const out = sh('sqlite3', [catalogDb,
    `SELECT metadata_location FROM iceberg_tables WHERE table_namespace = '${ns}' AND table_name = '${table}'`]).trim();
  return out === '' ? null : out;
}

export function readMetadata(location) {
  return JSON.parse(readFileSync(location.replace(/^file:/, ''), 'utf8'));
}

export async function readIceberg(catalogDb, ns, table) {
  await loadModules();
  const loc = metadataLocation(catalogDb, ns, table);
  if (loc === null) throw new Error(`${ns}.${table} is not in ${catalogDb}`);
  const md = readMetadata(loc);
  if (md['current-snapshot-id'] === undefined || md['current-snapshot-id'] === -1) return [];
  return icebird.icebergRead({ tableUrl: md.location, metadataFileName: path.basename(loc) });
}

// The whole table as icebird reads it from one metadata file (a REST
// catalog's metadata-location).
export async function readIcebergAt(location) {
  await loadModules();
  const md = readMetadata(location);
  if (md['current-snapshot-id'] === undefined || md['current-snapshot-id'] === -1) return [];
  return icebird.icebergRead({ tableUrl: md.location, metadataFileName: path.basename(location) });
}

async function liveDataFiles(md) {
  const snap = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
  if (!snap) return { data: [], deletes: 0 };
  const list = await avro.decodeAvroFile(snap['manifest-list']);
  const data = [];
  let deletes = 0;
  for (const m of list.records) {
    const manifest = await avro.decodeAvroFile(m.manifest_path);
    for (const e of manifest.records) {
      if (Number(e.status) === 2) continue;
      if (Number(e.data_file.content ?? 0) === 0) data.push(e.data_file.file_path);
      else deletes++;
    }
  }
  return { data, deletes };
}

// The local paths of the current snapshot's live data files (delete
// files left out), for readers that take a file list.
export async function liveDataFilePaths(catalogDb, ns, table) {
  await loadModules();
  const { data } = await liveDataFiles(readMetadata(metadataLocation(catalogDb, ns, table)));
  return data.map((f) => f.replace(/^file:/, ''));
}

// DuckDB reads every live data file by field id: count(*) and sum of the
// long column `fieldId`. Throws when the snapshot has delete files (then
// file contents are not the table).
export async function duckdbFiles(catalogDb, ns, table, fieldId) {
  await loadModules();
  const md = readMetadata(metadataLocation(catalogDb, ns, table));
  const { data, deletes } = await liveDataFiles(md);
  if (deletes > 0) throw new Error('the snapshot has delete files');
  if (data.length === 0) return { rows: 0, sum: 0n, files: 0 };
  if (!duckInstance) {
    const { DuckDBInstance } = await import(pathToFileURL(path.join(MODULES, '@duckdb/node-api/lib/index.js')).href);
    duckInstance = await DuckDBInstance.create(':memory:', { threads: '2' });
  }
  const conn = await duckInstance.connect();
  const list = data.map((f) => `'${f.replace(/^file:/, '').replace(/'/g, "''")}'`).join(', ');
  const reader = await conn.runAndReadAll(
    `SELECT count(*), sum(c) FROM read_parquet([${list}], ` +
    `schema = MAP {${fieldId}: {name: 'c', type: 'BIGINT', default_value: NULL}})`);
  const [[count, sum]] = reader.getRows();
  return { rows: Number(count), sum: BigInt(sum ?? 0), files: data.length };
}

// The rows of one Parquet file in file order, read by DuckDB by field id:
// `columns` is [[fieldId, name, duckdbType], ...]; values come back as DuckDB
// renders them with CAST(... AS VARCHAR) (null stays null).
export async function duckdbFileRows(file, columns) {
  await loadModules();
  if (!duckInstance) {
    const { DuckDBInstance } = await import(pathToFileURL(path.join(MODULES, '@duckdb/node-api/lib/index.js')).href);
    duckInstance = await DuckDBInstance.create(':memory:', { threads: '2' });
  }
  const conn = await duckInstance.connect();
  const map = columns.map(([id, name, type]) => `${id}: {name: '${name}', type: '${type}', default_value: NULL}`).join(', ');
  const select = columns.map(([, name]) => `CAST(${name} AS VARCHAR)`).join(', ');
  const reader = await conn.runAndReadAll(
    `SELECT ${select} FROM read_parquet('${file.replace(/^file:/, '').replace(/'/g, "''")}', ` +
    `schema = MAP {${map}}, file_row_number = true) ORDER BY file_row_number`);
  return reader.getRows();
}

export function sqliteRows(db, sql) {
  const out = sh('sqlite3', ['-json', db, sql]).trim();
  return out === '' ? [] : JSON.parse(out);
}

export function pgRows(conninfo, sql) {
  const out = sh('psql', [conninfo, '-X', '-At', '-c', `SELECT coalesce(json_agg(t), '[]') FROM (${sql}) t`]).trim();
  return JSON.parse(out);
}

export function pgExec(conninfo, sql) {
  return sh('psql', [conninfo, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
}

const TS = /^(\d{4}-\d{2}-\d{2})([ T](\d{2}:\d{2}(:\d{2}(\.\d+)?)?))?(Z|[+-]\d{2}(:?\d{2})?)?$/;

export function normalizeValue(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return String(Number(v.toFixed(6)));
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return isoText(v);
  if (typeof v === 'string') {
    const m = TS.exec(v);
    if (m) {
      const zone = m[6] === undefined ? 'Z' : m[6] === 'Z' ? 'Z' : m[6].length === 3 ? `${m[6]}:00` : m[6];
      const d = new Date(`${m[1]}T${m[3] ?? '00:00:00'}${zone}`);
      if (!Number.isNaN(d.getTime())) return isoText(d);
    }
    if (/^-?\d+(\.\d+)?$/.test(v)) return String(Number(Number(v).toFixed(6)));
    return v;
  }
  return String(v);
}

function isoText(d) {
  return d.toISOString().replace('Z', '').replace(/\.000$/, '').replace(/T00:00:00$/, '');
}

// Rows as sorted JSON strings of the named columns (case-insensitive).
export function normalizeRows(rows, columns) {
  return rows.map((r) => {
    const keys = Object.keys(r);
    const o = {};
    for (const c of columns) {
      const k = keys.find((x) => x.toLowerCase() === c.toLowerCase());
      o[c] = normalizeValue(k === undefined ? null : r[k]);
    }
    return JSON.stringify(o);
  }).sort();
}
