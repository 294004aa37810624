// floe's Iceberg manifests and manifest lists, decoded by avsc 5.7.9.
//
// manifest_sample writes a partitioned v2 data manifest, a v2 delete
// manifest and the manifest list of both, each with <file>.expected.json
// (header values asked for, records as the tool wrote them). avsc must
// decode every record to those values, find every header key byte for
// byte, and find in the embedded Avro schema every field id, element id
// and key/value id where the Iceberg spec puts them (Appendix A/C, Java's
// record names included).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { compareAvroValue, decodeAvroFile } from './lib/avro.mjs';
import { run, scratchDir, tool } from './lib/floe.mjs';
import { parseLossless } from './lib/json.mjs';

// Field ids of data_file (v2) in order, and the id pairs of its maps.
const DATA_FILE_V2 = [
  ['content', 134], ['file_path', 100], ['file_format', 101], ['partition', 102],
  ['record_count', 103], ['file_size_in_bytes', 104], ['column_sizes', 108],
  ['value_counts', 109], ['null_value_counts', 110], ['nan_value_counts', 137],
  ['lower_bounds', 125], ['upper_bounds', 128], ['key_metadata', 131],
  ['split_offsets', 132], ['equality_ids', 135], ['sort_order_id', 140],
  ['referenced_data_file', 143],
];
const MAPS = { column_sizes: [117, 118], value_counts: [119, 120], null_value_counts: [121, 122],
  nan_value_counts: [138, 139], lower_bounds: [126, 127], upper_bounds: [129, 130] };
const LISTS = { split_offsets: 133, equality_ids: 136 };
const ENTRY_V2 = [['status', 0], ['snapshot_id', 1], ['sequence_number', 3],
  ['file_sequence_number', 4], ['data_file', 2]];
const MANIFEST_FILE_V2 = [
  ['manifest_path', 500], ['manifest_length', 501], ['partition_spec_id', 502], ['content', 517],
  ['sequence_number', 515], ['min_sequence_number', 516], ['added_snapshot_id', 503],
  ['added_files_count', 504], ['existing_files_count', 505], ['deleted_files_count', 506],
  ['added_rows_count', 512], ['existing_rows_count', 513], ['deleted_rows_count', 514],
  ['partitions', 507], ['key_metadata', 519],
];
const SUMMARY = [['contains_null', 509], ['contains_nan', 518], ['lower_bound', 510], ['upper_bound', 511]];
// Optional fields are ["null", T] unions (Iceberg spec: Avro, optional).
const REQUIRED = new Set(['status', 'data_file', 'content', 'file_path', 'file_format', 'partition',
  'record_count', 'file_size_in_bytes', 'manifest_path', 'manifest_length', 'partition_spec_id',
  'sequence_number@list', 'min_sequence_number', 'added_snapshot_id', 'added_files_count',
  'existing_files_count', 'deleted_files_count', 'added_rows_count', 'existing_rows_count',
  'deleted_rows_count', 'contains_null']);

const nonNull = (t) => (Array.isArray(t) ? t.find((b) => b !== 'null') : t);

function checkFields(record, expected, where, problems, isList = false) {
  const names = record.fields.map((f) => f.name);
  const want = expected.map(([n]) => n);
  if (names.join(',') !== want.join(',')) problems.push(`${where}: fields ${names} expected ${want}`);
  for (const [name, id] of expected) {
    const f = record.fields.find((x) => x.name === name);
    if (!f) continue;
    if (f['field-id'] !== id) problems.push(`${where}.${name}: field-id ${f['field-id']}, expected ${id}`);
    const key = isList && name === 'sequence_number' ? 'sequence_number@list' : name;
    const optional = Array.isArray(f.type) && f.type[0] === 'null';
    if (REQUIRED.has(key) === optional) problems.push(`${where}.${name}: ${optional ? 'optional' : 'required'}`);
    if (optional && f.default !== null) problems.push(`${where}.${name}: default is not null`);
  }
}

function checkManifestSchema(schema, partitionIds) {
  const problems = [];
  assert.equal(schema.type, 'record');
  assert.equal(schema.name, 'manifest_entry');
  checkFields(schema, ENTRY_V2, 'manifest_entry', problems);
  const dataFile = schema.fields.find((f) => f.name === 'data_file').type;
  assert.equal(dataFile.name, 'r2');
  checkFields(dataFile, DATA_FILE_V2, 'data_file', problems);
  for (const f of dataFile.fields) {
    const t = nonNull(f.type);
    if (MAPS[f.name]) {
      const [k, v] = MAPS[f.name];
      // Iceberg spec, Avro: maps with non-string keys are arrays of
      // key/value records, logicalType "map", record k<k>_v<v>.
      if (t.type !== 'array' || t.logicalType !== 'map') problems.push(`${f.name}: not a map array`);
      if (t.items?.name !== `k${k}_v${v}`) problems.push(`${f.name}: record ${t.items?.name}`);
      const [kf, vf] = t.items?.fields ?? [];
      if (kf?.name !== 'key' || kf['field-id'] !== k) problems.push(`${f.name}: key-id`);
      if (vf?.name !== 'value' || vf['field-id'] !== v) problems.push(`${f.name}: value-id`);
    }
    if (LISTS[f.name] !== undefined && (t.type !== 'array' || t['element-id'] !== LISTS[f.name])) {
      problems.push(`${f.name}: element-id ${t['element-id']}`);
    }
  }
  const part = dataFile.fields.find((f) => f.name === 'partition').type;
  assert.equal(part.name, 'r102');
  const got = part.fields.map((f) => f['field-id']);
  if (got.join(',') !== partitionIds.join(',')) problems.push(`partition field ids ${got}`);
  for (const f of part.fields) {
    if (!Array.isArray(f.type) || f.type[0] !== 'null' || f.default !== null) {
      problems.push(`partition.${f.name}: not optional`);
    }
  }
  assert.deepEqual(problems, []);
  return part;
}

describe('avsc reads floe manifests and manifest lists (manifest_sample)', () => {
  let dir;
  try {
    dir = scratchDir('manifest-sample');
    run(tool('manifest_sample'), [dir]);
  } catch (err) {
    test('manifest_sample writes the sample files', () => { throw err; });
    return;
  }
  const files = ['data-m0.avro', 'deletes-m1.avro', 'snap.avro'].map((f) => path.join(dir, f));

  for (const file of files) {
    const name = path.basename(file);
    const expected = parseLossless(readFileSync(`${file}.expected.json`, 'utf8'));

    test(`${name}: avsc decodes the records the tool wrote`, async () => {
      const decoded = await decodeAvroFile(file);
      assert.equal(decoded.codec, 'deflate');
      assert.equal(decoded.records.length, expected.records.length, 'record count');
      const problems = [];
      decoded.records.forEach((record, i) => {
        compareAvroValue(decoded.type, record, expected.records[i], `record ${i}`, problems);
      });
      assert.deepEqual(problems, []);
    });

    test(`${name}: header metadata byte for byte`, async () => {
      const decoded = await decodeAvroFile(file);
      for (const [key, value] of Object.entries(expected.metadata)) {
        assert.ok(decoded.header[key] !== undefined, `header key '${key}' is missing`);
        assert.equal(decoded.header[key].toString('utf8'), value, `header key '${key}'`);
      }
      // iceberg.schema is the Iceberg JSON of the Avro schema.
      const iceberg = JSON.parse(decoded.header['iceberg.schema'].toString('utf8'));
      const avroSchema = JSON.parse(decoded.header['avro.schema'].toString('utf8'));
      assert.equal(iceberg.type, 'struct');
      assert.deepEqual(iceberg.fields.map((f) => f.id), avroSchema.fields.map((f) => f['field-id']));
      assert.deepEqual(iceberg.fields.map((f) => f.name), avroSchema.fields.map((f) => f.name));
    });
  }

  test('data-m0.avro: field ids of manifest_entry, data_file, maps, lists and partition', async () => {
    const decoded = await decodeAvroFile(files[0]);
    const schema = JSON.parse(decoded.header['avro.schema'].toString('utf8'));
    const part = checkManifestSchema(schema, [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007]);
    const types = Object.fromEntries(part.fields.map((f) => [f.name, nonNull(f.type)]));
    // Iceberg spec, Avro type mapping of the partition result types.
    assert.deepEqual(types.price, { type: 'fixed', name: 'decimal_9_2', size: 4, logicalType: 'decimal', precision: 9, scale: 2 });
    assert.deepEqual(types.amount, { type: 'fixed', name: 'decimal_20_3', size: 9, logicalType: 'decimal', precision: 20, scale: 3 });
    assert.deepEqual(types.d, { type: 'int', logicalType: 'date' });
    assert.deepEqual(types.tstz_day, { type: 'int', logicalType: 'date' });
    assert.deepEqual(types.ts, { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false });
    assert.deepEqual(types.u, { type: 'fixed', name: 'uuid_fixed', size: 16, logicalType: 'uuid' });
    assert.equal(types.name, 'string');
    assert.equal(types.id_bucket, 'int');
    const spec = JSON.parse(decoded.header['partition-spec'].toString('utf8'));
    assert.deepEqual(spec.map((f) => f['field-id']), [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007]);
    assert.deepEqual(spec.map((f) => f.transform), ['identity', 'identity', 'identity', 'identity', 'bucket[8]', 'identity', 'day', 'identity']);
    // ADDED entries leave sequence numbers null (inherited from the list).
    assert.equal(decoded.records[0].status, 1);
    assert.equal(decoded.records[0].sequence_number, null);
    assert.equal(decoded.records[0].file_sequence_number, null);
    assert.equal(decoded.records[1].sequence_number, 1n);
  });

  test('deletes-m1.avro: delete manifest schema and contents', async () => {
    const decoded = await decodeAvroFile(files[1]);
    const schema = JSON.parse(decoded.header['avro.schema'].toString('utf8'));
    checkManifestSchema(schema, []);
    assert.equal(decoded.header.content.toString(), 'deletes');
    assert.deepEqual(decoded.records.map((r) => r.data_file.content), [1, 2]);
    assert.deepEqual(decoded.records[1].data_file.equality_ids, [1, 5]);
  });

  test('snap.avro: manifest_file field ids and summaries', async () => {
    const decoded = await decodeAvroFile(files[2]);
    const schema = JSON.parse(decoded.header['avro.schema'].toString('utf8'));
    const problems = [];
    assert.equal(schema.name, 'manifest_file');
    checkFields(schema, MANIFEST_FILE_V2, 'manifest_file', problems, true);
    const parts = nonNull(schema.fields.find((f) => f.name === 'partitions').type);
    if (parts.type !== 'array' || parts['element-id'] !== 508) problems.push('partitions: element-id');
    if (parts.items?.name !== 'r508') problems.push(`partitions: record ${parts.items?.name}`);
    checkFields(parts.items, SUMMARY, 'r508', problems);
    assert.deepEqual(problems, []);
    // The snapshot's sequence number went to both new manifests.
    assert.deepEqual(decoded.records.map((r) => r.sequence_number), [3n, 3n]);
    assert.deepEqual(decoded.records.map((r) => r.min_sequence_number), [1n, 3n]);
  });
});
