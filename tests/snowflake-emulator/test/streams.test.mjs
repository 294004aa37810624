// Streams and the CHANGES clause, from the change log the emulator keeps:
// net changes per row, update = DELETE+INSERT pair with METADATA$ISUPDATE,
// offsets that advance only when a consuming DML statement commits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from './helpers.mjs';

let emu;
const multi = { parameters: { MULTI_STATEMENT_COUNT: 0 } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  emu = await startEmulator();
});
after(async () => { await emu.stop(); });

async function changes(sql) {
  const r = await emu.ok(sql);
  const cols = r.resultSetMetaData.rowType.map((c) => c.name);
  return r.data.map((row) => Object.fromEntries(cols.map((c, i) => [c, row[i]])));
}

test('standard stream: net change per row', async () => {
  await emu.ok('create table src (id number, v varchar)');
  await emu.ok(`insert into src values (1, 'a'), (2, 'b'), (3, 'c')`);
  await emu.ok('create stream src_s on table src');
  assert.deepEqual((await emu.ok('select * from src_s')).data, []);
  await emu.ok(`insert into src values (4, 'd')`);
  await emu.ok(`update src set v = 'a2' where id = 1`);
  await emu.ok('delete from src where id = 2');
  await emu.ok(`insert into src values (5, 'e')`);
  await emu.ok('delete from src where id = 5');
  await emu.ok(`update src set v = 'c2' where id = 3`);
  await emu.ok(`update src set v = 'c3' where id = 3`);
  await emu.ok(`update src set v = 'd2' where id = 4`);
  const rows = await changes(`select id, v, metadata$action, metadata$isupdate, metadata$row_id from src_s
    order by id, metadata$action`);
  const view = rows.map((r) => [r.ID, r.V, r['METADATA$ACTION'], r['METADATA$ISUPDATE']]);
  assert.deepEqual(view, [
    ['1', 'a', 'DELETE', 'true'], ['1', 'a2', 'INSERT', 'true'],
    ['2', 'b', 'DELETE', 'false'],
    ['3', 'c', 'DELETE', 'true'], ['3', 'c3', 'INSERT', 'true'],
    ['4', 'd2', 'INSERT', 'false'],
  ]);
  // An update's two halves share METADATA$ROW_ID; different rows do not.
  assert.equal(rows[0]['METADATA$ROW_ID'], rows[1]['METADATA$ROW_ID']);
  assert.notEqual(rows[0]['METADATA$ROW_ID'], rows[3]['METADATA$ROW_ID']);
  // SELECT * lists the table's columns, then the three metadata columns.
  const star = await emu.ok('select * from src_s limit 1');
  assert.deepEqual(star.resultSetMetaData.rowType.map((c) => c.name),
    ['ID', 'V', 'METADATA$ACTION', 'METADATA$ISUPDATE', 'METADATA$ROW_ID']);
  assert.deepEqual(star.resultSetMetaData.rowType.map((c) => c.type), ['fixed', 'text', 'text', 'boolean', 'text']);
});

test('offset: SELECT and rolled-back DML do not advance it; committed DML does', async () => {
  await emu.ok('create table o_src (id number, batch_sk number)');
  await emu.ok('create table ledger (id number, batch_sk number, run number)');
  await emu.ok('create stream o_s on table o_src');
  await emu.ok('insert into o_src values (1, 10), (2, 10)');
  assert.equal((await emu.ok('select count(*) from o_s')).data[0][0], '2');
  assert.equal((await emu.ok('select count(*) from o_s')).data[0][0], '2');
  await emu.ok('begin; insert into ledger select id, batch_sk, 41 from o_s; rollback', multi);
  assert.equal((await emu.ok('select count(*) from o_s')).data[0][0], '2');
  assert.equal((await emu.ok('select count(*) from ledger')).data[0][0], '0');
  // A failure later in the transaction also leaves the offset where it was.
  const f = await emu.sql('begin; insert into ledger select id, batch_sk, 41 from o_s; insert into nowhere values (1); commit', multi);
  assert.equal(f.status, 422);
  assert.equal((await emu.ok('select count(*) from o_s')).data[0][0], '2');
  await emu.ok('begin; insert into ledger select id, batch_sk, 42 from o_s; commit', multi);
  assert.equal((await emu.ok('select count(*) from o_s')).data[0][0], '0');
  assert.deepEqual((await emu.ok('select id, run from ledger order by id')).data, [['1', '42'], ['2', '42']]);
  // New changes after the consumption are visible; an autocommit DML consumes them.
  await emu.ok('insert into o_src values (3, 11)');
  assert.deepEqual((await emu.ok('select id from o_s')).data, [['3']]);
  await emu.ok('insert into ledger select id, batch_sk, 43 from o_s');
  assert.equal((await emu.ok('select count(*) from o_s')).data[0][0], '0');
  assert.equal((await emu.ok('select count(*) from ledger')).data[0][0], '3');
});

test('append-only stream records inserts only', async () => {
  await emu.ok('create table ao (id number, v varchar)');
  await emu.ok(`insert into ao values (1, 'x')`);
  await emu.ok('create stream ao_s on table ao append_only = true');
  await emu.ok(`insert into ao values (2, 'y'), (3, 'z')`);
  await emu.ok(`update ao set v = 'q' where id = 1`);
  await emu.ok('delete from ao where id = 3');
  const rows = await emu.ok('select id, metadata$action, metadata$isupdate from ao_s order by id');
  assert.deepEqual(rows.data, [['2', 'INSERT', 'false'], ['3', 'INSERT', 'false']]);
});

test('CHANGES clause: AT/END timestamps, AT(STREAM), APPEND_ONLY, tracking required', async () => {
  await emu.ok('create table ch (id number, v varchar)');
  const untracked = await emu.sql('select * from ch changes(information => default) at(offset => -1)');
  assert.equal(untracked.status, 422);
  await emu.ok('alter table ch set change_tracking = true');
  await emu.ok(`insert into ch values (1, 'a'), (2, 'b')`);
  await sleep(20);
  const t1 = (await emu.ok('select current_timestamp()')).data[0][0];
  await sleep(20);
  await emu.ok(`update ch set v = 'a2' where id = 1`);
  await emu.ok(`insert into ch values (3, 'c')`);
  await sleep(20);
  const t2 = (await emu.ok('select current_timestamp()')).data[0][0];
  await sleep(20);
  await emu.ok('delete from ch where id = 2');
  const b = (k, v) => ({ bindings: { [k]: { type: 'TIMESTAMP_LTZ', value: v } } });
  const between = await emu.ok(`select id, v, metadata$action, metadata$isupdate from ch
      changes(information => default) at(timestamp => ?) end(timestamp => ?) order by id, metadata$action`,
  { bindings: { 1: { type: 'TIMESTAMP_LTZ', value: t1 }, 2: { type: 'TIMESTAMP_LTZ', value: t2 } } });
  assert.deepEqual(between.data, [['1', 'a', 'DELETE', 'true'], ['1', 'a2', 'INSERT', 'true'], ['3', 'c', 'INSERT', 'false']]);
  const since = await emu.ok(`select id, metadata$action from ch changes(information => default) at(timestamp => ?)
      order by id, metadata$action`, b(1, t1));
  assert.deepEqual(since.data, [['1', 'DELETE'], ['1', 'INSERT'], ['2', 'DELETE'], ['3', 'INSERT']]);
  const appendOnly = await emu.ok(`select id from ch changes(information => append_only) at(timestamp => ?) order by id`, b(1, t1));
  assert.deepEqual(appendOnly.data, [['3']]);
  // AT(STREAM => ...) starts at the stream's offset.
  await emu.ok('create stream ch_s on table ch');
  await emu.ok(`insert into ch values (4, 'd')`);
  const atStream = await emu.ok(`select id, metadata$action from ch changes(information => default) at(stream => 'ch_s')`);
  assert.deepEqual(atStream.data, [['4', 'INSERT']]);
  // Before change tracking began: error.
  const tooEarly = await emu.sql(`select * from ch changes(information => default) at(timestamp => '2000-01-01 00:00:00'::timestamp_ltz)`);
  assert.equal(tooEarly.status, 422);
  assert.match(tooEarly.json.message, /Change tracking is not enabled/);
});

test('stream offsets survive an emulator restart', async () => {
  const a = await startEmulator();
  await a.ok('create table p (id number)');
  await a.ok('create stream p_s on table p');
  await a.ok('insert into p values (1), (2)');
  await a.ok('create table sink (id number)');
  await a.ok('insert into sink select id from p_s where id = 1');
  await a.ok('insert into p values (3)');
  await a.stop();
  const b = await startEmulator({ state: a.dir });
  try {
    assert.deepEqual((await b.ok('select id, metadata$action from p_s')).data, [['3', 'INSERT']]);
  } finally {
    await b.stop();
  }
});

test('quoted names: a stream and a CHANGES table written "SCHEMA"."NAME" are read like unquoted ones', async () => {
  await emu.ok('create table qt (id number, v varchar)');
  await emu.ok('alter table qt set change_tracking = true');
  await emu.ok('create stream qt_s on table qt');
  await sleep(20);
  const t0 = (await emu.ok('select current_timestamp()')).data[0][0];
  await sleep(20);
  await emu.ok(`insert into qt values (1, 'a')`);
  assert.deepEqual((await emu.ok('select "ID", "METADATA$ACTION" from "PUBLIC"."QT_S"')).data, [['1', 'INSERT']]);
  assert.deepEqual((await emu.ok('select count(*) from "QT_S"')).data, [['1']]);
  const ch = await emu.ok(`select "ID", metadata$action from "PUBLIC"."QT" changes(information => default) at(timestamp => ?)`,
    { bindings: { 1: { type: 'TIMESTAMP_LTZ', value: t0 } } });
  assert.deepEqual(ch.data, [['1', 'INSERT']]);
  // A DML reading the quoted stream consumes it.
  await emu.ok('create table qt_sink (id number)');
  await emu.ok('insert into qt_sink select "ID" from "QT_S"');
  assert.deepEqual((await emu.ok('select count(*) from qt_s')).data, [['0']]);
});
