import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterFacts, decideClusterConditions, decideFormation, decideSplitBrain } from '../../../src/reconcile/cluster-decide.js';
import { decideRepairPlan, decideStaleObservations } from '../../../src/reconcile/repair-decide.js';
import type { NodeObservation } from '../../../src/observe/types.js';
import { CLUSTER, OTHER_UUID, member, silent, standalone } from './cluster-fixtures.js';

const facts = (obs: NodeObservation[]) => clusterFacts({ clusterName: CLUSTER, observations: obs, recorded: {} });

function withRows(o: NodeObservation, rows: Record<string, number>): NodeObservation {
  if (o.searchd.ok) o.searchd.value.rows = rows;
  return o;
}

describe('decideSplitBrain: groups with seqnos and rows', () => {
  it('two primary components of one uuid: each side with its seqno and rows', () => {
    const obs = [
      withRows(member(0, { view: [0, 1], seqno: 9 }), { t_delta: 5 }),
      withRows(member(1, { view: [0, 1], seqno: 9 }), { t_delta: 5 }),
      withRows(member(2, { view: [2], seqno: 7 }), { t_delta: 4 }),
    ];
    const sb = decideSplitBrain(facts(obs));
    assert.ok(sb);
    assert.equal(sb.cause, 'primaries');
    assert.deepEqual(sb.detail.map((g) => [g.nodes, g.seqno, g.primary]), [[['node0', 'node1'], 9, true], [['node2'], 7, true]]);
    assert.deepEqual(sb.detail[1]?.rows, { node2: { t_delta: 4 } });
    assert.match(sb.reason, /\[node0, node1\] primary, uuid .*seqno 9, rows node0: t_delta=5; node1: t_delta=5 \| \[node2\] primary/);
  });

  it('a non-primary majority next to a primary component is a split brain', () => {
    // 5 nodes: node0-1 forced primary, node2-4 non-primary (they lost quorum and still run)
    const obs = [
      member(0, { view: [0, 1] }),
      member(1, { view: [0, 1] }),
      member(2, { view: [2, 3, 4], status: 'non-primary' }),
      member(3, { view: [2, 3, 4], status: 'non-primary' }),
      member(4, { view: [2, 3, 4], status: 'non-primary' }),
    ];
    const sb = decideSplitBrain(facts(obs));
    assert.equal(sb?.cause, 'non-primary-majority');
    assert.deepEqual(sb?.groups, [['node0', 'node1'], ['node2', 'node3', 'node4']]);
  });

  it('an even split with no primary (2|2, every node up) is a split brain, a minority without quorum is not', () => {
    const even = [member(0, { view: [0, 1], status: 'non-primary' }), member(1, { view: [0, 1], status: 'non-primary' }), member(2, { view: [2, 3], status: 'non-primary' }), member(3, { view: [2, 3], status: 'non-primary' })];
    assert.equal(decideSplitBrain(facts(even))?.cause, 'non-primary-majority');
    assert.equal(decideFormation({ clusterName: CLUSTER, observations: even, recorded: {} }).kind, 'split-brain');
    const minority = [member(0, { view: [0, 1] }), member(1, { view: [0, 1] }), member(2, { view: [2], status: 'non-primary' })];
    assert.equal(decideSplitBrain(facts(minority)), undefined);
  });

  it('the condition carries the groups as details', () => {
    const obs = [member(0, { view: [0] }), member(1, { uuid: OTHER_UUID, view: [1, 2] }), member(2, { uuid: OTHER_UUID, view: [1, 2] })];
    const f = facts(obs);
    const d = decideFormation({ clusterName: CLUSTER, observations: obs, recorded: {} });
    const c = decideClusterConditions({ clusterName: CLUSTER, facts: f, decision: d }).find((x) => x.type === 'SplitBrain');
    assert.equal(c?.status, 'True');
    assert.equal((c?.details?.groups as unknown[]).length, 2);
  });
});

describe('decideRepairPlan', () => {
  const split = [member(0, { view: [0, 1], seqno: 9 }), member(1, { view: [0, 1], seqno: 9 }), member(2, { view: [2], seqno: 7 })];

  it('the highest seqno survives; the other side rejoins; no pc.bootstrap for a primary side', () => {
    const f = facts(split);
    const plan = decideRepairPlan({ facts: f, splitBrain: decideSplitBrain(f) });
    assert.ok(plan.kind === 'repair');
    assert.equal(plan.survivor, 'node0');
    assert.deepEqual(plan.losers, ['node2']);
    assert.equal(plan.bootstrap, false);
    assert.match(plan.reason, /highest seqno \(9 vs 7\)/);
  });

  it('seqnos tie: the larger side; sizes tie too: the lowest ordinal', () => {
    const tie = [member(0, { view: [0], seqno: 7 }), member(1, { view: [1, 2], seqno: 7 }), member(2, { view: [1, 2], seqno: 7 })];
    const f = facts(tie);
    const plan = decideRepairPlan({ facts: f, splitBrain: decideSplitBrain(f) });
    assert.ok(plan.kind === 'repair');
    assert.deepEqual(plan.survivorGroup, ['node1', 'node2']);
    assert.match(plan.reason, /larger side/);
    const even = [member(0, { view: [0, 1], seqno: 7 }), member(1, { view: [0, 1], seqno: 7 }), member(2, { view: [2, 3], seqno: 7 }), member(3, { view: [2, 3], seqno: 7 })];
    const f2 = facts(even);
    const p2 = decideRepairPlan({ facts: f2, splitBrain: decideSplitBrain(f2) });
    assert.ok(p2.kind === 'repair');
    assert.equal(p2.survivor, 'node0');
  });

  it('a named source wins even with a lower seqno; a standalone source is refused naming the field', () => {
    const f = facts(split);
    const plan = decideRepairPlan({ facts: f, splitBrain: decideSplitBrain(f), source: 'node2' });
    assert.ok(plan.kind === 'repair');
    assert.equal(plan.survivor, 'node2');
    assert.deepEqual(plan.losers, ['node0', 'node1']);
    const withOutsider = facts([member(0, { view: [0, 1] }), member(1, { view: [0, 1] }), standalone(2, { grastate: { uuid: OTHER_UUID, seqno: 4 } })]);
    const refused = decideRepairPlan({ facts: withOutsider, splitBrain: decideSplitBrain(withOutsider), source: 'node2' });
    assert.equal(refused.kind, 'refuse');
    assert.ok(refused.kind === 'refuse' && refused.field === 'source');
  });

  it('a non-primary survivor side is bootstrapped, and only it', () => {
    const even = [member(0, { view: [0, 1], status: 'non-primary', seqno: 8 }), member(1, { view: [0, 1], status: 'non-primary', seqno: 8 }), member(2, { view: [2, 3], status: 'non-primary', seqno: 6 }), member(3, { view: [2, 3], status: 'non-primary', seqno: 6 })];
    const f = facts(even);
    const plan = decideRepairPlan({ facts: f, splitBrain: decideSplitBrain(f) });
    assert.ok(plan.kind === 'repair');
    assert.equal(plan.bootstrap, true);
    assert.equal(plan.survivor, 'node0');
    assert.match(plan.reason, /pc\.bootstrap on node0 only/);
  });

  it('no split brain: nothing to repair', () => {
    const f = facts([member(0, { view: [0, 1, 2] }), member(1, { view: [0, 1, 2] }), member(2, { view: [0, 1, 2] })]);
    assert.equal(decideRepairPlan({ facts: f, splitBrain: decideSplitBrain(f) }).kind, 'nothing');
  });
});

describe('decideStaleObservations', () => {
  it('a node that does not answer, or an observation older than the guard, is stale', () => {
    const obs = [member(0), silent(1), member(2)];
    const o2 = obs[2] as NodeObservation;
    o2.at = 1000;
    const stale = decideStaleObservations(obs, 1000 + 20_000, 10_000, { node1: 5_000 });
    assert.deepEqual(stale.map((s) => s.node), ['node0', 'node1', 'node2']);
    assert.match(stale[1]?.reason ?? '', /node1: searchd does not answer .*last answered 16 s ago/);
    assert.deepEqual(decideStaleObservations([member(0)], 1500, 10_000, {}), []);
  });
});
