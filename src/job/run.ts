/**
 * The `job` subcommand's work (src/job/README.md): one backup or one restore, driven by the original
 * backup container's env contract (src/config/job.ts).
 *
 * backup   runs src/backup's runBackup against the one node at MANTICORE_HOST (searchd on
 *          MANTICORE_MYSQL_PORT, agent on AGENT_PORT): the node must be primary + synced and hold the
 *          table; the agent runs manticore-backup into `<SHARED_VOLUME_MOUNT>/backups/<DATASET>/<ts>`,
 *          the job streams the tar.gz of that directory to `<BACKUP_PREFIX>/<table>-<ts>.tar.gz` and
 *          writes `<archive>.manifest.json`, then removes the directory.
 * restore  checks RESTORE_FILE in the bucket before anything changes (an archive of DATASET/TYPE; the
 *          whole archive read: sha256 equal to its manifest's, not truncated, no unsafe entry, holds
 *          the table's `.meta`), then hands the restore to the controller at ORCHESTRATOR_API_URL
 *          (`POST /api/restore {tableName, filename, type}`) and follows the operation until it ends.
 *          The controller carries it out on every node with its persisted restore machine (main: into
 *          the inactive slot, then the rotation), so the job never drops a table itself.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AgentClient } from '../agent/client.js';
import { runBackup, snapshotJobId, type BackupOutcome } from '../backup/backup.js';
import { manifestKey, objectKey } from '../backup/names.js';
import type { ArchiveTools, BackupDeps, BackupManifest, BackupStore } from '../backup/types.js';
import type { JobConfig } from '../config/job.js';
import { AppError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { ManticorePools } from '../manticore/client.js';
import type { NodeRef } from '../platform/types.js';
import { inspectArchive, packDirectory, unpackArchive } from '../storage/archive.js';
import { createObjectStore } from '../storage/index.js';
import type { StoreConfig } from '../storage/types.js';
import type { OperationRecord } from '../status/types.js';

/** How long the job follows a restore the controller runs. */
export const RESTORE_FOLLOW_TIMEOUT_MS = 6 * 3_600_000;
export const RESTORE_POLL_MS = 2_000;
/** per request to the controller API */
export const API_REQUEST_TIMEOUT_MS = 30_000;

export interface JobRunOptions {
  logger: Logger;
  signal?: AbortSignal;
  /** a store built by the caller (tests); default: from BACKUP_PROVIDER and friends */
  store?: BackupStore;
  /** agent job poll interval (default 500 ms) */
  pollMs?: number;
  /** controller operation poll interval (default RESTORE_POLL_MS) */
  restorePollMs?: number;
  now?: () => number;
}

export type JobResult =
  | { action: 'backup'; table: string; archiveKey: string; manifestKey: string; archiveBytes: number; rows: number; sha256: string; durationMs: number }
  | { action: 'restore'; table: string; archiveKey: string; operationId: string; state: string; durationMs: number };

export function jobStoreConfig(cfg: JobConfig): StoreConfig {
  const c: StoreConfig = { provider: cfg.provider, bucket: cfg.bucket, prefix: cfg.prefix };
  if (cfg.region !== undefined) c.region = cfg.region;
  if (cfg.endpoint !== undefined) c.endpoint = cfg.endpoint;
  if (cfg.provider === 'local') c.localDir = cfg.bucket;
  return c;
}

/** The node the job drives: MANTICORE_HOST with its MySQL and agent ports. */
export function jobNode(cfg: JobConfig): NodeRef {
  return {
    name: cfg.manticoreHost,
    ordinal: 0,
    mysql: { host: cfg.manticoreHost, port: cfg.mysqlPort },
    apiAddress: `${cfg.manticoreHost}:9312`,
    agentUrl: `http://${cfg.manticoreHost}:${cfg.agentPort}`,
  };
}

const ARCHIVE_TOOLS: ArchiveTools = {
  packDirectory: (dir) => packDirectory(dir),
  unpackArchive: (stream, dest) => unpackArchive(stream, dest),
  inspectArchive: (stream) => inspectArchive(stream),
};

export async function runJob(cfg: JobConfig, o: JobRunOptions): Promise<JobResult> {
  const store = o.store ?? (createObjectStore(jobStoreConfig(cfg)) as BackupStore);
  o.logger.info('job started', { action: cfg.action, dataset: cfg.dataset, type: cfg.type, slot: cfg.slot, store: store.description, host: cfg.manticoreHost });
  return cfg.action === 'backup' ? runBackupJob(cfg, store, o) : runRestoreJob(cfg, store, o);
}

async function runBackupJob(cfg: JobConfig, store: BackupStore, o: JobRunOptions): Promise<JobResult> {
  const started = (o.now ?? Date.now)();
  const pools = new ManticorePools({ logger: o.logger });
  const node = jobNode(cfg);
  const agent = new AgentClient({ baseUrl: node.agentUrl, token: cfg.token });
  const deps: BackupDeps = {
    store,
    archive: ARCHIVE_TOOLS,
    prefix: cfg.prefix,
    clusterName: cfg.clusterName,
    sharedDir: cfg.sharedDir,
    nodes: () => [node],
    sql: (n) => pools.get(`${n.mysql.host}:${n.mysql.port}`),
    agent: () => agent,
    logger: o.logger,
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
  };
  const operationId = `job-${cfg.dataset}-${started}-${randomBytes(3).toString('hex')}`;
  let outcome: BackupOutcome;
  try {
    outcome = await runBackup(
      {
        operationId,
        table: cfg.dataset,
        type: cfg.type,
        ...(cfg.type === 'main' && cfg.slot !== undefined ? { slot: cfg.slot } : {}),
        startedAt: started,
      },
      deps,
      o.signal,
    );
  } catch (err) {
    if (o.signal?.aborted) {
      // SIGTERM: stop manticore-backup on the node too (the agent unfreezes the table whatever happens)
      await agent.cancelJob(snapshotJobId(operationId, node.name)).catch(() => undefined);
    }
    throw err;
  } finally {
    await pools.closeAll();
  }
  const result: JobResult = {
    action: 'backup',
    table: outcome.plan.fullTable,
    archiveKey: outcome.upload.archiveKey,
    manifestKey: outcome.upload.manifestKey,
    archiveBytes: outcome.upload.archiveBytes,
    rows: outcome.snapshot.rows,
    sha256: outcome.upload.sha256,
    durationMs: (o.now ?? Date.now)() - started,
  };
  o.logger.info('backup done', result);
  return result;
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString('utf8');
}

/** Checks RESTORE_FILE in the bucket (nothing is changed anywhere); returns the archive key. */
export async function verifyRestoreFile(cfg: JobConfig, store: BackupStore, logger: Logger, signal?: AbortSignal): Promise<{ archiveKey: string; manifest?: BackupManifest }> {
  const file = cfg.restoreFile;
  if (file === undefined) throw new AppError('JOB_CONFIG_INVALID', 'RESTORE_FILE: is required for ACTION=restore');
  const archiveKey = objectKey(cfg.prefix, file);
  const head = await store.head(archiveKey);
  if (head === undefined) throw new AppError('BACKUP_NOT_FOUND', `RESTORE_FILE: no object ${archiveKey} in ${store.description}: list the archives with GET /api/backups/files?tableName=${cfg.dataset}`);
  let manifest: BackupManifest | undefined;
  const mKey = manifestKey(archiveKey);
  if ((await store.head(mKey)) !== undefined) {
    try {
      manifest = JSON.parse(await readText(await store.get(mKey))) as BackupManifest;
    } catch (err) {
      throw new AppError('MANIFEST_INVALID', `the manifest ${mKey} is not JSON: ${errorMessage(err)}`);
    }
  } else {
    logger.warn('restore: the archive has no manifest (an archive of the original system?): its checksum cannot be checked', { archiveKey });
  }
  const sourceTable = file.slice(0, file.length - '-YYYY-MM-DDTHH-MM-SSZ.tar.gz'.length);
  const inspected = await inspectArchive(await store.get(archiveKey), signal ? { signal } : {}).catch((err: unknown) => {
    throw new AppError('ARCHIVE_INVALID', `${archiveKey} is not a readable tar.gz (corrupted or truncated): ${errorMessage(err)}; nothing was changed`, { cause: err });
  });
  if (manifest?.sha256 !== undefined && manifest.sha256 !== inspected.sha256) {
    throw new AppError('ARCHIVE_CHECKSUM_MISMATCH', `${archiveKey} has sha256 ${inspected.sha256}, its manifest says ${manifest.sha256}: the archive is damaged; nothing was changed`);
  }
  if (!inspected.entries.some((e) => e.type === 'file' && (e.name === `${sourceTable}.meta` || e.name.endsWith(`/${sourceTable}.meta`)))) {
    throw new AppError('ARCHIVE_INVALID', `${archiveKey} holds no ${sourceTable}.meta: it is not a manticore-backup of ${sourceTable}; nothing was changed`);
  }
  logger.info('restore: archive checked', { archiveKey, bytes: inspected.compressedBytes, files: inspected.files, sha256: inspected.sha256, manifest: manifest !== undefined });
  return manifest === undefined ? { archiveKey } : { archiveKey, manifest };
}

interface ApiEnvelope {
  data?: unknown;
  error?: { code?: string; message?: string };
  [k: string]: unknown;
}

async function api(cfg: JobConfig, method: 'GET' | 'POST', route: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; json: ApiEnvelope }> {
  const url = `${cfg.apiUrl}${route}`;
  const timeout = AbortSignal.timeout(API_REQUEST_TIMEOUT_MS);
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${cfg.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  }).catch((err: unknown) => {
    throw new AppError('API_UNREACHABLE', `${method} ${url}: ${errorMessage(err)}`, { retryable: true, cause: err });
  });
  const text = await res.text();
  let json: ApiEnvelope;
  try {
    json = text === '' ? {} : (JSON.parse(text) as ApiEnvelope);
  } catch {
    json = { error: { message: text.slice(0, 300) } };
  }
  return { status: res.status, json };
}

function operationIdOf(json: ApiEnvelope): string | undefined {
  const data = (typeof json.data === 'object' && json.data !== null ? json.data : {}) as Record<string, unknown>;
  for (const v of [json['operationId'], json['commandId'], json['id'], data['operationId'], data['id']]) if (typeof v === 'string' && v !== '') return v;
  return undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AppError('ABORTED', 'aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new AppError('ABORTED', 'aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function runRestoreJob(cfg: JobConfig, store: BackupStore, o: JobRunOptions): Promise<JobResult> {
  const now = o.now ?? Date.now;
  const started = now();
  const { archiveKey } = await verifyRestoreFile(cfg, store, o.logger, o.signal);
  const requestedAt = new Date(started - 5_000).toISOString();
  const posted = await api(cfg, 'POST', '/api/restore', { tableName: cfg.dataset, filename: cfg.restoreFile, type: cfg.type }, o.signal);
  if (posted.status >= 300) {
    const e = posted.json.error;
    throw new AppError(e?.code ?? 'RESTORE_REFUSED', `the controller refused the restore (HTTP ${posted.status}): ${e?.message ?? JSON.stringify(posted.json).slice(0, 300)}`);
  }
  let operationId = operationIdOf(posted.json);
  o.logger.info('restore handed to the controller', { api: cfg.apiUrl, table: cfg.dataset, file: cfg.restoreFile, operationId });
  const deadline = now() + RESTORE_FOLLOW_TIMEOUT_MS;
  let failures = 0;
  for (;;) {
    await sleep(o.restorePollMs ?? RESTORE_POLL_MS, o.signal);
    let op: OperationRecord | undefined;
    try {
      if (operationId === undefined) {
        // an API that answers without an id (the original's shape): the newest restore of the table since we asked
        const list = await api(cfg, 'GET', '/api/operations', undefined, o.signal);
        const ops = (Array.isArray(list.json.data) ? list.json.data : []) as OperationRecord[];
        op = ops
          .filter((x) => x.kind === 'restore' && (x.target === cfg.dataset || x.key.endsWith(`/${cfg.dataset}`)) && x.requestedAt >= requestedAt)
          .sort((a, b) => (a.requestedAt < b.requestedAt ? 1 : -1))[0];
        operationId = op?.id;
      } else {
        const got = await api(cfg, 'GET', `/api/operations/${encodeURIComponent(operationId)}`, undefined, o.signal);
        if (got.status === 200) op = got.json.data as OperationRecord;
      }
      failures = 0;
    } catch (err) {
      if (++failures >= 10) throw err;
      o.logger.warn('restore: the controller API did not answer; retrying', { err: errorMessage(err), failures });
    }
    if (op !== undefined && op.state !== 'pending' && op.state !== 'running') {
      const result: JobResult = { action: 'restore', table: cfg.dataset, archiveKey, operationId: op.id, state: op.state, durationMs: now() - started };
      if (op.state !== 'succeeded') throw new AppError('RESTORE_FAILED', `restore ${op.id} ${op.state}: ${op.error ?? op.outcome ?? 'no reason given'}`, { details: result });
      o.logger.info('restore done', result);
      return result;
    }
    if (now() > deadline) throw new AppError('RESTORE_TIMEOUT', `restore ${operationId ?? '(no id yet)'} did not finish within ${RESTORE_FOLLOW_TIMEOUT_MS / 3_600_000} h; it may still be running on the controller`);
  }
}
