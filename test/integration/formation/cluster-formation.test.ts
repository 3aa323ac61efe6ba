/**
 * Cluster formation and self-healing on simulator nodes run by the LocalPlatform with the real agent
 * (dist/src/bin/agent.js) and its start gate; the controller side is reconcileCluster driven by a
 * small pass loop (observeCluster → reconcileCluster), with a file status store and persisted
 * machines, as the controller wires them.
 *
 * Scenarios: fresh formation (with a controller "SIGKILL" in the middle: no duplicate CREATE/JOIN);
 * SIGKILL of one node → it rejoins; clean stop of all → restart through the gate → same uuid, same
 * rows; SIGKILL of all → restart through the gate → recovery from the highest recorded seqno.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentClient } from '../../../src/agent/client.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { MachineRuntime } from '../../../src/machines/runtime/machine-runtime.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import type { Row } from '../../../src/manticore/parse.js';
import { parseClusterStatus } from '../../../src/manticore/parse.js';
import { observeCluster } from '../../../src/observe/observe.js';
import { LocalPlatform } from '../../../src/platform/local/local-platform.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { forcedBootstrapRequest, reconcileCluster, type ClusterReconcileResult } from '../../../src/reconcile/cluster.js';
import { LOOPBACK_OPTIONS, repoRoot, resolveBinaries, timeoutMs } from '../../../src/sim/launcher.js';
import { FileStatusStore } from '../../../src/status/store.js';

const TOKEN = 'formation-test-token-0123456789abcdef';
const CLUSTER = 'c';

/** Named waits (ms). */
const WAIT = {
  form: timeoutMs('form') * 3,
  rejoin: timeoutMs('rejoin') * 2,
  restart: timeoutMs('start') + timeoutMs('form') * 2,
  running: timeoutMs('start') + 5000,
};
/** pause between passes of the test's controller loop */
const PASS_PAUSE_MS = 150;

const agentScript = path.join(repoRoot(), 'dist', 'src', 'bin', 'agent.js');
const haveAgent = existsSync(agentScript);

const dirs: string[] = [];
const platforms: LocalPlatform[] = [];
const poolsToClose: ManticorePools[] = [];
after(async () => {
  for (const p of platforms) await p.stop().catch(() => undefined);
  for (const pools of poolsToClose) await pools.closeAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function newPlatform(dataDir: string): LocalPlatform {
  const p = new LocalPlatform({
    dataDir,
    nodes: 3,
    binaries: resolveBinaries({}),
    token: TOKEN,
    clusterName: CLUSTER,
    env: process.env,
    logger: silentLogger(),
    timings: { gatePollMs: 100, backoffBaseMs: 200, backoffMaxMs: 2000 },
  });
  platforms.push(p);
  return p;
}

/** The controller side of the test: status store + machine runtime under a controller data dir. */
class TestController {
  readonly status: FileStatusStore;
  runtime: MachineRuntime;
  readonly pools = new ManticorePools({ queryTimeoutMs: 10_000, connectTimeoutMs: 1_000 });
  /** every statement the reconciler executed (CREATE/JOIN/...), with the node */
  readonly executed: string[] = [];
  private readonly agents = new Map<string, AgentClient>();

  constructor(readonly dir: string) {
    this.status = FileStatusStore.open({ dataDir: dir });
    this.runtime = new MachineRuntime(dir, silentLogger());
    poolsToClose.push(this.pools);
  }

  agent(node: NodeRef): AgentClient {
    let a = this.agents.get(node.agentUrl);
    if (!a) {
      a = new AgentClient({ baseUrl: node.agentUrl, token: TOKEN, timeoutMs: 2_000 });
      this.agents.set(node.agentUrl, a);
    }
    return a;
  }

  async pass(platform: LocalPlatform): Promise<ClusterReconcileResult> {
    const nodes = await platform.listNodes();
    const observations = await observeCluster(nodes, { pools: this.pools, agentFor: (n) => this.agent(n), timeoutMs: 2_000 });
    const executed = this.executed;
    const pools = this.pools;
    return reconcileCluster({
      clusterName: CLUSTER,
      observations,
      pools: {
        get(address: string) {
          const c = pools.get(address);
          return {
            query: (sql: string, o?: { timeoutMs?: number }) => c.query(sql, o),
            exec: (sql: string, o?: { timeoutMs?: number }) => {
              executed.push(`${address} ${sql}`);
              return c.exec(sql, o);
            },
          };
        },
      },
      agentFor: (n) => this.agent(n),
      status: this.status,
      runtime: this.runtime,
      logger: silentLogger(),
      now: () => Date.now(),
      clusterOptions: LOOPBACK_OPTIONS,
      joinTimeoutMs: timeoutMs('rejoin'),
      pollMs: 100,
    });
  }

  /** Passes until `done` says so; returns the last result. */
  async converge(platform: LocalPlatform, done: (r: ClusterReconcileResult) => boolean | Promise<boolean>, ms: number, what: string): Promise<ClusterReconcileResult> {
    const deadline = Date.now() + ms;
    let last: ClusterReconcileResult | undefined;
    for (;;) {
      last = await this.pass(platform);
      if (await done(last)) return last;
      if (Date.now() > deadline) {
        const conds = this.status.cluster().conditions.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`).join('\n  ');
        throw new Error(`waiting ${ms} ms for ${what} failed; last decision ${last.decision.kind}: ${last.decision.reason}\n  ${conds}`);
      }
      await new Promise((r) => setTimeout(r, PASS_PAUSE_MS));
    }
  }

  /** Like a SIGKILL of the controller: actors stop without a final save; a new runtime reads the files. */
  crash(): void {
    this.runtime.stopAll();
    this.runtime = new MachineRuntime(this.dir, silentLogger());
  }

  statements(re: RegExp): string[] {
    return this.executed.filter((s) => re.test(s));
  }
}

async function sql(ctrl: TestController, node: NodeRef, query: string): Promise<Row[]> {
  return ctrl.pools.get(`${node.mysql.host}:${node.mysql.port}`).query(query);
}

async function clusterOf(ctrl: TestController, node: NodeRef) {
  return parseClusterStatus(await sql(ctrl, node, `SHOW STATUS LIKE 'cluster%'`), CLUSTER);
}

async function ids(ctrl: TestController, node: NodeRef): Promise<number[]> {
  return (await sql(ctrl, node, 'SELECT id FROM t ORDER BY id ASC LIMIT 1000')).map((r) => Number(r.id));
}

/** Every node primary + synced, one uuid, size = nodes. */
async function assertWorldReady(ctrl: TestController, nodes: NodeRef[], uuid?: string): Promise<string> {
  const statuses = await Promise.all(nodes.map((n) => clusterOf(ctrl, n)));
  for (const [i, s] of statuses.entries()) {
    assert.ok(s, `${nodes[i]?.name} is in the cluster`);
    assert.equal(s.status, 'primary', `${nodes[i]?.name} primary`);
    assert.equal(s.nodeState, 'synced', `${nodes[i]?.name} synced`);
    assert.equal(s.size, nodes.length, `${nodes[i]?.name} sees ${nodes.length} members`);
  }
  const uuids = new Set(statuses.map((s) => s?.stateUuid));
  assert.equal(uuids.size, 1, 'one cluster uuid');
  const u = statuses[0]?.stateUuid as string;
  if (uuid !== undefined) assert.equal(u, uuid, 'the same cluster uuid as before');
  return u;
}

const isReady = (r: ClusterReconcileResult) => r.ready && r.operationId === undefined;

describe('cluster formation and self-healing on the simulator', { skip: haveAgent ? false : `no agent at ${agentScript} (npm run build)` }, () => {
  test('fresh formation, node rejoin, clean full restart and full crash recovery through the start gate', async (t) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'mco-formation-'));
    dirs.push(root);
    const nodesDir = path.join(root, 'nodes');
    const ctrlDir = path.join(root, 'controller');
    let ctrl = new TestController(ctrlDir);

    // ---- fresh formation, with a controller crash once the operation is under way
    const t0 = Date.now();
    const p1 = newPlatform(nodesDir);
    await p1.start();
    const nodes = await p1.listNodes();
    const [n0, n1, n2] = nodes as [NodeRef, NodeRef, NodeRef];
    await ctrl.converge(p1, (r) => r.operationId !== undefined, WAIT.form, 'a formation operation to start');
    ctrl.crash();
    const formed = await ctrl.converge(p1, isReady, WAIT.form, 'the fresh cluster Ready');
    const freshMs = Date.now() - t0;
    assert.equal(formed.ready, true);
    const uuid = await assertWorldReady(ctrl, nodes);
    assert.equal(ctrl.statements(/CREATE CLUSTER/).length, 1, `one CREATE CLUSTER: ${ctrl.statements(/CREATE CLUSTER/).join(' | ')}`);
    assert.ok(ctrl.statements(/CREATE CLUSTER/)[0]?.startsWith(`${n0.mysql.host}:${n0.mysql.port} `), 'node0 (lowest ordinal) created it');
    for (const n of [n1, n2]) assert.equal(ctrl.statements(new RegExp(`^${n.mysql.host}:${n.mysql.port} JOIN CLUSTER`)).length, 1, `${n.name} joined once`);
    const formation = ctrl.status.operations().find((o) => o.kind === 'cluster-formation');
    assert.equal(formation?.state, 'succeeded', JSON.stringify(formation));
    const set = (await clusterOf(ctrl, n0))?.nodesSet.sort();
    assert.deepEqual(set, nodes.map((n) => n.apiAddress).sort(), 'nodes_set lists every node');
    assert.equal(ctrl.status.cluster().conditions.find((c) => c.type === 'Ready')?.status, 'True');

    await sql(ctrl, n0, 'CREATE TABLE t (title text)');
    await sql(ctrl, n0, `ALTER CLUSTER ${CLUSTER} ADD t`);
    await sql(ctrl, n0, "INSERT INTO c:t (id, title) VALUES (1, 'one'), (2, 'two')");

    // ---- SIGKILL of one node: the platform restarts it, the gate holds it, the controller releases it
    p1.killNode('node2', 'SIGKILL');
    await p1.waitForNode('node2', (s) => s.phase === 'holding', WAIT.running, 'holding after the crash');
    await sql(ctrl, n1, "INSERT INTO c:t (id, title) VALUES (3, 'three')");
    const tKill = Date.now();
    await ctrl.converge(p1, async (r) => isReady(r) && (await ids(ctrl, n2).catch(() => [])).length === 3, WAIT.rejoin, 'node2 rejoined with the rows');
    const rejoinMs = Date.now() - tKill;
    await assertWorldReady(ctrl, nodes, uuid);
    assert.deepEqual(await ids(ctrl, n2), [1, 2, 3]);
    assert.ok(ctrl.status.operations().some((o) => o.kind === 'node-rejoin' && o.target === 'node2'), 'the release is in the history');

    // ---- clean stop of every node, then a start on the same data: every node holds until decided
    await sql(ctrl, n0, "INSERT INTO c:t (id, title) VALUES (4, 'four')");
    await ctrl.converge(p1, isReady, WAIT.form, 'ready before the stop');
    await p1.stop();
    ctrl = new TestController(ctrlDir); // a controller restart as well
    const p2 = newPlatform(nodesDir);
    const tClean = Date.now();
    await p2.start();
    await ctrl.converge(p2, (r) => r.operationId !== undefined, WAIT.restart, 'a recovery operation to start');
    const recovery = ctrl.status.operations().find((o) => o.kind === 'full-stop-recovery' && o.state === 'running');
    assert.ok(recovery, 'a full-stop recovery runs');
    assert.match(recovery.steps[0]?.message ?? '', /--new-cluster \(clean stop/);
    await ctrl.converge(p2, isReady, WAIT.restart, 'the cluster back after a clean full stop');
    const cleanMs = Date.now() - tClean;
    await assertWorldReady(ctrl, nodes, uuid);
    for (const n of nodes) assert.deepEqual(await ids(ctrl, n), [1, 2, 3, 4], `${n.name}: every row after the clean restart`);
    assert.equal(ctrl.statements(/CREATE CLUSTER/).length, 0, 'no CREATE CLUSTER over existing history');

    // ---- SIGKILL of every node: grastate seqno -1 everywhere; the recorded seqnos decide
    await sql(ctrl, n1, "INSERT INTO c:t (id, title) VALUES (5, 'five'), (6, 'six')");
    const live = (await clusterOf(ctrl, n0))?.lastCommitted;
    await ctrl.converge(p2, () => Object.values(ctrl.status.recordedSeqnos()).every((s) => s.seqno === live), WAIT.form, 'the last seqnos recorded');
    for (const n of nodes) p2.killNode(n.name, 'SIGKILL');
    for (const n of nodes) await p2.waitForNode(n.name, (s) => s.phase === 'holding', WAIT.running, 'holding after the full crash');
    const tCrash = Date.now();
    await ctrl.converge(p2, (r) => r.operationId !== undefined, WAIT.restart, 'a crash recovery operation to start');
    const crashOp = ctrl.status.operations().find((o) => o.kind === 'full-stop-recovery' && o.state === 'running');
    assert.match(crashOp?.steps[0]?.message ?? '', /--new-cluster-force/);
    assert.match(crashOp?.steps[0]?.message ?? '', /recorded/);
    await ctrl.converge(p2, isReady, WAIT.restart, 'the cluster back after a full crash');
    const crashMs = Date.now() - tCrash;
    await assertWorldReady(ctrl, nodes, uuid);
    for (const n of nodes) assert.deepEqual(await ids(ctrl, n), [1, 2, 3, 4, 5, 6], `${n.name}: every row after the crash recovery`);
    assert.equal(ctrl.statements(/CREATE CLUSTER/).length, 0, 'no CREATE CLUSTER after the crash either');

    // ---- scale up: a new fresh node joins and receives every table by SST
    await p2.scale(4);
    const four = await p2.listNodes();
    const n3 = four[3] as NodeRef;
    await p2.waitForNode(n3.name, (s) => s.phase === 'running', WAIT.running, 'the new node running');
    const tScale = Date.now();
    await ctrl.converge(p2, async (r) => isReady(r) && (await ids(ctrl, n3).catch(() => [])).length === 6, WAIT.form, 'node3 joined with every row');
    const scaleMs = Date.now() - tScale;
    await assertWorldReady(ctrl, four, uuid);
    assert.deepEqual(await ids(ctrl, n3), [1, 2, 3, 4, 5, 6], 'node3 received the table');
    assert.ok(ctrl.status.operations().some((o) => o.kind === 'cluster-join' && o.state === 'succeeded'), 'the join is in the history');
    assert.deepEqual((await clusterOf(ctrl, n0))?.nodesSet.sort(), four.map((n) => n.apiAddress).sort(), 'nodes_set lists the new node');

    // ---- scale down: the removed node leaves; nodes_set follows the membership
    await p2.scale(3);
    await ctrl.converge(
      p2,
      async (r) => isReady(r) && ((await clusterOf(ctrl, n0))?.nodesSet.length ?? 0) === 3,
      WAIT.form,
      'three members and nodes_set updated after the scale down',
    );
    await assertWorldReady(ctrl, nodes, uuid);
    assert.deepEqual((await clusterOf(ctrl, n0))?.nodesSet.sort(), nodes.map((n) => n.apiAddress).sort());

    t.diagnostic(`scale up: node3 joined with the rows: ${scaleMs} ms`);
    t.diagnostic(`fresh 3 nodes → Ready: ${freshMs} ms (including one controller crash)`);
    t.diagnostic(`node SIGKILLed → synced with the rows: ${rejoinMs} ms`);
    t.diagnostic(`clean full restart → Ready: ${cleanMs} ms`);
    t.diagnostic(`full crash (all holding) → Ready: ${crashMs} ms`);
    await p2.stop();
  });

  test('two of three SIGKILLed → pc.bootstrap on the survivor; a full crash with no recorded positions waits for a forced bootstrap', async (t) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'mco-formation2-'));
    dirs.push(root);
    const nodesDir = path.join(root, 'nodes');
    let ctrl = new TestController(path.join(root, 'controller'));
    const p = newPlatform(nodesDir);
    await p.start();
    const nodes = await p.listNodes();
    const [n0, n1, n2] = nodes as [NodeRef, NodeRef, NodeRef];
    await ctrl.converge(p, isReady, WAIT.form, 'the fresh cluster Ready');
    const uuid = await assertWorldReady(ctrl, nodes);
    await sql(ctrl, n0, 'CREATE TABLE t (title text)');
    await sql(ctrl, n0, `ALTER CLUSTER ${CLUSTER} ADD t`);
    await sql(ctrl, n0, "INSERT INTO c:t (id, title) VALUES (1, 'one'), (2, 'two')");
    const live = (await clusterOf(ctrl, n0))?.lastCommitted;
    await ctrl.converge(p, () => Object.values(ctrl.status.recordedSeqnos()).every((s) => s.seqno === live), WAIT.form, 'the last seqnos recorded');

    // ---- two of three SIGKILLed: they hold at the gate; the survivor loses quorum
    p.killNode('node0', 'SIGKILL');
    p.killNode('node1', 'SIGKILL');
    for (const n of [n0, n1]) await p.waitForNode(n.name, (s) => s.phase === 'holding', WAIT.running, 'holding after the crash');
    const deadline = Date.now() + timeoutMs('evict') * 2;
    while ((await clusterOf(ctrl, n2))?.status !== 'non-primary') {
      assert.ok(Date.now() < deadline, 'the survivor turns non-primary');
      await new Promise((r) => setTimeout(r, 100));
    }
    const tPc = Date.now();
    await ctrl.converge(p, (r) => r.operationId !== undefined, WAIT.restart, 'a recovery operation to start');
    const pcOp = ctrl.status.operations().find((o) => o.kind === 'full-stop-recovery' && o.state === 'running');
    assert.match(pcOp?.steps[0]?.message ?? '', /pc\.bootstrap' = 1 on node2/);
    await ctrl.converge(p, isReady, WAIT.restart, 'the cluster back after pc.bootstrap');
    const pcMs = Date.now() - tPc;
    await assertWorldReady(ctrl, nodes, uuid);
    for (const n of nodes) assert.deepEqual(await ids(ctrl, n), [1, 2], `${n.name}: every row after pc.bootstrap`);

    // ---- full crash, and a controller that lost its recorded positions: RecoveryPending, nobody starts
    for (const n of nodes) p.killNode(n.name, 'SIGKILL');
    for (const n of nodes) await p.waitForNode(n.name, (s) => s.phase === 'holding', WAIT.running, 'holding after the full crash');
    ctrl = new TestController(path.join(root, 'controller-new'));
    const pending = await ctrl.converge(p, (r) => r.decision.kind === 'ambiguous', WAIT.restart, 'an ambiguous decision');
    assert.match(pending.decision.reason, /node0, node1, node2/);
    for (let i = 0; i < 3; i++) await ctrl.pass(p);
    const cond = ctrl.status.cluster().conditions.find((c) => c.type === 'RecoveryPending');
    assert.equal(cond?.status, 'True');
    for (const n of nodes) assert.equal(p.nodeStatus(n.name).phase, 'holding', `${n.name} still holds while the choice is ambiguous`);

    // ---- an audited forced bootstrap names node1
    ctrl.status.upsertOperation(forcedBootstrapRequest({ clusterName: CLUSTER, node: 'node1', requestedBy: 'test', now: Date.now(), id: 'forced-1' }));
    const tForced = Date.now();
    await ctrl.converge(p, isReady, WAIT.restart, 'the cluster back after the forced bootstrap');
    const forcedMs = Date.now() - tForced;
    const op = ctrl.status.operation('forced-1');
    assert.equal(op?.state, 'succeeded', JSON.stringify(op));
    assert.equal(op?.requestedBy, 'test');
    await assertWorldReady(ctrl, nodes, uuid);
    for (const n of nodes) assert.deepEqual(await ids(ctrl, n), [1, 2], `${n.name}: every row after the forced bootstrap`);
    assert.equal(ctrl.statements(/CREATE CLUSTER/).length, 0);

    t.diagnostic(`2 of 3 SIGKILLed, survivor non-primary → Ready: ${pcMs} ms`);
    t.diagnostic(`forced bootstrap request → Ready: ${forcedMs} ms`);
    await p.stop();
  });
});
