import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestedByOf, summarizeBody, MemoryAuditLog } from '../../../src/api/audit.js';
import { authorizeRole, FailedAuthLimiter, parseAuthorization, roleOfToken } from '../../../src/api/auth.js';

const ADMIN = 'admin-token-0123456789';
const V1 = 'viewer-token-aaaaaaaaaa';
const V2 = 'viewer-token-bbbbbbbbbb';

test('roleOfToken: admin, any viewer token, nothing else', () => {
  const tokens = { admin: ADMIN, viewers: [V1, V2] };
  assert.equal(roleOfToken(ADMIN, tokens), 'admin');
  assert.equal(roleOfToken(V1, tokens), 'viewer');
  assert.equal(roleOfToken(V2, tokens), 'viewer');
  assert.equal(roleOfToken(`${V2}x`, tokens), undefined);
  assert.equal(roleOfToken('', tokens), undefined);
  assert.equal(roleOfToken('', { admin: ADMIN, viewers: [''] }), undefined, 'an empty configured token never matches');
  // a token configured in both lists is admin
  assert.equal(roleOfToken(ADMIN, { admin: ADMIN, viewers: [ADMIN] }), 'admin');
});

test('parseAuthorization: the original messages', () => {
  assert.deepEqual(parseAuthorization(undefined), { problem: 'missing Authorization header' });
  assert.deepEqual(parseAuthorization('Basic abc'), { problem: 'invalid Authorization header format' });
  assert.deepEqual(parseAuthorization('bearer  tok '), { token: 'tok' });
});

test('authorizeRole: viewers read and run read-only queries; everything else needs admin', () => {
  assert.equal(authorizeRole('viewer', 'GET', '/tables', undefined), undefined);
  assert.equal(authorizeRole('viewer', 'HEAD', '/cluster', undefined), undefined);
  assert.equal(authorizeRole('viewer', 'POST', '/query', { sql: 'SELECT 1' }), undefined);
  assert.equal(authorizeRole('viewer', 'POST', '/query', { sql: 'SELECT 1', write: false }), undefined);
  assert.match(authorizeRole('viewer', 'POST', '/query', { sql: 'SELECT 1', write: true }) ?? '', /admin role/);
  assert.match(authorizeRole('viewer', 'POST', '/query', { sql: 'SELECT 1', write: 'yes' }) ?? '', /admin role/);
  for (const [method, path] of [['POST', '/backup'], ['POST', '/import'], ['DELETE', '/imports/x'], ['POST', '/repair'], ['PUT', '/anything'], ['POST', '/query/']]) {
    const refusal = authorizeRole('viewer', method!, path!, {});
    if (path === '/query/') assert.equal(refusal, undefined, 'a trailing slash is the same route');
    else assert.match(refusal ?? '', new RegExp(`${method} /api${path} needs the admin role`));
  }
  assert.equal(authorizeRole('admin', 'POST', '/backup', {}), undefined);
  assert.equal(authorizeRole('admin', 'POST', '/query', { write: true }), undefined);
});

test('FailedAuthLimiter: blocks an address after N failures in the window, others unaffected, then lets it go', () => {
  let now = 1_000_000;
  const limiter = new FailedAuthLimiter({ maxFailures: 3, windowMs: 60_000, now: () => now });
  for (let i = 0; i < 3; i += 1) {
    assert.equal(limiter.blockedFor('10.0.0.1'), undefined);
    limiter.fail('10.0.0.1');
  }
  assert.equal(limiter.blockedFor('10.0.0.1'), 60);
  assert.equal(limiter.blockedFor('10.0.0.2'), undefined);
  now += 30_500;
  assert.equal(limiter.blockedFor('10.0.0.1'), 30);
  now += 30_000;
  assert.equal(limiter.blockedFor('10.0.0.1'), undefined);
});

test('FailedAuthLimiter: the address table is bounded', () => {
  const limiter = new FailedAuthLimiter({ maxFailures: 1, maxAddresses: 2 });
  limiter.fail('a');
  limiter.fail('b');
  limiter.fail('c');
  assert.equal(limiter.blockedFor('a'), undefined, 'the oldest entry was dropped');
  assert.ok(limiter.blockedFor('c') !== undefined);
});

test('summarizeBody: secrets redacted, long values shortened, bounded', () => {
  const s = summarizeBody({ tableName: 'products', token: 'abc', nested: { secretKey: 'x', password: 'p', AWS_ACCESS_KEY_ID: 'k' }, long: 'x'.repeat(500) }) ?? '';
  assert.doesNotMatch(s, /abc|"p"|"k"/);
  assert.match(s, /\[redacted\]/);
  assert.match(s, /products/);
  assert.match(s, /500 chars/);
  assert.ok((summarizeBody({ list: Array.from({ length: 5000 }, (_, i) => `item-${i}-${'y'.repeat(100)}`) }) ?? '').length <= 1001);
  assert.equal(summarizeBody(undefined), undefined);
  assert.equal(summarizeBody({}), undefined);
});

test('requestedByOf: cleaned header or "api"', () => {
  assert.equal(requestedByOf(undefined), 'api');
  assert.equal(requestedByOf('  '), 'api');
  assert.equal(requestedByOf('mctl (me@host)\r\nX: y'), 'mctl (me@host)X: y');
  assert.equal(requestedByOf('z'.repeat(500)).length, 200);
});

test('MemoryAuditLog: newest first, bounded', () => {
  const log = new MemoryAuditLog(2);
  for (const id of ['1', '2', '3']) log.appendAudit({ id, at: '', requestedBy: 'api', role: 'admin', address: '', method: 'POST', path: '/', status: 200 });
  assert.deepEqual(log.auditRecords().map((r) => r.id), ['3', '2']);
});
