/**
 * The local platform: N Manticore nodes and their agents on loopback under a data dir, supervised
 * like a kubelet would (src/platform/local/node-supervisor.ts). Node i lives in
 * `<dataDir>/nodes/node<i>` with ports allocated once and kept in `ports.json`, so a later start
 * with the same data dir brings the same addresses back (the cluster's nodes_set holds them).
 * Real binaries run when configured (SEARCHD_BIN... or on PATH, see src/config/binaries.ts),
 * the simulator otherwise; both through the same start gate.
 */
import path from 'node:path';
import type { LogLevel } from '../../config/controller.js';
import { AppError, ValidationError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { repoRoot, type Binaries } from '../../sim/launcher.js';
import type { NodeRef, Platform } from '../types.js';
import { claimDataDir, loadOrAllocatePorts, localNodeName, releaseDataDir } from './node-files.js';
import { DEFAULT_TIMINGS, NodeSupervisor, type NodeStatus, type SupervisorTimings } from './node-supervisor.js';

export const MAX_LOCAL_NODES = 32;

export interface LocalPlatformOptions {
  /** absolute; nodes live under `<dataDir>/nodes/` */
  dataDir: string;
  nodes: number;
  binaries: Binaries;
  /** the admin token, given to agents (they check it) and used to ask their start gate */
  token: string;
  clusterName: string;
  /** env of every child process (the entry point passes the process env: PATH, GALERA_SONAME...) */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /**
   * `spawn` (default): run `node <agentScript>` per node; `external`: something else serves each
   * node's agent on its agent port (tests with a stand-in gate).
   */
  agents?: 'spawn' | 'external';
  /** default `<repo>/dist/src/bin/agent.js` */
  agentScript?: string;
  /** the agents' log level */
  logLevel?: LogLevel;
  /** Buddy enabled in searchd's config (default true, as in the community image) */
  buddy?: boolean;
  timings?: Partial<SupervisorTimings>;
}

export class LocalPlatform implements Platform {
  readonly kind = 'local' as const;
  private readonly supervisors: NodeSupervisor[] = [];
  private readonly listeners = new Set<() => void>();
  private desired: number;
  private started = false;
  private stopped = false;
  /** scale/start/stop run one at a time */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly timings: SupervisorTimings;

  constructor(private readonly o: LocalPlatformOptions) {
    checkCount(o.nodes, 'nodes');
    if (!path.isAbsolute(o.dataDir)) throw new ValidationError('dataDir', `'${o.dataDir}' is relative: pass an absolute path`);
    this.desired = o.nodes;
    this.timings = { ...DEFAULT_TIMINGS, ...o.timings };
  }

  get dataDir(): string {
    return this.o.dataDir;
  }

  /** The desired nodes, running or not (known once start() ran). */
  listNodes(): Promise<NodeRef[]> {
    return Promise.resolve(this.supervisors.map((s) => s.ref));
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Allocates or reuses each node's ports, writes configs, stops leftovers of an earlier run that
   * was killed, and starts every node's agent and supervisor. Returns once they are launched:
   * searchd itself starts when the gate lets it (see nodeStatus / waitForPhase).
   */
  start(): Promise<void> {
    return this.serial(async () => {
      if (this.stopped) throw new AppError('PLATFORM_STOPPED', 'the local platform was stopped: create a new one to start again');
      if (this.started) return;
      claimDataDir(this.o.dataDir);
      this.started = true;
      await this.grow(this.desired);
      this.emit();
    });
  }

  /** Stops every searchd cleanly one by one (highest ordinal first, so node0 leaves the cluster last), then every agent. */
  stop(): Promise<void> {
    return this.serial(async () => {
      this.stopped = true;
      const all = [...this.supervisors].reverse();
      for (const s of all) await s.stopSearchd();
      await Promise.all(all.map((s) => s.stopAgent()));
      if (this.started) releaseDataDir(this.o.dataDir);
    });
  }

  /** Adds nodes (new ordinals) or removes the highest ones (stopped cleanly; their files stay); fires onChange. */
  scale(n: number): Promise<void> {
    checkCount(n, 'scale');
    return this.serial(async () => {
      if (this.stopped) throw new AppError('PLATFORM_STOPPED', 'the local platform was stopped: it cannot scale');
      if (n === this.supervisors.length && this.started) return;
      this.desired = n;
      if (!this.started) return;
      if (n > this.supervisors.length) await this.grow(n);
      else {
        while (this.supervisors.length > n) {
          const s = this.supervisors.pop();
          if (!s) break;
          this.o.logger.info('local platform removing node', { node: s.name });
          await s.stopSearchd();
          await s.stopAgent();
        }
      }
      this.emit();
    });
  }

  /** Sends a signal to a node's searchd (default) or agent, for tests and fault injection; returns the pid signalled. */
  killNode(name: string, signal: NodeJS.Signals = 'SIGKILL', target: 'searchd' | 'agent' = 'searchd'): number | undefined {
    return this.supervisor(name).kill(signal, target);
  }

  nodeStatus(name: string): NodeStatus {
    return this.supervisor(name).status();
  }

  nodeStatuses(): NodeStatus[] {
    return this.supervisors.map((s) => s.status());
  }

  /** Files of a node (config, data dir, logs, ports.json). */
  nodeFiles(name: string) {
    return this.supervisor(name).files;
  }

  /** Waits until the node's phase satisfies `ok` (e.g. running with a new pid); the error names the wait and shows the status. */
  async waitForNode(name: string, ok: (s: NodeStatus) => boolean, timeoutMs: number, what = 'the node'): Promise<NodeStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = this.nodeStatus(name);
      if (ok(st)) return st;
      if (Date.now() >= deadline) throw new AppError('WAIT_TIMEOUT', `${name}: ${what} not reached within ${timeoutMs} ms; status ${JSON.stringify(st)}`, { retryable: true });
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private supervisor(name: string): NodeSupervisor {
    const s = this.supervisors.find((x) => x.name === name);
    if (!s) throw new ValidationError('node', `no local node '${name}': the nodes are ${this.supervisors.map((x) => x.name).join(', ') || '(none)'}`);
    return s;
  }

  private async grow(n: number): Promise<void> {
    const agentScript = (this.o.agents ?? 'spawn') === 'spawn' ? (this.o.agentScript ?? path.join(repoRoot(), 'dist', 'src', 'bin', 'agent.js')) : undefined;
    for (let i = this.supervisors.length; i < n; i++) {
      const { ports, reused } = await loadOrAllocatePorts(this.o.dataDir, i);
      const s = new NodeSupervisor({
        dataDir: this.o.dataDir,
        ordinal: i,
        ports,
        binaries: this.o.binaries,
        token: this.o.token,
        clusterName: this.o.clusterName,
        env: this.o.env,
        agentScript,
        logLevel: this.o.logLevel ?? 'info',
        buddy: this.o.buddy ?? true,
        timings: this.timings,
        logger: this.o.logger,
        // searchd up or down is news for the controller now, not at its next resync (a pod watch's role)
        onPhase: (phase) => {
          if (phase === 'running' || phase === 'backoff') this.emit();
        },
      });
      await s.stopLeftovers();
      s.prepare();
      this.supervisors.push(s);
      this.o.logger.info('local platform starting node', { node: localNodeName(i), portsReused: reused, mysqlPort: ports.mysql, agentPort: ports.agent });
      s.start();
    }
  }

  private emit(): void {
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch (err) {
        this.o.logger.warn('local platform change listener failed', { err });
      }
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function checkCount(n: number, field: string): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_LOCAL_NODES) {
    throw new ValidationError(field, `${n} is not a node count from 1 to ${MAX_LOCAL_NODES}: pick one in that range`);
  }
}
