/**
 * Test rig for ClusterManager: several simulated nodes in one process, each with its own
 * PeerTransport on a free loopback port, FaultState, temp data dir and an in-memory engine double.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ClusterManager, type ClusterTiming } from '../../../../src/sim/cluster/cluster-manager.js';
import type { JsonDoc, PersistedCluster, ReplicatedWrite, SimEngine, TableKind, TableSnapshot } from '../../../../src/sim/contract.js';
import type { ClusterStatement } from '../../../../src/sim/contract.js';
import { FaultState } from '../../../../src/sim/net/faults.js';
import { PeerTransport } from '../../../../src/sim/net/peer.js';
import { createLogger, silentLogger } from '../../../../src/lib/logger.js';

/** In-memory stand-in for the engine: tables of documents keyed by id. */
export class FakeEngine implements SimEngine {
  readonly tables = new Map<string, { kind: TableKind; docs: Map<string, JsonDoc> }>();
  frozen: string[] = [];
  imports = 0;

  create(name: string, kind: TableKind = 'rt'): void {
    this.tables.set(name, { kind, docs: new Map() });
  }
  tableKind(name: string): TableKind | undefined {
    return this.tables.get(name)?.kind;
  }
  frozenTables(): string[] {
    return [...this.frozen];
  }
  applyWrite(w: ReplicatedWrite): void {
    const t = this.tables.get(w.table);
    if (!t) throw new Error(`unknown table '${w.table}'`);
    switch (w.action) {
      case 'insert':
      case 'replace':
        for (const d of w.docs) t.docs.set(d.id, d);
        break;
      case 'delete':
        for (const id of w.ids) t.docs.delete(id);
        break;
      case 'update':
        for (const id of w.ids) {
          const d = t.docs.get(id);
          if (d) t.docs.set(id, { ...d, ...w.set, id });
        }
        break;
      case 'truncate':
        t.docs.clear();
        break;
    }
  }
  exportTables(names: string[]): TableSnapshot[] {
    return names.map((name) => {
      const t = this.tables.get(name);
      if (!t) throw new Error(`unknown table '${name}'`);
      return { name, kind: t.kind, definition: null, docs: [...t.docs.values()] };
    });
  }
  importTables(snaps: TableSnapshot[]): void {
    this.imports++;
    for (const s of snaps) this.tables.set(s.name, { kind: s.kind, docs: new Map(s.docs.map((d) => [d.id, d])) });
  }
  docCount(name: string): number {
    return this.tables.get(name)?.docs.size ?? 0;
  }
  ids(name: string): string[] {
    return [...(this.tables.get(name)?.docs.keys() ?? [])].sort((a, b) => Number(a) - Number(b));
  }
}

export const FAST: Partial<ClusterTiming> = {
  heartbeatMs: 100,
  evictMs: 700,
  heartbeatTimeoutMs: 300,
  requestTimeoutMs: 2000,
  startRetries: 3,
  startRetryDelayMs: 100,
};

export interface TestNode {
  api: string;
  port: number;
  dir: string;
  faults: FaultState;
  transport: PeerTransport;
  engine: FakeEngine;
  manager: ClusterManager;
  /** what the node would have written to manticore.json */
  persisted: Record<string, PersistedCluster>;
  persistCount: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sim-cluster-'));
}

/** Starts (or restarts, when `from` is given: same port, dir, tables and manticore.json) one node. */
export async function startNode(
  from?: TestNode,
  flags: { newCluster: boolean; newClusterForce: boolean } = { newCluster: false, newClusterForce: false },
  timing: Partial<ClusterTiming> = FAST,
): Promise<TestNode> {
  const port = from?.port ?? (await freePort());
  const api = `127.0.0.1:${port}`;
  const faults = new FaultState();
  const transport = new PeerTransport(api, faults);
  await transport.listen('127.0.0.1', port);
  const node = {
    api,
    port,
    dir: from?.dir ?? tempDir(),
    faults,
    transport,
    engine: from?.engine ?? new FakeEngine(),
    persisted: from?.persisted ?? {},
    persistCount: 0,
  } as TestNode;
  node.manager = new ClusterManager({
    dataDir: node.dir,
    apiAddress: api,
    replicationAddress: `127.0.0.1:${port + 1}`,
    serverId: port % 128,
    transport,
    engine: node.engine,
    faults,
    logger: process.env.SIM_TEST_LOG
      ? createLogger({ level: process.env.SIM_TEST_LOG, format: 'pretty', defaultMeta: { node: api } })
      : silentLogger(),
    onPersist: () => {
      node.persisted = node.manager.persistedClusters();
      node.persistCount++;
    },
    timing,
  });
  await node.manager.start(node.persisted, flags);
  return node;
}

/** SIGKILL: nothing is written, the node stops answering. */
export async function crash(node: TestNode): Promise<void> {
  node.manager.crash();
  await node.transport.close();
}

export async function stopNode(node: TestNode): Promise<void> {
  await node.manager.stop();
  await node.transport.close();
}

export function status(node: TestNode, cluster = 'c'): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of node.manager.statusRows()) m.set(k.replace(`cluster_${cluster}_`, ''), v);
  return m;
}

export function st(node: TestNode, key: string, cluster = 'c'): string | undefined {
  return status(node, cluster).get(key);
}

export async function waitFor(what: string, pred: () => boolean, timeoutMs = 5000): Promise<number> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

export async function exec(node: TestNode, stmt: ClusterStatement): Promise<void> {
  await node.manager.execute(stmt);
}

export function insert(table: string, ...ids: number[]): ReplicatedWrite {
  return { action: 'insert', table, docs: ids.map((id) => ({ id: String(id), title: `doc ${id}` })) };
}

export function readGrastateText(node: TestNode): string {
  return fs.readFileSync(path.join(node.dir, 'grastate.dat'), 'utf8');
}

/** Creates cluster `c` on the first node with table `t` (docs 1,2) and joins the others AT the first. */
export async function formCluster(count: number): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (let i = 0; i < count; i++) nodes.push(await startNode());
  const [first] = nodes;
  if (!first) throw new Error('no nodes');
  first.engine.create('t');
  first.engine.applyWrite(insert('t', 1, 2));
  await exec(first, { kind: 'create_cluster', name: 'c' });
  await exec(first, { kind: 'alter_cluster_add', name: 'c', tables: ['t'] });
  for (const n of nodes.slice(1)) await exec(n, { kind: 'join_cluster', name: 'c', at: first.api });
  return nodes;
}

export async function shutdownAll(nodes: TestNode[]): Promise<void> {
  for (const n of nodes) {
    n.manager.crash();
    await n.transport.close().catch(() => undefined);
  }
}
