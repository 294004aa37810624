// End-to-end tests of `floe run` against Snowflake: the seed workflow with
// the control table in Snowflake, every Snowflake type, streams consumed
// exactly once through the ledger table, the CHANGES clause, retries under
// injected faults, and no secret in any log line.
//
// "Snowflake" is the SQL API v2 emulator (tests/snowflake-emulator, Node +
// DuckDB), started here with a TEST-ONLY RSA key pair that openssl
// generates into a scratch directory at test time. The test reads the
// source and the control table through the same SQL API (a JWT signed with
// that key), and checks every Iceberg table with independent readers:
// icebird reads the whole table (deletes applied), DuckDB reads the live
// data files by field id (lib/check_table.mjs). The emulator's request log
// and per-requestId execution counters show what floe sent and that no
// statement ran twice.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/snowflake.test.mjs
// (needs the npm modules of tests/interop and tests/snowflake-emulator:
// scripts/deps.sh --npm).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  REPO, duckdbFiles, liveDataFilePaths, metadataLocation, modulesPresent, normalizeRows, readIceberg, readMetadata, sh,
} from './lib/check_table.mjs';

const FLOE = process.env.FLOE_BIN ?? path.join(REPO, 'build/floe');
const EMU_DIR = path.join(REPO, 'tests/snowflake-emulator');
const emuModules = existsSync(path.join(EMU_DIR, 'node_modules/@duckdb/node-api'));
const ready = existsSync(FLOE) && modulesPresent() && emuModules;
const skipReason = !existsSync(FLOE) ? `no floe binary at ${FLOE} (set FLOE_BIN)`
  : 'node modules missing: run scripts/deps.sh --npm';

const ACCOUNT = 'FLOETEST';
const USER = 'FLOE_USER';
const OAUTH_TOKEN = 'e2e-oauth-token-6f1d93c4a7b2';
const ACCOUNT_FORMATS = [
  ['TIMESTAMP_OUTPUT_FORMAT', 'DY, DD MON YYYY HH12:MI:SS AM'], ['DATE_OUTPUT_FORMAT', 'DD/MM/YYYY'],
  ['TIME_OUTPUT_FORMAT', 'HH12:MI AM'],
];

function scratch(name) {
  const dir = mkdtempSync(path.join(tmpdir(), `floe-e2e-sf-${name}-`));
  if (!process.env.FLOE_KEEP_TMP) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---- the emulator ---------------------------------------------------------------

let helpers = null; // tests/snowflake-emulator/test/helpers.mjs: request(), signJwt()
let emu = null;

async function startEmulator() {
  helpers = await import(pathToFileURL(path.join(EMU_DIR, 'test/helpers.mjs')).href);
  const dir = scratch('emulator');
  const privPath = path.join(dir, 'floe_key.p8');
  const pubPath = path.join(dir, 'floe_key.pub');
  sh('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', privPath]);
  sh('openssl', ['pkey', '-in', privPath, '-pubout', '-out', pubPath]);
  const child = spawn(process.execPath, [path.join(EMU_DIR, 'server.mjs'), '--port', '0',
    '--state', path.join(dir, 'state'), '--public-key', pubPath, '--account', ACCOUNT,
    '--oauth-token', OAUTH_TOKEN, '--rows-per-partition', '100', '--warehouse', 'LOAD_WH', '--role', 'FLOE_ROLE',
    // Snowflake's shapes: partitions sized by bytes (row counts vary), and
    // a fast statement may still answer 202.
    '--partition-bytes', '6000', '--random-async', '0.15', '--seed', String(process.pid),
    // The account's output formats are not the ISO defaults: every text
    // conversion of a date, time or timestamp renders in them, so floe
    // passes only if it never reads such text (it reads typed values).
    ...ACCOUNT_FORMATS.flatMap(([k, v]) => ['--account-parameter', `${k}=${v}`])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /LISTENING 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`emulator exited ${code}: ${stderr}`)));
  });
  const privatePem = readFileSync(privPath, 'utf8');
  const publicPem = readFileSync(pubPath, 'utf8');
  return {
    port, child, privPath, privatePem, publicPem,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

const admin = async (method, what, body) => {
  const r = await helpers.request(emu.port, { method, path: `/_emulator/${what}`, body, noAuth: true });
  assert.equal(r.status, 200, `emulator ${method} ${what}: ${r.text}`);
  return r.json;
};

// Runs SQL (one statement or several) in FLOE_TEST.<schema> through the SQL
// API; returns the rows of the last statement as objects with decoded values.
async function sf(schema, statement, bindings) {
  const { meta, data } = await sfRaw(schema, statement, bindings);
  return data.map((row) => Object.fromEntries(meta.rowType.map((c, i) => [c.name, decode(c, row[i])])));
}

// The same, undecoded: the SQL API's rowType and its jsonv2 strings.
async function sfRaw(schema, statement, bindings) {
  const token = helpers.signJwt({ privatePem: emu.privatePem, publicPem: emu.publicPem, account: ACCOUNT, user: USER });
  // Bindings only in a single-statement request (the SQL API takes none
  // in a multi-statement one).
  const body = { statement, timeout: 60, database: 'FLOE_TEST', schema };
  if (bindings) body.bindings = bindings;
  else body.parameters = { MULTI_STATEMENT_COUNT: 0 };
  let r = await helpers.request(emu.port, { method: 'POST', path: '/api/v2/statements', body, token });
  // A fast statement may answer 202 too (the emulator runs with --random-async).
  for (let i = 0; r.status === 202 && i < 400; i++) {
    await new Promise((res) => setTimeout(res, 5));
    r = await helpers.request(emu.port, { method: 'GET', path: `/api/v2/statements/${r.json.statementHandle}`, token });
  }
  assert.equal(r.status, 200, `${statement}: ${r.text}`);
  const meta = r.json.resultSetMetaData;
  const data = [...r.json.data];
  for (let p = 1; p < (meta.partitionInfo ?? []).length; p++) {
    const part = await helpers.request(emu.port, {
      method: 'GET', path: `/api/v2/statements/${r.json.statementHandle}?partition=${p}`, token,
    });
    assert.equal(part.status, 200, `partition ${p} of ${statement}: ${part.text}`);
    data.push(...part.json.data);
  }
  return { meta, data };
}

// SQL API jsonv2 values ("Handling responses") -> the forms normalizeRows
// compares: numbers, ISO text, hex, 'true'/'false'.
function decode(col, v) {
  if (v === null) return null;
  switch (col.type.toLowerCase()) {
    case 'fixed': return col.scale > 0 ? Number(v) : BigInt(v);
    case 'real': return Number(v);
    case 'boolean': return v === 'true';
    case 'date': return new Date(Number(v) * 86400000).toISOString().slice(0, 10);
    case 'time': return timeText(Number(v) * 1e6);
    case 'timestamp_ntz': case 'timestamp_ltz': return epochText(v);
    case 'timestamp_tz': return epochText(v.split(' ')[0]);
    case 'binary': return v.toLowerCase();
    default: return v;
  }
}

function epochText(secondsText) {
  const [s, frac = ''] = secondsText.split('.');
  const micros = BigInt(s) * 1000000n + BigInt((frac + '000000').slice(0, 6)) * (s.startsWith('-') ? -1n : 1n);
  return microsText(micros);
}

function microsText(micros) {
  const ms = Number(micros / 1000n);
  const us = Number(((micros % 1000000n) + 1000000n) % 1000000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  return us === 0 ? base : `${base}.${String(us).padStart(6, '0')}`;
}

function timeText(micros) {
  const us = Math.round(micros);
  const s = Math.floor(us / 1e6);
  const pad = (n) => String(n).padStart(2, '0');
  const frac = us % 1e6;
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}${frac ? '.' + String(frac).padStart(6, '0') : ''}`;
}

// icebird values -> the same forms (timestamps as UTC wall-clock text,
// binary as hex, time as HH:MM:SS[.ffffff]).
function icebergValue(v, kind) {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (kind === 'time') return timeText(Number(v));
  if (v instanceof Date) return microsText(BigInt(v.getTime()) * 1000n);
  if (kind === 'date' && typeof v === 'string') return v.slice(0, 10);
  return v;
}

// ---- floe ----------------------------------------------------------------------------

function job(dir, schema, tables, { extra = '', source = '', context = {} } = {}) {
  writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source:
  type: snowflake
  account: ${ACCOUNT}
  user: ${USER}
  ${source || `private_key_file: ${emu.privPath}`}
  warehouse: ${context.warehouse ?? 'LOAD_WH'}
  role: ${context.role ?? 'FLOE_ROLE'}
  database: ${context.database ?? 'FLOE_TEST'}
  schema: ${context.schema ?? schema}
  host: 127.0.0.1:${emu.port}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: sf
run: {durability: none, report: ./report.json}
${extra}
tables:
${tables}
`);
}

function floe(dir, args, env = {}) {
  const r = spawnSync(FLOE, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runOk(dir, args = ['run'], env = {}) {
  const r = floe(dir, args, env);
  assert.equal(r.status, 0, `floe ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function control(schema, table) {
  const rows = await sf(schema, `SELECT batch_sk, kind, watermark FROM floe_control WHERE table_name = '${table}' ORDER BY batch_sk`);
  return rows.map((r) => ({ batch_sk: Number(r.BATCH_SK), kind: r.KIND, watermark: r.WATERMARK }));
}

function snapshots(dir, table) {
  const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'sf', table));
  return md.snapshots ?? [];
}

function icebergSchema(dir, table) {
  const md = readMetadata(metadataLocation(path.join(dir, 'catalog.db'), 'sf', table));
  return md.schemas.find((s) => s['schema-id'] === md['current-schema-id']);
}

// The Iceberg table read by icebird equals `expected` (rows from sf()).
async function assertTable(dir, table, expected, columns) {
  const kinds = Object.fromEntries(icebergSchema(dir, table).fields.map((f) => [f.name.toLowerCase(), typeof f.type === 'string' ? f.type : 'nested']));
  const got = (await readIceberg(path.join(dir, 'catalog.db'), 'sf', table)).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, icebergValue(v, kinds[k.toLowerCase()])])));
  assert.deepEqual(normalizeRows(got, columns), normalizeRows(expected, columns), `icebird rows of sf.${table}`);
  return got.length;
}

// DuckDB reads the live data files by field id: count and sum of field 1.
async function assertDuckdb(dir, table, n, total) {
  const d = await duckdbFiles(path.join(dir, 'catalog.db'), 'sf', table, 1);
  assert.equal(d.rows, n, `DuckDB row count of ${table}`);
  assert.equal(d.sum, BigInt(total), `DuckDB sum of field 1 of ${table}`);
}

// DuckDB reads the live data files by Parquet field id (the Iceberg
// column's id) and returns `select` over the column map {id: name}, e.g.
// duckdbSelect(dir, 't', {3: 'BIG'}, 'SELECT CAST(BIG AS VARCHAR) AS v').
let duck = null;
async function duckdbSelect(dir, table, columns, select) {
  const files = await liveDataFilePaths(path.join(dir, 'catalog.db'), 'sf', table);
  if (!duck) {
    const { DuckDBInstance } = await import(pathToFileURL(path.join(REPO, 'tests/interop/node_modules/@duckdb/node-api/lib/index.js')).href);
    duck = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
  }
  const fields = icebergSchema(dir, table).fields;
  const map = Object.entries(columns).map(([id, name]) => {
    const f = fields.find((x) => x.id === Number(id));
    const leaf = (t) => ({ long: 'BIGINT', binary: 'BLOB', timestamp: 'TIMESTAMP', timestamptz: 'TIMESTAMPTZ', time: 'TIME' }[t]
      ?? (t.startsWith('decimal') ? t.toUpperCase() : 'VARCHAR'));
    const type = typeof f.type === 'object' && f.type.type === 'list' ? `${leaf(f.type.element)}[]` : leaf(f.type);
    return `${id}: {name: '${name}', type: '${type}', default_value: NULL}`;
  }).join(', ');
  const list = files.map((f) => `'${f}'`).join(', ');
  await duck.run("SET TimeZone = 'UTC'");
  const reader = await duck.runAndReadAll(`WITH t AS (SELECT * FROM read_parquet([${list}], schema = MAP {${map}})) ${select}`);
  return reader.getRowObjects();
}

// DuckDB over the table's live data files with an explicit schema map
// (field id -> name and DuckDB type), then `select` over them as `t`.
async function duckdbRead(dir, table, map, select) {
  await duckdbSelect(dir, table, { 1: 'ID' }, 'SELECT 1'); // opens DuckDB
  const files = await liveDataFilePaths(path.join(dir, 'catalog.db'), 'sf', table);
  const list = files.map((f) => `'${f}'`).join(', ');
  return (await duck.runAndReadAll(`WITH t AS (SELECT * FROM read_parquet([${list}], schema = MAP {${map}})) ${select}`)).getRowObjects();
}

// sql/snowflake/ledger.sql: each named statement, and whether floe sent it
// (the emulator's request log since the last reset), compared with quotes
// around plain identifiers dropped and whitespace collapsed.
const plainSql = (text) => text.replace(/"([A-Z_][A-Z0-9_$]*)"/g, '$1').replace(/\s+/g, ' ').replace(/;\s*$/, '').trim();
function shippedLedgerSql() {
  const text = readFileSync(path.join(REPO, 'sql/snowflake/ledger.sql'), 'utf8');
  const out = {};
  for (const chunk of text.split(/^-- name: /m).slice(1)) {
    const [name, ...rest] = chunk.split('\n');
    const body = rest.filter((l) => !l.startsWith('--')).join('\n');
    out[name.trim()] = plainSql(body.replace(/\n\s*\n[\s\S]*$/, ''));
  }
  return out;
}
async function assertShipped(names) {
  const shipped = shippedLedgerSql();
  const sent = new Set((await admin('GET', 'log')).requests.filter((e) => e.method === 'POST' && e.body)
    .map((e) => plainSql(JSON.parse(e.body).statement ?? '')));
  for (const n of names) {
    assert.ok(shipped[n], `sql/snowflake/ledger.sql has no statement '${n}'`);
    // {N} in ledger.sql: a value sent as an integer literal (multi-statement
    // requests carry no bindings).
    const re = new RegExp(`^${shipped[n].replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\d+\}/g, '\\(?-?\\d+\\)?')}$`);
    assert.ok([...sent].some((x) => re.test(x)), `floe did not send ledger.sql's '${n}':\n${shipped[n]}\nsent:\n${[...sent].join('\n')}`);
  }
}

let schemaSeq = 0;
async function newSchema(name) {
  const schema = `${name.toUpperCase()}_${++schemaSeq}`;
  await sf('PUBLIC', `CREATE SCHEMA ${schema}`);
  return schema;
}

const ORDERS = `CREATE TABLE orders (id NUMBER(10,0) PRIMARY KEY, customer VARCHAR NOT NULL, amount NUMBER(10,2),
  ts TIMESTAMP_NTZ, d DATE, batch_sk NUMBER(38,0) NOT NULL)`;
const ORDER_COLS = ['id', 'customer', 'amount', 'ts', 'd', 'batch_sk'];
function orderRows(from, to, batch) {
  const v = [];
  for (let i = from; i <= to; i++) {
    v.push(`(${i}, 'c${i % 7}', ${(i * 1.25).toFixed(2)}, '2024-01-${String(1 + (i % 28)).padStart(2, '0')} 10:${String(i % 60).padStart(2, '0')}:00', '2024-02-${String(1 + (i % 28)).padStart(2, '0')}', ${batch})`);
  }
  return `INSERT INTO orders VALUES ${v.join(',')}`;
}

async function assertOrders(dir, schema, n) {
  const expected = await sf(schema, 'SELECT * FROM orders');
  assert.equal(await assertTable(dir, 'orders', expected, ORDER_COLS), n);
  await assertDuckdb(dir, 'orders', n, (n * (n + 1)) / 2);
}

// ---- tests ------------------------------------------------------------------------------

describe('floe run on Snowflake (SQL API emulator)', () => {
  // A machine without the binary or the modules fails here: never a skip.
  before(async () => {
    assert.ok(ready, skipReason);
    emu = await startEmulator();
  });
  after(async () => { if (emu) await emu.stop(); });

  test('case 1, case 2, nothing new: the control table lives in Snowflake and follows the source', async () => {
    const schema = await newSchema('cases');
    const dir = scratch('cases');
    await sf(schema, `${ORDERS}; ${orderRows(1, 50, 1)}; ${orderRows(51, 120, 2)}`);
    job(dir, schema, '  orders: {}');
    const r1 = runOk(dir);
    assert.match(r1.stdout, /orders\s+ok\s+\(0, 2\]\s+120/);
    // The control table is FLOE_CONTROL in the job's schema, as sql/snowflake/control.sql makes it.
    assert.deepEqual((await control(schema, 'orders')).map((r) => [r.batch_sk, r.kind]), [[0, 'init'], [2, 'load']]);
    const cols = await sf(schema, `SELECT column_name, data_type FROM information_schema.columns
      WHERE table_schema = '${schema}' AND table_name = 'FLOE_CONTROL' ORDER BY ordinal_position`);
    assert.deepEqual(cols.map((c) => c.COLUMN_NAME), ['TABLE_NAME', 'BATCH_SK', 'RUN_ID', 'INSERTED_AT', 'WATERMARK', 'KIND']);
    await assertOrders(dir, schema, 120);
    const snap = snapshots(dir, 'orders').at(-1);
    assert.equal(snap.summary['floe.source-table'], 'orders');
    assert.equal(snap.summary['floe.batch-sk.low'], '0');
    assert.equal(snap.summary['floe.batch-sk.high'], '2');
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.equal(report.tables[0].rows_source, 120);
    assert.equal(report.tables[0].rows_written, 120);

    const r2 = runOk(dir);
    assert.match(r2.stdout, /orders\s+nothing_new/);
    assert.match(r2.stderr, /event=nothing_new table=orders/);
    assert.equal(snapshots(dir, 'orders').length, 1);
    assert.equal((await control(schema, 'orders')).length, 2);

    await sf(schema, `${orderRows(121, 130, 3)}; ${orderRows(131, 135, 5)}`);
    const r3 = runOk(dir);
    assert.match(r3.stdout, /orders\s+ok\s+\(2, 5\]\s+15/);
    assert.deepEqual((await control(schema, 'orders')).map((r) => r.batch_sk), [0, 2, 5]);
    await assertOrders(dir, schema, 135);
    const status = runOk(dir, ['status']);
    assert.match(status.stdout, /orders\s+sf\.orders\s+5\s+5\s+/);
    runOk(dir, ['validate']);
  });

  test('a failure at commit compensates the control row in Snowflake; the rerun loads the range once', async () => {
    const schema = await newSchema('failcommit');
    const dir = scratch('failcommit');
    await sf(schema, `${ORDERS}; ${orderRows(1, 20, 1)}`);
    job(dir, schema, '  orders: {}');
    runOk(dir);
    await sf(schema, orderRows(21, 40, 2));
    const r = floe(dir, ['run'], { FLOE_FAIL_AT: 'commit' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /batch range \(1, 2\] failed \(control row compensated\)/);
    assert.match(r.stderr, /event=compensate table=orders batch_sk=2/);
    assert.deepEqual((await control(schema, 'orders')).map((x) => x.batch_sk), [0, 1]);
    assert.equal(snapshots(dir, 'orders').length, 1);
    runOk(dir);
    assert.deepEqual((await control(schema, 'orders')).map((x) => x.batch_sk), [0, 1, 2]);
    await assertOrders(dir, schema, 40);
  });

  for (const point of ['after_control_insert', 'before_commit']) {
    test(`a crash at ${point} is repaired by the next run, which loads the range once`, async () => {
      const schema = await newSchema(`crash_${point}`);
      const dir = scratch(point);
      await sf(schema, `${ORDERS}; ${orderRows(1, 30, 1)}`);
      job(dir, schema, '  orders: {}');
      runOk(dir);
      await sf(schema, orderRows(31, 45, 2));
      const r = floe(dir, ['run'], { FLOE_CRASH_AT: point });
      assert.equal(r.status, 137, r.stderr);
      assert.deepEqual((await control(schema, 'orders')).map((x) => x.batch_sk), [0, 1, 2]); // orphan
      assert.equal(snapshots(dir, 'orders').length, 1);
      const again = runOk(dir);
      assert.match(again.stderr, /event=repair table=orders batch_sk=2 action=compensate/);
      assert.deepEqual((await control(schema, 'orders')).map((x) => x.batch_sk), [0, 1, 2]);
      assert.equal(snapshots(dir, 'orders').length, 2);
      await assertOrders(dir, schema, 45);
      assert.match(runOk(dir).stdout, /nothing_new/);
    });
  }

  test('a crash after the commit: the next run finds nothing new; a deleted control row comes back as a repair', async () => {
    const schema = await newSchema('aftercommit');
    const dir = scratch('aftercommit');
    await sf(schema, `${ORDERS}; ${orderRows(1, 30, 1)}`);
    job(dir, schema, '  orders: {}');
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'after_commit' }).status, 137);
    assert.match(runOk(dir).stdout, /nothing_new/);
    await sf(schema, "DELETE FROM floe_control WHERE table_name = 'orders' AND batch_sk = 1");
    const repaired = runOk(dir);
    assert.match(repaired.stderr, /event=repair table=orders batch_sk=1 action=reinsert/);
    assert.deepEqual((await control(schema, 'orders')).map((x) => [x.batch_sk, x.kind]), [[0, 'init'], [1, 'repair']]);
    assert.equal(snapshots(dir, 'orders').length, 1);
    await assertOrders(dir, schema, 30);
  });

  test('a notebook-era control table (table_name, batch_sk) with layout: minimal: a filled target adopted, loads once across crashes, migrate, loads on', async () => {
    const schema = await newSchema('minimal');
    const dir = scratch('minimal');
    await sf(schema, `${ORDERS}; ${orderRows(1, 20, 1)}; ${orderRows(21, 40, 2)}`);
    // The notebooks' ledger (no primary key: Snowflake enforces none) and
    // the Iceberg table another writer filled with batches 1 and 2 (a floe
    // job under another table key: its commits name another source table).
    await sf(schema, "CREATE TABLE control_table (table_name VARCHAR, batch_sk NUMBER(38, 0)); INSERT INTO control_table VALUES ('orders', 1), ('orders', 2)");
    job(dir, schema, '  legacy: {source: orders, target: sf.orders}', { extra: 'control: {table: notebook_writer_control}' });
    runOk(dir);
    await sf(schema, orderRows(41, 50, 3));
    const ledger = async () => (await sf(schema, "SELECT * FROM control_table WHERE table_name = 'orders' ORDER BY batch_sk"));
    const minimal = { extra: 'control: {table: control_table, layout: minimal}' };

    job(dir, schema, '  orders: {on_existing: adopt}', minimal);
    const adopted = runOk(dir);
    assert.match(adopted.stderr, /event=control_layout .*layout=minimal side_table=.*CONTROL_TABLE_FLOE/);
    assert.match(adopted.stdout, /orders\s+ok\s+\(2, 3\]\s+10/);
    assert.deepEqual(snapshots(dir, 'orders').filter((x) => x.summary['floe.baseline']).map((x) => [x.summary['floe.baseline'], x.summary['floe.batch-sk.high']]),
      [['adopt', '2']]);
    await assertOrders(dir, schema, 50);
    const rows = await ledger();
    assert.deepEqual(rows.map((x) => Object.keys(x)), [1, 2, 3].map(() => ['TABLE_NAME', 'BATCH_SK']), 'the notebook table keeps its two columns');
    assert.deepEqual(rows.map((x) => Number(x.BATCH_SK)), [1, 2, 3]);
    assert.deepEqual((await sf(schema, 'SELECT batch_sk, kind FROM control_table_floe ORDER BY batch_sk')).map((x) => [Number(x.BATCH_SK), x.KIND]),
      [[3, 'load']]);

    // Crashes between the two control inserts and before the commit; a
    // statement retried by the driver (ran twice) changes nothing.
    await sf(schema, orderRows(51, 60, 4));
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'between_control_inserts' }).status, 137);
    assert.deepEqual((await ledger()).map((x) => Number(x.BATCH_SK)), [1, 2, 3], 'the side row alone claims nothing');
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'before_commit' }).status, 137);
    assert.deepEqual((await ledger()).map((x) => Number(x.BATCH_SK)), [1, 2, 3, 4]);
    const resumed = runOk(dir);
    assert.match(resumed.stderr, /batch_sk=4 action=compensate/);
    assert.match(resumed.stdout, /orders\s+ok\s+\(3, 4\]\s+10/);
    await assertOrders(dir, schema, 60);
    assert.deepEqual((await ledger()).map((x) => Number(x.BATCH_SK)), [1, 2, 3, 4]);
    assert.deepEqual((await sf(schema, 'SELECT batch_sk, kind FROM control_table_floe ORDER BY batch_sk')).map((x) => [Number(x.BATCH_SK), x.KIND]),
      [[3, 'load'], [4, 'load']]);
    assert.match(runOk(dir).stdout, /orders\s+nothing_new/);

    // Migration: the full table is built beside the old one and swapped in.
    const m = runOk(dir, ['control', 'migrate']);
    assert.match(m.stdout, /control table migrated to the full layout: 4 rows/);
    assert.match(m.stdout, /remove layout: minimal/);
    const left = await sf(schema, `SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}' AND table_name LIKE 'CONTROL_TABLE%' ORDER BY 1`);
    assert.deepEqual(left.map((x) => x.TABLE_NAME).filter((x) => !x.endsWith('_LOCK')), ['CONTROL_TABLE'], 'the old rows and the side table are dropped');
    const migrated = await sf(schema, "SELECT batch_sk, kind, run_id FROM control_table WHERE table_name = 'orders' ORDER BY batch_sk");
    assert.deepEqual(migrated.map((x) => [Number(x.BATCH_SK), x.KIND]), [[1, 'manual'], [2, 'manual'], [3, 'load'], [4, 'load']]);
    assert.equal(migrated[3].RUN_ID, snapshots(dir, 'orders').at(-1).summary['floe.run-id']);
    job(dir, schema, '  orders: {on_existing: adopt}', { extra: 'control: {table: control_table}' });
    const refused = floe(dir, ['control', 'migrate']);
    assert.equal(refused.status, 2, 'a second migrate refuses');
    assert.match(refused.stderr, /already has the full layout/);
    await sf(schema, orderRows(61, 65, 5));
    const on = runOk(dir);
    assert.doesNotMatch(on.stderr, /layout=minimal|event=repair/);
    assert.match(on.stdout, /orders\s+ok\s+\(4, 5\]\s+5/);
    await assertOrders(dir, schema, 65);
    assert.deepEqual((await sf(schema, "SELECT batch_sk, kind FROM control_table WHERE table_name = 'orders' ORDER BY batch_sk")).map((x) => [Number(x.BATCH_SK), x.KIND]).at(-1),
      [5, 'load']);
  });

  test('floe control migrate on Snowflake stopped right after the swap leaves the full layout in place; runs go on', async () => {
    const schema = await newSchema('swap');
    const dir = scratch('swap');
    await sf(schema, `${ORDERS}; ${orderRows(1, 10, 1)}`);
    await sf(schema, "CREATE TABLE control_table (table_name VARCHAR, batch_sk NUMBER(38, 0)); INSERT INTO control_table VALUES ('other', 7)");
    job(dir, schema, '  orders: {}', { extra: 'control: {table: control_table, layout: minimal}' });
    runOk(dir);
    assert.equal(floe(dir, ['control', 'migrate'], { FLOE_CRASH_AT: 'after_control_swap' }).status, 137);
    const cols = await sf(schema, `SELECT column_name FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = 'CONTROL_TABLE' ORDER BY ordinal_position`);
    assert.deepEqual(cols.map((c) => c.COLUMN_NAME), ['TABLE_NAME', 'BATCH_SK', 'RUN_ID', 'INSERTED_AT', 'WATERMARK', 'KIND']);
    const rows = await sf(schema, 'SELECT table_name, batch_sk, kind FROM control_table ORDER BY table_name, batch_sk');
    assert.deepEqual(rows.map((x) => [x.TABLE_NAME, Number(x.BATCH_SK), x.KIND]), [['orders', 0, 'init'], ['orders', 1, 'load'], ['other', 7, 'manual']]);
    job(dir, schema, '  orders: {}', { extra: 'control: {table: control_table}' });
    await sf(schema, orderRows(11, 15, 2));
    assert.match(runOk(dir).stdout, /orders\s+ok\s+\(1, 2\]\s+5/);
    await assertOrders(dir, schema, 15);
  });

  test('every Snowflake type round-trips into Iceberg (icebird and DuckDB read it back)', async () => {
    const schema = await newSchema('types');
    const dir = scratch('types');
    await sf(schema, `CREATE TABLE all_types (
      id NUMBER(18,0) NOT NULL, n9 NUMBER(9,0), big NUMBER(38,0), price NUMBER(12,4), f FLOAT,
      s VARCHAR(40), b BINARY, flag BOOLEAN, d DATE, t TIME,
      ntz TIMESTAMP_NTZ, ltz TIMESTAMP_LTZ, tz TIMESTAMP_TZ,
      v VARIANT, o OBJECT, a ARRAY, g GEOGRAPHY, batch_sk NUMBER(38,0) NOT NULL)`);
    await sf(schema, `INSERT INTO all_types SELECT 1, 123456789, 12345678901234567890, 1234.5678, 1.5,
      'héllo, "snow"', TO_BINARY('DEADBEEF', 'HEX'), TRUE, '2024-02-29', '13:45:30.123456',
      '2024-03-01 12:34:56.789012', '2024-03-01 12:00:00 +00:00', '2024-03-01 12:00:00 +02:00',
      PARSE_JSON('{"k": [1, 2]}'), OBJECT_CONSTRUCT('a', 1), ARRAY_CONSTRUCT(1, 'x'), 'POINT(1 2)', 1`);
    await sf(schema, `INSERT INTO all_types SELECT 2, -5, -1, -0.0001, -2.25e10, '', TO_BINARY('', 'HEX'), FALSE,
      '1969-12-31', '00:00:00', '1900-01-01 00:00:00', '1970-01-01 00:00:00 +00:00', '2000-01-01 00:00:00 -08:00',
      PARSE_JSON('null'), OBJECT_CONSTRUCT(), ARRAY_CONSTRUCT(), 'POINT(0 0)', 1`);
    await sf(schema, `INSERT INTO all_types (id, batch_sk) VALUES (3, 2)`);
    job(dir, schema, '  all_types: {}');
    runOk(dir);
    const types = Object.fromEntries(icebergSchema(dir, 'all_types').fields.map((f) => [f.name, f.type]));
    assert.deepEqual(types, {
      ID: 'long', N9: 'long', BIG: 'decimal(38,0)', PRICE: 'decimal(12,4)', F: 'double', S: 'string',
      B: 'binary', FLAG: 'boolean', D: 'date', T: 'time', NTZ: 'timestamp', LTZ: 'timestamptz',
      TZ: 'timestamptz', V: 'string', O: 'string', A: 'string', G: 'string', BATCH_SK: 'decimal(38,0)',
    });
    // icebird: every column but two it cannot render exactly (it reads a
    // binary column as text and decimal(38,0) as a double); DuckDB checks
    // those, and the microseconds icebird's Date drops.
    const cols = Object.keys(types).map((c) => c.toLowerCase()).filter((c) => c !== 'b' && c !== 'big');
    const expected = await sf(schema, 'SELECT * FROM all_types');
    assert.equal(await assertTable(dir, 'all_types', expected, cols), 3);
    const got = await readIceberg(path.join(dir, 'catalog.db'), 'sf', 'all_types');
    const one = got.find((r) => Number(r.ID) === 1);
    assert.equal(one.S, 'héllo, "snow"');
    assert.equal(icebergValue(one.TZ), '2024-03-01T10:00:00');
    // TIMESTAMP_TZ comes with the offset each value was stored with (+02:00,
    // -08:00: "<epoch seconds> <offset minutes + 1440>"); floe keeps the
    // instant, in UTC, in a timestamptz column.
    const rawTz = await sfRaw(schema, 'SELECT tz FROM all_types ORDER BY id');
    assert.deepEqual(rawTz.data.map((x) => x[0]), ['1709287200.000000000 1560', '946713600.000000000 960', null]);
    assert.equal(icebergValue(got.find((r) => Number(r.ID) === 2).TZ), '2000-01-01T08:00:00');
    assert.equal(JSON.parse(one.V).k[1], 2);
    assert.equal(got.find((r) => Number(r.ID) === 3).S, null);
    const exact = await duckdbSelect(dir, 'all_types', { 1: 'ID', 3: 'BIG', 7: 'B', 10: 'T', 11: 'NTZ', 12: 'LTZ' },
      `SELECT ID, CAST(BIG AS VARCHAR) AS BIG, hex(B) AS B, CAST(T AS VARCHAR) AS T, CAST(NTZ AS VARCHAR) AS NTZ,
         CAST(LTZ AS VARCHAR) AS LTZ FROM t ORDER BY ID`);
    assert.deepEqual(exact.map((r) => ({ ...r, ID: Number(r.ID) })), [
      { ID: 1, BIG: '12345678901234567890', B: 'DEADBEEF', T: '13:45:30.123456', NTZ: '2024-03-01 12:34:56.789012', LTZ: '2024-03-01 12:00:00+00' },
      { ID: 2, BIG: '-1', B: '', T: '00:00:00', NTZ: '1900-01-01 00:00:00', LTZ: '1970-01-01 00:00:00+00' },
      { ID: 3, BIG: null, B: null, T: null, NTZ: null, LTZ: null },
    ]);
    const source = await sf(schema, 'SELECT id, big, b FROM all_types ORDER BY id');
    assert.deepEqual(source.map((r) => [String(r.BIG), r.B]), [['12345678901234567890', 'deadbeef'], ['-1', ''], ['null', null]]);
    await assertDuckdb(dir, 'all_types', 3, 6);
  });

  test('many partitions in flight: prefetch_partitions 1 and 4 write byte-identical data files; a failing partition is retried or fails the load cleanly', async () => {
    const schema = await newSchema('prefetch');
    const ROWS = 4000;
    await sf(schema, `CREATE TABLE mixed (id NUMBER(18,0) PRIMARY KEY, amount NUMBER(12,2), price FLOAT, name VARCHAR,
      flag BOOLEAN, d DATE, ts TIMESTAMP_NTZ, tz TIMESTAMP_LTZ, payload VARIANT, batch_sk NUMBER(38,0) NOT NULL)`);
    await sf(schema, `INSERT INTO mixed SELECT i, (i % 100000) / 100.0, i * 0.5, 'customer-' || (i % 500),
      i % 3 = 0, TO_DATE(TO_TIMESTAMP_NTZ('2020-01-01 00:00:00') + to_seconds((i % 1500) * 86400)),
      TO_TIMESTAMP_NTZ('2024-01-01 00:00:00') + to_seconds(i * 37), TO_TIMESTAMP_LTZ('2024-01-01 00:00:00 +00:00') + to_seconds(i),
      TO_VARIANT('{"k": ' || (i % 97) || '}'), 1 + i % 3 FROM range(0, ${ROWS}) r(i)`);
    // Data files of a warehouse: path with UUIDs masked -> sha256.
    const dataFiles = (dir) => {
      const files = new Map();
      const walk = (d) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.name.endsWith('.parquet')) {
            files.set(path.relative(dir, p).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID'),
              createHash('sha256').update(readFileSync(p)).digest('hex'));
          }
        }
      };
      walk(path.join(dir, 'warehouse'));
      return files;
    };
    const load = async (prefetch, faults, control) => {
      const dir = scratch(`prefetch${prefetch}`);
      job(dir, schema, '  mixed: {}', { source: `private_key_file: ${emu.privPath}\n  prefetch_partitions: ${prefetch}`,
        extra: `control: {table: ${control}}` });
      await admin('POST', 'reset');
      if (faults) await admin('POST', 'faults', faults);
      const r = floe(dir, ['run']);
      const counters = await admin('GET', 'counters');
      await admin('DELETE', 'faults');
      return { dir, r, counters };
    };
    const one = await load(1, null, 'ctl_one');
    assert.equal(one.r.status, 0, one.r.stderr);
    assert.match(one.r.stdout, new RegExp(`mixed\\s+ok\\s+\\(0, 3\\]\\s+${ROWS}`));
    const parts = one.counters.requests.partition;
    assert.ok(parts >= 40, `want many partitions, got ${parts}`);
    assert.equal(one.counters.partitionsInFlightMax, 1);
    const four = await load(4, [{ type: 'delay', endpoint: 'partition', ms: 20, count: 1000 }], 'ctl_four');
    assert.equal(four.r.status, 0, four.r.stderr);
    assert.ok(four.counters.partitionsInFlightMax >= 2 && four.counters.partitionsInFlightMax <= 4,
      `partitions in flight: ${four.counters.partitionsInFlightMax}`);
    const filesOne = dataFiles(one.dir);
    assert.ok(filesOne.size >= 1);
    assert.deepEqual(dataFiles(four.dir), filesOne, 'prefetch 4 wrote other bytes than prefetch 1');
    const cols = ['id', 'amount', 'price', 'name', 'flag', 'd', 'ts', 'tz', 'payload', 'batch_sk'];
    assert.equal(await assertTable(four.dir, 'mixed', await sf(schema, 'SELECT * FROM mixed'), cols), ROWS);

    // Faults in flight: a connection dropped in the middle of one partition,
    // 503 twice on another: each retried on its own, the same bytes.
    const retried = await load(4, [{ type: 'drop', endpoint: 'partition', partition: 5, afterBytes: 300 },
      { type: 'status', endpoint: 'partition', partition: 9, status: 503, retryAfter: 0, count: 2 }], 'ctl_retried');
    assert.equal(retried.r.status, 0, retried.r.stderr);
    assert.equal(retried.counters.requests.partition, parts + 3);
    assert.deepEqual(dataFiles(retried.dir), filesOne);
    // A partition that fails for good: the load fails naming it, the
    // control row is compensated, nothing is committed; the next run loads.
    const failed = await load(4, [{ type: 'status', endpoint: 'partition', partition: 17, status: 500, count: 1 }], 'ctl_failed');
    assert.equal(failed.r.status, 1, failed.r.stderr);
    assert.match(failed.r.stderr, /partition 17: .*HTTP 500/);
    assert.match(failed.r.stderr, /control row compensated/);
    assert.deepEqual((await sf(schema, "SELECT batch_sk FROM ctl_failed WHERE table_name = 'mixed' ORDER BY batch_sk")).map((x) => Number(x.BATCH_SK)), [0]);
    assert.equal(snapshots(failed.dir, 'mixed').length, 0);
    runOk(failed.dir);
    assert.deepEqual(dataFiles(failed.dir), filesOne);
  });

  test('stream CDC: inserts, updates and deletes are merged; the stream is consumed exactly once across a crash', async () => {
    const schema = await newSchema('stream');
    const dir = scratch('stream');
    await sf(schema, `CREATE TABLE items (id NUMBER(10,0) PRIMARY KEY, name VARCHAR, price NUMBER(10,2));
      INSERT INTO items VALUES (1, 'ant', 1.50), (2, 'bee', 2.50), (3, 'cat', 3.50), (4, 'dog', 4.50);
      CREATE STREAM items_changes ON TABLE items`);
    job(dir, schema, '  items: {mode: merge, cdc: {type: stream, stream: items_changes}}');
    // First run: the table is copied (the stream has nothing yet).
    const r1 = runOk(dir);
    assert.match(r1.stdout, /items\s+ok\s+\(0, 1\]\s+4/);
    const cols = ['id', 'name', 'price'];
    assert.equal(await assertTable(dir, 'items', await sf(schema, 'SELECT * FROM items'), cols), 4);
    assert.match(runOk(dir).stdout, /items\s+nothing_new/);

    await sf(schema, `UPDATE items SET price = 9.99 WHERE id = 1; DELETE FROM items WHERE id = 2;
      INSERT INTO items VALUES (5, 'eel', 5.50), (6, 'fox', 6.50); UPDATE items SET id = 30, name = 'cow' WHERE id = 3;
      INSERT INTO items VALUES (7, 'gnu', 7.50); DELETE FROM items WHERE id = 7`);
    await admin('POST', 'reset');
    // The run dies after the stream went into the ledger, before the Iceberg commit.
    const crashed = floe(dir, ['run'], { FLOE_CRASH_AT: 'after_stream_consume' });
    assert.equal(crashed.status, 137, crashed.stderr);
    const ledger = await sf(schema, 'SELECT FLOE_BATCH_SK, METADATA$ACTION, METADATA$ISUPDATE, ID FROM ITEMS_FLOE_LEDGER ORDER BY FLOE_ROW');
    // Net changes (7 was inserted and deleted: gone), every DELETE before the INSERTs.
    const staged = ledger.map((r) => [Number(r.FLOE_BATCH_SK), r['METADATA$ACTION'], r['METADATA$ISUPDATE'], Number(r.ID)]);
    assert.deepEqual(staged.map((x) => x[1]), ['DELETE', 'DELETE', 'DELETE', 'INSERT', 'INSERT', 'INSERT', 'INSERT']);
    assert.deepEqual(staged.map((x) => JSON.stringify(x)).sort(), [
      [2, 'DELETE', true, 1], [2, 'DELETE', false, 2], [2, 'DELETE', true, 3],
      [2, 'INSERT', true, 1], [2, 'INSERT', true, 30], [2, 'INSERT', false, 5], [2, 'INSERT', false, 6],
    ].map((x) => JSON.stringify(x)).sort());
    assert.equal((await sf(schema, 'SELECT count(*) AS N FROM items_changes'))[0].N, 0n); // offset moved
    assert.equal(snapshots(dir, 'items').length, 1);
    // And a second crash, this time with the control row inserted.
    assert.equal(floe(dir, ['run'], { FLOE_CRASH_AT: 'before_commit' }).status, 137);
    assert.deepEqual((await control(schema, 'items')).map((r) => r.batch_sk), [0, 1, 2]);

    const resumed = runOk(dir);
    assert.match(resumed.stderr, /event=repair table=items batch_sk=2 action=compensate/);
    assert.match(resumed.stderr, /event=stream_resume table=items stream=items_changes ledger=\S*ITEMS_FLOE_LEDGER batch_sk=2/);
    assert.match(resumed.stdout, /items\s+ok\s+\(1, 2\]\s+7/);
    assert.equal(await assertTable(dir, 'items', await sf(schema, 'SELECT * FROM items'), cols), 5);
    const snap = snapshots(dir, 'items').at(-1);
    assert.equal(snap.summary['floe.batch-sk.high'], '2');
    assert.equal(snap.summary['floe.stream'], 'items_changes');
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')).tables[0];
    assert.deepEqual([report.rows_inserted, report.rows_updated, report.rows_deleted], [3, 1, 2]);

    // Exactly once: one statement read the stream with DML, executed once.
    const log = (await admin('GET', 'log')).requests;
    const consuming = log.filter((e) => e.method === 'POST' && /INSERT INTO[\s\S]*FROM "ITEMS_CHANGES"/.test(JSON.parse(e.body || '{}').statement ?? ''));
    assert.equal(new Set(consuming.map((e) => e.query.requestId)).size, 1, 'one request consumed the stream');
    const counters = await admin('GET', 'counters');
    for (const [id, n] of Object.entries(counters.executions)) assert.equal(n, 1, `requestId ${id} executed ${n} times`);
    assert.equal(counters.detachedTransactions, 0, 'no request ended inside a transaction');
    assert.match(runOk(dir).stdout, /items\s+nothing_new/);
    await assertShipped(['create', 'staged_max', 'pending', 'stage', 'staged_rows', 'load', 'load_count']);

    // The next changes: the committed ledger batch is dropped when the next one is staged.
    await sf(schema, "UPDATE items SET name = 'ANT' WHERE id = 1; INSERT INTO items VALUES (8, 'hen', 8.50)");
    runOk(dir);
    assert.deepEqual((await sf(schema, 'SELECT DISTINCT FLOE_BATCH_SK AS B FROM ITEMS_FLOE_LEDGER')).map((r) => Number(r.B)), [3]);
    assert.equal(await assertTable(dir, 'items', await sf(schema, 'SELECT * FROM items'), cols), 6);
    assert.deepEqual((await control(schema, 'items')).map((r) => r.batch_sk), [0, 1, 2, 3]);
  });

  test('CHANGES clause: each run merges the changes since the last commit\'s floe.changes.end', async () => {
    const schema = await newSchema('changes');
    const dir = scratch('changes');
    await admin('POST', 'reset');
    await sf(schema, `CREATE TABLE items (id NUMBER(10,0) PRIMARY KEY, name VARCHAR, price NUMBER(10,2));
      ALTER TABLE items SET CHANGE_TRACKING = TRUE;
      INSERT INTO items VALUES (1, 'one', 1.10), (2, 'two', 2.20), (3, 'three', 3.30)`);
    job(dir, schema, '  items: {mode: merge, cdc: {type: changes}}');
    runOk(dir);
    const cols = ['id', 'name', 'price'];
    assert.equal(await assertTable(dir, 'items', await sf(schema, 'SELECT * FROM items'), cols), 3);
    const first = snapshots(dir, 'items').at(-1).summary;
    assert.match(first['floe.changes.end'], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    assert.match(runOk(dir).stdout, /items\s+nothing_new/);

    await sf(schema, "UPDATE items SET price = 11 WHERE id = 1; DELETE FROM items WHERE id = 2; INSERT INTO items VALUES (4, 'four', 4.40)");
    const r = runOk(dir);
    assert.match(r.stdout, /items\s+ok\s+\(1, 2\]\s+4/);
    const second = snapshots(dir, 'items').at(-1).summary;
    assert.equal(second['floe.changes.start'], first['floe.changes.end']);
    assert.ok(second['floe.changes.end'] > second['floe.changes.start']);
    assert.equal(await assertTable(dir, 'items', await sf(schema, 'SELECT * FROM items'), cols), 3);
    const ctl = await control(schema, 'items');
    assert.deepEqual(ctl.map((c) => [c.batch_sk, c.watermark]), [[0, null], [1, first['floe.changes.end']], [2, second['floe.changes.end']]]);

    // A failed commit leaves the position where it was: the rerun reads the same changes.
    await sf(schema, "INSERT INTO items VALUES (5, 'five', 5.50); UPDATE items SET name = 'FOUR' WHERE id = 4");
    assert.equal(floe(dir, ['run'], { FLOE_FAIL_AT: 'commit' }).status, 1);
    runOk(dir);
    assert.equal(snapshots(dir, 'items').at(-1).summary['floe.changes.start'], second['floe.changes.end']);
    assert.equal(await assertTable(dir, 'items', await sf(schema, 'SELECT * FROM items'), cols), 4);
    await assertShipped(['copy', 'now', 'changes_probe', 'changes', 'changes_count']);
  });

  test('CHANGES: a change committed at exactly a window\'s end is read by that window (END inclusive) and not again by the next (AT)', async () => {
    const schema = await newSchema('boundary');
    const dir = scratch('boundary');
    await sf(schema, `CREATE TABLE items (id NUMBER(10,0) PRIMARY KEY, name VARCHAR);
      ALTER TABLE items SET CHANGE_TRACKING = TRUE;
      INSERT INTO items VALUES (1, 'one')`);
    job(dir, schema, '  items: {mode: merge, cdc: {type: changes}}');
    runOk(dir);
    // The next run's "now" (its window's end) is the instant of this change.
    await sf(schema, "INSERT INTO items VALUES (3, 'three')");
    await admin('POST', 'change-at-now', { schema, statement: "INSERT INTO items VALUES (2, 'edge'); UPDATE items SET name = 'ONE' WHERE id = 1" });
    runOk(dir);
    const [t] = (await admin('GET', 'counters')).changesAtNow;
    const end = snapshots(dir, 'items').at(-1).summary['floe.changes.end'];
    const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?$/.exec(end);
    assert.ok(m, `floe.changes.end ${end}`);
    const zone = !m[8] || m[8] === 'Z' ? 0 : (m[8][0] === '-' ? -1 : 1) * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(-2)));
    const endMicros = BigInt(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) - zone * 60000) * 1000n +
      BigInt(((m[7] ?? '') + '000000').slice(0, 6));
    assert.equal(endMicros, BigInt(t), `the window ends at the change's instant (${end})`);
    let rep = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.equal(rep.tables[0].rows_source, 4, 'ids 3 and 2 and the update of 1 (a DELETE + INSERT pair): all in the window that ends at them');
    const cols = ['id', 'name'];
    assert.equal(await assertTable(dir, 'items', await sf(schema, 'SELECT * FROM items'), cols), 3);
    // The next window starts AT that instant: the boundary change is not in it.
    await sf(schema, 'DELETE FROM items WHERE id = 3');
    runOk(dir);
    rep = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.equal(snapshots(dir, 'items').at(-1).summary['floe.changes.start'], end);
    assert.equal(rep.tables[0].rows_source, 1, 'only the delete');
    assert.equal(await assertTable(dir, 'items', await sf(schema, 'SELECT * FROM items'), cols), 2);
  });

  test('CHANGES on a table without change tracking fails on the first run, with the fix in the message', async () => {
    const schema = await newSchema('untracked');
    const dir = scratch('untracked');
    await sf(schema, "CREATE TABLE plain (id NUMBER(10,0) PRIMARY KEY, v VARCHAR); INSERT INTO plain VALUES (1, 'a')");
    job(dir, schema, '  plain: {mode: merge, cdc: {type: changes}}');
    const r = floe(dir, ['run']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cdc changes needs change tracking on the table \(ALTER TABLE "PLAIN" SET CHANGE_TRACKING = TRUE\)/);
    assert.match(r.stderr, /Change tracking is not enabled/);
    assert.deepEqual((await control(schema, 'plain')).map((c) => c.batch_sk), [0]);
    assert.equal(snapshots(dir, 'plain').length, 0);
    await sf(schema, 'ALTER TABLE plain SET CHANGE_TRACKING = TRUE');
    assert.match(runOk(dir).stdout, /plain\s+ok\s+\(0, 1\]\s+1/);
  });

  for (const fault of [
    { name: '429', rules: [{ type: 'status', status: 429, count: 2, retryAfter: 0 }] },
    { name: '503 after execution', rules: [{ type: 'status', status: 503, endpoint: 'submit', after: true, count: 2 }] },
    { name: '504', rules: [{ type: 'status', status: 504, count: 2 }] },
    { name: 'dropped connection mid-partition', rules: [{ type: 'drop', partition: 1, afterBytes: 200 }, { type: 'drop', partition: 2, afterBytes: 50 }] },
  ]) {
    test(`retries under ${fault.name}: the table equals the source and no statement ran twice`, async () => {
      const schema = await newSchema(`fault_${fault.name.split(' ')[0]}`);
      const dir = scratch('fault');
      await sf(schema, `${ORDERS}; ${orderRows(1, 350, 1)}`);
      job(dir, schema, '  orders: {}');
      await admin('POST', 'reset');
      await admin('POST', 'faults', fault.rules);
      const r = runOk(dir);
      assert.match(r.stdout, /orders\s+ok\s+\(0, 1\]\s+350/);
      await assertOrders(dir, schema, 350);
      const counters = await admin('GET', 'counters');
      for (const [id, n] of Object.entries(counters.executions)) assert.equal(n, 1, `requestId ${id} executed ${n} times`);
      const log = (await admin('GET', 'log')).requests;
      const retried = log.filter((e) => e.query.retry === 'true' || e.status >= 429 || e.completed === false);
      assert.ok(retried.length >= 1, 'the fault was hit');
      await admin('DELETE', 'faults');
    });
  }

  test('lower-case context names resolve as Snowflake resolves them; retried statements that run twice change nothing', async () => {
    const schema = await newSchema('context');
    const dir = scratch('context');
    await sf(schema, `${ORDERS}; ${orderRows(1, 30, 1)}`);
    // The emulator's context fields are case-sensitive, as Snowflake's are:
    // the names as written in floe.yaml would fail there.
    job(dir, schema, '  orders: {}', { context: { warehouse: 'load_wh', role: 'floe_role', database: 'floe_test', schema: schema.toLowerCase() } });
    // Every statement's first attempt runs and then answers 503; the retry
    // (same requestId, retry=true) runs it again, because the emulator is
    // told not to de-duplicate requestIds.
    await admin('POST', 'reset', {});
    const faulty = async (fn) => {
      await admin('POST', 'config', { honourRequestId: false });
      await admin('POST', 'faults', { type: 'status', endpoint: 'submit', status: 503, after: true, firstAttempt: true, count: 1000 });
      try {
        return fn();
      } finally {
        await admin('DELETE', 'faults');
        await admin('POST', 'config', { honourRequestId: true });
      }
    };
    await faulty(() => runOk(dir));
    await sf(schema, orderRows(31, 45, 2));
    await faulty(() => runOk(dir));
    const counters = await admin('GET', 'counters');
    const twice = Object.values(counters.executions).filter((n) => n >= 2).length;
    assert.ok(twice >= 10, `expected many statements to run twice, got ${twice}`);
    assert.equal(counters.detachedTransactions, 0);
    const sent = (await admin('GET', 'log')).requests
      .filter((e) => e.method === 'POST' && e.body && /^floe\//.test(e.headers['user-agent'] ?? '')).map((e) => JSON.parse(e.body));
    assert.ok(sent.length > 20);
    assert.ok(sent.every((b) => b.database === 'FLOE_TEST' && b.schema === schema && b.warehouse === 'LOAD_WH' && b.role === 'FLOE_ROLE'));
    assert.deepEqual(await control(schema, 'orders'), [
      { batch_sk: 0, kind: 'init', watermark: null }, { batch_sk: 1, kind: 'load', watermark: null },
      { batch_sk: 2, kind: 'load', watermark: null }]);
    await assertOrders(dir, schema, 45);
  });

  test('a cursor table: the maximum is read as a typed value, never through CAST to VARCHAR; microseconds are kept', async () => {
    const schema = await newSchema('cursor');
    const dir = scratch('cursor');
    await sf(schema, `CREATE TABLE ev (id NUMBER(10,0), updated_at TIMESTAMP_NTZ);
      INSERT INTO ev VALUES (1, '2024-03-01 10:00:00.123455'), (2, '2024-03-01 10:00:00.123456')`);
    job(dir, schema, '  ev: {cursor_column: updated_at}');
    await admin('POST', 'reset', {});
    runOk(dir);
    // One microsecond past the watermark: an account's default
    // TIMESTAMP_OUTPUT_FORMAT (milliseconds) would have lost it.
    await sf(schema, "INSERT INTO ev VALUES (3, '2024-03-01 10:00:00.123457')");
    runOk(dir);
    const rows = await control(schema, 'ev');
    assert.deepEqual(rows.map((r) => r.watermark), [null, '2024-03-01 10:00:00.123456', '2024-03-01 10:00:00.123457']);
    assert.equal(await assertTable(dir, 'ev', await sf(schema, 'SELECT * FROM ev'), ['id', 'updated_at']), 3);
    const sent = (await admin('GET', 'log')).requests.filter((e) => e.method === 'POST' && e.body).map((e) => JSON.parse(e.body).statement);
    assert.ok(sent.some((x) => /^SELECT max\("UPDATED_AT"\) FROM/.test(x)), sent.join('\n'));
    assert.ok(!sent.some((x) => /CAST\([^)]*\)? *AS VARCHAR/i.test(x)), 'no CAST(... AS VARCHAR) is sent');
    // This account's formats are in force: the cursor as text is not ISO
    // (so a client reading it as text would have broken here), while the
    // typed value floe reads is the same instant to the microsecond.
    const text = await sf(schema, 'SELECT CAST(max(updated_at) AS VARCHAR) AS T, TO_VARCHAR(max(updated_at)::DATE) AS D FROM ev');
    assert.deepEqual(text, [{ T: 'Fri, 01 Mar 2024 10:00:00 AM', D: '01/03/2024' }]);
  });

  test('late and invalid rows: reported (warn), the table stopped (fail, exit 5), the late range reloaded (reload)', async () => {
    const schema = await newSchema('late');
    const dir = scratch('late');
    await sf(schema, 'CREATE TABLE t (id NUMBER(10,0), batch_sk NUMBER(38,0)); ' +
      'INSERT INTO t VALUES (1, 1), (2, 1), (3, 2), (4, 3)');
    const conf = (late) => job(dir, schema, `  t: {strategy: chunked, chunk: {by: batch}, late_rows: ${late}}`);
    conf('warn');
    runOk(dir);
    await sf(schema, 'INSERT INTO t VALUES (5, 2), (6, NULL), (7, 0), (8, 4)');
    let r = runOk(dir);
    assert.match(r.stderr, /level=warn.*event=invalid_rows table=t rows=2 /);
    assert.match(r.stderr, /level=warn.*event=late_rows table=t rows=1 batch_sk_low=1 batch_sk_high=2 source_rows=2 loaded_rows=1 /);
    let rep = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.equal(rep.tables[0].rows_late, 1);
    assert.equal(rep.tables[0].rows_invalid, 2);
    conf('fail');
    r = floe(dir, ['run']);
    assert.equal(r.status, 5, r.stdout + r.stderr);
    assert.deepEqual((await control(schema, 't')).map((x) => x.batch_sk), [0, 1, 2, 3, 4]);
    conf('reload');
    r = runOk(dir);
    assert.match(r.stderr, /event=late_rows_reloaded table=t batch_sk_low=1 batch_sk_high=2 rows=2 /);
    const cols = ['id', 'batch_sk'];
    assert.equal(await assertTable(dir, 't', await sf(schema, 'SELECT * FROM t WHERE batch_sk > 0'), cols), 6);
    runOk(dir);
    rep = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.equal(rep.tables[0].rows_late, 0);
    assert.equal(rep.tables[0].rows_reloaded, 0);
    runOk(dir, ['validate']);
  });

  test('a stream table with a VECTOR column is refused at discovery, with the reason and the way out', async () => {
    const schema = await newSchema('vector');
    const dir = scratch('vector');
    await sf(schema, `CREATE TABLE emb (id NUMBER(10,0) PRIMARY KEY, v VECTOR(FLOAT, 3));
      INSERT INTO emb VALUES (1, '[1,2,3]'); CREATE STREAM emb_changes ON TABLE emb`);
    job(dir, schema, '  emb: {mode: merge, cdc: {type: stream, stream: emb_changes}}');
    const r = floe(dir, ['run']);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /column V is VECTOR[^\n]*cdc: \{type: changes\}/);
    const tables = (await sf(schema, "SELECT table_name FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA() AND table_name LIKE '%LEDGER'"));
    assert.equal(tables.length, 0, 'no ledger was created');
  });

  test('every statement carries a QUERY_TAG: the run id by default, the configured tag with {run_id}, none when null', async () => {
    const schema = await newSchema('tags');
    const dir = scratch('tags');
    await sf(schema, `${ORDERS}; ${orderRows(1, 30, 1)}`);
    job(dir, schema, '  orders: {}');
    await admin('POST', 'reset');
    runOk(dir);
    const runId = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')).run_id;
    assert.match(runId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    let queries = (await admin('GET', 'history')).queries;
    // Discovery, control reads and inserts, the extract, the commit's statements: all tagged.
    assert.ok(queries.length >= 5, `only ${queries.length} statements`);
    assert.ok(queries.some((q) => /FLOE_CONTROL/i.test(q.statement) && /insert/i.test(q.statement)));
    for (const q of queries) assert.equal(q.queryTag, runId, `untagged: ${q.statement}`);
    await assertOrders(dir, schema, 30);

    // A tag of the user's own, with the run id in it; `floe status` (no run) tags "floe".
    await sf(schema, orderRows(31, 40, 2));
    job(dir, schema, '  orders: {}', { source: `private_key_file: ${emu.privPath}\n  query_tag: "nightly-load run={run_id}"` });
    await admin('POST', 'reset');
    runOk(dir);
    const runId2 = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')).run_id;
    assert.notEqual(runId2, runId);
    queries = (await admin('GET', 'history')).queries;
    assert.ok(queries.length >= 5);
    for (const q of queries) assert.equal(q.queryTag, `nightly-load run=${runId2}`, q.statement);
    await admin('POST', 'reset');
    runOk(dir, ['status']);
    queries = (await admin('GET', 'history')).queries;
    assert.ok(queries.length > 0);
    for (const q of queries) assert.equal(q.queryTag, 'nightly-load run=floe', q.statement);

    // query_tag: null sends no QUERY_TAG at all.
    await sf(schema, orderRows(41, 45, 3));
    job(dir, schema, '  orders: {}', { source: `private_key_file: ${emu.privPath}\n  query_tag: null` });
    await admin('POST', 'reset');
    runOk(dir);
    const sent = (await admin('GET', 'log')).requests.filter((e) => e.method === 'POST' && e.body).map((e) => JSON.parse(e.body));
    assert.ok(sent.length >= 5);
    for (const b of sent) assert.equal(b.parameters?.QUERY_TAG, undefined, b.statement);
    await assertOrders(dir, schema, 45);
  });

  test('source.connection reads connections.toml as the Snowflake drivers do; the job file wins; loose permissions are refused', async () => {
    const schema = await newSchema('conn');
    const dir = scratch('conn');
    const home = scratch('conn-home');
    await sf(schema, `${ORDERS}; ${orderRows(1, 25, 1)}`);
    const toml = path.join(home, 'connections.toml');
    writeFileSync(toml, `# as written by "snow connection add"
[e2e]
account = "${ACCOUNT}"
user = "${USER}"
authenticator = "SNOWFLAKE_JWT"
private_key_file = "${emu.privPath}"
warehouse = "LOAD_WH"
role = "FLOE_ROLE"
database = "FLOE_TEST"
schema = "NO_SUCH_SCHEMA"   # the job file's schema wins
host = "127.0.0.1:${emu.port}"
client_session_keep_alive = true

[other]
account = "elsewhere"
user = "nobody"
`, { mode: 0o600 });
    const yaml = (name) => `version: 1
source:
  type: snowflake
  connection: ${name}
  schema: ${schema}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: sf
run: {durability: none, report: ./report.json}
tables:
  orders: {}
`;
    writeFileSync(path.join(dir, 'floe.yaml'), yaml('e2e'));
    const env = { SNOWFLAKE_HOME: home, SNOWFLAKE_DEFAULT_CONNECTION_NAME: '' };
    const r = runOk(dir, ['run'], env);
    assert.match(r.stdout, /orders\s+ok\s+\(0, 1\]\s+25/);
    await assertOrders(dir, schema, 25);
    const shown = runOk(dir, ['config', 'check', '--show'], env);
    assert.match(shown.stdout, /account: FLOETEST/);
    assert.match(shown.stdout, new RegExp(`schema: ${schema}`));

    // The default connection, named by SNOWFLAKE_DEFAULT_CONNECTION_NAME.
    writeFileSync(path.join(dir, 'floe.yaml'), yaml('default'));
    const d = runOk(dir, ['run'], { ...env, SNOWFLAKE_DEFAULT_CONNECTION_NAME: 'e2e' });
    assert.match(d.stdout, /orders\s+nothing_new/);

    // An unknown name lists what the file has; a file others can write is refused.
    writeFileSync(path.join(dir, 'floe.yaml'), yaml('prod'));
    let bad = floe(dir, ['run'], env);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, new RegExp(`floe.yaml:4:15: source.connection: connection 'prod' is not in ${toml.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(it has: e2e, other\\)`));
    writeFileSync(path.join(dir, 'floe.yaml'), yaml('e2e'));
    chmodSync(toml, 0o666);
    bad = floe(dir, ['run'], env);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /is writable by group or others \(mode 666\)/);
    // A TOML error names the file, line and column.
    chmodSync(toml, 0o600);
    writeFileSync(toml, '[e2e]\naccount = FLOETEST\n', { mode: 0o600 });
    bad = floe(dir, ['run'], env);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /connections\.toml:2:11: not a string, integer or boolean \(strings need quotes\)/);
    assert.equal((await control(schema, 'orders')).length, 2);
  });

  test('declared shapes: VARIANT, OBJECT and ARRAY values become typed lists and columns (icebird and DuckDB read them); a value that does not fit names its JSON path', async () => {
    const schema = await newSchema('shapes');
    const dir = scratch('shapes');
    await sf(schema, `CREATE TABLE docs (id NUMBER(18,0) NOT NULL, ids ARRAY, labels VARIANT, info OBJECT, qty VARIANT,
      batch_sk NUMBER(18,0) NOT NULL)`);
    await sf(schema, `INSERT INTO docs SELECT 1, ARRAY_CONSTRUCT(1, 2, 3), PARSE_JSON('["a", null, "b, c"]'),
      OBJECT_CONSTRUCT('k', 1), PARSE_JSON('12'), 1`);
    await sf(schema, `INSERT INTO docs SELECT 2, ARRAY_CONSTRUCT(), PARSE_JSON('null'), OBJECT_CONSTRUCT(), PARSE_JSON('-4'), 1`);
    await sf(schema, `INSERT INTO docs (id, batch_sk) VALUES (3, 1)`);
    await sf(schema, `INSERT INTO docs SELECT 4, ARRAY_CONSTRUCT(9007199254740991, -1), PARSE_JSON('[]'), OBJECT_CONSTRUCT('z', ARRAY_CONSTRUCT(1)), PARSE_JSON('7'), 2`);
    job(dir, schema, `  docs:
    columns:
      ids: "list<long>"
      labels: {type: "array<string>"}
      qty: int`);
    runOk(dir);
    const types = Object.fromEntries(icebergSchema(dir, 'docs').fields.map((f) => [f.name, f.type]));
    assert.equal(types.IDS.type, 'list');
    assert.equal(types.IDS.element, 'long');
    assert.equal(types.LABELS.element, 'string');
    assert.equal(types.INFO, 'string'); // no shape: JSON text
    assert.equal(types.QTY, 'int');
    const got = (await readIceberg(path.join(dir, 'catalog.db'), 'sf', 'docs'))
      .map((r) => [Number(r.ID), r.IDS == null ? null : r.IDS.map(String), r.LABELS ?? null, r.INFO == null ? null : JSON.parse(r.INFO), r.QTY ?? null])
      .sort((a, b) => a[0] - b[0]);
    assert.deepEqual(got, [
      [1, ['1', '2', '3'], ['a', null, 'b, c'], { k: 1 }, 12],
      [2, [], null, {}, -4],
      [3, null, null, null, null],
      [4, ['9007199254740991', '-1'], [], { z: [1] }, 7],
    ]);
    const exact = await duckdbSelect(dir, 'docs', { 1: 'ID', 2: 'IDS' }, 'SELECT ID, to_json(IDS)::VARCHAR AS IDS FROM t ORDER BY ID');
    assert.deepEqual(exact.map((r) => [Number(r.ID), r.IDS]), [[1, '[1,2,3]'], [2, '[]'], [3, null], [4, '[9007199254740991,-1]']]);

    await sf(schema, `INSERT INTO docs SELECT 5, PARSE_JSON('[1, {"a": 2}]'), NULL, NULL, NULL, 3`);
    const bad = floe(dir, ['run']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /table 'docs' column 'IDS' row 1: IDS\[1\]: JSON object \{"a":2\} where long is declared/);
    assert.match(bad.stderr, /control row compensated/);
    assert.equal((await readIceberg(path.join(dir, 'catalog.db'), 'sf', 'docs')).length, 4);
  });

  test('declared struct and map shapes: OBJECT and VARIANT documents become structs, maps and lists of structs equal to the source documents (icebird, DuckDB by field id); a wrong kind names its path', async () => {
    const schema = await newSchema('nested_shapes');
    const dir = scratch('nested-shapes');
    await sf(schema, `CREATE TABLE docs (id NUMBER(18,0) NOT NULL, info OBJECT, counts VARIANT, items ARRAY,
      batch_sk NUMBER(18,0) NOT NULL)`);
    // The source documents; what each reader must give back is derived from
    // them: members as declared, a missing member or JSON null null.
    const docs = [
      [1, { who: { name: 'ann', age: 31 }, tags: ['a', null, 'b, c'] }, { x: 1, y: -9007199254740991 }, [{ sku: 'a', qty: 2 }, null, { sku: 'b' }], 1],
      [2, { who: null, tags: [] }, {}, [], 1],
      [3, null, null, null, 1],
      [4, { who: { name: 'ünï 🧊' } }, { z: null }, [{ sku: null, qty: -1 }], 2],
    ];
    for (const [id, info, counts, items, batch] of docs) {
      const v = (x) => (x === null ? 'NULL' : `PARSE_JSON('${JSON.stringify(x)}')`);
      await sf(schema, `INSERT INTO docs SELECT ${id}, ${v(info)}, ${v(counts)}, ${v(items)}, ${batch}`);
    }
    job(dir, schema, `  docs:
    columns:
      info: "struct<who: struct<name: string, age: int>, tags: list<string>>"
      counts: "map<string, long>"
      items: "list<struct<sku: string, qty: int>>"`);
    runOk(dir);
    const fields = icebergSchema(dir, 'docs').fields;
    const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
    assert.equal(byName.INFO.type.type, 'struct');
    assert.deepEqual(byName.INFO.type.fields.map((f) => [f.id, f.name]), [[6, 'who'], [7, 'tags']]);
    assert.deepEqual([byName.COUNTS.type.type, byName.COUNTS.type.key, byName.COUNTS.type.value], ['map', 'string', 'long']);
    assert.equal(byName.ITEMS.type.element.type, 'struct');

    const declared = (info, counts, items) => [
      info === null ? null : { who: info.who == null ? null : { name: info.who.name ?? null, age: info.who.age ?? null }, tags: info.tags ?? null },
      counts === null ? null : Object.entries(counts).sort(),
      items === null ? null : items.map((x) => (x === null ? null : { sku: x.sku ?? null, qty: x.qty ?? null })),
    ];
    const want = docs.map(([id, info, counts, items]) => JSON.stringify([id, ...declared(info, counts, items)])).sort();
    const num = (v) => (v === null || v === undefined ? null : Number(v));
    const asEntries = (m) => (m === null || m === undefined ? null
      : (m instanceof Map ? [...m.entries()] : Array.isArray(m) ? m.map((e) => [e.key, e.value]) : Object.entries(m))
        .map(([k, x]) => [k, num(x)]).sort());
    const got = (await readIceberg(path.join(dir, 'catalog.db'), 'sf', 'docs')).map((r) => JSON.stringify([Number(r.ID),
      r.INFO == null ? null : { who: r.INFO.who == null ? null : { name: r.INFO.who.name ?? null, age: num(r.INFO.who.age) }, tags: r.INFO.tags ?? null },
      asEntries(r.COUNTS),
      r.ITEMS == null ? null : r.ITEMS.map((x) => (x == null ? null : { sku: x.sku ?? null, qty: num(x.qty) }))])).sort();
    assert.deepEqual(got, want);

    // DuckDB by field id, the nested types spelled out.
    const rows = await duckdbRead(dir, 'docs', `1: {name: 'ID', type: 'BIGINT', default_value: NULL},
      ${byName.INFO.id}: {name: 'INFO', type: 'STRUCT(who STRUCT(name VARCHAR, age INTEGER), tags VARCHAR[])', default_value: NULL},
      ${byName.COUNTS.id}: {name: 'COUNTS', type: 'MAP(VARCHAR, BIGINT)', default_value: NULL},
      ${byName.ITEMS.id}: {name: 'ITEMS', type: 'STRUCT(sku VARCHAR, qty INTEGER)[]', default_value: NULL}`,
    'SELECT ID::INTEGER AS ID, to_json(INFO)::VARCHAR AS INFO, to_json(map_entries(COUNTS))::VARCHAR AS COUNTS, to_json(ITEMS)::VARCHAR AS ITEMS FROM t');
    const duckLines = rows.map((r) => {
      const counts = r.COUNTS === null ? null : JSON.parse(r.COUNTS.replace(/(-?\d{16,})/g, '"$1"')).map((e) => [e.key, num(e.value)]).sort();
      return JSON.stringify([r.ID, r.INFO === null ? null : JSON.parse(r.INFO), counts, r.ITEMS === null ? null : JSON.parse(r.ITEMS)]);
    }).sort();
    assert.deepEqual(duckLines, want);

    await sf(schema, `INSERT INTO docs SELECT 5, PARSE_JSON('{"who": {"age": "old"}}'), NULL, NULL, 3`);
    const bad = floe(dir, ['run']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /table 'docs' column 'INFO' row \d+: INFO\.who\.age: JSON string "old" where int is declared/);
    assert.match(bad.stderr, /control row compensated/);
    assert.equal((await readIceberg(path.join(dir, 'catalog.db'), 'sf', 'docs')).length, 4);
  });

  test('no token, key or JWT in any log line (logging.level trace)', async () => {
    const schema = await newSchema('secrets');
    const dir = scratch('secrets');
    await sf(schema, `${ORDERS}; ${orderRows(1, 5, 1)}`);
    job(dir, schema, '  orders: {}', { extra: 'logging: {level: trace, file: ./floe.log}' });
    await admin('POST', 'reset');
    const r = runOk(dir);
    // Key pair: the JWTs floe sent (from the emulator's request log) and the key's base64.
    const jwts = (await admin('GET', 'log')).requests.map((e) => (e.headers.authorization ?? '').replace(/^Bearer /, '')).filter(Boolean);
    assert.ok(jwts.length > 0);
    const keyB64 = emu.privatePem.split('\n').filter((l) => l && !l.startsWith('-----'));
    const logs = `${r.stdout}\n${r.stderr}\n${readFileSync(path.join(dir, 'floe.log'), 'utf8')}`;
    assert.match(logs, /level=trace|level=debug/);
    for (const jwt of new Set(jwts)) {
      assert.ok(!logs.includes(jwt), 'a JWT is in the logs');
      for (const part of jwt.split('.')) assert.ok(!logs.includes(part), 'a JWT part is in the logs');
    }
    for (const line of keyB64) assert.ok(!logs.includes(line), 'a line of the private key is in the logs');

    // OAuth token from an environment variable.
    const dir2 = scratch('secrets-oauth');
    job(dir2, schema, '  orders: {}', {
      extra: 'logging: {level: trace, file: ./floe.log}',
      source: 'authenticator: oauth\n  token_env: SF_E2E_TOKEN',
    });
    const r2 = runOk(dir2, ['run'], { SF_E2E_TOKEN: OAUTH_TOKEN });
    const logs2 = `${r2.stdout}\n${r2.stderr}\n${readFileSync(path.join(dir2, 'floe.log'), 'utf8')}`;
    assert.match(logs2, /orders/);
    assert.ok(!logs2.includes(OAUTH_TOKEN), 'the OAuth token is in the logs');
    const shown = runOk(dir2, ['config', 'check', '--show'], { SF_E2E_TOKEN: OAUTH_TOKEN });
    assert.ok(!shown.stdout.includes(OAUTH_TOKEN));
  });
});
