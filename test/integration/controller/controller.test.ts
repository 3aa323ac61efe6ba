/**
 * The controller on 3 local simulator nodes (LocalPlatform with real agents): it forms the cluster,
 * converges a table spec on every node, reconciles a changed ha_strategy, and keeps a table removed
 * from the specs (deletionPolicy retain). Asserts the world over SQL, not the calls made.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseCount, parseDescribe, parseDistributedDefinition, parseShowCreateTable, parseShowTables } from '../../../src/manticore/parse.js';
import { deleteByIds, describe, insert, selectCount, showAllClusterStatus, showCreateTable, showTables } from '../../../src/manticore/sql.js';
import type { LocalPlatform } from '../../../src/platform/local/local-platform.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';

const CLUSTER = 'itc';
const TOKEN = 'controller-test-token-0123456789';
/** Named waits: formation from fresh nodes includes process starts; table convergence is a few passes. */
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;

let dir: string;
let stack: RunningStack;
let nodes: NodeRef[];

/** columns the spec gained during the run (kept in every later version of the file) */
let addedColumns: { name: string; type: string }[] = [];

function specFile(haStrategy: string): string {
  return JSON.stringify({
    name: 'items',
    columns: [{ name: 'title', type: 'text' }, { name: 'price', type: 'float' }, ...addedColumns],
    distributed: { haStrategy, agentRetryCount: 1 },
    deletionPolicy: 'retain',
  });
}

const sql = (n: NodeRef) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);

async function tablesOn(n: NodeRef): Promise<Map<string, string>> {
  return new Map(parseShowTables(await sql(n).query(showTables())).map((t) => [t.name, t.type]));
}

async function distributedOn(n: NodeRef) {
  const stmt = parseShowCreateTable(await sql(n).query(showCreateTable('items')));
  assert.ok(stmt, `SHOW CREATE TABLE items on ${n.name}`);
  return parseDistributedDefinition(stmt);
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'controller-it-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  writeFileSync(path.join(dir, 'specs', 'items.json'), specFile('nodeads'));
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env.CONTROLLER_TEST_LOG ? createLogger({ level: process.env.CONTROLLER_TEST_LOG }) : silentLogger();
  stack = await startStack({ config, token: TOKEN, env: process.env, logger, controller: { resyncMs: 1_000, fastResyncMs: 300 } });
  nodes = await stack.platform.listNodes();
});

after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('3 fresh nodes: one cluster, and the spec converged on every node', { timeout: WAIT_FORMED_MS + 60_000 }, async () => {
  const started = Date.now();
  await waitFor(
    async () => {
      for (const n of nodes) {
        const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
        if (!c.indexes.includes('items_delta')) return false;
        const t = await tablesOn(n);
        if (t.get('items') !== 'distributed' || t.get('items_main_a') !== 'rt' || t.get('items_delta') !== 'rt') return false;
      }
      return true;
    },
    'form',
    'every node primary + synced with items_delta in the cluster, items_main_a and the distributed items',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );
  const formedMs = Date.now() - started;
  process.stderr.write(`# fresh nodes to tables converged: ${formedMs} ms\n`);

  const uuids = new Set<string>();
  const apis = nodes.map((n) => n.apiAddress).sort();
  for (const n of nodes) {
    const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
    if (c?.stateUuid) uuids.add(c.stateUuid);
    const def = await distributedOn(n);
    assert.deepEqual(def.locals, [], `${n.name}: no locals (they would be counted twice with the mirrors)`);
    assert.deepEqual(
      def.agents.map((a) => [a.table, [...a.mirrors].sort()]),
      [
        ['items_main_a', apis],
        ['items_delta', apis],
      ],
      `${n.name}: one agent per local table, mirrored over every node`,
    );
    assert.equal(def.haStrategy, 'nodeads');
    assert.equal(def.agentRetryCount, 1);
  }
  assert.equal(uuids.size, 1, 'one cluster uuid');
});

test('rows written to the delta on one node are counted once through the distributed table on every node', { timeout: 60_000 }, async () => {
  const first = nodes[0]!;
  const rows = Array.from({ length: 7 }, (_, i) => [i + 1, `item ${i + 1}`, i * 1.5]);
  await sql(first).exec(insert('items_delta', ['id', 'title', 'price'], rows, { cluster: CLUSTER }));
  await waitFor(
    async () => {
      for (const n of nodes) if (parseCount(await sql(n).query(selectCount('items_delta'))) !== 7) return false;
      return true;
    },
    'replicate',
    'the 7 rows replicated to every node',
  );
  for (const n of nodes) {
    for (let i = 0; i < 5; i++) {
      assert.equal(parseCount(await sql(n).query(selectCount('items'))), 7, `SELECT count(*) FROM items on ${n.name} (query ${i + 1})`);
    }
  }
});

test('a changed haStrategy is reconciled on every node', { timeout: 60_000 }, async () => {
  writeFileSync(path.join(dir, 'specs', 'items.json'), specFile('roundrobin'));
  await waitFor(
    async () => {
      for (const n of nodes) if ((await distributedOn(n)).haStrategy !== 'roundrobin') return false;
      return true;
    },
    'replicate',
    "ha_strategy='roundrobin' on every node",
  );
  for (const n of nodes) assert.equal(parseCount(await sql(n).query(selectCount('items'))), 7);
  await waitFor(
    () => stack.status.table('items')?.conditions.find((c) => c.type === 'TablesConverged')?.status === 'True',
    'replicate',
    'TablesConverged True in the status',
  );
});

test('a column added to the spec reaches the delta on every node, keeping the rows', { timeout: 60_000 }, async () => {
  addedColumns = [{ name: 'stock', type: 'integer' }];
  writeFileSync(path.join(dir, 'specs', 'items.json'), specFile('roundrobin'));
  await waitFor(
    async () => {
      for (const n of nodes) {
        const cols = parseDescribe(await sql(n).query(describe('items_delta')));
        if (!cols.some((c) => c.name === 'stock')) return false;
      }
      return true;
    },
    'replicate',
    'column stock in items_delta on every node',
  );
  await waitFor(
    () => stack.status.table('items')?.conditions.find((c) => c.type === 'TablesConverged')?.status === 'True',
    'replicate',
    'TablesConverged True after the column was added',
  );
  for (const n of nodes) assert.equal(parseCount(await sql(n).query(selectCount('items_delta'))), 7, `rows kept on ${n.name}`);
  // the delta is back in the cluster: a replicated write with the new column reaches every node
  await sql(nodes[1]!).exec(insert('items_delta', ['id', 'title', 'price', 'stock'], [[100, 'with stock', 1, 42]], { cluster: CLUSTER }));
  await waitFor(
    async () => {
      for (const n of nodes) {
        const rows = await sql(n).query('SELECT stock FROM items_delta WHERE id = 100');
        if (String(rows[0]?.stock) !== '42') return false;
      }
      return true;
    },
    'replicate',
    'row 100 with stock=42 on every node',
  );
  await sql(nodes[0]!).exec(deleteByIds('items_delta', [100], { cluster: CLUSTER }));
});

test('scale up: the new node gets every table and enters every mirror list; scale down: it leaves them', { timeout: WAIT_FORMED_MS * 2 + 60_000 }, async () => {
  const platform = stack.platform as LocalPlatform;
  const mirrorsEverywhere = async (want: NodeRef[]) => {
    const apis = want.map((n) => n.apiAddress).sort();
    for (const n of want) {
      const def = await distributedOn(n);
      if (def.agents.length !== 2 || def.agents.some((a) => JSON.stringify([...a.mirrors].sort()) !== JSON.stringify(apis))) return false;
    }
    return true;
  };
  await platform.scale(4);
  const four = await stack.platform.listNodes();
  assert.equal(four.length, 4);
  await waitFor(
    async () => {
      for (const n of four) {
        const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 4) return false;
        const t = await tablesOn(n);
        if (t.get('items') !== 'distributed' || t.get('items_main_a') !== 'rt' || t.get('items_delta') !== 'rt') return false;
      }
      return mirrorsEverywhere(four);
    },
    'form',
    'node3 synced with every table, and 4 mirrors in every distributed table',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );
  for (const n of four) assert.equal(parseCount(await sql(n).query(selectCount('items'))), 7, `count on ${n.name} with 4 nodes`);

  await platform.scale(3);
  const three = await stack.platform.listNodes();
  assert.deepEqual(
    three.map((n) => n.name),
    nodes.map((n) => n.name),
  );
  await waitFor(() => mirrorsEverywhere(three), 'form', 'the removed node gone from every mirror list', { factor: WAIT_FORMED_MS / timeoutMs('form') });
  for (const n of three) {
    for (let i = 0; i < 5; i++) assert.equal(parseCount(await sql(n).query(selectCount('items'))), 7, `count on ${n.name} after scale down`);
  }
});

test('a table removed from the specs is kept with deletionPolicy retain', { timeout: 60_000 }, async () => {
  rmSync(path.join(dir, 'specs', 'items.json'));
  await waitFor(() => stack.status.table('items') === undefined, 'replicate', 'the table to leave the status');
  // a few more passes must not drop anything
  await new Promise((r) => setTimeout(r, 2_500));
  for (const n of nodes) {
    const t = await tablesOn(n);
    assert.equal(t.get('items'), 'distributed', `items kept on ${n.name}`);
    assert.equal(t.get('items_delta'), 'rt', `items_delta kept on ${n.name}`);
    assert.equal(t.get('items_main_a'), 'rt', `items_main_a kept on ${n.name}`);
    assert.equal(parseCount(await sql(n).query(selectCount('items'))), 7);
  }
});

test('stopped and started again with the same data dir: the same cluster (uuid) and the same rows', { timeout: WAIT_FORMED_MS + timeoutMs('stop') * 3 + 60_000 }, async () => {
  const uuidOf = async (n: NodeRef) => parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER)?.stateUuid;
  const before = await uuidOf(nodes[0]!);
  assert.ok(before);
  const config = stack.config;
  await stack.stop();
  const started = Date.now();
  stack = await startStack({ config, token: TOKEN, env: process.env, logger: silentLogger(), controller: { resyncMs: 1_000, fastResyncMs: 300 } });
  nodes = await stack.platform.listNodes();
  await waitFor(
    async () => {
      for (const n of nodes) {
        const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
      }
      return true;
    },
    'form',
    'every node primary + synced again after the restart',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );
  process.stderr.write(`# restart of the whole stack to every node synced: ${Date.now() - started} ms\n`);
  for (const n of nodes) {
    assert.equal(await uuidOf(n), before, `${n.name}: same cluster uuid`);
    assert.equal(parseCount(await sql(n).query(selectCount('items_delta'))), 7, `${n.name}: the 7 rows`);
    assert.equal(parseCount(await sql(n).query(selectCount('items'))), 7, `${n.name}: the 7 rows through the distributed table`);
  }
});

test('a table removed from the specs with deletionPolicy delete is dropped on every node', { timeout: 90_000 }, async () => {
  const names = ['gone', 'gone_delta', 'gone_main_a'];
  writeFileSync(
    path.join(dir, 'specs', 'gone.json'),
    JSON.stringify({ name: 'gone', columns: [{ name: 'title', type: 'text' }], deletionPolicy: 'delete' }),
  );
  await waitFor(
    async () => {
      for (const n of nodes) {
        const t = await tablesOn(n);
        if (!names.every((x) => t.has(x))) return false;
      }
      return true;
    },
    'replicate',
    'gone, gone_delta and gone_main_a on every node',
  );
  rmSync(path.join(dir, 'specs', 'gone.json'));
  await waitFor(
    async () => {
      for (const n of nodes) {
        const t = await tablesOn(n);
        if (names.some((x) => t.has(x))) return false;
        const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
        if (c?.indexes.includes('gone_delta')) return false;
      }
      return stack.status.table('gone') === undefined;
    },
    'replicate',
    'every table of gone dropped on every node and out of the cluster',
  );
  for (const n of nodes) assert.equal((await tablesOn(n)).get('items'), 'distributed', `the retained items is still on ${n.name}`);
});
