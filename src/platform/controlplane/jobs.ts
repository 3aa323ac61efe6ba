/**
 * PlatformJobs over cron workload commands (deployment.md §2.4, §2.7):
 *
 *   start     lists the active commands of the cron workload first and refuses (CONFLICT) when one of
 *             the same action and table runs; then `POST {W}/-command` `{type: runCronWorkload, spec:
 *             {location, containerOverrides: [{name, env}]}}` → 201 + `Location: …/-command/{id}`.
 *             Every start carries ORCHESTRATOR_JOB_ID: when the POST's answer is lost and the command
 *             was created anyway, the next attempt finds it in the active list and adopts it.
 *   get       `GET {W}/-command/{id}`, `lifecycleStage` → phase
 *   listActive `POST {W}/-command/-query` on lifecycleStage pending|running, `links rel=next` followed
 *
 * backup/restore run on BACKUP_WORKLOAD (container BACKUP_CONTAINER), import/repair on
 * ORCHESTRATOR_WORKLOAD (ORCHESTRATOR_CONTAINER). The action and table of a command are read back
 * from its env overrides (ACTION, DATASET or TABLE_NAME), as the original did.
 */
import { randomUUID } from 'node:crypto';
import type { ControlPlaneConfig } from '../../config/controlplane.js';
import { AppError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { PlatformJob, PlatformJobAction, PlatformJobPhase, PlatformJobs, PlatformJobSpec } from '../types.js';
import type { CplnClient } from './client.js';
import { workloadPath } from './discovery.js';
import type { CplnCommand, CplnQueryResult } from './types.js';

export const JOB_ID_ENV = 'ORCHESTRATOR_JOB_ID';
const ACTIONS: readonly PlatformJobAction[] = ['backup', 'restore', 'import', 'repair'];
/** pages of a command query followed at most */
const MAX_PAGES = 20;

export interface ControlPlaneJobsOptions {
  client: CplnClient;
  config: ControlPlaneConfig;
  logger: Logger;
  /** attempts of a start whose POST failed in a way that may be retried (default 4) */
  startAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  newId?: () => string;
}

interface Target {
  workload: string;
  container: string;
}

/** Maps a command's lifecycleStage to a job phase. */
export function phaseOf(stage: string | undefined): PlatformJobPhase {
  switch (stage) {
    case 'pending':
      return 'pending';
    case 'running':
    case 'cancellation-requested':
      return 'running';
    case 'completed':
      return 'succeeded';
    case 'failed':
    case 'cancelled':
      return 'failed';
    default:
      return 'unknown';
  }
}

/** The command id from a Location header `/org/…/workload/{name}/-command/{id}` (absolute URLs too). */
export function commandIdFromLocation(location: string | null): string | undefined {
  if (!location) return undefined;
  const m = /\/-command\/([^/?#\s]+)\/?(?:[?#].*)?$/.exec(location.trim());
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

function envOf(cmd: CplnCommand): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of cmd.spec?.containerOverrides ?? []) for (const e of o.env ?? []) if (typeof e?.name === 'string' && typeof e.value === 'string') out[e.name] = e.value;
  return out;
}

export class ControlPlaneJobs implements PlatformJobs {
  private readonly o: ControlPlaneJobsOptions;
  /** command id → workload it runs on (get needs the workload) */
  private readonly where = new Map<string, string>();

  constructor(options: ControlPlaneJobsOptions) {
    this.o = options;
  }

  /** Whether a cron workload is configured for the action. */
  supports(action: PlatformJobAction): boolean {
    return this.targetOf(action) !== undefined;
  }

  private targetOf(action: PlatformJobAction): Target | undefined {
    const c = this.o.config;
    if (action === 'backup' || action === 'restore') return c.backupWorkload ? { workload: c.backupWorkload, container: c.backupContainer } : undefined;
    return c.jobWorkload ? { workload: c.jobWorkload, container: c.jobContainer } : undefined;
  }

  private requireTarget(action: PlatformJobAction): Target {
    const t = this.targetOf(action);
    if (!t) {
      const setting = action === 'backup' || action === 'restore' ? 'BACKUP_WORKLOAD' : 'ORCHESTRATOR_WORKLOAD';
      throw new AppError('NOT_CONFIGURED', `no cron workload runs ${action} jobs: set ${setting} to the cron workload's name`);
    }
    return t;
  }

  private workloads(): string[] {
    const c = this.o.config;
    return [...new Set([c.backupWorkload, c.jobWorkload].filter((w): w is string => w !== undefined))];
  }

  async start(spec: PlatformJobSpec): Promise<PlatformJob> {
    if (!ACTIONS.includes(spec.action)) throw new AppError('VALIDATION_FAILED', `action: must be one of ${ACTIONS.join(', ')}`);
    const target = this.requireTarget(spec.action);
    const jobId = (this.o.newId ?? randomUUID)();
    const env: Record<string, string> = { ACTION: spec.action, ...spec.env, [JOB_ID_ENV]: jobId };
    if (spec.table !== undefined && env.DATASET === undefined && env.TABLE_NAME === undefined) env[spec.action === 'backup' || spec.action === 'restore' ? 'DATASET' : 'TABLE_NAME'] = spec.table;
    const path = `${workloadPath(this.o.config, target.workload)}/-command`;
    const attempts = this.o.startAttempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      const active = await this.activeCommands(target.workload);
      const mine = active.find((c) => envOf(c)[JOB_ID_ENV] === jobId);
      if (mine) return this.jobOf(mine, target.workload);
      const clash = active.map((c) => this.jobOf(c, target.workload)).find((j) => j.action === spec.action && (spec.table === undefined || j.table === undefined || j.table === spec.table));
      if (clash) {
        throw new AppError('CONFLICT', `a ${clash.action} job${clash.table ? ` of ${clash.table}` : ''} is already ${clash.phase} on ${target.workload} (command ${clash.id}): wait for it to finish`, {
          details: { commandId: clash.id, workload: target.workload },
        });
      }
      try {
        const res = await this.o.client.request({
          method: 'POST',
          path,
          body: {
            type: 'runCronWorkload',
            spec: { location: this.o.config.location, containerOverrides: [{ name: target.container, env: Object.entries(env).map(([name, value]) => ({ name, value })) }] },
          },
        });
        const id = commandIdFromLocation(res.headers.get('location')) ?? (res.body as CplnCommand | undefined)?.id;
        if (!id) throw new AppError('CPLN_BAD_RESPONSE', `POST ${path}: HTTP ${res.status} without a Location header naming the command`, { retryable: false });
        this.where.set(id, target.workload);
        this.o.logger.info('cron workload command started', { workload: target.workload, commandId: id, action: spec.action, table: spec.table });
        return { id, action: spec.action, ...(spec.table !== undefined ? { table: spec.table } : {}), phase: 'pending', startedAt: new Date().toISOString() };
      } catch (err) {
        // the POST may have been carried out: the next attempt looks for ORCHESTRATOR_JOB_ID before posting again
        const retryable = err instanceof AppError && err.retryable;
        if (!retryable || attempt >= attempts) throw err;
        this.o.logger.warn('cron workload command not confirmed; checking before retrying', { workload: target.workload, err: errorMessage(err), attempt });
        await (this.o.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms).unref())))(500 * 2 ** (attempt - 1));
      }
    }
  }

  async get(id: string): Promise<PlatformJob> {
    const known = this.where.get(id);
    const candidates = known ? [known] : this.workloads();
    let notFound: unknown;
    for (const workload of candidates) {
      try {
        const cmd = await this.o.client.getJson<CplnCommand>(`${workloadPath(this.o.config, workload)}/-command/${encodeURIComponent(id)}`);
        this.where.set(id, workload);
        return this.jobOf({ ...cmd, id: cmd.id ?? id }, workload);
      } catch (err) {
        if (err instanceof AppError && err.code === 'CPLN_NOT_FOUND') {
          notFound = err;
          continue;
        }
        throw err;
      }
    }
    throw new AppError('NOT_FOUND', `no cron workload command ${id} on ${candidates.join(', ') || '(no cron workload configured)'}`, { cause: notFound });
  }

  async listActive(): Promise<PlatformJob[]> {
    const out: PlatformJob[] = [];
    for (const w of this.workloads()) for (const c of await this.activeCommands(w)) out.push(this.jobOf(c, w));
    return out;
  }

  /** Active (pending or running) runCronWorkload commands of one workload, every page. */
  private async activeCommands(workload: string): Promise<CplnCommand[]> {
    const base = workloadPath(this.o.config, workload);
    let path = `${base}/-command/-query`;
    const body = {
      spec: {
        match: 'any',
        terms: [
          { op: '=', property: 'lifecycleStage', value: 'pending' },
          { op: '=', property: 'lifecycleStage', value: 'running' },
        ],
      },
    };
    const out: CplnCommand[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.o.client.request<CplnQueryResult<CplnCommand>>({ method: 'POST', path, body, idempotent: true });
      const q = this.o.client.jsonOf(res, 'POST', path);
      if (!Array.isArray(q.items)) throw new AppError('CPLN_BAD_RESPONSE', `POST ${path}: the query result has no items array`, { retryable: true });
      for (const c of q.items) {
        if (c && typeof c === 'object' && (c.type === undefined || c.type === 'runCronWorkload') && ['pending', 'running', 'cancellation-requested'].includes(String(c.lifecycleStage))) out.push(c);
      }
      const next = (q.links ?? []).find((l) => l.rel === 'next')?.href;
      if (!next) break;
      path = next.startsWith('/') ? next : `/${next}`;
    }
    return out;
  }

  private jobOf(cmd: CplnCommand, workload: string): PlatformJob {
    const env = envOf(cmd);
    // a run without an ACTION override (its schedule, a manual start) does what the workload stores: backup on
    // BACKUP_WORKLOAD, the original job workload's default (import) on ORCHESTRATOR_WORKLOAD
    const action = ACTIONS.find((a) => a === env.ACTION?.toLowerCase()) ?? (workload === this.o.config.backupWorkload ? 'backup' : 'import');
    const table = env.DATASET ?? env.TABLE_NAME;
    const phase = phaseOf(cmd.lifecycleStage);
    const messages = cmd.status?.messages?.filter((m) => typeof m === 'string') ?? [];
    const id = cmd.id ?? '?';
    if (cmd.id) this.where.set(cmd.id, workload);
    const job: PlatformJob = { id, action, phase };
    if (table) job.table = table;
    const message = [`${cmd.lifecycleStage ?? 'unknown'} on ${workload}`, ...(cmd.status?.replica ? [`replica ${cmd.status.replica}`] : []), ...messages].join('; ');
    job.message = message;
    if (cmd.created) job.startedAt = cmd.created;
    if ((phase === 'succeeded' || phase === 'failed') && cmd.lastModified) job.finishedAt = cmd.lastModified;
    return job;
  }
}
