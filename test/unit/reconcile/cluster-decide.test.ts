import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideClusterConditions, decideFormation, clusterFacts, type DecideInput } from '../../../src/reconcile/cluster-decide.js';
import { CLUSTER, OTHER_UUID, UUID, held, member, silent, standalone } from './cluster-fixtures.js';

function decide(observations: DecideInput['observations'], extra: Partial<DecideInput> = {}) {
  return decideFormation({ clusterName: CLUSTER, observations, recorded: {}, ...extra });
}

const ALL = [0, 1, 2];

describe('decideFormation', () => {
  it('fresh nodes: the lowest ordinal creates, the others join', () => {
    const d = decide([standalone(2), standalone(0), standalone(1)]);
    assert.equal(d.kind, 'create');
    assert.ok(d.kind === 'create');
    assert.equal(d.node, 'node0');
    assert.deepEqual(d.joiners, ['node1', 'node2']);
    assert.match(d.reason, /lowest ordinal/);
  });

  it('fresh nodes: waits until every node is up', () => {
    const d = decide([standalone(0), silent(1), standalone(2)]);
    assert.equal(d.kind, 'wait');
    assert.match(d.reason, /node1/);
  });

  it('never creates over history: a standalone node with a grastate uuid is not a creator', () => {
    const d = decide([standalone(0), standalone(1, { grastate: { uuid: UUID, seqno: -1, safeToBootstrap: false } }), standalone(2)]);
    assert.notEqual(d.kind, 'create');
    assert.equal(d.kind, 'ambiguous');
  });

  it('a primary exists: fresh and former-member standalone nodes join through a synced donor', () => {
    const d = decide([member(0, { view: [0, 1] }), member(1, { view: [0, 1] }), standalone(2)]);
    assert.ok(d.kind === 'join');
    assert.deepEqual(d.nodes, ['node2']);
    assert.equal(d.donor, 'node0');
    const former = decide([member(0, { view: [0, 1] }), member(1, { view: [0, 1] }), standalone(2, { grastate: { uuid: UUID, seqno: 3 } })]);
    assert.ok(former.kind === 'join');
    assert.match(former.reason, /replaced by SST/);
  });

  it('scale-up: a new fresh node joins the running cluster', () => {
    const d = decide([member(0, { view: ALL }), member(1, { view: ALL }), member(2, { view: ALL }), standalone(3)]);
    assert.ok(d.kind === 'join');
    assert.deepEqual(d.nodes, ['node3']);
  });

  it('no JOIN while a table on the donor is frozen', () => {
    const d = decide([member(0, { view: [0, 1] }, { frozen: ['t_delta'] }), member(1, { view: [0, 1] }, { frozen: ['t_delta'] }), standalone(2)]);
    assert.ok(d.kind === 'wait');
    assert.equal(d.code, 'DonorFrozen');
  });

  it('no JOIN while another node is joining or donating', () => {
    const d = decide([member(0, { view: ALL }), member(1, { view: ALL, nodeState: 'donor' }), member(2, { view: ALL, nodeState: 'joining', status: 'primary' }), standalone(3)]);
    assert.ok(d.kind === 'wait');
    assert.equal(d.code, 'StateTransferRunning');
  });

  it('restarted node: held at the gate while a primary runs → start normally', () => {
    const d = decide([member(0, { view: [0, 1] }), member(1, { view: [0, 1] }), held(2, { uuid: UUID, seqno: -1 })]);
    assert.ok(d.kind === 'start');
    assert.deepEqual(d.nodes, ['node2']);
    assert.equal(d.mode, 'normal');
  });

  it('a stopped node nobody waits for at the gate gets no start decision (it would outlive a full stop)', () => {
    const stopped = held(2, { uuid: UUID, seqno: 5 });
    assert.ok(stopped.agent.ok);
    delete stopped.agent.value.gate.holdingSince;
    const d = decide([member(0, { view: [0, 1] }), member(1, { view: [0, 1] }), stopped]);
    assert.notEqual(d.kind, 'start');
    assert.equal(clusterFacts({ clusterName: CLUSTER, observations: [stopped], recorded: {} })[0]?.role, 'starting');
  });

  it('all synced: steady, with a nodes_set update when it lags', () => {
    const ok = decide([member(0, { view: ALL }), member(1, { view: ALL }), member(2, { view: ALL })]);
    assert.ok(ok.kind === 'steady');
    assert.equal(ok.updateNodesOn, undefined);
    const lag = decide([member(0, { view: ALL, set: [0] }), member(1, { view: ALL }), member(2, { view: ALL })]);
    assert.ok(lag.kind === 'steady');
    assert.equal(lag.updateNodesOn, 'node0');
  });

  it('clean full stop: the safe_to_bootstrap node starts with --new-cluster', () => {
    const d = decide([
      held(0, { uuid: UUID, seqno: 7, safeToBootstrap: false }),
      held(1, { uuid: UUID, seqno: 7, safeToBootstrap: true }),
      held(2, { uuid: UUID, seqno: 7, safeToBootstrap: false }),
    ]);
    assert.ok(d.kind === 'recover');
    assert.equal(d.source, 'node1');
    assert.equal(d.mode, 'new-cluster');
    assert.deepEqual(d.others, ['node0', 'node2']);
    assert.match(d.reason, /safe_to_bootstrap/);
  });

  it('clean stop with different seqnos: the highest wins', () => {
    const d = decide([held(0, { uuid: UUID, seqno: 9, safeToBootstrap: true }), held(1, { uuid: UUID, seqno: 4 }), held(2, { uuid: UUID, seqno: 4 })]);
    assert.ok(d.kind === 'recover');
    assert.equal(d.source, 'node0');
  });

  it('waits until every node reports after a full stop', () => {
    const d = decide([held(0, { uuid: UUID, seqno: 7, safeToBootstrap: true }), silent(1), held(2, { uuid: UUID, seqno: 7 })]);
    assert.ok(d.kind === 'wait');
    assert.match(d.reason, /node1/);
  });

  it('crash with recorded seqnos: --new-cluster-force on the highest recorded', () => {
    const crashed = { uuid: UUID, seqno: -1, safeToBootstrap: false };
    const recorded = { node0: { uuid: UUID, seqno: 10 }, node1: { uuid: UUID, seqno: 12 }, node2: { uuid: UUID, seqno: 11 } };
    const d = decide([held(0, crashed), held(1, crashed), held(2, crashed)], { recorded });
    assert.ok(d.kind === 'recover');
    assert.equal(d.source, 'node1');
    assert.equal(d.mode, 'new-cluster-force');
    assert.match(d.reason, /node1=12 \(recorded\)/);
  });

  it('crash with equal recorded seqnos: the lowest ordinal, and says so', () => {
    const crashed = { uuid: UUID, seqno: -1 };
    const recorded = { node0: { uuid: UUID, seqno: 10 }, node1: { uuid: UUID, seqno: 10 }, node2: { uuid: UUID, seqno: 10 } };
    const d = decide([held(0, crashed), held(1, crashed), held(2, crashed)], { recorded });
    assert.ok(d.kind === 'recover');
    assert.equal(d.source, 'node0');
    assert.match(d.reason, /lowest ordinal/);
  });

  it('crash without recorded positions: ambiguous (RecoveryPending) naming the nodes; a forced request proceeds', () => {
    const crashed = { uuid: UUID, seqno: -1 };
    const obs = [held(0, crashed), held(1, crashed), held(2, crashed)];
    const d = decide(obs, { recorded: { node0: { uuid: UUID, seqno: 3 } } });
    assert.ok(d.kind === 'ambiguous');
    assert.deepEqual(d.missing, ['node1', 'node2']);
    const conditions = decideClusterConditions({ clusterName: CLUSTER, facts: clusterFacts({ clusterName: CLUSTER, observations: obs, recorded: {} }), decision: d });
    const pending = conditions.find((c) => c.type === 'RecoveryPending');
    assert.equal(pending?.status, 'True');
    assert.match(pending?.message ?? '', /node1, node2/);

    const forced = decide(obs, { forced: { operationId: 'op1', node: 'node2', requestedBy: 'alice' } });
    assert.ok(forced.kind === 'recover');
    assert.equal(forced.source, 'node2');
    assert.equal(forced.mode, 'new-cluster-force');
    assert.equal(forced.forced?.operationId, 'op1');
  });

  it('a recorded seqno of another uuid does not count', () => {
    const crashed = { uuid: UUID, seqno: -1 };
    const recorded = { node0: { uuid: OTHER_UUID, seqno: 50 }, node1: { uuid: UUID, seqno: 10 }, node2: { uuid: UUID, seqno: 10 } };
    const d = decide([held(0, crashed), held(1, crashed), held(2, crashed)], { recorded });
    assert.ok(d.kind === 'ambiguous');
    assert.deepEqual(d.missing, ['node0']);
  });

  it('a non-primary survivor with the newest position gets pc.bootstrap', () => {
    const d = decide([member(0, { status: 'non-primary', nodeState: 'synced', seqno: 20, view: [0] }), held(1, { uuid: UUID, seqno: -1 }), held(2, { uuid: UUID, seqno: -1 })], {
      recorded: { node1: { uuid: UUID, seqno: 18 }, node2: { uuid: UUID, seqno: 19 } },
    });
    assert.ok(d.kind === 'recover');
    assert.equal(d.source, 'node0');
    assert.equal(d.mode, 'pc-bootstrap');
  });

  it('a non-primary survivor wins a tie with recorded positions (no restart, exact position)', () => {
    const d = decide([held(0, { uuid: UUID, seqno: -1 }), held(1, { uuid: UUID, seqno: -1 }), member(2, { status: 'non-primary', seqno: 20, view: [2] })], {
      recorded: { node0: { uuid: UUID, seqno: 20 }, node1: { uuid: UUID, seqno: 20 }, node2: { uuid: UUID, seqno: 20 } },
    });
    assert.ok(d.kind === 'recover');
    assert.equal(d.source, 'node2');
    assert.equal(d.mode, 'pc-bootstrap');
    assert.match(d.reason, /still runs/);
  });

  it('every node dropped the cluster (started plainly): ambiguous unless forced, then create-from-local', () => {
    const dropped = { grastate: { uuid: UUID, seqno: -1 } };
    const recorded = { node0: { uuid: UUID, seqno: 5 }, node1: { uuid: UUID, seqno: 6 }, node2: { uuid: UUID, seqno: 5 } };
    const obs = [standalone(0, dropped), standalone(1, dropped), standalone(2, dropped)];
    const d = decide(obs, { recorded });
    assert.ok(d.kind === 'ambiguous');
    assert.match(d.reason, /node1/);
    const f = decide(obs, { recorded, forced: { operationId: 'op', node: 'node1', requestedBy: 'bob' } });
    assert.ok(f.kind === 'recover');
    assert.equal(f.mode, 'create-from-local');
  });

  it('split brain: two primaries of different uuids', () => {
    const d = decide([member(0, { view: [0] }), member(1, { uuid: OTHER_UUID, view: [1, 2] }), member(2, { uuid: OTHER_UUID, view: [1, 2] })]);
    assert.ok(d.kind === 'split-brain');
    assert.deepEqual(d.groups, [['node0'], ['node1', 'node2']]);
  });

  it('split brain: two primary components of one uuid that do not see each other', () => {
    const d = decide([member(0, { view: [0] }), member(1, { view: [1, 2] }), member(2, { view: [1, 2] })]);
    assert.ok(d.kind === 'split-brain');
    const conditions = decideClusterConditions({ clusterName: CLUSTER, facts: clusterFacts({ clusterName: CLUSTER, observations: [], recorded: {} }), decision: d });
    assert.equal(conditions.find((c) => c.type === 'SplitBrain')?.status, 'True');
  });

  it('split brain: a standalone node holding another uuid next to a running primary', () => {
    const d = decide([member(0, { view: [0, 1] }), member(1, { view: [0, 1] }), standalone(2, { grastate: { uuid: OTHER_UUID, seqno: 4 } })]);
    assert.equal(d.kind, 'split-brain');
  });

  it('conditions: Ready when every node is primary + synced with one uuid; Degraded when one is down', () => {
    const obs = [member(0, { view: ALL }), member(1, { view: ALL }), member(2, { view: ALL })];
    const facts = clusterFacts({ clusterName: CLUSTER, observations: obs, recorded: {} });
    const cs = decideClusterConditions({ clusterName: CLUSTER, facts, decision: decide(obs) });
    assert.equal(cs.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(cs.find((c) => c.type === 'ClusterFormed')?.status, 'True');
    assert.equal(cs.find((c) => c.type === 'Degraded')?.status, 'False');
    const obs2 = [member(0, { view: [0, 1] }), member(1, { view: [0, 1] }), silent(2)];
    const facts2 = clusterFacts({ clusterName: CLUSTER, observations: obs2, recorded: {} });
    const cs2 = decideClusterConditions({ clusterName: CLUSTER, facts: facts2, decision: decide(obs2) });
    assert.equal(cs2.find((c) => c.type === 'Ready')?.status, 'False');
    assert.equal(cs2.find((c) => c.type === 'Degraded')?.status, 'True');
    assert.match(cs2.find((c) => c.type === 'Degraded')?.message ?? '', /node2/);
  });
});
