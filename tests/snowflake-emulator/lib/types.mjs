// Snowflake data types -> DuckDB storage types, rowType metadata, and the
// jsonv2 value encodings of the SQL API.
//
// Type names and synonyms follow Snowflake's "Summary of data types" page:
// NUMBER/DECIMAL/NUMERIC(p,s) (default 38,0), INT/INTEGER/BIGINT/SMALLINT/
// TINYINT/BYTEINT = NUMBER(38,0), FLOAT/FLOAT4/FLOAT8/DOUBLE/DOUBLE PRECISION/
// REAL = 64-bit float, VARCHAR(n)/STRING/TEXT/CHAR(n)/CHARACTER (default
// length 16777216), BINARY/VARBINARY (default 8388608 bytes), BOOLEAN, DATE,
// TIME(p), DATETIME/TIMESTAMP/TIMESTAMP_NTZ/LTZ/TZ(p) (default precision 9),
// VARIANT, OBJECT, ARRAY, GEOGRAPHY.
//
// Value encodings follow "Handling responses" -> "Getting the data from the
// results" of the SQL API guide: every value is a JSON string (or null);
// FIXED as decimal text, REAL as text, DATE as days since the epoch, TIME as
// seconds since midnight with 9 fractional digits, TIMESTAMP_NTZ/LTZ as
// seconds since the epoch with 9 fractional digits, TIMESTAMP_TZ as the same
// (the UTC instant) followed by a space and the offset the value was stored
// with, in minutes, plus 1440 (engine.mjs, noteZonedLiterals), BINARY
// as hex, VARIANT/OBJECT/ARRAY as JSON text.

import { syntaxError } from './sqltok.mjs';

export const TEXT_DEFAULT_LENGTH = 16777216;
export const BINARY_DEFAULT_LENGTH = 8388608;

// Parses a Snowflake type given as (upper-case name, numeric args).
// Returns { sf, duck, precision, scale, length }.
export function snowflakeType(name, args = []) {
  const n = name.toUpperCase().replace(/\s+/g, ' ');
  const a = args.map((x) => parseInt(x, 10));
  switch (n) {
    case 'NUMBER': case 'DECIMAL': case 'NUMERIC': case 'DEC': {
      const p = a.length > 0 ? a[0] : 38;
      const s = a.length > 1 ? a[1] : 0;
      if (p < 1 || p > 38 || s < 0 || s > p) throw syntaxError(`invalid precision/scale (${p},${s}) for type ${n}`);
      return { sf: 'NUMBER', duck: `DECIMAL(${p},${s})`, precision: p, scale: s };
    }
    case 'INT': case 'INTEGER': case 'BIGINT': case 'SMALLINT': case 'TINYINT': case 'BYTEINT':
      return { sf: 'NUMBER', duck: 'DECIMAL(38,0)', precision: 38, scale: 0 };
    case 'FLOAT': case 'FLOAT4': case 'FLOAT8': case 'DOUBLE': case 'DOUBLE PRECISION': case 'REAL':
      return { sf: 'FLOAT', duck: 'DOUBLE' };
    case 'VARCHAR': case 'STRING': case 'TEXT': case 'NVARCHAR': case 'NVARCHAR2': case 'CHAR VARYING':
    case 'NCHAR VARYING':
      return { sf: 'TEXT', duck: 'VARCHAR', length: a.length ? a[0] : TEXT_DEFAULT_LENGTH };
    case 'CHAR': case 'CHARACTER': case 'NCHAR':
      return { sf: 'TEXT', duck: 'VARCHAR', length: a.length ? a[0] : 1 };
    case 'BINARY': case 'VARBINARY':
      return { sf: 'BINARY', duck: 'BLOB', length: a.length ? a[0] : BINARY_DEFAULT_LENGTH };
    case 'BOOLEAN':
      return { sf: 'BOOLEAN', duck: 'BOOLEAN' };
    case 'DATE':
      return { sf: 'DATE', duck: 'DATE' };
    case 'TIME':
      return { sf: 'TIME', duck: 'TIME', scale: a.length ? a[0] : 9 };
    case 'DATETIME': case 'TIMESTAMP': case 'TIMESTAMP_NTZ': case 'TIMESTAMP WITHOUT TIME ZONE':
      return { sf: 'TIMESTAMP_NTZ', duck: 'TIMESTAMP_NS', scale: a.length ? a[0] : 9 };
    case 'TIMESTAMP_LTZ': case 'TIMESTAMP WITH LOCAL TIME ZONE':
      return { sf: 'TIMESTAMP_LTZ', duck: 'TIMESTAMPTZ', scale: a.length ? a[0] : 9 };
    case 'TIMESTAMP_TZ': case 'TIMESTAMP WITH TIME ZONE':
      return { sf: 'TIMESTAMP_TZ', duck: 'TIMESTAMPTZ', scale: a.length ? a[0] : 9 };
    case 'VARIANT':
      return { sf: 'VARIANT', duck: 'JSON' };
    case 'OBJECT':
      return { sf: 'OBJECT', duck: 'JSON' };
    case 'ARRAY':
      return { sf: 'ARRAY', duck: 'JSON' };
    case 'GEOGRAPHY': case 'GEOMETRY':
      return { sf: n, duck: 'VARCHAR' };
    // Stored as their text; enough to test how a client maps or refuses
    // them ("Summary of data types": VECTOR, MAP (structured), DECFLOAT).
    case 'VECTOR': case 'MAP': case 'DECFLOAT':
      return { sf: n, duck: 'VARCHAR' };
    default:
      return null;
  }
}

// Multi-word type names the translator must recognise as one type.
export const MULTIWORD_TYPES = [
  ['DOUBLE', 'PRECISION'],
  ['CHAR', 'VARYING'],
  ['NCHAR', 'VARYING'],
  ['TIMESTAMP', 'WITHOUT', 'TIME', 'ZONE'],
  ['TIMESTAMP', 'WITH', 'LOCAL', 'TIME', 'ZONE'],
  ['TIMESTAMP', 'WITH', 'TIME', 'ZONE'],
];

// rowType entry for a result column (SQL API ResultSet.resultSetMetaData.rowType).
// duckType: DuckDB type string of the result column; meta: catalog metadata
// of the source column when the column comes straight from a table.
export function rowTypeFor(name, duckType, meta) {
  const base = {
    name,
    database: meta ? meta.database : '',
    schema: meta ? meta.schema : '',
    table: meta ? meta.table : '',
    nullable: meta ? meta.nullable : true,
    collation: null,
    type: 'text',
    precision: null,
    scale: null,
    length: null,
    byteLength: null,
  };
  const sf = meta && meta.sfType ? meta.sfType : sfTypeFromDuck(duckType);
  const t = sf.sf;
  if (t === 'NUMBER') {
    base.type = 'fixed';
    base.precision = meta && meta.precision != null ? meta.precision : sf.precision;
    base.scale = meta && meta.scale != null ? meta.scale : sf.scale;
  } else if (t === 'FLOAT') {
    base.type = 'real';
  } else if (t === 'TEXT' || t === 'GEOGRAPHY' || t === 'GEOMETRY') {
    base.type = t === 'TEXT' ? 'text' : t.toLowerCase();
    const len = meta && meta.length != null ? meta.length : TEXT_DEFAULT_LENGTH;
    base.length = len;
    base.byteLength = Math.min(len * 4, TEXT_DEFAULT_LENGTH);
  } else if (t === 'BINARY') {
    base.type = 'binary';
    const len = meta && meta.length != null ? meta.length : BINARY_DEFAULT_LENGTH;
    base.length = len;
    base.byteLength = len;
  } else if (t === 'BOOLEAN') {
    base.type = 'boolean';
  } else if (t === 'DATE') {
    base.type = 'date';
  } else if (t === 'TIME' || t.startsWith('TIMESTAMP')) {
    base.type = t.toLowerCase();
    base.precision = 0;
    base.scale = meta && meta.scale != null ? meta.scale : 9;
  } else if (t === 'VARIANT' || t === 'OBJECT' || t === 'ARRAY' || t === 'VECTOR' || t === 'MAP' || t === 'DECFLOAT') {
    base.type = t.toLowerCase();
  }
  return base;
}

// Fallback when no table metadata is known: derive the Snowflake type from
// the DuckDB result type.
export function sfTypeFromDuck(duckType) {
  const d = String(duckType).toUpperCase();
  let m = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(d);
  if (m) return { sf: 'NUMBER', precision: +m[1], scale: +m[2] };
  if (['TINYINT', 'SMALLINT', 'INTEGER', 'UTINYINT', 'USMALLINT', 'UINTEGER'].includes(d))
    return { sf: 'NUMBER', precision: 38, scale: 0 };
  if (d === 'BIGINT' || d === 'UBIGINT') return { sf: 'NUMBER', precision: 18, scale: 0 };
  if (d === 'HUGEINT' || d === 'UHUGEINT') return { sf: 'NUMBER', precision: 38, scale: 0 };
  if (d === 'DOUBLE' || d === 'FLOAT') return { sf: 'FLOAT' };
  if (d === 'BOOLEAN') return { sf: 'BOOLEAN' };
  if (d === 'DATE') return { sf: 'DATE' };
  if (d.startsWith('TIME WITH') || d === 'TIME' || d === 'TIME_NS') return { sf: 'TIME' };
  if (d === 'TIMESTAMP WITH TIME ZONE' || d === 'TIMESTAMPTZ') return { sf: 'TIMESTAMP_LTZ' };
  if (d.startsWith('TIMESTAMP')) return { sf: 'TIMESTAMP_NTZ' };
  if (d === 'BLOB') return { sf: 'BINARY' };
  if (d === 'JSON') return { sf: 'VARIANT' };
  if (d.endsWith('[]') || d.startsWith('STRUCT') || d.startsWith('MAP')) return { sf: 'VARIANT' };
  return { sf: 'TEXT' };
}

// Decimal rendering of an integer count of 10^-digits units ("-1234", 3 -> "-1.234").
// Nanoseconds as seconds with `scale` (0..9, default 9) fractional digits,
// rounded toward the past.
function scaled(nanos, scale) {
  const d = scale === null || scale === undefined ? 9 : Math.max(0, Math.min(9, Number(scale)));
  const unit = 10n ** BigInt(9 - d);
  let q = nanos / unit;
  if (nanos < 0n && q * unit !== nanos) q -= 1n;
  return fixedPoint(q, d);
}

function fixedPoint(big, digits) {
  const neg = big < 0n;
  let s = (neg ? -big : big).toString();
  if (digits > 0) {
    s = s.padStart(digits + 1, '0');
    s = s.slice(0, s.length - digits) + '.' + s.slice(s.length - digits);
  }
  return (neg ? '-' : '') + s;
}

// Offset in minutes east of UTC of `zone` at epoch milliseconds `ms`.
export function zoneOffsetMinutes(zone, ms) {
  if (!zone || /^(utc|gmt|z)$/i.test(zone)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (m) return (m[1] === '-' ? -1 : 1) * (+m[2] * 60 + +m[3]);
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

// Encodes one DuckDB value (as returned by @duckdb/node-api getRows()) as the
// SQL API jsonv2 string for Snowflake type `rt.type`.
export function encodeValue(v, rt, opts) {
  if (v === null || v === undefined) return null;
  switch (rt.type) {
    case 'fixed': {
      if (typeof v === 'object' && 'scale' in v && 'value' in v) {
        const s = fixedPoint(BigInt(v.value), v.scale);
        return s;
      }
      if (typeof v === 'bigint' || typeof v === 'number') {
        if (typeof v === 'number' && !Number.isInteger(v)) return String(v);
        return fixedPoint(BigInt(v), rt.scale || 0);
      }
      return String(v);
    }
    case 'real': {
      const x = Number(v);
      if (Number.isNaN(x)) return 'NaN';
      if (x === Infinity) return 'inf';
      if (x === -Infinity) return '-inf';
      return String(x);
    }
    case 'boolean':
      return v ? 'true' : 'false';
    case 'date':
      return String(v.days);
    // Times and timestamps carry as many fractional digits as the
    // column's scale ("Handling responses": TIME(3) -> "45296.123").
    case 'time': {
      const nanos = 'micros' in v ? BigInt(v.micros) * 1000n : BigInt(v.nanos);
      return scaled(nanos, rt.scale);
    }
    case 'timestamp_ntz':
    case 'timestamp_ltz':
    case 'timestamp_tz': {
      let nanos;
      if ('nanos' in v) nanos = BigInt(v.nanos);
      else if ('micros' in v) nanos = BigInt(v.micros) * 1000n;
      else if ('millis' in v) nanos = BigInt(v.millis) * 1000000n;
      else nanos = BigInt(v.seconds) * 1000000000n;
      const s = scaled(nanos, rt.scale);
      if (rt.type !== 'timestamp_tz') return s;
      const stored = opts && opts.tzOffsets && opts.tzOffsets.get(String(nanos / 1000n));
      const off = stored !== undefined ? stored : zoneOffsetMinutes(opts && opts.timezone, Number(nanos / 1000000n));
      return `${s} ${off + 1440}`;
    }
    case 'binary':
      return Buffer.from(v.bytes).toString('hex').toUpperCase();
    case 'variant':
    case 'object':
    case 'array': {
      const text = typeof v === 'string' ? v : JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? Number(x) : x));
      try {
        return JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        return text;
      }
    }
    default:
      if (typeof v === 'object' && v !== null && 'bytes' in v) return Buffer.from(v.bytes).toString('utf8');
      return typeof v === 'string' ? v : String(v);
  }
}

// SQL literal for a SQL API binding {type, value} ("Using bind variables in
// a statement" of the SQL API guide: the value is always given as a string).
export function bindingLiteral(b) {
  const type = String(b.type || 'TEXT').toUpperCase();
  const v = b.value;
  if (v === null || v === undefined) return 'NULL';
  const s = String(v);
  const q = "'" + s.replace(/'/g, "''") + "'";
  switch (type) {
    case 'FIXED':
      if (!/^[-+]?\d+(\.\d+)?$/.test(s)) throw bindError(b);
      return s.includes('.') ? `CAST(${q} AS DECIMAL(38,${s.split('.')[1].length}))` : `CAST(${q} AS DECIMAL(38,0))`;
    case 'REAL':
      if (Number.isNaN(Number(s)) && !/^(nan|inf|-inf)$/i.test(s)) throw bindError(b);
      return `CAST(${q} AS DOUBLE)`;
    case 'BOOLEAN':
      return /^(true|1|t|yes|y|on)$/i.test(s) ? 'TRUE' : 'FALSE';
    case 'DATE':
      return /^-?\d+$/.test(s) ? `(DATE '1970-01-01' + INTERVAL (${s}) DAY)::DATE` : `CAST(${q} AS DATE)`;
    case 'TIME':
      return `CAST(${q} AS TIME)`;
    case 'TIMESTAMP_NTZ':
      return /^-?\d+(\.\d+)?$/.test(s) ? epochLiteral(s, 'TIMESTAMP_NS') : `CAST(${q} AS TIMESTAMP_NS)`;
    case 'TIMESTAMP_LTZ':
    case 'TIMESTAMP_TZ':
      return /^-?\d+(\.\d+)?$/.test(s) ? epochLiteral(s, 'TIMESTAMPTZ') : `CAST(${q} AS TIMESTAMPTZ)`;
    case 'BINARY':
      if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw bindError(b);
      return `from_hex(${q})`;
    case 'TEXT':
    case 'ANY':
      return q;
    default:
      throw bindError(b);
  }
}

function epochLiteral(s, duck) {
  // epoch seconds, possibly fractional (SQL API output format); DuckDB
  // make_timestamp_ns takes nanoseconds.
  const [i, f = ''] = s.replace(/^\+/, '').split('.');
  const neg = i.startsWith('-');
  const frac = (f + '000000000').slice(0, 9);
  let ns = BigInt(i.replace('-', '')) * 1000000000n + BigInt(frac);
  if (neg) ns = -ns;
  const ts = `make_timestamp_ns(${ns.toString()})`;
  return duck === 'TIMESTAMPTZ' ? `(${ts} AT TIME ZONE 'UTC')` : ts;
}

function bindError(b) {
  const e = new Error(`Unsupported or malformed bind value ${JSON.stringify(b)}`);
  e.code = '002049';
  e.sqlState = '42601';
  return e;
}
