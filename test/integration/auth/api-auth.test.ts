/**
 * Auth of the controller API on a real HTTP server (listen(0)) over an in-memory status and one
 * real simulator node: every route but GET /api/status (and /metrics) needs a token; the viewer role
 * reads and runs read-only queries, everything else is 403 for it (routes added later included);
 * failed authentications are rate limited per address (429 + Retry-After); every mutating request,
 * refused ones included, leaves an audit record; no token reaches the log or the audit trail.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import winston from 'winston';
import { createApiApp } from '../../../src/api/app.js';
import type { ApiDeps } from '../../../src/api/deps.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import { ControllerMetrics } from '../../../src/observe/metrics.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { SearchdNode } from '../../../src/sim/launcher.js';
import type { AuditRecord } from '../../../src/status/types.js';
import { MemoryStatus } from '../api/memory-status.js';

const ADMIN = 'auth-admin-token-0123456789';
const VIEWER = 'auth-viewer-token-0123456789';
const VIEWER2 = 'auth-viewer-token-second-0001';

interface Served {
  url: string;
  server: Server;
}

async function serve(deps: ApiDeps): Promise<Served> {
  const app = createApiApp(deps);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function stop(s: Served | undefined): Promise<void> {
  if (!s) return;
  s.server.closeAllConnections();
  await new Promise<void>((r) => s.server.close(() => r()));
}

let dir: string;
let node: SearchdNode;
let pools: ManticorePools;
let main: Served;
let logText = '';
const status = new MemoryStatus();

function deps(over: Partial<ApiDeps> = {}): ApiDeps {
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => {
    logText += chunk.toString('utf8');
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
  const ref: NodeRef = {
    name: 'node0',
    ordinal: 0,
    mysql: { host: '127.0.0.1', port: node.ports.mysql },
    apiAddress: node.apiAddress,
    agentUrl: 'http://127.0.0.1:1',
  };
  return {
    status,
    requests: status,
    nodes: async () => [ref],
    pools,
    token: ADMIN,
    viewerTokens: [VIEWER, VIEWER2],
    logger,
    clusterName: 'main',
    version: '0.0.0-test',
    metrics: new ControllerMetrics({ defaultMetrics: false }),
    ...over,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are checked field by field
async function call(base: string, method: string, p: string, token: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const h: Record<string, string> = { ...headers };
  if (token !== null) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(`${base}${p}`, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics)
  }
  return { status: res.status, json, headers: res.headers };
}

async function rows(): Promise<number> {
  const r = await node.sql('SELECT COUNT(*) AS n FROM items');
  return Number(r.rows[0]?.['n']);
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mco-auth-'));
  node = new SearchdNode({ name: 'node0', dir: path.join(dir, 'node0'), serverId: 1 });
  await node.start();
  await node.sql('CREATE TABLE items (title text)');
  await node.sql("INSERT INTO items (id, title) VALUES (1, 'one'), (2, 'two')");
  pools = new ManticorePools({ queryTimeoutMs: 5_000 });
  // this client fails authentication on purpose many times: a high limit here, the default one below
  main = await serve(deps({ authRateLimit: { maxFailures: 10_000 } }));
});

after(async () => {
  await stop(main);
  await pools?.closeAll();
  await node?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const READ_ROUTES = ['/api/health', '/api/cluster', '/api/nodes', '/api/conditions', '/api/tables', '/api/tables/status', '/api/operations', '/api/imports', '/api/backups', '/api/audit', '/api/whoami'];
const WRITE_ROUTES: [string, string, unknown][] = [
  ['POST', '/api/import', { table: 'items' }],
  ['DELETE', '/api/imports/op-1', undefined],
  ['POST', '/api/backup', { tableName: 'items', type: 'delta' }],
  ['POST', '/api/restore', { tableName: 'items', filename: 'items-2026-01-01T00-00-00Z.tar.gz' }],
  ['POST', '/api/rotate-main', { tableName: 'items', newSlot: 'b', oldSlot: 'a' }],
  ['POST', '/api/cluster/bootstrap', { node: 'node0', force: true }],
  ['POST', '/api/repair', {}],
  ['POST', '/api/reconcile', {}],
  ['PUT', '/api/some-future-route', {}],
];

describe('tokens', () => {
  test('GET /api/status and /metrics need no token; everything else is 401 without one or with a wrong one', async () => {
    assert.equal((await call(main.url, 'GET', '/api/status', null)).status, 200);
    assert.equal((await call(main.url, 'GET', '/metrics', null)).status, 200);
    for (const p of READ_ROUTES) {
      const r = await call(main.url, 'GET', p, null);
      assert.equal(r.status, 401, p);
      assert.equal(r.json.error.code, 'UNAUTHORIZED', p);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      assert.equal((await call(main.url, 'GET', p, 'wrong-token-0123456789')).status, 401, p);
    }
    for (const [method, p, body] of WRITE_ROUTES) {
      const r = await call(main.url, method, p, null, body);
      assert.equal(r.status, 401, `${method} ${p}`);
    }
    assert.equal((await call(main.url, 'POST', '/api/query', null, { sql: 'SELECT 1' })).status, 401);
  });

  test('GET /api/whoami names the role of the token', async () => {
    assert.deepEqual((await call(main.url, 'GET', '/api/whoami', ADMIN)).json, { data: { role: 'admin' } });
    assert.deepEqual((await call(main.url, 'GET', '/api/whoami', VIEWER)).json, { data: { role: 'viewer' } });
    assert.deepEqual((await call(main.url, 'GET', '/api/whoami', VIEWER2)).json, { data: { role: 'viewer' } });
  });
});

describe('roles', () => {
  test('a viewer reads every GET route and runs read-only queries', async () => {
    for (const p of READ_ROUTES) {
      const r = await call(main.url, 'GET', p, VIEWER);
      assert.ok(r.status !== 401 && r.status !== 403, `${p}: ${r.status}`);
    }
    const q = await call(main.url, 'POST', '/api/query', VIEWER, { sql: 'SELECT COUNT(*) AS n FROM items' });
    assert.equal(q.status, 200, JSON.stringify(q.json));
    assert.equal(Number(q.json.data.results[0].rows[0].n), 2);
    const orig = await call(main.url, 'POST', '/api/query', VIEWER, { query: 'SHOW TABLES', replicaIndex: 0 });
    assert.equal(orig.status, 200, JSON.stringify(orig.json));
  });

  test('a viewer is 403 FORBIDDEN naming the admin role on every mutating route and on write queries; nothing runs', async () => {
    for (const [method, p, body] of WRITE_ROUTES) {
      const r = await call(main.url, method, p, VIEWER, body);
      assert.equal(r.status, 403, `${method} ${p}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'FORBIDDEN');
      assert.match(r.json.error.message, /admin role/);
    }
    const w = await call(main.url, 'POST', '/api/query', VIEWER, { sql: "INSERT INTO items (id, title) VALUES (3, 'three')", write: true });
    assert.equal(w.status, 403);
    assert.equal(w.json.error.code, 'FORBIDDEN');
    // without write:true a write is refused as not read-only, whoever asks
    const plain = await call(main.url, 'POST', '/api/query', VIEWER, { sql: 'DELETE FROM items WHERE id = 1' });
    assert.equal(plain.status, 400);
    assert.equal(plain.json.error.field, 'write');
    const smuggled = await call(main.url, 'POST', '/api/query', VIEWER, { sql: 'SELECT 1 --x; DELETE FROM items WHERE id = 1' });
    assert.equal(smuggled.status, 400);
    assert.equal(await rows(), 2);
    assert.equal(status.bootstrapRequests.length, 0);
  });

  test('the admin token runs writes with write:true and requests a bootstrap', async () => {
    const w = await call(main.url, 'POST', '/api/query', ADMIN, { sql: "INSERT INTO items (id, title) VALUES (3, 'three')", write: true });
    assert.equal(w.status, 200, JSON.stringify(w.json));
    assert.equal(await rows(), 3);
    const b = await call(main.url, 'POST', '/api/cluster/bootstrap', ADMIN, { node: 'node0', force: true }, { 'x-requested-by': 'alice (test)' });
    assert.equal(b.status, 202, JSON.stringify(b.json));
    assert.equal(status.bootstrapRequests.length, 1);
  });
});

describe('audit', () => {
  test('every mutating request is recorded with who, what, when and result; tokens appear nowhere', async () => {
    const r = await call(main.url, 'GET', '/api/audit', ADMIN);
    assert.equal(r.status, 200);
    const records = r.json.data as AuditRecord[];
    // newest first
    assert.ok(records.length >= WRITE_ROUTES.length * 2 + 4);
    assert.ok(records.every((x, i) => i === 0 || records[i - 1]!.at >= x.at));
    const boot = records.find((x) => x.path === '/api/cluster/bootstrap' && x.status === 202);
    assert.ok(boot, 'the accepted bootstrap is audited');
    assert.equal(boot.requestedBy, 'alice (test)');
    assert.equal(boot.role, 'admin');
    assert.equal(boot.method, 'POST');
    assert.match(boot.address, /127\.0\.0\.1/);
    assert.match(boot.body ?? '', /node0/);
    assert.equal(typeof boot.operationId, 'string');
    const forbidden = records.filter((x) => x.status === 403);
    assert.ok(forbidden.length >= WRITE_ROUTES.length + 1);
    assert.ok(forbidden.every((x) => x.role === 'viewer' && x.errorCode === 'FORBIDDEN' && x.requestedBy === 'api'));
    const unauth = records.filter((x) => x.status === 401);
    assert.ok(unauth.every((x) => x.role === 'none' && x.errorCode === 'UNAUTHORIZED' && x.body === undefined));
    assert.ok(records.some((x) => x.status === 400 && x.errorCode === 'VALIDATION_FAILED' && x.path === '/api/query'));
    // reads are not audited
    assert.ok(!records.some((x) => x.method === 'GET'));
    const refused = await call(main.url, 'GET', '/api/audit?result=refused&limit=3', VIEWER);
    assert.equal(refused.json.data.length, 3);
    assert.ok((refused.json.data as AuditRecord[]).every((x) => x.status >= 400));
    assert.equal((await call(main.url, 'GET', '/api/audit?limit=0', ADMIN)).json.error.field, 'limit');

    const all = JSON.stringify(records) + logText;
    for (const t of [ADMIN, VIEWER, VIEWER2, 'wrong-token-0123456789']) assert.ok(!all.includes(t), 'no token in the audit trail or the log');
    assert.ok(logText.includes('api request'), 'the request log was captured at debug level');
  });
});

describe('failed-auth rate limit', () => {
  test('after N failures from one address: 429 RATE_LIMITED with Retry-After, even with the right token', async () => {
    const limited = await serve(deps({ authRateLimit: { maxFailures: 5, windowMs: 60_000 } }));
    try {
      for (let i = 0; i < 5; i += 1) assert.equal((await call(limited.url, 'GET', '/api/tables', `bad-token-${i}-0123456789`)).status, 401);
      const r = await call(limited.url, 'GET', '/api/tables', 'bad-token-x-0123456789');
      assert.equal(r.status, 429);
      assert.equal(r.json.error.code, 'RATE_LIMITED');
      const retry = Number(r.headers.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 60, String(retry));
      assert.equal((await call(limited.url, 'GET', '/api/tables', ADMIN)).status, 429);
      // the unauthenticated probe stays open
      assert.equal((await call(limited.url, 'GET', '/api/status', null)).status, 200);
      // the first server (another limiter) is not affected
      assert.equal((await call(main.url, 'GET', '/api/tables', ADMIN)).status, 200);
    } finally {
      await stop(limited);
    }
  });
});
