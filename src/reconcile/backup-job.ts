/**
 * Backups run as platform jobs (a Control Plane cron workload command; the original system's
 * BACKUP_WORKLOAD): when the controller is given a BackupJobLauncher, requestBackup hands the backup
 * to the `job` subcommand on the platform (env = its contract, src/job/README.md) instead of running
 * the backup machine in-process, and the operation record follows the job's phase:
 *
 *   request (succeeded) → platform-job (running, message `platform job <id> …`) → succeeded | failed
 *
 * The job id is kept in the step's message, so a restarted controller resumes following it
 * (reconcileBackups) instead of failing the record. Restores stay in the controller: the `job`
 * subcommand hands a restore to the controller API anyway (src/job/README.md, "Restore").
 */
import type { Logger } from '../lib/logger.js';
import { AppError, errorMessage } from '../lib/errors.js';
import type { NodeRef, PlatformJob, PlatformJobSpec } from '../platform/types.js';
import type { OperationRecord, StatusReader, StatusWriter } from '../status/types.js';

export const PLATFORM_JOB_STEP = 'platform-job';
/** how often a job's phase is read (default) */
export const BACKUP_JOB_POLL_MS = 5_000;
/** consecutive failed reads of a job's phase before the record is failed */
const MAX_READ_FAILURES = 60;

/** Where backups run when not in the controller. */
export interface BackupJobLauncher {
  /** for messages, e.g. "cron workload manticore-backup" */
  description: string;
  start(spec: PlatformJobSpec): Promise<PlatformJob>;
  get(id: string): Promise<PlatformJob>;
  /** poll period of a job's phase (default BACKUP_JOB_POLL_MS) */
  pollMs?: number;
}

export interface BackupJobEnv {
  clusterName: string;
  status: StatusReader & StatusWriter;
  logger: Logger;
  now(): number;
  prefix: string;
  jobs: BackupJobLauncher;
  /** poll period of the job's phase (default: the launcher's, else BACKUP_JOB_POLL_MS) */
  jobPollMs?: number;
}

export interface BackupJobRequest {
  operation: OperationRecord;
  table: string;
  type: 'delta' | 'main';
  slot?: string;
  /** the node the job backs up (primary + synced, holds the table) */
  node: NodeRef;
}

/** The `job` subcommand's env for a backup of `table` from `node`. */
export function backupJobEnv(env: Pick<BackupJobEnv, 'clusterName' | 'prefix'>, req: Omit<BackupJobRequest, 'operation'>): Record<string, string> {
  const agentPort = new URL(req.node.agentUrl).port || '80';
  return {
    ACTION: 'backup',
    DATASET: req.table,
    TYPE: req.type,
    ...(req.slot !== undefined ? { SLOT: req.slot } : {}),
    MANTICORE_HOST: req.node.mysql.host,
    MANTICORE_MYSQL_PORT: String(req.node.mysql.port),
    AGENT_PORT: agentPort,
    CLUSTER_NAME: env.clusterName,
    BACKUP_PREFIX: env.prefix,
  };
}

/** The platform job id recorded in an operation, when it ran as one. */
export function platformJobIdOf(op: OperationRecord): string | undefined {
  const step = op.steps.find((s) => s.name === PLATFORM_JOB_STEP);
  return step?.message ? /^platform job (\S+)/.exec(step.message)?.[1] : undefined;
}

/** Starts the job and records it; the record then follows the job. CONFLICT from the platform → BACKUP_IN_PROGRESS. */
export async function startBackupJob(env: BackupJobEnv, req: BackupJobRequest): Promise<OperationRecord> {
  const spec: PlatformJobSpec = { action: 'backup', table: req.table, env: backupJobEnv(env, req) };
  let job: PlatformJob;
  try {
    job = await env.jobs.start(spec);
  } catch (err) {
    if (err instanceof AppError && err.code === 'CONFLICT') throw new AppError('BACKUP_IN_PROGRESS', `a backup of ${req.table} already runs on the platform: ${err.message}`, { cause: err, details: err.details });
    throw err;
  }
  const at = new Date(env.now()).toISOString();
  const op: OperationRecord = structuredClone(req.operation);
  op.steps.push({ name: PLATFORM_JOB_STEP, state: 'running', startedAt: at, message: `platform job ${job.id} (${env.jobs.description}) backs up from ${req.node.name}: ${job.phase}` });
  env.status.upsertOperation(op);
  env.logger.info('backup handed to a platform job', { operationId: op.id, jobId: job.id, table: req.table, node: req.node.name, where: env.jobs.description });
  followBackupJob(env, op.id, job.id);
  return env.status.operation(op.id) ?? op;
}

const following = new WeakMap<object, Set<string>>();

/** Polls the job until it ends and mirrors its phase into the record (once per operation per status store). */
export function followBackupJob(env: BackupJobEnv, operationId: string, jobId: string): void {
  let set = following.get(env.status);
  if (!set) {
    set = new Set();
    following.set(env.status, set);
  }
  if (set.has(operationId)) return;
  set.add(operationId);
  const done = set;
  let failures = 0;
  const every = env.jobPollMs ?? env.jobs.pollMs ?? BACKUP_JOB_POLL_MS;
  const poll = async (): Promise<boolean> => {
    const op = env.status.operation(operationId);
    if (!op || (op.state !== 'running' && op.state !== 'pending')) return true;
    let job: PlatformJob;
    try {
      job = await env.jobs.get(jobId);
      failures = 0;
    } catch (err) {
      failures++;
      const gone = err instanceof AppError && err.code === 'NOT_FOUND';
      env.logger.warn('platform job not read', { operationId, jobId, err: errorMessage(err), failures });
      if (!gone && failures < MAX_READ_FAILURES) return false;
      finish(env, operationId, 'failed', `platform job ${jobId} cannot be read: ${errorMessage(err)}`);
      return true;
    }
    if (job.phase === 'succeeded') {
      finish(env, operationId, 'succeeded', job.message);
      return true;
    }
    if (job.phase === 'failed') {
      finish(env, operationId, 'failed', job.message ?? 'the job failed');
      return true;
    }
    const cur = env.status.operation(operationId);
    const step = cur?.steps.find((s) => s.name === PLATFORM_JOB_STEP);
    const message = `platform job ${jobId} (${env.jobs.description}): ${job.phase}${job.message ? ` (${job.message})` : ''}`;
    if (cur && step && step.message !== message) {
      const next = structuredClone(cur);
      const s = next.steps.find((x) => x.name === PLATFORM_JOB_STEP);
      if (s) s.message = message;
      env.status.upsertOperation(next);
    }
    return false;
  };
  const tick = () => {
    poll().then(
      (stop) => {
        if (stop) done.delete(operationId);
        else setTimeout(tick, every).unref();
      },
      (err: unknown) => {
        env.logger.error('following a platform job failed', { operationId, jobId, err: errorMessage(err) });
        setTimeout(tick, every).unref();
      },
    );
  };
  setTimeout(tick, every).unref();
}

function finish(env: BackupJobEnv, operationId: string, state: 'succeeded' | 'failed', message: string | undefined): void {
  const cur = env.status.operation(operationId);
  if (!cur) return;
  const op = structuredClone(cur);
  const now = new Date(env.now()).toISOString();
  const jobId = platformJobIdOf(op) ?? '?';
  const step = op.steps.find((s) => s.name === PLATFORM_JOB_STEP);
  if (step) {
    step.state = state;
    step.finishedAt = now;
    step.message = `platform job ${jobId} (${env.jobs.description}): ${state}${message ? ` (${message})` : ''}`;
  }
  op.state = state;
  op.finishedAt = now;
  op.figures = { ...(op.figures ?? {}), durationMs: Math.max(0, env.now() - Date.parse(op.requestedAt)) };
  if (state === 'succeeded') op.outcome = `${op.target ?? 'the table'} backed up by platform job ${jobId} on ${env.jobs.description}`;
  else op.error = `platform job ${jobId} on ${env.jobs.description} failed${message ? `: ${message}` : ''}`;
  env.status.upsertOperation(op);
  env.logger.info('backup platform job finished', { operationId, jobId, state });
}
