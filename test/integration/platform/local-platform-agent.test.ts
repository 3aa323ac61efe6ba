/**
 * LocalPlatform with the real agent (dist/src/bin/agent.js) on the simulator: the agent's start
 * gate holds a node that has a saved cluster until a decision is PUT, the platform restarts what
 * dies, and no child outlives the process that runs the platform.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { AgentClient } from '../../../src/agent/client.js';
import { LocalPlatform } from '../../../src/platform/local/local-platform.js';
import { pidAlive, waitPidGone } from '../../../src/platform/local/children.js';
import type { NodeStatus } from '../../../src/platform/local/node-supervisor.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { LOOPBACK_OPTIONS, repoRoot, resolveBinaries, timeoutMs } from '../../../src/sim/launcher.js';
import { silentLogger } from '../../../src/lib/logger.js';

const TOKEN = 'agent-test-token-0123456789abcdef';

/** Named waits (ms). */
const WAIT = {
  running: timeoutMs('start') + 5000,
  form: timeoutMs('form'),
  rejoin: timeoutMs('rejoin'),
  hold: 1500,
  gone: 10_000,
  fixture: 60_000,
};

const agentScript = path.join(repoRoot(), 'dist', 'src', 'bin', 'agent.js');
const haveAgent = existsSync(agentScript);

async function sql(node: NodeRef, query: string): Promise<Record<string, unknown>[]> {
  const conn = await mysql.createConnection({ host: node.mysql.host, port: node.mysql.port, connectTimeout: 3000 });
  try {
    const [rows] = await conn.query(query);
    return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

async function clusterVars(node: NodeRef, cluster: string): Promise<Record<string, string>> {
  const rows = await sql(node, `SHOW STATUS LIKE 'cluster_${cluster}_%'`);
  const out: Record<string, string> = {};
  for (const r of rows) out[String(r.Counter).slice(`cluster_${cluster}_`.length)] = String(r.Value);
  return out;
}

async function waitUntil<T>(probe: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`waiting ${ms} ms for ${what} failed; last error: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const allSynced = (nodes: NodeRef[], size: number) => async () =>
  (await Promise.all(nodes.map((n) => clusterVars(n, 'c')))).every((v) => v.status === 'primary' && v.node_state === 'synced' && v.size === String(size));

const dirs: string[] = [];
const platforms: LocalPlatform[] = [];
after(async () => {
  for (const p of platforms) await p.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function newPlatform(dataDir: string, nodes: number): LocalPlatform {
  const p = new LocalPlatform({
    dataDir,
    nodes,
    binaries: resolveBinaries({}),
    token: TOKEN,
    clusterName: 'c',
    env: process.env,
    logger: silentLogger(),
    timings: { gatePollMs: 100, backoffBaseMs: 200, backoffMaxMs: 2000 },
  });
  platforms.push(p);
  return p;
}

const running = (s: NodeStatus) => s.phase === 'running' && s.agentPid !== undefined;

describe('LocalPlatform with the real agent', { skip: haveAgent ? false : `no agent at ${agentScript} (npm run build)` }, () => {
  test('fresh nodes start normally; a crashed clustered node and a full restart wait for the decision', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mco-local-agent-'));
    dirs.push(dataDir);
    const p1 = newPlatform(dataDir, 3);
    await p1.start();
    const nodes = await p1.listNodes();
    for (const n of nodes) await p1.waitForNode(n.name, running, WAIT.running, 'running with its agent');
    const clients = nodes.map((n) => new AgentClient({ baseUrl: n.agentUrl, token: TOKEN }));
    for (const c of clients) assert.equal((await c.health()).searchd.reachable, true, `${c.baseUrl} sees its searchd`);

    const [n0, n1, n2] = nodes as [NodeRef, NodeRef, NodeRef];
    await sql(n0, `CREATE CLUSTER c '${LOOPBACK_OPTIONS}' AS options`);
    await sql(n0, 'CREATE TABLE t (title text)');
    await sql(n0, 'ALTER CLUSTER c ADD t');
    for (const n of [n1, n2]) await sql(n, `JOIN CLUSTER c AT '${n0.apiAddress}' '${LOOPBACK_OPTIONS}' AS options`);
    await waitUntil(allSynced(nodes, 3), WAIT.form, 'every node primary+synced with size 3');
    await sql(n0, "INSERT INTO c:t (id, title) VALUES (1, 'one')");
    const uuid = (await clusterVars(n0, 'c')).state_uuid;

    // a crashed node with the cluster saved is held by its agent until a decision comes
    const killed = p1.killNode('node2', 'SIGKILL');
    await p1.waitForNode('node2', (s) => s.phase === 'holding', WAIT.running, 'holding after the crash');
    assert.equal(await waitPidGone(killed ?? -1, WAIT.gone), true);
    await new Promise((r) => setTimeout(r, WAIT.hold));
    assert.equal(p1.nodeStatus('node2').phase, 'holding');
    assert.equal(p1.nodeStatus('node2').starts, 1, 'no start while held');
    await sql(n0, "INSERT INTO c:t (id, title) VALUES (2, 'two')");
    await clients[2]!.decideStart({ mode: 'normal', reason: 'peers are up: rejoin', decisionId: 'rejoin-1' });
    const st = await p1.waitForNode('node2', (s) => s.phase === 'running' && s.starts === 2, WAIT.running, 'running after the decision');
    assert.equal(st.lastDecisionId, 'rejoin-1');
    await waitUntil(allSynced(nodes, 3), WAIT.rejoin, 'node2 rejoined');
    assert.deepEqual((await sql(n2, 'SELECT id FROM t ORDER BY id ASC')).map((r) => Number(r.id)), [1, 2], 'node2 caught up');
    assert.equal((await clients[2]!.startGate()).startedDecisionId, 'rejoin-1', 'the decision was reported used');

    // a killed agent is restarted too
    const agentPid = p1.killNode('node1', 'SIGKILL', 'agent');
    assert.ok(agentPid);
    await p1.waitForNode('node1', (s) => s.agentPid !== undefined && s.agentPid !== agentPid, WAIT.running, 'agent restarted');
    await waitUntil(async () => (await clients[1]!.health()).searchd.reachable, WAIT.running, 'the new agent answers');

    // full clean stop, then a start on the same data dir: every node holds (cluster saved) until decided
    const pids = p1.nodeStatuses().flatMap((s) => [s.searchdPid, s.agentPid]);
    await p1.stop();
    for (const pid of pids) assert.equal(pid !== undefined && pidAlive(pid), false, `pid ${pid} stopped`);
    const p2 = newPlatform(dataDir, 3);
    await p2.start();
    assert.deepEqual(await p2.listNodes(), nodes, 'same addresses');
    for (const n of nodes) await p2.waitForNode(n.name, (s) => s.phase === 'holding', WAIT.running, 'holding');
    await new Promise((r) => setTimeout(r, WAIT.hold));
    for (const n of nodes) {
      assert.equal(p2.nodeStatus(n.name).searchdPid, undefined, `${n.name} not started while held`);
      await assert.rejects(sql(n, 'SHOW STATUS'));
    }
    // node0 left last (stop goes from the highest ordinal down)
    await clients[0]!.decideStart({ mode: 'new-cluster', reason: 'last to leave', decisionId: 'boot-1' });
    await p2.waitForNode('node0', (s) => s.phase === 'running', WAIT.running, 'node0 running');
    for (const [i, c] of clients.entries()) if (i > 0) await c.decideStart({ mode: 'normal', reason: 'join', decisionId: `join-${i}` });
    await waitUntil(allSynced(nodes, 3), WAIT.form, 'the cluster back on every node');
    for (const n of nodes) {
      assert.equal((await clusterVars(n, 'c')).state_uuid, uuid, `${n.name}: same cluster uuid`);
      assert.deepEqual((await sql(n, 'SELECT id FROM t ORDER BY id ASC')).map((r) => Number(r.id)), [1, 2], `${n.name}: every row`);
    }
    await p2.stop();
  });

  test('no child outlives its parent: killed on exit, and leftovers of a SIGKILLed parent stopped on the next start', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mco-local-orphans-'));
    dirs.push(dataDir);
    const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'platform-process.js');
    const runParent = async () => {
      const child = spawn(process.execPath, [fixture, dataDir, '2', TOKEN], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
      const info = await waitUntil(
        async () => {
          if (child.exitCode !== null) throw new Error(`fixture exited ${child.exitCode}: ${err}`);
          const line = out.split('\n').find((l) => l.startsWith('{'));
          return line ? (JSON.parse(line) as { statuses: NodeStatus[]; nodes: NodeRef[] }) : undefined;
        },
        WAIT.fixture,
        'the fixture platform running',
      );
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      return { child, info, exited };
    };
    const pidsOf = (statuses: NodeStatus[]) => statuses.flatMap((s) => [s.searchdPid, s.agentPid]).filter((x): x is number => x !== undefined);

    // the parent exits (process.exit) without stopping: the exit hook signals every child
    const a = await runParent();
    const pidsA = pidsOf(a.info.statuses);
    assert.equal(pidsA.length, 4);
    a.child.stdin.write('exit\n');
    await a.exited;
    for (const pid of pidsA) assert.equal(await waitPidGone(pid, WAIT.gone), true, `child ${pid} gone after the parent exited`);

    // the parent is SIGKILLed: children survive it, and the next start stops them first
    const b = await runParent();
    const pidsB = pidsOf(b.info.statuses);
    assert.deepEqual(b.info.nodes, a.info.nodes, 'same ports on the second run');
    b.child.kill('SIGKILL');
    await b.exited;
    assert.ok(pidsB.every((pid) => pidAlive(pid)), 'children outlive a SIGKILLed parent');
    const p = newPlatform(dataDir, 2);
    await p.start();
    for (const pid of pidsB) assert.equal(pidAlive(pid), false, `leftover ${pid} stopped by the next start`);
    for (const n of await p.listNodes()) await p.waitForNode(n.name, running, WAIT.running, 'running again');
    const ports = JSON.parse(readFileSync(p.nodeFiles('node0').portsFile, 'utf8')) as { mysql: number };
    assert.equal(ports.mysql, a.info.nodes[0]!.mysql.port);
    await p.stop();
  });
});
