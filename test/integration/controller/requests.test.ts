/**
 * The controller as a RequestSink and its triggers, with fakes for the platform and the spec store
 * and an injected cluster pass (no processes).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AgentClient } from '../../../src/agent/client.js';
import type { LoadedSpec, SpecProblem } from '../../../src/domain/spec.js';
import { ValidationError } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { MachineRuntime } from '../../../src/machines/runtime/machine-runtime.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import type { NodeRef, Platform } from '../../../src/platform/types.js';
import { Controller, type ClusterReconciler } from '../../../src/reconcile/controller.js';
import { FileStatusStore } from '../../../src/status/store.js';

function node(i: number): NodeRef {
  return { name: `node${i}`, ordinal: i, mysql: { host: '127.0.0.1', port: 1 }, apiAddress: `127.0.0.1:${2 + i}`, agentUrl: 'http://127.0.0.1:1' };
}

function setup(t: { after: (fn: () => unknown) => void }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'controller-req-'));
  const pools = new ManticorePools({ connectTimeoutMs: 200 });
  const platformListeners = new Set<() => void>();
  const platform: Platform = {
    kind: 'static',
    listNodes: () => Promise.resolve([node(0), node(1)]),
    onChange: (l) => {
      platformListeners.add(l);
      return () => platformListeners.delete(l);
    },
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
  const specListeners = new Set<() => void>();
  const specs = {
    list: [] as LoadedSpec[],
    specs(): LoadedSpec[] {
      return this.list;
    },
    problems: (): SpecProblem[] => [],
    onChange: (l: () => void) => {
      specListeners.add(l);
      return () => specListeners.delete(l);
    },
  };
  const passes: string[] = [];
  const reconcileCluster: ClusterReconciler = (ctx) => {
    passes.push(ctx.observations.map((o) => o.node.name).join(','));
    return Promise.resolve({ formed: false, ready: false, requeueAfterMs: 60_000 });
  };
  const status = FileStatusStore.open({ dataDir: dir });
  const controller = new Controller({
    clusterName: 'main',
    platform,
    specs,
    status,
    pools,
    agentFor: (n) => new AgentClient({ baseUrl: n.agentUrl, token: 't', timeoutMs: 200 }),
    runtime: new MachineRuntime(dir, silentLogger()),
    reconcileCluster,
    logger: silentLogger(),
    resyncMs: 60_000,
    fastResyncMs: 60_000,
    observeTimeoutMs: 200,
  });
  t.after(async () => {
    await controller.stop();
    await pools.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, controller, status, passes, fire: { platform: () => platformListeners.forEach((l) => l()), specs: () => specListeners.forEach((l) => l()) } };
}

test('a forced bootstrap request becomes a pending, audited operation on the cluster key and triggers a pass', async (t) => {
  const { dir, controller, status, passes } = setup(t);
  controller.start();
  await controller.whenIdle();
  const before = passes.length;
  assert.ok(before >= 1, 'start runs a first cluster pass');
  assert.equal(controller.isReady(), true);

  const op = await controller.requestBootstrap({ node: 'node1', force: true, requestedBy: 'alice' });
  assert.equal(op.kind, 'forced-bootstrap');
  assert.equal(op.state, 'pending');
  assert.equal(op.key, 'cluster/main');
  assert.equal(op.target, 'node1');
  assert.equal(op.requestedBy, 'alice');
  await controller.whenIdle();
  assert.ok(passes.length > before, 'the request queued a cluster pass');
  // audited: it is in the persisted history
  assert.equal(FileStatusStore.open({ dataDir: dir }).operation(op.id)?.requestedBy, 'alice');
  assert.equal(status.operation(op.id)?.state, 'pending');
});

test('bad bootstrap requests are refused with the field and the fix, and change nothing', async (t) => {
  const { controller, status } = setup(t);
  await assert.rejects(controller.requestBootstrap({ node: 'node1', force: false, requestedBy: 'bob' }), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.field, 'force');
    return true;
  });
  await assert.rejects(controller.requestBootstrap({ node: 'node9', force: true, requestedBy: 'bob' }), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.field, 'node');
    assert.match(err.message, /node0, node1/);
    return true;
  });
  assert.deepEqual(status.operations(), []);
});

test('platform and spec changes trigger a cluster pass', async (t) => {
  const { controller, passes, fire } = setup(t);
  controller.start();
  await controller.whenIdle();
  const n = passes.length;
  fire.platform();
  await controller.whenIdle();
  assert.equal(passes.length, n + 1);
  fire.specs();
  await controller.whenIdle();
  assert.equal(passes.length, n + 2);
  assert.equal(passes[0], 'node0,node1', 'the pass observes every node the platform lists');
});
