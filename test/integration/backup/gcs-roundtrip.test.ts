/**
 * Issue 5 item 7 against the GCS JSON-API endpoint on loopback (test/helpers/gcs-server.ts): backup →
 * list → restore round trips of a delta and a main table on 3 local simulator nodes with the real
 * controller stack, agents and manticore-backup-sim, the store being `@google-cloud/storage` (resumable
 * upload) pointed at the test server. Asserts the objects in the bucket (archive + manifest under the
 * prefix, nothing else, no open upload session) and the rows on every node after each restore.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseCount, parseDistributedDefinition, parseShowCreateTable, parseShowTables } from '../../../src/manticore/parse.js';
import { selectCount, showAllClusterStatus, showCreateTable, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { ARCHIVE_TOOLS } from '../../../src/reconcile/backup-store.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { createObjectStore } from '../../../src/storage/index.js';
import type { ObjectStore } from '../../../src/storage/types.js';
import { startGcsServer, type GcsTestServer } from '../../helpers/gcs-server.js';

const CLUSTER = 'itgcs';
const TOKEN = 'gcs-backup-test-token-0123456789';
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
/** one backup or restore of a few rows on 3 nodes */
const WAIT_OPERATION_MS = 90_000;

let dir: string;
let stack: RunningStack;
let nodes: NodeRef[];
let gcs: GcsTestServer;
let store: ObjectStore;

const sql = (n: NodeRef) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);
const count = async (n: NodeRef, table: string) => parseCount(await sql(n).query(selectCount(table)));

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function operation(p: '/api/backup' | '/api/restore', body: Record<string, unknown>): Promise<OperationRecord> {
  const res = await api('POST', p, body);
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const id = String(res.json.commandId);
  let op: OperationRecord | undefined;
  await waitFor(
    async () => {
      op = stack.status.operation(id);
      return op !== undefined && op.state !== 'running' && op.state !== 'pending';
    },
    'form',
    `operation ${id} ends`,
    { factor: WAIT_OPERATION_MS / timeoutMs('form') },
  );
  assert.equal(op?.state, 'succeeded', `${p}: ${op?.error ?? ''} ${JSON.stringify(op?.steps)}`);
  return op;
}

function archiveOf(op: OperationRecord): string {
  const m = /→ \S+\/(\S+\.tar\.gz)/.exec(op.outcome ?? '');
  assert.ok(m?.[1], `outcome names the archive: ${op.outcome}`);
  return m[1];
}

async function bytesOf(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function ids(n: NodeRef, table: string): Promise<number[]> {
  return (await sql(n).query(`SELECT id FROM ${table} ORDER BY id ASC LIMIT 1000`)).map((r) => Number(r.id));
}

async function waitIds(table: string, want: number[]): Promise<void> {
  await waitFor(
    async () => {
      for (const n of nodes) if (JSON.stringify(await ids(n, table).catch(() => [])) !== JSON.stringify(want)) return false;
      return true;
    },
    'replicate',
    `${table} holds ids ${want.join(',')} on every node`,
  );
}

async function servedSlot(n: NodeRef): Promise<string> {
  const stmt = parseShowCreateTable(await sql(n).query(showCreateTable('products')));
  assert.ok(stmt, `SHOW CREATE TABLE products on ${n.name}`);
  const def = parseDistributedDefinition(stmt);
  const used = [...def.locals, ...def.agents.map((a) => a.table)];
  return ['a', 'b'].filter((s) => used.includes(`products_main_${s}`)).join('+') || 'none';
}

/** The archive and its manifest are in the bucket with the manifest's size and checksum; returns the manifest. */
async function assertStored(name: string, table: string, rows: number): Promise<void> {
  const keys = (await store.list('backups/')).map((o) => o.key);
  assert.ok(keys.includes(`backups/${name}`) && keys.includes(`backups/${name}.manifest.json`), `archive and manifest in the bucket: ${keys.join(', ')}`);
  for (const k of keys) assert.ok(/^backups\/products_(delta|main_[ab])-[\dT:-]+Z\.tar\.gz(\.manifest\.json)?$/.test(k), `only archives and manifests under the prefix: ${k}`);
  const manifest = JSON.parse((await bytesOf(`backups/${name}.manifest.json`)).toString('utf8')) as Record<string, unknown>;
  assert.equal(manifest.table, table);
  assert.equal(manifest.rows, rows);
  const head = await store.head(`backups/${name}`);
  assert.equal(manifest.archiveBytes, head?.size, 'the manifest has the stored archive size');
  assert.equal(gcs.openSessions(), 0, 'no resumable upload session left open');
}

before(async () => {
  gcs = await startGcsServer({ bucket: 'itgcs-backups' });
  store = createObjectStore(gcs.storeConfig());
  dir = mkdtempSync(path.join(os.tmpdir(), 'backup-gcs-it-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'specs', 'products.json'),
    JSON.stringify({ name: 'products', columns: [{ name: 'title', type: 'text' }, { name: 'price', type: 'float' }], distributed: { haStrategy: 'nodeads', agentRetryCount: 1 }, deletionPolicy: 'retain' }),
  );
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env.CONTROLLER_TEST_LOG ? createLogger({ level: process.env.CONTROLLER_TEST_LOG }) : silentLogger();
  stack = await startStack({
    config,
    token: TOKEN,
    env: process.env,
    logger,
    controller: { resyncMs: 1_000, fastResyncMs: 300, backup: { prefix: 'backups', archive: ARCHIVE_TOOLS, store: () => store } },
  });
  nodes = await stack.platform.listNodes();
  await waitFor(
    async () => {
      for (const n of nodes) {
        const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
        const t = new Map(parseShowTables(await sql(n).query(showTables())).map((x) => [x.name, x.type]));
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
  await gcs?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('GCS delta round trip: backup → archive + manifest in the bucket → rows changed → restore → the backup\'s rows on every node', { timeout: 3 * WAIT_OPERATION_MS }, async () => {
  const values = [1, 2, 3, 4, 5, 6].map((i) => `(${i}, 'gcs delta ${i}', ${i}.5)`).join(', ');
  await sql(nodes[0]!).exec(`INSERT INTO ${CLUSTER}:products_delta (id, title, price) VALUES ${values}`);
  await waitIds('products_delta', [1, 2, 3, 4, 5, 6]);
  const b = await operation('/api/backup', { tableName: 'products', type: 'delta' });
  const name = archiveOf(b);
  assert.match(name, /^products_delta-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.tar\.gz$/);
  await assertStored(name, 'products_delta', 6);
  const listed = await api('GET', '/api/backups/files?tableName=products&type=delta');
  assert.deepEqual((listed.json.backups as { filename: string }[]).map((f) => f.filename), [name], 'GET /api/backups/files lists the GCS archive');

  await sql(nodes[1]!).exec(`DELETE FROM ${CLUSTER}:products_delta WHERE id <= 2`);
  await sql(nodes[2]!).exec(`INSERT INTO ${CLUSTER}:products_delta (id, title, price) VALUES (50, 'after', 1.0)`);
  await waitIds('products_delta', [3, 4, 5, 6, 50]);
  await operation('/api/restore', { tableName: 'products', filename: name });
  await waitIds('products_delta', [1, 2, 3, 4, 5, 6]);
  for (const n of nodes) {
    const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
    assert.ok(c?.indexes.includes('products_delta'), `products_delta is back in the cluster on ${n.name}`);
  }
  // replication works after the restore
  await sql(nodes[0]!).exec(`INSERT INTO ${CLUSTER}:products_delta (id, title, price) VALUES (7, 'after restore', 7.0)`);
  await waitIds('products_delta', [1, 2, 3, 4, 5, 6, 7]);
});

test('GCS main round trip: backup of slot a → restore into slot b on every node, a dropped, the backup\'s rows served', { timeout: 3 * WAIT_OPERATION_MS }, async () => {
  for (const n of nodes) await sql(n).exec(`INSERT INTO products_main_a (id, title, price) VALUES (1001, 'gcs main one', 1.0), (1002, 'gcs main two', 2.0), (1003, 'gcs main three', 3.0)`);
  const b = await operation('/api/backup', { tableName: 'products', type: 'main' });
  const name = archiveOf(b);
  assert.match(name, /^products_main_a-/);
  await assertStored(name, 'products_main_a', 3);
  const r = await operation('/api/restore', { tableName: 'products', filename: name });
  assert.ok(r.figures, 'the restore recorded its figures');
  for (const n of nodes) {
    assert.equal(await servedSlot(n), 'b', `${n.name} serves the restored slot b only`);
    const t = new Map(parseShowTables(await sql(n).query(showTables())).map((x) => [x.name, x.type]));
    assert.equal(t.has('products_main_a'), false, `old slot a dropped on ${n.name}`);
    assert.deepEqual(await ids(n, 'products_main_b'), [1001, 1002, 1003], `${n.name} holds the backup's rows in slot b`);
    assert.equal(await count(n, 'products'), 3 + (await count(n, 'products_delta'))!, `${n.name}'s distributed table reads main + delta`);
  }
});
