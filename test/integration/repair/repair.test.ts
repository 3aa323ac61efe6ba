/**
 * Issue 6 part 1: split-brain detection and repair on the real stack (simulator nodes with their
 * agents in this process, the controller as a separate process). The split brain is produced as in
 * production (test/helpers/split-brain.ts: partition, pc.bootstrap of the minority, heal), with
 * writes acknowledged on both sides while they were apart.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { CONTROLLER_SCRIPT } from '../../helpers/controller-process.js';
import { induceSplitBrain } from '../../helpers/split-brain.js';
import type { NodeRef } from '../../../src/platform/types.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { DELTA, oneCluster, startWorld, until, WAIT, type World } from './world.js';

const worlds: World[] = [];
after(async () => {
  for (const w of worlds) await w.close();
});

interface ConditionView {
  scope: string;
  type: string;
  status: string;
  reason: string;
  message: string;
  details?: { groups?: { nodes: string[]; seqno?: number; rows: Record<string, Record<string, number>> }[] };
}

async function splitBrainCondition(w: World): Promise<ConditionView | undefined> {
  const res = await w.api<{ data: ConditionView[] }>('GET', '/api/conditions');
  return res.body.data.find((c) => c.scope === 'cluster' && c.type === 'SplitBrain');
}

/** The split brain of every scenario: node2 bootstrapped alone; rows 1-3 before, 10-11 on the majority, 20 on node2. */
async function splitWithWrites(w: World, cluster: string, bootstrapSide: string[]): Promise<void> {
  const [n0, , n2] = w.nodes as [NodeRef, NodeRef, NodeRef];
  await w.insertRows(n0, [1, 2, 3], 'before');
  await until(async () => (await w.rows(n2)) === 3, WAIT.replicate, 'rows 1-3 on every node');
  await induceSplitBrain({
    nodes: w.nodes,
    cluster,
    bootstrapSide,
    pools: w.pools,
    duringPartition: async ({ primary, bootstrapped }) => {
      // two statements on the majority: its seqno ends ahead of the bootstrapped side's
      await w.insertRows(primary[0] as NodeRef, [10], 'majority');
      await w.insertRows(primary[1] as NodeRef, [11], 'majority');
      await w.insertRows(bootstrapped[0] as NodeRef, [20], 'minority');
    },
  });
}

async function waitOperation(w: World, id: string, what: string): Promise<OperationRecord> {
  return until(
    async () => {
      const res = await w.api<{ data: OperationRecord }>('GET', `/api/operations/${id}`);
      const op = res.body.data;
      return op.state === 'succeeded' || op.state === 'failed' ? op : undefined;
    },
    WAIT.repair,
    what,
    200,
  );
}

/** Every node in one cluster with `uuid`, holding exactly `ids` in the delta. */
async function assertRepaired(w: World, uuid: string | undefined, ids: number[]): Promise<void> {
  const u = await until(() => oneCluster(w), WAIT.repair, 'every node in one cluster');
  if (uuid !== undefined) assert.equal(u, uuid, 'the survivor keeps the cluster uuid');
  for (const n of w.nodes) assert.deepEqual(await w.ids(n), ids, `${n.name}: the survivor's rows`);
}

describe('split-brain repair', { skip: existsSync(CONTROLLER_SCRIPT) ? false : 'npm run build first' }, () => {
  test('manual: detected with its groups, POST /api/repair keeps the highest seqno side on every node', { timeout: 120_000 }, async () => {
    const w = await startWorld('rb');
    worlds.push(w);
    const uuid = (await w.clusterOf(w.nodes[0] as NodeRef))?.stateUuid;
    await splitWithWrites(w, 'rb', ['node2']);

    const cond = await until(async () => {
      const c = await splitBrainCondition(w);
      return c?.status === 'True' && c.details?.groups?.length === 2 ? c : undefined;
    }, WAIT.detect, 'the SplitBrain condition with two groups');
    assert.equal(cond.reason, 'SeveralComponents');
    assert.match(cond.message, /\[node0, node1\].*\[node2\]/);
    assert.match(cond.message, /POST \/api\/repair/);
    const groups = cond.details?.groups ?? [];
    assert.deepEqual(groups.map((g) => g.nodes), [['node0', 'node1'], ['node2']]);
    assert.equal(groups[0]?.rows.node0?.[DELTA], 5, 'the majority side counted 5 rows');
    assert.equal(groups[1]?.rows.node2?.[DELTA], 4, 'the bootstrapped side counted 4 rows');
    assert.ok((groups[0]?.seqno ?? 0) > (groups[1]?.seqno ?? 0), `seqnos: ${JSON.stringify(groups.map((g) => g.seqno))}`);

    // bad input changes nothing
    const bad = await w.api<{ error: { code: string; field?: string } }>('POST', '/api/repair', { source: 'node9' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'source');
    const badOrdinal = await w.api<{ error: { code: string; field?: string } }>('POST', '/api/repair', { sourceReplica: 'x' });
    assert.equal(badOrdinal.status, 400);
    assert.equal(badOrdinal.body.error.field, 'sourceReplica');

    const res = await w.api<{ status: string; message: string; commandId: string; operationId: string }>('POST', '/api/repair');
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.status, 'accepted');
    assert.equal(res.body.operationId, res.body.commandId);
    const again = await w.api<{ error: { code: string; operationId?: string } }>('POST', '/api/repair', {});
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.error.code, 'CONFLICT');
    assert.equal(again.body.error.operationId, res.body.operationId);
    const listed = await w.api<{ repairs: { commandId: string; lifecycleStage: string }[] }>('GET', '/api/repairs');
    assert.ok(listed.body.repairs.some((r) => r.commandId === res.body.commandId), JSON.stringify(listed.body));

    const op = await waitOperation(w, res.body.operationId, 'the repair to end');
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    assert.equal(op.kind, 'repair');
    assert.equal(op.target, 'node0');
    assert.ok(op.steps.some((s) => s.name === 'rejoin survivor (SST)'), JSON.stringify(op.steps));
    await assertRepaired(w, uuid, [1, 2, 3, 10, 11]);
    const after = await until(async () => {
      const c = await splitBrainCondition(w);
      return c?.status === 'False' ? c : undefined;
    }, WAIT.detect, 'SplitBrain False');
    assert.equal(after.status, 'False');
    // the repaired cluster takes writes everywhere
    await w.insertRows(w.nodes[2] as NodeRef, [30], 'after');
    await until(async () => (await w.rows(w.nodes[0] as NodeRef)) === 6, WAIT.replicate, 'a write after the repair replicated');
  });
});
