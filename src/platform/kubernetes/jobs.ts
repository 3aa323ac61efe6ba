/**
 * PlatformJobs over batch/v1 Jobs (deployment.md §4.3): one Job per backup/restore/import/repair, built
 * from a template, running the `job` subcommand (src/job) with the spec's env on top of the bucket
 * credentials Secret (envFrom, optional) and the admin token (secretKeyRef). Labels name the action and
 * the table, so "is one running?" is a label-selector list, not an env scan:
 *   app.kubernetes.io/name=manticore-orchestrator, app.kubernetes.io/component=orchestrator-job,
 *   app.kubernetes.io/instance=<statefulset>, app.kubernetes.io/managed-by=manticore-orchestrator,
 *   manticore.orchestrator.dev/action=<action>, manticore.orchestrator.dev/table=<table>.
 * start() refuses (CONFLICT) while a Job of the same action and table is pending or running.
 * backoffLimit 0 (a failed backup is reported, not retried blindly), activeDeadlineSeconds 4 h (the
 * original's budget), ttlSecondsAfterFinished 1 day.
 */
import { AppError } from '../../lib/errors.js';
import type { PlatformJob, PlatformJobAction, PlatformJobPhase, PlatformJobs, PlatformJobSpec } from '../types.js';
import type { KubeList, KubeObject, KubeRest } from './rest.js';

export const LABEL_ACTION = 'manticore.orchestrator.dev/action';
export const LABEL_TABLE = 'manticore.orchestrator.dev/table';
export const JOB_COMPONENT = 'orchestrator-job';
export const JOB_ACTIVE_DEADLINE_SECONDS = 14_400;
export const JOB_TTL_SECONDS = 86_400;
/** the `job` subcommand inside the image (Dockerfile: the app lives in /app) */
export const JOB_ENTRY = '/app/dist/src/bin/job.js';

export interface KubeJob extends KubeObject {
  spec?: Record<string, unknown>;
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }>;
  };
}

export interface KubernetesJobsOptions {
  rest: KubeRest;
  namespace: string;
  /** the StatefulSet: app.kubernetes.io/instance of every Job */
  instance: string;
  /** image running the `job` subcommand; resolved lazily (the controller's own image by default) */
  image: () => Promise<string>;
  serviceAccount: string;
  /** Secret whose keys become env (bucket credentials); optional in the pod spec */
  envSecret: string;
  /** Secret and key of the admin token, passed as AUTH_TOKEN */
  tokenSecret?: { name: string; key: string };
  /** RWX claim mounted at `shared.path` (the agent's manticore-backup writes there, the job reads it): the same
   * path as in the Manticore pods, passed as SHARED_VOLUME_MOUNT; none when undefined */
  shared?: { claim: string; path: string };
  now?: () => number;
}

const ACTIONS: readonly PlatformJobAction[] = ['backup', 'restore', 'import', 'repair'];

function phaseOf(job: KubeJob): { phase: PlatformJobPhase; message?: string } {
  const s = job.status ?? {};
  const cond = (type: string) => s.conditions?.find((c) => c.type === type && c.status === 'True');
  const failed = cond('Failed');
  if (cond('Complete') !== undefined || cond('SuccessCriteriaMet') !== undefined) return { phase: 'succeeded' };
  if (failed !== undefined) return { phase: 'failed', message: [failed.reason, failed.message].filter(Boolean).join(': ') };
  if ((s.active ?? 0) > 0) return { phase: 'running' };
  if ((s.failed ?? 0) > 0) return { phase: 'failed', message: 'the job pod failed' };
  return { phase: 'pending' };
}

export function toPlatformJob(job: KubeJob): PlatformJob {
  const labels = job.metadata.labels ?? {};
  const action = labels[LABEL_ACTION] as PlatformJobAction | undefined;
  const { phase, message } = phaseOf(job);
  const out: PlatformJob = { id: job.metadata.name, action: action !== undefined && ACTIONS.includes(action) ? action : 'backup', phase };
  const table = labels[LABEL_TABLE];
  if (table !== undefined && table !== '') out.table = table;
  if (message !== undefined && message !== '') out.message = message;
  const startedAt = job.status?.startTime ?? job.metadata.creationTimestamp;
  if (startedAt !== undefined) out.startedAt = startedAt;
  const finished = job.status?.completionTime ?? job.status?.conditions?.find((c) => (c.type === 'Failed' || c.type === 'Complete') && c.status === 'True')?.lastTransitionTime;
  if (finished !== undefined && (phase === 'succeeded' || phase === 'failed')) out.finishedAt = finished;
  return out;
}

export class KubernetesJobs implements PlatformJobs {
  constructor(private readonly o: KubernetesJobsOptions) {}

  private get path(): string {
    return `/apis/batch/v1/namespaces/${this.o.namespace}/jobs`;
  }

  private selector(): string {
    return `app.kubernetes.io/component=${JOB_COMPONENT},app.kubernetes.io/instance=${this.o.instance}`;
  }

  async listActive(): Promise<PlatformJob[]> {
    const list = await this.o.rest.get<KubeList<KubeJob>>(this.path, { labelSelector: this.selector() });
    return (list.items ?? []).map(toPlatformJob).filter((j) => j.phase === 'pending' || j.phase === 'running');
  }

  async get(id: string): Promise<PlatformJob> {
    return toPlatformJob(await this.o.rest.get<KubeJob>(`${this.path}/${encodeURIComponent(id)}`));
  }

  async start(spec: PlatformJobSpec): Promise<PlatformJob> {
    if (!ACTIONS.includes(spec.action)) throw new AppError('VALIDATION_FAILED', `action '${spec.action}' is not one of ${ACTIONS.join(', ')}`);
    if (spec.table !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(spec.table)) {
      throw new AppError('VALIDATION_FAILED', `table '${spec.table}' is not a base table name (lower-case letters, digits, '_')`);
    }
    const clash = (await this.listActive()).find((j) => j.action === spec.action && (j.table ?? '') === (spec.table ?? ''));
    if (clash !== undefined) {
      throw new AppError('CONFLICT', `a ${clash.action} job${clash.table ? ` of ${clash.table}` : ''} is already ${clash.phase} (Job ${clash.id}): wait for it to finish`, {
        details: { job: clash.id },
      });
    }
    const created = await this.o.rest.post<KubeJob>(this.path, await this.manifest(spec));
    return toPlatformJob(created);
  }

  /** The Job object for a spec (exported shape for tests and docs). */
  async manifest(spec: PlatformJobSpec): Promise<KubeJob> {
    const now = (this.o.now ?? Date.now)();
    const stamp = `${now.toString(36)}${Math.floor(Math.random() * 1296).toString(36).padStart(2, '0')}`;
    const base = `mo-${spec.action}${spec.table ? `-${spec.table.replace(/_/g, '-')}` : ''}`.slice(0, 63 - stamp.length - 1).replace(/-+$/, '');
    const labels: Record<string, string> = {
      'app.kubernetes.io/name': 'manticore-orchestrator',
      'app.kubernetes.io/component': JOB_COMPONENT,
      'app.kubernetes.io/instance': this.o.instance,
      'app.kubernetes.io/managed-by': 'manticore-orchestrator',
      [LABEL_ACTION]: spec.action,
      ...(spec.table === undefined ? {} : { [LABEL_TABLE]: spec.table }),
    };
    const env: Array<Record<string, unknown>> = [{ name: 'ACTION', value: spec.action }];
    if (spec.table !== undefined && spec.env.DATASET === undefined) env.push({ name: 'DATASET', value: spec.table });
    for (const [name, value] of Object.entries(spec.env)) if (name !== 'ACTION') env.push({ name, value });
    const token = this.o.tokenSecret ?? { name: 'manticore-orchestrator-token', key: 'token' };
    if (spec.env.AUTH_TOKEN === undefined) env.push({ name: 'AUTH_TOKEN', valueFrom: { secretKeyRef: { name: token.name, key: token.key } } });
    const shared = this.o.shared;
    if (shared !== undefined && spec.env.SHARED_VOLUME_MOUNT === undefined) env.push({ name: 'SHARED_VOLUME_MOUNT', value: shared.path });
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: `${base}-${stamp}`, namespace: this.o.namespace, labels },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: JOB_ACTIVE_DEADLINE_SECONDS,
        ttlSecondsAfterFinished: JOB_TTL_SECONDS,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'Never',
            serviceAccountName: this.o.serviceAccount,
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 },
            containers: [
              {
                name: 'job',
                image: await this.o.image(),
                command: ['node', JOB_ENTRY],
                env,
                envFrom: [{ secretRef: { name: this.o.envSecret, optional: true } }],
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...(shared === undefined ? [] : [{ name: 'shared', mountPath: shared.path }])],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: {} }, ...(shared === undefined ? [] : [{ name: 'shared', persistentVolumeClaim: { claimName: shared.claim } }])],
          },
        },
      },
    };
  }
}
