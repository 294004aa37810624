// Running the floe binary from end-to-end tests: a scratch directory per
// case (removed at exit unless FLOE_KEEP_TMP is set), floe run there with
// extra environment, and a run that must exit 0.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO } from './check_table.mjs';

export const FLOE = process.env.FLOE_BIN ?? path.join(REPO, 'build/floe');

export function scratch(name) {
  const dir = mkdtempSync(path.join(tmpdir(), `floe-e2e-${name}-`));
  if (!process.env.FLOE_KEEP_TMP) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function floe(dir, args, env = {}) {
  const r = spawnSync(FLOE, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runOk(dir, args = ['run']) {
  const r = floe(dir, args);
  assert.equal(r.status, 0, `floe ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}
