// floe's Parquet writer, checked by DuckDB: every file pq_sample writes is
// read by Parquet field id and compared value by value with what was
// written; DuckDB's view of the schema, row groups and statistics, and an
// independent walk over the page headers, must match what floe meant to
// write; and floe's Iceberg metrics (record count, sizes, counts, Appendix D
// bounds) must agree with the file.

import assert from 'node:assert/strict';
import { statSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { checkColumnBounds, compareKeys, decodeParquetStat, keyFromText, showKey } from './lib/bounds.mjs';
import { duck, queryObjects, queryRows, sqlString } from './lib/floe.mjs';
import { readChunkPages, readFooter } from './lib/pages.mjs';
import { parquetSamples } from './lib/samples.mjs';
import { compareRows, duckType, renderDuckValue, typeInfo } from './lib/values.mjs';

let loaded;
try {
  loaded = parquetSamples();
} catch (err) {
  loaded = { error: err };
}

if (loaded.error) {
  test('pq_sample writes the sample files', () => { throw loaded.error; });
} else {
  for (const sample of loaded.samples) describe(sample.name, () => sampleTests(sample));
}

// Physical layout per Iceberg's Parquet type mapping (parquet_writer.h).
function expectedPhysical(type) {
  const t = typeInfo(type);
  switch (t.kind) {
    case 'boolean': return { type: 'BOOLEAN', duck: 'BOOLEAN' };
    case 'int': return { type: 'INT32', duck: 'INTEGER' };
    case 'long': return { type: 'INT64', duck: 'BIGINT' };
    case 'float': return { type: 'FLOAT', duck: 'FLOAT' };
    case 'double': return { type: 'DOUBLE', duck: 'DOUBLE' };
    case 'decimal': {
      const duck = `DECIMAL(${t.precision},${t.scale})`;
      const logical = new RegExp(`^DecimalType\\(scale=${t.scale}, precision=${t.precision}\\)$`);
      if (t.precision <= 9) return { type: 'INT32', duck, logical };
      if (t.precision <= 18) return { type: 'INT64', duck, logical };
      let bytes = 1;
      while (10n ** BigInt(t.precision) - 1n >= 1n << BigInt(8 * bytes - 1)) bytes++;
      return { type: 'FIXED_LEN_BYTE_ARRAY', length: bytes, duck, logical };
    }
    case 'date': return { type: 'INT32', duck: 'DATE', logical: /^DateType\(\)$/ };
    case 'time': return {
      type: 'INT64', duck: 'TIME', logical: /^TimeType\(isAdjustedToUTC=0, unit=TimeUnit\(.*MICROS=MicroSeconds\(\)/,
    };
    case 'timestamp': return {
      type: 'INT64', duck: 'TIMESTAMP', logical: /^TimestampType\(isAdjustedToUTC=0, unit=TimeUnit\(.*MICROS=MicroSeconds\(\)/,
    };
    case 'timestamptz': return {
      type: 'INT64', duck: 'TIMESTAMP WITH TIME ZONE',
      logical: /^TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(.*MICROS=MicroSeconds\(\)/,
    };
    case 'string': return { type: 'BYTE_ARRAY', duck: 'VARCHAR', logical: /^StringType\(\)$/ };
    case 'binary': return { type: 'BYTE_ARRAY', duck: 'BLOB', logical: null };
    case 'uuid': return { type: 'FIXED_LEN_BYTE_ARRAY', length: 16, duck: 'UUID', logical: /^UUIDType\(\)$/ };
    case 'fixed': return { type: 'FIXED_LEN_BYTE_ARRAY', length: t.length, duck: 'BLOB', logical: null };
    default: throw new Error(type);
  }
}

// read_parquet's schema map: columns found by field id and renamed, listed
// in reverse order so that neither names nor positions can line up by luck.
export function fieldIdSelect(file, schema) {
  const entries = [...schema].reverse().map((f) =>
    `${f.field_id}: {name: 'c${f.field_id}', type: '${duckType(f.type)}', default_value: NULL}`);
  const columns = schema.map((f) => `c${f.field_id}`).join(', ');
  return `SELECT ${columns} FROM read_parquet(${sqlString(file)}, schema = MAP {${entries.join(', ')}})`;
}

// Rows [first, first + count) of a column, as rendered text.
const columnSlice = (rows, c, first, count) => rows.slice(first, first + count).map((r) => r[c]);

function sampleTests({ file, expected }) {
  const schema = expected.schema;
  const rows = expected.rows;

  test('DuckDB reads every value by field id', async () => {
    const conn = await duck();
    const got = (await queryRows(conn, fieldIdSelect(file, schema)))
      .map((row) => row.map((v, c) => renderDuckValue(schema[c].type, v)));
    const problems = compareRows(schema, rows, got);
    assert.deepEqual(problems, [], `${file}:\n${problems.join('\n')}`);
    assert.equal(got.length, expected.row_count);
  });

  test('parquet_schema has the field ids, types and repetition', async () => {
    const conn = await duck();
    const nodes = await queryObjects(conn, `SELECT * FROM parquet_schema(${sqlString(file)})`);
    assert.equal(Number(nodes[0].num_children), schema.length, 'root has one child per column');
    const leaves = nodes.slice(1);
    assert.equal(leaves.length, schema.length);
    const problems = [];
    schema.forEach((field, i) => {
      const node = leaves[i];
      const want = expectedPhysical(field.type);
      const say = (m) => problems.push(`column '${field.name}' (${field.type}): ${m}`);
      if (node.name !== field.name) say(`name '${node.name}'`);
      if (Number(node.field_id) !== field.field_id) say(`field_id ${node.field_id}, want ${field.field_id}`);
      if (node.repetition_type !== (field.required ? 'REQUIRED' : 'OPTIONAL')) say(`repetition ${node.repetition_type}`);
      if (node.type !== want.type) say(`physical type ${node.type}, want ${want.type}`);
      if (want.length !== undefined && Number(node.type_length) !== want.length) {
        say(`type_length ${node.type_length}, want ${want.length}`);
      }
      if (node.duckdb_type !== want.duck) say(`DuckDB sees ${node.duckdb_type}, want ${want.duck}`);
      if (want.logical && !want.logical.test(node.logical_type ?? '')) say(`logical type ${node.logical_type}`);
      if (want.logical === null && node.logical_type !== null) say(`unexpected logical type ${node.logical_type}`);
      if (typeInfo(field.type).kind === 'decimal') {
        const t = typeInfo(field.type);
        if (Number(node.precision) !== t.precision || Number(node.scale) !== t.scale) {
          say(`precision/scale ${node.precision}/${node.scale}`);
        }
      }
    });
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('row groups, compression and statistics (parquet_metadata)', async () => {
    const conn = await duck();
    const chunks = await queryObjects(conn,
      `SELECT * FROM parquet_metadata(${sqlString(file)}) ORDER BY row_group_id, column_id`);
    const groups = groupBy(chunks, (c) => Number(c.row_group_id));
    const total = groups.reduce((n, g) => n + Number(g[0].row_group_num_rows), 0);
    assert.equal(total, expected.row_count, 'rows over all row groups');
    assert.equal(groups.length, expected.metrics.split_offsets.length, 'one split offset per row group');
    const problems = [];
    let first = 0;
    for (const [g, group] of groups.entries()) {
      const n = Number(group[0].row_group_num_rows);
      assert.equal(group.length, schema.length, `row group ${g} has a chunk per column`);
      const start = Math.min(...group.map((c) => Number(c.dictionary_page_offset ?? c.data_page_offset)));
      if (expected.metrics.split_offsets[g] !== start) {
        problems.push(`row group ${g}: split offset ${expected.metrics.split_offsets[g]}, first page at ${start}`);
      }
      for (const [c, field] of schema.entries()) {
        const chunk = group[c];
        const say = (m) => problems.push(`row group ${g} column '${field.name}' (${field.type}): ${m}`);
        if (chunk.path_in_schema !== field.name) say(`path ${chunk.path_in_schema}`);
        if (Number(chunk.num_values) !== n) say(`num_values ${chunk.num_values}, rows ${n}`);
        if (chunk.compression !== expected.options.compression) {
          say(`compression ${chunk.compression}, want ${expected.options.compression}`);
        }
        const values = columnSlice(rows, c, first, n);
        const nulls = values.filter((v) => v === null).length;
        if (chunk.stats_null_count === null || Number(chunk.stats_null_count) !== nulls) {
          say(`stats null_count ${chunk.stats_null_count}, has ${nulls}`);
        }
      }
      first += n;
    }
    // min/max, twice: the raw footer statistics (decoded here) must bracket
    // each row group's values, and so must DuckDB's rendering of them cast
    // back to the column's type (DuckDB shows no value for infinities).
    const footer = readFooter(readFileSync(file));
    for (const [c, field] of schema.entries()) {
      const stats = await queryRows(conn,
        `SELECT row_group_num_rows, TRY_CAST(stats_min_value AS ${duckType(field.type)}),
                TRY_CAST(stats_max_value AS ${duckType(field.type)}), min_is_exact, max_is_exact,
                stats_min_value, stats_max_value
           FROM parquet_metadata(${sqlString(file)})
          WHERE path_in_schema = ${sqlString(field.name)} ORDER BY row_group_id`);
      let start = 0;
      for (const [g, [numRows, min, max, minExact, maxExact, minText, maxText]] of stats.entries()) {
        const say = (m) => problems.push(`row group ${g} column '${field.name}' (${field.type}): ${m}`);
        const isFloat = ['float', 'double'].includes(typeInfo(field.type).kind);
        const keys = columnSlice(rows, c, start, Number(numRows))
          .filter((v) => v !== null)
          .map((v) => keyFromText(field.type, v))
          .filter((k) => !(isFloat && Number.isNaN(k)));
        start += Number(numRows);
        const raw = footer[4]?.[g]?.[1]?.[c]?.[3]?.[12] ?? {};
        if (keys.length === 0) {
          if (raw[5] !== undefined || raw[6] !== undefined || minText !== null || maxText !== null) {
            say(`min/max statistics for no values`);
          }
          continue;
        }
        if (raw[5] === undefined || raw[6] === undefined) { say('no min_value/max_value statistics'); continue; }
        const lo = keys.reduce((a, b) => (compareKeys(b, a) < 0 ? b : a));
        const hi = keys.reduce((a, b) => (compareKeys(b, a) > 0 ? b : a));
        const check = (label, key, actual, exact, bad) => {
          if (isFloat && Number.isNaN(key)) { say(`${label} is NaN`); return; }
          const cmp = compareKeys(key, actual);
          if (bad(cmp) || (exact && cmp !== 0)) {
            say(`${label} ${showKey(field.type, key)}${exact ? ' (exact)' : ''} vs data ${showKey(field.type, actual)}`);
          }
        };
        check('footer min_value', decodeParquetStat(field.type, raw[6]), lo, raw[8] === true, (cmp) => cmp > 0);
        check('footer max_value', decodeParquetStat(field.type, raw[5]), hi, raw[7] === true, (cmp) => cmp < 0);
        const shown = (label, value, text) => {
          if (text === null) return null;
          if (value === null) { say(`DuckDB ${label} '${text}' is not a ${field.type}`); return null; }
          return keyFromText(field.type, renderDuckValue(field.type, value));
        };
        const duckMin = shown('min', min, minText);
        const duckMax = shown('max', max, maxText);
        if (duckMin !== null) check('DuckDB min', duckMin, lo, minExact, (cmp) => cmp > 0);
        if (duckMax !== null) check('DuckDB max', duckMax, hi, maxExact, (cmp) => cmp < 0);
      }
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('page headers fill each chunk; dictionary and data pages as intended', async () => {
    const conn = await duck();
    const chunks = await queryObjects(conn,
      `SELECT * FROM parquet_metadata(${sqlString(file)}) ORDER BY row_group_id, column_id`);
    const bytes = readFileSync(file);
    const problems = [];
    const pagesByColumn = new Map();
    for (const chunk of chunks) {
      const say = (m) => problems.push(`row group ${chunk.row_group_id} column '${chunk.path_in_schema}': ${m}`);
      let pages;
      try {
        pages = readChunkPages(bytes, chunk.dictionary_page_offset ?? chunk.data_page_offset,
          chunk.total_compressed_size);
      } catch (err) {
        say(err.message);
        continue;
      }
      const dictionaries = pages.filter((p) => p.type === 'DICTIONARY_PAGE');
      if (dictionaries.length > 1 || (dictionaries.length === 1 && pages[0].type !== 'DICTIONARY_PAGE')) {
        say('a dictionary page that is not the first and only one');
      }
      if (dictionaries.length === 1 && chunk.dictionary_page_offset === null) say('dictionary page not in the metadata');
      const data = pages.filter((p) => p.type !== 'DICTIONARY_PAGE');
      const values = data.reduce((n, p) => n + p.numValues, 0);
      if (values !== Number(chunk.num_values)) say(`data pages hold ${values} values, chunk says ${chunk.num_values}`);
      for (const p of data) {
        if (/DICTIONARY/.test(p.encoding) && dictionaries.length === 0) say(`${p.encoding} page without a dictionary`);
      }
      const list = pagesByColumn.get(chunk.path_in_schema) ?? [];
      list.push(pages);
      pagesByColumn.set(chunk.path_in_schema, list);
    }
    const all = (name) => (pagesByColumn.get(name) ?? []).flat();
    const dataPages = (pages) => pages.filter((p) => p.type !== 'DICTIONARY_PAGE');
    const name = expected.file.replace(/\.parquet$/, '');
    if (!expected.options.dictionary) {
      for (const [column, lists] of pagesByColumn) {
        if (lists.flat().some((p) => p.type === 'DICTIONARY_PAGE')) problems.push(`column '${column}': dictionary page with dictionary off`);
      }
    }
    if (name === 'dictionary_fallback') {
      for (const column of ['city', 'code', 'amount']) {
        const pages = all(column);
        if (pages[0]?.type !== 'DICTIONARY_PAGE') problems.push(`low-cardinality '${column}' has no dictionary`);
        if (dataPages(pages).some((p) => p.encoding === 'PLAIN')) problems.push(`low-cardinality '${column}' fell back to PLAIN`);
      }
      for (const column of ['drift', 'drift_long']) {
        // Dictionary first (the first 1000 rows repeat), then PLAIN once the
        // distinct values overflow the 2 KiB dictionary limit.
        const pages = (pagesByColumn.get(column) ?? [])[0] ?? [];
        const enc = dataPages(pages).map((p) => p.encoding);
        if (pages[0]?.type !== 'DICTIONARY_PAGE' || !/DICTIONARY/.test(enc[0] ?? '') || !enc.includes('PLAIN')) {
          problems.push(`'${column}' should start with a dictionary and fall back to PLAIN; pages: ${enc.join(', ')}`);
        }
      }
      for (const column of ['token', 'big', 'measure', 'blob']) {
        if (!dataPages(all(column)).some((p) => p.encoding === 'PLAIN')) {
          problems.push(`distinct '${column}' never wrote a PLAIN page`);
        }
      }
    }
    if (name === 'multi_row_group') {
      const groups = new Set(chunks.map((c) => c.row_group_id));
      if (groups.size < 2) problems.push(`${groups.size} row group(s) with a ${expected.options.row_group_bytes}-byte target`);
      const most = Math.max(...[...pagesByColumn.values()].flat().map((p) => dataPages(p).length));
      if (most < 2) problems.push(`no chunk has more than one data page with a ${expected.options.page_bytes}-byte target`);
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('metrics: record count, file size, column sizes', async () => {
    const m = expected.metrics;
    assert.equal(m.record_count, expected.row_count);
    assert.equal(m.file_size, statSync(file).size, 'file_size is the size on disk');
    assert.deepEqual(m.columns.map((c) => c.field_id), schema.map((f) => f.field_id), 'one metrics entry per column');
    const conn = await duck();
    const sizes = await queryObjects(conn,
      `SELECT path_in_schema, sum(total_compressed_size)::BIGINT AS size
         FROM parquet_metadata(${sqlString(file)}) GROUP BY path_in_schema`);
    const byName = new Map(sizes.map((s) => [s.path_in_schema, Number(s.size)]));
    const problems = [];
    schema.forEach((field, c) => {
      const want = byName.get(field.name) ?? 0;
      if (m.columns[c].column_size !== want) {
        problems.push(`column '${field.name}': column_size ${m.columns[c].column_size}, chunks hold ${want} compressed bytes`);
      }
    });
    assert.deepEqual(problems, [], problems.join('\n'));
    const [meta] = await queryObjects(conn, `SELECT * FROM parquet_file_metadata(${sqlString(file)})`);
    assert.equal(Number(meta.num_rows), expected.row_count, 'footer num_rows');
    if (expected.options.created_by) assert.equal(meta.created_by, expected.options.created_by);
    else assert.match(meta.created_by ?? '', /^floe/, 'created_by names floe');
  });

  test('Appendix D bounds bracket the data', () => {
    const problems = [];
    schema.forEach((field, c) => {
      const values = rows.map((r) => r[c]);
      problems.push(...checkColumnBounds(field, values, expected.metrics.columns[c], expected.options.truncate_length));
    });
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('footer key-value metadata', async () => {
    const conn = await duck();
    const kv = await queryRows(conn, `SELECT key, value FROM parquet_kv_metadata(${sqlString(file)})`);
    const got = new Map(kv.map(([k, v]) => [Buffer.from(k.bytes).toString('utf8'), Buffer.from(v.bytes).toString('utf8')]));
    for (const [key, value] of Object.entries(expected.key_value_metadata)) {
      assert.equal(got.get(key), value, `footer key '${key}'`);
    }
  });
}

function groupBy(list, key) {
  const out = [];
  for (const item of list) (out[key(item)] ??= []).push(item);
  return out.filter(Boolean);
}
