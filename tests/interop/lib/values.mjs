// Values as the fixture CSVs and `floe parquet cat` render them, computed
// here from raw numbers (days, microseconds, unscaled integers, bytes) so the
// tests do not trust floe's own formatting, plus comparison of a rendered
// expected value with what another reader returned.
//
// Rendering (shared/fixtures/README.md, "CSV conventions"): ints decimal;
// floats shortest round trip (compared numerically); decimals at fixed
// scale; dates YYYY-MM-DD; times HH:MM:SS[.ffffff]; timestamps
// "YYYY-MM-DD HH:MM:SS[.ffffff]" with "+00" for timestamptz; uuid canonical
// lower case; binary and fixed lower-case hex.

export const MICROS_PER_DAY = 86400000000n;

const floorDiv = (a, b) => {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
};
const floorMod = (a, b) => a - floorDiv(a, b) * b;
const pad = (n, width) => String(n).padStart(width, '0');

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
export function civilFromDays(days) {
  let z = Number(days) + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
    Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return { y, m, d };
}

export function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function formatDate(days) {
  const { y, m, d } = civilFromDays(days);
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : (y < 0 ? '-' : '+') + pad(Math.abs(y), 4);
  return `${year}-${pad(m, 2)}-${pad(d, 2)}`;
}

export function formatTime(micros) {
  micros = floorMod(BigInt(micros), MICROS_PER_DAY);
  const secs = micros / 1000000n;
  const frac = micros % 1000000n;
  const text = `${pad(secs / 3600n, 2)}:${pad((secs / 60n) % 60n, 2)}:${pad(secs % 60n, 2)}`;
  return frac ? `${text}.${pad(frac, 6)}` : text;
}

export function formatTimestamp(micros, tz = false) {
  micros = BigInt(micros);
  const days = floorDiv(micros, MICROS_PER_DAY);
  const text = `${formatDate(days)} ${formatTime(floorMod(micros, MICROS_PER_DAY))}`;
  return tz ? `${text}+00` : text;
}

export function formatDecimal(unscaled, scale) {
  unscaled = BigInt(unscaled);
  const neg = unscaled < 0n;
  let digits = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return neg ? `-${digits}` : digits;
}

export function hex(bytes) {
  return Buffer.from(bytes).toString('hex');
}

export function formatUuid(bytes) {
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// "YYYY-MM-DD" -> days since 1970-01-01.
export function parseDate(text) {
  const m = /^([+-]?\d{4,})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) throw new Error(`bad date '${text}'`);
  return daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
}

// "HH:MM:SS[.f+]" -> microseconds (BigInt).
export function parseTime(text) {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) throw new Error(`bad time '${text}'`);
  const frac = BigInt((m[4] ?? '').padEnd(6, '0'));
  return ((BigInt(m[1]) * 60n + BigInt(m[2])) * 60n + BigInt(m[3])) * 1000000n + frac;
}

// "YYYY-MM-DD[ T]HH:MM:SS[.f+][+00|Z|+00:00]" -> { micros: BigInt, tz: bool }.
export function parseTimestamp(text) {
  const m = /^([+-]?\d{4,}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(Z|[+-]00(?::?00)?)?$/.exec(text);
  if (!m) throw new Error(`bad timestamp '${text}'`);
  return {
    micros: BigInt(parseDate(m[1])) * MICROS_PER_DAY + parseTime(m[2]),
    tz: m[3] !== undefined,
  };
}

// Text (as the fixtures render it) or JSON number -> JS number, keeping NaN,
// infinities and -0.
export function parseFloatText(v) {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'raw' in v) return Number(v.raw);
  if (v === 'NaN' || v === 'nan') return NaN;
  if (v === 'Infinity' || v === 'inf') return Infinity;
  if (v === '-Infinity' || v === '-inf') return -Infinity;
  if (typeof v !== 'string' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) {
    throw new Error(`bad float '${v}'`);
  }
  return Number(v);
}

// "decimal(9,2)" -> { precision: 9, scale: 2 }; "fixed[7]" -> { length: 7 }.
export function typeInfo(type) {
  let m = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
  if (m) return { kind: 'decimal', precision: Number(m[1]), scale: Number(m[2]) };
  m = /^fixed\[(\d+)\]$/.exec(type);
  if (m) return { kind: 'fixed', length: Number(m[1]) };
  return { kind: type };
}

// DuckDB's SQL type for an Iceberg type (used in read_parquet's schema map).
export function duckType(type) {
  const t = typeInfo(type);
  switch (t.kind) {
    case 'boolean': return 'BOOLEAN';
    case 'int': return 'INTEGER';
    case 'long': return 'BIGINT';
    case 'float': return 'FLOAT';
    case 'double': return 'DOUBLE';
    case 'decimal': return `DECIMAL(${t.precision},${t.scale})`;
    case 'date': return 'DATE';
    case 'time': return 'TIME';
    case 'timestamp': return 'TIMESTAMP';
    case 'timestamptz': return 'TIMESTAMPTZ';
    case 'string': return 'VARCHAR';
    case 'binary': return 'BLOB';
    case 'uuid': return 'UUID';
    case 'fixed': return 'BLOB';
    default: throw new Error(`no DuckDB type for ${type}`);
  }
}

// A DuckDB node-api value (from reader.getRows()) -> rendered text, or a JS
// number for float/double, or null. Built from the raw fields, never from
// DuckDB's own string rendering.
export function renderDuckValue(type, v) {
  if (v === null || v === undefined) return null;
  const t = typeInfo(type);
  switch (t.kind) {
    case 'boolean': return v ? 'true' : 'false';
    case 'int':
    case 'long': return BigInt(v).toString();
    case 'float':
    case 'double': return Number(v);
    case 'decimal': {
      if (typeof v === 'object' && 'value' in v) return formatDecimal(v.value, v.scale ?? t.scale);
      throw new Error(`unexpected decimal value ${v}`);
    }
    case 'date': return formatDate(v.days);
    case 'time': return formatTime(v.micros);
    case 'timestamp': return formatTimestamp(v.micros, false);
    case 'timestamptz': return formatTimestamp(v.micros, true);
    case 'string': return String(v);
    case 'binary':
    case 'fixed': return hex(v.bytes);
    case 'uuid': return v.toString().toLowerCase();
    default: throw new Error(`cannot render ${type}`);
  }
}

function sameFloat(type, a, b) {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (typeInfo(type).kind === 'float') { a = Math.fround(a); b = Math.fround(b); }
  return Object.is(a, b) || (a === b && a !== 0);
}

// Normalises a rendered value for comparison: numbers for floats, BigInt
// micros for timestamps (with the zone marker checked), text otherwise.
function normalise(type, v) {
  if (v === null || v === undefined) return null;
  const kind = typeInfo(type).kind;
  if (kind === 'float' || kind === 'double') return parseFloatText(v);
  if (v && typeof v === 'object' && 'raw' in v) v = v.raw; // lossless JSON number
  if (typeof v === 'bigint' || typeof v === 'number') v = String(v);
  if (typeof v === 'boolean') v = v ? 'true' : 'false';
  return v;
}

// null when `actual` equals the rendered `expected`, else a description.
export function compareValue(type, expected, actual) {
  const e = normalise(type, expected);
  const a = normalise(type, actual);
  if (e === null || a === null) {
    return e === a ? null : `expected ${show(expected)}, got ${show(actual)}`;
  }
  const kind = typeInfo(type).kind;
  if (kind === 'float' || kind === 'double') {
    return sameFloat(type, e, a) ? null : `expected ${show(expected)}, got ${show(actual)}`;
  }
  if (kind === 'timestamp' || kind === 'timestamptz') {
    let pe, pa;
    try { pe = parseTimestamp(e); pa = parseTimestamp(a); } catch (err) { return err.message; }
    if (pe.micros !== pa.micros) return `expected ${e}, got ${a} (micros differ)`;
    if (pe.tz !== pa.tz || pe.tz !== (kind === 'timestamptz')) {
      return `expected ${e}, got ${a} (zone marker)`;
    }
    return null;
  }
  return e === a ? null : `expected ${show(expected)}, got ${show(actual)}`;
}

function show(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  return JSON.stringify(v);
}

// Compares whole row sets (arrays of arrays in schema order); returns the
// first `limit` mismatches as text.
export function compareRows(schema, expectedRows, actualRows, limit = 10) {
  const problems = [];
  if (expectedRows.length !== actualRows.length) {
    problems.push(`row count: expected ${expectedRows.length}, got ${actualRows.length}`);
  }
  const n = Math.min(expectedRows.length, actualRows.length);
  for (let r = 0; r < n && problems.length < limit; r++) {
    for (let c = 0; c < schema.length && problems.length < limit; c++) {
      const diff = compareValue(schema[c].type, expectedRows[r][c], actualRows[r][c]);
      if (diff) problems.push(`row ${r} column '${schema[c].name}' (${schema[c].type}): ${diff}`);
    }
  }
  return problems;
}
