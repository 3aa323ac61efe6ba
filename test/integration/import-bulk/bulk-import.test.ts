/**
 * importMethod "bulk" end to end on a local 3-node simulator stack (controller, agents, cluster):
 *  1. a CSV with a header (detected), ids in the first column and every converted type is streamed
 *     through HTTP /bulk into the new slot on every node; the distributed table serves it on every
 *     node, the old slot is dropped;
 *  2. a source whose bad rows fall into two of its three batches: the import fails naming the count,
 *     the partial slot is dropped, and the table keeps serving the first import's rows.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseShowTables } from '../../../src/manticore/parse.js';
import { showAllClusterStatus, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { assertWorld, observeWorld } from '../import-faults/world.js';

const CLUSTER = 'itbulk';
const TOKEN = 'import-bulk-token-0123456789abcdef';
const TABLE = 'goods';
const ROWS = 3_000;
/** rows per /bulk request (the spec's batchSize) */
const BATCH = 1_000;
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
const WAIT_IMPORT_MS = 60_000;

let dir: string;
let stack: RunningStack | undefined;

after(async () => {
  await stack?.stop();
  if (dir && process.env.KEEP_TEST_DIRS === undefined) rmSync(dir, { recursive: true, force: true });
});

const sqlOf = (s: RunningStack, n: NodeRef) => s.pools.get(`${n.mysql.host}:${n.mysql.port}`);

function csv(rows: number, bad: Set<number>): string {
  const lines = ['id,title,price,on_sale,added,tags,meta'];
  for (let i = 1; i <= rows; i++) {
    const price = bad.has(i) ? 'cheap' : (i * 0.5).toFixed(2);
    lines.push(`${i},"item ${i}, bulk",${price},${i % 2 === 0 ? 'yes' : 'no'},2024-01-${String((i % 28) + 1).padStart(2, '0')} 10:00:00,"${i % 7} ${i % 5}","{""n"": ${i}}"`);
  }
  return `${lines.join('\n')}\n`;
}

async function waitEnd(s: RunningStack, id: string): Promise<OperationRecord> {
  let end: OperationRecord | undefined;
  await waitFor(
    () => {
      end = s.status.operation(id);
      return end !== undefined && end.state !== 'running' && end.state !== 'pending';
    },
    'form',
    `import ${id} ends`,
    { factor: WAIT_IMPORT_MS / timeoutMs('form') },
  );
  return end!;
}

test('bulk import: streamed through /bulk into the new slot on every node; failed batches fail the import with their count', { timeout: WAIT_FORMED_MS + 2 * WAIT_IMPORT_MS }, async (t) => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'import-bulk-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'specs', `${TABLE}.json`),
    JSON.stringify({
      name: TABLE,
      columns: [
        { name: 'title', type: 'text' },
        { name: 'price', type: 'float' },
        { name: 'on_sale', type: 'bool' },
        { name: 'added', type: 'timestamp' },
        { name: 'tags', type: 'multi' },
        { name: 'meta', type: 'json' },
      ],
      importMethod: 'bulk',
      import: { source: 'goods.csv', detectHeader: true, workers: 3, batchSize: BATCH },
      distributed: { haStrategy: 'nodeads', agentRetryCount: 1 },
    }),
  );
  // a relative source is read from the shared volume (<data-dir>/shared locally)
  mkdirSync(path.join(dir, 'shared'), { recursive: true });
  writeFileSync(path.join(dir, 'shared', 'goods.csv'), csv(ROWS, new Set()));
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env.CONTROLLER_TEST_LOG ? createLogger({ level: process.env.CONTROLLER_TEST_LOG }) : silentLogger();
  stack = await startStack({ config, token: TOKEN, env: process.env, logger, controller: { resyncMs: 1_000, fastResyncMs: 300 } });
  const s = stack;
  const nodes = [...(await s.platform.listNodes())].sort((a, b) => a.ordinal - b.ordinal);
  await waitFor(
    async () => {
      for (const n of nodes) {
        const c = parseClusterStatus(await sqlOf(s, n).query(showAllClusterStatus()), CLUSTER);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
        const tables = new Map(parseShowTables(await sqlOf(s, n).query(showTables())).map((x) => [x.name, x.type]));
        if (tables.get(TABLE) !== 'distributed' || tables.get(`${TABLE}_main_a`) !== 'rt') return false;
      }
      return true;
    },
    'form',
    'cluster formed, goods converged',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );

  // ---- 1. the whole source through /bulk
  const res = await fetch(`${s.url}/api/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ table: TABLE }),
  });
  const body = (await res.json()) as { data?: OperationRecord };
  assert.equal(res.status, 202, JSON.stringify(body));
  const first = await waitEnd(s, body.data!.id);
  assert.equal(first.state, 'succeeded', `${first.error ?? ''} ${JSON.stringify(first.steps)}`);
  const steps = first.steps.map((st) => st.name);
  assert.ok(steps.includes('bulk load') && !steps.includes('build'), `bulk steps, no indexer build: ${steps.join(', ')}`);
  assert.equal(first.figures?.rows, ROWS);
  t.diagnostic(`bulk import of ${ROWS} rows: ${first.figures?.durationMs} ms; steps ${first.steps.map((st) => `${st.name} ${Date.parse(st.finishedAt ?? '') - Date.parse(st.startedAt ?? '')}`).join(', ')}`);
  assertWorld(await observeWorld(s.pools, nodes, TABLE), 'b', ROWS, 'after the bulk import');
  // the values arrived converted on every node (bool, timestamp, multi, json)
  for (const n of nodes) {
    const row = (await sqlOf(s, n).query(`SELECT on_sale, added, tags, meta FROM ${TABLE}_main_b WHERE id = 10`))[0];
    assert.equal(String(row?.on_sale), '1', `${n.name} on_sale`);
    assert.equal(Number(row?.added), Date.UTC(2024, 0, 11, 10) / 1000, `${n.name} added`);
    assert.equal(String(row?.tags), '0,3', `${n.name} tags`);
    assert.deepEqual(JSON.parse(String(row?.meta)), { n: 10 }, `${n.name} meta`);
  }

  // ---- 2. bad rows in two of the three batches
  writeFileSync(path.join(dir, 'bad.csv'), csv(ROWS, new Set([5, 1_500, 1_501])));
  const op = await s.controller.requestImport({ table: TABLE, source: path.join(dir, 'bad.csv'), requestedBy: 'test' });
  const second = await waitEnd(s, op.id);
  assert.equal(second.state, 'failed', JSON.stringify(second));
  assert.match(second.error ?? '', /bulk load: 2 of 3 batches failed \(2000 rows not loaded, 1000 loaded\)/);
  assert.match(second.error ?? '', /bad\.csv line 6: column 'price' \(float\): "cheap" is not a number/);
  // the partial slot is gone; the first import's rows keep serving
  assertWorld(await observeWorld(s.pools, nodes, TABLE), 'b', ROWS, 'after the failed bulk import');
});
