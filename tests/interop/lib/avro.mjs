// Avro container files decoded by avsc 5.7.9 (the independent reader), and
// a comparison of avsc's records with floe's JSON rendering of them.
//
// avsc is set up to lose nothing: longs decode to BigInt (a custom long
// type), every header entry is kept as raw bytes, and the snappy and
// zstandard codecs are supplied (snappy blocks carry a big-endian CRC32 of
// the uncompressed data, Avro spec "Optional Codecs", which is verified).
//
// floe's JSON (include/floe/avro.h): unions by value, enums as the symbol,
// maps as objects, longs as exact integers, bytes/fixed as one code point
// per byte (latin1), NaN/Infinity as strings.

import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import avro from 'avsc';
import { decompressSnappy, decompressZstd } from 'hyparquet-compressors';
import { JsonNumber } from './json.mjs';
import { parseFloatText } from './values.mjs';

const ExactLong = avro.types.LongType.__with({
  fromBuffer: (buf) => buf.readBigInt64LE(0),
  toBuffer: (n) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (v) => BigInt(v),
  toJSON: (n) => Number(n),
  isValid: (n) => typeof n === 'bigint',
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
});

function snappyVarint(buf) {
  let n = 0, shift = 0, i = 0;
  for (;;) {
    const b = buf[i++];
    n += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return n;
    shift += 7;
  }
}

const codecs = {
  null: (buf, cb) => cb(null, buf),
  deflate: (buf, cb) => zlib.inflateRaw(buf, cb),
  snappy: (buf, cb) => {
    try {
      const body = buf.subarray(0, buf.length - 4);
      const out = Buffer.from(decompressSnappy(body, snappyVarint(body)));
      const crc = buf.readUInt32BE(buf.length - 4);
      if (zlib.crc32(out) !== crc) throw new Error(`snappy block CRC32 ${crc.toString(16)} does not match the data`);
      cb(null, out);
    } catch (err) {
      cb(err);
    }
  },
  zstandard: (buf, cb) => {
    try {
      cb(null, Buffer.from(decompressZstd(buf)));
    } catch (err) {
      cb(err);
    }
  },
};

// Decodes a whole container file: { type (avsc Type), codec, header
// ({ key: Buffer }), records }.
export function decodeAvroFile(file) {
  return new Promise((resolve, reject) => {
    const out = { records: [] };
    const decoder = new avro.streams.BlockDecoder({
      codecs,
      parseHook: (schema) => avro.Type.forSchema(schema, { registry: { long: ExactLong }, wrapUnions: 'auto' }),
    });
    decoder.on('metadata', (type, codec, header) => {
      out.type = type;
      out.codec = codec;
      out.header = header.meta;
      out.sync = header.sync;
    });
    decoder.on('data', (record) => out.records.push(record));
    decoder.on('error', reject);
    decoder.on('end', () => resolve(out));
    decoder.end(readFileSync(file));
  });
}

const num = (v) => (v instanceof JsonNumber ? v.raw : typeof v === 'number' ? String(v) : null);
// Longs may also be given as decimal strings (beyond 2^53, where JSON
// numbers stop being exact in JavaScript).
const longText = (v) => (typeof v === 'string' && /^-?\d+$/.test(v) ? v : num(v));

/**
 * Compares one avsc-decoded value of `type` with floe's JSON for it (parsed
 * with parseLossless). Returns a list of differences (paths named).
 */
export function compareAvroValue(type, value, json, path = '$', out = []) {
  const say = (m) => { if (out.length < 20) out.push(`${path}: ${m}`); };
  const show = (v) => (v instanceof JsonNumber ? v.raw : JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `${x}n` : x)));
  switch (type.typeName) {
    case 'null':
      if (json !== null) say(`expected null, got ${show(json)}`);
      break;
    case 'boolean':
      if (json !== value) say(`expected ${value}, got ${show(json)}`);
      break;
    case 'int':
      if (num(json) === null || Number(num(json)) !== value) say(`expected ${value}, got ${show(json)}`);
      break;
    case 'long':
    case 'abstract:long': {
      const raw = longText(json);
      if (raw === null || !/^-?\d+$/.test(raw) || BigInt(raw) !== BigInt(value)) say(`expected ${value}, got ${show(json)}`);
      break;
    }
    case 'float':
    case 'double': {
      let got;
      try { got = parseFloatText(json instanceof JsonNumber ? json.raw : json); } catch { got = undefined; }
      if (type.typeName === 'float' && got !== undefined) got = Math.fround(got);
      const same = Number.isNaN(value) ? Number.isNaN(got) : Object.is(got, value);
      if (!same) say(`expected ${Object.is(value, -0) ? '-0' : value}, got ${show(json)}`);
      break;
    }
    case 'bytes':
    case 'fixed':
      if (json !== Buffer.from(value).toString('latin1')) {
        say(`expected bytes ${Buffer.from(value).toString('hex')}, got ${show(json)}`);
      }
      break;
    case 'string':
    case 'enum':
      if (json !== value) say(`expected ${show(value)}, got ${show(json)}`);
      break;
    case 'array':
      if (!Array.isArray(json) || json.length !== value.length) {
        say(`expected an array of ${value.length}, got ${show(json)?.slice(0, 200)}`);
        break;
      }
      value.forEach((v, i) => compareAvroValue(type.itemsType, v, json[i], `${path}[${i}]`, out));
      break;
    case 'map': {
      if (json === null || typeof json !== 'object' || Array.isArray(json)) { say(`expected a map, got ${show(json)}`); break; }
      const keys = Object.keys(value).sort();
      const got = Object.keys(json).sort();
      if (keys.join('\u0000') !== got.join('\u0000')) say(`map keys ${show(got)}, expected ${show(keys)}`);
      for (const k of keys) compareAvroValue(type.valuesType, value[k], json[k], `${path}.${k}`, out);
      break;
    }
    case 'record':
    case 'error': {
      if (json === null || typeof json !== 'object' || Array.isArray(json)) { say(`expected a record, got ${show(json)}`); break; }
      const names = type.fields.map((f) => f.name);
      const got = Object.keys(json);
      if (names.join('\u0000') !== got.join('\u0000')) say(`record fields ${show(got)}, expected ${show(names)}`);
      for (const f of type.fields) compareAvroValue(f.type, value[f.name], json[f.name], `${path}.${f.name}`, out);
      break;
    }
    case 'union:wrapped': {
      if (value === null) {
        if (json !== null) say(`expected null, got ${show(json)}`);
        break;
      }
      const [branchName] = Object.keys(value);
      const branch = type.types.find((t) => t.branchName === branchName);
      compareAvroValue(branch, value[branchName], json, path, out);
      break;
    }
    case 'union:unwrapped': {
      const branch = value === null ? type.types.find((t) => t.typeName === 'null')
        : type.types.find((t) => t.typeName !== 'null' && t.isValid(value));
      if (!branch) { say(`no union branch for ${show(value)}`); break; }
      compareAvroValue(branch, value, json, path, out);
      break;
    }
    default:
      // Logical types decode as their underlying type (no logicalTypes given).
      if (type.underlyingType) compareAvroValue(type.underlyingType, value, json, path, out);
      else say(`cannot compare avsc type ${type.typeName}`);
  }
  return out;
}
