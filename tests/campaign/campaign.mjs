// The exactly-once crash campaign: real `floe run` processes killed
// (_exit(137), as SIGKILL would) at every named crash point of
// docs/durability.md, at the n-th arrival, across strategies, write modes
// and sources, with new batches arriving between runs, double crashes (the
// repair run is killed too), injected failures with a crash during
// compensation, two floe processes on one table at once, two on different
// tables of one catalog, another writer committing to the table while
// floe merges, and (maintenance trials) the job's maintenance block
// compacting, converting deletes, rewriting manifests and expiring all
// but two snapshots after every run, with crashes inside it
// (maintain_before_commit, maintain_after_commit, maintain_during_delete),
// and (changelog trials) merge and CDC tables keeping a changelog table,
// with crashes between its commit and the merge's (after_changelog_commit).
//
// After every trial the target is checked by readers that are not floe:
//   - icebird reads the whole Iceberg table (deletes applied) and must equal
//     the source's expected rows (sqlite3 / psql), row for row;
//   - DuckDB reads the live data files by Parquet field id (count, sum(id))
//     when the snapshot has no delete files;
//   - the control table holds the init row and exactly one row per complete
//     floe commit, and no other (no orphan, no missing row);
//   - the snapshot summaries on main (floe.batch-sk.low/high, floe.run-id,
//     floe.part) form contiguous, non-overlapping ranges up to the source's
//     max, each batch in exactly one complete commit;
//   - one more run is "nothing new" and commits nothing;
//   - changelog trials: icebird reads the changelog, which holds every
//     applied change exactly once and no row of a load that never committed.
//
// Every trial is a pure function of (seed, trial): a failure prints the
// command that replays it.
//
// --target s3rest runs the same trials against S3 behind an Iceberg REST
// catalog: moto's S3 server and the REST test server (S3FileIO on moto) on
// 127.0.0.1, one namespace per trial, floe's S3 traffic through a fault
// proxy and its REST traffic through another. Besides the crash points
// (data upload, manifest and manifest list writes, before and after the
// commit POST) its rounds lose the answer to a commit the server applied
// (floe must find its commit, never resend it), answer a commit with 503
// before applying it, and drop or refuse S3 uploads (retried, or the run
// fails and compensates). Its checks read through the REST catalog and
// icebird on S3 (DuckDB's file check is skipped there).
//
//   node tests/campaign/campaign.mjs [--trials N] [--seed S] [--trial K]
//        [--jobs J] [--sources sqlite,postgres] [--floe PATH] [--keep]
//        [--sample] [--verbose] [--target local|s3rest]
//
// --sample is the CI subset (fixed seed, 40 trials, every scenario kind;
// with --target s3rest, 4 trials).
// Exit status 0 when every trial passed, 1 otherwise.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  REPO, duckdbFiles, metadataLocation, modulesPresent, normalizeRows, normalizeValue, pgRows, readIceberg,
  readMetadata, sh, sqliteRows,
} from '../e2e/lib/check_table.mjs';
import { startProxy, startRestServer } from '../e2e/lib/rest_catalog.mjs';
import { makeBucket, routeS3Fetch, startS3, startS3Proxy } from '../e2e/lib/s3.mjs';

const SELF = fileURLToPath(import.meta.url);

// ---- options -----------------------------------------------------------------

function parseArgs(argv) {
  const o = { trials: 500, seed: null, trial: null, jobs: Math.max(1, Math.min(2, cpus().length)),
    sources: ['sqlite', 'postgres'], floe: process.env.FLOE_BIN ?? path.join(REPO, 'build/floe'),
    keep: false, verbose: false, worker: null, sample: false, target: 'local' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--trials') o.trials = Number(next());
    else if (a === '--seed') o.seed = Number(next());
    else if (a === '--trial') o.trial = Number(next());
    else if (a === '--jobs') o.jobs = Number(next());
    else if (a === '--sources') o.sources = next().split(',');
    else if (a === '--floe') o.floe = path.resolve(next());
    else if (a === '--keep') o.keep = true;
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--sample') o.sample = true;
    else if (a === '--worker') o.worker = next();
    else if (a === '--target') o.target = next();
    else if (a === '--help' || a === '-h') {
      process.stdout.write(readFileSync(SELF, 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (o.target !== 'local' && o.target !== 's3rest') throw new Error(`--target ${o.target}: local or s3rest`);
  if (o.sample) {
    if (o.seed === null) o.seed = 20261122;
    if (!argv.includes('--trials')) o.trials = o.target === 's3rest' ? 4 : 40;
  }
  if (o.seed === null) o.seed = Math.floor(Math.random() * 2 ** 31);
  return o;
}

// ---- deterministic randomness ------------------------------------------------

function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rngFor(seed, trial) {
  let h = 2166136261 >>> 0;
  for (const c of `${seed}/${trial}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  const r = mulberry32(h);
  const rng = {
    next: r,
    int: (lo, hi) => lo + Math.floor(r() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(r() * xs.length)],
    chance: (p) => r() < p,
  };
  return rng;
}

// ---- what a trial loads --------------------------------------------------------

// kind: how the source changes per batch. append: new rows only; upsert:
// rows updated in place (and deleted, for full loads) plus new rows; cdc: a
// change log with I/U/D rows.
const PROFILES = [
  { name: 'incremental/append', strategy: 'incremental', mode: 'append', kind: 'append', yaml: '{}', parts: true },
  { name: 'incremental/overwrite-range', strategy: 'incremental', mode: 'overwrite', kind: 'append', yaml: '{mode: overwrite, overwrite: range}', parts: true },
  { name: 'incremental/merge', strategy: 'incremental', mode: 'merge', kind: 'upsert', yaml: '{mode: merge}', merge: true, parts: true },
  { name: 'incremental/cdc', strategy: 'incremental', mode: 'cdc', kind: 'cdc', yaml: '{mode: merge, primary_key: [id], cdc: {type: op_column, column: op, sequence: seq}}', merge: true },
  { name: 'incremental-cursor/append', strategy: 'incremental', mode: 'append', kind: 'append', yaml: '{cursor_column: seq}', cursor: true },
  { name: 'chunked-batch/append', strategy: 'chunked', mode: 'append', kind: 'append', yaml: '{strategy: chunked, chunk: {by: batch}}', parts: true },
  { name: 'chunked-rows/append', strategy: 'chunked', mode: 'append', kind: 'append', yaml: '{strategy: chunked, chunk: {by: rows, rows: 4}}' },
  { name: 'chunked-cursor/append', strategy: 'chunked', mode: 'append', kind: 'append', yaml: '{strategy: chunked, cursor_column: seq, chunk: {by: rows, rows: 5}}', cursor: true },
  { name: 'chunked-batch/merge', strategy: 'chunked', mode: 'merge', kind: 'upsert', yaml: '{strategy: chunked, mode: merge}', merge: true },
  { name: 'full/overwrite', strategy: 'full', mode: 'overwrite', kind: 'full', yaml: '{strategy: full, mode: overwrite}' },
  { name: 'full/hash-diff', strategy: 'full', mode: 'cdc', kind: 'full', yaml: '{strategy: full, mode: merge, cdc: {type: hash_diff}}', merge: true },
  { name: 'partition/overwrite', strategy: 'partition', mode: 'overwrite', kind: 'append', yaml: '{strategy: partition, partition_column: region, partition_by: [region], mode: overwrite, overwrite: partitions}' },
];

// Crash points (docs/durability.md, "Crash points"). during_compensation
// needs a failure to compensate; during_repair a run with something to
// repair (a second crash).
const CRASH_POINTS = ['after_control_insert', 'after_data_file', 'after_delete_file', 'after_manifest',
  'after_manifest_list', 'after_metadata_file', 'before_catalog_commit', 'after_catalog_commit',
  'before_commit', 'after_commit', 'during_validation'];
const REPAIR_POINTS = ['during_repair', ...CRASH_POINTS];
// Inside the job's maintenance (after a table's loads): before and after
// each maintenance commit, and after expiry's first file deletion.
const MAINTENANCE_POINTS = ['maintain_before_commit', 'maintain_after_commit', 'maintain_during_delete'];
// A block whose thresholds every trial crosses: conversion, compaction,
// manifest rewrite and expiry down to the two newest snapshots.
const MAINTENANCE_YAML = 'maintenance: {compact_min_files: 2, delete_ratio_percent: 1, ' +
  'convert_equality_deletes: true, max_manifests: 2, max_snapshots: 2, expire_older_than: 0ms, retain_last: 2}';
const FAIL_POINTS = ['commit', 'write', 'control_insert'];

const COLUMNS = ['id', 'region', 'amount', 'note', 'seq', 'batch_sk'];

function mergeYaml(yaml, extra) {
  const inner = yaml.slice(1, -1).trim();
  const add = extra.filter(Boolean).join(', ');
  return `{${[inner, add].filter((s) => s !== '').join(', ')}}`;
}

// The plan of one trial: everything random is drawn here, up front.
function planTrial(seed, trial, sources, target = 'local') {
  const rng = rngFor(seed, trial);
  const source = rng.pick(sources);
  // Scenario kinds: most trials crash; some double-crash (the repair run
  // is killed too); some fail and crash during compensation; a few are
  // the concurrency scenarios.
  const roll = rng.next();
  const scenario = roll < 0.08 ? 'concurrent' : roll < 0.12 ? 'two-tables' : roll < 0.16 ? 'other-writer' : 'crashes';
  let profile = rng.pick(PROFILES);
  if (scenario === 'other-writer') {
    const name = rng.pick(['incremental/merge', 'incremental/append', 'incremental/cdc']);
    profile = PROFILES.find((p) => p.name === name);
  }
  const extra = [];
  if (profile.parts && rng.chance(0.35)) extra.push(rng.pick(['partition_by: [bucket(4, id)]', 'partition_by: [region]', 'partition_by: [region, bucket(2, id)]']));
  if (profile.merge) extra.push(`merge: {deletes: ${rng.pick(['position', 'equality', 'copy_on_write'])}}`);
  if (rng.chance(0.2) && profile.kind !== 'cdc') extra.push('validate: {checksum: true}');
  const yaml = mergeYaml(profile.yaml, extra);
  const initialBatches = rng.int(1, 3);
  const rounds = [];
  const nRounds = scenario === 'crashes' ? rng.int(2, 4) : 1;
  for (let i = 0; i < nRounds; i++) {
    const r = { newBatches: rng.chance(0.75) ? rng.int(1, 2) : 0 };
    const k = rng.next();
    const n = () => (rng.chance(0.6) ? 1 : rng.int(2, 4));
    if (k < 0.55) {
      r.type = 'crash';
      r.crash = `${rng.pick(CRASH_POINTS)}:${n()}`;
    } else if (k < 0.8) {
      r.type = 'double';
      r.crash = `${rng.pick(CRASH_POINTS)}:${n()}`;
      r.crash2 = `${rng.pick(REPAIR_POINTS)}:${rng.chance(0.7) ? 1 : rng.int(2, 3)}`;
    } else if (k < 0.93) {
      r.type = 'fail';
      r.fail = `${rng.pick(FAIL_POINTS)}:${rng.chance(0.7) ? 1 : 2}`;
      r.crash = rng.chance(0.6) ? 'during_compensation' : null;
    } else {
      r.type = 'clean';
    }
    if (target === 's3rest' && rng.chance(0.35)) {
      // Faults only a remote catalog and object store have.
      const f = rng.next();
      if (f < 0.4) r.type = 'lost-answer';
      else if (f < 0.6) r.type = 'commit-503';
      else if (f < 0.8) r.type = 's3-transient';
      else r.type = 's3-down';
      r.nth = rng.chance(0.7) ? 1 : 2;
    }
    r.batchesBetween = rng.chance(0.4) ? rng.int(1, 2) : 0; // arrive before the repair run
    rounds.push(r);
  }
  const rngSeed = rng.int(1, 2 ** 30);
  // Maintenance trials (drawn last, so the other trials' plans stay as
  // they were): the job maintains the table after every run, and half the
  // crashes land inside the maintenance.
  let maintenance = false;
  let planYaml = yaml;
  if ((scenario === 'crashes' || scenario === 'concurrent') && rng.chance(0.3)) {
    maintenance = true;
    planYaml = mergeYaml(yaml, [MAINTENANCE_YAML]);
    for (const r of rounds) {
      if ((r.type === 'crash' || r.type === 'double') && rng.chance(0.6))
        r.crash = `${rng.pick(MAINTENANCE_POINTS)}:${rng.chance(0.6) ? 1 : rng.int(2, 3)}`;
      if (r.type === 'double' && rng.chance(0.4)) r.crash2 = `${rng.pick(MAINTENANCE_POINTS)}:1`;
    }
  }
  // Changelog trials (drawn last, so the other trials' plans stay as they
  // were): a merge or CDC table keeps a changelog (docs/replicate.md,
  // "Changelog tables"), and most crashes land between the changelog's
  // commit and the merge's.
  let changelog = false;
  if (scenario === 'crashes' && profile.merge && profile.kind !== 'full' && rng.chance(0.5)) {
    changelog = true;
    planYaml = mergeYaml(planYaml, ['changelog: {target: t_changes}']);
    for (const r of rounds) {
      if ((r.type === 'crash' || r.type === 'double') && rng.chance(0.6))
        r.crash = `after_changelog_commit:${rng.chance(0.6) ? 1 : 2}`;
      if (r.type === 'double' && rng.chance(0.3)) r.crash2 = 'after_changelog_commit:1';
    }
  }
  return { seed, trial, source, scenario, profile, yaml: planYaml, initialBatches, rounds, rngSeed, maintenance, target,
    changelog };
}

// ---- the source ------------------------------------------------------------------

class Source {
  constructor(kind, dir, conninfo, profile, rng, name = 't') {
    this.kind = kind;
    this.dir = dir;
    this.conninfo = conninfo;
    this.profile = profile;
    this.rng = rng;
    this.name = name;
    this.nextId = 1;
    this.seq = 0;
    this.batch = 0;
    this.live = new Set();
  }

  exec(sql) {
    if (this.kind === 'sqlite') sh('sqlite3', [path.join(this.dir, 'source.db'), sql]);
    else sh('psql', [this.conninfo, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
  }

  rows(sql) {
    return this.kind === 'sqlite' ? sqliteRows(path.join(this.dir, 'source.db'), sql) : pgRows(this.conninfo, sql);
  }

  create() {
    const pg = this.kind === 'postgres';
    const int = pg ? 'bigint' : 'INTEGER';
    const pk = this.profile.kind === 'upsert' || this.profile.kind === 'full' ? ' PRIMARY KEY' : '';
    const op = this.profile.kind === 'cdc' ? ', op TEXT' : '';
    this.exec(`CREATE TABLE ${this.name} (id ${int} NOT NULL${pk}, region TEXT, amount ${pg ? 'numeric' : 'DECIMAL'}(10,2), ` +
      `note TEXT, seq ${int} NOT NULL, batch_sk ${int} NOT NULL${op})`);
  }

  value(id) {
    const amount = (this.rng.int(0, 99999) / 100).toFixed(2);
    const note = this.rng.chance(0.2) ? 'NULL' : this.rng.chance(0.1) ? `'it''s ${id}'` : `'n${id}-${this.seq}'`;
    return { region: `'r${this.rng.int(0, 3)}'`, amount, note };
  }

  // One new batch, as the profile's kind changes a source.
  addBatch() {
    this.batch += this.rng.chance(0.2) ? this.rng.int(2, 3) : 1;
    const b = this.batch;
    const stmts = [];
    const insert = (id, op) => {
      const v = this.value(id);
      this.seq++;
      stmts.push(`INSERT INTO ${this.name} (id, region, amount, note, seq, batch_sk${op ? ', op' : ''}) VALUES ` +
        `(${id}, ${v.region}, ${v.amount}, ${v.note}, ${this.seq}, ${b}${op ? `, '${op}'` : ''})`);
    };
    const liveIds = [...this.live];
    const kind = this.profile.kind;
    if (kind === 'append') {
      for (let i = this.rng.int(1, 6); i > 0; i--) insert(this.nextId++);
    } else if (kind === 'upsert' || kind === 'full') {
      for (const id of liveIds) {
        const r = this.rng.next();
        if (r < 0.25) {
          const v = this.value(id);
          this.seq++;
          stmts.push(`UPDATE ${this.name} SET amount = ${v.amount}, note = ${v.note}, seq = ${this.seq}, batch_sk = ${b} WHERE id = ${id}`);
        } else if (r < 0.35 && kind === 'full') {
          stmts.push(`DELETE FROM ${this.name} WHERE id = ${id}`);
          this.live.delete(id);
        }
      }
      for (let i = this.rng.int(1, 4); i > 0; i--) {
        const id = this.nextId++;
        insert(id);
        this.live.add(id);
      }
    } else if (kind === 'cdc') {
      for (const id of liveIds) {
        const r = this.rng.next();
        if (r < 0.25) insert(id, 'U');
        else if (r < 0.4) {
          insert(id, 'D');
          this.live.delete(id);
        }
      }
      for (let i = this.rng.int(1, 4); i > 0; i--) {
        const id = this.nextId++;
        insert(id, 'I');
        this.live.add(id);
        if (this.rng.chance(0.15)) insert(id, 'U'); // two changes of one key in one batch
      }
    }
    this.exec(stmts.join(';\n'));
  }

  expectedSql() {
    if (this.profile.kind === 'cdc')
      return `SELECT id, region, amount, note, seq, batch_sk FROM ${this.name} c WHERE seq = ` +
        `(SELECT max(seq) FROM ${this.name} x WHERE x.id = c.id) AND op <> 'D'`;
    return `SELECT id, region, amount, note, seq, batch_sk FROM ${this.name}`;
  }

  control(table) {
    return this.rows(`SELECT batch_sk, run_id, kind, watermark FROM floe_control WHERE table_name = '${table}' ORDER BY batch_sk`)
      .map((r) => ({ ...r, batch_sk: Number(r.batch_sk) }));
  }

  max(column) {
    const [r] = this.rows(`SELECT max(${column}) AS m FROM ${this.name}`);
    return r.m === null ? null : Number(r.m);
  }
}

// ---- running floe ----------------------------------------------------------------

function runFloe(opts, dir, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.floe, args, { cwd: dir, env: { ...process.env, FLOE_CRASH_AT: '', FLOE_FAIL_AT: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status: status ?? 128 + 9, signal, stdout, stderr }));
  });
}

function writeJob(dir, source, tables, file = 'floe.yaml') {
  const src = source.kind === 'sqlite' ? '{type: sqlite, path: ./source.db}' : `{type: postgres, conninfo: "${source.conninfo}"}`;
  const target = TARGET.kind === 'local'
    ? `  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}`
    : `  warehouse: s3://lake/wh
  storage: {type: s3, region: us-east-1, endpoint: "${TARGET.s3}", path_style: true}
  catalog: {type: rest, uri: "${TARGET.rest}", timeout_s: 5}`;
  writeFileSync(path.join(dir, file), `version: 1
source: ${src}
target:
${target}
  namespace: ${NS}
run: {durability: none, report: ./report.json}
tables:
${tables}
`);
}

// ---- where the target lives --------------------------------------------------------

// local: a SQL catalog and warehouse in the trial's directory, namespace
// camp. s3rest: the worker's REST server and S3 proxies, one namespace per
// trial; metadata reads are synchronous HTTP (a node child), as the local
// ones are file reads.
let TARGET = { kind: 'local' };
let NS = 'camp';

function syncGet(url) {
  const r = spawnSync(process.execPath, ['-e',
    'fetch(process.argv[1]).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))' +
    '.catch((e) => { process.stderr.write(String(e)); process.exit(1); })', url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`GET ${url}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function s3Url(location) {
  const m = /^s3[an]?:\/\/([^/]+)\/(.*)$/.exec(location);
  return `${TARGET.s3Read}/${m[1]}/${m[2].split('/').map(encodeURIComponent).join('/')}`;
}

// The table's current metadata location, or null when it does not exist.
function tableLocation(dir, ns, table) {
  if (TARGET.kind === 'local') return metadataLocation(path.join(dir, 'catalog.db'), ns, table);
  const r = syncGet(`${TARGET.restDirect}/v1/namespaces/${encodeURIComponent(ns)}/tables/${encodeURIComponent(table)}`);
  if (r.status === 404) return null;
  if (r.status !== 200) throw new Error(`load ${ns}.${table}: HTTP ${r.status} ${r.body}`);
  return JSON.parse(r.body)['metadata-location'];
}

function tableMetadata(loc) {
  if (TARGET.kind === 'local') return readMetadata(loc);
  const r = syncGet(s3Url(loc));
  if (r.status !== 200) throw new Error(`GET ${loc}: HTTP ${r.status}`);
  return JSON.parse(r.body);
}

let icebirdModule = null;
async function tableRows(dir, ns, table) {
  if (TARGET.kind === 'local') return readIceberg(path.join(dir, 'catalog.db'), ns, table);
  const loc = tableLocation(dir, ns, table);
  if (loc === null) return [];
  const md = tableMetadata(loc);
  if ((md['current-snapshot-id'] ?? -1) === -1) return [];
  if (!icebirdModule) {
    const { pathToFileURL } = await import('node:url');
    icebirdModule = await import(pathToFileURL(path.join(REPO, 'tests/interop/node_modules/icebird/src/index.js')).href);
  }
  const restore = routeS3Fetch(TARGET.s3Read);
  try {
    return await icebirdModule.icebergRead({ tableUrl: md.location, metadataFileName: path.basename(loc) });
  } finally {
    restore();
  }
}

// ---- the checks ------------------------------------------------------------------

class TrialFailure extends Error {}

function fail(msg) {
  throw new TrialFailure(msg);
}

function mainHistory(md) {
  const byId = new Map((md.snapshots ?? []).map((s) => [String(s['snapshot-id']), s]));
  const out = [];
  let id = md['current-snapshot-id'];
  const seen = new Set();
  while (id !== undefined && id !== null && id !== -1 && byId.has(String(id)) && !seen.has(String(id))) {
    seen.add(String(id));
    const s = byId.get(String(id));
    out.push(s);
    id = s['parent-snapshot-id'];
  }
  return out.reverse(); // oldest first
}

// Control rows and snapshot summaries tell one story: contiguous,
// non-overlapping ranges, one control row per complete commit.
function checkLedger(dir, source, table, ns = NS, target = table) {
  const loc = tableLocation(dir, ns, target);
  const ctl = source.control(table);
  if (loc === null) {
    if (ctl.some((r) => r.batch_sk > 0)) fail(`${table}: control rows ${JSON.stringify(ctl)} but no Iceberg table`);
    return { commits: [], ctl };
  }
  const md = tableMetadata(loc);
  const history = mainHistory(md);
  // Expiry (maintenance trials) cuts the history: the oldest snapshot left
  // has a parent that is gone. Then the committed watermark property
  // (docs/replicate.md) vouches for what came before the first visible
  // floe commit.
  const cut = history.length > 0 && history[0]['parent-snapshot-id'] !== undefined &&
    history[0]['parent-snapshot-id'] !== null && history[0]['parent-snapshot-id'] !== -1;
  const prop = md.properties?.[`floe.watermark.${table}`];
  const watermark = prop === undefined ? null : JSON.parse(prop);
  // A baseline (docs/replicate.md, "Switching to floe") adds no rows: an
  // empty range is its nature, and the ledger checks skip it.
  const commits = history.filter((s) => s.summary?.['floe.source-table'] === table &&
    s.summary?.['floe.baseline'] === undefined)
    .map((s) => ({
      id: String(s['snapshot-id']), low: Number(s.summary['floe.batch-sk.low']), high: Number(s.summary['floe.batch-sk.high']),
      run: s.summary['floe.run-id'], part: s.summary['floe.part'] ?? null, wm: s.summary['floe.watermark.high'] ?? null,
    }));
  const complete = commits.filter((c) => c.part === null || c.part.split('/')[0] === c.part.split('/')[1]);
  if (cut && watermark === null) fail(`${table}: expired history and no floe.watermark.${table} property`);
  const cutLow = cut ? (commits.length > 0 ? commits[0].low : Number(watermark['batch-sk-high'])) : 0;
  let prevHigh = cutLow;
  const highs = new Set();
  for (const c of complete) {
    if (!(c.high > c.low)) fail(`${table}: commit ${c.id} has an empty range (${c.low}, ${c.high}]`);
    if (c.low !== prevHigh) fail(`${table}: commit ${c.id} covers (${c.low}, ${c.high}] but the previous complete commit ended at ${prevHigh} (gap or overlap)`);
    if (highs.has(c.high)) fail(`${table}: batch ${c.high} committed twice`);
    highs.add(c.high);
    prevHigh = c.high;
  }
  // Parts of one group: 1..n in order, one run, one range.
  for (let i = 0; i < commits.length; i++) {
    const c = commits[i];
    if (c.part === null) continue;
    const [k, n] = c.part.split('/').map(Number);
    if (k > 1 && !(cut && i === 0)) {
      const p = commits[i - 1];
      if (!p || p.part !== `${k - 1}/${n}` || p.run !== c.run || p.high !== c.high)
        fail(`${table}: part ${c.part} of snapshot ${c.id} does not follow part ${k - 1}/${n} of its run`);
    }
  }
  const rows = ctl.filter((r) => r.batch_sk > cutLow);
  const init = ctl.filter((r) => r.batch_sk === 0);
  if (init.length !== 1) fail(`${table}: ${init.length} init rows in the control table`);
  const ctlSet = rows.map((r) => r.batch_sk).join(',');
  const comSet = complete.map((c) => c.high).join(',');
  if (ctlSet !== comSet) fail(`${table}: control rows [${ctlSet}] != complete commits [${comSet}]${cut ? ` (history cut at ${cutLow})` : ''}`);
  if (cut) {
    // Before the cut: one control row per batch up to it, the last at it.
    const before = ctl.filter((r) => r.batch_sk > 0 && r.batch_sk <= cutLow);
    if (cutLow > 0 && before.at(-1)?.batch_sk !== cutLow) fail(`${table}: no control row at the cut ${cutLow}`);
  }
  const lastHigh = complete.length > 0 ? complete.at(-1).high : cutLow;
  if (watermark !== null && commits.at(-1)?.part == null && Number(watermark['batch-sk-high']) !== lastHigh)
    fail(`${table}: floe.watermark.${table} says ${watermark['batch-sk-high']}, the commits end at ${lastHigh}`);
  for (const r of rows) {
    const c = complete.find((x) => x.high === r.batch_sk);
    if (r.kind === 'load' && r.run_id !== c.run) fail(`${table}: control row ${r.batch_sk} run ${r.run_id} but commit run ${c.run}`);
    if (c.wm !== null && String(r.watermark) !== c.wm) fail(`${table}: control row ${r.batch_sk} watermark ${r.watermark} != commit ${c.wm}`);
  }
  return { commits, complete, ctl, md, lastHigh, watermark };
}

async function checkTable(dir, source, table, ns = NS) {
  const ledger = checkLedger(dir, source, table, ns);
  const expected = normalizeRows(source.rows(source.expectedSql()), COLUMNS);
  const got = normalizeRows(await tableRows(dir, ns, table), COLUMNS);
  if (got.length !== expected.length || got.some((r, i) => r !== expected[i])) {
    const gotSet = new Map();
    for (const r of got) gotSet.set(r, (gotSet.get(r) ?? 0) + 1);
    const missing = expected.filter((r) => !gotSet.has(r)).slice(0, 3);
    const dup = [...gotSet].filter(([, n]) => n > 1).map(([r]) => r).slice(0, 3);
    const extra = got.filter((r) => !expected.includes(r)).slice(0, 3);
    fail(`${table}: icebird read ${got.length} rows, source has ${expected.length}; missing ${missing.join(' ')}; ` +
      `duplicated ${dup.join(' ')}; unexpected ${extra.join(' ')}`);
  }
  let duck = 'skipped (delete files)';
  if (TARGET.kind !== 'local') duck = 'skipped (s3)';
  else try {
    const d = await duckdbFiles(path.join(dir, 'catalog.db'), ns, table, 1);
    const [s] = source.rows(`SELECT count(*) AS n, coalesce(sum(id), 0) AS total FROM (${source.expectedSql()}) e`);
    if (d.rows !== Number(s.n) || d.sum !== BigInt(s.total))
      fail(`${table}: DuckDB by field id counted ${d.rows} rows, sum(id) ${d.sum}; source ${s.n}, ${s.total}`);
    duck = 'ok';
  } catch (e) {
    if (e instanceof TrialFailure) throw e;
    if (!/delete files/.test(e.message)) throw e;
  }
  // Everything the source has is loaded.
  const last = ledger.complete.at(-1);
  const lastWm = last ? last.wm : ledger.watermark?.['watermark-high'] ?? null;
  if (source.profile.cursor) {
    const max = source.max('seq');
    if (max !== null && (lastWm === null || Number(lastWm) !== max)) fail(`${table}: loaded up to cursor ${lastWm}, source max(seq) = ${max}`);
  } else if (source.profile.strategy !== 'full' || true) {
    const max = source.max('batch_sk');
    if (max !== null && ledger.lastHigh !== max) fail(`${table}: loaded up to batch ${ledger.lastHigh}, source max = ${max}`);
  }
  return { rows: expected.length, duck, commits: ledger.commits.length };
}

// The changelog holds every change the merges applied, each once, and
// nothing of a load whose merge never landed: change capture, every source
// change row; upserts (rows updated in place, so older versions are gone
// from the source), no (id, seq) twice and every current row's version.
// Each row's run and batch name a commit of the target (unless expiry
// removed the snapshots).
async function checkChangelog(dir, source, maintained) {
  const rows = (await tableRows(dir, NS, 't_changes'))
    .map((r) => ({ id: normalizeValue(r.id), seq: normalizeValue(r.seq), batch: normalizeValue(r.batch_sk),
      op: r._op, at: normalizeValue(r._batch_sk), run: r._run_id }));
  const counts = new Map();
  for (const r of rows) counts.set(`${r.id}/${r.seq}`, (counts.get(`${r.id}/${r.seq}`) ?? 0) + 1);
  const dup = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
  if (dup.length > 0) fail(`changelog: changes recorded twice: ${dup.slice(0, 5).join(' ')}`);
  if (source.profile.kind === 'cdc') {
    const want = source.rows(`SELECT id, seq, batch_sk, op FROM ${source.name}`)
      .map((r) => `${normalizeValue(r.id)}/${normalizeValue(r.seq)}/${normalizeValue(r.batch_sk)}/${r.op}`).sort();
    const got = rows.map((r) => `${r.id}/${r.seq}/${r.batch}/${r.op}`).sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      const missing = want.filter((x) => !got.includes(x)).slice(0, 3);
      const extra = got.filter((x) => !want.includes(x)).slice(0, 3);
      fail(`changelog: ${got.length} changes, the source has ${want.length}; missing ${missing.join(' ')}; unexpected ${extra.join(' ')}`);
    }
  } else {
    if (rows.some((r) => r.op !== 'U')) fail('changelog: an upsert recorded an op other than U');
    for (const r of source.rows(`SELECT id, seq, batch_sk FROM ${source.name}`)) {
      const k = `${normalizeValue(r.id)}/${normalizeValue(r.seq)}`;
      if (!counts.has(k)) fail(`changelog: the current version ${k} of a source row is missing`);
      const newest = Math.max(...rows.filter((x) => x.id === normalizeValue(r.id)).map((x) => Number(x.seq)));
      if (newest !== Number(r.seq)) fail(`changelog: id ${r.id} has a change (seq ${newest}) newer than the source's (${r.seq})`);
    }
  }
  if (maintained) return rows.length;
  const md = tableMetadata(tableLocation(dir, NS, 't'));
  const loads = new Set(mainHistory(md).filter((x) => x.summary?.['floe.source-table'] === 't')
    .map((x) => `${x.summary['floe.run-id']}/${x.summary['floe.batch-sk.high']}`));
  const orphan = rows.filter((r) => !loads.has(`${r.run}/${r.at}`));
  if (orphan.length > 0)
    fail(`changelog: ${orphan.length} rows of loads the target never committed (run ${orphan[0].run}, batch ${orphan[0].at})`);
  return rows.length;
}

// ---- one trial -------------------------------------------------------------------

async function runTrial(opts, plan, pg) {
  NS = TARGET.kind === 'local' ? 'camp' : `camp_${plan.seed}_${plan.trial}`;
  const log = [];
  const note = (s) => { log.push(s); if (opts.verbose) process.stderr.write(`  ${s}\n`); };
  const dir = mkdtempSync(path.join(tmpdir(), `floe-campaign-${plan.seed}-${plan.trial}-`));
  const rng = rngFor(plan.rngSeed, 0);
  let conninfo = null;
  let db = null;
  const result = { ...plan, points: [], reached: [], repairs: 0, outcome: 'ok', message: '', dir, runs: 0, started: Date.now() };
  try {
    if (plan.source === 'postgres') {
      db = `camp_${plan.seed}_${plan.trial}`.replace(/[^a-z0-9_]/g, '_');
      sh('psql', [`${pg} dbname=postgres`, '-X', '-q', '-c', `DROP DATABASE IF EXISTS ${db}`]);
      sh('psql', [`${pg} dbname=postgres`, '-X', '-q', '-c', `CREATE DATABASE ${db}`]);
      conninfo = `${pg} dbname=${db}`;
    }
    const source = new Source(plan.source, dir, conninfo, plan.profile, rng);
    source.create();
    for (let i = 0; i < plan.initialBatches; i++) source.addBatch();
    writeJob(dir, source, `  t: ${plan.yaml}`);

    const run = async (env, expect, label) => {
      const r = await runFloe(opts, dir, ['run'], env);
      result.runs++;
      const spec = env.FLOE_CRASH_AT ?? env.FLOE_FAIL_AT ?? '';
      note(`${label}: floe run ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} -> ${r.status}`);
      if (r.status === 0 || r.status === 3) {
        try {
          const rep = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
          for (const t of rep.tables) result.repairs += t.repairs ?? 0;
        } catch { /* no report */ }
      }
      if (r.status === 137) result.reached.push(env.FLOE_CRASH_AT);
      if (!expect.includes(r.status))
        fail(`${label} (${spec || 'no fault'}): floe exited ${r.status}, expected ${expect.join('/')}\n` +
          `${r.stdout}\n${r.stderr.split('\n').slice(-15).join('\n')}`);
      return r;
    };

    if (plan.scenario === 'crashes') {
      for (const [i, r] of plan.rounds.entries()) {
        for (let k = 0; k < r.newBatches; k++) source.addBatch();
        if (r.type === 'crash') {
          result.points.push(r.crash);
          await run({ FLOE_CRASH_AT: r.crash }, [0, 137], `round ${i + 1} crash`);
        } else if (r.type === 'double') {
          result.points.push(`${r.crash}+${r.crash2}`);
          const a = await run({ FLOE_CRASH_AT: r.crash }, [0, 137], `round ${i + 1} crash`);
          if (a.status === 137) {
            for (let k = 0; k < r.batchesBetween; k++) source.addBatch();
            await run({ FLOE_CRASH_AT: r.crash2 }, [0, 137], `round ${i + 1} repair crash`);
          }
        } else if (r.type === 'fail') {
          result.points.push(`fail:${r.fail}${r.crash ? `+${r.crash}` : ''}`);
          const env = { FLOE_FAIL_AT: r.fail };
          if (r.crash) env.FLOE_CRASH_AT = r.crash;
          await run(env, [0, 1, 137], `round ${i + 1} fail`);
        } else if (r.type === 'lost-answer' || r.type === 'commit-503') {
          // The REST proxy loses the answer to the nth commit POST after the
          // server applied it (floe must find its commit in the reloaded
          // table), or answers it 503 before the server saw it.
          result.points.push(`${r.type}:${r.nth}`);
          TARGET.restFault = { action: r.type === 'lost-answer' ? 'drop-after' : 'fail-503', nth: r.nth, seen: 0 };
          try {
            const a = await run({}, r.type === 'lost-answer' ? [0] : [0, 1], `round ${i + 1} ${r.type}`);
            if (TARGET.restFault.seen >= r.nth) result.reached.push(`${r.type}:${r.nth}`);
            if (a.status === 0) checkLedger(dir, source, 't');
          } finally {
            TARGET.restFault = null;
          }
        } else if (r.type === 's3-transient' || r.type === 's3-down') {
          // S3 refuses one upload with 503 SlowDown (retried), or drops the
          // connection of every data file upload (the run fails cleanly).
          result.points.push(`${r.type}:${r.nth}`);
          const rule = r.type === 's3-transient'
            ? { method: 'PUT', path_contains: `/wh/${NS}/t/`, skip: r.nth - 1, count: 1, action: 'status', status: 503, code: 'SlowDown' }
            : { method: 'PUT', path_contains: `/wh/${NS}/t/data/`, count: 100000, action: 'drop' };
          await setS3Faults([rule]);
          try {
            const a = await run({}, r.type === 's3-transient' ? [0] : [0, 1], `round ${i + 1} ${r.type}`);
            const hit = (await s3FaultLog()).some((e) => e.action !== 'forward');
            if (hit) result.reached.push(`${r.type}:${r.nth}`);
            if (a.status === 0 && r.type === 's3-down' && hit) fail('every data upload was dropped, yet the run succeeded');
          } finally {
            await setS3Faults([]);
          }
        } else {
          await run({}, [0], `round ${i + 1} clean`);
          checkLedger(dir, source, 't');
        }
        for (let k = 0; k < r.batchesBetween; k++) source.addBatch();
      }
      await run({}, [0], 'final');
    } else if (plan.scenario === 'concurrent') {
      // Two floe processes on one table at once, more batches than one
      // run loads in a blink; both must end cleanly, each batch once.
      for (let k = 0; k < 3; k++) source.addBatch();
      result.points.push('2 runs at once');
      const [a, b] = await Promise.all([runFloe(opts, dir, ['run']), runFloe(opts, dir, ['run'])]);
      result.runs += 2;
      note(`concurrent runs -> ${a.status}, ${b.status}`);
      for (const r of [a, b])
        if (r.status !== 0) fail(`a concurrent run exited ${r.status}\n${r.stdout}\n${r.stderr.split('\n').slice(-15).join('\n')}`);
      for (const r of [a, b]) result.repairs += (r.stderr.match(/event=repair /g) ?? []).length;
      if ([a, b].some((r) => /event=repair .*action=compensate/.test(r.stderr)))
        fail(`a concurrent run compensated the other's control row:\n${a.stderr}\n${b.stderr}`);
      source.addBatch();
      await run({}, [0], 'after');
    } else if (plan.scenario === 'two-tables') {
      // Two processes, different tables, one catalog: both succeed.
      const other = new Source(plan.source, dir, conninfo, plan.profile, rngFor(plan.rngSeed, 1), 'u');
      other.create();
      for (let k = 0; k < 2; k++) other.addBatch();
      writeJob(dir, source, `  t: ${plan.yaml}\n  u: ${plan.yaml}`);
      result.points.push('2 tables at once');
      const [a, b] = await Promise.all([runFloe(opts, dir, ['run', '--table', 't']), runFloe(opts, dir, ['run', '--table', 'u'])]);
      result.runs += 2;
      note(`runs on t and u -> ${a.status}, ${b.status}`);
      for (const r of [a, b])
        if (r.status !== 0) fail(`a run on its own table exited ${r.status}\n${r.stdout}\n${r.stderr.split('\n').slice(-15).join('\n')}`);
      await checkTable(dir, other, 'u');
      await run({}, [0], 'after');
    } else if (plan.scenario === 'other-writer') {
      // Another writer (a second job appending its own rows to the same
      // Iceberg table) commits while floe is paused just before its
      // catalog swap; floe must rebase or fail cleanly, and the other
      // writer's commit must survive.
      const other = new Source(plan.source, dir, conninfo, { ...PROFILES[0] }, rngFor(plan.rngSeed, 2), 'w');
      other.create();
      other.nextId = 1000000;
      for (let k = 0; k < 2; k++) other.addBatch();
      // Same target, so the other job writes into camp.t; its rows must
      // carry the same columns.
      writeJob(dir, source, `  w: {target: ${NS}.t, on_existing: append}`, 'other.yaml');
      await run({}, [0], 'first load of t');
      const w0 = await runFloe(opts, dir, ['run', '-c', 'other.yaml']);
      if (w0.status !== 0) fail(`the other writer's first load failed: ${w0.stderr.split('\n').slice(-10).join('\n')}`);
      source.addBatch();
      other.addBatch();
      const gate = path.join(dir, 'gate');
      result.points.push('writer during commit');
      const floeRun = runFloe(opts, dir, ['run', '--table', 't'], { FLOE_PAUSE_AT: 'before_catalog_commit', FLOE_PAUSE_FILE: gate });
      for (let i = 0; i < 3000 && !existsSync(`${gate}.paused`); i++) await new Promise((r) => setTimeout(r, 10));
      if (!existsSync(`${gate}.paused`)) fail('floe never reached before_catalog_commit');
      const w = await runFloe(opts, dir, ['run', '-c', 'other.yaml']);
      note(`other writer -> ${w.status}`);
      if (w.status !== 0) fail(`the other writer failed: ${w.stderr.split('\n').slice(-10).join('\n')}`);
      writeFileSync(gate, '');
      const a = await floeRun;
      result.runs += 2;
      note(`floe (paused, then released) -> ${a.status}`);
      if (a.status !== 0 && a.status !== 1) fail(`floe exited ${a.status} after the concurrent commit\n${a.stderr}`);
      result.race = a.status === 0 ? 'rebased' : 'failed cleanly';
      await run({}, [0], 'after');
      // The combined table: t's expected rows plus w's rows.
      const tRows = normalizeRows(source.rows(source.expectedSql()), COLUMNS);
      const wRows = normalizeRows(other.rows(other.expectedSql()), COLUMNS);
      const got = normalizeRows(await tableRows(dir, NS, 't'), COLUMNS);
      const want = [...tRows, ...wRows].sort();
      if (JSON.stringify(got) !== JSON.stringify(want))
        fail(`table with two writers: icebird read ${got.length} rows, expected ${tRows.length} + ${wRows.length}`);
      checkLedger(dir, source, 't');
      checkLedger(dir, other, 'w', NS, 't');
      result.rows = got.length;
      result.idempotent = await idempotent(opts, dir, source, run);
      return finish(result, log, opts, dir, db, pg);
    }

    const c = await checkTable(dir, source, 't');
    if (plan.changelog) result.changes = await checkChangelog(dir, source, plan.maintenance);
    result.rows = c.rows;
    result.duck = c.duck;
    result.idempotent = await idempotent(opts, dir, source, run, plan.maintenance);
    // floe validate agrees (merge and partition loads say so themselves).
    const v = await runFloe(opts, dir, ['validate']);
    if (v.status !== 0) fail(`floe validate exited ${v.status}: ${v.stdout}${v.stderr.split('\n').slice(-5).join('\n')}`);
  } catch (e) {
    result.outcome = e instanceof TrialFailure ? 'FAIL' : 'ERROR';
    result.message = e.message;
  }
  return finish(result, log, opts, dir, db, pg);
}

// One more run loads nothing and commits nothing.
async function idempotent(opts, dir, source, run, maintained = false) {
  const started = Date.now() - 1;
  const before = tableMetadata(tableLocation(dir, NS, 't')).snapshots?.length ?? 0;
  const ctl = source.control('t').length;
  const r = await run({}, [0], 'rerun');
  const after = tableMetadata(tableLocation(dir, NS, 't')).snapshots?.length ?? 0;
  if (!/nothing_new/.test(r.stdout)) fail(`a rerun with nothing new did not say so: ${r.stdout}`);
  const md = tableMetadata(tableLocation(dir, NS, 't'));
  const loads = (md.snapshots ?? []).filter((s) => s['timestamp-ms'] > started && s.summary?.['floe.source-table']);
  if (loads.length > 0) fail(`a rerun with nothing new committed ${loads.length} load snapshots`);
  if (!maintained && after !== before) fail(`a rerun with nothing new committed ${after - before} snapshots`);
  if (source.control('t').length !== ctl) fail('a rerun with nothing new changed the control table');
  return true;
}

function finish(result, log, opts, dir, db, pg) {
  result.log = log;
  result.seconds = (Date.now() - result.started) / 1000;
  if (result.outcome === 'ok' && !opts.keep) {
    rmSync(dir, { recursive: true, force: true });
    if (db) spawnSync('psql', [`${pg} dbname=postgres`, '-X', '-q', '-c', `DROP DATABASE IF EXISTS ${db}`]);
  }
  delete result.profile;
  return result;
}

// ---- workers and the table -------------------------------------------------------

async function setS3Faults(rules) {
  await fetch(`${TARGET.s3}/__faults__`, { method: 'POST', body: JSON.stringify({ rules }) });
  await fetch(`${TARGET.s3}/__faults__/log`, { method: 'DELETE' });
}

async function s3FaultLog() {
  return (await fetch(`${TARGET.s3}/__faults__/log`)).json();
}

// s3rest: this worker's own S3 fault proxy and REST proxy, in front of the
// servers main() started.
async function workerTarget() {
  const moto = process.env.FLOE_CAMPAIGN_S3_MOTO;
  const restPort = Number(process.env.FLOE_CAMPAIGN_REST_PORT);
  const s3 = await startS3Proxy(moto);
  const t = { kind: 's3rest', s3: s3.endpoint, s3Read: process.env.FLOE_CAMPAIGN_S3_READ,
    restDirect: `http://127.0.0.1:${restPort}`, restFault: null, stops: [s3.stop] };
  const isCommit = (req) => req.method === 'POST' && req.url === `/v1/namespaces/${NS}/tables/t`;
  const proxy = await startProxy(restPort, (req) => {
    const f = t.restFault;
    if (!f || !isCommit(req)) return 'pass';
    f.seen++;
    return f.seen === f.nth ? f.action : 'pass';
  });
  t.rest = proxy.url;
  t.stops.push(() => proxy.stop());
  return t;
}

async function worker(opts) {
  const [w, n] = opts.worker.split('/').map(Number);
  const pg = process.env.FLOE_CAMPAIGN_PG || null;
  if (opts.target === 's3rest') TARGET = await workerTarget();
  const trials = opts.trial !== null ? [opts.trial] : [...Array(opts.trials).keys()].filter((t) => t % n === w);
  for (const t of trials) {
    let r;
    try {
      const plan = planTrial(opts.seed, t, pg ? opts.sources : opts.sources.filter((s) => s !== 'postgres'), opts.target);
      const name = plan.profile.name;
      r = await runTrial(opts, plan, pg);
      r.profileName = name;
    } catch (e) {
      r = { trial: t, seed: opts.seed, source: '?', profileName: '?', scenario: '?', points: [], reached: [],
        repairs: 0, outcome: 'ERROR', message: e.stack ?? String(e), log: [], runs: 0, seconds: 0, yaml: '' };
    }
    process.stdout.write(JSON.stringify(r) + '\n');
  }
  for (const stop of TARGET.stops ?? []) await stop();
}

function startPostgres() {
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-campaign-pg-'));
  let pgBin = process.env.PG_BIN;
  if (!pgBin) {
    const which = spawnSync('sh', ['-c', 'command -v postgres'], { encoding: 'utf8' }).stdout.trim();
    pgBin = existsSync('/usr/lib/postgresql/15/bin/postgres') ? '/usr/lib/postgresql/15/bin'
      : which ? path.dirname(spawnSync('readlink', ['-f', which], { encoding: 'utf8' }).stdout.trim()) : '/usr/lib/postgresql/15/bin';
  }
  const r = spawnSync(path.join(REPO, 'tests/support/pg.sh'), ['start', dir, String(process.pid)],
    { encoding: 'utf8', env: { ...process.env, PG_BIN: pgBin } });
  if (r.status === 77) return { skip: r.stderr.trim() };
  if (r.status !== 0) throw new Error(`pg.sh start: ${r.stderr}`);
  return { dir, conninfo: r.stdout.trim(), pgBin };
}

function pad(s, n) {
  s = String(s);
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.worker !== null) return worker(opts);
  if (!existsSync(opts.floe)) {
    console.error(`campaign: no floe binary at ${opts.floe} (build it, or --floe PATH / FLOE_BIN)`);
    process.exit(2);
  }
  if (!modulesPresent()) {
    console.error('campaign: node modules missing: run scripts/deps.sh --npm');
    process.exit(2);
  }
  let pg = null;
  if (opts.sources.includes('postgres')) {
    pg = startPostgres();
    if (pg.skip) {
      console.log(`SKIP postgres trials: ${pg.skip}`);
      pg = null;
    }
  }
  // s3rest: moto and the REST catalog server (S3FileIO on moto), shared by
  // the workers; each trial has a namespace of its own.
  let servers = null;
  const workerEnv = {};
  if (opts.target === 's3rest') {
    const s3 = await startS3();
    await makeBucket(s3.moto, 'lake');
    const home = mkdtempSync(path.join(tmpdir(), 'floe-campaign-rest-'));
    const rest = await startRestServer(home, ['--warehouse', 's3://lake/wh', '--s3-endpoint', s3.moto,
      '--s3-credentials', 'catalog-key:catalog-secret', '--log', path.join(home, 'requests.log')]);
    servers = { s3, rest, home };
    Object.assign(workerEnv, s3.env, { FLOE_CAMPAIGN_S3_MOTO: s3.moto, FLOE_CAMPAIGN_S3_READ: s3.endpoint,
      FLOE_CAMPAIGN_REST_PORT: String(rest.port) });
  }
  const started = Date.now();
  const n = opts.trial !== null ? 1 : Math.max(1, opts.jobs);
  console.log(`floe crash campaign: seed ${opts.seed}, ${opts.trial !== null ? `trial ${opts.trial}` : `${opts.trials} trials`}, ` +
    `${n} jobs, sources ${pg ? opts.sources.join(',') : 'sqlite'}, target ${opts.target}, floe ${opts.floe}`);
  const header = `${pad('trial', 6)}${pad('source', 9)}${pad('strategy/mode', 29)}${pad('scenario', 17)}${pad('crash points (reached)', 64)}${pad('repairs', 8)}${pad('s', 6)}outcome`;
  console.log(header);
  const results = [];
  const base = ['--seed', String(opts.seed), '--trials', String(opts.trials), '--floe', opts.floe, '--sources', opts.sources.join(','),
    '--target', opts.target];
  if (opts.trial !== null) base.push('--trial', String(opts.trial));
  if (opts.keep) base.push('--keep');
  if (opts.verbose) base.push('--verbose');
  await Promise.all([...Array(n).keys()].map((w) => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, ...base, '--worker', `${w}/${n}`],
      { env: { ...process.env, ...workerEnv, FLOE_CAMPAIGN_PG: pg ? pg.conninfo : '' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.startsWith('{')) continue;
        const r = JSON.parse(line);
        results.push(r);
        const pts = r.points.length ? `${r.points.join(' ')} (${r.reached.length ? r.reached.join(' ') : r.race ?? '-'})` : '-';
        console.log(`${pad(r.trial, 6)}${pad(r.source, 9)}${pad(r.profileName, 29)}${pad(r.scenario + (r.maintenance ? '+maint' : '') + (r.changelog ? '+log' : ''), 17)}${pad(pts, 64)}${pad(r.repairs, 8)}${pad(r.seconds.toFixed(1), 6)}${r.outcome}`);
        if (r.outcome !== 'ok') {
          console.log(`      ${r.message.split('\n').join('\n      ')}`);
          console.log(`      yaml: ${r.yaml}`);
          console.log(`      steps: ${r.log.join('; ')}`);
          console.log(`      replay: node tests/campaign/campaign.mjs --seed ${r.seed} --trial ${r.trial} --target ${r.target ?? 'local'} --keep --verbose   (dir ${r.dir})`);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) console.log(`worker ${w} exited ${code}`);
      resolve();
    });
  })));
  if (pg) spawnSync(path.join(REPO, 'tests/support/pg.sh'), ['stop', pg.dir], { env: { ...process.env, PG_BIN: pg.pgBin } });
  if (servers) {
    await servers.rest.stop();
    servers.s3.stop();
    rmSync(servers.home, { recursive: true, force: true });
  }

  // Summary: outcomes by profile and by crash point.
  const bad = results.filter((r) => r.outcome !== 'ok');
  const byProfile = new Map();
  for (const r of results) {
    const k = `${r.profileName} ${r.source}`;
    const e = byProfile.get(k) ?? { n: 0, ok: 0, repairs: 0 };
    e.n++;
    if (r.outcome === 'ok') e.ok++;
    e.repairs += r.repairs;
    byProfile.set(k, e);
  }
  const points = new Map();
  for (const r of results) for (const p of r.reached) points.set(p.replace(/:\d+$/, ''), (points.get(p.replace(/:\d+$/, '')) ?? 0) + 1);
  console.log('\nby strategy/mode and source:');
  for (const [k, e] of [...byProfile].sort()) console.log(`  ${pad(k, 42)} ${pad(`${e.ok}/${e.n} ok`, 12)} repairs ${e.repairs}`);
  console.log('crashes that happened, by point:');
  for (const [k, v] of [...points].sort()) console.log(`  ${pad(k, 42)} ${v}`);
  const maint = results.filter((r) => r.maintenance);
  console.log(`maintenance trials: ${maint.filter((r) => r.outcome === 'ok').length}/${maint.length} ok, ` +
    `${maint.reduce((s, r) => s + r.reached.filter((p) => p.startsWith('maintain_')).length, 0)} crashes inside maintenance`);
  const logs = results.filter((r) => r.changelog);
  console.log(`changelog trials: ${logs.filter((r) => r.outcome === 'ok').length}/${logs.length} ok, ` +
    `${logs.reduce((s, r) => s + r.reached.filter((p) => p.startsWith('after_changelog_commit')).length, 0)} crashes between the changelog and the merge`);
  const runs = results.reduce((s, r) => s + r.runs, 0);
  const repairs = results.reduce((s, r) => s + r.repairs, 0);
  console.log(`\n${results.length} trials, ${results.length - bad.length} ok, ${bad.length} failed; ${runs} floe runs, ` +
    `${results.reduce((s, r) => s + r.reached.length, 0)} crashes, ${repairs} repairs; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = bad.length === 0 && results.length === (opts.trial !== null ? 1 : opts.trials) ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
