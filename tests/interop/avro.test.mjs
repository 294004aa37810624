// floe's Avro codec, checked by avsc 5.7.9.
//
// 1. avro_sample writes Avro container files with floe's writer, each with
//    <file>.expected.json (the records as avsc decodes them, and the header
//    metadata floe was asked to write). avsc must decode every file to those
//    records, and every header entry must be there byte for byte.
// 2. `floe avro cat` must print what avsc decodes, record for record, for
//    the avro_sample files, the Iceberg manifests and manifest lists under
//    ../shared/fixtures/iceberg, and the apache/avro files under
//    ../shared/fixtures/avro (skipped, visibly, without ../shared).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { compareAvroValue, decodeAvroFile } from './lib/avro.mjs';
import { FIXTURES, fixturesPresent, run, scratchDir, tool } from './lib/floe.mjs';
import { parseJsonLines, parseLossless } from './lib/json.mjs';

function floeAvroCat(file) {
  return parseJsonLines(run(tool('floe'), ['avro', 'cat', file]).toString('utf8'));
}

async function compareWithFloeCat(file) {
  const decoded = await decodeAvroFile(file);
  const got = floeAvroCat(file);
  assert.equal(got.length, decoded.records.length, `${file}: record count`);
  const problems = [];
  decoded.records.forEach((record, i) => {
    compareAvroValue(decoded.type, record, got[i], `record ${i}`, problems);
  });
  assert.deepEqual(problems.slice(0, 20), [], `${file}:\n${problems.slice(0, 20).join('\n')}`);
}

// Expected header values: a string is the UTF-8 text of the bytes; an
// object gives them as { hex } or { base64 } or { latin1 }.
function expectedBytes(v) {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v && typeof v === 'object') {
    if ('hex' in v) return Buffer.from(v.hex, 'hex');
    if ('base64' in v) return Buffer.from(v.base64, 'base64');
    if ('latin1' in v) return Buffer.from(v.latin1, 'latin1');
    if ('utf8' in v) return Buffer.from(v.utf8, 'utf8');
  }
  throw new Error(`cannot read expected header value ${JSON.stringify(v)}`);
}

function listAvroSamples() {
  const dir = scratchDir('avro-sample');
  run(tool('avro_sample'), [dir]);
  const found = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!name.endsWith('.expected.json') && existsSync(`${p}.expected.json`)) found.push(p);
    }
  };
  walk(dir);
  if (found.length === 0) throw new Error(`avro_sample wrote no <file> + <file>.expected.json pairs into ${dir}`);
  return found;
}

describe('avsc reads what floe writes (avro_sample)', () => {
  let files;
  try {
    files = listAvroSamples();
  } catch (err) {
    test('avro_sample writes the sample files', () => { throw err; });
    return;
  }
  for (const file of files) {
    const expected = parseLossless(readFileSync(`${file}.expected.json`, 'utf8'));
    const name = path.basename(file);

    test(`${name}: avsc decodes every record`, async () => {
      const decoded = await decodeAvroFile(file);
      assert.ok(Array.isArray(expected.records), 'expected.json has records');
      assert.equal(decoded.records.length, expected.records.length, 'record count');
      const problems = [];
      decoded.records.forEach((record, i) => {
        compareAvroValue(decoded.type, record, expected.records[i], `record ${i}`, problems);
      });
      assert.deepEqual(problems.slice(0, 20), [], `${file}:\n${problems.slice(0, 20).join('\n')}`);
    });

    test(`${name}: header metadata byte for byte`, async () => {
      const decoded = await decodeAvroFile(file);
      const want = expected.metadata ?? expected.header ?? expected.meta;
      assert.ok(want && typeof want === 'object', 'expected.json has the header metadata');
      for (const [key, value] of Object.entries(want)) {
        assert.ok(decoded.header[key] !== undefined, `header key '${key}' is missing`);
        assert.equal(decoded.header[key].toString('hex'), expectedBytes(value).toString('hex'), `header key '${key}'`);
      }
      for (const key of Object.keys(decoded.header)) {
        if (key !== 'avro.schema' && key !== 'avro.codec') {
          assert.ok(key in want, `header has key '${key}' that was not asked for`);
        }
      }
    });

    test(`${name}: floe avro cat prints what avsc decodes`, () => compareWithFloeCat(file));
  }
});

function fixtureAvroFiles() {
  const out = [];
  const iceberg = path.join(FIXTURES, 'iceberg');
  for (const table of readdirSync(iceberg).sort()) {
    const meta = path.join(iceberg, table, 'metadata');
    if (!existsSync(meta)) continue;
    for (const f of readdirSync(meta).sort()) if (f.endsWith('.avro')) out.push(path.join(meta, f));
  }
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.avro')) out.push(p);
    }
  };
  if (existsSync(path.join(FIXTURES, 'avro'))) walk(path.join(FIXTURES, 'avro'));
  return out;
}

describe('floe avro cat equals avsc on the shared fixtures', () => {
  if (!fixturesPresent()) {
    test('Iceberg manifests and apache/avro files', (t) => t.skip(`${FIXTURES} is absent`));
    return;
  }
  const files = fixtureAvroFiles();
  test('fixtures hold Avro files', () => assert.ok(files.length > 100, `${files.length} Avro files found`));
  // One test per table keeps the output readable (145 manifests).
  const byDir = new Map();
  for (const f of files) {
    const key = path.relative(FIXTURES, path.dirname(f));
    byDir.set(key, [...(byDir.get(key) ?? []), f]);
  }
  for (const [dir, list] of byDir) {
    test(`${dir} (${list.length} files)`, async () => {
      for (const file of list) await compareWithFloeCat(file);
    });
  }
});
