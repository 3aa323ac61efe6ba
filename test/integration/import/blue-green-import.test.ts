/**
 * A blue/green import on 3 local simulator nodes with the real controller stack and agents: while a
 * loop runs SELECT count(*) against the distributed table on EVERY node, a CSV is imported through
 * POST /api/import. Asserts zero failed queries (never a missing table), counts switching from the
 * old data to the new, the old slot dropped and the new slot served on every node; a second import
 * flips back to the first slot; a second request while one runs is refused with IMPORT_IN_PROGRESS.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { runMctl } from '../../../src/cli/main.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { errorMessage } from '../../../src/lib/errors.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseCount, parseDistributedDefinition, parseShowCreateTable, parseShowTables } from '../../../src/manticore/parse.js';
import { selectCount, showAllClusterStatus, showCreateTable, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';

const CLUSTER = 'itimp';
const TOKEN = 'import-test-token-0123456789abcd';
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
/** a whole import of a small CSV: build (indexer + temp searchd) + IMPORT on 3 nodes + flip */
const WAIT_IMPORT_MS = 120_000;
/** pause between two rounds of the query loop */
const QUERY_LOOP_PAUSE_MS = 20;
/** rows of the CSV whose build is cancelled (large enough for the build to outlast the cancel request) */
const CANCEL_CSV_ROWS = 400_000;

let dir: string;
let stack: RunningStack;
let nodes: NodeRef[];

const sql = (n: NodeRef) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);

function writeCsv(file: string, rows: number, label: string): void {
  const lines = ['id,title,price'];
  for (let i = 1; i <= rows; i++) lines.push(`${i},"${label} item ${i}",${(i * 1.25).toFixed(2)}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}

async function tablesOn(n: NodeRef): Promise<Map<string, string>> {
  return new Map(parseShowTables(await sql(n).query(showTables())).map((t) => [t.name, t.type]));
}

async function servedSlot(n: NodeRef): Promise<string> {
  const stmt = parseShowCreateTable(await sql(n).query(showCreateTable('products')));
  assert.ok(stmt, `SHOW CREATE TABLE products on ${n.name}`);
  const def = parseDistributedDefinition(stmt);
  const used = [...def.locals, ...def.agents.map((a) => a.table)];
  return used.includes('products_main_a') ? 'a' : used.includes('products_main_b') ? 'b' : 'none';
}

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

/** SELECT count(*) FROM products on every node in a loop until stopped; every answer and failure kept. */
function queryLoop() {
  let stop = false;
  const failures: string[] = [];
  const counts = new Map<string, number[]>();
  let rounds = 0;
  const done = (async () => {
    while (!stop) {
      await Promise.all(
        nodes.map(async (n) => {
          try {
            const c = parseCount(await sql(n).query(selectCount('products')));
            const list = counts.get(n.name) ?? [];
            if (c !== undefined && list[list.length - 1] !== c) list.push(c);
            counts.set(n.name, list);
          } catch (err) {
            failures.push(`${n.name}: ${errorMessage(err)}`);
          }
        }),
      );
      rounds++;
      await new Promise((r) => setTimeout(r, QUERY_LOOP_PAUSE_MS));
    }
  })();
  return {
    failures,
    counts,
    rounds: () => rounds,
    async stop() {
      stop = true;
      await done;
    },
  };
}

async function waitOperation(id: string): Promise<OperationRecord> {
  let op: OperationRecord | undefined;
  await waitFor(
    async () => {
      op = stack.status.operation(id);
      return op !== undefined && op.state !== 'running' && op.state !== 'pending';
    },
    'form',
    `import ${id} ends`,
    { factor: WAIT_IMPORT_MS / timeoutMs('form') },
  );
  return op!;
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'import-it-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  mkdirSync(path.join(dir, 'csv'), { recursive: true });
  writeFileSync(
    path.join(dir, 'specs', 'products.json'),
    JSON.stringify({
      name: 'products',
      columns: [
        { name: 'title', type: 'text' },
        { name: 'price', type: 'float' },
      ],
      import: { source: path.join(dir, 'csv', 'first.csv'), header: true },
      distributed: { haStrategy: 'nodeads', agentRetryCount: 1 },
      deletionPolicy: 'retain',
    }),
  );
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env.CONTROLLER_TEST_LOG ? createLogger({ level: process.env.CONTROLLER_TEST_LOG }) : silentLogger();
  stack = await startStack({ config, token: TOKEN, env: process.env, logger, controller: { resyncMs: 1_000, fastResyncMs: 300 } });
  nodes = await stack.platform.listNodes();
  await waitFor(
    async () => {
      for (const n of nodes) {
        const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
        const t = await tablesOn(n);
        if (t.get('products') !== 'distributed' || t.get('products_main_a') !== 'rt' || t.get('products_delta') !== 'rt') return false;
      }
      return true;
    },
    'form',
    'cluster formed and products converged on every node',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );
});

after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('import into slot b while every node is queried: no failed query, counts switch, slot a dropped', { timeout: WAIT_IMPORT_MS + 30_000 }, async () => {
  writeCsv(path.join(dir, 'csv', 'first.csv'), 50, 'first');
  const loop = queryLoop();
  const started = Date.now();
  const res = await api('POST', '/api/import', { table: 'products', source: path.join(dir, 'csv', 'first.csv') });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const op = (res.json as { data: OperationRecord }).data;
  assert.equal(op.kind, 'import');

  // a second request while it runs is refused, naming the running operation
  const again = await api('POST', '/api/import', { tableName: 'products' });
  assert.equal(again.status, 409, JSON.stringify(again.json));
  assert.equal((again.json as { error: { code: string } }).error.code, 'IMPORT_IN_PROGRESS');
  assert.match((again.json as { error: { message: string } }).error.message, new RegExp(op.id));

  const end = await waitOperation(op.id);
  const totalMs = Date.now() - started;
  // keep querying a moment after the old slot was dropped
  await new Promise((r) => setTimeout(r, 300));
  await loop.stop();
  process.stderr.write(
    `# import of 50 rows: ${totalMs} ms request to done (build ${end.figures?.buildMs ?? '?'} ms, flip done ${end.figures?.flipDoneMs ?? '?'} ms after the start), ${loop.rounds()} query rounds on 3 nodes, flip gap ${end.figures?.flipGapMs ?? 0} ms\n`,
  );
  assert.equal(end.state, 'succeeded', `${end.error ?? ''} ${JSON.stringify(end.steps)}`);
  assert.deepEqual(loop.failures, [], 'no query failed during the import');
  for (const n of nodes) {
    const seen = loop.counts.get(n.name) ?? [];
    assert.equal(seen[0], 0, `${n.name} first answered from the old (empty) slot`);
    assert.equal(seen[seen.length - 1], 50, `${n.name} ends answering from the new slot`);
    assert.ok(seen.every((c) => c === 0 || c === 50), `${n.name} saw only old or new counts: ${seen.join(',')}`);
    const t = await tablesOn(n);
    assert.equal(t.has('products_main_a'), false, `old slot dropped on ${n.name}`);
    assert.equal(t.get('products_main_b'), 'rt');
    assert.equal(await servedSlot(n), 'b', `${n.name} serves slot b`);
    assert.equal(parseCount(await sql(n).query(selectCount('products_main_b'))), 50);
  }
  // the imports list shows it
  const list = await api('GET', '/api/imports');
  assert.equal(list.status, 200);
  const body = list.json as { imports: unknown[]; operations: OperationRecord[] };
  assert.deepEqual(body.imports, []);
  assert.equal(body.operations[0]?.id, op.id);
});

test('a second import flips back to slot a on every node', { timeout: WAIT_IMPORT_MS + 30_000 }, async () => {
  writeCsv(path.join(dir, 'csv', 'second.csv'), 30, 'second');
  const loop = queryLoop();
  const res = await api('POST', '/api/import', { table: 'products', source: path.join(dir, 'csv', 'second.csv') });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const end = await waitOperation((res.json as { data: OperationRecord }).data.id);
  await loop.stop();
  assert.equal(end.state, 'succeeded', `${end.error ?? ''} ${JSON.stringify(end.steps)}`);
  assert.deepEqual(loop.failures, [], 'no query failed during the import');
  for (const n of nodes) {
    const seen = loop.counts.get(n.name) ?? [];
    assert.equal(seen[0], 50);
    assert.equal(seen[seen.length - 1], 30);
    const t = await tablesOn(n);
    assert.equal(t.has('products_main_b'), false, `old slot b dropped on ${n.name}`);
    assert.equal(await servedSlot(n), 'a');
  }
  // table convergence agrees: the active slot is a
  await waitFor(async () => stack.status.table('products')?.activeSlot === 'a', 'replicate', 'status shows slot a active');
});

test('a missing source fails before anything changes; slot a keeps serving', { timeout: WAIT_IMPORT_MS }, async () => {
  const res = await api('POST', '/api/import', { table: 'products', source: path.join(dir, 'csv', 'missing.csv') });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const end = await waitOperation((res.json as { data: OperationRecord }).data.id);
  assert.equal(end.state, 'failed');
  assert.match(end.error ?? '', /missing\.csv/);
  const build = end.steps.find((st) => st.name === 'build');
  assert.equal(build?.state, 'failed', JSON.stringify(end.steps));
  assert.match(build?.message ?? '', /missing\.csv/);
  assert.equal(end.steps[end.steps.length - 1]?.name, 'drop partial slot');
  assert.equal(end.steps[end.steps.length - 1]?.state, 'succeeded');
  for (const n of nodes) {
    assert.equal(await servedSlot(n), 'a');
    assert.equal(parseCount(await sql(n).query(selectCount('products'))), 30);
    assert.equal((await tablesOn(n)).has('products_main_b'), false);
  }
});

test('cancel during the build (DELETE /api/imports/:id): the partial slot is removed, slot a keeps serving', { timeout: WAIT_IMPORT_MS + 30_000 }, async () => {
  writeCsv(path.join(dir, 'csv', 'big.csv'), CANCEL_CSV_ROWS, 'big');
  const loop = queryLoop();
  const res = await api('POST', '/api/import', { table: 'products', source: path.join(dir, 'csv', 'big.csv') });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const id = (res.json as { data: OperationRecord }).data.id;
  await waitFor(
    async () => stack.status.operation(id)?.steps.some((s) => s.name === 'build' && s.state === 'running') === true,
    'replicate',
    'the build step runs',
  );
  const del = await api('DELETE', `/api/imports/${id}`);
  assert.equal(del.status, 200, JSON.stringify(del.json));
  const end = await waitOperation(id);
  await loop.stop();
  assert.equal(end.state, 'cancelled', `${end.error ?? ''} ${JSON.stringify(end.steps)}`);
  assert.deepEqual(loop.failures, [], 'no query failed');
  for (const n of nodes) {
    assert.deepEqual(loop.counts.get(n.name), [30], `${n.name} answered from slot a only`);
    assert.equal(await servedSlot(n), 'a');
    assert.equal((await tablesOn(n)).has('products_main_b'), false, `no partial slot on ${n.name}`);
  }
  // a finished import cannot be cancelled
  const late = await api('DELETE', `/api/imports/${id}`);
  assert.equal(late.status, 409);
});

test('mctl import TABLE SOURCE --watch follows the import to its end; mctl cancel of a finished import fails', { timeout: WAIT_IMPORT_MS + 30_000 }, async () => {
  writeCsv(path.join(dir, 'csv', 'third.csv'), 12, 'third');
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
  const env = { MCTL_SERVER: stack.url!, MCTL_TOKEN: TOKEN };
  const code = await runMctl(['import', 'products', path.join(dir, 'csv', 'third.csv'), '--watch'], env, io, new AbortController().signal);
  assert.equal(code, 0, `${out.join('')}${err.join('')}`);
  assert.match(out.join(''), /succeeded: products serves products_main_b \(12 rows\)/);
  assert.match(err.join(''), /flip/, 'progress lines name the steps');
  for (const n of nodes) assert.equal(parseCount(await sql(n).query(selectCount('products'))), 12);
  const id = /import (import-[\w-]+) succeeded/.exec(out.join(''))?.[1];
  assert.ok(id);
  const cancelOut: string[] = [];
  const cancelCode = await runMctl(['cancel', id], env, { out: (t) => cancelOut.push(t), err: (t) => cancelOut.push(t) }, new AbortController().signal);
  assert.equal(cancelCode, 1);
  assert.match(cancelOut.join(''), /CONFLICT: import .* has already succeeded/);
});
