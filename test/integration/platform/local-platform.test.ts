/**
 * LocalPlatform on the simulator with a stand-in agent: a real HTTP server per node speaking the
 * start-gate part of the agent protocol (GET/PUT /v1/start, POST /v1/start/started), so these
 * tests decide how each searchd starts exactly as the controller would.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { LocalPlatform } from '../../../src/platform/local/local-platform.js';
import { pidAlive } from '../../../src/platform/local/children.js';
import { LOOPBACK_OPTIONS, resolveBinaries, timeoutMs } from '../../../src/sim/launcher.js';
import { silentLogger } from '../../../src/lib/logger.js';
import type { NodeRef } from '../../../src/platform/types.js';
import type { StartGate, StartMode } from '../../../src/agent/protocol.js';

const TOKEN = 'test-token-0123456789';

/** Named waits (ms). */
const WAIT = {
  running: timeoutMs('start'),
  restart: timeoutMs('start') + 5000,
  form: timeoutMs('form'),
  rejoin: timeoutMs('rejoin'),
  hold: 1500,
};

interface GateServer {
  gate: StartGate;
  asks: number;
  started: Array<{ decisionId?: string }>;
  close(): Promise<void>;
}

/** A stand-in agent's start gate on `port`, answering `initial` until a decision is PUT. */
function gateServer(port: number, initial: StartMode): Promise<GateServer> {
  const state: GateServer = {
    gate: { mode: initial, reason: initial === 'hold' ? 'test holds the node' : 'test says start' },
    asks: 0,
    started: [],
    close: () => new Promise((r) => server.close(() => r())),
  };
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 401, { error: { code: 'UNAUTHORIZED', message: 'bad token' } });
      if (req.url === '/v1/start' && req.method === 'GET') {
        state.asks++;
        return send(res, 200, { data: state.gate });
      }
      if (req.url === '/v1/start' && req.method === 'PUT') {
        const d = JSON.parse(body) as { mode: StartMode; reason: string; decisionId: string };
        state.gate = { mode: d.mode, reason: d.reason, decisionId: d.decisionId, decidedAt: new Date().toISOString() };
        return send(res, 200, { data: state.gate });
      }
      if (req.url === '/v1/start/started' && req.method === 'POST') {
        const s = JSON.parse(body) as { decisionId?: string };
        state.started.push(s);
        // a decision is used once: the next start is a normal one
        state.gate = { mode: 'normal', reason: 'decision used', startedAt: new Date().toISOString(), ...(s.decisionId ? { startedDecisionId: s.decisionId } : {}) };
        return send(res, 200, { data: state.gate });
      }
      return send(res, 404, { error: { code: 'NOT_FOUND', message: `${req.method} ${req.url}` } });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(state));
  });
}

async function putDecision(node: NodeRef, mode: StartMode, decisionId: string): Promise<void> {
  const res = await fetch(`${node.agentUrl}/v1/start`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ mode, reason: 'test decision', decisionId }),
  });
  assert.equal(res.status, 200);
}

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

const dirs: string[] = [];
const running: LocalPlatform[] = [];
const servers: GateServer[] = [];

after(async () => {
  for (const p of running) await p.stop().catch(() => undefined);
  for (const s of servers) await s.close().catch(() => undefined);
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
    agents: 'external',
    timings: { gatePollMs: 100, backoffBaseMs: 200, backoffMaxMs: 2000 },
  });
  running.push(p);
  return p;
}

async function startWithGates(p: LocalPlatform, initial: StartMode): Promise<{ nodes: NodeRef[]; gates: GateServer[] }> {
  await p.start();
  const nodes = await p.listNodes();
  const gates: GateServer[] = [];
  for (const n of nodes) {
    const g = await gateServer(Number(new URL(n.agentUrl).port), initial);
    servers.push(g);
    gates.push(g);
  }
  return { nodes, gates };
}

async function stopAll(p: LocalPlatform, gates: GateServer[]): Promise<void> {
  await p.stop();
  for (const g of gates) await g.close();
}

describe('LocalPlatform on the simulator', () => {
  test('restarts a SIGKILLed searchd through the gate, keeps ports across starts, holds a node until a decision', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mco-local-'));
    dirs.push(dataDir);

    // --- first start: 3 nodes, the gate says normal
    const p1 = newPlatform(dataDir, 3);
    const changes: number[] = [];
    p1.onChange(() => changes.push(Date.now()));
    const first = await startWithGates(p1, 'normal');
    assert.deepEqual(
      first.nodes.map((n) => n.name),
      ['node0', 'node1', 'node2'],
    );
    assert.equal(changes.length, 1, 'start announces the node set once');
    for (const n of first.nodes) {
      await p1.waitForNode(n.name, (s) => s.phase === 'running', WAIT.running, 'running');
      const rows = await sql(n, "SHOW STATUS LIKE 'uptime'");
      assert.equal(rows.length, 1, `${n.name} answers SQL on its mysql port`);
    }
    assert.deepEqual(
      first.gates.map((g) => g.started.length),
      [1, 1, 1],
      'every node reported its start to the gate',
    );
    // ports persisted, equal to what listNodes says
    for (const n of first.nodes) {
      const ports = JSON.parse(readFileSync(p1.nodeFiles(n.name).portsFile, 'utf8')) as Record<string, number>;
      assert.equal(ports.mysql, n.mysql.port);
      assert.equal(`127.0.0.1:${ports.api}`, n.apiAddress);
      assert.equal(`http://127.0.0.1:${ports.agent}`, n.agentUrl);
    }

    // form a cluster and write a row (a saved cluster for the restart below)
    const [n0, n1, n2] = first.nodes as [NodeRef, NodeRef, NodeRef];
    await sql(n0, `CREATE CLUSTER c '${LOOPBACK_OPTIONS}' AS options`);
    await sql(n0, 'CREATE TABLE t (title text)');
    await sql(n0, 'ALTER CLUSTER c ADD t');
    for (const n of [n1, n2]) await sql(n, `JOIN CLUSTER c AT '${n0.apiAddress}' '${LOOPBACK_OPTIONS}' AS options`);
    await waitUntil(
      async () => (await Promise.all(first.nodes.map((n) => clusterVars(n, 'c')))).every((v) => v.status === 'primary' && v.node_state === 'synced' && v.size === '3'),
      WAIT.form,
      'every node primary+synced in c with size 3',
    );
    await sql(n0, "INSERT INTO c:t (id, title) VALUES (1, 'before kill')");
    const uuid = (await clusterVars(n0, 'c')).state_uuid;
    assert.ok(uuid);

    // --- SIGKILL node1's searchd: the platform asks the gate again and restarts it
    const before = p1.nodeStatus('node1');
    const asksBefore = first.gates[1]!.asks;
    const killed = p1.killNode('node1', 'SIGKILL');
    assert.equal(killed, before.searchdPid);
    const after1 = await p1.waitForNode('node1', (s) => s.phase === 'running' && s.starts === 2, WAIT.restart, 'restarted and running');
    assert.notEqual(after1.searchdPid, before.searchdPid);
    assert.equal(after1.unexpectedExits, 1);
    assert.equal(after1.lastExit?.signal, 'SIGKILL');
    assert.ok(first.gates[1]!.asks > asksBefore, 'the restart asked the gate again');
    assert.equal(first.gates[1]!.started.length, 2);
    assert.equal(killed !== undefined && pidAlive(killed), false, 'the killed process is gone');
    // the restarted node rejoins by itself and has the row
    await waitUntil(async () => {
      const v = await clusterVars(n1, 'c');
      return v.status === 'primary' && v.node_state === 'synced';
    }, WAIT.rejoin, 'node1 synced again');
    const rows = await sql(n1, 'SELECT id, title FROM t');
    assert.deepEqual(rows.map((r) => String(r.title)), ['before kill']);

    // --- clean stop: every searchd and (no spawned agents here) nothing left running
    const pids = p1.nodeStatuses().map((s) => s.searchdPid);
    await stopAll(p1, first.gates);
    for (const pid of pids) assert.equal(pid !== undefined && pidAlive(pid), false, `searchd ${pid} stopped`);
    assert.deepEqual(
      p1.nodeStatuses().map((s) => s.phase),
      ['stopped', 'stopped', 'stopped'],
    );
    const unexpectedAfterStop = p1.nodeStatuses().map((s) => s.unexpectedExits);
    assert.deepEqual(unexpectedAfterStop, [0, 1, 0], 'a clean stop is not counted as a crash');

    // --- second start on the same data dir: same addresses; every gate holds
    const p2 = newPlatform(dataDir, 3);
    const second = await startWithGates(p2, 'hold');
    assert.deepEqual(second.nodes, first.nodes, 'ports reused from ports.json');
    for (const n of second.nodes) await p2.waitForNode(n.name, (s) => s.phase === 'holding', WAIT.running, 'holding');
    await new Promise((r) => setTimeout(r, WAIT.hold));
    for (const n of second.nodes) {
      const st = p2.nodeStatus(n.name);
      assert.equal(st.phase, 'holding', `${n.name} still held`);
      assert.equal(st.searchdPid, undefined, `${n.name} has no searchd while held`);
      assert.equal(st.starts, 0);
      await assert.rejects(sql(n, 'SHOW STATUS'), `${n.name} mysql port closed while held`);
    }
    assert.deepEqual(
      second.gates.map((g) => g.started.length),
      [0, 0, 0],
    );

    // node0 left last (stop goes from the highest ordinal down): it bootstraps, the others join normally
    await putDecision(second.nodes[0]!, 'new-cluster', 'd-boot');
    await p2.waitForNode('node0', (s) => s.phase === 'running', WAIT.running, 'running after the decision');
    assert.deepEqual(second.gates[0]!.started, [{ decisionId: 'd-boot' }], 'node0 reported the start with the decision');
    assert.equal(p2.nodeStatus('node1').phase, 'holding', 'node1 still held while node0 starts');
    await putDecision(second.nodes[1]!, 'normal', 'd-1');
    await putDecision(second.nodes[2]!, 'normal', 'd-2');
    await waitUntil(
      async () => (await Promise.all(second.nodes.map((n) => clusterVars(n, 'c')))).every((v) => v.status === 'primary' && v.node_state === 'synced' && v.size === '3'),
      WAIT.form,
      'the cluster back on every node',
    );
    for (const n of second.nodes) {
      assert.equal((await clusterVars(n, 'c')).state_uuid, uuid, `${n.name} keeps the cluster uuid`);
      assert.deepEqual((await sql(n, 'SELECT title FROM t')).map((r) => String(r.title)), ['before kill'], `${n.name} keeps the row`);
    }
    await stopAll(p2, second.gates);
  });

  test('scale adds a node with new ports and removes the highest one cleanly', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mco-local-scale-'));
    dirs.push(dataDir);
    const p = newPlatform(dataDir, 1);
    const { gates } = await startWithGates(p, 'normal');
    await p.waitForNode('node0', (s) => s.phase === 'running', WAIT.running, 'running');
    let changes = 0;
    p.onChange(() => changes++);

    await p.scale(2);
    assert.equal(changes, 1);
    const nodes = await p.listNodes();
    assert.deepEqual(
      nodes.map((n) => n.name),
      ['node0', 'node1'],
    );
    const g1 = await gateServer(Number(new URL(nodes[1]!.agentUrl).port), 'normal');
    servers.push(g1);
    await p.waitForNode('node1', (s) => s.phase === 'running', WAIT.running, 'running');
    const ports0 = new Set(Object.values(JSON.parse(readFileSync(p.nodeFiles('node0').portsFile, 'utf8')) as Record<string, number>));
    const ports1 = Object.values(JSON.parse(readFileSync(p.nodeFiles('node1').portsFile, 'utf8')) as Record<string, number>);
    assert.ok(
      ports1.every((x) => !ports0.has(x)),
      'the new node got ports of its own',
    );
    const pid1 = p.nodeStatus('node1').searchdPid;

    // node1's searchd starting fired a change too (a searchd that starts or dies is news for the controller)
    const beforeShrink = changes;
    await p.scale(1);
    assert.equal(changes, beforeShrink + 1);
    assert.deepEqual(
      (await p.listNodes()).map((n) => n.name),
      ['node0'],
    );
    assert.equal(pid1 !== undefined && pidAlive(pid1), false, 'the removed node was stopped');
    assert.throws(() => p.nodeStatus('node1'), /no local node 'node1'/);
    assert.equal(p.nodeStatus('node0').phase, 'running', 'the remaining node is untouched');
    await stopAll(p, [...gates, g1]);
  });
  test('a persisted port taken by another process is reported, and the node starts once it is free', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mco-local-port-'));
    dirs.push(dataDir);
    const p = newPlatform(dataDir, 1);
    await p.start();
    const [node] = await p.listNodes();
    assert.ok(node);
    const blocker = net.createServer((sock) => sock.destroy());
    await new Promise<void>((r) => blocker.listen(node.mysql.port, '127.0.0.1', () => r()));
    const gate = await gateServer(Number(new URL(node.agentUrl).port), 'normal');
    servers.push(gate);
    const st = await p.waitForNode('node0', (s) => s.phase === 'backoff' && /is taken by another process/.test(s.reason ?? ''), WAIT.running, 'port reported taken');
    assert.equal(st.searchdPid, undefined);
    assert.equal(st.starts, 0, 'searchd not started onto a taken port');
    await new Promise<void>((r) => blocker.close(() => r()));
    await p.waitForNode('node0', (s) => s.phase === 'running', WAIT.restart, 'running once the port is free');
    assert.equal((await sql(node, "SHOW STATUS LIKE 'uptime'")).length, 1);
    await stopAll(p, [gate]);
  });
});
