/**
 * The `job` subcommand's configuration: the original backup container's env contract
 * (original-system.md section 1.5) plus a few optional additions. Every missing or invalid variable
 * is reported at once, each by name with its fix; the entry point prints them and exits 1.
 *
 * | env | default | meaning |
 * |---|---|---|
 * | `ACTION` | required | `backup` or `restore` |
 * | `AUTH_TOKEN` | required | bearer token of the agent and of the controller API |
 * | `DATASET` | required | base table name |
 * | `TYPE` | `delta` | `delta` or `main` |
 * | `SLOT` | required when `TYPE=main` | backup: the slot to back up; restore: accepted for compatibility (the controller restores into the inactive slot) |
 * | `MANTICORE_HOST` | required | host of the agent (and searchd) to drive |
 * | `AGENT_PORT` | `8080` | agent port on MANTICORE_HOST |
 * | `MANTICORE_MYSQL_PORT` | `9306` | searchd MySQL port on MANTICORE_HOST (row count, schema, version for the manifest) |
 * | `CLUSTER_NAME` | `manticore` | replication cluster the node must be primary + synced in |
 * | `SHARED_VOLUME_MOUNT` | `/mnt/shared` | the shared filesystem the agents mount at the same path |
 * | `BACKUP_PROVIDER` | required | `aws` (or `s3`), `gcp` (or `gcs`), `local` (BACKUP_BUCKET is then a directory) |
 * | `BACKUP_BUCKET` | required | bucket (directory for `local`) |
 * | `BACKUP_PREFIX` | required | key prefix |
 * | `BACKUP_REGION` | "" | S3 region |
 * | `BACKUP_ENDPOINT` | "" | S3-compatible or GCS endpoint (MinIO, an emulator) |
 * | `RESTORE_FILE` | required for restore | archive file name under the prefix, of DATASET and TYPE |
 * | `BACKUP_SLOT` | "" | restore of main: the slot in the archive's name (checked against RESTORE_FILE) |
 * | `ORCHESTRATOR_API_URL` | required for restore | the controller API the restore is handed to |
 * | `LOG_LEVEL` | `info` | error, warn, info, debug |
 */
import { baseNameProblem, isSlot, type Slot } from '../domain/names.js';
import { AppError, errorMessage } from '../lib/errors.js';
import { parsePortValue, type Env } from './source.js';

export type JobAction = 'backup' | 'restore';
export type JobStoreProvider = 'aws' | 's3' | 'gcp' | 'gcs' | 'local';

export interface JobConfig {
  action: JobAction;
  token: string;
  dataset: string;
  type: 'delta' | 'main';
  /** TYPE=main: the slot to back up, or the target the caller asked for (restore) */
  slot?: Slot;
  manticoreHost: string;
  agentPort: number;
  mysqlPort: number;
  clusterName: string;
  sharedDir: string;
  provider: JobStoreProvider;
  bucket: string;
  prefix: string;
  region?: string;
  endpoint?: string;
  restoreFile?: string;
  backupSlot?: Slot;
  apiUrl?: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
}

export interface JobConfigProblem {
  variable: string;
  message: string;
}

/** Every problem of the job's environment at once; `problems` names each variable. */
export class JobConfigError extends AppError {
  readonly problems: JobConfigProblem[];
  constructor(problems: JobConfigProblem[]) {
    super('JOB_CONFIG_INVALID', `the job's environment has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`, {
      details: { problems },
    });
    this.name = 'JobConfigError';
    this.problems = problems;
  }
}

const PROVIDERS: readonly JobStoreProvider[] = ['aws', 's3', 'gcp', 'gcs', 'local'];
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/;

/** Reads and checks the job's env; throws JobConfigError listing every missing or invalid variable. */
export function loadJobConfig(env: Env): JobConfig {
  const problems: JobConfigProblem[] = [];
  const bad = (variable: string, message: string): void => {
    problems.push({ variable, message });
  };
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const required = (name: string, example: string): string | undefined => {
    const v = get(name);
    if (v === undefined) bad(name, `is required: set it, e.g. ${name}=${example}`);
    return v;
  };

  const actionRaw = required('ACTION', 'backup');
  let action: JobAction | undefined;
  if (actionRaw !== undefined) {
    if (actionRaw === 'backup' || actionRaw === 'restore') action = actionRaw;
    else bad('ACTION', `'${actionRaw}' is not an action: use backup or restore`);
  }
  const token = required('AUTH_TOKEN', '<the orchestrator token>');

  const dataset = required('DATASET', 'products');
  if (dataset !== undefined) {
    const p = baseNameProblem(dataset);
    if (p !== undefined) bad('DATASET', p);
  }

  const typeRaw = get('TYPE') ?? 'delta';
  let type: 'delta' | 'main' | undefined;
  if (typeRaw === 'delta' || typeRaw === 'main') type = typeRaw;
  else bad('TYPE', `'${typeRaw}' is not a backup type: use delta or main`);

  const slotRaw = get('SLOT');
  let slot: Slot | undefined;
  if (slotRaw !== undefined) {
    if (isSlot(slotRaw)) slot = slotRaw;
    else bad('SLOT', `'${slotRaw}' is not a slot: use a or b`);
  } else if (type === 'main') {
    bad('SLOT', 'is required when TYPE=main: set the main slot, a or b (the active one for a backup)');
  }

  const manticoreHost = required('MANTICORE_HOST', 'manticore-0.manticore');
  if (manticoreHost !== undefined && !/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(manticoreHost)) {
    bad('MANTICORE_HOST', `'${manticoreHost}' is not a host name or address: give the host only, without scheme or port, e.g. manticore-0.manticore`);
  }
  const port = (name: string, fallback: number): number => {
    const v = get(name);
    if (v === undefined) return fallback;
    try {
      return parsePortValue(v, name);
    } catch (err) {
      bad(name, errorMessage(err).replace(`${name}: `, ''));
      return fallback;
    }
  };
  const agentPort = port('AGENT_PORT', 8080);
  const mysqlPort = port('MANTICORE_MYSQL_PORT', 9306);
  const clusterName = get('CLUSTER_NAME') ?? 'manticore';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(clusterName)) bad('CLUSTER_NAME', `'${clusterName}' is not a cluster name: letters, digits and underscores, e.g. manticore`);

  const sharedDir = get('SHARED_VOLUME_MOUNT') ?? '/mnt/shared';
  if (!sharedDir.startsWith('/')) bad('SHARED_VOLUME_MOUNT', `'${sharedDir}' is not an absolute path: give the mount point, e.g. /mnt/shared`);

  const providerRaw = required('BACKUP_PROVIDER', 'aws');
  let provider: JobStoreProvider | undefined;
  if (providerRaw !== undefined) {
    const p = providerRaw.toLowerCase();
    if ((PROVIDERS as readonly string[]).includes(p)) provider = p as JobStoreProvider;
    else bad('BACKUP_PROVIDER', `'${providerRaw}' is not a provider: use aws (S3) or gcp (GCS), or local`);
  }
  const bucket = required('BACKUP_BUCKET', provider === 'local' ? '/var/backups/manticore' : 'my-backups');
  if (bucket !== undefined && provider === 'local' && !bucket.startsWith('/')) {
    bad('BACKUP_BUCKET', `with BACKUP_PROVIDER=local it is the directory of the objects and must be absolute: got '${bucket}'`);
  }
  const prefix = required('BACKUP_PREFIX', 'manticore');
  const region = get('BACKUP_REGION');
  const endpoint = get('BACKUP_ENDPOINT');
  if (endpoint !== undefined && !isHttpUrl(endpoint)) bad('BACKUP_ENDPOINT', `'${endpoint}' is not an http(s) URL: e.g. http://minio:9000`);

  const restoreFile = get('RESTORE_FILE');
  const backupSlotRaw = get('BACKUP_SLOT');
  let backupSlot: Slot | undefined;
  if (backupSlotRaw !== undefined) {
    if (isSlot(backupSlotRaw)) backupSlot = backupSlotRaw;
    else bad('BACKUP_SLOT', `'${backupSlotRaw}' is not a slot: use a or b, or leave it unset (it is read from RESTORE_FILE)`);
  }
  const apiUrl = get('ORCHESTRATOR_API_URL');
  if (apiUrl !== undefined && !isHttpUrl(apiUrl)) bad('ORCHESTRATOR_API_URL', `'${apiUrl}' is not an http(s) URL: e.g. http://orchestrator-api:8080`);

  if (action === 'restore') {
    if (restoreFile === undefined) {
      bad('RESTORE_FILE', `is required for ACTION=restore: name the archive under BACKUP_PREFIX, e.g. RESTORE_FILE=${dataset ?? 'products'}_delta-2025-01-28T22-50-49Z.tar.gz`);
    } else if (dataset !== undefined && type !== undefined) {
      const p = restoreFileProblem(restoreFile, dataset, type, backupSlot);
      if (p !== undefined) bad('RESTORE_FILE', p);
    }
    if (apiUrl === undefined) bad('ORCHESTRATOR_API_URL', 'is required for ACTION=restore (the controller carries the restore out): e.g. ORCHESTRATOR_API_URL=http://orchestrator-api:8080');
  }

  const levelRaw = (get('LOG_LEVEL') ?? 'info').toLowerCase();
  const logLevel = (['error', 'warn', 'info', 'debug'] as const).find((l) => l === levelRaw);
  if (logLevel === undefined) bad('LOG_LEVEL', `'${levelRaw}' is not a level: use error, warn, info or debug`);

  if (problems.length > 0) throw new JobConfigError(problems);
  // every required value is present when there is no problem
  const cfg: JobConfig = {
    action: action as JobAction,
    token: token as string,
    dataset: dataset as string,
    type: type as 'delta' | 'main',
    manticoreHost: manticoreHost as string,
    agentPort,
    mysqlPort,
    clusterName,
    sharedDir,
    provider: provider as JobStoreProvider,
    bucket: bucket as string,
    prefix: prefix as string,
    logLevel: logLevel ?? 'info',
  };
  if (slot !== undefined) cfg.slot = slot;
  if (region !== undefined) cfg.region = region;
  if (endpoint !== undefined) cfg.endpoint = endpoint;
  if (restoreFile !== undefined) cfg.restoreFile = restoreFile;
  if (backupSlot !== undefined) cfg.backupSlot = backupSlot;
  if (apiUrl !== undefined) cfg.apiUrl = apiUrl.replace(/\/+$/, '');
  return cfg;
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Why RESTORE_FILE is not an archive of DATASET and TYPE (a bare name, no directories or `..`), or undefined. */
export function restoreFileProblem(file: string, dataset: string, type: 'delta' | 'main', backupSlot?: Slot): string | undefined {
  if (file.includes('/') || file.includes('\\') || file.includes('..') || file.includes('\0')) {
    return `'${file}' must be a bare archive name under BACKUP_PREFIX, without directories or '..'`;
  }
  const m = /^(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)\.tar\.gz$/.exec(file);
  if (!m || !TS_RE.test(m[2] ?? '')) return `'${file}' is not an archive name <table>-YYYY-MM-DDTHH-MM-SSZ.tar.gz`;
  const table = m[1] ?? '';
  if (type === 'delta') {
    if (table !== `${dataset}_delta`) return `'${file}' is a backup of ${table}, not of ${dataset}_delta (DATASET=${dataset}, TYPE=delta)`;
    return undefined;
  }
  const mm = /^(.+)_main_([ab])$/.exec(table);
  if (!mm || mm[1] !== dataset) return `'${file}' is a backup of ${table}, not of ${dataset}_main_a or ${dataset}_main_b (DATASET=${dataset}, TYPE=main)`;
  if (backupSlot !== undefined && mm[2] !== backupSlot) return `'${file}' comes from slot ${mm[2]}, but BACKUP_SLOT=${backupSlot}: unset BACKUP_SLOT or make it ${mm[2]}`;
  return undefined;
}
