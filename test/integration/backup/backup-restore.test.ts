/**
 * Backups and restores on 3 local simulator nodes with the real controller stack, agents and
 * manticore-backup-sim, storing to a real S3 API server on loopback (s3rver):
 *   - delta: backup → listed → rows changed → restore → rows equal the backup on every node;
 *     a second backup of the table while one runs → 409 BACKUP_IN_PROGRESS naming the operation
 *   - refused before anything changes: a corrupted archive, a truncated archive (rows unchanged),
 *     a file of another table, `../` in the filename
 *   - main: backup of slot a → restore goes into slot b, every node serves b, a dropped; restoring the
 *     SAME archive (taken from the now inactive slot a) goes into a and drops b (the original's
 *     rotate-main defect would have dropped the restored table)
 *   - the backup-table agent job: a manticore-backup killed mid-way leaves the table unfrozen
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { JobManager } from '../../../src/agent/server/jobs.js';
import { backupTableKind } from '../../../src/agent/server/job-kinds/backup-table.js';
import { unfreezeLeftovers } from '../../../src/backup/backup.js';
import { runRestore } from '../../../src/backup/run-restore.js';
import { AgentClient } from '../../../src/agent/client.js';
import type { RestoreDeps } from '../../../src/machines/restore/restore.actors.js';
import { desiredDistributed } from '../../../src/reconcile/tables.js';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { runMctl } from '../../../src/cli/main.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { resolveBinariesFrom } from '../../../src/config/binaries.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseCount, parseDistributedDefinition, parseShowCreateTable, parseShowLocks, parseShowTables } from '../../../src/manticore/parse.js';
import { selectCount, showAllClusterStatus, showCreateTable, showLocks, showTables } from '../../../src/manticore/sql.js';
import { localNodeFiles } from '../../../src/platform/local/node-files.js';
import type { MachineRuntime } from '../../../src/machines/runtime/machine-runtime.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { ARCHIVE_TOOLS } from '../../../src/reconcile/backup-store.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { createObjectStore } from '../../../src/storage/index.js';
import type { ObjectStore } from '../../../src/storage/types.js';
import { S3_TEST_CREDENTIALS, startS3Server, type S3TestServer } from '../../helpers/s3-server.js';

const CLUSTER = 'itbak';
const TOKEN = 'backup-test-token-0123456789abcd';
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
/** one backup or restore of a few rows on 3 nodes */
const WAIT_OPERATION_MS = 90_000;

let dir: string;
let stack: RunningStack;
let nodes: NodeRef[];
let s3: S3TestServer;
let store: ObjectStore;

const sql = (n: NodeRef) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);

async function tablesOn(n: NodeRef): Promise<Map<string, string>> {
  return new Map(parseShowTables(await sql(n).query(showTables())).map((t) => [t.name, t.type]));
}

async function count(n: NodeRef, table: string): Promise<number | undefined> {
  return parseCount(await sql(n).query(selectCount(table)));
}

async function servedSlot(n: NodeRef): Promise<string> {
  const stmt = parseShowCreateTable(await sql(n).query(showCreateTable('products')));
  assert.ok(stmt, `SHOW CREATE TABLE products on ${n.name}`);
  const def = parseDistributedDefinition(stmt);
  const used = [...def.locals, ...def.agents.map((a) => a.table)];
  return used.includes('products_main_a') ? 'a' : used.includes('products_main_b') ? 'b' : 'none';
}

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function waitOperation(id: string): Promise<OperationRecord> {
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
  return op!;
}

/** every node counts `rows` in `table` (replication takes a moment) */
async function waitRows(table: string, rows: number): Promise<void> {
  await waitFor(
    async () => {
      for (const n of nodes) if ((await count(n, table).catch(() => undefined)) !== rows) return false;
      return true;
    },
    'replicate',
    `${table} holds ${rows} rows on every node`,
  );
}

async function insertDelta(from: number, to: number): Promise<void> {
  const values: string[] = [];
  for (let i = from; i <= to; i++) values.push(`(${i}, 'delta item ${i}', ${i}.5)`);
  await sql(nodes[0]!).exec(`INSERT INTO ${CLUSTER}:products_delta (id, title, price) VALUES ${values.join(', ')}`);
}

async function bytesOf(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function backup(type: 'delta' | 'main'): Promise<{ op: OperationRecord; filename: string }> {
  const res = await api('POST', '/api/backup', { tableName: 'products', type });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  assert.equal(res.json.status, 'accepted');
  const id = String(res.json.commandId);
  const op = await waitOperation(id);
  assert.equal(op.state, 'succeeded', `${op.error ?? ''} ${JSON.stringify(op.steps)}`);
  const m = /→ \S+\/(\S+\.tar\.gz)/.exec(op.outcome ?? '');
  assert.ok(m?.[1], `outcome names the archive: ${op.outcome}`);
  return { op, filename: m[1] };
}

async function restore(filename: string): Promise<OperationRecord> {
  const res = await api('POST', '/api/restore', { tableName: 'products', filename });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  return waitOperation(String(res.json.commandId));
}

before(async () => {
  s3 = await startS3Server({ bucket: 'itbackups' });
  store = createObjectStore({ provider: 's3', bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', credentials: { ...S3_TEST_CREDENTIALS } });
  dir = mkdtempSync(path.join(os.tmpdir(), 'backup-it-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'specs', 'products.json'),
    JSON.stringify({
      name: 'products',
      columns: [
        { name: 'title', type: 'text' },
        { name: 'price', type: 'float' },
      ],
      distributed: { haStrategy: 'nodeads', agentRetryCount: 1 },
      deletionPolicy: 'retain',
    }),
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
  await s3?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let deltaFile = '';

test('delta: backup → listed with a manifest → rows changed → restore → rows of the backup on every node', { timeout: 4 * WAIT_OPERATION_MS }, async () => {
  await insertDelta(1, 5);
  await waitRows('products_delta', 5);

  const res = await api('POST', '/api/backup', { tableName: 'products', type: 'delta' });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const id = String(res.json.commandId);
  // a second backup of the same table while it runs is refused, naming the running operation
  const again = await api('POST', '/api/backup', { tableName: 'products' });
  assert.equal(again.status, 409, JSON.stringify(again.json));
  const err = again.json.error as { code: string; message: string };
  assert.equal(err.code, 'BACKUP_IN_PROGRESS');
  assert.match(err.message, new RegExp(id));
  const active = await api('GET', '/api/backups');
  assert.ok((active.json.backups as { commandId: string }[]).some((b) => b.commandId === id), 'GET /api/backups lists the running backup');

  const op = await waitOperation(id);
  assert.equal(op.state, 'succeeded', `${op.error ?? ''} ${JSON.stringify(op.steps)}`);
  assert.equal(op.figures?.rows, 5);
  assert.ok((op.figures?.bytes ?? 0) > 0, 'archive bytes recorded');

  const files = await api('GET', '/api/backups/files?tableName=products&type=delta');
  assert.equal(files.status, 200, JSON.stringify(files.json));
  const list = files.json.backups as { filename: string; key: string; size: number; lastModified: string }[];
  assert.equal(list.length, 1);
  const f = list[0]!;
  assert.match(f.filename, /^products_delta-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.tar\.gz$/);
  assert.equal(f.key, `backups/${f.filename}`);
  assert.match(f.lastModified, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.ok(f.size > 0);
  const manifest = JSON.parse((await bytesOf(`${f.key}.manifest.json`)).toString('utf8')) as Record<string, unknown>;
  assert.equal(manifest.table, 'products_delta');
  assert.equal(manifest.baseTable, 'products');
  assert.equal(manifest.type, 'delta');
  assert.equal(manifest.rows, 5);
  assert.equal(manifest.rowsExact, true);
  assert.equal(manifest.archiveBytes, f.size);
  assert.match(String(manifest.sha256), /^[0-9a-f]{64}$/);
  assert.ok(Array.isArray(manifest.schema) && (manifest.schema as { name: string }[]).some((c) => c.name === 'title'));
  deltaFile = f.filename;

  // the rows change after the backup
  await insertDelta(6, 8);
  await sql(nodes[1]!).exec(`DELETE FROM ${CLUSTER}:products_delta WHERE id = 1`);
  await waitRows('products_delta', 7);

  const r = await restore(deltaFile);
  assert.equal(r.state, 'succeeded', `${r.error ?? ''} ${JSON.stringify(r.steps)}`);
  process.stderr.write(`delta backup of 5 rows: ${op.figures?.durationMs} ms, archive ${op.figures?.bytes} bytes; restore on 3 nodes: ${r.figures?.durationMs} ms\n`);
  for (const n of nodes) {
    assert.equal(await count(n, 'products_delta'), 5, `${n.name} holds the backup's rows`);
    const ids = (await sql(n).query('SELECT id FROM products_delta ORDER BY id ASC')).map((row) => Number(row.id));
    assert.deepEqual(ids, [1, 2, 3, 4, 5], `${n.name} holds exactly the backed-up documents`);
    const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
    assert.ok(c?.indexes.includes('products_delta'), `products_delta is back in the cluster on ${n.name}`);
  }
  // replication works again after the restore
  await insertDelta(100, 100);
  await waitRows('products_delta', 6);
});

test('refused before anything changes: corrupted and truncated archives, another table, path traversal', { timeout: 3 * WAIT_OPERATION_MS }, async () => {
  assert.ok(deltaFile !== '', 'the delta test ran first');
  const before = await count(nodes[0]!, 'products_delta');
  // a file of another table
  const other = await api('POST', '/api/restore', { tableName: 'products', filename: 'orders_delta-2025-01-28T22-50-49Z.tar.gz' });
  assert.equal(other.status, 400, JSON.stringify(other.json));
  assert.match((other.json.error as { message: string }).message, /orders_delta, not of products/);
  // path traversal
  for (const filename of ['../products_delta-2025-01-28T22-50-49Z.tar.gz', 'x/../../products_delta-2025-01-28T22-50-49Z.tar.gz', '..']) {
    const bad = await api('POST', '/api/restore', { tableName: 'products', filename });
    assert.equal(bad.status, 400, `${filename}: ${JSON.stringify(bad.json)}`);
    assert.equal((bad.json.error as { code: string }).code, 'VALIDATION_FAILED');
  }
  // corrupted: the real archive with bytes flipped in the middle, under its manifest's name
  const good = await bytesOf(`backups/${deltaFile}`);
  const corrupted = Buffer.from(good);
  for (let i = Math.floor(corrupted.length / 3); i < Math.floor(corrupted.length / 3) + 64 && i < corrupted.length; i++) corrupted[i] = corrupted[i]! ^ 0xff;
  const corruptName = 'products_delta-2020-01-01T00-00-00Z.tar.gz';
  await store.put(`backups/${corruptName}`, Readable.from([corrupted]));
  const c1 = await restore(corruptName);
  assert.equal(c1.state, 'failed');
  assert.match(c1.error ?? '', /corrupted or truncated|does not match/);
  assert.match(c1.outcome ?? '', /nothing was changed/);
  // truncated, and without a manifest (only inspectArchive can tell)
  const truncName = 'products_delta-2020-01-02T00-00-00Z.tar.gz';
  await store.put(`backups/${truncName}`, Readable.from([good.subarray(0, Math.floor(good.length / 2))]));
  const c2 = await restore(truncName);
  assert.equal(c2.state, 'failed');
  assert.match(c2.error ?? '', /corrupted or truncated/);
  // a missing file: refused at the request (404 naming the filename), before an operation exists
  const missing = await api('POST', '/api/restore', { tableName: 'products', filename: 'products_delta-2019-01-01T00-00-00Z.tar.gz' });
  assert.equal(missing.status, 404, JSON.stringify(missing.json));
  assert.deepEqual([(missing.json.error as { code: string }).code, (missing.json.error as { field?: string }).field], ['NOT_FOUND', 'filename']);
  for (const n of nodes) {
    assert.equal(await count(n, 'products_delta'), before, `${n.name} rows unchanged`);
    const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
    assert.ok(c?.indexes.includes('products_delta'), `products_delta still in the cluster on ${n.name}`);
  }
  // an intact archive without a manifest (as the original system wrote them) restores; nodes must agree
  const bareName = 'products_delta-2020-01-03T00-00-00Z.tar.gz';
  await store.put(`backups/${bareName}`, Readable.from([good]));
  const bare = await restore(bareName);
  assert.equal(bare.state, 'succeeded', `${bare.error ?? ''} ${JSON.stringify(bare.steps)}`);
  for (const n of nodes) assert.equal(await count(n, 'products_delta'), 5);
  // working and unpack directories are removed
  assert.deepEqual(readdirSync(path.join(dir, 'shared', 'backups', 'products')), [], 'no working dir left on the shared volume');
});

test('main: restore goes into the inactive slot, flips every node, drops the old slot; the same archive again flips back', { timeout: 4 * WAIT_OPERATION_MS }, async () => {
  for (const n of nodes) await sql(n).exec(`INSERT INTO products_main_a (id, title, price) VALUES (1001, 'main one', 1.0), (1002, 'main two', 2.0), (1003, 'main three', 3.0), (1004, 'main four', 4.0)`);
  const { op, filename } = await backup('main');
  assert.match(filename, /^products_main_a-/);
  assert.equal(op.figures?.rows, 4);
  const listed = await api('GET', '/api/backups/files?tableName=products');
  const names = (listed.json.backups as { filename: string }[]).map((b) => b.filename);
  assert.ok(names.includes(filename) && names.includes(deltaFile), `both archives listed: ${names.join(', ')}`);
  // newest first
  assert.equal(names[0], filename);

  // the first restore: a → b
  const r1 = await restore(filename);
  assert.equal(r1.state, 'succeeded', `${r1.error ?? ''} ${JSON.stringify(r1.steps)}`);
  for (const n of nodes) {
    assert.equal(await servedSlot(n), 'b', `${n.name} serves slot b`);
    const t = await tablesOn(n);
    assert.equal(t.has('products_main_a'), false, `old slot a dropped on ${n.name}`);
    assert.equal(await count(n, 'products_main_b'), 4, `${n.name} holds the backup's rows in slot b`);
  }
  // the same archive (taken from slot a, which is now the inactive one): b → a, and b is dropped
  const r2 = await restore(filename);
  assert.equal(r2.state, 'succeeded', `${r2.error ?? ''} ${JSON.stringify(r2.steps)}`);
  for (const n of nodes) {
    assert.equal(await servedSlot(n), 'a', `${n.name} serves slot a`);
    const t = await tablesOn(n);
    assert.equal(t.has('products_main_b'), false, `slot b dropped on ${n.name}`);
    assert.equal(await count(n, 'products_main_a'), 4);
    // the distributed table reads main + delta
    assert.equal(await count(n, 'products'), 4 + (await count(n, 'products_delta'))!);
  }
  // rotate-main validation (the original's endpoint)
  const same = await api('POST', '/api/rotate-main', { tableName: 'products', newSlot: 'a', oldSlot: 'a' });
  assert.equal(same.status, 400, JSON.stringify(same.json));
  const notReady = await api('POST', '/api/rotate-main', { tableName: 'products', newSlot: 'b', oldSlot: 'a' });
  assert.equal(notReady.status, 409, `rotating to a slot that does not exist is refused: ${JSON.stringify(notReady.json)}`);
  for (const n of nodes) assert.equal(await servedSlot(n), 'a');
});

test('backup-table job: a manticore-backup killed mid-way leaves no table frozen; the real tool run gives data/<table>', { timeout: 60_000 }, async () => {
  const n = nodes[0]!;
  const files = localNodeFiles(dir, 0);
  const jobsDir = path.join(dir, 'job-test');
  // a stand-in manticore-backup that hangs (as a tool stuck after FREEZE): the test froze the table for it
  const hang = path.join(dir, 'hanging-backup.cjs');
  const startedMark = path.join(dir, 'hanging-backup.started');
  writeFileSync(hang, `require('node:fs').writeFileSync(${JSON.stringify(startedMark)}, String(process.pid));\nsetInterval(() => {}, 1000);\n`);
  const logger = process.env.CONTROLLER_TEST_LOG ? createLogger({ level: process.env.CONTROLLER_TEST_LOG }) : silentLogger();
  const hangKind = backupTableKind({ backupBin: hang, searchdConfig: files.config, mysql: n.mysql });
  const jobs = await JobManager.open({ dir: jobsDir, kinds: [hangKind], logger });
  try {
    await sql(n).exec('FREEZE products_delta');
    assert.ok(parseShowLocks(await sql(n).query(showLocks())).some((l) => l.name === 'products_delta'), 'frozen by the test');
    const started = await jobs.start({ id: 'kill-1', kind: 'backup-table', params: { table: 'products_delta', backupDir: path.join(dir, 'shared', 'kill-test') } });
    assert.equal(started.created, true);
    await waitFor(async () => existsSync(startedMark), 'tool', 'the stand-in manticore-backup runs');
    const cancelled = await jobs.cancel('kill-1');
    assert.equal(cancelled.state, 'cancelled', JSON.stringify(cancelled));
    assert.deepEqual(parseShowLocks(await sql(n).query(showLocks())).filter((l) => l.name === 'products_delta'), [], 'products_delta unfrozen after the kill');
  } finally {
    await jobs.close();
  }
  // the controller's own check after a failed job (an agent restarted mid-backup kills the tool without unfreezing)
  await sql(n).exec('FREEZE products_delta');
  const deps = { sql: (x: NodeRef) => sql(x), logger } as unknown as Parameters<typeof unfreezeLeftovers>[0];
  assert.equal(await unfreezeLeftovers(deps, n, 'products_delta'), undefined);
  assert.deepEqual(parseShowLocks(await sql(n).query(showLocks())), [], 'unfrozen by the controller');
  // the configured tool (simulator unless MANTICORE_BACKUP_BIN names a real one)
  const bin = resolveBinariesFrom(process.env).backup;
  const realKind = backupTableKind({ backupBin: bin, searchdConfig: files.config, mysql: n.mysql });
  const jobs2 = await JobManager.open({ dir: path.join(dir, 'job-test-2'), kinds: [realKind], logger });
  try {
    await jobs2.start({ id: 'real-1', kind: 'backup-table', params: { table: 'products_delta', backupDir: path.join(dir, 'shared', 'real-test') } });
    await waitFor(async () => ['succeeded', 'failed', 'cancelled'].includes(jobs2.get('real-1')?.state ?? ''), 'tool', 'backup job ends');
    const job = jobs2.get('real-1')!;
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.match(String(job.result?.dir), /backup-\d+$/);
    assert.ok(Number(job.result?.files) > 0);
    assert.deepEqual(parseShowLocks(await sql(n).query(showLocks())), [], 'nothing frozen after a backup');
  } finally {
    await jobs2.close();
  }
});

test('mctl backup --wait, get backups, restore --wait', { timeout: 3 * WAIT_OPERATION_MS }, async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
  const env = { MCTL_SERVER: stack.url!, MCTL_TOKEN: TOKEN };
  const signal = new AbortController().signal;
  const rows = (await count(nodes[0]!, 'products_delta'))!;
  assert.equal(await runMctl(['backup', 'products', '--type', 'delta', '--wait'], env, io, signal), 0, `${out.join('')}${err.join('')}`);
  assert.match(out.join(''), /backup backup-\S+ succeeded: products_delta \(\d+ rows\)/);
  out.length = 0;
  assert.equal(await runMctl(['get', 'backups', 'products', '--type', 'delta', '-o', 'json'], env, io, signal), 0, err.join(''));
  const listed = JSON.parse(out.join('')) as { filename: string }[];
  assert.ok(listed.length >= 2, 'the delta archives are listed');
  const newest = listed[0]!.filename;
  out.length = 0;
  await insertDelta(500, 502);
  await waitRows('products_delta', rows + 3);
  assert.equal(await runMctl(['restore', 'products', newest, '--wait'], env, io, signal), 0, `${out.join('')}${err.join('')}`);
  assert.match(out.join(''), /restore restore-\S+ succeeded/);
  for (const n of nodes) assert.equal(await count(n, 'products_delta'), rows);
  out.length = 0;
  assert.equal(await runMctl(['backup', 'products', '--type', 'full'], env, io, signal), 2);
  // back-to-back backups within one second get distinct archives (names have 1 s resolution)
  const a = await backup('delta');
  const b = await backup('delta');
  assert.notEqual(a.filename, b.filename);
  assert.ok((await store.head(`backups/${a.filename}`)) !== undefined && (await store.head(`backups/${b.filename}`)) !== undefined);
});

test('a restore whose machine stops mid-way (controller killed) resumes from its persisted snapshot at the next pass', { timeout: 2 * WAIT_OPERATION_MS }, async () => {
  const runtime = (stack.controller as unknown as { o: { runtime: MachineRuntime } }).o.runtime;
  const files = await api('GET', '/api/backups/files?tableName=products&type=main');
  const mainFile = (files.json.backups as { filename: string }[])[0]!.filename;
  const servedBefore = await servedSlot(nodes[0]!);
  const res = await api('POST', '/api/restore', { tableName: 'products', filename: mainFile });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const key = `restore/${CLUSTER}/products`;
  // stop the actor as a SIGKILL would: its snapshot stays, its record stays running
  runtime.stop(key);
  assert.ok(runtime.store.load(key) !== undefined, 'the snapshot is kept');
  const op = await waitOperation(String(res.json.commandId));
  assert.equal(op.state, 'succeeded', `${op.error ?? ''} ${JSON.stringify(op.steps)}`);
  const target = servedBefore === 'a' ? 'b' : 'a';
  for (const n of nodes) {
    assert.equal(await servedSlot(n), target, `${n.name} serves the restored slot`);
    assert.equal(await count(n, `products_main_${target}`), 4);
    assert.equal((await tablesOn(n)).has(`products_main_${servedBefore}`), false);
  }
  assert.equal(runtime.store.load(key), undefined, 'the finished machine is removed');
});

test('runRestore (the job subcommand\'s entry) restores a main archive outside the controller with the same machine', { timeout: 2 * WAIT_OPERATION_MS }, async () => {
  const files = await api('GET', '/api/backups/files?tableName=products&type=main');
  const mainFile = (files.json.backups as { filename: string }[])[0]!.filename;
  const servedBefore = await servedSlot(nodes[0]!);
  const spec = stack.specs.specs().find((s) => s.spec.name === 'products')!.spec;
  const deps: RestoreDeps = {
    store,
    archive: ARCHIVE_TOOLS,
    prefix: 'backups',
    clusterName: CLUSTER,
    sharedDir: path.join(dir, 'shared'),
    nodes: () => nodes,
    sql: (n) => sql(n),
    agent: (n) => new AgentClient({ baseUrl: n.agentUrl, token: TOKEN }),
    logger: silentLogger(),
    distributed: (_t, slot) => desiredDistributed(spec, slot, nodes),
    buddy: () => undefined,
  };
  const c = await runRestore({ operationId: 'job-restore-1', table: 'products', filename: mainFile, clusterMain: false }, deps, 100);
  const target = servedBefore === 'a' ? 'b' : 'a';
  assert.equal(c.newSlot, target);
  for (const n of nodes) {
    assert.equal(await servedSlot(n), target);
    assert.equal(await count(n, `products_main_${target}`), 4);
  }
  await assert.rejects(runRestore({ operationId: 'job-restore-2', table: 'products', filename: 'products_delta-2019-01-01T00-00-00Z.tar.gz', clusterMain: false }, deps, 100), /nothing was changed/);
});
