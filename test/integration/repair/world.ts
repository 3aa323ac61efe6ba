/**
 * The repair tests' world: 3 simulator nodes with their agents and start gates in this process
 * (LocalPlatform), the controller as a separate, killable process (ControllerProcess), one table spec,
 * and small readers of what the nodes really hold (over SQL, never the controller's word).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import type { Logger } from '../../../src/lib/logger.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import { parseClusterStatus, parseCount, type ClusterStatus } from '../../../src/manticore/parse.js';
import { insert, selectCount, showAllClusterStatus } from '../../../src/manticore/sql.js';
import { LocalPlatform } from '../../../src/platform/local/local-platform.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { resolveBinaries, timeoutMs } from '../../../src/sim/launcher.js';
import { ControllerProcess, freePort } from '../../helpers/controller-process.js';

export const TOKEN = 'repair-test-token-0123456789abcdef';
export const TABLE = 'items';
export const DELTA = `${TABLE}_delta`;

/** Named waits (ms). */
export const WAIT = {
  running: timeoutMs('start') + 5_000,
  formed: timeoutMs('form') * 2 + 10_000,
  replicate: timeoutMs('replicate'),
  /** the controller sees the split brain (observation + condition) */
  detect: 15_000,
  /** a repair from request to done (SST of every loser, verification) */
  repair: 60_000,
  exit: 10_000,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(probe: () => Promise<T | false | undefined> | T | false | undefined, ms: number, what: string, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let lastErr = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== false && v !== undefined) return v;
    } catch (err) {
      lastErr = ` (last error: ${err instanceof Error ? err.message : String(err)})`;
    }
    if (Date.now() > deadline) throw new Error(`waiting ${ms} ms for ${what} failed${lastErr}`);
    await sleep(intervalMs);
  }
}

function quietLogger(): Logger {
  return winston.createLogger({ level: 'error', transports: [new winston.transports.Console({ silent: true })] });
}

export interface World {
  root: string;
  platform: LocalPlatform;
  nodes: NodeRef[];
  ctrl: ControllerProcess;
  /** (re)starts the controller process with the world's extra env */
  startController(): void;
  /** extra env of the next controller start (e.g. REPAIR_POLICY) */
  env: Record<string, string>;
  pools: ManticorePools;
  api<T = unknown>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }>;
  sql(n: NodeRef): ReturnType<ManticorePools['get']>;
  clusterOf(n: NodeRef): Promise<ClusterStatus | undefined>;
  rows(n: NodeRef, table?: string): Promise<number>;
  ids(n: NodeRef, table?: string): Promise<number[]>;
  insertRows(n: NodeRef, ids: number[], label: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts 3 nodes and the controller (extra env: e.g. REPAIR_POLICY) and waits for the cluster and the table. */
export async function startWorld(cluster: string, env: Record<string, string> = {}): Promise<World> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mco-repair-'));
  const specsDir = path.join(root, 'specs');
  mkdirSync(specsDir, { recursive: true });
  writeFileSync(
    path.join(specsDir, `${TABLE}.json`),
    JSON.stringify({ name: TABLE, columns: [{ name: 'title', type: 'text' }], distributed: { haStrategy: 'nodeads' }, deletionPolicy: 'retain' }),
  );
  const platform = new LocalPlatform({
    dataDir: path.join(root, 'nodes'),
    nodes: 3,
    binaries: resolveBinaries({}),
    token: TOKEN,
    clusterName: cluster,
    env: process.env,
    logger: quietLogger(),
    timings: { gatePollMs: 100, backoffBaseMs: 200, backoffMaxMs: 2000 },
  });
  await platform.start();
  const nodes = await platform.listNodes();
  for (const n of nodes) await platform.waitForNode(n.name, (s) => s.phase === 'running', WAIT.running, 'fresh node running');
  const pools = new ManticorePools({ queryTimeoutMs: 5_000, connectTimeoutMs: 1_000 });
  const ctrl = new ControllerProcess({ dataDir: path.join(root, 'controller'), specsDir, nodes, port: await freePort(), token: TOKEN, cluster, exitTimeoutMs: WAIT.exit });
  const startController = () => {
    // ControllerProcess passes this process's env on: set the extra settings around the spawn only
    const extra = world.env;
    const saved = Object.fromEntries(Object.keys(extra).map((k) => [k, process.env[k]]));
    Object.assign(process.env, extra);
    try {
      ctrl.start();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  };
  const sql = (n: NodeRef) => pools.get(`${n.mysql.host}:${n.mysql.port}`);
  const world: World = {
    root,
    platform,
    nodes,
    ctrl,
    startController,
    env: { ...env },
    pools,
    async api<T>(method: string, p: string, body?: unknown) {
      const res = await fetch(`http://127.0.0.1:${ctrl.port}${p}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
    sql,
    async clusterOf(n) {
      return parseClusterStatus(await sql(n).query(showAllClusterStatus()), cluster);
    },
    async rows(n, table = DELTA) {
      return parseCount(await sql(n).query(selectCount(table))) ?? -1;
    },
    async ids(n, table = DELTA) {
      const rows = await sql(n).query(`SELECT id FROM ${table} ORDER BY id ASC LIMIT 10000`);
      return rows.map((r) => Number(r.id));
    },
    async insertRows(n, ids, label) {
      await sql(n).exec(insert(DELTA, ['id', 'title'], ids.map((i) => [i, `${label} ${i}`]), { cluster }));
    },
    async close() {
      await ctrl.signal('SIGKILL').catch(() => undefined);
      await platform.stop().catch(() => undefined);
      await pools.closeAll();
      if (process.env.KEEP_TEST_DIRS === undefined && process.exitCode === undefined) rmSync(root, { recursive: true, force: true });
    },
  };
  startController();
  await until(
    async () => {
      for (const n of nodes) {
        const c = await world.clusterOf(n);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== nodes.length || !c.indexes.includes(DELTA)) return false;
      }
      return true;
    },
    WAIT.formed,
    'the cluster formed with the table on every node',
  );
  return world;
}

/** Every node primary + synced in one component of all nodes with one uuid; returns the uuid. */
export async function oneCluster(w: World): Promise<string | false> {
  const uuids = new Set<string>();
  for (const n of w.nodes) {
    const c = await w.clusterOf(n);
    if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== w.nodes.length) return false;
    uuids.add(c.stateUuid ?? '');
  }
  return uuids.size === 1 ? [...uuids][0] || false : false;
}
