// Every SQL API value encoding for every type, one row of each, with the
// expected strings computed by hand from "Handling responses" -> "Getting the
// data from the results" (jsonv2), plus rowType metadata and
// INFORMATION_SCHEMA.COLUMNS for the same table.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from './helpers.mjs';

let emu;
before(async () => {
  emu = await startEmulator();
  await emu.ok(`create table all_types (
    n number(10,2) not null, i int, f float, s varchar(20), b boolean, d date, t time,
    ntz timestamp_ntz, ltz timestamp_ltz, tz timestamp_tz, bin binary, v variant, o object, a array, g geography)`);
  await emu.ok(`insert into all_types values (-12.5, 12345678901234567890, 1.25, 'héllo', true, '2024-03-01',
    '13:45:30.123456', '2024-03-01 12:00:00.123456789', '1969-12-31 23:59:59.5', '2024-03-01 12:00:00 +05:30',
    to_binary('00ff10'), parse_json('{"k": [1, "x"]}'), parse_json('{"a": 1}'), parse_json('[1, 2]'), 'POINT(1 2)')`);
  await emu.ok(`insert into all_types (n) values (0)`);
});
after(async () => { await emu.stop(); });

test('one row of every type encodes as the docs say', async () => {
  const r = await emu.ok('select * from all_types where i is not null');
  const row = r.data[0];
  const byName = Object.fromEntries(r.resultSetMetaData.rowType.map((c, k) => [c.name, row[k]]));
  assert.equal(byName.N, '-12.50');                       // FIXED: decimal text with the column's scale
  assert.equal(byName.I, '12345678901234567890');         // NUMBER(38,0) beyond 2^63
  assert.equal(byName.F, '1.25');                         // REAL as text
  assert.equal(byName.S, 'héllo');                        // TEXT
  assert.equal(byName.B, 'true');                         // BOOLEAN
  assert.equal(byName.D, '19783');                        // DATE: days since 1970-01-01 (2024-03-01)
  assert.equal(byName.T, '49530.123456000');              // TIME: seconds since midnight, 9 digits
  assert.equal(byName.NTZ, '1709294400.123456789');       // TIMESTAMP_NTZ: epoch seconds, 9 digits
  assert.equal(byName.LTZ, '-0.500000000');               // TIMESTAMP_LTZ before the epoch
  assert.equal(byName.TZ, '1709274600.000000000 1770');   // TIMESTAMP_TZ: 06:30 UTC, its stored offset +05:30 (330) + 1440
  assert.equal(byName.BIN, '00FF10');                     // BINARY as hex
  assert.deepEqual(JSON.parse(byName.V), { k: [1, 'x'] }); // VARIANT as JSON text
  assert.deepEqual(JSON.parse(byName.O), { a: 1 });
  assert.deepEqual(JSON.parse(byName.A), [1, 2]);
  assert.equal(byName.G, 'POINT(1 2)');
});

test('rowType carries lower-case types, precision, scale, length, nullability', async () => {
  const r = await emu.ok('select n, i, f, s, b, d, t, ntz, ltz, tz, bin, v, o, a from all_types limit 1');
  const rt = Object.fromEntries(r.resultSetMetaData.rowType.map((c) => [c.name, c]));
  assert.equal(r.resultSetMetaData.format, 'jsonv2');
  assert.deepEqual([rt.N.type, rt.N.precision, rt.N.scale, rt.N.nullable], ['fixed', 10, 2, false]);
  assert.deepEqual([rt.I.type, rt.I.precision, rt.I.scale], ['fixed', 38, 0]);
  assert.equal(rt.F.type, 'real');
  assert.deepEqual([rt.S.type, rt.S.length, rt.S.byteLength], ['text', 20, 80]);
  assert.equal(rt.B.type, 'boolean');
  assert.equal(rt.D.type, 'date');
  assert.deepEqual([rt.T.type, rt.T.scale], ['time', 9]);
  assert.equal(rt.NTZ.type, 'timestamp_ntz');
  assert.equal(rt.LTZ.type, 'timestamp_ltz');
  assert.equal(rt.TZ.type, 'timestamp_tz');
  assert.equal(rt.BIN.type, 'binary');
  assert.deepEqual([rt.V.type, rt.O.type, rt.A.type], ['variant', 'object', 'array']);
  assert.deepEqual([rt.N.database, rt.N.schema, rt.N.table], ['FLOE_TEST', 'PUBLIC', 'ALL_TYPES']);
});

test('NULLs are JSON null, or the string "null" with nullable=false', async () => {
  const r = await emu.ok('select n, s, d from all_types where i is null');
  assert.deepEqual(r.data, [['0.00', null, null]]);
  const r2 = await emu.ok('select n, s, d from all_types where i is null', {}, '?nullable=false');
  assert.deepEqual(r2.data, [['0.00', 'null', 'null']]);
});

test('TIMESTAMP_TZ keeps the offset it was stored with, whatever the session time zone; LTZ follows the session', async () => {
  let r = await emu.ok('select tz, ltz from all_types where i is not null', { parameters: { timezone: 'America/Los_Angeles' } });
  // Stored at +05:30 (330 minutes): 1440 + 330, in any session.
  assert.equal(r.data[0][0], '1709274600.000000000 1770');
  // LTZ carries no offset in the result: the instant only.
  assert.equal(r.data[0][1], '-0.500000000');
  await emu.ok(`create table zoned (id int, tz timestamp_tz)`);
  await emu.ok(`insert into zoned values (1, '2024-07-01 12:00:00 -08:00'), (2, '2024-07-01T12:00:00.25+14:00'),
    (3, '2024-07-01 12:00:00 +00:00'), (4, '2024-07-01 23:30:00 +0545')`);
  r = await emu.ok('select tz from zoned order by id', { parameters: { timezone: 'Europe/Berlin' } });
  assert.deepEqual(r.data.map((x) => x[0]), [
    '1719864000.000000000 960',   // 20:00 UTC, -480 + 1440
    '1719784800.250000000 2280',  // 2024-06-30 22:00:00.25 UTC, +840 + 1440
    '1719835200.000000000 1440',  // 12:00 UTC, offset 0
    '1719855900.000000000 1785',  // 17:45 UTC, +345 + 1440
  ]);
  // A value written without an offset takes the session's time zone:
  // 2024-03-02 06:30 UTC is PST (-480 minutes): 1440 - 480 = 960.
  await emu.ok(`insert into zoned values (5, '2024-03-02 06:30:00')`);
  r = await emu.ok('select tz from zoned where id = 5', { parameters: { timezone: 'America/Los_Angeles' } });
  assert.equal(r.data[0][0], '1709361000.000000000 960');
});

test('output-format parameters shape text conversions only, never the result encodings', async () => {
  const parameters = {
    TIMESTAMP_OUTPUT_FORMAT: 'DY, DD MON YYYY HH12:MI:SS AM', DATE_OUTPUT_FORMAT: 'DD/MM/YYYY',
    TIME_OUTPUT_FORMAT: 'HH12:MI AM',
  };
  const r = await emu.ok(`select cast(ntz as varchar), to_varchar(d), cast(t as string), to_char(i), cast(s as varchar(5)),
    ntz, d, t from all_types where i is not null`, { parameters });
  assert.deepEqual(r.data[0], ['Fri, 01 Mar 2024 12:00:00 PM', '01/03/2024', '01:45 PM', '12345678901234567890', 'héllo',
    '1709294400.123456789', '19783', '49530.123456000']);
  // Without them: ISO text.
  const iso = await emu.ok('select cast(ntz as varchar), to_varchar(d) from all_types where i is not null');
  assert.deepEqual(iso.data[0], ['2024-03-01 12:00:00.123456789', '2024-03-01']);
});

test('special REAL values and negative times', async () => {
  const r = await emu.ok(`select 'nan'::float, 'inf'::float, '-inf'::float, '00:00:00'::time, '1969-12-31'::date`);
  assert.deepEqual(r.data[0], ['NaN', 'inf', '-inf', '0.000000000', '-1']);
});

test('bindings of every documented type', async () => {
  const r = await emu.ok('select ?, ?, ?, ?, ?, ?, ?, ?', {
    bindings: {
      1: { type: 'FIXED', value: '123.45' }, 2: { type: 'REAL', value: '0.5' }, 3: { type: 'TEXT', value: "it's" },
      4: { type: 'BOOLEAN', value: 'true' }, 5: { type: 'DATE', value: '2024-03-01' },
      6: { type: 'TIMESTAMP_NTZ', value: '2024-03-01 12:00:00.123456789' }, 7: { type: 'BINARY', value: 'ABCD' },
      8: { type: 'TEXT', value: null },
    },
  });
  assert.deepEqual(r.data[0], ['123.45', '0.5', "it's", 'true', '19783', '1709294400.123456789', 'ABCD', null]);
});

test('INFORMATION_SCHEMA.COLUMNS reports Snowflake names and types', async () => {
  const r = await emu.ok(`select column_name, ordinal_position, is_nullable, data_type, numeric_precision, numeric_scale,
      character_maximum_length from information_schema.columns where table_schema = 'PUBLIC' and table_name = 'ALL_TYPES'
      order by ordinal_position`);
  const names = r.resultSetMetaData.rowType.map((c) => c.name);
  assert.deepEqual(names, ['COLUMN_NAME', 'ORDINAL_POSITION', 'IS_NULLABLE', 'DATA_TYPE', 'NUMERIC_PRECISION', 'NUMERIC_SCALE', 'CHARACTER_MAXIMUM_LENGTH']);
  assert.equal(r.data.length, 15); // the hidden row-id column is not listed
  assert.deepEqual(r.data[0], ['N', '1', 'NO', 'NUMBER', '10', '2', null]);
  assert.deepEqual(r.data[3], ['S', '4', 'YES', 'TEXT', null, null, '20']);
  assert.deepEqual(r.data.map((x) => x[3]), ['NUMBER', 'NUMBER', 'FLOAT', 'TEXT', 'BOOLEAN', 'DATE', 'TIME', 'TIMESTAMP_NTZ',
    'TIMESTAMP_LTZ', 'TIMESTAMP_TZ', 'BINARY', 'VARIANT', 'OBJECT', 'ARRAY', 'GEOGRAPHY']);
  const t = await emu.ok(`select table_catalog, table_schema, table_name, table_type from FLOE_TEST.information_schema.tables where table_name = 'ALL_TYPES'`);
  assert.deepEqual(t.data, [['FLOE_TEST', 'PUBLIC', 'ALL_TYPES', 'BASE TABLE']]);
});

test('identifiers: unquoted upper-cased, quoted kept', async () => {
  await emu.ok('create table "MixedCase" ("lower" int, Upper int)');
  await emu.ok('insert into "MixedCase" values (1, 2)');
  const r = await emu.ok('select "lower", upper, upper as alias_x, "lower" as "q" from "MixedCase"');
  assert.deepEqual(r.resultSetMetaData.rowType.map((c) => c.name), ['lower', 'UPPER', 'ALIAS_X', 'q']);
  const pk = await emu.sql('create table pk_t (a int, b varchar, constraint pk_ab primary key (a, b))');
  assert.equal(pk.status, 200);
  const s = await emu.ok('show primary keys in table pk_t');
  const col = (n) => s.resultSetMetaData.rowType.findIndex((c) => c.name === n);
  assert.deepEqual(s.data.map((x) => [x[col('column_name')], x[col('key_sequence')], x[col('constraint_name')]]),
    [['A', '1', 'PK_AB'], ['B', '2', 'PK_AB']]);
});

test('GROUP BY, DISTINCT, MAX, COUNT and ORDER BY', async () => {
  await emu.ok('create table g (k varchar, batch_sk number(38,0))');
  await emu.ok(`insert into g values ('a', 1), ('a', 2), ('b', 2), ('b', 2)`);
  const r = await emu.ok('select k, count(*), max(batch_sk), count(distinct batch_sk) from g group by k order by k');
  assert.deepEqual(r.data, [['a', '2', '2', '2'], ['b', '2', '2', '1']]);
  assert.deepEqual(r.resultSetMetaData.rowType.map((c) => c.name), ['K', 'COUNT(*)', 'MAX(BATCH_SK)', 'COUNT(DISTINCT BATCH_SK)']);
  const d = await emu.ok('select distinct batch_sk from g where batch_sk > 0 order by batch_sk desc');
  assert.deepEqual(d.data, [['2'], ['1']]);
});
