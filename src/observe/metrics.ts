/**
 * Prometheus metrics (issue 9): one registry per process, every series prefixed `manticore_orchestrator_`.
 *
 * Controller (`ControllerMetrics`):
 *   reconcile_passes_total / reconcile_pass_duration_seconds {kind, outcome}   kind = the key's first part
 *   queue_depth {state: ready|in_flight}                                         read at scrape time
 *   node_up {node}, node_state {node, state}, node_seqno {node}                  from the status store
 *   cluster_size {cluster}, cluster_ready {cluster}, cluster_phase {cluster, phase},
 *   cluster_condition {cluster, type, status}                                    from the status store
 *   tables_managed                                                              from the status store
 *   operations_total / operation_duration_seconds {kind, outcome}               when an operation ends
 *   operations_running {kind}                                                   from the status store
 *   import_rows_total / import_bytes_total {table}                              succeeded imports
 *   backup_bytes_total {table}, backup_last_success_timestamp_seconds {table}   succeeded backups
 *   api_requests_total / api_request_duration_seconds {method, route, status}   route = the route template
 *   plus prom-client's process and Node.js defaults (process_resident_memory_bytes, cpu, event loop lag)
 *
 * Agent (`AgentMetrics`):
 *   agent_jobs_total / agent_job_duration_seconds {kind, outcome}, agent_jobs_running {kind},
 *   agent_searchd_up, agent_http_requests_total / agent_http_request_duration_seconds {method, route, status}
 *
 * Labels are bounded: node names, table names and operation kinds come from the configuration; an API
 * path is reported by its route template (`/api/tables/:name`), an unmatched one as `unmatched`.
 */
import type { Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OperationRecord, StatusReader } from '../status/types.js';

export const METRIC_PREFIX = 'manticore_orchestrator_';

/** Seconds buckets for reconcile passes and API requests (ms to seconds). */
const FAST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds buckets for operations and jobs (seconds to hours). */
const SLOW_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400];

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** The kind of a reconcile key: `cluster/<name>` → cluster, `table/<c>/<t>` → table. */
export function keyKind(key: string): string {
  const kind = key.split('/')[0] ?? '';
  return ['cluster', 'table', 'backup'].includes(kind) ? kind : 'other';
}

/**
 * The route template of a request once routed (`/api/tables/:name`), `unmatched` when no route took it.
 * Express restores `baseUrl` when an error leaves a router, so a template without the mount is put back
 * under `/api` when the URL was under it.
 */
export function routeTemplate(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route === undefined || route.path === undefined) return 'unmatched';
  const full = `${req.baseUrl}${String(route.path)}`;
  if (full.startsWith('/api/') || full === '/api' || !req.originalUrl.startsWith('/api/')) return full;
  return `/api${full}`;
}

function observeRequests(counter: Counter<'method' | 'route' | 'status'>, histogram: Histogram<'method' | 'route' | 'status'>): RequestHandler {
  return (req: Request, res: Response, next) => {
    const started = process.hrtime.bigint();
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      const labels = { method: req.method, route: routeTemplate(req), status: String(res.statusCode) };
      counter.inc(labels);
      histogram.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    };
    res.once('finish', record);
    // a client that goes away (an SSE stream closed) still counts, with the status sent so far
    res.once('close', record);
    next();
  };
}

function metricsHandler(registry: Registry): RequestHandler {
  return (_req, res, next) => {
    registry.metrics().then(
      (text) => {
        res.set('Content-Type', registry.contentType);
        res.send(text);
      },
      (err: unknown) => next(err),
    );
  };
}

/** What the controller exposes of its queue (Controller.queueStats). */
export interface QueueStatsSource {
  queueStats(): { ready: number; inFlight: number };
}

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconcilePasses: Counter<'kind' | 'outcome'>;
  readonly reconcileDuration: Histogram<'kind' | 'outcome'>;
  readonly operations: Counter<'kind' | 'outcome'>;
  readonly operationDuration: Histogram<'kind' | 'outcome'>;
  readonly importRows: Counter<'table'>;
  readonly importBytes: Counter<'table'>;
  readonly backupBytes: Counter<'table'>;
  readonly backupLastSuccess: Gauge<'table'>;
  readonly apiRequests: Counter<'method' | 'route' | 'status'>;
  readonly apiDuration: Histogram<'method' | 'route' | 'status'>;
  private queue: QueueStatsSource | undefined;
  private status: StatusReader | undefined;
  private readonly counted = new Set<string>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const p = METRIC_PREFIX;
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: p });
    this.reconcilePasses = new Counter({ name: `${p}reconcile_passes_total`, help: 'Reconcile passes by key kind and outcome (ok, error).', labelNames: ['kind', 'outcome'], registers });
    this.reconcileDuration = new Histogram({ name: `${p}reconcile_pass_duration_seconds`, help: 'Duration of reconcile passes by key kind and outcome.', labelNames: ['kind', 'outcome'], buckets: FAST_BUCKETS, registers });
    const self = { queue: () => this.queue, status: () => this.status };
    new Gauge({
      name: `${p}queue_depth`,
      help: 'Reconcile keys waiting to run (ready) and running (in_flight).',
      labelNames: ['state'],
      registers,
      collect() {
        const q = self.queue()?.queueStats();
        if (q === undefined) return;
        this.set({ state: 'ready' }, q.ready);
        this.set({ state: 'in_flight' }, q.inFlight);
      },
    });
    new Gauge({
      name: `${p}node_up`,
      help: 'Whether the node\'s searchd answered the last observation (1) or not (0).',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const n of self.status()?.cluster().nodes ?? []) this.set({ node: n.name }, n.reachable ? 1 : 0);
      },
    });
    new Gauge({
      name: `${p}node_state`,
      help: 'The node\'s replication state (1 for its current state: synced, donor, joining, ..., not_in_cluster, unreachable).',
      labelNames: ['node', 'state'],
      registers,
      collect() {
        this.reset();
        for (const n of self.status()?.cluster().nodes ?? []) {
          const state = !n.reachable ? 'unreachable' : (n.nodeState ?? 'not_in_cluster').toLowerCase();
          this.set({ node: n.name, state }, 1);
        }
      },
    });
    new Gauge({
      name: `${p}node_seqno`,
      help: 'The node\'s last committed replication position (state_seqno) at the last observation.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const n of self.status()?.cluster().nodes ?? []) if (n.seqno !== undefined) this.set({ node: n.name }, n.seqno);
      },
    });
    new Gauge({
      name: `${p}cluster_size`,
      help: 'Nodes in the replication cluster (the size its nodes report).',
      labelNames: ['cluster'],
      registers,
      collect() {
        this.reset();
        const c = self.status()?.cluster();
        if (c !== undefined) this.set({ cluster: c.name }, c.size);
      },
    });
    new Gauge({
      name: `${p}cluster_ready`,
      help: 'Whether the cluster is Ready: every node primary and synced (condition Ready=True).',
      labelNames: ['cluster'],
      registers,
      collect() {
        this.reset();
        const c = self.status()?.cluster();
        if (c !== undefined) this.set({ cluster: c.name }, c.conditions.some((x) => x.type === 'Ready' && x.status === 'True') ? 1 : 0);
      },
    });
    new Gauge({
      name: `${p}cluster_phase`,
      help: 'The cluster\'s phase (1 for the current one: Ready, Forming, Degraded, Waiting, ...).',
      labelNames: ['cluster', 'phase'],
      registers,
      collect() {
        this.reset();
        const c = self.status()?.cluster();
        if (c !== undefined) this.set({ cluster: c.name, phase: c.phase }, 1);
      },
    });
    new Gauge({
      name: `${p}cluster_condition`,
      help: 'The cluster\'s conditions (1 for each condition\'s current status).',
      labelNames: ['cluster', 'type', 'status'],
      registers,
      collect() {
        this.reset();
        const c = self.status()?.cluster();
        for (const x of c?.conditions ?? []) this.set({ cluster: c?.name ?? '', type: x.type, status: x.status }, 1);
      },
    });
    new Gauge({
      name: `${p}tables_managed`,
      help: 'Tables the controller manages (in the status store).',
      registers,
      collect() {
        const s = self.status();
        if (s !== undefined) this.set(s.tables().length);
      },
    });
    new Gauge({
      name: `${p}operations_running`,
      help: 'Operations pending or running, by kind.',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const by = new Map<string, number>();
        for (const o of self.status()?.operations() ?? []) if (!TERMINAL.has(o.state)) by.set(o.kind, (by.get(o.kind) ?? 0) + 1);
        for (const [kind, n] of by) this.set({ kind }, n);
      },
    });
    this.operations = new Counter({ name: `${p}operations_total`, help: 'Operations that ended, by kind and outcome (succeeded, failed, cancelled).', labelNames: ['kind', 'outcome'], registers });
    this.operationDuration = new Histogram({ name: `${p}operation_duration_seconds`, help: 'Duration of ended operations (request to finish), by kind and outcome.', labelNames: ['kind', 'outcome'], buckets: SLOW_BUCKETS, registers });
    this.importRows = new Counter({ name: `${p}import_rows_total`, help: 'Rows loaded by succeeded imports, by table.', labelNames: ['table'], registers });
    this.importBytes = new Counter({ name: `${p}import_bytes_total`, help: 'Source bytes read by succeeded imports, by table.', labelNames: ['table'], registers });
    this.backupBytes = new Counter({ name: `${p}backup_bytes_total`, help: 'Archive bytes written by succeeded backups, by table.', labelNames: ['table'], registers });
    this.backupLastSuccess = new Gauge({ name: `${p}backup_last_success_timestamp_seconds`, help: 'When the last backup of the table succeeded (unix seconds).', labelNames: ['table'], registers });
    this.apiRequests = new Counter({ name: `${p}api_requests_total`, help: 'API requests by method, route template and status.', labelNames: ['method', 'route', 'status'], registers });
    this.apiDuration = new Histogram({ name: `${p}api_request_duration_seconds`, help: 'API request latency by method, route template and status.', labelNames: ['method', 'route', 'status'], buckets: FAST_BUCKETS, registers });
  }

  /** Records one reconcile pass. */
  observeReconcilePass(key: string, outcome: 'ok' | 'error', seconds: number): void {
    const labels = { kind: keyKind(key), outcome };
    this.reconcilePasses.inc(labels);
    this.reconcileDuration.observe(labels, seconds);
  }

  bindQueue(queue: QueueStatsSource): void {
    this.queue = queue;
  }

  /**
   * Reads the cluster, node and table gauges from the status store at scrape time and counts every
   * operation that ends from its events (once per operation id). Returns the unsubscribe function.
   */
  bindStatus(status: StatusReader): () => void {
    this.status = status;
    // operations already over when the controller started were counted by the process before
    for (const o of status.operations()) if (TERMINAL.has(o.state)) this.counted.add(o.id);
    return status.subscribe((event) => {
      if (event.type === 'operation') this.operationEvent(event.operation);
    });
  }

  private operationEvent(op: OperationRecord): void {
    if (!TERMINAL.has(op.state) || this.counted.has(op.id)) return;
    if (this.counted.size > 10_000) this.counted.clear();
    this.counted.add(op.id);
    const labels = { kind: op.kind, outcome: op.state };
    this.operations.inc(labels);
    const from = Date.parse(op.requestedAt);
    const to = op.finishedAt === undefined ? Date.now() : Date.parse(op.finishedAt);
    if (Number.isFinite(from) && Number.isFinite(to)) this.operationDuration.observe(labels, Math.max(0, to - from) / 1000);
    if (op.state !== 'succeeded') return;
    const table = op.target ?? op.key.split('/')[2] ?? '';
    const f = op.figures ?? {};
    if (op.kind === 'import') {
      if (typeof f.rows === 'number') this.importRows.inc({ table }, f.rows);
      if (typeof f.bytes === 'number') this.importBytes.inc({ table }, f.bytes);
    } else if (op.kind === 'backup') {
      if (typeof f.bytes === 'number') this.backupBytes.inc({ table }, f.bytes);
      this.backupLastSuccess.set({ table }, (Number.isFinite(to) ? to : Date.now()) / 1000);
    }
  }

  /** Counts and times every request (mount before the routes). */
  requestMiddleware(): RequestHandler {
    return observeRequests(this.apiRequests, this.apiDuration);
  }

  /** GET /metrics in the Prometheus text format. */
  handler(): RequestHandler {
    return metricsHandler(this.registry);
  }
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly jobs: Counter<'kind' | 'outcome'>;
  readonly jobDuration: Histogram<'kind' | 'outcome'>;
  readonly jobsRunning: Gauge<'kind'>;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  private searchdProbe: (() => Promise<boolean>) | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const p = `${METRIC_PREFIX}agent_`;
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: p });
    this.jobs = new Counter({ name: `${p}jobs_total`, help: 'Agent jobs that ended, by kind and outcome (succeeded, failed, cancelled).', labelNames: ['kind', 'outcome'], registers });
    this.jobDuration = new Histogram({ name: `${p}job_duration_seconds`, help: 'Duration of agent jobs that ended, by kind and outcome.', labelNames: ['kind', 'outcome'], buckets: SLOW_BUCKETS, registers });
    this.jobsRunning = new Gauge({ name: `${p}jobs_running`, help: 'Agent jobs running now, by kind.', labelNames: ['kind'], registers });
    this.requests = new Counter({ name: `${p}http_requests_total`, help: 'Agent HTTP requests by method, route template and status.', labelNames: ['method', 'route', 'status'], registers });
    this.requestDuration = new Histogram({ name: `${p}http_request_duration_seconds`, help: 'Agent HTTP request latency by method, route template and status.', labelNames: ['method', 'route', 'status'], buckets: FAST_BUCKETS, registers });
    const probe = () => this.searchdProbe;
    new Gauge({
      name: `${p}searchd_up`,
      help: 'Whether the local searchd answers SQL (1) or not (0), probed at scrape time.',
      registers,
      async collect() {
        const run = probe();
        if (run === undefined) return;
        this.set((await run().catch(() => false)) ? 1 : 0);
      },
    });
  }

  /** The probe searchd_up runs at scrape time. */
  bindSearchd(probe: () => Promise<boolean>): void {
    this.searchdProbe = probe;
  }

  jobStarted(kind: string): void {
    this.jobsRunning.inc({ kind });
  }

  /** A job ended: `seconds` from its start. */
  jobFinished(kind: string, outcome: string, seconds: number | undefined, wasRunning: boolean): void {
    if (wasRunning) this.jobsRunning.dec({ kind });
    this.jobs.inc({ kind, outcome });
    if (seconds !== undefined && Number.isFinite(seconds)) this.jobDuration.observe({ kind, outcome }, Math.max(0, seconds));
  }

  requestMiddleware(): RequestHandler {
    return observeRequests(this.requests, this.requestDuration);
  }

  handler(): RequestHandler {
    return metricsHandler(this.registry);
  }
}
