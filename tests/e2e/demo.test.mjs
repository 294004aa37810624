// `floe demo` (what `make demo` runs): the main job on the embedded default
// must run start to finish, and what it leaves behind is checked with an
// independent reader: icebird reads the three Iceberg tables and they equal
// the final state of the SQLite source (orders appended; customers upserted
// on their key; accounts = the I/U/D changes applied per account).
//
// Run: FLOE_BIN=/path/to/floe node --test tests/e2e/demo.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, modulesPresent, readIceberg, sqliteRows } from './lib/check_table.mjs';

const FLOE = process.env.FLOE_BIN ?? path.join(REPO, 'build/floe');
const ready = existsSync(FLOE) && modulesPresent();

const sortBy = (key) => (a, b) => Number(a[key]) - Number(b[key]);

test('floe demo runs case 1, case 2, nothing new, merge and CDC, and the tables equal the source',
  { skip: ready ? false : `no floe binary at ${FLOE} or node modules missing` }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'floe-demo-'));
    try {
      const r = spawnSync(FLOE, ['demo', '--dir', path.join(dir, 'demo')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const out = r.stdout;
      for (const heading of ['=== 2. first run', '=== 4. second run', '=== 5. third run', '=== 6. status'])
        assert.ok(out.includes(heading), `missing "${heading}"`);
      assert.match(out, /orders\s+ok\s+\(0, 1\]\s+1200/);
      assert.match(out, /orders\s+ok\s+\(1, 3\]\s+600/);
      assert.equal((out.match(/nothing_new/g) || []).length, 3);

      const demo = path.join(dir, 'demo');
      const catalog = path.join(demo, 'catalog.db');
      const source = path.join(demo, 'source.db');

      const orders = await readIceberg(catalog, 'demo', 'orders');
      const srcOrders = sqliteRows(source, 'SELECT order_id FROM orders ORDER BY order_id');
      assert.deepEqual(orders.map((o) => Number(o.order_id)).sort((a, b) => a - b),
        srcOrders.map((o) => o.order_id));

      const customers = (await readIceberg(catalog, 'demo', 'customers')).sort(sortBy('customer_id'));
      const srcCustomers = sqliteRows(source, 'SELECT customer_id, email FROM customers ORDER BY customer_id');
      assert.equal(customers.length, 43);
      assert.deepEqual(customers.map((c) => [Number(c.customer_id), c.email ?? null]),
        srcCustomers.map((c) => [c.customer_id, c.email]));

      // accounts: the last change of each account, deleted accounts gone.
      const accounts = (await readIceberg(catalog, 'demo', 'accounts')).sort(sortBy('account_id'));
      const expected = sqliteRows(source,
        `SELECT account_id, owner FROM account_changes c
         WHERE change_seq = (SELECT max(change_seq) FROM account_changes d WHERE d.account_id = c.account_id)
           AND op <> 'D' ORDER BY account_id`);
      assert.deepEqual(accounts.map((a) => [Number(a.account_id), a.owner]),
        expected.map((a) => [a.account_id, a.owner]));
      assert.deepEqual(expected.map((a) => a.account_id), [101, 102, 104, 106, 107]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
