// Running the floe binary from end-to-end tests: a scratch directory per
// case (removed at exit unless FLOE_KEEP_TMP is set), floe run there with
// extra environment, a run that must exit 0, and the pieces most cases set
// up in their scratch directory: a SQLite source (source.db), a job file
// (floe.yaml) writing into ./warehouse with the SQL catalog ./catalog.db,
// and the run report (report.json).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { REPO, modulesPresent, sh } from './check_table.mjs';

export const FLOE = process.env.FLOE_BIN ?? path.join(REPO, 'build/floe');
export const FIXTURES = path.resolve(REPO, '../shared/fixtures');

// Whether the binary and the node modules are there, and why not.
export const ready = existsSync(FLOE) && modulesPresent();
export const skipReason = !existsSync(FLOE) ? `no floe binary at ${FLOE} (set FLOE_BIN)`
  : 'node modules missing: run scripts/deps.sh --npm';

// A fresh directory <tmp>/<prefix>-<name>-XXXXXX.
export function scratch(name, { prefix = 'floe-e2e' } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), `${prefix}-${name}-`));
  if (!process.env.FLOE_KEEP_TMP) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// floe ARGS in DIR with ENV added to the environment; options are passed on
// to spawnSync (maxBuffer, timeout). Returns status, signal, stdout, stderr
// and all (stdout then stderr).
export function floe(dir, args, env = {}, options = {}) {
  const r = spawnSync(FLOE, args, { ...options, cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, all: r.stdout + r.stderr };
}

// floe ARGS that must exit 0; returns what floe() returns.
export function runOk(dir, args = ['run'], env = {}, options = {}) {
  const r = floe(dir, args, env, options);
  assert.equal(r.status, 0, `floe ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

// Starts floe ARGS in DIR paused at POINT (FLOE_PAUSE_AT); resolves once
// it has written its pause marker, with release() and exited (a promise of
// status, stdout and stderr).
export async function startPaused(dir, args, point) {
  const gate = path.join(dir, `gate-${point}`);
  const child = spawn(FLOE, args, {
    cwd: dir,
    env: { ...process.env, FLOE_PAUSE_AT: point, FLOE_PAUSE_FILE: gate },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
  let done = null;
  exited.then((r) => { done = r; });
  for (let i = 0; !existsSync(`${gate}.paused`); i++) {
    if (done) assert.fail(`floe ${args.join(' ')} exited ${done.status} before the pause\n${done.stdout}\n${done.stderr}`);
    if (i > 1500) { child.kill('SIGKILL'); assert.fail(`no pause marker after 30 s\n${stderr}`); }
    await delay(20);
  }
  return { release: () => writeFileSync(gate, ''), exited };
}

// SQL on DIR/source.db; returns sqlite3's output.
export function sqlite(dir, sql) {
  return sh('sqlite3', [path.join(dir, 'source.db'), sql]);
}

// Writes DIR/floe.yaml (or FILE): SOURCE (a SQLite source.db unless given)
// into ./warehouse and the SQL catalog ./catalog.db, NAMESPACE (e2e); a
// `control:` line only when CONTROL names a table; REPORT adds
// run.report ./report.json (RUN, when given, is the whole run: mapping);
// EXTRA (YAML lines) goes before `tables:`, TABLES (YAML lines, indented)
// after it.
export function writeJob(dir, tables, {
  source = '{type: sqlite, path: ./source.db}', namespace = 'e2e', control, report = false, run,
  extra = '', file = 'floe.yaml',
} = {}) {
  const lines = [
    'version: 1',
    `source: ${source}`,
    'target:',
    '  warehouse: ./warehouse',
    '  catalog: {type: sql, uri: "sqlite:./catalog.db"}',
    `  namespace: ${namespace}`,
  ];
  if (control) lines.push(`control: {table: ${control}}`);
  lines.push(`run: ${run ?? (report ? '{durability: none, report: ./report.json}' : '{durability: none}')}`);
  if (extra) lines.push(extra);
  lines.push('tables:', tables, '');
  writeFileSync(path.join(dir, file), lines.join('\n'));
}

// The run report a job written with `report: true` left in DIR.
export function readReport(dir) {
  return JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
}
