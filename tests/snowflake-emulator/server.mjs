#!/usr/bin/env node
// Snowflake SQL API v2 emulator: a test fixture for floe's Snowflake driver.
//
// Serves the endpoints of the SQL API OpenAPI file (sqlapi.yaml in
// snowflakedb/snowflake-rest-api-specs) on 127.0.0.1:
//   POST /api/v2/statements                      SubmitStatement
//   GET  /api/v2/statements/{handle}             GetStatementStatus (?partition=N)
//   POST /api/v2/statements/{handle}/cancel      CancelStatement
// plus an admin API under /_emulator/ (faults, counters, request log) that
// tests use to inject failures and to check what the client sent.
// See README.md for the coverage table and what is not emulated.
//
// Usage: node server.mjs --port 0 --state DIR [--public-key PEM ...]
//          [--oauth-token T ...] [--pat T ...] [--account NAME]
//          [--database NAME] [--schema NAME] [--rows-per-partition N]
//          [--async-threshold-ms MS] [--warehouse NAME ...] [--role NAME ...]
//          [--partition-bytes N] [--random-async P] [--seed N]
// Prints `LISTENING 127.0.0.1:PORT` once ready.

import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { Engine, splitRequest } from './lib/engine.mjs';
import { authenticate, publicKeyFingerprint } from './lib/auth.mjs';
import { sig } from './lib/sqltok.mjs';
import { classify } from './lib/translate.mjs';

export function parseArgs(argv) {
  const o = {
    port: 0, state: null, publicKeys: [], oauthTokens: [], pats: [], account: null,
    database: 'FLOE_TEST', schema: 'PUBLIC', rowsPerPartition: 1000, asyncThresholdMs: 45000,
    warehouses: [], roles: [], partitionBytes: 0, randomAsync: 0, seed: 1, accountParameters: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--port': o.port = Number(v()); break;
      case '--state': o.state = v(); break;
      case '--public-key': o.publicKeys.push(v()); break;
      case '--oauth-token': o.oauthTokens.push(v()); break;
      case '--pat': o.pats.push(v()); break;
      case '--account': o.account = v(); break;
      case '--database': o.database = v(); break;
      case '--schema': o.schema = v(); break;
      case '--rows-per-partition': o.rowsPerPartition = Number(v()); break;
      case '--async-threshold-ms': o.asyncThresholdMs = Number(v()); break;
      case '--partition-bytes': o.partitionBytes = Number(v()); break;
      case '--random-async': o.randomAsync = Number(v()); break;
      case '--seed': o.seed = Number(v()); break;
      case '--warehouse': o.warehouses.push(v()); break;
      case '--role': o.roles.push(v()); break;
      // An account-level parameter (NAME=VALUE), the default of every
      // session; a request's `parameters` override it.
      case '--account-parameter': {
        const [k, ...rest] = v().split('=');
        o.accountParameters[k.toLowerCase()] = rest.join('=');
        break;
      }
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!o.state) throw new Error('--state DIR is required');
  return o;
}

const SUCCESS = { code: '090001', sqlState: '00000', message: 'Statement executed successfully.' };
const ASYNC = { code: '333334', message: 'Asynchronous execution in progress. Use provided query id to perform query monitoring and management.' };

export class Emulator {
  constructor(opts) {
    this.opts = opts;
    this.engine = new Engine({ stateDir: opts.state, defaultDatabase: opts.database, defaultSchema: opts.schema });
    this.statements = new Map(); // handle -> record
    this.resultCache = new Map(); // cacheStatements: key -> finished record
    this.byRequestId = new Map(); // requestId -> handle
    this.faults = [];
    this.expireTokens = false;
    this.log = [];
    this.history = []; // QUERY_HISTORY: one entry per submitted request
    this.counters = { requests: {}, executions: {}, statementsExecuted: 0 };
    this.config = {
      rowsPerPartition: opts.rowsPerPartition, asyncThresholdMs: opts.asyncThresholdMs, honourRequestId: true,
      partitionBytes: opts.partitionBytes, randomAsync: opts.randomAsync,
    };
    // A seeded generator (mulberry32), so a failing run can be replayed.
    let seed = opts.seed >>> 0;
    this.random = () => {
      seed = (seed + 0x6D2B79F5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const keyPems = opts.publicKeys.map((p) => (p.includes('BEGIN') ? p : fs.readFileSync(p, 'utf8')));
    this.auth = {
      keys: keyPems.map((pem) => ({ pem, key: crypto.createPublicKey(pem), fingerprint: publicKeyFingerprint(pem) })),
      account: opts.account,
      oauthTokens: new Set(opts.oauthTokens),
      patTokens: new Set(opts.pats),
      expireAll: () => this.expireTokens,
    };
  }

  async start() {
    await this.engine.open();
    this.server = http.createServer((req, res) => this.handle(req, res).catch((err) => {
      if (!res.headersSent) this.json(res, 500, { message: `emulator internal error: ${err.stack || err}` });
      else res.destroy();
    }));
    this.server.keepAliveTimeout = 5000;
    await new Promise((resolve) => this.server.listen(this.opts.port, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this.port;
  }

  async stop() {
    await new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    // Let running statements settle before closing DuckDB.
    await Promise.allSettled([...this.statements.values()].map((r) => r.promise));
    this.engine.close();
  }

  count(endpoint) {
    this.counters.requests[endpoint] = (this.counters.requests[endpoint] || 0) + 1;
  }

  json(res, status, body, headers = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  // Takes the first matching fault rule of `type` for `endpoint`.
  takeFault(type, endpoint, pred = () => true) {
    const i = this.faults.findIndex((f) => f.type === type && (!f.endpoint || f.endpoint === 'any' || f.endpoint === endpoint) && pred(f));
    if (i < 0) return null;
    const f = this.faults[i];
    f.remaining = (f.remaining ?? f.count ?? 1) - 1;
    if (f.remaining <= 0) this.faults.splice(i, 1);
    return f;
  }

  async handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const bodyText = Buffer.concat(chunks).toString('utf8');
    if (url.pathname.startsWith('/_emulator/')) return this.admin(req, res, url, bodyText);

    const entry = {
      seq: this.log.length + 1, time: new Date().toISOString(), method: req.method, path: url.pathname,
      query: Object.fromEntries(url.searchParams), headers: { ...req.headers }, body: bodyText, status: null,
    };
    this.log.push(entry);
    res.on('finish', () => { entry.status = res.statusCode; });
    res.on('close', () => { if (entry.status === null) entry.status = res.statusCode; entry.completed = res.writableFinished; });

    const m = /^\/api\/v2\/statements(?:\/([^/]+))?(\/cancel)?\/?$/.exec(url.pathname);
    if (!m) {
      this.count('unknown');
      return this.json(res, 404, { message: `Not Found: ${url.pathname}` });
    }
    const handle = m[1] ? decodeURIComponent(m[1]) : null;
    let endpoint;
    if (!handle) endpoint = 'submit';
    else if (m[2]) endpoint = 'cancel';
    else endpoint = Number(url.searchParams.get('partition') || 0) > 0 ? 'partition' : 'status';
    this.count(endpoint);

    const expectMethod = endpoint === 'status' || endpoint === 'partition' ? 'GET' : 'POST';
    if (req.method !== expectMethod) {
      return this.json(res, 405, { message: `Method ${req.method} not allowed on ${url.pathname}` });
    }

    // Partition requests in flight at once (a client fetching several
    // partitions concurrently): counters.partitionsInFlightMax.
    if (endpoint === 'partition') {
      this.partitionsInFlight = (this.partitionsInFlight || 0) + 1;
      this.counters.partitionsInFlightMax = Math.max(this.counters.partitionsInFlightMax || 0, this.partitionsInFlight);
      res.on('close', () => { this.partitionsInFlight--; });
    }
    // Injected faults: delay, then status before anything runs. A rule
    // with `partition` applies to that result partition only.
    const partitionNo = Number(url.searchParams.get('partition') || 0);
    const forPartition = (f) => f.partition === undefined || Number(f.partition) === partitionNo;
    const delay = this.takeFault('delay', endpoint, forPartition);
    if (delay) await new Promise((r) => setTimeout(r, delay.ms || 0));
    const pre = this.takeFault('status', endpoint, (f) => !f.after && forPartition(f));
    if (pre) return this.faultResponse(res, pre);

    if (!req.headers['user-agent']) {
      return this.json(res, 400, { code: '390010', message: 'User-Agent header is required (RFC 7231 product token).' });
    }
    const ct = req.headers['content-type'];
    if (endpoint === 'submit' && ct && !/^application\/json\b/i.test(ct)) {
      return this.json(res, 415, { code: '390011', message: `Unsupported media type ${ct}; the API accepts application/json only.` });
    }
    const a = authenticate(req.headers, this.auth);
    entry.auth = a.ok ? a.principal : { rejected: a.reason };
    if (!a.ok) return this.json(res, a.status, { code: a.code, message: a.message });

    if (endpoint === 'submit') return this.submit(req, res, url, bodyText);
    const rec = this.statements.get(handle);
    if (!rec) {
      return this.json(res, 422, { code: '000709', sqlState: '02000', message: `Statement ${handle} not found`, statementHandle: handle });
    }
    if (endpoint === 'cancel') return this.cancel(res, rec);
    return this.status(req, res, url, rec);
  }

  faultResponse(res, f) {
    const status = f.status || 503;
    const headers = {};
    if (f.retryAfter !== undefined) headers['Retry-After'] = String(f.retryAfter);
    else if (status === 429) headers['Retry-After'] = '1';
    const messages = { 429: 'Too many requests.', 503: 'Service Unavailable.', 504: 'Gateway Timeout.', 500: 'Internal Server Error.' };
    return this.json(res, status, f.body || { message: messages[status] || 'Injected fault.' }, headers);
  }

  // ---- POST /api/v2/statements ---------------------------------------------

  async submit(req, res, url, bodyText) {
    let body;
    try {
      body = bodyText ? JSON.parse(bodyText) : null;
    } catch {
      return this.json(res, 400, { code: '390012', message: 'Request body is not valid JSON.' });
    }
    if (!body || typeof body.statement !== 'string' || !body.statement.trim()) {
      return this.json(res, 400, { code: '390013', message: 'Request body must contain a non-empty "statement".' });
    }
    // Context names are case-sensitive ("Submitting a request": they must
    // match the case SHOW returns). Warehouses and roles given with
    // --warehouse / --role are the only ones that exist; without them any
    // name is accepted.
    if (body.warehouse !== undefined && this.opts.warehouses.length && !this.opts.warehouses.includes(body.warehouse)) {
      return this.json(res, 422, { code: '000606', sqlState: '57P03', message: `No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command. (warehouse '${body.warehouse}' does not exist; names in the request body are case-sensitive)` });
    }
    if (body.role !== undefined && this.opts.roles.length && !this.opts.roles.includes(body.role)) {
      return this.json(res, 422, { code: '390189', sqlState: '08004', message: `Role '${body.role}' specified in the connect string does not exist or not authorized. Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC. (names in the request body are case-sensitive)` });
    }
    const requestId = url.searchParams.get('requestId') || crypto.randomUUID();
    const asyncMode = url.searchParams.get('async') === 'true';
    const nullable = url.searchParams.get('nullable') !== 'false';

    // requestId idempotence (sqlapi.yaml, parameter requestId: "This ensures
    // that the execution is idempotent"): a resubmission returns the
    // original statement's result or status and does not execute again.
    // `honourRequestId: false` (admin config) turns that off, so a test can
    // show that a client's retried statements are idempotent by themselves.
    const prior = this.config.honourRequestId === false ? null : this.byRequestId.get(requestId);
    if (prior) {
      const rec = this.statements.get(prior);
      return this.respondWhenReady(res, rec, asyncMode ? 0 : this.config.asyncThresholdMs, null);
    }

    // Recorded results (benchmarks only): with `cacheStatements` set to a
    // regular expression, a finished single-statement result whose text
    // matches is kept, and the same statement with the same bindings and
    // context is answered from it (partitions already encoded and
    // gzipped), so a benchmark measures its client, not the emulator's
    // DuckDB-to-jsonv2 path. Never on for tests: data changes are not seen.
    const cacheKey = this.config.cacheStatements && new RegExp(this.config.cacheStatements).test(body.statement)
      ? JSON.stringify([body.statement, body.bindings ?? null, body.database ?? null, body.schema ?? null, nullable]) : null;
    const cached = cacheKey && this.resultCache.get(cacheKey);
    if (cached && cached.status === 'done') {
      const copy = {
        handle: crypto.randomUUID(), requestId, createdOn: Date.now(), status: 'done', nullable,
        result: cached.result, parts: cached.parts, error: null, children: null, forcedPolls: 0, promise: Promise.resolve(),
      };
      this.statements.set(copy.handle, copy);
      this.byRequestId.set(requestId, copy.handle);
      this.counters.cacheHits = (this.counters.cacheHits || 0) + 1;
      return this.respondWhenReady(res, copy, 0, null);
    }
    const rec = {
      handle: crypto.randomUUID(), requestId, createdOn: Date.now(), status: 'running', nullable,
      result: null, error: null, children: null, forcedPolls: 0, abort: new AbortController(), conn: null,
    };
    this.statements.set(rec.handle, rec);
    this.byRequestId.set(requestId, rec.handle);
    const forced = this.takeFault('async', 'submit');
    if (forced) rec.forcedPolls = forced.polls ?? 1;

    let statements;
    try {
      statements = splitRequest(body.statement);
    } catch (err) {
      statements = err;
    }
    const params = { ...this.opts.accountParameters, ...normalizeParams(body.parameters) };
    // QUERY_HISTORY's QUERY_TAG column: the session parameter the request
    // set ("Using the SQL API": parameters), '' when none. A tag is a
    // string of at most 2000 characters (Snowflake: QUERY_TAG parameter).
    const tag = params.query_tag;
    if (tag !== undefined && (typeof tag !== 'string' || tag.length > 2000)) {
      this.statements.delete(rec.handle);
      this.byRequestId.delete(requestId);
      return this.json(res, 422, {
        code: '002003', sqlState: '42601', statementHandle: rec.handle,
        message: `Invalid value [${String(tag).slice(0, 40)}] for parameter 'QUERY_TAG'`,
      });
    }
    this.history.push({ handle: rec.handle, requestId, statement: body.statement, queryTag: tag ?? '' });
    const timeoutSec = body.timeout === undefined || body.timeout === 0 ? 604800 : Number(body.timeout);
    rec.timeoutSec = timeoutSec;
    rec.promise = this.execute(rec, body, statements, params);
    if (cacheKey) {
      rec.promise = rec.promise.then(() => {
        if (rec.status === 'done' && !rec.children) {
          this.partitions(rec); // encode (and gzip) every partition once
          this.resultCache.set(cacheKey, rec);
        }
      });
    }
    const retried = url.searchParams.get('retry') === 'true';
    const after = this.takeFault('status', 'submit', (f) => f.after && !(f.firstAttempt && retried));
    if (after) {
      await rec.promise;
      return this.faultResponse(res, after);
    }
    // "Submitting a request": a client must handle an asynchronous answer
    // even for a fast statement. With randomAsync = p, a share p of
    // statements answers 202 first (one poll), whatever their speed.
    if (!forced && this.config.randomAsync > 0 && this.random() < this.config.randomAsync) {
      return this.respondWhenReady(res, rec, 0, { polls: 0 });
    }
    const wait = asyncMode || forced ? 0 : this.config.asyncThresholdMs;
    return this.respondWhenReady(res, rec, wait, forced);
  }

  async execute(rec, body, statements, params) {
    this.counters.executions[rec.requestId] = (this.counters.executions[rec.requestId] || 0) + 1;
    const timer = setTimeout(() => {
      rec.timedOut = true;
      rec.abort.abort(new Error('timeout'));
      if (rec.conn) try { rec.conn.interrupt(); } catch { /* finished */ }
    }, rec.timeoutSec * 1000);
    try {
      if (statements instanceof Error) throw statements;
      const want = params.multi_statement_count === undefined ? 1 : Number(params.multi_statement_count);
      if (want !== 0 && want !== statements.length) {
        throw Object.assign(new Error(`Actual statement count ${statements.length} did not match the desired statement count ${want}.`),
          { code: '000008', sqlState: '0A000' });
      }
      // "Submitting multiple SQL statements in a single request" and "Using
      // bind variables in a statement": Snowflake does not support bind
      // variables in multi-statement requests. Drivers' threads show the
      // failure (snowflake-connector-net#817, snowflake-connector-nodejs
      // #704): the statements run through SYSTEM$MULTISTMT, which sees
      // the placeholders unbound.
      const bound = body.bindings && typeof body.bindings === 'object' && Object.keys(body.bindings).length > 0;
      if (want !== 1 && bound) {
        const at = statements.findIndex((st) => st.some((t) => t.k === 'param'));
        const st = statements[at >= 0 ? at : 0];
        const text = st.map((t) => (t.k === 'string' ? `'${t.v}'` : t.k === 'qident' ? `"${t.v}"` : t.v)).join('').trim();
        const param = at >= 0 ? st.find((t) => t.k === 'param') : null;
        const name = param ? param.v : ':1';
        throw Object.assign(new Error(`JavaScript execution error: Uncaught Execution of multiple statements failed on statement "${text.slice(0, 40)}..." (at line 1, position 0).\nSQL compilation error:\nBind variable ${name} not set. in SYSTEM$MULTISTMT (the SQL API does not support bind variables in multi-statement requests)`),
          { code: '100132', sqlState: 'P0000' });
      }
      if (statements.length === 1 && want === 1) {
        const k = classify(sig(statements[0]));
        if (k === 'begin' || k === 'commit' || k === 'rollback') {
          throw Object.assign(new Error(`Unsupported statement type '${k.toUpperCase()}' in a single-statement request: the SQL API runs each request in its own session; use BEGIN ... COMMIT inside a multi-statement request.`),
            { code: '000002', sqlState: '0A000' });
        }
      }
      const out = await this.engine.runRequest({
        database: body.database, schema: body.schema, timezone: params.timezone,
        outputFormats: outputFormats(params),
        bindings: body.bindings, statements, abort: rec.abort.signal,
      }, {
        onConnection: (c) => { rec.conn = c; },
        onStatement: () => {
          this.counters.statementsExecuted++;
          if (rec.abort.signal.aborted) throw rec.abort.signal.reason;
        },
      });
      if (statements.length > 1 || params.multi_statement_count !== undefined && Number(params.multi_statement_count) !== 1) {
        rec.children = out.results.map((r) => {
          const child = {
            handle: crypto.randomUUID(), requestId: rec.requestId, createdOn: Date.now(), status: 'done',
            nullable: rec.nullable, result: r, forcedPolls: 0, promise: Promise.resolve(),
          };
          this.statements.set(child.handle, child);
          return child.handle;
        });
        if (statements.length === 1) rec.result = out.results[0];
        else {
          rec.result = {
            rowType: [{
              name: 'multiple statement execution', database: '', schema: '', table: '', nullable: false,
              collation: null, type: 'text', precision: null, scale: null, length: 16777216, byteLength: 16777216,
            }],
            data: [['Multiple statements executed successfully.']],
            summary: true,
          };
        }
      } else {
        rec.result = out.results[0];
      }
      if (rec.canceled) throw new Error('canceled');
      if (rec.timedOut) throw new Error('timeout');
      rec.status = 'done';
    } catch (err) {
      if (rec.canceled) {
        rec.status = 'canceled';
      } else if (rec.timedOut) {
        rec.status = 'timeout';
      } else {
        rec.status = 'failed';
        rec.error = { code: err.code || '002140', sqlState: err.sqlState || '42601', message: err.message };
      }
    } finally {
      clearTimeout(timer);
      rec.conn = null;
    }
  }

  async respondWhenReady(res, rec, waitMs, forced) {
    if (!forced && rec.status === 'running' && waitMs > 0) {
      await Promise.race([rec.promise, new Promise((r) => setTimeout(r, waitMs))]);
    }
    if (forced || rec.status === 'running') return this.json(res, 202, this.queryStatus(rec));
    return this.finalResponse(res, rec, 0, false);
  }

  queryStatus(rec) {
    return { ...ASYNC, statementHandle: rec.handle, statementStatusUrl: statusUrl(rec.handle) };
  }

  finalResponse(res, rec, partition, gzipOk) {
    const base = { statementHandle: rec.handle, statementStatusUrl: statusUrl(rec.handle), createdOn: rec.createdOn };
    if (rec.status === 'failed') {
      return this.json(res, 422, { code: rec.error.code, sqlState: rec.error.sqlState, message: rec.error.message, ...base });
    }
    if (rec.status === 'canceled') {
      return this.json(res, 422, { code: '000604', sqlState: '57014', message: 'SQL execution canceled', ...base });
    }
    if (rec.status === 'timeout') {
      return this.json(res, 408, {
        code: '000630', sqlState: '57014',
        message: `Statement reached its statement or warehouse timeout of ${rec.timeoutSec} second(s) and was canceled.`, ...base,
      });
    }
    const parts = this.partitions(rec);
    if (partition >= parts.chunks.length) {
      return this.json(res, 422, { code: '000710', sqlState: '22023', message: `Invalid partition number ${partition}: the result has ${parts.chunks.length} partition(s).`, ...base });
    }
    const link = linkHeader(rec.handle, partition, parts.chunks.length);
    if (partition > 0) {
      // Partitions after the first ("Retrieving additional partitions"):
      // the body holds the rows only; gzip-compressed when the client
      // accepts it.
      return this.sendPartition(res, rec, parts, partition, gzipOk, link);
    }
    const r = rec.result;
    // A multi-statement summary carries no partitionInfo ("Using explicit
    // transactions" shows the response: numRows, format, rowType).
    const summary = rec.children && rec.result.summary;
    const body = {
      resultSetMetaData: summary ? { numRows: r.data.length, format: 'jsonv2', rowType: r.rowType }
        : { numRows: r.data.length, format: 'jsonv2', partitionInfo: parts.info, rowType: r.rowType },
      data: parts.chunks[0],
      ...SUCCESS,
      ...base,
    };
    if (r.stats) body.stats = r.stats;
    if (rec.children) body.statementHandles = rec.children;
    const text = JSON.stringify(body);
    const drop = this.takeFault('drop', 'status');
    if (drop) return this.dropMidway(res, Buffer.from(text), { 'Content-Type': 'application/json', Link: link }, drop);
    return this.json(res, 200, body, { Link: link });
  }

  sendPartition(res, rec, parts, partition, gzipOk, link) {
    const raw = Buffer.from(parts.bodies[partition]);
    const body = gzipOk ? parts.gz[partition] : raw;
    const headers = { 'Content-Type': 'application/json', Link: link };
    if (gzipOk) headers['Content-Encoding'] = 'gzip';
    const drop = this.takeFault('drop', 'partition', (f) => f.partition === undefined || Number(f.partition) === partition);
    if (drop) return this.dropMidway(res, body, headers, drop);
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers);
    res.end(body);
  }

  // Sends the headers and part of the body, then destroys the socket.
  dropMidway(res, body, headers, f) {
    const n = Math.max(0, Math.min(body.length - 1, f.afterBytes ?? Math.floor(body.length / 2)));
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    res.write(body.subarray(0, n), () => setTimeout(() => res.socket && res.socket.destroy(), 10));
  }

  partitions(rec) {
    if (rec.parts) return rec.parts;
    const per = Math.max(1, this.config.rowsPerPartition);
    const rows = rec.nullable ? rec.result.data : rec.result.data.map((row) => row.map((v) => (v === null ? 'null' : v)));
    const chunks = [];
    if (this.config.partitionBytes > 0) {
      // Snowflake sizes partitions by bytes, so their row counts vary
      // ("Retrieving additional partitions"; partitionInfo gives each
      // one's rowCount and sizes): a partition closes once its rows pass
      // partitionBytes of JSON (or rowsPerPartition rows).
      let cur = [];
      let bytes = 0;
      for (const row of rows) {
        cur.push(row);
        bytes += Buffer.byteLength(JSON.stringify(row)) + 1;
        if (bytes >= this.config.partitionBytes || cur.length >= per) {
          chunks.push(cur);
          cur = [];
          bytes = 0;
        }
      }
      if (cur.length) chunks.push(cur);
    } else {
      for (let i = 0; i < rows.length; i += per) chunks.push(rows.slice(i, i + per));
    }
    if (!chunks.length) chunks.push([]);
    const bodies = chunks.map((c) => JSON.stringify({ data: c }));
    const gz = chunks.map((c, i) => (i === 0 ? null : zlib.gzipSync(bodies[i])));
    const info = chunks.map((c, i) => {
      const e = { rowCount: c.length, uncompressedSize: i === 0 ? Buffer.byteLength(JSON.stringify(c)) : Buffer.byteLength(bodies[i]) };
      if (i > 0) e.compressedSize = gz[i].length;
      return e;
    });
    rec.parts = { chunks, bodies, gz, info };
    return rec.parts;
  }

  // ---- GET /api/v2/statements/{handle} --------------------------------------

  async status(req, res, url, rec) {
    const partition = Number(url.searchParams.get('partition') || 0);
    if (!Number.isInteger(partition) || partition < 0) {
      return this.json(res, 400, { code: '390014', message: `partition must be a non-negative integer, got ${url.searchParams.get('partition')}` });
    }
    if (rec.forcedPolls > 0) {
      rec.forcedPolls--;
      return this.json(res, 202, this.queryStatus(rec));
    }
    if (rec.status === 'running') return this.json(res, 202, this.queryStatus(rec));
    const gzipOk = /\bgzip\b/i.test(req.headers['accept-encoding'] || '');
    return this.finalResponse(res, rec, partition, gzipOk);
  }

  // ---- POST /api/v2/statements/{handle}/cancel ------------------------------

  async cancel(res, rec) {
    if (rec.status === 'running') {
      rec.canceled = true;
      rec.abort.abort(new Error('canceled'));
      if (rec.conn) try { rec.conn.interrupt(); } catch { /* finished */ }
      await rec.promise;
    }
    return this.json(res, 200, {
      code: '000000', sqlState: '00000', message: 'successfully canceled',
      statementHandle: rec.handle, statementStatusUrl: statusUrl(rec.handle),
    });
  }

  // ---- admin -----------------------------------------------------------------

  async admin(req, res, url, bodyText) {
    const p = url.pathname;
    let body = {};
    if (bodyText) {
      try { body = JSON.parse(bodyText); } catch { return this.json(res, 400, { message: 'admin body is not JSON' }); }
    }
    if (p === '/_emulator/health') return this.json(res, 200, { ok: true, port: this.port });
    if (p === '/_emulator/faults') {
      if (req.method === 'DELETE') {
        this.faults = [];
        this.expireTokens = false;
        return this.json(res, 200, { faults: [] });
      }
      if (req.method === 'POST') {
        const list = Array.isArray(body) ? body : Array.isArray(body.faults) ? body.faults : [body];
        for (const f of list) {
          if (f.type === 'expireTokens') { this.expireTokens = f.on !== false; continue; }
          if (!['status', 'delay', 'drop', 'async'].includes(f.type)) return this.json(res, 400, { message: `unknown fault type ${f.type}` });
          this.faults.push({ ...f });
        }
      }
      return this.json(res, 200, { faults: this.faults, expireTokens: this.expireTokens });
    }
    if (p === '/_emulator/change-at-now' && req.method === 'POST') {
      // {schema, statement}: see Engine.changeAtNow.
      this.engine.armedChangeAtNow = { schema: body.schema, statement: body.statement };
      return this.json(res, 200, { armed: true });
    }
    if (p === '/_emulator/counters') return this.json(res, 200, { ...this.counters, ...this.engine.stats });
    if (p === '/_emulator/log') return this.json(res, 200, { requests: this.log });
    if (p === '/_emulator/history') return this.json(res, 200, { queries: this.history });
    if (p === '/_emulator/config') {
      if (req.method === 'POST') Object.assign(this.config, body);
      return this.json(res, 200, this.config);
    }
    if (p === '/_emulator/reset' && req.method === 'POST') {
      this.faults = [];
      this.expireTokens = false;
      this.log = [];
      this.history = [];
      this.counters = { requests: {}, executions: {}, statementsExecuted: 0 };
      this.engine.stats = { detachedTransactions: 0, blockRollbacks: 0 };
      return this.json(res, 200, { ok: true });
    }
    return this.json(res, 404, { message: `unknown admin endpoint ${p}` });
  }
}

function statusUrl(handle) {
  return `/api/v2/statements/${handle}`;
}

function linkHeader(handle, cur, total) {
  const u = (n) => `</api/v2/statements/${handle}?partition=${n}>`;
  const out = [`${u(0)};rel="first"`, `${u(total - 1)};rel="last"`];
  if (cur + 1 < total) out.push(`${u(cur + 1)};rel="next"`);
  if (cur > 0) out.push(`${u(cur - 1)};rel="prev"`);
  return out.join(',');
}

// The session's output-format parameters ("Parameters": DATE_OUTPUT_FORMAT,
// TIME_OUTPUT_FORMAT, TIMESTAMP_OUTPUT_FORMAT and the TIMESTAMP_NTZ/LTZ/TZ_
// ones, which default to it), or null when none is set: then text
// conversions keep DuckDB's ISO forms.
function outputFormats(params) {
  const ts = params.timestamp_output_format;
  const f = {
    date: params.date_output_format, time: params.time_output_format,
    ntz: params.timestamp_ntz_output_format || ts, ltz: params.timestamp_ltz_output_format || ts,
    tz: params.timestamp_tz_output_format || ts,
  };
  return Object.values(f).some((x) => x) ? f : null;
}

function normalizeParams(p) {
  const out = {};
  if (p && typeof p === 'object') {
    for (const [k, v] of Object.entries(p)) out[k.toLowerCase()] = v;
  }
  return out;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`snowflake-emulator: ${err.message}\n`);
    process.exit(2);
  }
  const emu = new Emulator(opts);
  const port = await emu.start();
  process.stdout.write(`LISTENING 127.0.0.1:${port}\n`);
  const shutdown = async () => {
    await emu.stop();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()) && process.argv[1].endsWith('server.mjs')) {
  main();
}
