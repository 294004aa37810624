// What the emulator rejects because Snowflake rejects it (or does not
// document it), and the protocol shapes a client must handle: bindings in a
// multi-statement request, case-sensitive context names, an empty CHANGES
// window, a transaction left open at the end of a request, 202 for fast
// statements, partitions sized by bytes, fractional digits equal to the
// column's scale, a multi-statement summary without partitionInfo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from './helpers.mjs';

let emu;
before(async () => {
  emu = await startEmulator({ args: ['--warehouse', 'LOAD_WH', '--role', 'LOADER', '--seed', '7'] });
});
after(async () => { await emu.stop(); });

const counters = async () => (await emu.admin('GET', 'counters')).json;

test('bindings in a multi-statement request fail as on Snowflake; literals pass', async () => {
  await emu.ok('create or replace table b (n number(38,0))');
  const bad = await emu.sql('insert into b values (?); insert into b values (:2)', {
    parameters: { MULTI_STATEMENT_COUNT: '2' },
    bindings: { 1: { type: 'FIXED', value: '1' }, 2: { type: 'FIXED', value: '2' } },
  });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.code, '100132');
  assert.match(bad.json.message, /Bind variable \? not set/);
  assert.equal((await emu.ok('select count(*) from b')).data[0][0], '0');
  // A single statement keeps its bindings.
  await emu.ok('insert into b values (?)', { bindings: { 1: { type: 'FIXED', value: '5' } } });
  await emu.ok('insert into b values (6); insert into b values (7)', { parameters: { MULTI_STATEMENT_COUNT: '2' } });
  assert.equal((await emu.ok('select sum(n) from b')).data[0][0], '18');
});

test('context names are case-sensitive: database, schema, warehouse, role', async () => {
  const ok = await emu.sql('select 1', { database: 'FLOE_TEST', schema: 'PUBLIC', warehouse: 'LOAD_WH', role: 'LOADER' });
  assert.equal(ok.status, 200);
  const cases = [
    [{ database: 'floe_test' }, '090105'],
    [{ schema: 'public' }, '090106'],
    [{ warehouse: 'load_wh' }, '000606'],
    [{ role: 'loader' }, '390189'],
  ];
  for (const [ctx, code] of cases) {
    const r = await emu.sql('select 1', ctx);
    assert.equal(r.status, 422, JSON.stringify(ctx));
    assert.equal(r.json.code, code, JSON.stringify(ctx));
  }
  // A quoted (mixed-case) schema exists only with its exact case.
  await emu.ok('create schema "Mixed"');
  assert.equal((await emu.sql('select 1', { schema: 'Mixed' })).status, 200);
  assert.equal((await emu.sql('select 1', { schema: 'MIXED' })).status, 422);
});

test('CHANGES: a window whose END equals its AT is refused; AT without END is the documented probe', async () => {
  await emu.ok('create or replace table ct (id number(38,0))');
  await emu.ok('alter table ct set change_tracking = true');
  const t = (await emu.ok('select current_timestamp()')).data[0][0];
  const b = { type: 'TIMESTAMP_LTZ', value: t };
  const empty = await emu.sql('select count(*) from ct changes(information => default) at(timestamp => ?) end(timestamp => ?)',
    { bindings: { 1: b, 2: b } });
  assert.equal(empty.status, 422);
  assert.match(empty.json.message, /window on table 'CT' is empty/);
  await emu.ok('insert into ct values (1)');
  const probe = await emu.ok('select count(*) from ct changes(information => default) at(timestamp => ?)', { bindings: { 1: b } });
  assert.equal(probe.data[0][0], '1');
});

test('a request that ends inside a transaction is counted as detached; a block with a handler rolls back', async () => {
  await emu.admin('POST', 'reset', {});
  await emu.ok('create or replace table tx (n number(38,0))');
  const plain = await emu.sql('begin transaction; insert into tx values (1); insert into nope values (1); commit',
    { parameters: { MULTI_STATEMENT_COUNT: '4' } });
  assert.equal(plain.status, 422);
  assert.equal((await counters()).detachedTransactions, 1);
  const block = await emu.sql(`execute immediate 'begin
    begin transaction; insert into tx values (2); insert into nope values (1); commit;
  exception when other then rollback; raise; end;'`);
  assert.equal(block.status, 422);
  assert.equal(block.json.code, '002003'); // the failing statement's own error, re-raised
  const c = await counters();
  assert.equal(c.detachedTransactions, 1);
  assert.equal(c.blockRollbacks, 1);
  assert.equal((await emu.ok('select count(*) from tx')).data[0][0], '0');
  await emu.ok(`execute immediate 'begin begin transaction; insert into tx values (3); commit; end;'`);
  assert.equal((await emu.ok('select sum(n) from tx')).data[0][0], '3');
});

test('randomAsync: fast statements answer 202 at random; the poll gives the result', async () => {
  await emu.admin('POST', 'config', { randomAsync: 0.5 });
  try {
    let async = 0;
    for (let i = 0; i < 20; i++) {
      const r = await emu.sql(`select ${i}`);
      if (r.status === 202) {
        async++;
        let p = await emu.get(r.json.statementHandle);
        for (let k = 0; p.status === 202 && k < 50; k++) p = await emu.get(r.json.statementHandle);
        assert.equal(p.status, 200);
        assert.deepEqual(p.json.data, [[String(i)]]);
      } else {
        assert.equal(r.status, 200);
      }
    }
    assert.ok(async >= 3 && async <= 17, `${async} of 20 answered 202`);
  } finally {
    await emu.admin('POST', 'config', { randomAsync: 0 });
  }
});

test('partitionBytes: partitions close by size, so their row counts follow the row width', async () => {
  await emu.ok(`create or replace table pb as select range as id, repeat('x', (range % 5) * 40) as pad from range(200)`);
  await emu.admin('POST', 'config', { partitionBytes: 1000, rowsPerPartition: 1000 });
  try {
    const r = await emu.ok('select id, pad from pb order by id');
    const info = r.resultSetMetaData.partitionInfo;
    assert.ok(info.length > 5);
    const counts = new Set(info.map((p) => p.rowCount));
    assert.ok(counts.size > 1, 'row counts vary');
    assert.equal(info.reduce((a, p) => a + p.rowCount, 0), 200);
    let rows = r.data.length;
    for (let p = 1; p < info.length; p++) {
      const part = await emu.get(r.statementHandle, `?partition=${p}`);
      assert.equal(part.json.data.length, info[p].rowCount);
      assert.ok(Buffer.byteLength(JSON.stringify(part.json.data)) < 1000 + 250);
      rows += part.json.data.length;
    }
    assert.equal(rows, 200);
  } finally {
    await emu.admin('POST', 'config', { partitionBytes: 0, rowsPerPartition: 3 });
  }
});

test('time and timestamp values carry as many fractional digits as the column scale', async () => {
  await emu.ok(`create or replace table fd (t0 time(0), t3 time(3), n3 timestamp_ntz(3), n9 timestamp_ntz, l6 timestamp_ltz(6))`);
  await emu.ok(`insert into fd values ('10:11:12', '10:11:12.345', '1969-12-31 23:59:59.123', '2024-01-02 03:04:05.123456789', '2024-01-02 03:04:05.5')`);
  const r = await emu.ok('select * from fd');
  assert.deepEqual(r.data[0], ['36672', '36672.345', '-0.877', '1704164645.123456789', '1704164645.500000']);
  assert.deepEqual(r.resultSetMetaData.rowType.map((c) => c.scale), [0, 3, 3, 9, 6]);
});

test('a multi-statement summary carries no partitionInfo', async () => {
  const r = await emu.ok('select 1; select 2', { parameters: { MULTI_STATEMENT_COUNT: '2' } });
  assert.deepEqual(r.data, [['Multiple statements executed successfully.']]);
  assert.equal(r.resultSetMetaData.partitionInfo, undefined);
  assert.equal(r.statementHandles.length, 2);
});
