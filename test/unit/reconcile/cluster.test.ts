import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { NodeDiskState, StartDecision } from '../../../src/agent/protocol.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { MachineRuntime } from '../../../src/machines/runtime/machine-runtime.js';
import type { ClusterObservation } from '../../../src/observe/types.js';
import { forcedBootstrapRequest, reconcileCluster, type ClusterReconcileContext } from '../../../src/reconcile/cluster.js';
import { FileStatusStore } from '../../../src/status/store.js';
import { CLUSTER, UUID, held, member } from './cluster-fixtures.js';

/** Agents that remember decisions; SQL that nobody should need in these passes. */
function harness(dir: string) {
  const decisions: Record<string, StartDecision[]> = {};
  const status = FileStatusStore.open({});
  const runtime = new MachineRuntime(dir, silentLogger());
  const ctx = (observations: ClusterObservation, now = 10_000): ClusterReconcileContext => ({
    clusterName: CLUSTER,
    observations,
    pools: {
      get: () => ({
        query: async () => [],
        exec: async (sql: string) => {
          throw new Error(`unexpected SQL in this test: ${sql}`);
        },
      }),
    },
    agentFor: (node) => ({
      state: async (): Promise<NodeDiskState> => {
        const obs = observations.find((o) => o.node.name === node.name);
        if (!obs?.agent.ok) throw new Error('agent down');
        const last = decisions[node.name]?.at(-1);
        return last ? { ...obs.agent.value, gate: { mode: last.mode, reason: last.reason, decisionId: last.decisionId } } : obs.agent.value;
      },
      decideStart: async (d: StartDecision) => {
        (decisions[node.name] ??= []).push(d);
        return d;
      },
    }),
    status,
    runtime,
    logger: silentLogger(),
    now: () => now,
    newId: () => 'x1',
  });
  return { decisions, status, runtime, ctx };
}

const settle = () => new Promise((r) => setTimeout(r, 30));

describe('reconcileCluster', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('records live seqnos; a held node next to a primary is released with a plain start', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rc-'));
    const h = harness(dir);
    const obs = [member(0, { view: [0, 1], seqno: 42 }), member(1, { view: [0, 1], seqno: 42 }), held(2, { uuid: UUID, seqno: -1 })];
    const r = await reconcileCluster(h.ctx(obs));
    assert.equal(r.formed, true);
    assert.equal(r.ready, false);
    assert.equal(r.decision.kind, 'start');
    assert.equal(h.status.recordedSeqnos().node0?.seqno, 42);
    assert.deepEqual(h.decisions.node2?.map((d) => d.mode), ['normal']);
    // the next pass does not repeat the decision
    await reconcileCluster(h.ctx(obs));
    assert.equal(h.decisions.node2?.length, 1);
    const cluster = h.status.cluster();
    assert.equal(cluster.conditions.find((c) => c.type === 'Degraded')?.status, 'True');
    assert.equal(cluster.nodes.find((n) => n.name === 'node2')?.gate?.mode, 'hold');
  });

  it('crash with unknown positions: RecoveryPending and no action; a forced request starts the forced bootstrap', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rc-'));
    const h = harness(dir);
    const crashed = { uuid: UUID, seqno: -1 };
    const obs = [held(0, crashed), held(1, crashed), held(2, crashed)];
    const r1 = await reconcileCluster(h.ctx(obs));
    assert.equal(r1.decision.kind, 'ambiguous');
    assert.equal(r1.operationId, undefined);
    assert.deepEqual(h.decisions, {});
    const pending = h.status.cluster().conditions.find((c) => c.type === 'RecoveryPending');
    assert.equal(pending?.status, 'True');
    assert.match(pending?.message ?? '', /node0, node1, node2/);

    h.status.upsertOperation(forcedBootstrapRequest({ clusterName: CLUSTER, node: 'node1', requestedBy: 'alice', now: 9_000, id: 'fb-1' }));
    const r2 = await reconcileCluster(h.ctx(obs));
    assert.equal(r2.operationId, 'fb-1');
    await settle();
    assert.deepEqual(h.decisions.node1?.map((d) => d.mode), ['new-cluster-force']);
    assert.equal(h.decisions.node0, undefined, 'the others hold until the source is primary');
    const op = h.status.operation('fb-1');
    assert.equal(op?.state, 'running');
    assert.equal(op?.requestedBy, 'alice');
    assert.equal(op?.kind, 'forced-bootstrap');
    h.runtime.stopAll();
  });

  it('a forced bootstrap while a primary runs is refused in the history', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rc-'));
    const h = harness(dir);
    h.status.upsertOperation(forcedBootstrapRequest({ clusterName: CLUSTER, node: 'node2', requestedBy: 'bob', now: 9_000, id: 'fb-2' }));
    const obs = [member(0, { view: [0, 1, 2] }), member(1, { view: [0, 1, 2] }), member(2, { view: [0, 1, 2] })];
    const r = await reconcileCluster(h.ctx(obs));
    assert.equal(r.ready, true);
    assert.equal(h.status.operation('fb-2')?.state, 'failed');
    assert.match(h.status.operation('fb-2')?.error ?? '', /primary component/);
  });
});
