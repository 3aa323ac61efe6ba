import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DEFAULT_DISTRIBUTED, type TableSpec } from '../../../src/domain/spec.js';
import { AppError } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/lib/logger.js';
import type { ManticorePools } from '../../../src/manticore/client.js';
import { MachineRuntime } from '../../../src/machines/runtime/machine-runtime.js';
import type { NodeObservation, SearchdObservation } from '../../../src/observe/types.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { importMachineKey, importSources, reconcileImport, requestCancel, requestImport, runningImport, type ImportEnv } from '../../../src/reconcile/import.js';
import { planTables } from '../../../src/reconcile/tables.js';
import { FileStatusStore } from '../../../src/status/store.js';

const CLUSTER = 'c';

function node(i: number): NodeRef {
  return { name: `n${i}`, ordinal: i, mysql: { host: '127.0.0.1', port: 9306 + i * 10 }, apiAddress: `127.0.0.1:${9312 + i * 10}`, agentUrl: `http://127.0.0.1:${9500 + i}` };
}
const NODES = [node(0), node(1), node(2)];

function spec(over: Partial<TableSpec> = {}): TableSpec {
  return {
    name: 'products',
    columns: [
      { name: 'title', type: 'text' },
      { name: 'price', type: 'float' },
    ],
    settings: {},
    import: { urls: ['products.csv'], format: 'csv', header: true },
    clusterMain: false,
    distributed: { ...DEFAULT_DISTRIBUTED },
    backups: [],
    deletionPolicy: 'retain',
    ...over,
  };
}

/** SQL that never answers: the machine waits in its retry state until a tick or a cancel. */
const downPools = {
  get: () => ({
    query: async () => {
      throw new AppError('MANTICORE_UNREACHABLE', 'connect ECONNREFUSED', { retryable: true });
    },
    exec: async () => {
      throw new AppError('MANTICORE_UNREACHABLE', 'connect ECONNREFUSED', { retryable: true });
    },
  }),
} as unknown as ManticorePools;

describe('import requests', () => {
  let dir: string;
  let env: ImportEnv;
  let status: FileStatusStore;
  let runtime: MachineRuntime;
  let ids = 0;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'import-unit-'));
    status = FileStatusStore.open({ dataDir: dir });
    runtime = new MachineRuntime(dir, silentLogger());
    env = {
      clusterName: CLUSTER,
      status,
      runtime,
      pools: downPools,
      agentFor: () => {
        throw new Error('no agent in this test');
      },
      logger: silentLogger(),
      now: () => 1_000_000,
      spec: (t) => (t === 'products' ? spec() : undefined),
      listNodes: async () => NODES,
      outDir: (id) => path.join(dir, 'shared', 'imports', id),
      sharedDir: path.join(dir, 'shared'),
      newId: () => `t${++ids}`,
    };
  });
  afterEach(() => {
    runtime.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bad input is refused naming the field, and nothing starts', async () => {
    await assert.rejects(requestImport(env, { table: 'nope', requestedBy: 't' }), (e: AppError) => e.code === 'VALIDATION_FAILED' && /^table: no table spec named "nope"/.test(e.message));
    await assert.rejects(requestImport(env, { table: 'products', source: 'ftp://host/x.csv', requestedBy: 't' }), (e: AppError) => e.code === 'VALIDATION_FAILED' && /source\[0\]: ftp:\/\//.test(e.message));
    env.spec = () => spec({ import: undefined as unknown as TableSpec['import'] });
    await assert.rejects(requestImport(env, { table: 'products', requestedBy: 't' }), (e: AppError) => /^source: products has no import source/.test(e.message));
    assert.equal(status.operations().length, 0);
    assert.equal(runtime.get(importMachineKey(CLUSTER, 'products')), undefined);
  });

  it('sources: relative paths resolve on the shared volume, https:// URLs pass', () => {
    assert.deepEqual(importSources(spec(), undefined, '/shared'), ['/shared/products.csv']);
    assert.deepEqual(importSources(spec(), ['https://example.com/a.csv', '/abs/b.csv'], '/shared'), ['https://example.com/a.csv', '/abs/b.csv']);
  });

  it('a second import of the same table is refused with IMPORT_IN_PROGRESS naming the running operation', async () => {
    const op = await requestImport(env, { table: 'products', requestedBy: 'tester' });
    assert.equal(op.kind, 'import');
    assert.equal(op.key, `table/${CLUSTER}/products`);
    assert.equal(op.state, 'running');
    assert.equal(runningImport(status, CLUSTER, 'products')?.id, op.id);
    await assert.rejects(
      requestImport(env, { table: 'products', requestedBy: 'other' }),
      (e: AppError) => e.code === 'IMPORT_IN_PROGRESS' && e.message.includes(op.id) && e.details.operationId === op.id,
    );
  });

  it('an import is refused while a restore of the table runs', async () => {
    status.upsertOperation({ id: 'restore-1', kind: 'restore', key: `table/${CLUSTER}/products`, requestedBy: 't', requestedAt: new Date(0).toISOString(), state: 'running', steps: [] });
    await assert.rejects(requestImport(env, { table: 'products', requestedBy: 't' }), (e: AppError) => e.code === 'RESTORE_IN_PROGRESS' && e.message.includes('restore-1'));
    assert.equal(runtime.get(importMachineKey(CLUSTER, 'products')), undefined);
  });

  it('cancel before the flip: the machine ends cancelled and the record says so', async () => {
    const op = await requestImport(env, { table: 'products', requestedBy: 'tester' });
    assert.throws(() => requestCancel(env, 'import-none', 'x'), (e: AppError) => e.code === 'NOT_FOUND');
    requestCancel(env, op.id, 'tester');
    // the pass after the cancel closes the record and removes the machine
    const pass = reconcileImport(env, 'products', NODES, []);
    assert.equal(pass.running, false);
    const end = status.operation(op.id);
    assert.equal(end?.state, 'cancelled');
    assert.match(end?.outcome ?? '', /keeps serving/);
    assert.equal(runtime.get(importMachineKey(CLUSTER, 'products')), undefined);
    assert.throws(() => requestCancel(env, op.id, 'x'), (e: AppError) => e.code === 'CONFLICT');
    // and a new import may start
    const next = await requestImport(env, { table: 'products', requestedBy: 'tester' });
    assert.notEqual(next.id, op.id);
  });

  it('a running import holds the distributed table and names the active slot; it resumes after a restart', async () => {
    const op = await requestImport(env, { table: 'products', requestedBy: 'tester' });
    const pass = reconcileImport(env, 'products', NODES, []);
    assert.equal(pass.running, true);
    assert.equal(pass.holdDistributed, true);
    assert.equal(pass.operationId, op.id);
    runtime.stopAll(); // controller stopped
    const runtime2 = new MachineRuntime(dir, silentLogger());
    const env2 = { ...env, runtime: runtime2 };
    const again = reconcileImport(env2, 'products', NODES, []);
    assert.equal(again.running, true);
    assert.equal(again.operationId, op.id);
    assert.equal(runtime2.get(importMachineKey(CLUSTER, 'products'))?.restored, true);
    runtime2.stopAll();
  });
});

describe('table convergence during an import', () => {
  const MIRRORS = '127.0.0.1:9312|127.0.0.1:9322|127.0.0.1:9332';
  const dist = (slot: 'a' | 'b', ha = 'random') => `CREATE TABLE products type='distributed' agent='${MIRRORS}:products_main_${slot}' agent='${MIRRORS}:products_delta' ha_strategy='${ha}' agent_retry_count='1'`;
  function obs(i: number, slot: 'a' | 'b', ha?: string): NodeObservation {
    const value: SearchdObservation = {
      buddy: true,
      clusters: [{ name: CLUSTER, status: 'primary', nodeState: 'synced', nodesSet: [], nodesView: [], nodesViewMembers: [], indexes: ['products_delta'], sst: { active: false }, vars: {} }],
      tables: [
        { name: 'products', type: 'distributed' },
        { name: 'products_delta', type: 'rt' },
        { name: 'products_main_a', type: 'rt' },
        { name: 'products_main_b', type: 'rt' },
      ],
      distributed: { products: dist(slot, ha) },
      rows: {},
      frozen: [],
    } as SearchdObservation;
    return { node: node(i), at: 0, durationMs: 1, searchd: { ok: true, value }, agent: { ok: false, error: 'none' } };
  }

  it('without an import a differing distributed table is altered; with one it waits and the import names the active slot', () => {
    const observations = [obs(0, 'b', 'roundrobin'), obs(1, 'a'), obs(2, 'a')];
    const free = planTables({ specs: [spec()], observations, clusterName: CLUSTER, nodes: NODES });
    assert.ok(free.actions.some((a) => a.kind === 'alter-distributed' && a.node === 'n0'));
    const held = planTables({ specs: [spec()], observations, clusterName: CLUSTER, nodes: NODES, imports: { products: { operationId: 'import-1', activeSlot: 'b' } } });
    assert.equal(held.actions.filter((a) => a.kind === 'alter-distributed' || a.kind === 'recreate-distributed').length, 0);
    assert.ok(held.blocked.some((b) => b.guard === 'guardNoImportRunning' && b.node === 'n0' && /import-1/.test(b.reason)));
    assert.equal(held.tables.products?.activeSlot, 'b');
    assert.equal(held.tables.products?.mixedSlots, true);
  });
});
