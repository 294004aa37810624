// The emulator's SQL engine: Snowflake databases as DuckDB files, a catalog
// of declared Snowflake types, a change log per change-tracked table, streams
// and the CHANGES clause computed from that log, and execution of one SQL
// API request (one session: its statements, its transaction).
//
// Layout on disk: every Snowflake database NAME is the DuckDB file
// STATE/NAME.duckdb attached as catalog "NAME" (so DB.SCHEMA.TABLE resolves
// natively). Each database holds a schema _EMULATOR with:
//   COLTYPES  declared Snowflake type of every column (rowType, INFORMATION_SCHEMA)
//   PKEYS     primary keys (SHOW PRIMARY KEYS; Snowflake does not enforce them)
//   TRACKED   change-tracked tables and when tracking started
//   STREAMS   streams: source table, offset (a change-log sequence number)
//   LOG$S$T   the change log of table S.T: one row per inserted or deleted
//             row version (an UPDATE logs the old version as DELETE and the
//             new one as INSERT, both flagged as update)
//   SEQ       the sequence numbering change-log rows
// Every user table has a hidden last column _EMU_ROWID (the stream's
// METADATA$ROW_ID), filled by a default, never shown by `*`.
//
// Stream semantics follow Snowflake's "Introduction to streams": a standard
// stream returns the net change per row between its offset and now
// (METADATA$ACTION INSERT/DELETE, METADATA$ISUPDATE, METADATA$ROW_ID); an
// update is a DELETE+INSERT pair with ISUPDATE = TRUE; a row inserted and
// deleted in the interval does not appear; the offset advances only when a
// DML statement that reads the stream commits (a SELECT does not advance it,
// a ROLLBACK undoes the advance because the offset lives in the same DuckDB
// transaction). The CHANGES clause ("CHANGES" in the SQL command reference)
// reads the same log between AT/BEFORE and END points.

import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { SqlError, syntaxError, tokenize, sig, splitStatements, isWord, isOp, identName,
  quoteIdent as qi, quoteString as qs, readName, matchParen, splitCommas } from './sqltok.mjs';
import { Translator, parseCreateTable, classify, readType, ROWID } from './translate.mjs';
import { rowTypeFor, encodeValue } from './types.mjs';

const EMU = '_EMULATOR';
const NOT_ALIAS = new Set(['WHERE', 'JOIN', 'LEFT', 'RIGHT', 'INNER', 'OUTER', 'FULL', 'CROSS', 'ON', 'GROUP',
  'ORDER', 'LIMIT', 'UNION', 'HAVING', 'QUALIFY', 'WINDOW', 'EXCEPT', 'MINUS', 'INTERSECT', 'USING', 'NATURAL',
  'SAMPLE', 'AT', 'BEFORE', 'CHANGES', 'LATERAL', 'PIVOT', 'UNPIVOT', 'OFFSET', 'FETCH', 'SET', 'END', 'WHEN',
  'THEN', 'ELSE', 'VALUES', 'SELECT', 'RETURNING']);

// Snowflake format elements ("Date and time formats in conversion
// functions") -> strftime; other text is kept as written.
const FORMAT_ELEMENTS = [
  ['YYYY', '%Y'], ['YY', '%y'], ['MMMM', '%B'], ['MON', '%b'], ['MM', '%m'], ['DD', '%d'], ['DY', '%a'],
  ['HH24', '%H'], ['HH12', '%I'], ['AM', '%p'], ['PM', '%p'], ['MI', '%M'], ['SS', '%S'],
  ['FF9', '%n'], ['FF6', '%f'], ['FF3', '%g'], ['FF', '%n'], ['TZH:TZM', '%z'], ['TZHTZM', '%z'], ['TZH', '%z'],
];
function strftimeFormat(format) {
  let out = '';
  for (let i = 0; i < format.length;) {
    const el = FORMAT_ELEMENTS.find(([k]) => format.slice(i, i + k.length).toUpperCase() === k);
    if (el) {
      out += el[1];
      i += el[0].length;
    } else if (format[i] === '"') {
      const end = format.indexOf('"', i + 1);
      out += format.slice(i + 1, end < 0 ? undefined : end).replace(/%/g, '%%');
      i = end < 0 ? format.length : end + 1;
    } else {
      out += format[i] === '%' ? '%%' : format[i];
      i++;
    }
  }
  return out;
}

// sf_text(x): x as text in the session's output formats (dates, times,
// timestamps) or as DuckDB's text (anything else). The date/time branches
// re-read x's own text, so the macro binds for every type.
function textMacro(f) {
  const fmt = (v, dflt) => qs(strftimeFormat(v || dflt));
  const ISO = 'YYYY-MM-DD HH24:MI:SS.FF9';
  return `CREATE OR REPLACE TEMP MACRO sf_text(x) AS CASE
    WHEN typeof(x) IN ('TIMESTAMP', 'TIMESTAMP_NS', 'TIMESTAMP_MS', 'TIMESTAMP_S')
      THEN strftime(TRY_CAST(CAST(x AS VARCHAR) AS TIMESTAMP_NS), ${fmt(f.ntz, ISO)})
    WHEN typeof(x) = 'TIMESTAMP WITH TIME ZONE'
      THEN strftime(TRY_CAST(CAST(x AS VARCHAR) AS TIMESTAMPTZ), ${fmt(f.tz || f.ltz, ISO + ' TZH:TZM')})
    WHEN typeof(x) = 'DATE' THEN strftime(TRY_CAST(CAST(x AS VARCHAR) AS DATE), ${fmt(f.date, 'YYYY-MM-DD')})
    WHEN typeof(x) = 'TIME'
      THEN strftime(TRY_CAST('1970-01-01 ' || CAST(x AS VARCHAR) AS TIMESTAMP_NS), ${fmt(f.time, 'HH24:MI:SS')})
    ELSE CAST(x AS VARCHAR) END`;
}

// A timestamp literal with an explicit offset (or Z).
const ZONED_LITERAL = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})$/i;

export class Engine {
  constructor({ stateDir, defaultDatabase = 'FLOE_TEST', defaultSchema = 'PUBLIC' }) {
    this.stateDir = stateDir;
    this.defaultDatabase = defaultDatabase;
    this.defaultSchema = defaultSchema;
    this.databases = new Set();
    this.lastTs = 0n;
    this.stats = { detachedTransactions: 0, blockRollbacks: 0 };
  }

  async open() {
    fs.mkdirSync(this.stateDir, { recursive: true });
    this.instance = await DuckDBInstance.create(':memory:');
    this.admin = await this.instance.connect();
    for (const f of fs.readdirSync(this.stateDir)) {
      if (f.endsWith('.duckdb')) await this.ensureDatabase(decodeURIComponent(f.slice(0, -7)));
    }
    await this.ensureDatabase(this.defaultDatabase);
  }

  close() {
    try { this.admin.closeSync(); } catch { /* already closed */ }
    try { this.instance.closeSync(); } catch { /* already closed */ }
  }

  fileFor(db) {
    return path.join(this.stateDir, encodeURIComponent(db) + '.duckdb');
  }

  async ensureDatabase(db) {
    if (this.databases.has(db)) return;
    await this.admin.run(`ATTACH IF NOT EXISTS ${qs(this.fileFor(db))} AS ${qi(db)}`);
    const d = qi(db);
    const e = `${d}.${qi(EMU)}`;
    await this.admin.run(`CREATE SCHEMA IF NOT EXISTS ${d}.${qi('PUBLIC')}`);
    await this.admin.run(`CREATE SCHEMA IF NOT EXISTS ${e}`);
    await this.admin.run(`CREATE SEQUENCE IF NOT EXISTS ${e}.SEQ`);
    await this.admin.run(`CREATE TABLE IF NOT EXISTS ${e}.COLTYPES (SCHEMA_NAME VARCHAR, TABLE_NAME VARCHAR,
      COLUMN_NAME VARCHAR, SF_TYPE VARCHAR, PRECISION INTEGER, SCALE INTEGER, LENGTH BIGINT, NULLABLE BOOLEAN,
      DUCK_TYPE VARCHAR, COLUMN_DEFAULT VARCHAR, COLLATION_NAME VARCHAR)`);
    await this.admin.run(`CREATE TABLE IF NOT EXISTS ${e}.PKEYS (SCHEMA_NAME VARCHAR, TABLE_NAME VARCHAR,
      COLUMN_NAME VARCHAR, KEY_SEQUENCE INTEGER, CONSTRAINT_NAME VARCHAR, CREATED_ON TIMESTAMPTZ)`);
    await this.admin.run(`CREATE TABLE IF NOT EXISTS ${e}.TRACKED (SCHEMA_NAME VARCHAR, TABLE_NAME VARCHAR,
      SINCE_SEQ BIGINT, SINCE_TS TIMESTAMPTZ)`);
    await this.admin.run(`CREATE TABLE IF NOT EXISTS ${e}.STREAMS (SCHEMA_NAME VARCHAR, STREAM_NAME VARCHAR,
      TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR, OFFSET_SEQ BIGINT, APPEND_ONLY BOOLEAN, CREATED_ON TIMESTAMPTZ)`);
    await this.admin.run(`CREATE OR REPLACE VIEW ${e}.INFO_COLUMNS AS
      SELECT c.database_name AS TABLE_CATALOG, c.schema_name AS TABLE_SCHEMA, c.table_name AS TABLE_NAME,
        c.column_name AS COLUMN_NAME,
        CAST(row_number() OVER (PARTITION BY c.schema_name, c.table_name ORDER BY c.column_index) AS DECIMAL(9,0)) AS ORDINAL_POSITION,
        COALESCE(m.COLUMN_DEFAULT, c.column_default) AS COLUMN_DEFAULT,
        CASE WHEN COALESCE(m.NULLABLE, c.is_nullable) THEN 'YES' ELSE 'NO' END AS IS_NULLABLE,
        COALESCE(m.SF_TYPE, CASE
          WHEN c.data_type LIKE 'DECIMAL%' OR c.data_type IN ('TINYINT','SMALLINT','INTEGER','BIGINT','HUGEINT') THEN 'NUMBER'
          WHEN c.data_type IN ('DOUBLE','FLOAT') THEN 'FLOAT'
          WHEN c.data_type = 'BOOLEAN' THEN 'BOOLEAN'
          WHEN c.data_type = 'DATE' THEN 'DATE'
          WHEN c.data_type = 'TIME' THEN 'TIME'
          WHEN c.data_type = 'TIMESTAMP WITH TIME ZONE' THEN 'TIMESTAMP_LTZ'
          WHEN c.data_type LIKE 'TIMESTAMP%' THEN 'TIMESTAMP_NTZ'
          WHEN c.data_type = 'BLOB' THEN 'BINARY'
          WHEN c.data_type = 'JSON' THEN 'VARIANT'
          ELSE 'TEXT' END) AS DATA_TYPE,
        CAST(CASE WHEN COALESCE(m.SF_TYPE, '') IN ('TEXT','BINARY') THEN m.LENGTH
                  WHEN m.SF_TYPE IS NULL AND c.data_type = 'VARCHAR' THEN 16777216 END AS DECIMAL(9,0)) AS CHARACTER_MAXIMUM_LENGTH,
        CAST(CASE WHEN m.SF_TYPE = 'TEXT' THEN LEAST(m.LENGTH * 4, 16777216) WHEN m.SF_TYPE = 'BINARY' THEN m.LENGTH
                  WHEN m.SF_TYPE IS NULL AND c.data_type = 'VARCHAR' THEN 16777216 END AS DECIMAL(9,0)) AS CHARACTER_OCTET_LENGTH,
        CAST(CASE WHEN m.SF_TYPE = 'NUMBER' THEN m.PRECISION WHEN m.SF_TYPE IS NULL AND c.data_type LIKE 'DECIMAL%' THEN c.numeric_precision
                  WHEN m.SF_TYPE IS NULL AND c.data_type IN ('TINYINT','SMALLINT','INTEGER','BIGINT','HUGEINT') THEN 38 END AS DECIMAL(9,0)) AS NUMERIC_PRECISION,
        CAST(CASE WHEN m.SF_TYPE = 'NUMBER' THEN 10 WHEN m.SF_TYPE IS NULL AND (c.data_type LIKE 'DECIMAL%' OR c.data_type IN ('TINYINT','SMALLINT','INTEGER','BIGINT','HUGEINT')) THEN 10 END AS DECIMAL(9,0)) AS NUMERIC_PRECISION_RADIX,
        CAST(CASE WHEN m.SF_TYPE = 'NUMBER' THEN m.SCALE WHEN m.SF_TYPE IS NULL AND c.data_type LIKE 'DECIMAL%' THEN c.numeric_scale
                  WHEN m.SF_TYPE IS NULL AND c.data_type IN ('TINYINT','SMALLINT','INTEGER','BIGINT','HUGEINT') THEN 0 END AS DECIMAL(9,0)) AS NUMERIC_SCALE,
        CAST(CASE WHEN m.SF_TYPE IN ('TIME','TIMESTAMP_NTZ','TIMESTAMP_LTZ','TIMESTAMP_TZ') THEN m.SCALE
                  WHEN m.SF_TYPE IS NULL AND (c.data_type LIKE 'TIME%') THEN 9 END AS DECIMAL(9,0)) AS DATETIME_PRECISION,
        m.COLLATION_NAME AS COLLATION_NAME,
        CAST(NULL AS VARCHAR) AS COMMENT
      FROM duckdb_columns() c
      LEFT JOIN ${e}.COLTYPES m ON m.SCHEMA_NAME = c.schema_name AND m.TABLE_NAME = c.table_name AND m.COLUMN_NAME = c.column_name
      WHERE c.database_name = ${qs(db)} AND c.schema_name <> ${qs(EMU)} AND c.column_name <> ${qs(ROWID)}`);
    await this.admin.run(`CREATE OR REPLACE VIEW ${e}.INFO_TABLES AS
      SELECT t.database_name AS TABLE_CATALOG, t.schema_name AS TABLE_SCHEMA, t.table_name AS TABLE_NAME,
        CAST(NULL AS VARCHAR) AS TABLE_OWNER, 'BASE TABLE' AS TABLE_TYPE, 'NO' AS IS_TRANSIENT,
        CAST(t.estimated_size AS DECIMAL(38,0)) AS ROW_COUNT, CAST(NULL AS VARCHAR) AS COMMENT
      FROM duckdb_tables() t WHERE t.database_name = ${qs(db)} AND t.schema_name <> ${qs(EMU)}
      UNION ALL
      SELECT v.database_name, v.schema_name, v.view_name, NULL, 'VIEW', 'NO', NULL, NULL
      FROM duckdb_views() v WHERE v.database_name = ${qs(db)} AND v.schema_name <> ${qs(EMU)} AND NOT v.internal`);
    this.databases.add(db);
  }

  // Statement timestamp: strictly increasing microseconds, so change-log
  // entries of successive statements never share a timestamp.
  nextTs() {
    if (this.pinTs !== undefined) return this.pinTs;
    let now = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
    if (now <= this.lastTs) now = this.lastTs + 1n;
    this.lastTs = now;
    return now;
  }

  // Runs one SQL API request. Returns { results: [result], ... } or throws
  // SqlError (with .statementIndex). `hooks.onStatement(i)` is called before
  // each statement; `signal` is checked between statements.
  async runRequest(req, hooks = {}) {
    const db = req.database ? req.database : this.defaultDatabase;
    const schema = req.schema ? req.schema : this.defaultSchema;
    // "Submitting a request": the database, schema, warehouse and role
    // fields are case-sensitive and must match the names SHOW returns
    // (unquoted names are stored upper-case). A name that matches no
    // object exactly leaves the session without that context, and every
    // statement fails the way Snowflake fails one that needs it.
    if (req.database && !this.databases.has(req.database)) {
      throw new SqlError('090105', '22000', `Cannot perform statement. This session does not have a current database. Call 'USE DATABASE', or use a qualified name. (database '${req.database}' does not exist; names in the request body are case-sensitive)`);
    }
    await this.ensureDatabase(db);
    if (req.schema) {
      const found = (await (await this.admin.runAndReadAll(`SELECT 1 FROM duckdb_schemas() WHERE database_name = ${qs(db)} AND schema_name = ${qs(schema)}`)).getRows()).length > 0;
      if (!found) {
        throw new SqlError('090106', '22000', `Cannot perform statement. This session does not have a current schema. Call 'USE SCHEMA', or use a qualified name. (schema '${schema}' does not exist in database '${db}'; names in the request body are case-sensitive)`);
      }
    }
    const conn = await this.instance.connect();
    hooks.onConnection && hooks.onConnection(conn);
    const session = { db, schema, inTxn: false, timezone: req.timezone || 'UTC', conn };
    const results = [];
    try {
      await conn.run(`CREATE SCHEMA IF NOT EXISTS ${qi(db)}.${qi(schema)}`);
      await conn.run(`USE ${qi(db)}.${qi(schema)}`);
      await conn.run(`SET TimeZone = ${qs(session.timezone)}`);
      // Account output formats: text conversions of dates, times and
      // timestamps (CAST(x AS VARCHAR), TO_VARCHAR(x)) render in them, as
      // Snowflake does, so a client that parses such text breaks here too.
      if (req.outputFormats) {
        await conn.run(textMacro(req.outputFormats));
        session.textMacro = true;
      }
      const stmts = req.statements;
      for (let i = 0; i < stmts.length; i++) {
        if (hooks.onStatement) await hooks.onStatement(i);
        try {
          results.push(await this.runStatement(session, stmts[i], req));
        } catch (err) {
          const e = toSqlError(err);
          e.statementIndex = i;
          throw e;
        }
      }
      return { results };
    } finally {
      if (session.inTxn) {
        // A request (a session) that ends inside an explicit transaction
        // leaves it detached, holding its locks, until it is aborted
        // ("Transactions" -> "Aborting transactions"). The emulator rolls
        // it back (DuckDB cannot keep it) and counts it, so tests can
        // check a client never leaves one.
        this.stats.detachedTransactions++;
        try { await conn.run('ROLLBACK'); } catch { /* aborted already */ }
      }
      conn.closeSync();
    }
  }

  async q(session, sql) {
    return session.conn.runAndReadAll(sql);
  }

  async rows(session, sql) {
    return (await this.q(session, sql)).getRowObjectsJS();
  }

  async inTxn(session, fn) {
    if (session.inTxn) return fn();
    await session.conn.run('BEGIN TRANSACTION');
    try {
      const r = await fn();
      await session.conn.run('COMMIT');
      return r;
    } catch (err) {
      try { await session.conn.run('ROLLBACK'); } catch { /* already aborted */ }
      throw err;
    }
  }

  resolve(session, parts) {
    if (parts.length === 1) return [session.db, session.schema, parts[0]];
    if (parts.length === 2) return [session.db, parts[0], parts[1]];
    return parts.slice(-3);
  }

  // TIMESTAMP_TZ keeps the offset each value was written with (Snowflake's
  // "Date & time data types": TIMESTAMP_TZ stores UTC time together with
  // an associated time zone offset), and the SQL API returns it ("<epoch
  // seconds> <offset minutes + 1440>"). DuckDB's TIMESTAMPTZ keeps only the
  // instant, so the emulator remembers the offset of every timestamp
  // literal written with an explicit one ('2024-03-01 12:00:00 +05:30'),
  // by instant (microseconds); a TIMESTAMP_TZ value at such an instant is
  // returned with that offset, any other with the session's TIMEZONE. Two
  // values at the same instant with different offsets are not told apart,
  // and the memory does not outlive the process.
  noteZonedLiterals(tokens) {
    if (!this.tzOffsets) this.tzOffsets = new Map();
    for (const t of tokens) {
      if (t.k !== 'string') continue;
      const m = ZONED_LITERAL.exec(t.v.trim());
      if (!m) continue;
      const [, y, mo, d, h, mi, sec = '0', frac = '', zone] = m;
      let off = 0;
      if (!/^z$/i.test(zone)) {
        const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
        off = (z[1] === '-' ? -1 : 1) * (+z[2] * 60 + +z[3]);
      }
      const wallMicros = BigInt(Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec)) * 1000n + BigInt((frac + '000000').slice(0, 6));
      this.tzOffsets.set(String(wallMicros - BigInt(off) * 60000000n), off);
    }
  }

  // A change committed at exactly the instant a client reads as "now"
  // (the boundary of a CHANGES window): armed by the admin API
  // (/_emulator/change-at-now), the next `SELECT CURRENT_TIMESTAMP()`
  // takes its instant t, runs the armed DML in a session of its own with
  // every change-log entry stamped t, and answers t. A window ending at t
  // (END is inclusive) holds that change, and the next window, AT(t),
  // which is the state including it, does not.
  async changeAtNow(session) {
    const plan = this.armedChangeAtNow;
    this.armedChangeAtNow = null;
    const t = this.nextTs();
    this.pinTs = t;
    try {
      await this.runRequest({ database: session.db, schema: plan.schema, statements: splitRequest(plan.statement) });
    } finally {
      this.pinTs = undefined;
    }
    this.stats.changesAtNow = [...(this.stats.changesAtNow || []), String(t)];
    return this.runQuery(session, `SELECT ${tsLit(t)} AS "CURRENT_TIMESTAMP()"`, { fromTables: [] }, {}, ['CURRENT_TIMESTAMP()']);
  }

  async runStatement(session, tokens, req) {
    this.noteZonedLiterals(tokens);
    if (this.armedChangeAtNow &&
        /^SELECT CURRENT_TIMESTAMP\(\)$/i.test(sig(tokens).map((t) => t.v).join(' ').replace(/ \( \)/, '()').replace(/ ;$/, ''))) {
      return this.changeAtNow(session);
    }
    const s = sig(tokens);
    const kind = classify(s);
    switch (kind) {
      case 'begin':
        if (session.inTxn) return statusResult('Statement executed successfully.');
        await session.conn.run('BEGIN TRANSACTION');
        session.inTxn = true;
        return statusResult('Statement executed successfully.');
      case 'commit':
        if (session.inTxn) {
          session.inTxn = false;
          await session.conn.run('COMMIT');
        }
        return statusResult('Statement executed successfully.');
      case 'rollback':
        if (session.inTxn) {
          session.inTxn = false;
          await session.conn.run('ROLLBACK');
        }
        return statusResult('Statement executed successfully.');
      case 'use':
        throw new SqlError('000002', '0A000', 'Unsupported feature: USE is not supported by the SQL API (set database/schema in the request body).');
      case 'create_database': return this.createDatabase(session, s);
      case 'create_schema': return this.createSchema(session, s);
      case 'create_table': return this.createTable(session, s, req);
      case 'create_stream': return this.createStream(session, s);
      case 'drop_table': case 'drop_stream': case 'drop_schema': case 'drop_view':
        return this.drop(session, s, kind.slice(5));
      case 'alter_table': return this.alterTable(session, s, req);
      case 'show': return this.show(session, s);
      case 'describe': return this.describe(session, s);
      case 'call': {
        const tr = this.translator(session, req);
        const sql = tr.tr(s, 1);
        await this.wait(tr.ctx.waitSeconds, req);
        return this.runQuery(session, `SELECT ${sql} AS ${qi(stripWaitName(s))}`, tr.ctx, req);
      }
      case 'dml': return this.withExcludeRetry((extra) => this.dmlRows(session, s, req, extra));
      case 'execute_immediate': return this.executeImmediate(session, s, req);
      default:
        return this.withExcludeRetry(async (extra) => {
          const tr = this.translator(session, req, extra);
          await this.loadCatalog(session, tr.ctx);
          let sql = tr.tr(s);
          await this.wait(tr.ctx.waitSeconds, req);
          for (const check of tr.ctx.windowChecks || []) await session.conn.run(check);
          sql = await this.fillBoundaries(session, tr.ctx, sql);
          return this.runQuery(session, sql, tr.ctx, req);
        });
    }
  }

  // EXECUTE IMMEDIATE '<Snowflake Scripting block>' ("BEGIN ... END
  // (Snowflake Scripting)", "Handling exceptions"): the block form floe
  // sends, and no more of Snowflake Scripting:
  //   BEGIN <statement>; ... [EXCEPTION WHEN OTHER THEN <statement>; ...] END;
  // where a handler statement is any statement, or RAISE; (re-raises the
  // error being handled). A block runs in the request's session, so a
  // transaction it opens and does not end stays open (and detached) when
  // the request ends.
  async executeImmediate(session, s, req) {
    const text = s[2] && s[2].k === 'string' ? s[2].v : null;
    if (text === null || s.length > 3) throw syntaxError('EXECUTE IMMEDIATE takes one string constant (the emulator supports no USING)');
    const body = splitStatements(tokenize(text));
    const words = (st) => sig(st).map((t) => (t.k === 'word' ? t.v.toUpperCase() : t.v));
    if (!body.length || words(body[0])[0] !== 'BEGIN' || words(body[0]).length < 2) {
      throw syntaxError('EXECUTE IMMEDIATE: the emulator runs only a BEGIN ... END block');
    }
    const last = words(body[body.length - 1]);
    if (last.join(' ') !== 'END') throw syntaxError('EXECUTE IMMEDIATE: the block must end with END;');
    const stmts = [sig(body[0]).slice(1), ...body.slice(1, -1).map(sig)];
    const at = stmts.findIndex((st) => isWord(st[0], 'EXCEPTION'));
    const main = at < 0 ? stmts : stmts.slice(0, at);
    let handler = null;
    if (at >= 0) {
      const h = stmts[at];
      if (!(isWord(h[1], 'WHEN') && isWord(h[2], 'OTHER') && isWord(h[3], 'THEN'))) {
        throw syntaxError('EXCEPTION: the emulator supports only WHEN OTHER THEN');
      }
      handler = [h.slice(4), ...stmts.slice(at + 1)].filter((st) => st.length);
    }
    try {
      for (const st of main) {
        if (req.abort && req.abort.aborted) throw req.abort.reason;
        await this.runStatement(session, st, { ...req, bindings: undefined });
      }
    } catch (err) {
      if (!handler) throw err;
      for (const st of handler) {
        if (words(st).join(' ') === 'RAISE') throw err;
        if (classify(st) === 'rollback') this.stats.blockRollbacks++;
        await this.runStatement(session, st, { ...req, bindings: undefined });
      }
    }
    return { rowType: [rowTypeFor('anonymous block', 'VARCHAR', null)], data: [[null]] };
  }

  // `t.*` is emitted as `t.* EXCLUDE (_EMU_ROWID)`; when t is a subquery
  // without that column DuckDB rejects it, and the statement is translated
  // again without the EXCLUDE.
  async withExcludeRetry(fn) {
    try {
      return await fn({});
    } catch (err) {
      if (err.retryWithoutExclude || /EXCLUDE list not found/.test(String(err.message))) return fn({ noQualifiedExclude: true });
      throw err;
    }
  }

  // Array bindings ("value": [..]) run the statement once per row and add
  // up the counts.
  async dmlRows(session, s, req, extra) {
    const n = arrayBindingRows(req.bindings);
    if (!n) return this.dml(session, s, req, extra);
    let total = null;
    for (let r = 0; r < n; r++) {
      const one = await this.dml(session, s, { ...req, bindingRow: r }, extra);
      if (!total) total = one;
      else {
        total.data = [total.data[0].map((v, i) => String(Number(v) + Number(one.data[0][i])))];
        for (const k of Object.keys(total.stats || {})) total.stats[k] += one.stats[k];
      }
    }
    return total;
  }

  async wait(seconds, req) {
    if (!seconds) return;
    if (req.abort && req.abort.aborted) throw req.abort.reason;
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, seconds * 1000);
      if (req.abort) {
        req.abort.addEventListener('abort', () => { clearTimeout(t); reject(req.abort.reason); }, { once: true });
      }
    });
  }

  translator(session, req, extra = {}) {
    const ctx = {
      db: session.db, schema: session.schema, bindings: req.bindings, bindingRow: req.bindingRow,
      textMacro: !!session.textMacro,
      streamsUsed: [], boundaries: new Map(), ...extra,
    };
    ctx.hooks = { tableRef: (resolved, s, next, parts, tr) => this.tableRef(ctx, resolved, s, next, parts, tr) };
    return new Translator(ctx);
  }

  // Loads streams and tracked tables of every attached database into ctx.
  async loadCatalog(session, ctx) {
    await this.refreshColumnsCache(session);
    ctx.streams = new Map();
    ctx.tracked = new Map();
    for (const db of this.databases) {
      const e = `${qi(db)}.${qi(EMU)}`;
      for (const r of await this.rows(session, `SELECT * FROM ${e}.STREAMS`)) {
        ctx.streams.set(`${db}.${r.SCHEMA_NAME}.${r.STREAM_NAME}`, { db, ...r });
      }
      for (const r of await this.rows(session, `SELECT SCHEMA_NAME, TABLE_NAME, SINCE_SEQ, CAST(SINCE_TS AS VARCHAR) AS SINCE_TS FROM ${e}.TRACKED`)) {
        ctx.tracked.set(`${db}.${r.SCHEMA_NAME}.${r.TABLE_NAME}`, r);
      }
    }
  }

  // FROM-position rewrite hook (see Translator.tr).
  tableRef(ctx, resolved, s, next, parts, tr) {
    const [db, schema, name] = resolved;
    const aliasFollows = () => {
      const t = s[next2];
      return t && ((t.k === 'word' && !NOT_ALIAS.has(t.v.toUpperCase())) || t.k === 'qident');
    };
    let next2 = next;
    // INFORMATION_SCHEMA.COLUMNS / TABLES ("Snowflake Information Schema").
    if (parts.length >= 2 && parts[parts.length - 2].toUpperCase() === 'INFORMATION_SCHEMA' &&
        ['COLUMNS', 'TABLES'].includes(parts[parts.length - 1].toUpperCase())) {
      const idb = parts.length === 3 ? parts[0] : ctx.db;
      if (!this.databases.has(idb)) throw notExist(`${idb}.INFORMATION_SCHEMA.${parts[parts.length - 1]}`);
      const view = `${qi(idb)}.${qi(EMU)}.${parts[parts.length - 1].toUpperCase() === 'COLUMNS' ? 'INFO_COLUMNS' : 'INFO_TABLES'}`;
      return { sql: view + (aliasFollows() ? '' : ` AS ${qi(parts[parts.length - 1].toUpperCase())}`), next };
    }
    if (!ctx.streams) return null;
    const key = `${db}.${schema}.${name}`;
    // <table> CHANGES(INFORMATION => ...) AT|BEFORE(...) [END(...)]
    if (isWord(s[next], 'CHANGES') && isOp(s[next + 1], '(')) {
      const tracked = ctx.tracked.get(key);
      if (!tracked) {
        throw new SqlError('000904', '42000', `SQL compilation error:\nChange tracking is not enabled or has been missing for the time range requested on table '${name}'.`);
      }
      let close = matchParen(s, next + 1);
      const info = s.slice(next + 2, close);
      const appendOnly = info.some((t) => isWord(t, 'APPEND_ONLY'));
      let j = close + 1;
      const preds = [];
      const stamps = {};
      for (const clause of ['AT', 'BEFORE', 'END']) {
        if (isWord(s[j], clause) && isOp(s[j + 1], '(')) {
          close = matchParen(s, j + 1);
          const kindTok = s[j + 2];
          if (!isOp(s[j + 3], '=>')) throw syntaxError(`expected => in ${clause}(...)`);
          const expr = s.slice(j + 4, close);
          preds.push(this.changesPred(ctx, clause, kindTok.v.toUpperCase(), expr, tr, tracked, db, name));
          if (kindTok.v.toUpperCase() === 'TIMESTAMP') stamps[clause] = ctx.lastStamp;
          j = close + 1;
        }
      }
      if (!preds.length) throw syntaxError('CHANGES requires an AT or BEFORE clause');
      // "CHANGES" documents END as the end of the interval, inclusive; it
      // does not say what a window whose end is not after its start does.
      // The emulator refuses one, so no client relies on it.
      if (stamps.AT && stamps.END) {
        ctx.windowChecks = ctx.windowChecks || [];
        ctx.windowChecks.push(`SELECT CASE WHEN ${stamps.END} <= ${stamps.AT} THEN error(${qs(`CHANGES window on table '${name}' is empty: END(TIMESTAMP) must be later than AT(TIMESTAMP) (undocumented in Snowflake; refused by the emulator)`)}) ELSE 1 END`);
      }
      next2 = j;
      ctx.fromTables.push(resolved);
      const sub = this.changesSql(db, schema, name, preds.join(' AND '), appendOnly);
      return { sql: `(${sub})` + (aliasFollows() ? '' : ` AS ${qi(name)}`), next: j };
    }
    const st = ctx.streams.get(key);
    if (st) {
      if (!ctx.tracked.get(`${db}.${st.TABLE_SCHEMA}.${st.TABLE_NAME}`)) {
        throw new SqlError('091901', '55000', `Base table '${db}.${st.TABLE_SCHEMA}.${st.TABLE_NAME}' dropped, cannot read from stream '${name}'.`);
      }
      ctx.streamsUsed.push(st);
      ctx.fromTables.push([db, st.TABLE_SCHEMA, st.TABLE_NAME]);
      const pred = `_EMU_SEQ > ${st.OFFSET_SEQ} AND _EMU_SEQ < {{BOUNDARY:${db}}}`;
      ctx.boundaries.set(db, null);
      const sub = this.changesSql(db, st.TABLE_SCHEMA, st.TABLE_NAME, pred, st.APPEND_ONLY);
      return { sql: `(${sub})` + (aliasFollows() ? '' : ` AS ${qi(name)}`), next };
    }
    return null;
  }

  changesPred(ctx, clause, kind, expr, tr, tracked, db, table) {
    const since = `TIMESTAMPTZ ${qs(tracked.SINCE_TS)}`;
    const guard = (tsExpr) => `(CASE WHEN ${tsExpr} < ${since} THEN error(${qs(`Change tracking is not enabled or has been missing for the time range requested on table '${table}'.`)}) ELSE TRUE END)`;
    let ts;
    if (kind === 'TIMESTAMP') ctx.lastStamp = ts = `CAST((${tr.tr(expr)}) AS TIMESTAMPTZ)`;
    else if (kind === 'OFFSET') ts = `(CURRENT_TIMESTAMP + to_microseconds(CAST((${tr.tr(expr)}) * 1000000 AS BIGINT)))`;
    else if (kind === 'STREAM') {
      if (clause === 'END') throw syntaxError('END(STREAM => ...) is not supported');
      const nameTok = expr[0];
      const parts = nameTok.k === 'string' ? nameTok.v.split('.').map((p) => p.replace(/^"|"$/g, '')) : readName(expr, 0).parts;
      const up = nameTok.k === 'string' ? parts.map((p) => (/^[A-Za-z_][A-Za-z0-9_$]*$/.test(p) ? p.toUpperCase() : p)) : parts;
      const r = up.length === 1 ? [ctx.db, ctx.schema, up[0]] : up.length === 2 ? [ctx.db, up[0], up[1]] : up;
      const st = ctx.streams.get(r.join('.'));
      if (!st) throw notExist(r.join('.'));
      return `_EMU_SEQ > ${st.OFFSET_SEQ}`;
    } else {
      throw new SqlError('000002', '0A000', `Unsupported feature: ${clause}(${kind} => ...) in the emulator`);
    }
    if (clause === 'END') return `_EMU_TS <= ${ts}`;
    return `${guard(ts)} AND _EMU_TS ${clause === 'AT' ? '>' : '>='} ${ts}`;
  }

  // Net changes of table db.schema.table over the log rows matching `pred`.
  changesSql(db, schema, table, pred, appendOnly) {
    const log = `${qi(db)}.${qi(EMU)}.${qi(`LOG$${schema}$${table}`)}`;
    const cols = this.userColumnsCache.get(`${db}.${schema}.${table}`) || [];
    const sel = cols.map(qi).join(', ');
    const lead = sel ? sel + ', ' : '';
    if (appendOnly) {
      return `SELECT ${lead}'INSERT' AS "METADATA$ACTION", FALSE AS "METADATA$ISUPDATE", ${ROWID} AS "METADATA$ROW_ID"
        FROM ${log} WHERE ${pred} AND _EMU_ACTION = 'INSERT' AND NOT _EMU_ISUPDATE`;
    }
    return `SELECT ${lead}_EMU_ACTION AS "METADATA$ACTION", (_FA = 'DELETE' AND _LA = 'INSERT') AS "METADATA$ISUPDATE",
        ${ROWID} AS "METADATA$ROW_ID" FROM (
      SELECT *, first_value(_EMU_ACTION) OVER w AS _FA, last_value(_EMU_ACTION) OVER w AS _LA,
        row_number() OVER (PARTITION BY ${ROWID} ORDER BY _EMU_SEQ) AS _RNF,
        row_number() OVER (PARTITION BY ${ROWID} ORDER BY _EMU_SEQ DESC) AS _RNL
      FROM ${log} WHERE ${pred}
      WINDOW w AS (PARTITION BY ${ROWID} ORDER BY _EMU_SEQ ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
      WHERE (_RNF = 1 AND _EMU_ACTION = 'DELETE') OR (_RNL = 1 AND _EMU_ACTION = 'INSERT')`;
  }

  // Replaces {{BOUNDARY:db}} placeholders with a fresh sequence value: the
  // upper bound of what a stream read sees and the stream's next offset.
  async fillBoundaries(session, ctx, sql) {
    for (const db of ctx.boundaries.keys()) {
      const r = await this.rows(session, `SELECT nextval('${db.replace(/'/g, "''")}.${EMU}.SEQ') AS B`);
      ctx.boundaries.set(db, r[0].B);
      sql = sql.split(`{{BOUNDARY:${db}}}`).join(String(r[0].B));
    }
    return sql;
  }

  async userColumns(session, db, schema, table) {
    const r = await this.rows(session, `SELECT column_name AS N, data_type AS T FROM duckdb_columns()
      WHERE database_name = ${qs(db)} AND schema_name = ${qs(schema)} AND table_name = ${qs(table)} ORDER BY column_index`);
    return r;
  }

  get userColumnsCache() {
    if (!this._ucc) this._ucc = new Map();
    return this._ucc;
  }

  async refreshColumnsCache(session) {
    this._ucc = new Map();
    const r = await this.rows(session, `SELECT database_name AS D, schema_name AS S, table_name AS T, column_name AS N
      FROM duckdb_columns() WHERE schema_name <> ${qs(EMU)} AND column_name <> ${qs(ROWID)} ORDER BY column_index`);
    for (const x of r) {
      const k = `${x.D}.${x.S}.${x.T}`;
      if (!this._ucc.has(k)) this._ucc.set(k, []);
      this._ucc.get(k).push(x.N);
    }
  }

  // Runs translated SQL and builds the SQL API result.
  async runQuery(session, sql, ctx, req, nameOverride) {
    let reader;
    try {
      reader = await this.q(session, sql);
    } catch (err) {
      if (/EXCLUDE list not found/.test(err.message) && !ctx.noQualifiedExclude) {
        throw Object.assign(new Error('retry'), { retryWithoutExclude: true });
      }
      throw err;
    }
    const names = reader.columnNames();
    const types = reader.columnTypes();
    const metas = await this.columnMeta(session, ctx.fromTables || []);
    const rowType = names.map((n, i) => {
      const duck = types[i].alias === 'JSON' ? 'JSON' : types[i].toString();
      let name = nameOverride ? nameOverride[i] : snowflakeName(n, ctx.quotedNames);
      const meta = metas.get(n) || metas.get(name);
      const ok = meta && sameStorage(meta.duck, duck) ? meta : null;
      return rowTypeFor(name, duck, ok);
    });
    const raw = reader.getRows();
    const opts = { timezone: session.timezone, tzOffsets: this.tzOffsets };
    const data = raw.map((row) => row.map((v, i) => encodeValue(v, rowType[i], opts)));
    return { rowType, data };
  }

  async columnMeta(session, tables) {
    const out = new Map();
    for (const [db, schema, table] of tables) {
      if (!this.databases.has(db)) continue;
      const r = await this.rows(session, `SELECT * FROM ${qi(db)}.${qi(EMU)}.COLTYPES WHERE SCHEMA_NAME = ${qs(schema)} AND TABLE_NAME = ${qs(table)}`);
      for (const m of r) {
        if (out.has(m.COLUMN_NAME)) continue;
        out.set(m.COLUMN_NAME, {
          database: db, schema, table, nullable: m.NULLABLE,
          sfType: { sf: m.SF_TYPE }, precision: m.PRECISION, scale: m.SCALE,
          length: m.LENGTH == null ? null : Number(m.LENGTH), duck: m.DUCK_TYPE,
        });
      }
    }
    return out;
  }

  // ---- DDL -----------------------------------------------------------------

  async createDatabase(session, s) {
    let i = 2;
    let orReplace = false;
    if (isWord(s[1], 'OR')) { orReplace = true; i = 4; }
    let ifNot = false;
    if (isWord(s[i], 'IF')) { ifNot = true; i += 3; }
    const name = identName(s[i]);
    if (this.databases.has(name) && !ifNot && !orReplace) {
      throw new SqlError('002002', '42710', `SQL compilation error:\nObject '${name}' already exists.`);
    }
    await this.ensureDatabase(name);
    return statusResult(this.databases.has(name) && ifNot ? `${name} already exists, statement succeeded.` : `Database ${name} successfully created.`);
  }

  async createSchema(session, s) {
    let i = 2;
    if (isWord(s[1], 'OR')) i = 4;
    let ifNot = false;
    if (isWord(s[i], 'IF')) { ifNot = true; i += 3; }
    const nm = readName(s, i);
    const [db, schema] = nm.parts.length === 2 ? nm.parts : [session.db, nm.parts[0]];
    await this.ensureDatabase(db);
    await session.conn.run(`CREATE SCHEMA ${ifNot ? 'IF NOT EXISTS ' : ''}${qi(db)}.${qi(schema)}`);
    return statusResult(`Schema ${schema} successfully created.`);
  }

  async createTable(session, s, req) {
    const ct = parseCreateTable(s);
    const [db, schema, table] = this.resolve(session, ct.name);
    if (!this.databases.has(db)) throw notExist(`${db}.${schema}`, 'Database');
    const fq = `${qi(db)}.${qi(schema)}.${qi(table)}`;
    const e = `${qi(db)}.${qi(EMU)}`;
    return this.inTxn(session, async () => {
      const exists = (await this.rows(session, `SELECT 1 FROM duckdb_tables() WHERE database_name = ${qs(db)} AND schema_name = ${qs(schema)} AND table_name = ${qs(table)}`)).length > 0;
      if (exists && ct.ifNotExists) return statusResult(`${table} already exists, statement succeeded.`);
      if (exists && !ct.orReplace) throw new SqlError('002002', '42710', `SQL compilation error:\nObject '${table}' already exists.`);
      const tr = this.translator(session, req);
      const head = `CREATE ${ct.orReplace ? 'OR REPLACE ' : ''}TABLE ${fq}`;
      const meta = [];
      if (ct.asSelect) {
        await this.loadCatalog(session, tr.ctx);
        let sql = tr.tr(s, ct.asSelect.from);
        sql = await this.fillBoundaries(session, tr.ctx, sql);
        await session.conn.run(`${head} AS ${sql}`);
        await session.conn.run(`ALTER TABLE ${fq} ADD COLUMN ${ROWID} VARCHAR DEFAULT (gen_random_uuid()::VARCHAR)`);
      } else if (ct.like) {
        const [ldb, ls, lt] = this.resolve(session, ct.like);
        await session.conn.run(`${head} AS SELECT * FROM ${qi(ldb)}.${qi(ls)}.${qi(lt)} LIMIT 0`);
        await session.conn.run(`ALTER TABLE ${fq} ALTER COLUMN ${ROWID} SET DEFAULT (gen_random_uuid()::VARCHAR)`);
        for (const m of await this.rows(session, `SELECT * FROM ${qi(ldb)}.${qi(EMU)}.COLTYPES WHERE SCHEMA_NAME = ${qs(ls)} AND TABLE_NAME = ${qs(lt)}`)) {
          meta.push({ ...m, SCHEMA_NAME: schema, TABLE_NAME: table });
        }
      } else {
        if (!ct.columns.length) throw syntaxError('CREATE TABLE needs at least one column');
        const defs = ct.columns.map((c) => {
          let d = `${qi(c.name)} ${c.type.duck}`;
          if (!c.nullable) d += ' NOT NULL';
          if (c.defaultTokens && c.defaultTokens.length) d += ` DEFAULT (${tr.tr(c.defaultTokens)})`;
          return d;
        });
        defs.push(`${ROWID} VARCHAR DEFAULT (gen_random_uuid()::VARCHAR)`);
        const identities = ct.columns.filter((c) => c.identity);
        for (const c of identities) {
          const seq = `${e}.${qi(`IDENT$${schema}$${table}$${c.name}`)}`;
          await session.conn.run(`CREATE OR REPLACE SEQUENCE ${seq}`);
          defs[ct.columns.indexOf(c)] = `${qi(c.name)} ${c.type.duck} DEFAULT (nextval('${db}.${EMU}.IDENT$${schema}$${table}$${c.name}'))`;
        }
        await session.conn.run(`${head} (${defs.join(', ')})`);
        for (const c of ct.columns) {
          meta.push({
            SCHEMA_NAME: schema, TABLE_NAME: table, COLUMN_NAME: c.name, SF_TYPE: c.type.sf,
            PRECISION: c.type.precision ?? null, SCALE: c.type.scale ?? null, LENGTH: c.type.length ?? null,
            NULLABLE: c.nullable, DUCK_TYPE: c.type.duck,
            COLUMN_DEFAULT: c.defaultTokens ? c.defaultTokens.map((t) => (t.k === 'string' ? qs(t.v) : t.v)).join(' ') : null,
            COLLATION: c.collation || null,
          });
        }
      }
      await this.dropMeta(session, db, schema, table);
      for (const m of meta) {
        await session.conn.run(`INSERT INTO ${e}.COLTYPES VALUES (${[m.SCHEMA_NAME, m.TABLE_NAME, m.COLUMN_NAME, m.SF_TYPE].map(sqlLit).join(', ')},
          ${sqlLit(m.PRECISION)}, ${sqlLit(m.SCALE)}, ${sqlLit(m.LENGTH)}, ${m.NULLABLE ? 'TRUE' : 'FALSE'}, ${sqlLit(m.DUCK_TYPE)},
          ${sqlLit(m.COLUMN_DEFAULT)}, ${sqlLit(m.COLLATION)})`);
      }
      ct.pk.forEach(() => {});
      for (let k = 0; k < ct.pk.length; k++) {
        await session.conn.run(`INSERT INTO ${e}.PKEYS VALUES (${qs(schema)}, ${qs(table)}, ${qs(ct.pk[k])}, ${k + 1},
          ${qs(ct.pkName || `SYS_CONSTRAINT_${table}_PK`)}, CURRENT_TIMESTAMP)`);
      }
      if (ct.changeTracking) await this.enableTracking(session, db, schema, table);
      return statusResult(`Table ${table} successfully created.`);
    });
  }

  async dropMeta(session, db, schema, table) {
    const e = `${qi(db)}.${qi(EMU)}`;
    const w = `WHERE SCHEMA_NAME = ${qs(schema)} AND TABLE_NAME = ${qs(table)}`;
    await session.conn.run(`DELETE FROM ${e}.COLTYPES ${w}`);
    await session.conn.run(`DELETE FROM ${e}.PKEYS ${w}`);
    await session.conn.run(`DELETE FROM ${e}.TRACKED ${w}`);
    await session.conn.run(`DROP TABLE IF EXISTS ${e}.${qi(`LOG$${schema}$${table}`)}`);
  }

  async enableTracking(session, db, schema, table) {
    const e = `${qi(db)}.${qi(EMU)}`;
    const existing = await this.rows(session, `SELECT 1 FROM ${e}.TRACKED WHERE SCHEMA_NAME = ${qs(schema)} AND TABLE_NAME = ${qs(table)}`);
    if (existing.length) return;
    const fq = `${qi(db)}.${qi(schema)}.${qi(table)}`;
    const log = `${e}.${qi(`LOG$${schema}$${table}`)}`;
    await session.conn.run(`CREATE OR REPLACE TABLE ${log} AS SELECT CAST(0 AS BIGINT) AS _EMU_SEQ,
      CAST(NULL AS TIMESTAMPTZ) AS _EMU_TS, CAST(NULL AS VARCHAR) AS _EMU_ACTION, CAST(NULL AS BOOLEAN) AS _EMU_ISUPDATE,
      * FROM ${fq} LIMIT 0`);
    const seq = (await this.rows(session, `SELECT nextval('${db.replace(/'/g, "''")}.${EMU}.SEQ') AS B`))[0].B;
    const ts = this.nextTs();
    await session.conn.run(`INSERT INTO ${e}.TRACKED VALUES (${qs(schema)}, ${qs(table)}, ${seq}, ${tsLit(ts)})`);
  }

  async createStream(session, s) {
    // CREATE [OR REPLACE] STREAM [IF NOT EXISTS] name ON TABLE t [APPEND_ONLY = TRUE] ...
    let i = 1;
    let orReplace = false;
    if (isWord(s[i], 'OR')) { orReplace = true; i += 2; }
    i++; // STREAM
    let ifNot = false;
    if (isWord(s[i], 'IF')) { ifNot = true; i += 3; }
    const nm = readName(s, i);
    const [db, schema, name] = this.resolve(session, nm.parts);
    i = nm.next;
    if (!isWord(s[i], 'ON') || !isWord(s[i + 1], 'TABLE')) {
      throw new SqlError('000002', '0A000', 'Unsupported feature: the emulator supports CREATE STREAM ... ON TABLE only');
    }
    const tn = readName(s, i + 2);
    const [tdb, tschema, table] = this.resolve(session, tn.parts);
    let appendOnly = false;
    for (let k = tn.next; k < s.length; k++) {
      if (isWord(s[k], 'APPEND_ONLY') && isOp(s[k + 1], '=') && isWord(s[k + 2], 'TRUE')) appendOnly = true;
    }
    if (tdb !== db) throw new SqlError('000002', '0A000', 'Unsupported feature: stream and table in different databases (emulator)');
    const e = `${qi(db)}.${qi(EMU)}`;
    return this.inTxn(session, async () => {
      const t = await this.rows(session, `SELECT 1 FROM duckdb_tables() WHERE database_name = ${qs(tdb)} AND schema_name = ${qs(tschema)} AND table_name = ${qs(table)}`);
      if (!t.length) throw notExist(`${tdb}.${tschema}.${table}`, 'Table');
      const ex = await this.rows(session, `SELECT 1 FROM ${e}.STREAMS WHERE SCHEMA_NAME = ${qs(schema)} AND STREAM_NAME = ${qs(name)}`);
      if (ex.length && ifNot) return statusResult(`${name} already exists, statement succeeded.`);
      if (ex.length && !orReplace) throw new SqlError('002002', '42710', `SQL compilation error:\nObject '${name}' already exists.`);
      await session.conn.run(`DELETE FROM ${e}.STREAMS WHERE SCHEMA_NAME = ${qs(schema)} AND STREAM_NAME = ${qs(name)}`);
      await this.enableTracking(session, tdb, tschema, table);
      const seq = (await this.rows(session, `SELECT nextval('${db.replace(/'/g, "''")}.${EMU}.SEQ') AS B`))[0].B;
      await session.conn.run(`INSERT INTO ${e}.STREAMS VALUES (${qs(schema)}, ${qs(name)}, ${qs(tschema)}, ${qs(table)}, ${seq},
        ${appendOnly ? 'TRUE' : 'FALSE'}, CURRENT_TIMESTAMP)`);
      return statusResult(`Stream ${name} successfully created.`);
    });
  }

  async drop(session, s, what) {
    let i = 2;
    let ifExists = false;
    if (isWord(s[i], 'IF')) { ifExists = true; i += 2; }
    const nm = readName(s, i);
    if (what === 'schema') {
      const [db, schema] = nm.parts.length === 2 ? nm.parts : [session.db, nm.parts[0]];
      await session.conn.run(`DROP SCHEMA ${ifExists ? 'IF EXISTS ' : ''}${qi(db)}.${qi(schema)} CASCADE`);
      return statusResult(`${schema} successfully dropped.`);
    }
    const [db, schema, name] = this.resolve(session, nm.parts);
    const e = `${qi(db)}.${qi(EMU)}`;
    return this.inTxn(session, async () => {
      if (what === 'stream') {
        const ex = await this.rows(session, `SELECT 1 FROM ${e}.STREAMS WHERE SCHEMA_NAME = ${qs(schema)} AND STREAM_NAME = ${qs(name)}`);
        if (!ex.length && !ifExists) throw notExist(`${db}.${schema}.${name}`, 'Stream');
        await session.conn.run(`DELETE FROM ${e}.STREAMS WHERE SCHEMA_NAME = ${qs(schema)} AND STREAM_NAME = ${qs(name)}`);
        return statusResult(`${name} successfully dropped.`);
      }
      const ex = await this.rows(session, `SELECT 1 FROM duckdb_tables() WHERE database_name = ${qs(db)} AND schema_name = ${qs(schema)} AND table_name = ${qs(name)}`);
      if (!ex.length) {
        if (ifExists) return statusResult('Drop statement executed successfully (' + name + ' already dropped).');
        throw notExist(`${db}.${schema}.${name}`, 'Table');
      }
      await session.conn.run(`DROP ${what.toUpperCase()} ${qi(db)}.${qi(schema)}.${qi(name)}`);
      await this.dropMeta(session, db, schema, name);
      return statusResult(`${name} successfully dropped.`);
    });
  }

  async alterTable(session, s, req) {
    // ALTER TABLE [IF EXISTS] name SET CHANGE_TRACKING = TRUE|FALSE
    // ALTER TABLE name ADD [COLUMN] col type ...   | DROP [COLUMN] col | RENAME COLUMN a TO b
    // ALTER TABLE name SWAP WITH other
    let i = 2;
    if (isWord(s[i], 'IF')) i += 2;
    const nm = readName(s, i);
    const [db, schema, table] = this.resolve(session, nm.parts);
    i = nm.next;
    const fq = `${qi(db)}.${qi(schema)}.${qi(table)}`;
    const e = `${qi(db)}.${qi(EMU)}`;
    const exists = await this.rows(session, `SELECT 1 FROM duckdb_tables() WHERE database_name = ${qs(db)} AND schema_name = ${qs(schema)} AND table_name = ${qs(table)}`);
    if (!exists.length) throw notExist(`${db}.${schema}.${table}`, 'Table');
    return this.inTxn(session, async () => {
      if (isWord(s[i], 'SET') && isWord(s[i + 1], 'CHANGE_TRACKING')) {
        if (isWord(s[i + 3], 'TRUE')) await this.enableTracking(session, db, schema, table);
        else {
          await session.conn.run(`DELETE FROM ${e}.TRACKED WHERE SCHEMA_NAME = ${qs(schema)} AND TABLE_NAME = ${qs(table)}`);
          await session.conn.run(`DROP TABLE IF EXISTS ${e}.${qi(`LOG$${schema}$${table}`)}`);
        }
        return statusResult('Statement executed successfully.');
      }
      if (isWord(s[i], 'ADD')) {
        let k = i + 1;
        if (isWord(s[k], 'COLUMN')) k++;
        let ifNot = false;
        if (isWord(s[k], 'IF')) { ifNot = true; k += 3; }
        const col = identName(s[k]);
        const ty = readType(s, k + 1);
        if (!ty) throw syntaxError(`unsupported data type for column ${col}`);
        let nullable = true;
        let def = '';
        for (let m = ty.next; m < s.length; m++) {
          if (isWord(s[m], 'NOT') && isWord(s[m + 1], 'NULL')) nullable = false;
          if (isWord(s[m], 'DEFAULT')) def = ` DEFAULT (${this.translator(session, req).tr(s, m + 1, s.length)})`;
        }
        await session.conn.run(`ALTER TABLE ${fq} ADD COLUMN ${ifNot ? 'IF NOT EXISTS ' : ''}${qi(col)} ${ty.type.duck}${def}`);
        await session.conn.run(`DELETE FROM ${e}.COLTYPES WHERE SCHEMA_NAME = ${qs(schema)} AND TABLE_NAME = ${qs(table)} AND COLUMN_NAME = ${qs(col)}`);
        await session.conn.run(`INSERT INTO ${e}.COLTYPES VALUES (${qs(schema)}, ${qs(table)}, ${qs(col)}, ${qs(ty.type.sf)},
          ${sqlLit(ty.type.precision)}, ${sqlLit(ty.type.scale)}, ${sqlLit(ty.type.length)}, ${nullable}, ${qs(ty.type.duck)}, NULL, NULL)`);
        return statusResult('Statement executed successfully.');
      }
      if (isWord(s[i], 'DROP')) {
        let k = i + 1;
        if (isWord(s[k], 'COLUMN')) k++;
        const col = identName(s[k]);
        await session.conn.run(`ALTER TABLE ${fq} DROP COLUMN ${qi(col)}`);
        await session.conn.run(`DELETE FROM ${e}.COLTYPES WHERE SCHEMA_NAME = ${qs(schema)} AND TABLE_NAME = ${qs(table)} AND COLUMN_NAME = ${qs(col)}`);
        return statusResult('Statement executed successfully.');
      }
      if (isWord(s[i], 'RENAME') && isWord(s[i + 1], 'COLUMN')) {
        const a = identName(s[i + 2]);
        const b = identName(s[i + 4]);
        await session.conn.run(`ALTER TABLE ${fq} RENAME COLUMN ${qi(a)} TO ${qi(b)}`);
        await session.conn.run(`UPDATE ${e}.COLTYPES SET COLUMN_NAME = ${qs(b)} WHERE SCHEMA_NAME = ${qs(schema)} AND TABLE_NAME = ${qs(table)} AND COLUMN_NAME = ${qs(a)}`);
        return statusResult('Statement executed successfully.');
      }
      if (isWord(s[i], 'SWAP') && isWord(s[i + 1], 'WITH')) {
        // "ALTER TABLE": SWAP WITH exchanges the two tables' contents and
        // metadata in one atomic statement (here: three renames and the
        // emulator's column/key records, in one transaction).
        const other = readName(s, i + 2);
        const [odb, oschema, otable] = this.resolve(session, other.parts);
        if (odb !== db || oschema !== schema) {
          throw new SqlError('000002', '0A000', 'Unsupported feature: SWAP WITH a table of another schema (emulator)');
        }
        const found = await this.rows(session, `SELECT 1 FROM duckdb_tables() WHERE database_name = ${qs(db)} AND schema_name = ${qs(schema)} AND table_name = ${qs(otable)}`);
        if (!found.length) throw notExist(`${db}.${schema}.${otable}`, 'Table');
        const parked = `_EMU_SWAP_${Math.random().toString(36).slice(2)}`;
        const ofq = `${qi(db)}.${qi(schema)}.${qi(otable)}`;
        await session.conn.run(`ALTER TABLE ${fq} RENAME TO ${qi(parked)}`);
        await session.conn.run(`ALTER TABLE ${ofq} RENAME TO ${qi(table)}`);
        await session.conn.run(`ALTER TABLE ${qi(db)}.${qi(schema)}.${qi(parked)} RENAME TO ${qi(otable)}`);
        for (const meta of ['COLTYPES', 'PKEYS', 'TRACKED']) {
          await session.conn.run(`UPDATE ${e}.${meta} SET TABLE_NAME = CASE WHEN TABLE_NAME = ${qs(table)} THEN ${qs(otable)} ELSE ${qs(table)} END
            WHERE SCHEMA_NAME = ${qs(schema)} AND TABLE_NAME IN (${qs(table)}, ${qs(otable)})`);
        }
        return statusResult('Statement executed successfully.');
      }
      throw new SqlError('000002', '0A000', `Unsupported feature: ALTER TABLE ... ${s[i] ? s[i].v : ''} in the emulator`);
    });
  }

  async show(session, s) {
    // SHOW PRIMARY KEYS IN TABLE t   ("SHOW PRIMARY KEYS" in the SQL command reference)
    if (isWord(s[1], 'PRIMARY') && isWord(s[2], 'KEYS')) {
      let i = 3;
      if (isWord(s[i], 'IN')) i++;
      if (isWord(s[i], 'TABLE')) i++;
      const nm = readName(s, i);
      const [db, schema, table] = this.resolve(session, nm.parts);
      if (!this.databases.has(db)) throw notExist(db, 'Database');
      const sql = `SELECT CREATED_ON AS created_on, ${qs(db)} AS database_name, SCHEMA_NAME AS schema_name,
        TABLE_NAME AS table_name, COLUMN_NAME AS column_name, CAST(KEY_SEQUENCE AS DECIMAL(38,0)) AS key_sequence,
        CONSTRAINT_NAME AS constraint_name, 'false' AS rely, CAST(NULL AS VARCHAR) AS comment
        FROM ${qi(db)}.${qi(EMU)}.PKEYS WHERE SCHEMA_NAME = ${qs(schema)} AND TABLE_NAME = ${qs(table)} ORDER BY KEY_SEQUENCE`;
      const ctx = { quotedNames: new Set(['created_on', 'database_name', 'schema_name', 'table_name', 'column_name', 'key_sequence', 'constraint_name', 'rely', 'comment']) };
      return this.runQuery(session, sql, ctx, {});
    }
    throw new SqlError('000002', '0A000', `Unsupported feature: SHOW ${s[1] ? s[1].v : ''} in the emulator`);
  }

  async describe(session, s) {
    let i = 1;
    if (isWord(s[i], 'TABLE')) i++;
    const nm = readName(s, i);
    const [db, schema, table] = this.resolve(session, nm.parts);
    const e = `${qi(db)}.${qi(EMU)}`;
    const sql = `SELECT c.COLUMN_NAME AS name,
        CASE WHEN c.DATA_TYPE = 'NUMBER' THEN 'NUMBER(' || c.NUMERIC_PRECISION || ',' || c.NUMERIC_SCALE || ')'
             WHEN c.DATA_TYPE = 'TEXT' THEN 'VARCHAR(' || c.CHARACTER_MAXIMUM_LENGTH || ')'
             WHEN c.DATA_TYPE = 'BINARY' THEN 'BINARY(' || c.CHARACTER_MAXIMUM_LENGTH || ')'
             WHEN c.DATA_TYPE IN ('TIME','TIMESTAMP_NTZ','TIMESTAMP_LTZ','TIMESTAMP_TZ') THEN c.DATA_TYPE || '(' || c.DATETIME_PRECISION || ')'
             ELSE c.DATA_TYPE END AS type,
        'COLUMN' AS kind, CASE WHEN c.IS_NULLABLE = 'YES' THEN 'Y' ELSE 'N' END AS "null?", c.COLUMN_DEFAULT AS "default",
        CASE WHEN p.COLUMN_NAME IS NULL THEN 'N' ELSE 'Y' END AS "primary key", 'N' AS "unique key"
      FROM ${e}.INFO_COLUMNS c LEFT JOIN ${e}.PKEYS p ON p.SCHEMA_NAME = c.TABLE_SCHEMA AND p.TABLE_NAME = c.TABLE_NAME AND p.COLUMN_NAME = c.COLUMN_NAME
      WHERE c.TABLE_SCHEMA = ${qs(schema)} AND c.TABLE_NAME = ${qs(table)} ORDER BY c.ORDINAL_POSITION`;
    const ctx = { quotedNames: new Set(['name', 'type', 'kind', 'null?', 'default', 'primary key', 'unique key']) };
    const r = await this.runQuery(session, sql, ctx, {});
    if (!r.data.length) throw notExist(`${db}.${schema}.${table}`, 'Table');
    return r;
  }

  // ---- DML -----------------------------------------------------------------

  async dml(session, s, req, extra = {}) {
    const verb = s[0].v.toUpperCase();
    let i = 1;
    let overwrite = false;
    if (verb === 'INSERT' && isWord(s[i], 'OVERWRITE')) { overwrite = true; i++; }
    if (verb === 'INSERT' || verb === 'MERGE') { if (!isWord(s[i], 'INTO')) throw syntaxError(`expected INTO after ${verb}`); i++; }
    if (verb === 'DELETE') { if (!isWord(s[i], 'FROM')) throw syntaxError('expected FROM after DELETE'); i++; }
    if (verb === 'TRUNCATE' && isWord(s[i], 'TABLE')) i++;
    if (verb === 'TRUNCATE' && isWord(s[i], 'IF')) i += 2;
    const nm = readName(s, i);
    if (!nm) throw syntaxError(`expected table name after ${verb}`);
    const [db, schema, table] = this.resolve(session, nm.parts);
    const fq = `${qi(db)}.${qi(schema)}.${qi(table)}`;
    const cols = await this.userColumns(session, db, schema, table);
    if (!cols.length) throw notExist(`${db}.${schema}.${table}`, 'Table');
    const userCols = cols.filter((c) => c.N !== ROWID);

    const tr = this.translator(session, req, extra);
    await this.loadCatalog(session, tr.ctx);
    if (tr.ctx.streams.get(`${db}.${schema}.${table}`)) {
      throw new SqlError('000002', '0A000', `SQL compilation error:\nStream '${table}' cannot be the target of ${verb}.`);
    }
    // Build DuckDB SQL: the target name is emitted fully qualified; an
    // INSERT without a column list gets the user columns (the hidden row-id
    // column must keep its default).
    let sql;
    const rest = nm.next;
    if (verb === 'INSERT') {
      let colList = '';
      let body = rest;
      if (isOp(s[rest], '(') && !isWord(s[rest + 1], 'SELECT', 'WITH')) {
        const close = matchParen(s, rest);
        colList = '(' + splitCommas(s, rest + 1, close).map((p) => qi(identName(p[0]))).join(', ') + ')';
        body = close + 1;
      } else {
        colList = '(' + userCols.map((c) => qi(c.N)).join(', ') + ')';
      }
      sql = `INSERT INTO ${fq} ${colList} ${tr.tr(s, body)}`;
    } else if (verb === 'TRUNCATE') {
      sql = `DELETE FROM ${fq}`;
    } else {
      const kw = verb === 'UPDATE' ? 'UPDATE' : verb === 'DELETE' ? 'DELETE FROM' : 'MERGE INTO';
      sql = `${kw} ${fq} ${tr.tr(s, rest)}`;
    }
    await this.wait(tr.ctx.waitSeconds, req);
    sql = await this.fillBoundaries(session, tr.ctx, sql);
    const trackedRow = tr.ctx.tracked.get(`${db}.${schema}.${table}`);
    const needDiff = !!trackedRow || verb === 'MERGE';

    return this.inTxn(session, async () => {
      let counts;
      if (overwrite) await session.conn.run(`DELETE FROM ${fq}`);
      if (needDiff) {
        counts = await this.withChangeCapture(session, db, schema, table, userCols, !!trackedRow, async () => {
          await session.conn.run(sql);
        });
      } else {
        const r = await this.q(session, sql);
        const n = r.getRows()[0] ? Number(r.getRows()[0][0]) : 0;
        counts = { inserted: verb === 'INSERT' ? n : 0, updated: verb === 'UPDATE' ? n : 0, deleted: verb === 'DELETE' || verb === 'TRUNCATE' ? n : 0 };
      }
      // Streams read by this DML: advance their offsets in the same transaction.
      for (const st of tr.ctx.streamsUsed) {
        const b = tr.ctx.boundaries.get(st.db);
        await session.conn.run(`UPDATE ${qi(st.db)}.${qi(EMU)}.STREAMS SET OFFSET_SEQ = ${b}
          WHERE SCHEMA_NAME = ${qs(st.SCHEMA_NAME)} AND STREAM_NAME = ${qs(st.STREAM_NAME)}`);
      }
      return dmlResult(verb, counts);
    });
  }

  // Runs fn() between a snapshot of the table and a diff against it; logs the
  // diff into the table's change log when tracked. Returns row counts.
  async withChangeCapture(session, db, schema, table, userCols, tracked, fn) {
    const fq = `${qi(db)}.${qi(schema)}.${qi(table)}`;
    const e = `${qi(db)}.${qi(EMU)}`;
    const log = `${e}.${qi(`LOG$${schema}$${table}`)}`;
    const pre = qi(`_EMU_PRE_${process.pid}_${Math.random().toString(36).slice(2)}`);
    await session.conn.run(`CREATE TEMP TABLE ${pre} AS SELECT * FROM ${fq}`);
    try {
      await fn();
      const changed = userCols.map((c) => `a.${qi(c.N)} IS DISTINCT FROM b.${qi(c.N)}`).join(' OR ') || 'FALSE';
      const counts = (await this.rows(session, `SELECT
          (SELECT count(*) FROM ${pre} a LEFT JOIN ${fq} b ON a.${ROWID} = b.${ROWID} WHERE b.${ROWID} IS NULL) AS DEL,
          (SELECT count(*) FROM ${fq} b LEFT JOIN ${pre} a ON a.${ROWID} = b.${ROWID} WHERE a.${ROWID} IS NULL) AS INS,
          (SELECT count(*) FROM ${pre} a JOIN ${fq} b ON a.${ROWID} = b.${ROWID} WHERE ${changed}) AS UPD`))[0];
      if (tracked) {
        // The log may lack columns added to the table after tracking began.
        const logCols = new Set((await this.userColumns(session, db, EMU, `LOG$${schema}$${table}`)).map((c) => c.N));
        for (const c of userCols) {
          if (!logCols.has(c.N)) await session.conn.run(`ALTER TABLE ${log} ADD COLUMN ${qi(c.N)} ${c.T}`);
        }
        const list = userCols.map((c) => qi(c.N));
        const ts = tsLit(this.nextTs());
        const seq = `nextval('${db.replace(/'/g, "''")}.${EMU}.SEQ')`;
        const head = `INSERT INTO ${log} (_EMU_SEQ, _EMU_TS, _EMU_ACTION, _EMU_ISUPDATE, ${[...list, ROWID].join(', ')})`;
        await session.conn.run(`${head} SELECT ${seq}, ${ts}, 'DELETE', b.${ROWID} IS NOT NULL, ${list.map((c) => 'a.' + c).join(', ')}${list.length ? ', ' : ''}a.${ROWID}
          FROM ${pre} a LEFT JOIN ${fq} b ON a.${ROWID} = b.${ROWID} WHERE b.${ROWID} IS NULL OR ${changed}`);
        await session.conn.run(`${head} SELECT ${seq}, ${ts}, 'INSERT', a.${ROWID} IS NOT NULL, ${list.map((c) => 'b.' + c).join(', ')}${list.length ? ', ' : ''}b.${ROWID}
          FROM ${fq} b LEFT JOIN ${pre} a ON a.${ROWID} = b.${ROWID} WHERE a.${ROWID} IS NULL OR ${changed}`);
      }
      return { inserted: Number(counts.INS), deleted: Number(counts.DEL), updated: Number(counts.UPD) };
    } finally {
      await session.conn.run(`DROP TABLE IF EXISTS ${pre}`);
    }
  }
}

// ---- helpers -----------------------------------------------------------------

// TIMESTAMPTZ literal from epoch microseconds.
function tsLit(micros) {
  return `(make_timestamp(${micros}) AT TIME ZONE 'UTC')`;
}

function stripWaitName(s) {
  return s.slice(1).map((t) => t.v).join('').toUpperCase();
}

function arrayBindingRows(b) {
  if (!b) return 0;
  for (const v of Object.values(b)) if (v && Array.isArray(v.value)) return v.value.length;
  return 0;
}

function sqlLit(v) {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return qs(v);
}

export function statusResult(message) {
  return {
    rowType: [rowTypeFor('status', 'VARCHAR', null)],
    data: [[message]],
  };
}

function fixedCol(name) {
  const rt = rowTypeFor(name, 'DECIMAL(38,0)', null);
  rt.nullable = false;
  return rt;
}

function dmlResult(verb, c) {
  if (verb === 'INSERT') {
    return { rowType: [fixedCol('number of rows inserted')], data: [[String(c.inserted)]], stats: { numRowsInserted: c.inserted } };
  }
  if (verb === 'UPDATE') {
    return {
      rowType: [fixedCol('number of rows updated'), fixedCol('number of multi-joined rows updated')],
      data: [[String(c.updated), '0']], stats: { numRowsUpdated: c.updated, numDmlDuplicates: 0 },
    };
  }
  if (verb === 'TRUNCATE') return statusResult('Statement executed successfully.');
  if (verb === 'DELETE') {
    return { rowType: [fixedCol('number of rows deleted')], data: [[String(c.deleted)]], stats: { numRowsDeleted: c.deleted } };
  }
  return {
    rowType: [fixedCol('number of rows inserted'), fixedCol('number of rows updated'), fixedCol('number of rows deleted')],
    data: [[String(c.inserted), String(c.updated), String(c.deleted)]],
    stats: { numRowsInserted: c.inserted, numRowsUpdated: c.updated, numRowsDeleted: c.deleted },
  };
}

function snowflakeName(n, quoted) {
  if (n === 'count_star()') return 'COUNT(*)';
  if (quoted && quoted.has(n)) return n;
  return n.toUpperCase();
}

function sameStorage(a, b) {
  const norm = (x) => String(x).toUpperCase().replace('TIMESTAMP WITH TIME ZONE', 'TIMESTAMPTZ').replace(/\s+/g, '');
  return norm(a) === norm(b);
}

function notExist(name, what = 'Object') {
  return new SqlError('002003', '42S02', `SQL compilation error:\n${what} '${name}' does not exist or not authorized.`);
}

// Maps DuckDB errors to Snowflake error codes and SQL states (the codes
// Snowflake returns for the same class of failure).
export function toSqlError(err) {
  if (err instanceof SqlError) return err;
  if (err && err.code && err.sqlState) return Object.assign(new SqlError(err.code, err.sqlState, err.message));
  const m = String(err && err.message ? err.message : err);
  if (/^Catalog Error: (Table|Schema|Catalog)/.test(m) || /does not exist/.test(m) && /^Catalog/.test(m)) {
    const name = (/with name "?([^"\s!]+)"? does not exist/.exec(m) || [])[1] || '?';
    return new SqlError('002003', '42S02', `SQL compilation error:\nObject '${name.toUpperCase()}' does not exist or not authorized.`);
  }
  if (/^Binder Error: .*(column|Referenced column)/i.test(m)) {
    const col = (/column "?([^"\s]+)"? not found/i.exec(m) || /Referenced column "?([^"\s]+)"?/.exec(m) || [])[1] || '?';
    return new SqlError('000904', '42000', `SQL compilation error: error line 0 at position 0\ninvalid identifier '${col}'`);
  }
  if (/^Parser Error/.test(m)) return new SqlError('001003', '42000', `SQL compilation error:\nsyntax error: ${m.replace(/^Parser Error: /, '')}`);
  if (/^Constraint Error: NOT NULL/.test(m)) return new SqlError('100072', '22000', `NULL result in a non-nullable column (${m})`);
  if (/^Conversion Error/.test(m)) return new SqlError('100038', '22018', `Numeric value or date/time value is not recognized: ${m.replace(/^Conversion Error: /, '')}`);
  if (/^Invalid Input Error: Change tracking/.test(m)) return new SqlError('000904', '42000', m.replace(/^Invalid Input Error: /, ''));
  if (/^Out of Range Error/.test(m)) return new SqlError('100046', '22003', `Number out of representable range: ${m}`);
  if (/^TransactionContext Error|Transaction conflict|write-write conflict/i.test(m)) return new SqlError('000625', '57014', `Statement aborted because of a transaction conflict: ${m}`);
  if (/INTERRUPT|Interrupted/i.test(m)) return new SqlError('000604', '57014', 'SQL execution canceled');
  return new SqlError('002140', '42601', `SQL compilation error:\n${m}`);
}

export function splitRequest(sql) {
  return splitStatements(tokenize(sql));
}
