/**
 * The Control Plane platform (PLATFORM=controlplane): the nodes are the replicas of the stateful
 * Manticore workload (`{workload}-{i}.{workload}`, the expected count from REPLICA_COUNT or the
 * workload's minScale; src/platform/controlplane/discovery.ts), re-read every CONTROLPLANE_POLL_INTERVAL;
 * listeners hear when the list changes. Jobs run as cron workload commands (jobs.ts).
 *
 * The platform runs nothing itself (cpln runs the replicas): start reads the workload once (a failure is
 * logged, not fatal: the controller keeps serving and the poll retries) and stop ends the poll.
 * An API failure keeps the last known list; listNodes fails only while no list was ever read.
 */
import type { ControlPlaneConfig } from '../../config/controlplane.js';
import { AppError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { NodeRef, PlatformWithJobs } from '../types.js';
import { CplnClient } from './client.js';
import { discoverReplicas, observeWorkload, planReplicaCount, replicaNodes, type DiscoveryReport, type ReplicaProbe, type WorkloadFacts } from './discovery.js';
import { ControlPlaneJobs } from './jobs.js';

/** how long start waits for the first read of the workload */
export const START_WAIT_MS = 5_000;

export interface ControlPlanePlatformOptions {
  config: ControlPlaneConfig;
  logger: Logger;
  /** default: a CplnClient from the config */
  client?: CplnClient;
  /** tests: replaces the agent probe */
  probe?: (node: NodeRef) => Promise<ReplicaProbe>;
}

export class ControlPlanePlatform implements PlatformWithJobs {
  readonly kind = 'controlplane' as const;
  readonly jobs: ControlPlaneJobs;
  readonly client: CplnClient;
  private readonly o: ControlPlanePlatformOptions;
  private readonly listeners = new Set<() => void>();
  private nodes: NodeRef[] | undefined;
  private facts: WorkloadFacts | undefined;
  private readAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<NodeRef[]> | undefined;
  private lastError: string | undefined;

  constructor(options: ControlPlanePlatformOptions) {
    this.o = options;
    const c = options.config;
    this.client =
      options.client ??
      new CplnClient({ endpoint: c.endpoint, token: c.token, authHeader: c.authHeader, timeoutMs: c.requestTimeoutMs, logger: options.logger.child({ component: 'cpln' }) });
    this.jobs = new ControlPlaneJobs({ client: this.client, config: c, logger: options.logger.child({ component: 'cpln-jobs' }) });
  }

  get config(): ControlPlaneConfig {
    return this.o.config;
  }

  /** The scale facts last read (expected count and where it came from). */
  workloadFacts(): WorkloadFacts | undefined {
    return this.facts;
  }

  async listNodes(): Promise<NodeRef[]> {
    if (this.nodes && Date.now() - this.readAt < this.o.config.pollIntervalMs) return copy(this.nodes);
    try {
      return copy(await this.refresh());
    } catch (err) {
      if (this.nodes) return copy(this.nodes);
      throw err;
    }
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Re-reads the workload; fires the listeners when the node list changed. One read at a time. */
  refresh(): Promise<NodeRef[]> {
    this.inflight ??= (async () => {
      try {
        const c = this.o.config;
        const facts = planReplicaCount(await observeWorkload(this.client, c), c.replicaCount);
        const next = replicaNodes(c, facts.expected);
        const changed = this.nodes !== undefined && JSON.stringify(next) !== JSON.stringify(this.nodes);
        const first = this.nodes === undefined;
        this.nodes = next;
        this.facts = facts;
        this.readAt = Date.now();
        if (this.lastError !== undefined) this.o.logger.info('control plane API answers again', { workload: c.workload });
        this.lastError = undefined;
        if (first || changed) this.o.logger.info('control plane replicas', { workload: c.workload, expected: facts.expected, from: facts.source, nodes: next.map((n) => n.name) });
        if (changed) for (const l of [...this.listeners]) l();
        return next;
      } catch (err) {
        const msg = errorMessage(err);
        if (msg !== this.lastError) this.o.logger.warn('control plane workload not read; keeping the last node list', { workload: this.o.config.workload, err: msg });
        this.lastError = msg;
        if (this.nodes) return this.nodes;
        throw err instanceof AppError ? err : new AppError('UNAVAILABLE', `reading workload ${this.o.config.workload}: ${msg}`, { retryable: true, cause: err });
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  /** Expected nodes, every replica's agent probed, deployment messages (GET /api/cluster/discover material). */
  discover(): Promise<DiscoveryReport> {
    return discoverReplicas(this.client, this.o.config, this.o.probe);
  }

  /**
   * Reads the workload once, waiting at most START_WAIT_MS (the API answers, or the retries continue in
   * the background: the controller and its API start either way, and listNodes waits for the first list).
   */
  async start(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.refresh().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, START_WAIT_MS)))]);
    clearTimeout(timer);
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, this.o.config.pollIntervalMs);
    this.timer.unref();
  }

  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return Promise.resolve();
  }
}

function copy(nodes: readonly NodeRef[]): NodeRef[] {
  return nodes.map((n) => ({ ...n, mysql: { ...n.mysql } }));
}
