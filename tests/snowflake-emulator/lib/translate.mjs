// Snowflake SQL (the subset floe sends) -> DuckDB SQL, by token rewriting.
//
// What is rewritten, and why:
// - Unquoted identifiers are emitted upper-case and quoted identifiers keep
//   their case (Snowflake "Identifier requirements": unquoted identifiers are
//   stored and resolved in upper case).
// - Snowflake type names in CREATE TABLE / CAST / :: become DuckDB storage
//   types (lib/types.mjs), with the declared Snowflake type kept in the
//   emulator's catalog so rowType and INFORMATION_SCHEMA report it.
// - `*` in a select list hides the emulator's per-row id column.
// - FROM <stream>, FROM <table> CHANGES(...) AT(...) [END(...)] and
//   INFORMATION_SCHEMA.COLUMNS/TABLES become subqueries over the emulator's
//   change log and catalog views (lib/engine.mjs builds those subqueries).
// - Bind variables ('?' and ':n') become typed literals ("Using bind
//   variables in a statement" of the SQL API guide).
// - A handful of Snowflake functions map to DuckDB equivalents.

import {
  SqlError, syntaxError, sig, isWord, isOp, identName, quoteIdent, quoteString,
  readName, matchParen, splitCommas,
} from './sqltok.mjs';
import { snowflakeType, MULTIWORD_TYPES, bindingLiteral } from './types.mjs';

export const ROWID = '_EMU_ROWID';
const STAR = `COLUMNS(c -> c <> '${ROWID}')`;

// Reads a Snowflake type at s[i]; returns { type, next } (type from
// snowflakeType) or null.
export function readType(s, i) {
  if (!s[i] || s[i].k !== 'word') return null;
  let name = s[i].v.toUpperCase();
  let j = i + 1;
  for (const mw of MULTIWORD_TYPES) {
    if (mw[0] === name && mw.slice(1).every((w, k) => isWord(s[i + 1 + k], w))) {
      name = mw.join(' ');
      j = i + mw.length;
      break;
    }
  }
  const args = [];
  if (isOp(s[j], '(') && (name === 'VECTOR' || name === 'MAP')) {
    // VECTOR(INT, 3), MAP(VARCHAR, NUMBER): element types are not kept.
    const type = snowflakeType(name, []);
    return type ? { type, next: matchParen(s, j) + 1 } : null;
  }
  if (isOp(s[j], '(')) {
    const close = matchParen(s, j);
    for (const part of splitCommas(s, j + 1, close)) {
      if (part.length !== 1 || part[0].k !== 'number') return null;
      args.push(part[0].v);
    }
    j = close + 1;
  }
  const type = snowflakeType(name, args);
  if (!type) return null;
  return { type, next: j };
}

// The translation context of one statement.
//   ctx.db, ctx.schema         current database/schema of the request
//   ctx.bindings               SQL API bindings object ({"1": {type, value}})
//   ctx.hooks.tableRef(parts, s, i) -> null | { sql, next }   FROM-position rewrite
//   ctx.fromTables             filled: resolved [db, schema, table] of FROM targets
//   ctx.waitSeconds            filled: total SYSTEM$WAIT seconds
//   ctx.quotedNames            filled: names written as quoted identifiers
export class Translator {
  constructor(ctx) {
    this.ctx = ctx;
    ctx.fromTables = ctx.fromTables || [];
    ctx.waitSeconds = ctx.waitSeconds || 0;
    ctx.quotedNames = ctx.quotedNames || new Set();
    this.paramIndex = 0;
  }

  resolve(parts) {
    const { db, schema } = this.ctx;
    if (parts.length === 1) return [db, schema, parts[0]];
    if (parts.length === 2) return [db, parts[0], parts[1]];
    return parts.slice(-3);
  }

  binding(tok) {
    const b = this.ctx.bindings || {};
    let key;
    if (tok.v === '?') key = String(++this.paramIndex);
    else key = tok.v.slice(1);
    let bv = b[key];
    if (bv === undefined) bv = b[key.toUpperCase()] ?? b[key.toLowerCase()];
    if (bv === undefined) {
      throw new SqlError('002049', '42601', `SQL compilation error: Bind variable ${tok.v === '?' ? '?' : tok.v} not set.`);
    }
    if (Array.isArray(bv.value)) {
      const row = this.ctx.bindingRow || 0;
      return bindingLiteral({ type: bv.type, value: bv.value[row] });
    }
    return bindingLiteral(bv);
  }

  // Translates significant tokens s[from..to) to DuckDB SQL text.
  tr(s, from = 0, to = s.length) {
    const out = [];
    const stack = []; // paren kinds: 'cast' | 'other'
    let prevSig = null;
    for (let i = from; i < to; i++) {
      const t = s[i];
      const prev = i > from ? s[i - 1] : prevSig;
      if (t.k === 'word') {
        const up = t.v.toUpperCase();
        const next = s[i + 1];
        // Type after '::' or after AS inside CAST(.
        if ((isOp(prev, '::') || (up !== 'AS' && isWord(prev, 'AS') && stack[stack.length - 1] === 'cast'))) {
          const ty = readType(s, i);
          if (ty) {
            out.push(ty.type.duck);
            i = ty.next - 1;
            continue;
          }
        }
        // Table reference positions.
        if ((isWord(prev, 'FROM', 'JOIN')) && !isOp(next, '(') && this.ctx.hooks && this.ctx.hooks.tableRef) {
          const nm = readName(s, i);
          if (nm && !isOp(s[nm.next], '.')) {
            const r = this.ctx.hooks.tableRef(this.resolve(nm.parts), s, nm.next, nm.parts, this);
            if (r) {
              out.push(r.sql);
              i = r.next - 1;
              continue;
            }
            this.ctx.fromTables.push(this.resolve(nm.parts));
          }
        }
        if (isOp(next, '(')) {
          const fn = this.func(up, s, i);
          if (fn) {
            out.push(fn.sql);
            i = fn.next - 1;
            continue;
          }
          stack.push(up === 'CAST' || up === 'TRY_CAST' ? 'cast' : 'other');
          out.push(up);
          out.push('(');
          i++;
          continue;
        }
        if (up === 'CURRENT_DATABASE' || up === 'CURRENT_SCHEMA') {
          out.push(quoteString(up === 'CURRENT_DATABASE' ? this.ctx.db : this.ctx.schema));
          continue;
        }
        out.push(/^[A-Z_][A-Z0-9_]*$/.test(up) ? up : quoteIdent(up));
      } else if (t.k === 'qident') {
        // A table reference written quoted ("S"."T_STREAM"): the same
        // FROM-position rewrite as an unquoted one ("Identifier
        // requirements": "ABC" and ABC name one object).
        if (isWord(prev, 'FROM', 'JOIN') && !isOp(s[i + 1], '(') && this.ctx.hooks && this.ctx.hooks.tableRef) {
          const nm = readName(s, i);
          if (nm && !isOp(s[nm.next], '.')) {
            const r = this.ctx.hooks.tableRef(this.resolve(nm.parts), s, nm.next, nm.parts, this);
            if (r) {
              out.push(r.sql);
              i = r.next - 1;
              continue;
            }
            this.ctx.fromTables.push(this.resolve(nm.parts));
          }
        }
        this.ctx.quotedNames.add(t.v);
        out.push(quoteIdent(t.v));
      } else if (t.k === 'string') {
        // '2024-01-01 10:00:00 +05:00' (Snowflake accepts a space before the
        // offset; DuckDB does not).
        const m = /^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?) ([+-]\d\d:?\d\d)$/.exec(t.v);
        out.push(quoteString(m ? m[1] + m[2] : t.v));
      } else if (t.k === 'number') {
        out.push(t.v);
      } else if (t.k === 'param') {
        out.push(this.binding(t));
      } else if (isOp(t, '(')) {
        stack.push('other');
        out.push('(');
      } else if (isOp(t, ')')) {
        stack.pop();
        out.push(')');
      } else if (isOp(t, '*') && (isWord(prev, 'SELECT', 'DISTINCT') || isOp(prev, ',')) &&
                 (i + 1 >= to || isOp(s[i + 1], ',') || isWord(s[i + 1], 'FROM'))) {
        out.push(STAR);
      } else if (isOp(t, '*') && isOp(prev, '.') && !this.ctx.noQualifiedExclude &&
                 (i + 1 >= to || isOp(s[i + 1], ',') || isWord(s[i + 1], 'FROM'))) {
        out.push(`* EXCLUDE ("${ROWID}")`);
      } else {
        out.push(t.v);
      }
    }
    return joinSql(out);
  }

  // Function-call rewrites; returns { sql, next } or null.
  func(up, s, i) {
    const open = i + 1;
    const close = matchParen(s, open);
    const args = () => splitCommas(s, open + 1, close).map((a) => this.tr(a));
    const cast = (ty) => {
      const a = args();
      return { sql: `CAST(${a[0]} AS ${ty})`, next: close + 1 };
    };
    switch (up) {
      case 'CURRENT_TIMESTAMP': case 'LOCALTIMESTAMP': case 'GETDATE':
        return { sql: 'CURRENT_TIMESTAMP', next: close + 1 };
      case 'SYSDATE':
        return { sql: `(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')`, next: close + 1 };
      case 'CURRENT_DATE':
        return { sql: 'CURRENT_DATE', next: close + 1 };
      case 'CURRENT_TIME':
        return { sql: 'CURRENT_TIME', next: close + 1 };
      case 'CURRENT_DATABASE':
        return { sql: quoteString(this.ctx.db), next: close + 1 };
      case 'CURRENT_SCHEMA':
        return { sql: quoteString(this.ctx.schema), next: close + 1 };
      case 'IFF':
        return { sql: `IF(${args().join(', ')})`, next: close + 1 };
      case 'NVL': case 'IFNULL':
        return { sql: `COALESCE(${args().join(', ')})`, next: close + 1 };
      case 'LEN':
        return { sql: `LENGTH(${args().join(', ')})`, next: close + 1 };
      case 'TO_VARCHAR': case 'TO_CHAR':
        if (this.ctx.textMacro) return { sql: `sf_text(${args()[0]})`, next: close + 1 };
        return cast('VARCHAR');
      case 'CAST': {
        // CAST(x AS VARCHAR) follows the output formats (engine.mjs,
        // textMacro) when the session has them.
        if (!this.ctx.textMacro) return null;
        let as = -1;
        for (let k = open + 1, depth = 0; k < close; k++) {
          if (isOp(s[k], '(')) depth++;
          else if (isOp(s[k], ')')) depth--;
          else if (depth === 0 && isWord(s[k], 'AS')) as = k;
        }
        const ty = as > 0 ? readType(s, as + 1) : null;
        if (!ty || ty.type.sf !== 'TEXT') return null;
        return { sql: `sf_text(${this.tr(s, open + 1, as)})`, next: close + 1 };
      }
      case 'TO_DATE': case 'DATE':
        return cast('DATE');
      case 'TO_TIME':
        return cast('TIME');
      case 'TO_TIMESTAMP': case 'TO_TIMESTAMP_NTZ':
        return cast('TIMESTAMP_NS');
      case 'TO_TIMESTAMP_LTZ': case 'TO_TIMESTAMP_TZ':
        return cast('TIMESTAMPTZ');
      case 'TO_NUMBER': case 'TO_DECIMAL': case 'TO_NUMERIC': {
        const a = args();
        const p = a[1] || '38';
        const sc = a[2] || '0';
        return { sql: `CAST(${a[0]} AS DECIMAL(${p},${sc}))`, next: close + 1 };
      }
      case 'TO_DOUBLE':
        return cast('DOUBLE');
      case 'PARSE_JSON': case 'TO_VARIANT': case 'TO_OBJECT': case 'TO_ARRAY':
        return cast('JSON');
      case 'OBJECT_CONSTRUCT':
        return { sql: `json_object(${args().join(', ')})`, next: close + 1 };
      case 'ARRAY_CONSTRUCT':
        return { sql: `json_array(${args().join(', ')})`, next: close + 1 };
      case 'TO_BINARY': case 'HEX_DECODE_BINARY':
        return { sql: `from_hex(${args()[0]})`, next: close + 1 };
      case 'DATE_PART': {
        // DATE_PART(<part>, <expr>) ("DATE_PART" in the function reference);
        // epoch_second and friends are whole numbers since the epoch.
        const parts = splitCommas(s, open + 1, close);
        const part = String(parts[0] && parts[0][0] && parts[0][0].v).toLowerCase();
        const expr = this.tr(parts[1] || []);
        const epoch = {
          epoch_second: `CAST(floor(epoch(${expr})) AS BIGINT)`, epoch: `CAST(floor(epoch(${expr})) AS BIGINT)`,
          epoch_millisecond: `epoch_ms(${expr})`, epoch_microsecond: `epoch_us(${expr})`, epoch_nanosecond: `epoch_ns(${expr})`,
        }[part];
        return { sql: epoch ?? `date_part(${quoteString(part)}, ${expr})`, next: close + 1 };
      }
      case 'SHA2':
        return { sql: `sha256(${args()[0]})`, next: close + 1 };
      case 'SYSTEM$WAIT': {
        const parts = splitCommas(s, open + 1, close);
        const n = Number(parts[0] && parts[0][0] && parts[0][0].v);
        const unit = parts[1] && parts[1][0] ? String(parts[1][0].v).toUpperCase() : 'SECONDS';
        const mult = { SECONDS: 1, MILLISECONDS: 0.001, MINUTES: 60, HOURS: 3600 }[unit] ?? 1;
        if (!Number.isFinite(n)) throw syntaxError('SYSTEM$WAIT needs a numeric literal');
        this.ctx.waitSeconds += n * mult;
        return { sql: quoteString(`waited ${n} ${unit.toLowerCase()}`), next: close + 1 };
      }
      default:
        return null;
    }
  }
}

function joinSql(parts) {
  let out = '';
  for (const p of parts) {
    if (out === '') out = p;
    else if (p === '.' || p === ')' || p === ',' || out.endsWith('.') || out.endsWith('(') || p === '::' || out.endsWith('::')) out += p;
    else if (p === '(' && /[A-Za-z0-9_"]$/.test(out)) out += p;
    else out += ' ' + p;
  }
  return out;
}

// ---------------------------------------------------------------------------
// CREATE TABLE parsing.

// Parses CREATE [OR REPLACE] [TRANSIENT|TEMPORARY|...] TABLE [IF NOT EXISTS]
// name (coldefs) [CHANGE_TRACKING = TRUE] [COMMENT = '...'] | AS SELECT ...
export function parseCreateTable(s) {
  let i = 1;
  const r = { orReplace: false, ifNotExists: false, columns: [], pk: [], changeTracking: false };
  if (isWord(s[i], 'OR') && isWord(s[i + 1], 'REPLACE')) { r.orReplace = true; i += 2; }
  while (isWord(s[i], 'TRANSIENT', 'TEMPORARY', 'TEMP', 'LOCAL', 'GLOBAL', 'VOLATILE')) i++;
  if (!isWord(s[i], 'TABLE')) throw syntaxError('expected TABLE');
  i++;
  if (isWord(s[i], 'IF') && isWord(s[i + 1], 'NOT') && isWord(s[i + 2], 'EXISTS')) { r.ifNotExists = true; i += 3; }
  const nm = readName(s, i);
  if (!nm) throw syntaxError('expected table name');
  r.name = nm.parts;
  i = nm.next;
  if (isOp(s[i], '(')) {
    const close = matchParen(s, i);
    for (const def of splitCommas(s, i + 1, close)) parseColumnDef(def, r);
    i = close + 1;
  }
  // Table options and CTAS.
  while (i < s.length) {
    if (isWord(s[i], 'AS')) {
      r.asSelect = { from: i + 1 };
      break;
    }
    if (isWord(s[i], 'LIKE')) {
      const n2 = readName(s, i + 1);
      r.like = n2.parts;
      i = n2.next;
      continue;
    }
    if (isWord(s[i], 'CHANGE_TRACKING') && isOp(s[i + 1], '=')) {
      r.changeTracking = isWord(s[i + 2], 'TRUE');
      i += 3;
      continue;
    }
    if (s[i].k === 'word' && isOp(s[i + 1], '=')) {
      // Other table options (COMMENT, DATA_RETENTION_TIME_IN_DAYS, ...): ignored.
      i += 3;
      continue;
    }
    if (isWord(s[i], 'CLUSTER') && isWord(s[i + 1], 'BY') && isOp(s[i + 2], '(')) {
      i = matchParen(s, i + 2) + 1;
      continue;
    }
    throw syntaxError(`unexpected '${s[i].v}' in CREATE TABLE`);
  }
  return r;
}

function parseColumnDef(def, r) {
  if (!def.length) return;
  let j = 0;
  if (isWord(def[0], 'CONSTRAINT')) j = 2;
  if (isWord(def[j], 'PRIMARY') && isWord(def[j + 1], 'KEY')) {
    const open = j + 2;
    const close = matchParen(def, open);
    for (const p of splitCommas(def, open + 1, close)) r.pk.push(identName(p[0]));
    if (j === 2) r.pkName = identName(def[1]);
    return;
  }
  if (isWord(def[j], 'UNIQUE', 'FOREIGN', 'CHECK')) return; // not enforced by Snowflake
  const name = identName(def[0]);
  if (!name) throw syntaxError(`bad column definition near '${def[0].v}'`);
  const ty = readType(def, 1);
  if (!ty) throw syntaxError(`unsupported data type '${def[1] ? def[1].v : ''}' for column ${name}`);
  const col = { name, type: ty.type, nullable: true, defaultTokens: null, identity: null };
  let k = ty.next;
  while (k < def.length) {
    if (isWord(def[k], 'NOT') && isWord(def[k + 1], 'NULL')) { col.nullable = false; k += 2; continue; }
    if (isWord(def[k], 'NULL')) { k++; continue; }
    if (isWord(def[k], 'PRIMARY') && isWord(def[k + 1], 'KEY')) { r.pk.push(name); k += 2; continue; }
    if (isWord(def[k], 'UNIQUE')) { k++; continue; }
    if (isWord(def[k], 'COLLATE')) { col.collation = def[k + 1].v; k += 2; continue; }
    if (isWord(def[k], 'COMMENT')) { k += isOp(def[k + 1], '=') ? 3 : 2; continue; }
    if (isWord(def[k], 'AUTOINCREMENT', 'IDENTITY')) {
      col.identity = true;
      k++;
      if (isOp(def[k], '(')) k = matchParen(def, k) + 1;
      while (isWord(def[k], 'START', 'INCREMENT', 'ORDER', 'NOORDER')) k += isWord(def[k], 'START', 'INCREMENT') ? 2 : 1;
      continue;
    }
    if (isWord(def[k], 'DEFAULT')) {
      let e = k + 1;
      let depth = 0;
      while (e < def.length) {
        if (isOp(def[e], '(')) depth++;
        if (isOp(def[e], ')')) depth--;
        if (depth === 0 && e > k + 1 && isWord(def[e], 'NOT', 'NULL', 'PRIMARY', 'UNIQUE', 'COMMENT', 'COLLATE')) break;
        e++;
      }
      col.defaultTokens = def.slice(k + 1, e);
      k = e;
      continue;
    }
    throw syntaxError(`unexpected '${def[k].v}' in definition of column ${name}`);
  }
  r.columns.push(col);
}

// Classifies a statement by its leading keywords.
export function classify(s) {
  const w = (k) => (s[k] && s[k].k === 'word' ? s[k].v.toUpperCase() : '');
  const a = w(0);
  if (a === 'SELECT' || a === 'WITH' || isOp(s[0], '(') || a === 'VALUES') return 'query';
  if (['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'TRUNCATE'].includes(a)) return 'dml';
  if (a === 'BEGIN' || (a === 'START' && w(1) === 'TRANSACTION')) return 'begin';
  if (a === 'COMMIT') return 'commit';
  if (a === 'ROLLBACK') return 'rollback';
  if (a === 'SHOW') return 'show';
  if (a === 'DESCRIBE' || a === 'DESC') return 'describe';
  if (a === 'CALL') return 'call';
  if (a === 'EXECUTE' && w(1) === 'IMMEDIATE') return 'execute_immediate';
  if (a === 'USE') return 'use';
  if (a === 'CREATE' || a === 'DROP' || a === 'ALTER') {
    let k = 1;
    if (w(k) === 'OR' && w(k + 1) === 'REPLACE') k += 2;
    while (['TRANSIENT', 'TEMPORARY', 'TEMP', 'LOCAL', 'GLOBAL', 'VOLATILE', 'SECURE'].includes(w(k))) k++;
    return `${a.toLowerCase()}_${w(k).toLowerCase()}`;
  }
  return 'other';
}
