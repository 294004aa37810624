// Iceberg bounds: decodes single-value serialization (Iceberg spec, Appendix
// D) and orders values per type, so a test can check that a data file's
// lower/upper bounds bracket the values it holds.
//
// Order per type (Iceberg spec: "Metrics" and the Java comparators):
// numbers numerically (NaN never in bounds), strings by Unicode code point
// (= unsigned UTF-8 byte order), binary/fixed/uuid by unsigned bytes.

import { parseDate, parseFloatText, parseTime, parseTimestamp, typeInfo } from './values.mjs';

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Two's-complement big-endian bytes -> BigInt.
export function bigEndianSigned(bytes) {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if (bytes.length > 0 && bytes[0] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v;
}

// Minimum bytes for `v` in two's complement (Appendix D: decimals).
export function minimalSignedBytes(v) {
  let n = 1;
  while (v < -(1n << BigInt(8 * n - 1)) || v >= (1n << BigInt(8 * n - 1))) n++;
  return n;
}

// Rendered value (fixture text) -> comparable key.
export function keyFromText(type, text) {
  const t = typeInfo(type);
  switch (t.kind) {
    case 'boolean': return text === 'true' ? 1n : 0n;
    case 'int':
    case 'long': return BigInt(text);
    case 'float':
    case 'double': return parseFloatText(text);
    case 'decimal': {
      const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
      if (!m) throw new Error(`bad decimal '${text}'`);
      const frac = (m[3] ?? '').padEnd(t.scale, '0');
      if (frac.length !== t.scale) throw new Error(`decimal '${text}' has scale ${frac.length}, not ${t.scale}`);
      const v = BigInt(m[2] + frac);
      return m[1] ? -v : v;
    }
    case 'date': return BigInt(parseDate(text));
    case 'time': return parseTime(text);
    case 'timestamp':
    case 'timestamptz': return parseTimestamp(text).micros;
    case 'string': return Buffer.from(text, 'utf8');
    case 'binary':
    case 'fixed': return Buffer.from(text, 'hex');
    case 'uuid': return Buffer.from(text.replace(/-/g, ''), 'hex');
    default: throw new Error(`no key for ${type}`);
  }
}

// Appendix D bytes (a Buffer) -> comparable key; throws on a malformed value.
export function decodeBound(type, bytes) {
  const t = typeInfo(type);
  const need = (n) => {
    if (bytes.length !== n) throw new Error(`${type} bound has ${bytes.length} bytes, not ${n}`);
  };
  switch (t.kind) {
    case 'boolean': need(1); return bytes[0] ? 1n : 0n;
    case 'int':
    case 'date': need(4); return BigInt(bytes.readInt32LE(0));
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz': need(8); return bytes.readBigInt64LE(0);
    case 'float': need(4); return bytes.readFloatLE(0);
    case 'double': need(8); return bytes.readDoubleLE(0);
    case 'decimal': {
      const v = bigEndianSigned(bytes);
      if (bytes.length !== minimalSignedBytes(v)) {
        throw new Error(`decimal bound ${v} uses ${bytes.length} bytes, not the minimum ${minimalSignedBytes(v)}`);
      }
      return v;
    }
    case 'string': utf8.decode(bytes); return Buffer.from(bytes);
    case 'uuid': need(16); return Buffer.from(bytes);
    case 'fixed': need(t.length); return Buffer.from(bytes);
    case 'binary': return Buffer.from(bytes);
    default: throw new Error(`no bound decoding for ${type}`);
  }
}

// <0, 0, >0 like a comparator.
export function compareKeys(a, b) {
  if (Buffer.isBuffer(a)) return Buffer.compare(a, b);
  if (typeof a === 'number') return a < b ? -1 : a > b ? 1 : 0; // -0 == 0
  return a < b ? -1 : a > b ? 1 : 0;
}

export function showKey(type, key) {
  if (Buffer.isBuffer(key)) {
    return typeInfo(type).kind === 'string' ? JSON.stringify(key.toString('utf8')) : key.toString('hex');
  }
  if (typeof key === 'number' && Object.is(key, -0)) return '-0';
  return String(key);
}

const codePoints = (buf) => [...buf.toString('utf8')];

// Whether a value of `type` truncated to `length` characters/bytes can have
// no upper bound: every kept unit is already the largest there is.
function cannotIncrement(type, maxKey, length) {
  if (typeInfo(type).kind === 'string') {
    return codePoints(maxKey).slice(0, length).every((c) => c.codePointAt(0) === 0x10ffff);
  }
  return [...maxKey.subarray(0, length)].every((b) => b === 0xff);
}

/**
 * Checks one column's metrics against the values it holds.
 * values: rendered texts (nulls included); metrics: a column of floe's
 * metrics JSON ({value_count, null_count, nan_count, lower_bound,
 * upper_bound} with hex bounds); truncate: characters/bytes (0 = full).
 * Returns a list of problems.
 */
export function checkColumnBounds(field, values, metrics, truncate) {
  const problems = [];
  const say = (m) => problems.push(`column '${field.name}' (id ${field.field_id}, ${field.type}): ${m}`);
  const kind = typeInfo(field.type).kind;
  const isFloat = kind === 'float' || kind === 'double';
  const nonNull = values.filter((v) => v !== null);
  const keys = nonNull.map((v) => keyFromText(field.type, v)).filter((k) => !(isFloat && Number.isNaN(k)));
  const nanCount = nonNull.length - keys.length;

  if (metrics.value_count !== values.length) say(`value_count ${metrics.value_count}, file has ${values.length}`);
  if (metrics.null_count !== values.length - nonNull.length) {
    say(`null_count ${metrics.null_count}, file has ${values.length - nonNull.length}`);
  }
  if (isFloat) {
    if (metrics.nan_count !== nanCount) say(`nan_count ${metrics.nan_count}, file has ${nanCount}`);
  } else if (metrics.nan_count !== null && metrics.nan_count !== undefined) {
    say(`nan_count ${metrics.nan_count} on a non-float column`);
  }

  let min = null, max = null;
  for (const k of keys) {
    if (min === null || compareKeys(k, min) < 0) min = k;
    if (max === null || compareKeys(k, max) > 0) max = k;
  }
  const truncates = (kind === 'string' || kind === 'binary') && truncate > 0;
  const units = (k) => (kind === 'string' ? codePoints(k).length : k.length);

  for (const which of ['lower_bound', 'upper_bound']) {
    const hexText = metrics[which];
    const actual = which === 'lower_bound' ? min : max;
    if (hexText === null || hexText === undefined) {
      if (actual === null) continue;
      if (which === 'upper_bound' && truncates && units(actual) > truncate &&
          cannotIncrement(field.type, actual, truncate)) continue;
      say(`${which} missing, but the column holds ${showKey(field.type, actual)}`);
      continue;
    }
    if (actual === null) {
      say(`${which} ${hexText} present, but the column holds no ${isFloat ? 'non-NaN ' : ''}value`);
      continue;
    }
    let bound;
    try {
      bound = decodeBound(field.type, Buffer.from(hexText, 'hex'));
    } catch (err) {
      say(`${which} ${hexText}: ${err.message}`);
      continue;
    }
    if (isFloat && Number.isNaN(bound)) { say(`${which} is NaN`); continue; }
    const cmp = compareKeys(bound, actual);
    if (which === 'lower_bound' ? cmp > 0 : cmp < 0) {
      say(`${which} ${showKey(field.type, bound)} does not bracket the data's ${which === 'lower_bound' ? 'min' : 'max'} ${showKey(field.type, actual)}`);
      continue;
    }
    if (truncates) {
      if (units(bound) > truncate) say(`${which} ${showKey(field.type, bound)} is longer than ${truncate}`);
      if (units(actual) <= truncate && cmp !== 0) {
        say(`${which} ${showKey(field.type, bound)} should equal the untruncated ${showKey(field.type, actual)}`);
      }
      if (which === 'lower_bound' && !actual.subarray(0, bound.length).equals(bound)) {
        say(`lower_bound ${showKey(field.type, bound)} is not a prefix of the min ${showKey(field.type, actual)}`);
      }
      if (which === 'upper_bound' && units(actual) > truncate) {
        // A truncated upper bound is the kept prefix with its last unit
        // incremented: everything before that unit is a prefix of the max.
        const kept = kind === 'string' ? Buffer.from(codePoints(bound).slice(0, -1).join(''), 'utf8')
          : bound.subarray(0, bound.length - 1);
        if (!actual.subarray(0, kept.length).equals(kept)) {
          say(`upper_bound ${showKey(field.type, bound)} is not an incremented prefix of the max ${showKey(field.type, actual)}`);
        }
      }
    } else if ((kind === 'string' || kind === 'binary') && cmp !== 0) {
      say(`${which} ${showKey(field.type, bound)} should equal ${showKey(field.type, actual)} (truncation off)`);
    }
  }
  return problems;
}

// A Parquet Statistics min_value/max_value (PLAIN encoding of the physical
// type, parquet.thrift "Statistics") -> comparable key.
export function decodeParquetStat(type, bytes) {
  const t = typeInfo(type);
  switch (t.kind) {
    case 'boolean': return bytes[0] ? 1n : 0n;
    case 'int':
    case 'date': return BigInt(bytes.readInt32LE(0));
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz': return bytes.readBigInt64LE(0);
    case 'float': return bytes.readFloatLE(0);
    case 'double': return bytes.readDoubleLE(0);
    case 'decimal':
      if (t.precision <= 9) return BigInt(bytes.readInt32LE(0));
      if (t.precision <= 18) return bytes.readBigInt64LE(0);
      return bigEndianSigned(bytes);
    default: return Buffer.from(bytes);
  }
}
