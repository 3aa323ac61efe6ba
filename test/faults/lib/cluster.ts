/**
 * A controller-managed cluster for fault scenarios, with real processes:
 *
 * - N simulator nodes (searchd-sim) with their real agents and start gates, run by a LocalPlatform in
 *   the test process: a searchd that dies is restarted through its gate, as a kubelet would;
 * - the controller as a separate process (test/helpers/controller-process.ts, PLATFORM=static with
 *   NODES naming those nodes), so a scenario can SIGKILL it and start it again;
 * - one table spec `<table>` (title text, price float): `<table>_delta` is in the replication cluster.
 *
 * Faults: `killSearchd` (any signal: SIGKILL, SIGSTOP/SIGCONT), `partition`/`heal` (the simulator's
 * /sim/partition and /sim/heal on each side), `ctrl.signal('SIGKILL')`.
 * Observations are made over SQL on the nodes, never from the controller's word.
 *
 * `runFaultScenario(t, options, fn)` starts one, runs the scenario and always cleans up; on a failure
 * the temp dir is kept and its path printed with the tail of the controller's log.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import winston from 'winston';
import { errorMessage } from '../../../src/lib/errors.js';
import { ManticorePools, type ManticoreClient } from '../../../src/manticore/client.js';
import { parseClusterStatus, parseShowTables, type ClusterStatus } from '../../../src/manticore/parse.js';
import { showAllClusterStatus, showTables } from '../../../src/manticore/sql.js';
import { LocalPlatform } from '../../../src/platform/local/local-platform.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { repoRoot, resolveBinaries, timeoutMs } from '../../../src/sim/launcher.js';
import { ControllerProcess, freePort } from '../../helpers/controller-process.js';

export const CONTROLLER_SCRIPT = path.join(repoRoot(), 'dist', 'src', 'bin', 'controller.js');
export const AGENT_SCRIPT = path.join(repoRoot(), 'dist', 'src', 'bin', 'agent.js');
/** Why a scenario file must skip (nothing built), or false. */
export const SKIP_REASON: string | false = existsSync(CONTROLLER_SCRIPT) && existsSync(AGENT_SCRIPT) ? false : `no ${CONTROLLER_SCRIPT} / ${AGENT_SCRIPT} (npm run build)`;

/** Named waits (ms), scaled by MANTICORE_TIME_FACTOR like the conformance suite's. */
export const WAIT = {
  /** a node's searchd started and answering */
  running: timeoutMs('start') + 5_000,
  /** fresh nodes to a formed cluster with the table on every node (controller-driven) */
  formed: timeoutMs('start') + timeoutMs('form') * 2 + 10_000,
  /** a faulted cluster whole again: every node primary + synced, every acknowledged write everywhere */
  recovered: timeoutMs('rejoin') + timeoutMs('form') * 2 + 30_000,
  /** a partitioned minority turns non-primary */
  partition: timeoutMs('partition') + 5_000,
  /** a controller process exits after a signal */
  exit: 10_000,
  /** the controller's API answers after a start */
  api: 15_000,
} as const;

const TOKEN = 'fault-suite-token-0123456789abcdef';

export interface FaultClusterOptions {
  /** temp dir prefix and log label */
  label: string;
  nodes: number;
  /** replication cluster name (unique per scenario file keeps logs readable) */
  cluster: string;
  /** base table name (default `items`) */
  table?: string;
  /** start the controller and wait for a formed cluster with the table (default true) */
  formed?: boolean;
  /** extra env of the controller process (e.g. REPAIR_POLICY) */
  controllerEnv?: Record<string, string>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something other than false/undefined; the error names the wait and the last reason. */
export async function until<T>(probe: () => Promise<T | false | undefined> | T | false | undefined, ms: number, what: string, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== false && v !== undefined) return v;
    } catch (err) {
      last = ` (last error: ${errorMessage(err)})`;
    }
    if (Date.now() > deadline) throw new Error(`waiting ${ms} ms for ${what} failed${last}`);
    await sleep(intervalMs);
  }
}

export class FaultCluster {
  readonly token = TOKEN;
  readonly table: string;
  readonly delta: string;
  readonly pools = new ManticorePools({ queryTimeoutMs: 3_000, connectTimeoutMs: 1_000 });
  nodes: NodeRef[] = [];
  /** why the cluster was not whole at the last check ('' when it was) */
  lastNotWhole = '';
  /** run first by stop() (writers to stop, probes to end), newest first */
  private readonly cleanups: (() => Promise<void> | void)[] = [];

  private constructor(
    readonly o: FaultClusterOptions,
    readonly root: string,
    readonly specsDir: string,
    readonly platform: LocalPlatform,
    readonly platformLog: string,
  ) {
    this.table = o.table ?? 'items';
    this.delta = `${this.table}_delta`;
  }

  ctrl!: ControllerProcess;

  get cluster(): string {
    return this.o.cluster;
  }

  /** Starts the nodes (and, unless `formed: false`, the controller, waiting for the formed cluster). */
  static async start(o: FaultClusterOptions): Promise<FaultCluster> {
    const root = mkdtempSync(path.join(os.tmpdir(), `mco-faults-${o.label}-`));
    const specsDir = path.join(root, 'specs');
    mkdirSync(specsDir, { recursive: true });
    const table = o.table ?? 'items';
    writeFileSync(
      path.join(specsDir, `${table}.json`),
      JSON.stringify({ name: table, columns: [{ name: 'title', type: 'text' }, { name: 'price', type: 'float' }], distributed: { haStrategy: 'nodeads', agentRetryCount: 1 }, deletionPolicy: 'retain' }),
    );
    const platformLog = path.join(root, 'platform.log');
    const logger = winston.createLogger({ level: 'info', format: winston.format.combine(winston.format.timestamp(), winston.format.json()), transports: [new winston.transports.File({ filename: platformLog })] });
    const platform = new LocalPlatform({
      dataDir: path.join(root, 'nodes'),
      nodes: o.nodes,
      binaries: resolveBinaries({}),
      token: TOKEN,
      clusterName: o.cluster,
      env: process.env,
      logger,
      timings: { gatePollMs: 100, backoffBaseMs: 200, backoffMaxMs: 2000 },
    });
    const fc = new FaultCluster(o, root, specsDir, platform, platformLog);
    try {
      await platform.start();
      fc.nodes = [...(await platform.listNodes())].sort((a, b) => a.ordinal - b.ordinal);
      for (const n of fc.nodes) await platform.waitForNode(n.name, (s) => s.phase === 'running', WAIT.running, 'fresh node running');
      fc.ctrl = new ControllerProcess({ dataDir: path.join(root, 'controller'), specsDir, nodes: fc.nodes, port: await freePort(), token: TOKEN, cluster: o.cluster, exitTimeoutMs: WAIT.exit });
      if (o.formed ?? true) {
        fc.startController();
        await fc.waitWhole(WAIT.formed, 'the cluster formed with the table on every node');
      }
    } catch (err) {
      await fc.stop(true);
      throw err;
    }
    return fc;
  }

  /** Starts the controller process with the scenario's extra env. */
  startController(): void {
    const saved: Record<string, string | undefined> = {};
    // ControllerProcess passes process.env on: set the extra keys only for the spawn
    for (const [k, v] of Object.entries(this.o.controllerEnv ?? {})) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    try {
      this.ctrl.start();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }

  node(i: number): NodeRef {
    const n = this.nodes[i];
    assert.ok(n, `node ${i} exists (${this.nodes.length} nodes)`);
    return n;
  }

  sql(n: NodeRef): ManticoreClient {
    return this.pools.get(`${n.mysql.host}:${n.mysql.port}`);
  }

  async status(n: NodeRef): Promise<ClusterStatus | undefined> {
    return parseClusterStatus(await this.sql(n).query(showAllClusterStatus()), this.cluster);
  }

  /** A quick liveness probe: the node's searchd answers SQL. */
  async answers(n: NodeRef): Promise<boolean> {
    try {
      await this.sql(n).query(showAllClusterStatus(), { timeoutMs: 1_000 });
      return true;
    } catch {
      return false;
    }
  }

  /** Why `nodes` are not a whole cluster ('' when they are): primary + synced, size = `size`, the table's parts there. */
  async notWhole(nodes: NodeRef[] = this.nodes, size = this.nodes.length): Promise<string> {
    for (const n of nodes) {
      const c = await this.status(n);
      if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== size) return `${n.name}: cluster ${c?.status ?? 'none'}/${c?.nodeState ?? '-'}/size ${c?.size ?? 0}`;
      if (!c.indexes.includes(this.delta)) return `${n.name}: ${this.delta} not in the cluster (${c.indexes.join(',')})`;
      const t = new Map(parseShowTables(await this.sql(n).query(showTables())).map((x) => [x.name, x.type]));
      if (t.get(this.table) !== 'distributed') return `${n.name}: ${this.table} ${t.get(this.table) ?? 'missing'}`;
    }
    return '';
  }

  async isWhole(nodes: NodeRef[] = this.nodes, size = this.nodes.length): Promise<boolean> {
    try {
      this.lastNotWhole = await this.notWhole(nodes, size);
    } catch (err) {
      this.lastNotWhole = errorMessage(err);
    }
    return this.lastNotWhole === '';
  }

  async waitWhole(ms: number, what: string, nodes: NodeRef[] = this.nodes, size = this.nodes.length): Promise<void> {
    try {
      await until(() => this.isWhole(nodes, size), ms, what, 100);
    } catch (err) {
      throw new Error(`${errorMessage(err)}; last reason: ${this.lastNotWhole}`, { cause: err });
    }
  }

  /** Every node's cluster uuid (undefined where it shows none). */
  async uuids(nodes: NodeRef[] = this.nodes): Promise<(string | undefined)[]> {
    return Promise.all(nodes.map(async (n) => (await this.status(n).catch(() => undefined))?.stateUuid));
  }

  /** Signals a node's searchd; returns its pid. */
  killSearchd(n: NodeRef, signal: NodeJS.Signals): number {
    const pid = this.platform.killNode(n.name, signal, 'searchd');
    assert.ok(pid !== undefined, `${n.name}'s searchd was running to get ${signal}`);
    return pid;
  }

  /** Cuts the replication traffic between `a` and `b` in both directions (the simulator's /sim/partition). */
  async partition(a: NodeRef[], b: NodeRef[]): Promise<void> {
    for (const [side, other] of [
      [a, b],
      [b, a],
    ] as const) {
      for (const n of side) await this.simAdmin(n, '/sim/partition', { peers: other.map((o) => o.apiAddress) });
    }
  }

  /** Heals every partition on every node. */
  async heal(): Promise<void> {
    for (const n of this.nodes) await this.simAdmin(n, '/sim/heal', {});
  }

  private async simAdmin(n: NodeRef, p: string, body: unknown): Promise<void> {
    assert.ok(n.httpAddress, `${n.name} has an HTTP address`);
    const res = await fetch(`http://${n.httpAddress}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200, `${p} on ${n.name}: ${await res.text()}`);
  }

  /** POST to the controller's API with the admin token. */
  async api(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${this.ctrl.port}${p}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** The last lines of the controller's log (for failure messages). */
  controllerLogTail(lines = 40): string {
    if (!this.ctrl || !existsSync(this.ctrl.logFile)) return '(no controller log)';
    return readFileSync(this.ctrl.logFile, 'utf8').split('\n').slice(-lines).join('\n');
  }

  /** Registers something stop() must end first (a Writer's stop, a poller's). */
  onStop(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /** Stops everything (a paused searchd is continued first); removes the dir unless `keep` or KEEP_TEST_DIRS. */
  async stop(keep = false): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) await Promise.resolve(fn()).catch(() => undefined);
    await this.ctrl?.signal('SIGKILL').catch(() => undefined);
    for (const s of this.platform.nodeStatuses()) {
      if (s.searchdPid !== undefined) this.platform.killNode(s.name, 'SIGCONT', 'searchd');
    }
    await this.platform.stop().catch(() => undefined);
    await this.pools.closeAll();
    if (!keep && process.env.KEEP_TEST_DIRS === undefined) rmSync(this.root, { recursive: true, force: true });
  }
}

/** Runs one scenario on a fresh FaultCluster; always cleans up; keeps the files and prints where on a failure. */
export async function runFaultScenario(t: TestContext, o: FaultClusterOptions, fn: (fc: FaultCluster) => Promise<void>): Promise<void> {
  const fc = await FaultCluster.start(o);
  try {
    await fn(fc);
  } catch (err) {
    process.stderr.write(`\n##### fault scenario '${t.name}' failed; files kept in ${fc.root}\n##### controller log tail:\n${fc.controllerLogTail()}\n`);
    await fc.stop(true);
    throw err;
  }
  await fc.stop();
}
