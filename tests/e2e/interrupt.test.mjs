// Ctrl-C stops `floe run` cleanly: SIGINT during the extract of a table
// fails that table with "interrupted", deletes the control row the run
// inserted (compensation), commits nothing, and the next run loads the
// range exactly once. The run is held at the during_extract point
// (FLOE_PAUSE_AT) so the signal arrives mid-load every time.
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/interrupt.test.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, sh, sqliteRows } from './lib/check_table.mjs';

const FLOE = process.env.FLOE_BIN ?? path.join(REPO, 'build/floe');

function runFloe(dir, env, onStderr) {
  return new Promise((resolve, reject) => {
    const child = spawn(FLOE, ['run'], { cwd: dir, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; onStderr?.(stderr, child); });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

test('SIGINT mid-extract compensates the control row and the next run loads the range once', async () => {
  assert.ok(existsSync(FLOE), `no floe binary at ${FLOE} (set FLOE_BIN)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-e2e-interrupt-'));
  try {
    const db = path.join(dir, 'source.db');
    sh('sqlite3', [db, `CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, batch_sk INTEGER NOT NULL);
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
      INSERT INTO orders SELECT i, i * 1.5, 1 + (i - 1) / 2500 FROM n;`]);
    writeFileSync(path.join(dir, 'floe.yaml'), `version: 1
source: {type: sqlite, path: ./source.db}
target:
  warehouse: ./warehouse
  catalog: {type: sql, uri: "sqlite:./catalog.db"}
  namespace: e2e
run: {durability: none, report: ./report.json}
tables:
  orders: {}
`);
    const go = path.join(dir, 'go');
    let sent = false;
    const r = await runFloe(dir, { FLOE_PAUSE_AT: 'during_extract', FLOE_PAUSE_FILE: go }, (err, child) => {
      if (!sent && err.includes('event=pause')) {
        sent = true;
        child.kill('SIGINT'); // the user presses Ctrl-C while a batch is in the writer
        writeFileSync(go, '');
      }
    });
    assert.ok(sent, `the run never reached during_extract\n${r.stderr}`);
    assert.equal(r.signal, null, 'floe handled SIGINT itself');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /event=compensate table=orders batch_sk=2 .*deleted=1 ok=1/);
    assert.match(r.stderr, /batch range \(0, 2\] failed \(control row compensated\): interrupted/);
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.equal(report.tables[0].status, 'failed');
    assert.equal(report.tables[0].snapshot_id, null);
    assert.deepEqual(sqliteRows(db, 'SELECT batch_sk, kind FROM floe_control ORDER BY batch_sk'),
      [{ batch_sk: 0, kind: 'init' }]);

    const again = await runFloe(dir, {});
    assert.equal(again.code, 0, again.stderr);
    const report2 = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.deepEqual(report2.tables[0].range, { batch_sk_low: 0, batch_sk_high: 2 });
    assert.equal(report2.tables[0].rows_written, 5000);
    assert.deepEqual(sqliteRows(db, 'SELECT batch_sk, kind FROM floe_control ORDER BY batch_sk'),
      [{ batch_sk: 0, kind: 'init' }, { batch_sk: 2, kind: 'load' }]);
  } finally {
    if (!process.env.FLOE_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  }
});
