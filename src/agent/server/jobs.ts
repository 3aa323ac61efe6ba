/**
 * Node-local jobs, idempotent by id (the controller's operation id + node). A job kind is a named,
 * validated piece of work (no arbitrary commands); the registry is open so later issues add backup
 * and restore kinds. Records are JSON files in `<jobsDir>/jobs/`; on start, a job that was pending or
 * running when the agent stopped is marked failed ("agent restarted") and its leftover process group,
 * if still alive, is terminated.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { JobRequest, JobState, JobStatus } from '../protocol.js';
import { ValidationError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { AgentHttpError } from './envelope.js';
import { writeJsonAtomic } from './json-file.js';
import { isProcessOf, killGroup } from './process.js';

export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;
/** Finished jobs are forgotten (record and work dir removed) this long after they finished. */
export const DEFAULT_JOB_RETENTION_MS = 7 * 24 * 3600_000;
/** How often progress reports are written to the job's file (they are kept in memory at once). */
export const PROGRESS_PERSIST_MS = 1_000;
/** Why an aborted job stopped: a cancel request (state cancelled) or the agent stopping (state failed). */
const CANCELLED = 'cancelled';
export const AGENT_STOPPED = 'agent stopped while the job was running; start it again with a new id';
/** How long a cancel request waits for the job to wind down before answering. */
export const CANCEL_WAIT_MS = 10_000;

/** What a job kind's run() gets. */
export interface JobContext {
  id: string;
  /** aborted by cancel (and agent shutdown) */
  signal: AbortSignal;
  /** a private working directory for this job */
  workDir: string;
  logger: Logger;
  /** progress 0..1 (undefined when unknown) and a human message */
  report(progress: number | undefined, message: string): void;
  /** remembers the child process group so an agent restart can clean it up */
  setChild(child: { pid: number; command: string } | undefined): void;
}

export interface JobKind<P = unknown> {
  name: string;
  /** Checks params; throws ValidationError naming the field and the fix. */
  validate(params: Record<string, unknown>): P;
  /** Does the work; resolves with the result, rejects with a JobFailure (or any error). */
  run(params: P, ctx: JobContext): Promise<Record<string, unknown>>;
}

/** A job failure that still carries a result (exit code, partial figures). */
export class JobFailure extends Error {
  constructor(
    message: string,
    readonly result?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'JobFailure';
  }
}

export interface JobRecord extends JobStatus {
  params: Record<string, unknown>;
  child?: { pid: number; command: string };
}

/** Canonical JSON (sorted keys) for comparing params. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Log fields of a job: its id and, when the id follows the controller's `<operationId>:<node>:<what>`
 * convention, the operation and node, so agent lines follow the operation like the controller's do.
 */
export function jobLogFields(id: string): { jobId: string; operationId?: string; node?: string } {
  const [operationId, node, what] = id.split(':');
  return operationId && node && what !== undefined ? { jobId: id, operationId, node } : { jobId: id };
}

export function validateJobRequest(body: unknown, kinds: readonly string[]): JobRequest {
  if (!isObject(body)) throw new ValidationError('body', 'send a JSON object {id, kind, params}');
  const { id, kind, params } = body;
  if (typeof id !== 'string' || !JOB_ID_PATTERN.test(id)) {
    throw new ValidationError('id', 'must be 1-200 characters of letters, digits and . _ : @ - (starting with a letter or digit), e.g. "<operationId>-<node>"');
  }
  if (typeof kind !== 'string' || !kinds.includes(kind)) {
    throw new ValidationError('kind', `must be one of ${kinds.join(', ')} (got ${JSON.stringify(kind)}); arbitrary commands are not allowed`);
  }
  if (params !== undefined && !isObject(params)) throw new ValidationError('params', 'must be a JSON object');
  return { id, kind, params: params ?? {} };
}

export function publicStatus(r: JobRecord): JobStatus {
  const out: JobStatus = { id: r.id, kind: r.kind, state: r.state, createdAt: r.createdAt };
  if (r.progress !== undefined) out.progress = r.progress;
  if (r.message !== undefined) out.message = r.message;
  if (r.result !== undefined) out.result = r.result;
  if (r.error !== undefined) out.error = r.error;
  if (r.startedAt !== undefined) out.startedAt = r.startedAt;
  if (r.finishedAt !== undefined) out.finishedAt = r.finishedAt;
  return out;
}

function abortReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : CANCELLED;
}

const ACTIVE: ReadonlySet<JobState> = new Set(['pending', 'running']);

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

export interface JobManagerOptions {
  dir: string;
  kinds: readonly JobKind<never>[] | readonly JobKind[];
  logger: Logger;
  now?: () => Date;
  /** default DEFAULT_JOB_RETENTION_MS */
  retentionMs?: number;
  /** Prometheus series of jobs (src/observe/metrics.ts AgentMetrics) */
  metrics?: JobMetrics;
}

/** What the job manager reports to the agent's metrics. */
export interface JobMetrics {
  jobStarted(kind: string): void;
  jobFinished(kind: string, outcome: string, seconds: number | undefined, wasRunning: boolean): void;
}

export class JobManager {
  private readonly records = new Map<string, JobRecord>();
  private readonly running = new Map<string, Running>();
  private readonly kinds = new Map<string, JobKind>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly retentionMs: number;
  private readonly metrics: JobMetrics | undefined;
  private closed = false;

  private constructor(private readonly dir: string, options: JobManagerOptions) {
    for (const k of options.kinds as readonly JobKind[]) this.kinds.set(k.name, k);
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
    this.retentionMs = options.retentionMs ?? DEFAULT_JOB_RETENTION_MS;
    this.metrics = options.metrics;
  }

  /** Loads the records; jobs left pending/running by a previous agent become failed. */
  static async open(options: JobManagerOptions): Promise<JobManager> {
    const m = new JobManager(path.join(options.dir, 'jobs'), options);
    await m.load();
    await m.prune();
    return m;
  }

  get kindNames(): string[] {
    return [...this.kinds.keys()].sort();
  }

  private fileOf(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  private async load(): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      let record: JobRecord;
      try {
        record = JSON.parse(await readFile(path.join(this.dir, name), 'utf8')) as JobRecord;
      } catch (err) {
        this.logger.warn('agent job record unreadable, skipped', { file: name, err: errorMessage(err) });
        continue;
      }
      if (typeof record.id !== 'string' || typeof record.kind !== 'string') continue;
      if (ACTIVE.has(record.state)) {
        if (record.child && isProcessOf(record.child.pid, record.child.command)) {
          killGroup(record.child.pid, 'SIGKILL');
          this.logger.warn('agent job process left by a previous agent killed', { jobId: record.id, pid: record.child.pid });
        }
        record.state = 'failed';
        record.error = 'agent restarted while the job was running; start it again with a new id';
        record.finishedAt = this.now().toISOString();
        delete record.child;
        await this.persist(record);
      }
      this.records.set(record.id, record);
    }
  }

  /** Removes finished jobs older than the retention (their records and work dirs). */
  async prune(): Promise<string[]> {
    const cutoff = this.now().getTime() - this.retentionMs;
    const removed: string[] = [];
    for (const r of [...this.records.values()]) {
      if (ACTIVE.has(r.state) || r.finishedAt === undefined || Date.parse(r.finishedAt) > cutoff) continue;
      this.records.delete(r.id);
      await (this.writes.get(r.id) ?? Promise.resolve());
      this.writes.delete(r.id);
      await rm(this.fileOf(r.id), { force: true });
      await rm(this.workDirOf(r.id), { recursive: true, force: true });
      removed.push(r.id);
    }
    if (removed.length > 0) this.logger.info('agent jobs pruned', { count: removed.length });
    return removed;
  }

  private workDirOf(id: string): string {
    return path.join(this.dir, '..', 'work', id);
  }

  list(): JobStatus[] {
    return [...this.records.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0)).map(publicStatus);
  }

  get(id: string): JobStatus | undefined {
    const r = this.records.get(id);
    return r ? publicStatus(r) : undefined;
  }

  /**
   * Starts a job, idempotent by id: the same id with the same kind and params returns the existing job
   * (`created: false`); with a different kind or params it is a JOB_CONFLICT.
   */
  async start(body: unknown): Promise<{ job: JobStatus; created: boolean }> {
    if (this.closed) throw new AgentHttpError(503, 'INTERNAL', 'agent is shutting down; retry against the restarted agent');
    const req = validateJobRequest(body, this.kindNames);
    await this.prune();
    const existing = this.records.get(req.id);
    if (existing) {
      if (existing.kind !== req.kind || canonicalJson(existing.params) !== canonicalJson(req.params)) {
        throw new AgentHttpError(409, 'JOB_CONFLICT', `job '${req.id}' already exists with a different kind or params; use a new id for different work`);
      }
      return { job: publicStatus(existing), created: false };
    }
    const kind = this.kinds.get(req.kind);
    if (!kind) throw new ValidationError('kind', `unknown kind '${req.kind}'`);
    const params = kind.validate(req.params);
    const record: JobRecord = { id: req.id, kind: req.kind, state: 'pending', createdAt: this.now().toISOString(), params: req.params };
    this.records.set(req.id, record);
    await this.persist(record);
    const controller = new AbortController();
    const done = this.execute(record, kind, params, controller.signal);
    this.running.set(req.id, { controller, done });
    void done.finally(() => this.running.delete(req.id));
    return { job: publicStatus(record), created: true };
  }

  private async execute(record: JobRecord, kind: JobKind, params: unknown, signal: AbortSignal): Promise<void> {
    const workDir = this.workDirOf(record.id);
    record.state = 'running';
    record.startedAt = this.now().toISOString();
    await this.persist(record);
    const logger = this.logger.child(jobLogFields(record.id));
    logger.info('agent job started', { kind: record.kind });
    this.metrics?.jobStarted(record.kind);
    let lastProgressWrite = 0;
    const ctx: JobContext = {
      id: record.id,
      signal,
      workDir,
      logger,
      report: (progress, message) => {
        if (progress !== undefined) record.progress = Math.max(0, Math.min(1, progress));
        record.message = message;
        // GET answers from memory; the file only needs to follow now and then (tools print progress often)
        const now = Date.now();
        if (now - lastProgressWrite >= PROGRESS_PERSIST_MS) {
          lastProgressWrite = now;
          void this.persist(record);
        }
      },
      setChild: (child) => {
        if (child) record.child = child;
        else delete record.child;
        void this.persist(record);
      },
    };
    // the outcome is built on a copy and written to disk before GET shows it, so a job reported
    // finished is finished on disk too (a crash in between leaves it running → failed on restart)
    const final: JobRecord = { ...record };
    try {
      if (signal.aborted) throw new Error('cancelled before it ran');
      const result = await kind.run(params, ctx);
      final.progress = record.progress;
      final.message = record.message;
      if (signal.aborted) {
        final.state = abortReason(signal) === CANCELLED ? 'cancelled' : 'failed';
        final.error = abortReason(signal);
        final.result = result;
      } else {
        final.state = 'succeeded';
        final.progress = 1;
        final.result = result;
      }
    } catch (err) {
      final.progress = record.progress;
      final.message = record.message;
      final.state = signal.aborted && abortReason(signal) === CANCELLED ? 'cancelled' : 'failed';
      if (err instanceof JobFailure && err.result !== undefined) final.result = err.result;
      final.error = signal.aborted ? abortReason(signal) : errorMessage(err);
    }
    if (final.progress === undefined) delete final.progress;
    if (final.message === undefined) delete final.message;
    delete final.child;
    final.finishedAt = this.now().toISOString();
    await this.persist(final);
    for (const key of Object.keys(record) as (keyof JobRecord)[]) if (!(key in final)) delete record[key];
    Object.assign(record, final);
    logger.info('agent job finished', { kind: record.kind, state: record.state, err: record.error });
    const ranFor = record.startedAt === undefined ? undefined : (Date.parse(record.finishedAt ?? '') - Date.parse(record.startedAt)) / 1000;
    this.metrics?.jobFinished(record.kind, record.state, ranFor, true);
  }

  /** Cancels a pending/running job and waits (bounded) until it has stopped; a finished job is returned as is. */
  async cancel(id: string, waitMs = CANCEL_WAIT_MS): Promise<JobStatus> {
    const record = this.records.get(id);
    if (!record) throw new AgentHttpError(404, 'NOT_FOUND', `no job '${id}'`);
    const run = this.running.get(id);
    if (run) {
      run.controller.abort(CANCELLED);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([run.done, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
      clearTimeout(timer);
    }
    return publicStatus(record);
  }

  /** Cancels every running job and waits for them (agent shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    const runs = [...this.running.values()];
    for (const r of runs) r.controller.abort(AGENT_STOPPED);
    await Promise.all(runs.map((r) => r.done));
    await Promise.all(this.writes.values());
  }

  private persist(record: JobRecord): Promise<void> {
    const snapshot = JSON.parse(JSON.stringify(record)) as JobRecord;
    const prev = this.writes.get(record.id) ?? Promise.resolve();
    const next = prev.then(() => writeJsonAtomic(this.fileOf(record.id), snapshot)).catch((err: unknown) => {
      this.logger.error('agent job record not saved', { jobId: record.id, err: errorMessage(err) });
    });
    this.writes.set(record.id, next);
    return next;
  }
}
