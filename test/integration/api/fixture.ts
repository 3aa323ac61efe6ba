/**
 * A real API server on a free loopback port, over an in-memory status and two real simulator
 * nodes (standalone searchd-sim, each holding table `items` with different rows, so results per
 * node can be told apart). Every process and server is stopped by close().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createApiApp } from '../../../src/api/app.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { SearchdNode } from '../../../src/sim/launcher.js';
import type { NodeStatusView, TableStatusView } from '../../../src/status/types.js';
import { MemoryStatus } from './memory-status.js';

export const TOKEN = 'test-token-0123456789';

export interface ApiFixture {
  url: string;
  token: string;
  status: MemoryStatus;
  searchd: SearchdNode[];
  refs: NodeRef[];
  server: Server;
  close(): Promise<void>;
}

export function nodeView(ref: NodeRef, over: Partial<NodeStatusView> = {}): NodeStatusView {
  return {
    name: ref.name,
    ordinal: ref.ordinal,
    apiAddress: ref.apiAddress,
    reachable: true,
    clusterStatus: 'primary',
    nodeState: 'synced',
    clusterUuid: 'uuid-1',
    seqno: 7,
    tables: ['items', 'items_delta', 'items_main_a'],
    observedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

export function tableView(refs: NodeRef[]): TableStatusView {
  return {
    name: 'items',
    spec: {
      name: 'items',
      columns: [{ name: 'title', type: 'text' }],
      settings: {},
      import: { urls: ['/data/items.csv'], format: 'csv', header: true },
      clusterMain: false,
      distributed: { haStrategy: 'nodeads', agentRetryCount: 0 },
      backups: [],
      deletionPolicy: 'retain',
    },
    origin: { kind: 'file', ref: 'tables/items.json' },
    generation: 2,
    activeSlot: 'a',
    nodes: refs.map((r) => ({
      node: r.name,
      reachable: true,
      main: { table: 'items_main_a', present: true, inCluster: false, rows: 3 },
      delta: { table: 'items_delta', present: true, inCluster: true, rows: 1 },
      distributed: { present: true, locals: ['items_main_a', 'items_delta'], agents: [], haStrategy: 'nodeads', agentRetryCount: 0 },
    })),
    conditions: [
      { type: 'TablesConverged', status: 'True', reason: 'Converged', message: 'every node has the delta, the main slot and the distributed table as declared', lastTransitionTime: '2026-01-01T00:00:00.000Z' },
    ],
  };
}

export async function startApiFixture(options: { nodes?: number; sseHeartbeatMs?: number } = {}): Promise<ApiFixture> {
  const count = options.nodes ?? 2;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mco-api-'));
  const searchd = Array.from({ length: count }, (_, i) => new SearchdNode({ name: `node${i}`, dir: path.join(dir, `node${i}`), serverId: i + 1 }));
  const pools = new ManticorePools({ queryTimeoutMs: 5_000 });
  let server: Server | undefined;
  const close = async (): Promise<void> => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await pools.closeAll();
    await Promise.allSettled(searchd.map((n) => n.kill('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(searchd.map((n) => n.start()));
    for (const [i, n] of searchd.entries()) {
      await n.sql('CREATE TABLE items (title text, price int)');
      const values = Array.from({ length: i + 1 }, (_, k) => `(${k + 1}, 'item ${i}-${k + 1}', ${10 * (k + 1)})`).join(', ');
      await n.sql(`INSERT INTO items (id, title, price) VALUES ${values}`);
    }
    const refs: NodeRef[] = searchd.map((n, i) => ({
      name: n.name,
      ordinal: i,
      mysql: { host: '127.0.0.1', port: n.ports.mysql },
      apiAddress: n.apiAddress,
      httpAddress: `127.0.0.1:${n.ports.http}`,
      agentUrl: `http://127.0.0.1:${19500 + i}`,
    }));
    const status = new MemoryStatus();
    status.clusterView = {
      name: 'main',
      phase: 'Ready',
      uuid: 'uuid-1',
      size: count,
      nodes: refs.map((r) => nodeView(r)),
      conditions: [
        { type: 'ClusterFormed', status: 'True', reason: 'AllNodesSynced', message: 'every node is primary and synced', lastTransitionTime: '2026-01-01T00:00:00.000Z' },
      ],
    };
    status.tableViews = [tableView(refs)];
    status.ops = [
      {
        id: 'op-1',
        kind: 'cluster-formation',
        key: 'cluster/main',
        requestedBy: 'controller',
        requestedAt: '2026-01-01T00:00:00.000Z',
        state: 'succeeded',
        steps: [{ name: 'create-cluster', state: 'succeeded', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z' }],
        outcome: 'cluster formed on node0',
        finishedAt: '2026-01-01T00:00:02.000Z',
      },
    ];
    const app = createApiApp({
      status,
      requests: status,
      nodes: async () => refs,
      pools,
      token: TOKEN,
      logger: silentLogger(),
      clusterName: 'main',
      version: '0.1.0-test',
      queryLimits: { maxRows: 2, timeoutMs: 5_000 },
      sseHeartbeatMs: options.sseHeartbeatMs,
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const port = (server.address() as AddressInfo).port;
    return { url: `http://127.0.0.1:${port}`, token: TOKEN, status, searchd, refs, server, close };
  } catch (err) {
    await close();
    throw err;
  }
}
