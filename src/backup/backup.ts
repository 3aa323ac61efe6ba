/**
 * Backup steps (issue 5 item 2), plain async functions shared by the `backup` machine's actors and
 * the `job` subcommand. Each is safe to repeat: the agent job has a fixed id per operation and node,
 * the object key is fixed by the operation, and the upload overwrites the same key.
 *
 *   chooseBackupNode  one node whose cluster status is primary + synced and that holds the table
 *   snapshotTable     row count, schema and version, then the agent's `backup-table` job (manticore-backup
 *                     into `<shared>/backups/<base>/<ts>`), waited for
 *   uploadBackup      tar.gz of the working dir (the original's archive layout: `backup-<datetime>/
 *                     {config,state,data/<table>,versions.json}`) streamed through sha256 into
 *                     `<prefix>/<table>-<ts>.tar.gz`, then `<same>.manifest.json`
 *   removeWorkDir     removes the working dir
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { managedTableNames, type Slot } from '../domain/names.js';
import { AppError, errorMessage } from '../lib/errors.js';
import { parseClusterStatuses, parseCount, parseDescribe, parseFrozenTables, parseShowStatus, parseShowTables } from '../manticore/parse.js';
import { describe, selectCount, showLocks, showStatus, showStatusVersion, showTables, unfreeze } from '../manticore/sql.js';
import type { NodeRef } from '../platform/types.js';
import { backupArchiveName, backupTimestamp, manifestKey, objectKey } from './names.js';
import type { BackupDeps, BackupManifest, BackupType } from './types.js';

export const BACKUP_TABLE_JOB_KIND = 'backup-table';

export interface BackupParams {
  operationId: string;
  /** base table name (the spec's) */
  table: string;
  type: BackupType;
  /** main only: the slot to back up (the active one) */
  slot?: Slot;
  /** when the backup was requested: names the archive and the working dir */
  startedAt: number;
}

export interface BackupPlan extends BackupParams {
  /** full table name, e.g. products_delta */
  fullTable: string;
  node: string;
  workDir: string;
  archive: string;
  archiveKey: string;
}

export interface SnapshotResult {
  rows: number;
  /** the count was the same before and after manticore-backup (no write in between) */
  rowsExact: boolean;
  schema: BackupManifest['schema'];
  manticoreVersion: string;
  backupDir: string;
  tableFiles: number;
  tableBytes: number;
}

export interface UploadResult {
  archiveKey: string;
  archiveBytes: number;
  sha256: string;
  manifestKey: string;
}

export function fullTableName(base: string, type: BackupType, slot?: Slot): string {
  const names = managedTableNames(base);
  if (type === 'delta') return names.delta;
  if (slot === undefined) throw new AppError('SLOT_UNKNOWN', `a main backup of ${base} needs the active slot`);
  return names.main[slot];
}

export function backupWorkDir(sharedDir: string, base: string, startedAt: number): string {
  return path.join(sharedDir, 'backups', base, backupTimestamp(new Date(startedAt)));
}

export function snapshotJobId(operationId: string, node: string): string {
  return `${operationId}:${node}:backup-table`;
}

function ref(deps: BackupDeps, name: string): NodeRef {
  const n = deps.nodes().find((x) => x.name === name);
  if (!n) throw new AppError('NODE_NOT_LISTED', `node ${name} is not in the platform's node list`, { retryable: true });
  return n;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AppError('ABORTED', 'aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AppError('ABORTED', 'aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The first node (by ordinal) that is primary + synced in the cluster and holds `fullTable`. */
export async function chooseBackupNode(deps: BackupDeps, fullTable: string): Promise<string> {
  const why: string[] = [];
  for (const node of [...deps.nodes()].sort((a, b) => a.ordinal - b.ordinal)) {
    try {
      const sql = deps.sql(node);
      const c = parseClusterStatuses(await sql.query(showStatus('cluster%'), { timeoutMs: 5_000 })).find((x) => x.name === deps.clusterName);
      if (c?.status !== 'primary' || c.nodeState !== 'synced') {
        why.push(`${node.name}: ${c ? `${c.status}/${c.nodeState}` : 'not in the cluster'}`);
        continue;
      }
      const tables = parseShowTables(await sql.query(showTables(), { timeoutMs: 5_000 }));
      if (!tables.some((t) => t.name === fullTable)) {
        why.push(`${node.name}: no table ${fullTable}`);
        continue;
      }
      return node.name;
    } catch (err) {
      why.push(`${node.name}: ${errorMessage(err)}`);
    }
  }
  throw new AppError('NO_HEALTHY_NODE', `no node can back up ${fullTable} (needs primary + synced and the table): ${why.join('; ') || 'no nodes listed'}`, { retryable: true });
}

export function planBackup(deps: BackupDeps, params: BackupParams, node: string): BackupPlan {
  const fullTable = fullTableName(params.table, params.type, params.slot);
  const archive = backupArchiveName(fullTable, new Date(params.startedAt));
  return { ...params, fullTable, node, workDir: backupWorkDir(deps.sharedDir, params.table, params.startedAt), archive, archiveKey: objectKey(deps.prefix, archive) };
}

/** Count, schema and version on the backup node, then the agent's backup-table job, waited for. */
export async function snapshotTable(deps: BackupDeps, plan: BackupPlan, signal?: AbortSignal): Promise<SnapshotResult> {
  const node = ref(deps, plan.node);
  const sql = deps.sql(node);
  const rows = parseCount(await sql.query(selectCount(plan.fullTable), { timeoutMs: 60_000 }));
  if (rows === undefined) throw new AppError('COUNT_FAILED', `SELECT COUNT(*) FROM ${plan.fullTable} on ${plan.node} gave no number`, { retryable: true });
  const schema = parseDescribe(await sql.query(describe(plan.fullTable), { timeoutMs: 10_000 })).map((c) => ({ name: c.name, type: c.type, properties: c.properties }));
  const status = parseShowStatus(await sql.query(showStatusVersion(), { timeoutMs: 5_000 }));
  const manticoreVersion = status['version'] ?? 'unknown';
  const agent = deps.agent(node);
  const base = snapshotJobId(plan.operationId, plan.node);
  let generation = 1;
  let id = base;
  const start = () => agent.startJob({ id, kind: BACKUP_TABLE_JOB_KIND, params: { table: plan.fullTable, backupDir: plan.workDir } }, signal ? { signal } : {});
  let job = await start();
  deps.logger.info('backup: manticore-backup job started', { operationId: plan.operationId, node: plan.node, jobId: id, table: plan.fullTable });
  for (;;) {
    while (job.state === 'pending' || job.state === 'running') {
      await sleep(deps.pollMs ?? 500, signal);
      job = await agent.job(id, signal ? { signal } : {});
    }
    if (!(job.state === 'failed' && LOST_TO_AGENT_RESTART.test(job.error ?? '')) || generation >= BACKUP_JOB_GENERATIONS) break;
    // the restarted agent killed the tool mid-way: unfreeze what it left frozen, drop its partial copy
    // (the whole working dir is archived), and run it again as the next generation of the job
    const left = await unfreezeLeftovers(deps, node, plan.fullTable);
    if (left !== undefined) throw new AppError('BACKUP_JOB_FAILED', `manticore-backup of ${plan.fullTable} on ${plan.node} was lost to an agent restart and ${left}`, { retryable: true });
    await removeWorkDir(plan.workDir);
    generation++;
    id = `${base}.${generation}`;
    job = await start();
    deps.logger.warn('backup: manticore-backup job lost to an agent restart, started again', { operationId: plan.operationId, node: plan.node, jobId: id });
  }
  if (job.state !== 'succeeded') {
    // the agent unfreezes after its own failures, but not when it was restarted mid-backup (it kills the tool)
    const left = await unfreezeLeftovers(deps, node, plan.fullTable).catch((err: unknown) => `SHOW LOCKS failed: ${errorMessage(err)}`);
    if (left !== undefined) deps.logger.error('backup: table may still be frozen', { operationId: plan.operationId, node: plan.node, table: plan.fullTable, problem: left });
    throw new AppError('BACKUP_JOB_FAILED', `manticore-backup of ${plan.fullTable} on ${plan.node} ${job.state}: ${job.error ?? job.message ?? 'no reason given'}`);
  }
  const r = job.result ?? {};
  if (typeof r['dir'] !== 'string') throw new AppError('BACKUP_JOB_FAILED', `backup-table job ${id} succeeded without a dir: ${JSON.stringify(r)}`);
  const after = parseCount(await sql.query(selectCount(plan.fullTable), { timeoutMs: 60_000 }).catch(() => []));
  return { rows, rowsExact: after === rows, schema, manticoreVersion, backupDir: r['dir'], tableFiles: Number(r['files']) || 0, tableBytes: Number(r['bytes']) || 0 };
}

/** Generations of the backup-table job tried when its agent restarts under it (`<id>`, `<id>.2`, ...). */
export const BACKUP_JOB_GENERATIONS = 3;
/** A job that ended because its agent stopped or restarted (src/agent/server/jobs.ts), not because of its input. */
const LOST_TO_AGENT_RESTART = /agent (stopped|restarted) while the job was running/i;

/** UNFREEZE `table` on `node` while SHOW LOCKS lists it; undefined when it is unfrozen, else why not. */
export async function unfreezeLeftovers(deps: BackupDeps, node: NodeRef, table: string): Promise<string | undefined> {
  const sql = deps.sql(node);
  for (let i = 0; i < 5; i++) {
    const frozen = parseFrozenTables(await sql.query(showLocks(), { timeoutMs: 5_000 })).includes(table);
    if (!frozen) return undefined;
    deps.logger.warn('backup: table left frozen after a failed backup, unfreezing', { node: node.name, table });
    await sql.exec(unfreeze([table]), { timeoutMs: 10_000 }).catch(() => undefined);
  }
  return `${table} is still listed by SHOW LOCKS on ${node.name}`;
}

/** A pass-through stream that hashes (sha256) and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Streams the archive of the working dir through sha256 to the store, then writes the manifest. */
export async function uploadBackup(deps: BackupDeps, plan: BackupPlan, snap: SnapshotResult): Promise<UploadResult> {
  const started = Date.now();
  // an earlier backup of this table whose upload failed while the endpoint was down could not abort its
  // multipart upload: abort it now (no other backup of the table runs: requests conflict)
  if (deps.store.abortIncompleteUploads) {
    const prefix = objectKey(deps.prefix, `${plan.fullTable}-`);
    const left = await deps.store.abortIncompleteUploads(prefix).catch((err: unknown) => {
      deps.logger.warn('backup: could not list unfinished uploads', { operationId: plan.operationId, prefix, error: errorMessage(err) });
      return [] as string[];
    });
    if (left.length > 0) deps.logger.warn('backup: aborted unfinished multipart uploads of earlier failed backups', { operationId: plan.operationId, keys: left });
  }
  const hasher = new HashingStream();
  const packed = deps.archive.packDirectory(plan.workDir);
  packed.on('error', (err) => hasher.destroy(err));
  packed.pipe(hasher);
  await deps.store.put(plan.archiveKey, hasher, { contentType: 'application/gzip' });
  const sha256 = hasher.digest();
  const manifest: BackupManifest = {
    formatVersion: 1,
    table: plan.fullTable,
    baseTable: plan.table,
    type: plan.type,
    ...(plan.slot !== undefined && plan.type === 'main' ? { slot: plan.slot } : {}),
    rows: snap.rows,
    rowsExact: snap.rowsExact,
    schema: snap.schema,
    manticoreVersion: snap.manticoreVersion,
    node: plan.node,
    archiveKey: plan.archiveKey,
    archive: plan.archive,
    tableBytes: snap.tableBytes,
    tableFiles: snap.tableFiles,
    archiveBytes: hasher.bytes,
    sha256,
    createdAt: (deps.now?.() ?? new Date()).toISOString(),
    durationMs: Date.now() - started,
  };
  const mKey = manifestKey(plan.archiveKey);
  await deps.store.put(mKey, Readable.from([Buffer.from(JSON.stringify(manifest, null, 2))]), { contentType: 'application/json' });
  deps.logger.info('backup: archive uploaded', { operationId: plan.operationId, archiveKey: plan.archiveKey, bytes: hasher.bytes, sha256 });
  return { archiveKey: plan.archiveKey, archiveBytes: hasher.bytes, sha256, manifestKey: mKey };
}

export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface BackupOutcome {
  plan: BackupPlan;
  snapshot: SnapshotResult;
  upload: UploadResult;
}

/** The whole backup in one call (the `job` subcommand). */
export async function runBackup(params: BackupParams, deps: BackupDeps, signal?: AbortSignal): Promise<BackupOutcome> {
  const node = await chooseBackupNode(deps, fullTableName(params.table, params.type, params.slot));
  const plan = planBackup(deps, params, node);
  try {
    const snapshot = await snapshotTable(deps, plan, signal);
    const upload = await uploadBackup(deps, plan, snapshot);
    return { plan, snapshot, upload };
  } finally {
    await removeWorkDir(plan.workDir);
  }
}
