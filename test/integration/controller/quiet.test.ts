/**
 * At rest the controller leaves a converged table alone: its periodic resync skips a table whose
 * presence, cluster state (status, last committed write, frozen tables) and spec are what its last
 * converged pass saw. Anything that moves one of them brings a full re-read: a write to the delta
 * (rows in the view follow), a table changed by hand through the query console, POST /api/reconcile.
 * 3 local simulator nodes; table passes are counted from GET /metrics.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { runMctl } from '../../../src/cli/main.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { parseDistributedDefinition, parseShowCreateTable } from '../../../src/manticore/parse.js';
import { insert, showCreateTable } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import { parsePrometheus, sampleValue } from '../metrics/import-stack.js';

const CLUSTER = 'itq';
const TOKEN = 'quiet-test-token-0123456789abcdef';
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
/** resync period of the test's controller: the table resync period is the same with one table */
const RESYNC_MS = 500;

let dir: string;
let stack: RunningStack;
let nodes: NodeRef[];

const sql = (n: NodeRef) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tablePasses(): Promise<number> {
  const r = await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200);
  return sampleValue(parsePrometheus(await r.text()), 'manticore_orchestrator_reconcile_passes_total', { kind: 'table', outcome: 'ok' }) ?? 0;
}

function converged(): boolean {
  return stack.status.table('quiet')?.conditions.find((c) => c.type === 'TablesConverged')?.status === 'True';
}

function viewRows(): (number | undefined)[] {
  return (stack.status.table('quiet')?.nodes ?? []).map((n) => n.delta?.rows);
}

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${stack.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: await r.json() };
}

/** Waits until no table pass ran for `quietMs`; returns the pass count then. */
async function settled(quietMs: number): Promise<number> {
  let last = await tablePasses();
  let since = Date.now();
  const deadline = Date.now() + 60_000;
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error(`table passes never stopped for ${quietMs} ms (count ${last})`);
    await sleep(200);
    const now = await tablePasses();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'controller-quiet-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  writeFileSync(path.join(dir, 'specs', 'quiet.json'), JSON.stringify({ name: 'quiet', columns: [{ name: 'title', type: 'text' }] }));
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  stack = await startStack({ config, token: TOKEN, env: process.env, logger: silentLogger(), controller: { resyncMs: RESYNC_MS, fastResyncMs: 200 } });
  nodes = await stack.platform.listNodes();
  await waitFor(async () => converged(), 'form', 'the table converged on 3 nodes', { factor: WAIT_FORMED_MS / timeoutMs('form') });
});

after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('at rest a converged table is not read again, though the cluster pass runs every 500 ms', { timeout: 90_000 }, async () => {
  const before = await settled(3 * RESYNC_MS);
  await sleep(10 * RESYNC_MS);
  assert.equal(await tablePasses(), before, 'no table pass in 10 resync periods at rest');
  assert.ok(converged());
});

test('a write to the delta moves the cluster state: the table is read again and its rows follow', { timeout: 90_000 }, async () => {
  const before = await settled(3 * RESYNC_MS);
  await sql(nodes[0]!).exec(insert('quiet_delta', ['id', 'title'], [[1, 'one'], [2, 'two'], [3, 'three']], { cluster: CLUSTER }));
  await waitFor(async () => viewRows().length === 3 && viewRows().every((r) => r === 3), 'replicate', 'the view to count 3 rows in the delta on every node');
  assert.ok((await tablePasses()) > before, 'the table was read again');
  // and quiet again afterwards
  const after = await settled(3 * RESYNC_MS);
  await sleep(6 * RESYNC_MS);
  assert.equal(await tablePasses(), after);
});

test('a distributed table redefined by hand through the query console is put back at once', { timeout: 90_000 }, async () => {
  await settled(3 * RESYNC_MS);
  const target = nodes[1]!;
  const expected = parseDistributedDefinition(parseShowCreateTable(await sql(target).query(showCreateTable('quiet')))!);
  // drop and create in one go: the presence seen by the cluster pass may well never change
  for (const stmt of ['DROP TABLE quiet', "CREATE TABLE quiet type='distributed' local='quiet_delta'"]) {
    const r = await api('POST', '/api/query', { sql: stmt, node: target.name, write: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  await waitFor(
    async () => {
      const stmt = parseShowCreateTable(await sql(target).query(showCreateTable('quiet')));
      if (stmt === undefined) return false;
      const def = parseDistributedDefinition(stmt);
      return def.locals.length === 0 && JSON.stringify(def.agents) === JSON.stringify(expected.agents);
    },
    'replicate',
    `the distributed table on ${target.name} defined as the controller wants again`,
  );
  await waitFor(async () => converged(), 'replicate', 'TablesConverged again');
});

/** Counts the statements the controller sends through its pools, by node address and first words. */
function countStatements(): { counts: Map<string, number>; restore(): void } {
  const pools = stack.pools;
  const original = pools.get.bind(pools);
  const counts = new Map<string, number>();
  pools.get = (address: string) => {
    const client = original(address);
    return new Proxy(client, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (prop !== 'query' || typeof value !== 'function') return value;
        return (sql: string, ...rest: unknown[]) => {
          const what = `${address} ${sql.split(' ').slice(0, 2).join(' ').toUpperCase()}`;
          counts.set(what, (counts.get(what) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown).call(target, sql, ...rest);
        };
      },
    });
  };
  return { counts, restore: () => delete (pools as { get?: unknown }).get };
}

test('at rest SHOW LOCKS is kept like SHOW TABLES; while an operation is under way every cluster pass reads it', { timeout: 90_000 }, async () => {
  await settled(3 * RESYNC_MS);
  const addresses = nodes.map((n) => `${n.mysql.host}:${n.mysql.port}`);
  const seen = countStatements();
  try {
    await sleep(8 * RESYNC_MS);
    for (const a of addresses) {
      assert.ok((seen.counts.get(`${a} SHOW STATUS`) ?? 0) >= 5, `the cluster status of ${a} is read every pass: ${JSON.stringify([...seen.counts])}`);
      assert.ok((seen.counts.get(`${a} SHOW LOCKS`) ?? 0) <= 1, `SHOW LOCKS of ${a} at most once in 4 s at rest: ${JSON.stringify([...seen.counts])}`);
      assert.ok((seen.counts.get(`${a} SHOW TABLES`) ?? 0) <= 1, `SHOW TABLES of ${a} at most once in 4 s at rest`);
    }
    // an operation under way (a backup's agent job may FREEZE a table at any moment): read every pass
    const at = new Date().toISOString();
    const op = { id: 'quiet-hold-1', kind: 'test-hold', key: 'test/hold', requestedBy: 'quiet.test', requestedAt: at, state: 'running' as const, steps: [] };
    stack.status.upsertOperation(op);
    try {
      await sleep(RESYNC_MS);
      seen.counts.clear();
      await sleep(8 * RESYNC_MS);
      for (const a of addresses) assert.ok((seen.counts.get(`${a} SHOW LOCKS`) ?? 0) >= 5, `SHOW LOCKS of ${a} every pass while an operation runs: ${JSON.stringify([...seen.counts])}`);
    } finally {
      stack.status.upsertOperation({ ...op, state: 'succeeded', finishedAt: new Date().toISOString() });
    }
  } finally {
    seen.restore();
  }
});

test('POST /api/reconcile reads every table again at once; a body with fields is refused; no token, no reconcile', { timeout: 90_000 }, async () => {
  const before = await settled(3 * RESYNC_MS);
  const r = await api('POST', '/api/reconcile', {});
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.deepEqual(r.body, { data: { queued: 2 } });
  await waitFor(async () => (await tablePasses()) > before, 'replicate', 'a table pass after POST /api/reconcile');
  const bad = await api('POST', '/api/reconcile', { table: 'quiet' });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /body/);
  const anon = await fetch(`${stack.url}/api/reconcile`, { method: 'POST' });
  assert.equal(anon.status, 401);
});

test('mctl reconcile asks for the same full re-read; extra arguments are a usage error', { timeout: 60_000 }, async () => {
  const before = await settled(3 * RESYNC_MS);
  const env = { MCTL_SERVER: stack.url!, MCTL_TOKEN: TOKEN };
  const out: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
  assert.equal(await runMctl(['reconcile'], env, io, new AbortController().signal), 0, out.join(''));
  assert.match(out.join(''), /reconcile requested: 2 keys queued/);
  await waitFor(async () => (await tablePasses()) > before, 'replicate', 'a table pass after mctl reconcile');
  assert.equal(await runMctl(['reconcile', 'quiet'], env, io, new AbortController().signal), 2);
});
