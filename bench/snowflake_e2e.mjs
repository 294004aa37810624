#!/usr/bin/env node
// bench/snowflake_e2e.mjs <floe-binary>: end-to-end rows/s of `floe run`
// from the Snowflake SQL API into an Iceberg table, for a table of mixed
// types (BENCH_SF_ROWS, default 1M), measuring floe rather than the
// emulator.
//
// Prints one line on stdout:
//   snowflake_e2e rows=1000000 seconds=… rows_per_s=… floe_cpu_s=… floe_busy=…% peak_rss_mb=…
//     prefetch=4 seconds_prefetch1=… rows_per_s_prefetch1=… floe_cpu_s_prefetch1=…
//     peak_rss_mb_prefetch1=… partitions=… files=… bytes=… recorded=1 warmup_s=…
//
// How: the emulator (tests/snowflake-emulator) holds the table, and a
// minimal static HTTP server on 127.0.0.1 (in this process, Node's http)
// stands in front of it. A first, untimed floe run goes through the
// server, which passes every request to the emulator and records every
// answer: the table's SELECT and each of its result partitions as the
// emulator served them (partitions gzip, as Snowflake serves them; JSON
// answers are gzipped here), and the few bookkeeping statements (control
// table, describe, max(batch_sk)). Then the emulator is stopped. The timed
// runs use the same control table name, so floe sends the same statements
// in the same order (checked, with literals such as run ids masked); the
// static server answers them from memory, and partitions by number. So
// seconds and rows_per_s are floe's: HTTP, gzip, JSON decoding, Parquet,
// commit. The timed run uses source.prefetch_partitions BENCH_SF_PREFETCH
// (default 4: floe's default); a second timed run with prefetch 1 gives the
// *_prefetch1 keys.
//
// floe_cpu_s is floe's user+system CPU (from /usr/bin/time), floe_busy its
// share of the wall time, peak_rss_mb floe's maximum resident set.
// warmup_s is the untimed run against the live emulator. Details go to
// stderr. Partitions hold BENCH_SF_PARTITION_ROWS rows (default 10000; real
// Snowflake cuts partitions by size, a few MB of JSON each).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EMU = path.join(REPO, 'tests/snowflake-emulator');
const floeBin = path.resolve(process.argv[2] ?? path.join(REPO, 'build/floe'));
const rows = Number(process.env.BENCH_SF_ROWS ?? 1000000);
const partitionRows = Number(process.env.BENCH_SF_PARTITION_ROWS ?? 10000);
const prefetch = Number(process.env.BENCH_SF_PREFETCH ?? 4);
if (!existsSync(floeBin)) {
  console.error(`bench: no floe binary at ${floeBin}`);
  process.exit(1);
}
if (!existsSync(path.join(EMU, 'node_modules/@duckdb/node-api'))) {
  console.error('bench: run scripts/deps.sh --npm (the emulator needs @duckdb/node-api)');
  process.exit(1);
}
const { request, signJwt } = await import(pathToFileURL(path.join(EMU, 'test/helpers.mjs')).href);

const work = mkdtempSync(path.join(tmpdir(), 'floe-bench-sf-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path.join(work, 'key.p8')]);
run('openssl', ['pkey', '-in', path.join(work, 'key.p8'), '-pubout', '-out', path.join(work, 'key.pub')]);
const keys = { privatePem: readFileSync(path.join(work, 'key.p8'), 'utf8'), publicPem: readFileSync(path.join(work, 'key.pub'), 'utf8') };

const child = spawn(process.execPath, [path.join(EMU, 'server.mjs'), '--port', '0', '--state', path.join(work, 'state'),
  '--public-key', path.join(work, 'key.pub'), '--account', 'FLOEBENCH', '--rows-per-partition', String(partitionRows)],
{ stdio: ['ignore', 'pipe', 'inherit'] });
const emuPort = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    const m = /LISTENING 127\.0\.0\.1:(\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
  child.on('exit', (code) => reject(new Error(`emulator exited ${code}`)));
});
const stopEmulator = () => { if (child.exitCode === null) child.kill('SIGTERM'); };
process.on('exit', stopEmulator);

const token = () => signJwt({ ...keys, account: 'FLOEBENCH', user: 'BENCH' });
async function sql(statement) {
  const r = await request(emuPort, {
    method: 'POST', path: '/api/v2/statements', token: token(),
    body: { statement, timeout: 3600, database: 'FLOE_TEST', schema: 'PUBLIC', parameters: { MULTI_STATEMENT_COUNT: 0 } },
  });
  if (r.status !== 200) throw new Error(`${statement.slice(0, 80)}: ${r.status} ${r.text?.slice(0, 300)}`);
  return r;
}

let t = Date.now();
await sql(`CREATE TABLE bench_rows (id NUMBER(18,0) PRIMARY KEY, amount NUMBER(12,2), price FLOAT, name VARCHAR,
  flag BOOLEAN, d DATE, ts TIMESTAMP_NTZ, tz TIMESTAMP_LTZ, payload VARIANT, batch_sk NUMBER(38,0) NOT NULL)`);
// DuckDB's range() behind the emulator generates the rows.
await sql(`INSERT INTO bench_rows SELECT i, (i % 100000) / 100.0, i * 0.5, 'customer-' || (i % 5000),
  i % 3 = 0, TO_DATE(TO_TIMESTAMP_NTZ('2020-01-01 00:00:00') + to_seconds((i % 1500) * 86400)), TO_TIMESTAMP_NTZ('2024-01-01 00:00:00') + to_seconds(i),
  TO_TIMESTAMP_LTZ('2024-01-01 00:00:00 +00:00') + to_seconds(i), TO_VARIANT('{"k": ' || (i % 97) || '}'), 1 + i % 4
  FROM range(0, ${rows}) r(i)`);
console.error(`bench: generated ${rows} rows in ${((Date.now() - t) / 1000).toFixed(1)} s`);

// ---- the static server ----------------------------------------------------------

// Recording: every answer of the warm-up run, in order. POST answers are
// replayed in the order floe sends its statements (each checked against
// the recorded statement with literals masked: run ids, timestamps);
// GETs (status polls, partitions) by path and partition number.
const posts = [];
const gets = new Map(); // "handle?partition" -> [answers in order]
let replay = false;
let postIndex = 0;
let served = 0;
let mismatch = null;
const getKey = (url) => `${url.pathname}?${url.searchParams.get('partition') ?? '0'}`;
const shape = (buf) => {
  let statement = '';
  try { statement = JSON.parse(buf.toString('utf8')).statement ?? ''; } catch { /* not JSON */ }
  return statement.replace(/'(?:[^']|'')*'/g, "'?'").replace(/\b\d+(\.\d+)?\b/g, 'N');
};
// An answer as the server keeps it: gzip-compressed, as Snowflake serves
// JSON to a client that accepts gzip.
const keep = (status, headers, buf) => ({
  status, buf: /gzip/.test(headers['content-encoding'] ?? '') ? buf : zlib.gzipSync(buf),
  link: headers.link ?? null,
});

const server = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const reqBody = Buffer.concat(chunks);
  const url = new URL(req.url, 'http://127.0.0.1');
  if (replay) {
    let answer = null;
    if (req.method === 'POST' && url.pathname === '/api/v2/statements') {
      const want = posts[postIndex++];
      if (want && want.shape === shape(reqBody)) answer = want.answer;
      else mismatch ??= `statement ${postIndex}: ${shape(reqBody).slice(0, 200)}`;
    } else if (req.method === 'GET') {
      const list = gets.get(getKey(url));
      if (list && list.length) answer = list.length > 1 ? list.shift() : list[0];
      else mismatch ??= `GET ${req.url}`;
    } else {
      mismatch ??= `${req.method} ${req.url}`;
    }
    if (answer === null) {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'bench static server: not recorded' }));
      return;
    }
    served++;
    const headers = { 'Content-Type': 'application/json', 'Content-Length': answer.buf.length };
    let buf = answer.buf;
    if (/gzip/.test(req.headers['accept-encoding'] ?? '')) headers['Content-Encoding'] = 'gzip';
    else {
      buf = zlib.gunzipSync(buf);
      headers['Content-Length'] = buf.length;
    }
    if (answer.link) headers.Link = answer.link;
    res.writeHead(answer.status, headers);
    res.end(buf);
    return;
  }
  const up = http.request({ host: '127.0.0.1', port: emuPort, method: req.method, path: req.url, headers: req.headers }, (ur) => {
    const out = [];
    ur.on('data', (d) => out.push(d));
    ur.on('end', () => {
      const buf = Buffer.concat(out);
      if (req.method === 'POST' && url.pathname === '/api/v2/statements') {
        posts.push({ shape: shape(reqBody), answer: keep(ur.statusCode, ur.headers, buf) });
      } else if (req.method === 'GET' && ur.statusCode === 200) {
        const k = getKey(url);
        if (!gets.has(k)) gets.set(k, []);
        gets.get(k).push(keep(ur.statusCode, ur.headers, buf));
      }
      const headers = { ...ur.headers };
      delete headers['transfer-encoding'];
      delete headers.connection;
      headers['content-length'] = buf.length;
      res.writeHead(ur.statusCode, headers);
      res.end(buf);
    });
  });
  up.on('error', (e) => { res.destroy(e); });
  up.end(reqBody);
});
const port = await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

// ---- floe runs --------------------------------------------------------------------

const writeJob = (name, prefetchPartitions) => writeFileSync(path.join(work, `${name}.yaml`), `version: 1
source:
  type: snowflake
  account: FLOEBENCH
  user: BENCH
  private_key_file: ${path.join(work, 'key.p8')}
  database: FLOE_TEST
  schema: PUBLIC
  host: 127.0.0.1:${port}
  prefetch_partitions: ${prefetchPartitions}
target:
  warehouse: ${path.join(work, `warehouse-${name}`)}
  catalog: {type: sql, uri: "sqlite:${path.join(work, `catalog-${name}.db`)}"}
  namespace: bench
control: {table: floe_control}
run: {durability: none, report: ${path.join(work, `report-${name}.json`)}}
logging: {level: ${process.env.BENCH_SF_LOG ?? 'warn'}}
tables:
  bench_rows: {}
`);

const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
// Runs floe on job `name` (asynchronously: this process serves it).
async function floeRun(name) {
  // BENCH_SF_PERF=FILE profiles the timed run with perf (perf record -g).
  const perf = process.env.BENCH_SF_PERF && name === 'timed'
    ? ['perf', 'record', '-q', '-F', '499', '-g', '-o', process.env.BENCH_SF_PERF, '--'] : [];
  const floeArgs = [...perf, floeBin, 'run', '--config', path.join(work, `${name}.yaml`)];
  const args = timeBin ? ['-f', 'cpu %U %S rss %M', ...floeArgs] : floeArgs.slice(1);
  const started = Date.now();
  const p = spawn(timeBin ?? floeArgs[0], args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => { stdout += d; });
  p.stderr.on('data', (d) => { stderr += d; });
  const status = await new Promise((resolve) => p.on('exit', (code) => resolve(code)));
  const seconds = (Date.now() - started) / 1000;
  if (status !== 0) {
    console.error(stdout, stderr);
    process.exit(1);
  }
  const report = JSON.parse(readFileSync(path.join(work, `report-${name}.json`), 'utf8')).tables[0];
  if (report.rows_written !== rows) {
    console.error(`bench: floe wrote ${report.rows_written} rows, expected ${rows}`);
    process.exit(1);
  }
  const m = /cpu ([\d.]+) ([\d.]+) rss (\d+)/.exec(stderr);
  console.error(`bench: ${name}: ${seconds.toFixed(2)} s ${stdout.trim().split('\n').join(' | ')}`);
  if (process.env.BENCH_SF_LOG) console.error(stderr);
  return {
    seconds, report, cpuS: m ? Number(m[1]) + Number(m[2]) : NaN, rssMb: m ? Number(m[3]) / 1024 : NaN,
  };
}

writeJob('warmup', prefetch);
const warm = await floeRun('warmup');
console.error(`bench: warm-up run (live emulator, recorded) ${warm.seconds.toFixed(1)} s`);
const partitions = Math.max(0, ...[...gets.keys()].map((k) => Number(k.split('?')[1]))) + 1;
if (partitions < 2) {
  console.error('bench: the warm-up run read no result with several partitions');
  process.exit(1);
}
// Everything the timed runs ask is recorded: the emulator stops, and
// the static server answers alone.
stopEmulator();
replay = true;
const snapshot = [...gets.entries()].map(([k, v]) => [k, [...v]]);
const replayed = async (name) => {
  postIndex = 0;
  served = 0;
  for (const [k, v] of snapshot) gets.set(k, [...v]);
  const r = await floeRun(name);
  if (mismatch !== null || postIndex !== posts.length) {
    console.error(`bench: ${name} asked what the warm-up did not: ${mismatch ?? `${postIndex} of ${posts.length} statements`}`);
    process.exit(1);
  }
  return r;
};
writeJob('timed1', 1);
writeJob('timed', prefetch);
const one = await replayed('timed1');
const main = await replayed('timed');
console.error(`bench: ${served} answers served by the static server per run (${posts.length} statements)`);
server.close();

const num = (v, digits) => (Number.isNaN(v) ? 'n/a' : v.toFixed(digits));
console.log(`snowflake_e2e rows=${rows} seconds=${main.seconds.toFixed(2)} rows_per_s=${Math.round(rows / main.seconds)} ` +
  `floe_cpu_s=${num(main.cpuS, 2)} ` +
  `floe_busy=${Number.isNaN(main.cpuS) ? 'n/a' : `${Math.round((100 * main.cpuS) / main.seconds)}%`} ` +
  `peak_rss_mb=${num(main.rssMb, 1)} prefetch=${prefetch} ` +
  `seconds_prefetch1=${one.seconds.toFixed(2)} rows_per_s_prefetch1=${Math.round(rows / one.seconds)} ` +
  `floe_cpu_s_prefetch1=${num(one.cpuS, 2)} peak_rss_mb_prefetch1=${num(one.rssMb, 1)} ` +
  `partitions=${partitions} files=${main.report.files} bytes=${main.report.bytes} ` +
  `recorded=1 warmup_s=${warm.seconds.toFixed(2)}`);
process.exit(0);
