// SQL API protocol: authentication, ResultSet shape, partitions with gzip,
// the 202 flow, 422/408 bodies, requestId idempotence, multi-statement
// requests, cancel, and every fault switch of the admin API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { startEmulator, signJwt, fingerprint, request } from './helpers.mjs';

let emu;
before(async () => {
  emu = await startEmulator({ args: ['--rows-per-partition', '3'] });
  await emu.ok('create table nums (n number(38,0), label varchar)');
  await emu.ok(`insert into nums select range, 'row ' || range from range(10)`);
});
after(async () => { await emu.stop(); });

const submit = (token, tokenType = 'KEYPAIR_JWT', extra = {}) => request(emu.port, {
  method: 'POST', path: '/api/v2/statements', token, tokenType, body: { statement: 'select 1', ...extra },
});

test('JWT: a valid key-pair token is accepted', async () => {
  const r = await submit(emu.token);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.data, [['1']]);
});

test('JWT: bad signature, wrong fingerprint, expired, too long, wrong sub, alg none -> 401 390144', async () => {
  const { privatePem, publicPem } = emu.keys;
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherPriv = other.privateKey.export({ type: 'pkcs8', format: 'pem' });
  const otherPub = other.publicKey.export({ type: 'spki', format: 'pem' });
  const now = Math.floor(Date.now() / 1000);
  const cases = {
    badSignature: signJwt({ privatePem: otherPriv, publicPem }), // claims our fingerprint, signed by another key
    wrongFingerprint: signJwt({ privatePem: otherPriv, publicPem: otherPub }),
    expired: signJwt({ privatePem, publicPem, iat: now - 7200, exp: now - 3600 }),
    overOneHour: signJwt({ privatePem, publicPem, iat: now, exp: now + 3700 }),
    wrongSub: signJwt({ privatePem, publicPem, sub: 'FLOETEST.SOMEONE_ELSE' }),
    lowerCase: signJwt({ privatePem, publicPem, account: 'floetest', user: 'floe_user' }),
    wrongAccount: signJwt({ privatePem, publicPem, account: 'OTHERACCT' }),
    tampered: emu.token.slice(0, -4) + (emu.token.endsWith('AAAA') ? 'BBBB' : 'AAAA'),
    algNone: Buffer.from('{"alg":"none"}').toString('base64url') + '.' + emu.token.split('.')[1] + '.',
  };
  for (const [name, tok] of Object.entries(cases)) {
    const r = await submit(tok);
    assert.equal(r.status, 401, name);
    assert.equal(r.json.code, '390144', name);
    assert.equal(r.json.message, 'JWT token is invalid.', name);
  }
  assert.match(fingerprint(publicPem), /^SHA256:[A-Za-z0-9+/]{43}=$/);
});

test('missing Authorization -> 401 390101; OAUTH and PAT tokens from the command line', async () => {
  const r = await request(emu.port, { method: 'POST', path: '/api/v2/statements', body: { statement: 'select 1' } });
  assert.equal(r.status, 401);
  assert.equal(r.json.code, '390101');
  assert.equal((await submit('oauth-test-token', 'OAUTH')).status, 200);
  assert.equal((await submit('oauth-test-token', null)).status, 200); // no token type: OAUTH assumed
  assert.equal((await submit('pat-test-token', 'PROGRAMMATIC_ACCESS_TOKEN')).status, 200);
  const bad = await submit('nope', 'OAUTH');
  assert.equal(bad.status, 401);
  assert.equal(bad.json.code, '390303');
  // A JWT sent as OAUTH is not an OAuth token.
  assert.equal((await submit(emu.token, 'OAUTH')).status, 401);
});

test('User-Agent is required; non-JSON content type is 415; bad body is 400', async () => {
  const r = await request(emu.port, { method: 'POST', path: '/api/v2/statements', token: emu.token, userAgent: null, body: { statement: 'select 1' } });
  assert.equal(r.status, 400);
  const r2 = await request(emu.port, { method: 'POST', path: '/api/v2/statements', token: emu.token, headers: { 'Content-Type': 'text/plain' }, body: 'select 1' });
  assert.equal(r2.status, 415);
  const r3 = await request(emu.port, { method: 'POST', path: '/api/v2/statements', token: emu.token, body: '{not json' });
  assert.equal(r3.status, 400);
  const r4 = await request(emu.port, { method: 'GET', path: '/api/v2/statements', token: emu.token });
  assert.equal(r4.status, 405);
});

test('ResultSet fields and partitions; partitions after the first are gzip when accepted', async () => {
  const r = await emu.sql('select n, label from nums order by n');
  assert.equal(r.status, 200);
  const j = r.json;
  assert.equal(j.code, '090001');
  assert.equal(j.sqlState, '00000');
  assert.equal(j.message, 'Statement executed successfully.');
  assert.match(j.statementHandle, /^[0-9a-f-]{36}$/);
  assert.equal(j.statementStatusUrl, `/api/v2/statements/${j.statementHandle}`);
  assert.equal(typeof j.createdOn, 'number');
  assert.equal(j.resultSetMetaData.numRows, 10);
  assert.deepEqual(j.resultSetMetaData.partitionInfo.map((p) => p.rowCount), [3, 3, 3, 1]);
  assert.deepEqual(j.data, [['0', 'row 0'], ['1', 'row 1'], ['2', 'row 2']]);
  const all = [...j.data];
  for (let p = 1; p < 4; p++) {
    const g = await emu.get(j.statementHandle, `?partition=${p}`, { 'Accept-Encoding': 'gzip' });
    assert.equal(g.status, 200);
    assert.equal(g.headers['content-encoding'], 'gzip');
    const info = j.resultSetMetaData.partitionInfo[p];
    assert.equal(g.raw.length, info.compressedSize);
    assert.equal(zlib.gunzipSync(g.raw).length, info.uncompressedSize);
    assert.deepEqual(Object.keys(g.json), ['data']);
    all.push(...g.json.data);
  }
  assert.deepEqual(all.map((x) => x[0]), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const plain = await emu.get(j.statementHandle, '?partition=2');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.deepEqual(plain.json.data, [['6', 'row 6'], ['7', 'row 7'], ['8', 'row 8']]);
  const p0 = await emu.get(j.statementHandle);
  assert.deepEqual(p0.json.data, j.data);
  const bad = await emu.get(j.statementHandle, '?partition=4');
  assert.equal(bad.status, 422);
});

test('async=true returns 202 QueryStatus, polls return 202 until done, then 200', async () => {
  const r = await emu.sql('select system$wait(1)', {}, '?async=true');
  assert.equal(r.status, 202);
  assert.equal(r.json.code, '333334');
  assert.equal(r.json.statementStatusUrl, `/api/v2/statements/${r.json.statementHandle}`);
  const first = await emu.get(r.json.statementHandle);
  assert.equal(first.status, 202);
  let last;
  for (let i = 0; i < 50; i++) {
    last = await emu.get(r.json.statementHandle);
    if (last.status !== 202) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(last.status, 200);
  assert.deepEqual(last.json.data, [['waited 1 seconds']]);
});

test('a statement slower than the threshold answers 202', async () => {
  await emu.admin('POST', 'config', { asyncThresholdMs: 100 });
  try {
    const r = await emu.sql('select system$wait(500, \'MILLISECONDS\')');
    assert.equal(r.status, 202);
    await new Promise((res) => setTimeout(res, 700));
    const g = await emu.get(r.json.statementHandle);
    assert.equal(g.status, 200);
  } finally {
    await emu.admin('POST', 'config', { asyncThresholdMs: 45000 });
  }
});

test('SQL errors are 422 QueryFailureStatus', async () => {
  const r = await emu.sql('select * from no_such_table');
  assert.equal(r.status, 422);
  assert.equal(r.json.code, '002003');
  assert.equal(r.json.sqlState, '42S02');
  assert.match(r.json.message, /NO_SUCH_TABLE' does not exist or not authorized/);
  assert.match(r.json.statementHandle, /^[0-9a-f-]{36}$/);
  const g = await emu.get(r.json.statementHandle);
  assert.equal(g.status, 422);
  assert.equal(g.json.code, '002003');
  const syn = await emu.sql('selec 1');
  assert.equal(syn.status, 422);
  assert.equal(syn.json.sqlState, '42000');
  const unknown = await emu.get('00000000-0000-0000-0000-000000000000');
  assert.equal(unknown.status, 422);
  assert.equal(unknown.json.code, '000709');
});

test('statement timeout -> 408 with code 000630', async () => {
  const r = await emu.sql('select system$wait(5)', { timeout: 1 });
  assert.equal(r.status, 408);
  assert.equal(r.json.code, '000630');
  assert.match(r.json.message, /timeout of 1 second/);
});

test('cancel a running statement', async () => {
  const r = await emu.sql('select system$wait(10)', {}, '?async=true');
  const c = await request(emu.port, { method: 'POST', path: `/api/v2/statements/${r.json.statementHandle}/cancel`, token: emu.token });
  assert.equal(c.status, 200);
  assert.equal(c.json.statementHandle, r.json.statementHandle);
  const g = await emu.get(r.json.statementHandle);
  assert.equal(g.status, 422);
  assert.equal(g.json.code, '000604');
});

test('requestId: a retry returns the original result and does not execute again', async () => {
  await emu.ok('create table idem (x int)');
  const rid = crypto.randomUUID();
  const a = await emu.sql('insert into idem values (1)', {}, `?requestId=${rid}`);
  const b = await emu.sql('insert into idem values (1)', {}, `?requestId=${rid}&retry=true`);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(b.json.statementHandle, a.json.statementHandle);
  const n = await emu.ok('select count(*) from idem');
  assert.deepEqual(n.data, [['1']]);
  const counters = (await emu.admin('GET', 'counters')).json;
  assert.equal(counters.executions[rid], 1);
});

test('fault: 503 after execution; the retry with the same requestId executes nothing', async () => {
  await emu.ok('create table idem2 (x int)');
  await emu.admin('POST', 'faults', { type: 'status', status: 503, endpoint: 'submit', after: true, count: 1 });
  const rid = crypto.randomUUID();
  const a = await emu.sql('insert into idem2 values (7)', {}, `?requestId=${rid}`);
  assert.equal(a.status, 503);
  const b = await emu.sql('insert into idem2 values (7)', {}, `?requestId=${rid}&retry=true`);
  assert.equal(b.status, 200);
  assert.deepEqual(b.json.data, [['1']]);
  assert.deepEqual((await emu.ok('select count(*) from idem2')).data, [['1']]);
  assert.equal((await emu.admin('GET', 'counters')).json.executions[rid], 1);
});

test('fault: next N requests -> 429 with Retry-After, 503, 504; nothing executes', async () => {
  await emu.admin('POST', 'faults', [
    { type: 'status', status: 429, count: 2, retryAfter: 3 },
    { type: 'status', status: 503, count: 1 },
    { type: 'status', status: 504, count: 1 },
  ]);
  const rid = crypto.randomUUID();
  const seen = [];
  for (let i = 0; i < 5; i++) {
    const r = await emu.sql('select 42', {}, `?requestId=${rid}`);
    seen.push(r.status);
    if (r.status === 429) assert.equal(r.headers['retry-after'], '3');
  }
  assert.deepEqual(seen, [429, 429, 503, 504, 200]);
  assert.equal((await emu.admin('GET', 'counters')).json.executions[rid], 1);
});

test('fault: slow responses', async () => {
  await emu.admin('POST', 'faults', { type: 'delay', ms: 300, count: 1 });
  const t0 = Date.now();
  const r = await emu.sql('select 1');
  assert.equal(r.status, 200);
  assert.ok(Date.now() - t0 >= 290);
  const t1 = Date.now();
  await emu.sql('select 1');
  assert.ok(Date.now() - t1 < 290);
});

test('fault: connection dropped mid-partition, then the retry succeeds', async () => {
  const r = await emu.ok('select n from nums order by n');
  await emu.admin('POST', 'faults', { type: 'drop', partition: 1, count: 1, afterBytes: 10 });
  const g = await emu.get(r.statementHandle, '?partition=1', { 'Accept-Encoding': 'gzip' });
  assert.ok(g.error, 'the client sees a broken response');
  const g2 = await emu.get(r.statementHandle, '?partition=1', { 'Accept-Encoding': 'gzip' });
  assert.equal(g2.status, 200);
  assert.deepEqual(g2.json.data, [['3'], ['4'], ['5']]);
});

test('fault: forced 202 for the next statement and its first polls', async () => {
  await emu.admin('POST', 'faults', { type: 'async', count: 1, polls: 2 });
  const r = await emu.sql('select 5');
  assert.equal(r.status, 202);
  await new Promise((res) => setTimeout(res, 500)); // long done: the 202s below are forced
  assert.equal((await emu.get(r.json.statementHandle)).status, 202);
  assert.equal((await emu.get(r.json.statementHandle)).status, 202);
  const done = await emu.get(r.json.statementHandle);
  assert.equal(done.status, 200);
  assert.deepEqual(done.json.data, [['5']]);
});

test('fault: expire tokens', async () => {
  await emu.admin('POST', 'faults', { type: 'expireTokens' });
  const r = await emu.sql('select 1');
  assert.equal(r.status, 401);
  assert.equal(r.json.code, '390144');
  const o = await submit('oauth-test-token', 'OAUTH');
  assert.equal(o.status, 401);
  assert.equal(o.json.code, '390318');
  await emu.admin('DELETE', 'faults');
  assert.equal((await emu.sql('select 1')).status, 200);
});

test('request log records headers; counters count endpoints', async () => {
  await emu.admin('POST', 'reset');
  await emu.sql('select 1');
  const log = (await emu.admin('GET', 'log')).json.requests;
  assert.equal(log.length, 1);
  assert.equal(log[0].headers.authorization, `Bearer ${emu.token}`);
  assert.equal(log[0].headers['x-snowflake-authorization-token-type'], 'KEYPAIR_JWT');
  assert.equal(log[0].headers['user-agent'], 'floe-emulator-test/1.0');
  assert.equal(log[0].status, 200);
  assert.ok(!JSON.stringify(log).includes('PRIVATE KEY'));
  const c = (await emu.admin('GET', 'counters')).json;
  assert.equal(c.requests.submit, 1);
});

test('multi-statement requests: MULTI_STATEMENT_COUNT, statementHandles, mismatch error', async () => {
  const r = await emu.ok('select 1; select 2, 3', { parameters: { MULTI_STATEMENT_COUNT: '2' } });
  assert.deepEqual(r.data, [['Multiple statements executed successfully.']]);
  assert.equal(r.statementHandles.length, 2);
  const s2 = await emu.get(r.statementHandles[1]);
  assert.deepEqual(s2.json.data, [['2', '3']]);
  const bad = await emu.sql('select 1; select 2');
  assert.equal(bad.status, 422);
  assert.equal(bad.json.code, '000008');
  assert.match(bad.json.message, /Actual statement count 2 did not match the desired statement count 1/);
  const lone = await emu.sql('begin');
  assert.equal(lone.status, 422);
});

test('transactions in a multi-statement request: rollback, commit, open transaction rolled back', async () => {
  await emu.ok('create table tx (x int)');
  const p = { parameters: { MULTI_STATEMENT_COUNT: 0 } };
  await emu.ok('begin; insert into tx values (1); rollback', p);
  await emu.ok('begin; insert into tx values (2); commit', p);
  await emu.ok('begin transaction; insert into tx values (3)', p);
  const failed = await emu.sql('begin; insert into tx values (4); insert into missing values (1); commit', p);
  assert.equal(failed.status, 422);
  assert.deepEqual((await emu.ok('select x from tx order by x')).data, [['2']]);
});

test('restart keeps the database (DuckDB file in the state directory)', async () => {
  const emu2 = await startEmulator();
  await emu2.ok('create table persisted (x int)');
  await emu2.ok('insert into persisted values (99)');
  await emu2.stop();
  const emu3 = await startEmulator({ state: emu2.dir });
  try {
    assert.deepEqual((await emu3.ok('select x from persisted')).data, [['99']]);
  } finally {
    await emu3.stop();
  }
});

test('DATE_PART: epoch_second of CURRENT_TIMESTAMP() is the whole seconds since the epoch; other parts', async () => {
  const emu2 = await startEmulator();
  try {
    const before = Math.floor(Date.now() / 1000);
    const r = await emu2.ok('select date_part(epoch_second, current_timestamp()), date_part(year, to_date(\'2024-02-29\')), date_part(epoch_millisecond, to_timestamp_ntz(\'1970-01-01 00:00:01.5\'))');
    const after = Math.floor(Date.now() / 1000);
    const [secs, year, ms] = r.data[0].map(Number);
    assert.ok(secs >= before && secs <= after, `${secs} in [${before}, ${after}]`);
    assert.equal(year, 2024);
    assert.equal(ms, 1500);
  } finally {
    await emu2.stop();
  }
});
