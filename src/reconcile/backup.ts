/**
 * Backups and restores on the controller side (issue 5 item 3): requests, operation records, and the
 * `backup` / `restore` machines (src/machines/backup, src/machines/restore) run under the runtime keys
 * `backup/<cluster>/<table>` and `restore/<cluster>/<table>` (one of each per table at most).
 *
 *   requestBackup   table in the specs, type delta|main; BACKUP_IN_PROGRESS (409) when a backup of the
 *                   table runs, RESTORE_IN_PROGRESS when a restore does; main backs up the active slot
 *   requestRestore  file name of THIS table (no directories, no `..`), type from the name; refused while
 *                   a backup, restore or import of the table runs
 *   rotateMain      the original's POST /api/rotate-main, made safe: flips to newSlot only when it
 *                   exists with the same rows on every node, and drops oldSlot only when nothing serves it
 *   reconcileBackups one table pass: resumes persisted machines after a restart, closes orphan records,
 *                   tells the controller to leave the table alone while a restore runs
 * The machines drive themselves (their effects retry inside); passes only resume and observe them.
 */
import { randomUUID } from 'node:crypto';
import type { AgentClient } from '../agent/client.js';
import { chooseBackupNode } from '../backup/backup.js';
import { backupArchiveName, listingPrefixes, objectKey, parseBackupFilename } from '../backup/names.js';
import type { ArchiveTools, BackupDeps, BackupStore, BackupType } from '../backup/types.js';
import { verifyRows } from '../backup/restore.js';
import { isSlot, managedTableNames, type Slot } from '../domain/names.js';
import type { TableSpec } from '../domain/spec.js';
import { AppError, errorMessage, ValidationError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { ManticorePools } from '../manticore/client.js';
import { createBackupActors } from '../machines/backup/backup.actors.js';
import { BACKUP_MACHINE, BACKUP_MACHINE_VERSION, BACKUP_STEPS, backupMachine, type BackupContext, type BackupInput } from '../machines/backup/backup.machine.js';
import { applyChooseSlots, applyDropSlot, applyFlip, applyVerifyServing, type BlueGreenImportDeps } from '../machines/blue-green-import/blue-green-import.actors.js';
import { createRestoreActors, type RestoreDeps } from '../machines/restore/restore.actors.js';
import { RESTORE_MACHINE, RESTORE_MACHINE_VERSION, RESTORE_STEPS, restoreMachine, type RestoreContext, type RestoreInput } from '../machines/restore/restore.machine.js';
import type { MachineDefinition, MachineRuntime, RunningMachine } from '../machines/runtime/machine-runtime.js';
import type { NodeRef } from '../platform/types.js';
import type { OperationRecord, OperationStep, StatusReader, StatusWriter } from '../status/types.js';
import { followBackupJob, platformJobIdOf, startBackupJob, type BackupJobLauncher } from './backup-job.js';
import { runningImport } from './import.js';
import { desiredDistributed } from './tables.js';

export const BACKUP_OPERATION_KIND = 'backup';
export const RESTORE_OPERATION_KIND = 'restore';
/** how often a table with a running restore is passed */
export const BACKUP_PASS_MS = 1_000;

export function backupMachineKey(cluster: string, table: string): string {
  return `backup/${cluster}/${table}`;
}
export function restoreMachineKey(cluster: string, table: string): string {
  return `restore/${cluster}/${table}`;
}
function tableKeyOf(cluster: string, table: string): string {
  return `table/${cluster}/${table}`;
}

export interface BackupRequest {
  table: string;
  type?: BackupType | string;
  requestedBy: string;
}
export interface RestoreRequest {
  table: string;
  filename: string;
  type?: BackupType | string;
  requestedBy: string;
}

/** What the backup code needs of the controller (Controller builds it; tests fake it). */
export interface BackupEnv {
  clusterName: string;
  status: StatusReader & StatusWriter;
  runtime: MachineRuntime;
  pools: ManticorePools;
  agentFor(node: NodeRef): Pick<AgentClient, 'startJob' | 'job' | 'cancelJob'>;
  logger: Logger;
  now(): number;
  spec(table: string): TableSpec | undefined;
  listNodes(): Promise<NodeRef[]>;
  sharedDir: string;
  /** the configured store (throws an AppError naming the missing settings when there is none) */
  store(): BackupStore;
  archive: ArchiveTools;
  /** BACKUP_PREFIX */
  prefix: string;
  newId?: () => string;
  pollMs?: number;
  retryDelayMs?: number;
  /** backups run as platform jobs (BACKUP_WORKLOAD on Control Plane) instead of in-process; src/reconcile/backup-job.ts */
  jobs?: BackupJobLauncher;
  jobPollMs?: number;
}

interface Live {
  env: BackupEnv;
  nodes: NodeRef[];
}
const live = new WeakMap<MachineRuntime, Map<string, Live>>();

function liveOf(env: BackupEnv, table: string): Live {
  let m = live.get(env.runtime);
  if (!m) {
    m = new Map();
    live.set(env.runtime, m);
  }
  let l = m.get(table);
  if (!l) {
    l = { env, nodes: [] };
    m.set(table, l);
  }
  l.env = env;
  return l;
}

function depsOf(env: BackupEnv, table: string): RestoreDeps {
  const l = liveOf(env, table);
  return {
    get store() {
      return l.env.store();
    },
    archive: env.archive,
    prefix: env.prefix,
    clusterName: env.clusterName,
    sharedDir: env.sharedDir,
    nodes: () => l.nodes,
    sql: (node) => l.env.pools.get(`${node.mysql.host}:${node.mysql.port}`),
    agent: (node) => l.env.agentFor(node),
    logger: env.logger,
    ...(env.pollMs !== undefined ? { pollMs: env.pollMs } : {}),
    distributed: (t, slot) => {
      const spec = l.env.spec(t);
      if (!spec) throw new AppError('TABLE_NOT_IN_SPECS', `${t} is no longer in the specs`);
      return desiredDistributed(spec, slot, l.nodes);
    },
    buddy: () => undefined,
  } as RestoreDeps;
}

function backupDefinition(env: BackupEnv, table: string): MachineDefinition<typeof backupMachine> {
  return { name: BACKUP_MACHINE, version: BACKUP_MACHINE_VERSION, machine: backupMachine.provide({ actors: createBackupActors(depsOf(env, table), env.retryDelayMs) as never }) };
}
function restoreDefinition(env: BackupEnv, table: string): MachineDefinition<typeof restoreMachine> {
  return { name: RESTORE_MACHINE, version: RESTORE_MACHINE_VERSION, machine: restoreMachine.provide({ actors: createRestoreActors(depsOf(env, table), env.retryDelayMs) as never }) };
}

// ---------------------------------------------------------------------------------------------
// requests

function running(status: StatusReader, kind: string, cluster: string, table: string): OperationRecord | undefined {
  const key = tableKeyOf(cluster, table);
  return status.operations().find((o) => o.kind === kind && o.key === key && (o.state === 'pending' || o.state === 'running'));
}
export function runningBackup(status: StatusReader, cluster: string, table: string): OperationRecord | undefined {
  return running(status, BACKUP_OPERATION_KIND, cluster, table);
}
export function runningRestore(status: StatusReader, cluster: string, table: string): OperationRecord | undefined {
  return running(status, RESTORE_OPERATION_KIND, cluster, table);
}

function conflict(code: string, what: string, op: OperationRecord): AppError {
  return new AppError(code, `${what} is already running: operation ${op.id} (follow it with GET /api/operations/${op.id})`, { details: { operationId: op.id, table: op.target } });
}

function specOf(env: BackupEnv, table: unknown, field: string): TableSpec {
  if (typeof table !== 'string' || table.trim() === '') throw new ValidationError(field, 'name the table (as in its spec), e.g. "products"');
  const spec = env.spec(table.trim());
  if (!spec) throw new ValidationError(field, `no table spec named ${JSON.stringify(table)}: GET /api/tables lists the managed tables`);
  return spec;
}

function parseType(type: unknown, field = 'type'): BackupType | undefined {
  if (type === undefined || type === null || type === '') return undefined;
  if (type === 'delta' || type === 'main') return type;
  throw new ValidationError(field, `must be "delta" or "main" (got ${JSON.stringify(type)})`);
}

async function sortedNodes(env: BackupEnv): Promise<NodeRef[]> {
  const nodes = [...(await env.listNodes())].sort((a, b) => a.ordinal - b.ordinal);
  if (nodes.length === 0) throw new AppError('UNAVAILABLE', 'the platform lists no node', { retryable: true });
  return nodes;
}

/** Starts a backup of one table. Throws ValidationError (nothing changed) or BACKUP_IN_PROGRESS / RESTORE_IN_PROGRESS. */
export async function requestBackup(env: BackupEnv, req: BackupRequest): Promise<OperationRecord> {
  const spec = specOf(env, req.table, 'tableName');
  const type = parseType(req.type) ?? 'delta';
  const busy = runningBackup(env.status, env.clusterName, spec.name);
  if (busy) throw conflict('BACKUP_IN_PROGRESS', `a backup of ${spec.name}`, busy);
  const restoring = runningRestore(env.status, env.clusterName, spec.name);
  if (restoring) throw conflict('RESTORE_IN_PROGRESS', `a restore of ${spec.name}`, restoring);
  const key = backupMachineKey(env.clusterName, spec.name);
  if (env.runtime.get(key)?.actor.getSnapshot().status === 'active') {
    throw new AppError('BACKUP_IN_PROGRESS', `a backup of ${spec.name} is still finishing; try again in a moment`, { retryable: true });
  }
  if (!env.jobs) env.store(); // fails fast when storage is not configured (a platform job reads its own settings)
  const nodes = await sortedNodes(env);
  const l = liveOf(env, spec.name);
  l.nodes = nodes;
  let slot: Slot | undefined;
  if (type === 'main') {
    const imp = importDepsFor(env, spec.name);
    const r = await applyChooseSlots(imp, { operationId: 'backup', clusterName: env.clusterName, table: spec.name, nodes: nodes.map((n) => n.name) }).catch(() => undefined);
    slot = r?.active ?? env.status.table(spec.name)?.activeSlot;
    if (slot === undefined) throw new AppError('SLOT_UNKNOWN', `cannot determine the active main slot of ${spec.name}: every node must serve one slot`, { retryable: true });
  }
  const operationId = `backup-${(env.newId ?? (() => randomUUID().slice(0, 8)))()}`;
  const target = type === 'delta' ? managedTableNames(spec.name).delta : managedTableNames(spec.name).main[slot!];
  if (env.jobs) return requestBackupJob(env, { jobs: env.jobs, operationId, table: spec.name, type, slot, target, requestedBy: req.requestedBy });
  // archive names have 1 s resolution: never overwrite the archive of a backup that finished this second
  let now = env.now();
  for (let i = 0; i < 5 && (await env.store().head(objectKey(env.prefix, backupArchiveName(target, new Date(now))))) !== undefined; i++) now = (Math.floor(now / 1000) + 1) * 1000;
  const input: BackupInput = { operationId, clusterName: env.clusterName, table: spec.name, type, now, ...(slot !== undefined ? { slot } : {}) };
  const at = new Date(env.now()).toISOString();
  const op: OperationRecord = {
    id: operationId,
    kind: BACKUP_OPERATION_KIND,
    key: tableKeyOf(env.clusterName, spec.name),
    target: spec.name,
    requestedBy: req.requestedBy,
    requestedAt: at,
    state: 'running',
    steps: [{ name: 'request', state: 'succeeded', startedAt: at, finishedAt: at, message: `${type} backup of ${target} to ${env.store().description}` }],
    figures: {},
  };
  env.status.upsertOperation(op);
  if (env.runtime.get(key)) env.runtime.stop(key, { remove: true });
  const entry = env.runtime.start(key, backupDefinition(env, spec.name), input);
  watch(env, key, entry, 'backup');
  env.logger.info('backup requested', { operationId, table: spec.name, type, slot, requestedBy: req.requestedBy });
  return env.status.operation(operationId) ?? op;
}

/** Starts a restore. Throws ValidationError (nothing changed) or *_IN_PROGRESS conflicts. */
export async function requestRestore(env: BackupEnv, req: RestoreRequest): Promise<OperationRecord> {
  const spec = specOf(env, req.table, 'tableName');
  const file = parseBackupFilename(spec.name, req.filename);
  const type = parseType(req.type);
  if (type !== undefined && type !== file.type) throw new ValidationError('type', `${file.filename} is a ${file.type} backup: send type "${file.type}" or leave it out`);
  for (const [kind, code, what] of [
    [RESTORE_OPERATION_KIND, 'RESTORE_IN_PROGRESS', 'a restore'],
    [BACKUP_OPERATION_KIND, 'BACKUP_IN_PROGRESS', 'a backup'],
  ] as const) {
    const busy = running(env.status, kind, env.clusterName, spec.name);
    if (busy) throw conflict(code, `${what} of ${spec.name}`, busy);
  }
  const importing = runningImport(env.status, env.clusterName, spec.name);
  if (importing) throw conflict('IMPORT_IN_PROGRESS', `an import of ${spec.name}`, importing);
  const key = restoreMachineKey(env.clusterName, spec.name);
  if (env.runtime.get(key)?.actor.getSnapshot().status === 'active') throw new AppError('RESTORE_IN_PROGRESS', `a restore of ${spec.name} is still finishing; try again in a moment`, { retryable: true });
  const store = env.store();
  // an archive that is not there is bad input: refused before an operation exists
  if ((await store.head(objectKey(env.prefix, file.filename))) === undefined) {
    throw new AppError('NOT_FOUND', `filename: no archive ${file.filename} in ${store.description}: GET /api/backups/files?tableName=${spec.name} lists them`, { details: { field: 'filename' } });
  }
  const nodes = await sortedNodes(env);
  liveOf(env, spec.name).nodes = nodes;
  const operationId = `restore-${(env.newId ?? (() => randomUUID().slice(0, 8)))()}`;
  const now = env.now();
  const input: RestoreInput = { operationId, clusterName: env.clusterName, table: spec.name, filename: file.filename, type: file.type, clusterMain: spec.clusterMain, nodes: nodes.map((n) => n.name), now };
  const at = new Date(now).toISOString();
  const op: OperationRecord = {
    id: operationId,
    kind: RESTORE_OPERATION_KIND,
    key: tableKeyOf(env.clusterName, spec.name),
    target: spec.name,
    requestedBy: req.requestedBy,
    requestedAt: at,
    state: 'running',
    steps: [{ name: 'request', state: 'succeeded', startedAt: at, finishedAt: at, message: `${file.type} restore of ${spec.name} from ${file.filename} (${store.description})` }],
    figures: { nodes: nodes.length },
  };
  env.status.upsertOperation(op);
  if (env.runtime.get(key)) env.runtime.stop(key, { remove: true });
  const entry = env.runtime.start(key, restoreDefinition(env, spec.name), input);
  watch(env, key, entry, 'restore');
  env.logger.info('restore requested', { operationId, table: spec.name, filename: file.filename, type: file.type, requestedBy: req.requestedBy });
  return env.status.operation(operationId) ?? op;
}

export interface BackupFile {
  filename: string;
  key: string;
  size: number;
  /** UTC `YYYY-MM-DDTHH:MM:SSZ` */
  lastModified: string;
}

/** The table's archives in the bucket, newest first (the original's listing). */
export async function listBackupFiles(env: BackupEnv, table: unknown, type?: unknown): Promise<BackupFile[]> {
  const spec = specOf(env, table, 'tableName');
  const t = parseType(type);
  const store = env.store();
  const out: BackupFile[] = [];
  for (const prefix of listingPrefixes(env.prefix, spec.name, t)) {
    for (const o of await store.list(prefix)) {
      if (!o.key.endsWith('.tar.gz')) continue;
      const filename = o.key.slice(o.key.lastIndexOf('/') + 1);
      try {
        parseBackupFilename(spec.name, filename);
      } catch {
        continue; // another table whose name starts like this one
      }
      const d = new Date(o.lastModified);
      out.push({ filename, key: o.key, size: o.size, lastModified: d.toISOString().replace(/\.\d{3}Z$/, 'Z') });
    }
  }
  // newest first: by the timestamp in the name, then by lastModified
  return out.sort((a, b) => b.filename.slice(-27).localeCompare(a.filename.slice(-27)) || b.lastModified.localeCompare(a.lastModified));
}

function importDepsFor(env: BackupEnv, table: string): BlueGreenImportDeps {
  const d = depsOf(env, table);
  return {
    node: (name) => d.nodes().find((n) => n.name === name),
    sql: (node) => d.sql(node),
    agent: (node) => env.agentFor(node),
    distributed: (t, slot) => d.distributed(t, slot),
    buddy: () => undefined,
    buildSpec: () => {
      throw new AppError('NOT_SUPPORTED', 'nothing to build');
    },
    logger: env.logger,
  };
}

export interface RotateMainRequest {
  table: unknown;
  newSlot: unknown;
  oldSlot: unknown;
  requestedBy: string;
}

/**
 * The original's rotate-main, made safe: newSlot must exist with the same rows on every node; every
 * node's distributed table is pointed at it (rolled back if any node fails); oldSlot is dropped only
 * when no node serves it afterwards. A newSlot that already serves everywhere just drops oldSlot.
 */
export async function rotateMain(env: BackupEnv, req: RotateMainRequest): Promise<{ message: string; reachableReplicas: number; totalReplicas: number }> {
  const spec = specOf(env, req.table, 'tableName');
  if (!isSlot(req.newSlot)) throw new ValidationError('newSlot', `must be "a" or "b" (got ${JSON.stringify(req.newSlot)})`);
  if (!isSlot(req.oldSlot)) throw new ValidationError('oldSlot', `must be "a" or "b" (got ${JSON.stringify(req.oldSlot)})`);
  if (req.newSlot === req.oldSlot) throw new ValidationError('oldSlot', `must differ from newSlot: rotating ${req.newSlot} to itself would drop the table it serves`);
  for (const [busy, code, what] of [
    [runningRestore(env.status, env.clusterName, spec.name), 'RESTORE_IN_PROGRESS', 'a restore'],
    [runningImport(env.status, env.clusterName, spec.name), 'IMPORT_IN_PROGRESS', 'an import'],
  ] as const) {
    if (busy) throw conflict(code, `${what} of ${spec.name}`, busy);
  }
  const nodes = await sortedNodes(env);
  liveOf(env, spec.name).nodes = nodes;
  const names = managedTableNames(spec.name);
  const newTable = names.main[req.newSlot];
  const imp = importDepsFor(env, spec.name);
  const base = { operationId: `rotate-${env.now()}`, clusterName: env.clusterName, table: spec.name, nodes: nodes.map((n) => n.name) };
  const counts = await verifyRows(depsOf(env, spec.name), newTable, undefined, undefined, 0).catch((err: unknown) => {
    throw new AppError('SLOT_NOT_READY', `${newTable} must exist with the same rows on every node before rotating to it: ${errorMessage(err)}`);
  });
  const flip = await applyFlip(imp, { ...base, to: req.newSlot });
  if (flip.failed.length > 0) {
    await applyFlip(imp, { ...base, to: req.oldSlot, nodes: flip.flipped });
    throw new AppError('FLIP_FAILED', `rotation to ${newTable} failed on ${flip.failed.map((f) => `${f.node} (${f.error})`).join(', ')}; the flipped nodes were rolled back`, { retryable: true });
  }
  await applyVerifyServing(imp, { ...base, slot: req.newSlot, rows: Object.values(counts)[0] ?? 0 });
  await applyDropSlot(imp, { ...base, slot: req.oldSlot, clusterMain: spec.clusterMain });
  env.logger.warn('rotate-main done', { table: spec.name, newSlot: req.newSlot, oldSlot: req.oldSlot, requestedBy: req.requestedBy });
  return { message: `${names.distributed} serves ${newTable} on every node; ${names.main[req.oldSlot]} dropped`, reachableReplicas: nodes.length, totalReplicas: nodes.length };
}

// ---------------------------------------------------------------------------------------------
// operation records

type AnyEntry = RunningMachine<typeof backupMachine> | RunningMachine<typeof restoreMachine>;

function setFigure(f: Record<string, number>, k: string, v: number | undefined): void {
  if (v !== undefined && Number.isFinite(v)) f[k] = v;
}

/** Mirrors a machine into its operation record; closes the record when the machine is final. */
export function syncOperation(env: BackupEnv, entry: AnyEntry, what: 'backup' | 'restore'): OperationRecord | undefined {
  const snap = entry.actor.getSnapshot();
  const c = snap.context as BackupContext | RestoreContext;
  const existing = env.status.operation(c.operationId);
  if (!existing) return undefined;
  const op = structuredClone(existing);
  const value = String(snap.value);
  const stepNames = what === 'backup' ? BACKUP_STEPS : RESTORE_STEPS;
  const name = stepNames[value] ?? value;
  const now = new Date(env.now()).toISOString();
  const last: OperationStep | undefined = op.steps[op.steps.length - 1];
  const figures: Record<string, number> = { ...(op.figures ?? {}) };
  for (const [k, v] of Object.entries(c.durations)) figures[`${k}Ms`] = v;
  if (what === 'backup') {
    const b = c as BackupContext;
    setFigure(figures, 'rows', b.rows);
    setFigure(figures, 'tableBytes', b.tableBytes);
    setFigure(figures, 'bytes', b.archiveBytes);
  } else {
    const r = c as RestoreContext;
    setFigure(figures, 'rows', r.rows);
    setFigure(figures, 'bytes', r.archiveBytes);
    setFigure(figures, 'unpackedBytes', r.unpackedBytes);
    figures.nodes = r.nodes.length;
  }
  op.figures = figures;
  if (snap.status === 'active') {
    const message = c.lastError ? `retrying after: ${c.lastError}` : undefined;
    if (!last || last.name !== name || last.state !== 'running') {
      if (last && last.state === 'running') {
        // the step whose final failure sent the machine down its failure path failed (the first one: `failure` keeps the first reason)
        const failedHere = c.failure !== undefined && !op.steps.some((st) => st.state === 'failed');
        last.state = failedHere ? 'failed' : 'succeeded';
        if (failedHere) last.message = c.failure;
        last.finishedAt = now;
      }
      op.steps.push({ name, state: 'running', startedAt: now, ...(message ? { message } : {}) });
    } else if (message && last.message !== message) last.message = message;
    op.state = 'running';
  } else {
    const ok = value === 'done';
    if (last && last.state === 'running') {
      // a clean-up step after the failing one ran to its end: the failure is already on the step that failed
      const failedEarlier = op.steps.some((st) => st.state === 'failed');
      last.state = ok || failedEarlier ? 'succeeded' : 'failed';
      last.finishedAt = now;
      if (!ok && !failedEarlier && c.failure) last.message = c.failure;
    }
    op.state = ok ? 'succeeded' : 'failed';
    op.finishedAt = now;
    figures.durationMs = Math.max(0, env.now() - Date.parse(op.requestedAt));
    if (what === 'backup') {
      const b = c as BackupContext;
      if (ok) op.outcome = `${b.fullTable} (${b.rows ?? 0} rows) → ${b.archiveKey} (${b.archiveBytes ?? 0} bytes, sha256 ${b.sha256 ?? '?'}) from ${b.node}`;
      else op.error = c.failure ?? c.lastError ?? value;
    } else {
      const r = c as RestoreContext;
      const names = managedTableNames(r.table);
      if (ok) {
        op.outcome =
          r.type === 'delta'
            ? `${names.delta} restored from ${r.filename}: ${r.rows ?? Object.values(r.counts ?? {})[0] ?? 0} rows on ${r.nodes.join(', ')}`
            : `${names.distributed} serves ${names.main[r.newSlot ?? 'a']} restored from ${r.filename} (${r.rows ?? 0} rows) on ${r.nodes.join(', ')}; ${names.main[r.oldSlot ?? 'a']} dropped`;
      } else {
        op.error = c.failure ?? c.lastError ?? value;
        op.outcome = r.changed ? `the restore failed after changing data: ${op.error}` : `nothing was changed: ${op.error}`;
      }
    }
    op.figures = figures;
  }
  if (JSON.stringify(op) !== JSON.stringify(existing)) env.status.upsertOperation(op);
  return op;
}

const watched = new WeakSet<object>();

/** Keeps the record in step with every transition; removes the machine when it is final. */
function watch(env: BackupEnv, key: string, entry: AnyEntry, what: 'backup' | 'restore'): void {
  if (watched.has(entry.actor)) return;
  watched.add(entry.actor);
  const table = key.split('/')[2] ?? '';
  const onChange = () => {
    try {
      syncOperation(liveOf(env, table).env, entry, what);
      if (entry.actor.getSnapshot().status !== 'active') {
        const c = entry.actor.getSnapshot().context;
        env.logger.info(`${what} finished`, { machineKey: key, operationId: c.operationId, state: String(entry.actor.getSnapshot().value), error: c.failure });
        // stop after this transition has been handled by every subscriber
        queueMicrotask(() => {
          if (env.runtime.get(key) === entry) env.runtime.stop(key, { remove: true });
        });
      }
    } catch (err) {
      env.logger.error(`${what} operation record not updated`, { machineKey: key, err: errorMessage(err) });
    }
  };
  (entry.actor as { subscribe(o: { next(): void; error(e: unknown): void }): unknown }).subscribe({
    next: onChange,
    error: (err: unknown) => env.logger.error(`${what} machine failed`, { machineKey: key, err: errorMessage(err) }),
  });
  onChange();
}

export interface BackupPassResult {
  /** a restore runs: table convergence must leave the table's tables alone */
  restoring: boolean;
  backingUp: boolean;
  requeueAfterMs?: number;
}

/** One table pass: refresh nodes, resume persisted machines after a restart, close orphans. */
export function reconcileBackups(env: BackupEnv, table: string, nodes: readonly NodeRef[]): BackupPassResult {
  liveOf(env, table).nodes = [...nodes].sort((a, b) => a.ordinal - b.ordinal);
  const result: BackupPassResult = { restoring: false, backingUp: false };
  for (const what of ['backup', 'restore'] as const) {
    const key = what === 'backup' ? backupMachineKey(env.clusterName, table) : restoreMachineKey(env.clusterName, table);
    let entry = env.runtime.get(key) as AnyEntry | undefined;
    if (!entry) {
      entry = (what === 'backup' ? env.runtime.restore(key, backupDefinition(env, table)) : env.runtime.restore(key, restoreDefinition(env, table))) as AnyEntry | undefined;
      if (entry) {
        env.logger.info(`${what} resumed from its persisted snapshot`, { machineKey: key, operationId: entry.actor.getSnapshot().context.operationId });
        watch(env, key, entry, what);
      }
    }
    const active = entry !== undefined && entry.actor.getSnapshot().status === 'active';
    if (!active) {
      const orphan = running(env.status, what === 'backup' ? BACKUP_OPERATION_KIND : RESTORE_OPERATION_KIND, env.clusterName, table);
      const jobId = orphan && what === 'backup' ? platformJobIdOf(orphan) : undefined;
      if (orphan && jobId !== undefined && env.jobs) {
        followBackupJob({ ...env, jobs: env.jobs }, orphan.id, jobId); // a platform job: followed, not orphaned
        result.backingUp = true;
      } else if (orphan && !entry) {
        env.status.upsertOperation({ ...orphan, state: 'failed', finishedAt: new Date(env.now()).toISOString(), error: `the controller restarted without the ${what} machine snapshot; request the ${what} again` });
      }
      continue;
    }
    if (what === 'restore') result.restoring = true;
    else result.backingUp = true;
  }
  if (result.restoring || result.backingUp) result.requeueAfterMs = BACKUP_PASS_MS;
  return result;
}

/** The platform-job path of requestBackup: the node is chosen here (primary + synced, holds the table), the job does the rest. */
async function requestBackupJob(
  env: BackupEnv,
  r: { jobs: BackupJobLauncher; operationId: string; table: string; type: BackupType; slot: Slot | undefined; target: string; requestedBy: string },
): Promise<OperationRecord> {
  const nodeName = await chooseBackupNode(depsOf(env, r.table), r.target);
  const node = liveOf(env, r.table).nodes.find((n) => n.name === nodeName);
  if (!node) throw new AppError('UNAVAILABLE', `node ${nodeName} is no longer listed`, { retryable: true });
  const at = new Date(env.now()).toISOString();
  const operation: OperationRecord = {
    id: r.operationId,
    kind: BACKUP_OPERATION_KIND,
    key: tableKeyOf(env.clusterName, r.table),
    target: r.table,
    requestedBy: r.requestedBy,
    requestedAt: at,
    state: 'running',
    steps: [{ name: 'request', state: 'succeeded', startedAt: at, finishedAt: at, message: `${r.type} backup of ${r.target} as a platform job (${r.jobs.description})` }],
    figures: {},
  };
  return startBackupJob({ ...env, jobs: r.jobs }, { operation, table: r.table, type: r.type, ...(r.slot !== undefined ? { slot: r.slot } : {}), node });
}

/** For the job subcommand and tests: backup deps of a table outside the controller. */
export function backupDepsFor(env: BackupEnv, table: string, nodes: NodeRef[]): BackupDeps {
  liveOf(env, table).nodes = nodes;
  return depsOf(env, table);
}

export { chooseBackupNode };
