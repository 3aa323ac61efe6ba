/**
 * Blue/green imports on the controller side (issue 4): requests, the operation record, and the
 * `blue-green-import` machine fed by the table key's passes.
 *
 *   requestImport   validates the request (table in the specs, source), refuses a second import of
 *                   the same table (IMPORT_IN_PROGRESS naming the running operation), creates the
 *                   OperationRecord (kind `import`, key `table/<c>/<t>`) and starts the machine, whose
 *                   persisted snapshot holds the request from then on
 *   requestCancel   sends `cancel` (taken until the flip starts; later the import rolls forward)
 *   reconcileImport one table pass: restores a persisted machine after a restart, refreshes the
 *                   nodes the effects act on, sends `tick`, mirrors the machine into the operation
 *                   record, and tells table convergence what to leave alone (the distributed table
 *                   while the import runs) and which slot is active
 *
 * Machines run under the runtime key `import/<cluster>/<table>` (one per table).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { managedTableNames, type Slot } from '../domain/names.js';
import type { TableSpec } from '../domain/spec.js';
import { AppError, errorMessage, ValidationError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { ManticorePools } from '../manticore/client.js';
import { createBlueGreenImportActors, type BlueGreenImportDeps, type ImportAgent, type ImportProgress } from '../machines/blue-green-import/blue-green-import.actors.js';
import {
  BLUE_GREEN_IMPORT_MACHINE,
  BLUE_GREEN_IMPORT_VERSION,
  blueGreenImportMachine,
  CANCELLABLE_STATES,
  IMPORT_STEPS,
  type ImportContext,
  type ImportInput,
} from '../machines/blue-green-import/blue-green-import.machine.js';
import type { MachineDefinition, MachineRuntime, RunningMachine } from '../machines/runtime/machine-runtime.js';
import type { ClusterObservation } from '../observe/types.js';
import type { NodeRef } from '../platform/types.js';
import type { OperationRecord, OperationStep, StatusReader, StatusWriter } from '../status/types.js';
import { desiredDistributed } from './tables.js';

export const IMPORT_OPERATION_KIND = 'import';
/** whole-import budget (imports often take more than an hour) */
export const DEFAULT_IMPORT_TIMEOUT_MS = 12 * 60 * 60_000;
/** how often a table with a running import is passed (ticks drive the retry waits) */
export const IMPORT_PASS_MS = 1_000;

export function importMachineKey(cluster: string, table: string): string {
  return `import/${cluster}/${table}`;
}

function tableKeyOf(cluster: string, table: string): string {
  return `table/${cluster}/${table}`;
}

export interface ImportRequest {
  table: string;
  /** overrides the spec's import urls: one path or URL, or several */
  source?: string | string[];
  requestedBy: string;
}

/** What the import code needs of the controller (Controller builds it; tests fake it). */
export interface ImportEnv {
  clusterName: string;
  status: StatusReader & StatusWriter;
  runtime: MachineRuntime;
  pools: ManticorePools;
  agentFor(node: NodeRef): ImportAgent;
  logger: Logger;
  now(): number;
  /** the table's current spec, undefined when it is not in the specs */
  spec(table: string): TableSpec | undefined;
  listNodes(): Promise<NodeRef[]>;
  /** where the build of an operation writes: absolute, readable by every node's searchd */
  outDir(operationId: string): string;
  /** relative source paths are resolved against it (the shared volume) */
  sharedDir: string;
  newId?: () => string;
  timeoutMs?: number;
  /** passed to the actors (tests shorten them) */
  pollMs?: number;
}

/** The controller's default shared dir for the local platform: `<data-dir>/shared`. */
export function defaultSharedDir(runtime: MachineRuntime): string {
  return path.join(path.dirname(runtime.store.dir), 'shared');
}

// ---------------------------------------------------------------------------------------------
// live deps of the bound actors (the node list and Buddy flags change between passes)

interface Live {
  env: ImportEnv;
  nodes: NodeRef[];
  buddy: Map<string, boolean>;
}
const live = new WeakMap<MachineRuntime, Map<string, Live>>();

function liveOf(env: ImportEnv, key: string): Live {
  let m = live.get(env.runtime);
  if (!m) {
    m = new Map();
    live.set(env.runtime, m);
  }
  let l = m.get(key);
  if (!l) {
    l = { env, nodes: [], buddy: new Map() };
    m.set(key, l);
  }
  l.env = env;
  return l;
}

function importDefinition(env: ImportEnv, key: string): MachineDefinition<typeof blueGreenImportMachine> {
  const l = liveOf(env, key);
  const deps: BlueGreenImportDeps = {
    node: (name) => l.nodes.find((n) => n.name === name),
    sql: (node) => l.env.pools.get(`${node.mysql.host}:${node.mysql.port}`),
    agent: (node) => l.env.agentFor(node),
    distributed: (table, slot) => {
      const spec = l.env.spec(table);
      if (!spec) throw new AppError('TABLE_NOT_IN_SPECS', `${table} is no longer in the specs`);
      return desiredDistributed(spec, slot, l.nodes);
    },
    buddy: (node) => l.buddy.get(node),
    buildSpec: (table) => {
      const spec = l.env.spec(table);
      if (!spec) throw new AppError('TABLE_NOT_IN_SPECS', `${table} is no longer in the specs`);
      // the job takes the spec's columns as declared and settings as strings or numbers
      const settings = Object.fromEntries(Object.entries(spec.settings ?? {}).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 1 : 0) : v]));
      return { columns: spec.columns, settings };
    },
    onProgress: (operationId, p) => recordProgress(l.env, operationId, p),
    logger: env.logger,
    ...(env.pollMs !== undefined ? { pollMs: env.pollMs } : {}),
  };
  return { name: BLUE_GREEN_IMPORT_MACHINE, version: BLUE_GREEN_IMPORT_VERSION, machine: blueGreenImportMachine.provide({ actors: createBlueGreenImportActors(deps) }) };
}

type ImportEntry = RunningMachine<typeof blueGreenImportMachine>;

// ---------------------------------------------------------------------------------------------
// requests

/** The running (or pending) import of a table, if any. */
export function runningImport(status: StatusReader, cluster: string, table: string): OperationRecord | undefined {
  const key = tableKeyOf(cluster, table);
  return status.operations().find((o) => o.kind === IMPORT_OPERATION_KIND && o.key === key && (o.state === 'pending' || o.state === 'running'));
}

/** Sources of the build: the request's, else the spec's; relative paths resolve against the shared dir. */
export function importSources(spec: TableSpec, source: string | string[] | undefined, sharedDir: string): string[] {
  const field = source !== undefined ? 'source' : `${spec.name}.import.urls`;
  const list = source !== undefined ? (Array.isArray(source) ? source : [source]) : (spec.import?.urls ?? []);
  if (list.length === 0) throw new ValidationError('source', `${spec.name} has no import source in its spec: send "source" (a path on the shared volume or an https:// URL) or add import.urls to the spec`);
  return list.map((s, i) => {
    if (typeof s !== 'string' || s.trim() === '' || s.includes('\0')) throw new ValidationError(`${field}[${i}]`, 'use a non-empty path or https:// URL');
    // https://, and s3:// / gs:// read by the node's source feed through src/storage (src/import/sources.ts)
    if (/^(https|s3|gs):\/\//i.test(s)) return s;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
      throw new ValidationError(`${field}[${i}]`, `${s.split('://')[0]}:// sources are not supported: use a path on the shared volume, an https:// URL, s3://bucket/key or gs://bucket/object`);
    }
    if (s.split(/[\\/]/).includes('..')) {
      throw new ValidationError(`${field}[${i}]`, `has a '..' segment: name a path inside the shared volume without '..' (or an absolute path, an https:// URL, s3://bucket/key or gs://bucket/object)`);
    }
    return path.isAbsolute(s) ? s : path.resolve(sharedDir, s);
  });
}

/**
 * Validates an import request and starts its machine. Throws ValidationError for bad input (nothing
 * changed) and AppError IMPORT_IN_PROGRESS (HTTP 409) naming the running operation.
 */
export async function requestImport(env: ImportEnv, req: ImportRequest): Promise<OperationRecord> {
  if (typeof req.table !== 'string' || req.table === '') throw new ValidationError('table', 'name the table to import (as in its spec)');
  const spec = env.spec(req.table);
  if (!spec) throw new ValidationError('table', `no table spec named ${JSON.stringify(req.table)}: GET /api/tables lists the managed tables`);
  const key = importMachineKey(env.clusterName, spec.name);
  let entry = env.runtime.get<typeof blueGreenImportMachine>(key);
  if (entry && entry.actor.getSnapshot().status !== 'active') {
    // a finished machine the table pass has not removed yet: close its record and remove it now
    syncImportOperation(env, entry);
    env.runtime.stop(key, { remove: true });
    entry = undefined;
  }
  const running = runningImport(env.status, env.clusterName, spec.name);
  if (running || entry) {
    const id = running?.id ?? entry!.actor.getSnapshot().context.operationId;
    throw new AppError('IMPORT_IN_PROGRESS', `an import of ${spec.name} is already running: operation ${id} (follow it with GET /api/operations/${id}, or cancel it with DELETE /api/imports/${id})`, {
      details: { operationId: id, table: spec.name },
    });
  }
  // a restore (it drops, imports and flips the same tables) or a backup (it reads the slot the import drops) runs
  for (const [kind, code, what] of [
    ['restore', 'RESTORE_IN_PROGRESS', 'a restore'],
    ['backup', 'BACKUP_IN_PROGRESS', 'a backup'],
  ] as const) {
    const other = env.status.operations().find((o) => o.kind === kind && o.key === tableKeyOf(env.clusterName, spec.name) && (o.state === 'pending' || o.state === 'running'));
    if (other) {
      throw new AppError(code, `${what} of ${spec.name} is running: operation ${other.id}; import when it has ended (GET /api/operations/${other.id})`, {
        details: { operationId: other.id, table: spec.name },
      });
    }
  }
  const sources = importSources(spec, req.source, env.sharedDir);
  const nodes = [...(await env.listNodes())].sort((a, b) => a.ordinal - b.ordinal);
  const buildNode = nodes[0];
  if (buildNode === undefined) throw new AppError('UNAVAILABLE', 'the platform lists no node to import on', { retryable: true });
  const operationId = `import-${(env.newId ?? (() => randomUUID().slice(0, 8)))()}`;
  const now = env.now();
  const input: ImportInput = {
    operationId,
    clusterName: env.clusterName,
    table: spec.name,
    clusterMain: spec.clusterMain,
    nodes: nodes.map((n) => n.name),
    buildNode: buildNode.name,
    build: {
      format: spec.import?.format ?? (sources.every((s) => /\.tsv$/i.test(s)) ? 'tsv' : 'csv'),
      header: spec.import?.header ?? false,
      sources,
      outDir: env.outDir(operationId),
      ...(spec.import?.memLimit !== undefined ? { memLimit: spec.import.memLimit } : {}),
    },
    now,
    timeoutMs: env.timeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS,
  };
  if (spec.importMethod === 'bulk') {
    // the bulk method (src/import/bulk-load.ts): the controller streams the sources into the new slot
    input.method = 'bulk';
    input.bulk = {
      header: spec.import?.detectHeader === true ? 'auto' : (spec.import?.header ?? false),
      idColumn: spec.import?.idColumn ?? true,
      workers: spec.import?.workers ?? 4,
      batchSize: spec.import?.batchSize ?? 1000,
    };
  }
  const at = new Date(now).toISOString();
  const op: OperationRecord = {
    id: operationId,
    kind: IMPORT_OPERATION_KIND,
    key: tableKeyOf(env.clusterName, spec.name),
    target: spec.name,
    requestedBy: req.requestedBy,
    requestedAt: at,
    state: 'running',
    steps: [{ name: 'request', state: 'succeeded', startedAt: at, finishedAt: at, message: `sources: ${sources.join(', ')}; ${input.method === 'bulk' ? 'bulk load through HTTP /bulk' : `build on ${buildNode.name}`}` }],
    figures: { nodes: nodes.length },
  };
  env.status.upsertOperation(op);
  const l = liveOf(env, key);
  l.nodes = nodes;
  let started: ImportEntry;
  try {
    started = env.runtime.start(key, importDefinition(env, key), input);
  } catch (err) {
    env.status.upsertOperation({ ...op, state: 'failed', finishedAt: at, error: `the import machine did not start: ${errorMessage(err)}` });
    throw err;
  }
  watch(env, key, started);
  env.logger.info('import requested', { operationId, table: spec.name, requestedBy: req.requestedBy, sources, buildNode: buildNode.name });
  return env.status.operation(operationId) ?? op;
}

/** Cancels a running import (before its flip). Throws NOT_FOUND or CONFLICT. */
export function requestCancel(env: ImportEnv, operationId: string, requestedBy: string): OperationRecord {
  const op = env.status.operation(operationId);
  if (!op || op.kind !== IMPORT_OPERATION_KIND) throw new AppError('NOT_FOUND', `no import operation ${JSON.stringify(operationId)}: GET /api/imports lists them`);
  if (op.state !== 'running' && op.state !== 'pending') throw new AppError('CONFLICT', `import ${operationId} has already ${op.state}: nothing to cancel`);
  const table = op.target ?? op.key.split('/')[2] ?? '';
  const entry = env.runtime.get<typeof blueGreenImportMachine>(importMachineKey(env.clusterName, table));
  const snap = entry?.actor.getSnapshot();
  if (!entry || !snap || snap.context.operationId !== operationId || snap.status !== 'active') {
    throw new AppError('CONFLICT', `import ${operationId} is not running in this controller yet (it resumes at the next pass of ${table}); try again in a moment`, { retryable: true });
  }
  if (!CANCELLABLE_STATES.includes(String(snap.value))) {
    throw new AppError('CONFLICT', `import ${operationId} is past the point of cancelling (step '${IMPORT_STEPS[String(snap.value)] ?? String(snap.value)}'): it rolls forward to the new slot`);
  }
  env.logger.warn('import cancel requested', { operationId, table, requestedBy });
  entry.actor.send({ type: 'cancel', reason: `requested by ${requestedBy}` });
  return env.status.operation(operationId) ?? op;
}

// ---------------------------------------------------------------------------------------------
// the operation record

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** steps that clean up after a failure or a cancel */
const CLEANUP_STEPS = ['drop partial slot', 'roll back flip', 'cancel build'];

const progressByOp = new Map<string, { started: number; progress: number; at: number }>();

function nodeStates(nodes: Record<string, string> | undefined): string | undefined {
  if (!nodes || Object.keys(nodes).length === 0) return undefined;
  return Object.entries(nodes)
    .map(([n, s]) => `${n}: ${s}`)
    .join(', ');
}

/** Writes an effect's progress into the running step and the figures (rows, bytes, ETA). */
function recordProgress(env: ImportEnv, operationId: string, p: ImportProgress): void {
  const existing = env.status.operation(operationId);
  if (!existing || (existing.state !== 'running' && existing.state !== 'pending')) return;
  const op = structuredClone(existing);
  const figures = { ...(op.figures ?? {}) };
  if (p.rows !== undefined) figures.rows = p.rows;
  if (p.bytes !== undefined) figures.bytes = p.bytes;
  const now = env.now();
  if (p.progress !== undefined) {
    figures.progressPercent = Math.round(p.progress * 1000) / 10;
    const prev = progressByOp.get(operationId);
    const started = prev?.started ?? now;
    progressByOp.set(operationId, { started, progress: p.progress, at: now });
    if (p.progress > 0 && p.progress < 1 && now > started) figures.etaSeconds = Math.round(((now - started) * (1 - p.progress)) / p.progress / 1000);
    if (p.progress >= 1) figures.etaSeconds = 0;
  }
  if (p.gapsMs && Object.keys(p.gapsMs).length > 0) figures.flipGapMs = Math.max(figures.flipGapMs ?? 0, ...Object.values(p.gapsMs));
  op.figures = figures;
  const last = op.steps[op.steps.length - 1];
  const states = nodeStates(p.nodes);
  const text = [p.message, states].filter((x) => x !== undefined && x !== '').join('; ');
  if (last && last.state === 'running' && text !== '') last.message = text;
  if (JSON.stringify(op) !== JSON.stringify(existing)) env.status.upsertOperation(op);
}

/** Mirrors the machine's state into the operation record; closes it when the machine is final. */
export function syncImportOperation(env: ImportEnv, entry: ImportEntry): OperationRecord | undefined {
  const snap = entry.actor.getSnapshot();
  const c: ImportContext = snap.context;
  const existing = env.status.operation(c.operationId);
  if (!existing) return undefined;
  const op = structuredClone(existing);
  const value = String(snap.value);
  const name = IMPORT_STEPS[value] ?? value;
  const now = iso(env.now());
  const last: OperationStep | undefined = op.steps[op.steps.length - 1];
  const figures = { ...(op.figures ?? {}) };
  if (c.rowsExpected !== undefined) figures.rows = c.rowsExpected;
  if (c.bytes !== undefined) figures.bytes = c.bytes;
  if (c.buildMs !== undefined) figures.buildMs = c.buildMs;
  if (c.flipGapMs !== undefined) figures.flipGapMs = c.flipGapMs;
  figures.nodesFlipped = c.flipped.length;
  figures.nodes = c.nodes.length;
  if (c.flipDoneAt !== undefined) figures.flipDoneMs = c.flipDoneAt - c.startedAt;
  op.figures = figures;
  if (snap.status === 'active') {
    if (!last || last.name !== name || last.state !== 'running') {
      if (last && last.state === 'running') {
        // the step that failed is marked so (the machine moved on to clean up after it)
        const failedHere = c.failure !== undefined && CLEANUP_STEPS.includes(name) && !CLEANUP_STEPS.includes(last.name);
        last.state = failedHere ? (c.failure!.startsWith('cancelled') ? 'cancelled' : 'failed') : 'succeeded';
        last.finishedAt = now;
        if (failedHere) last.message = c.failure;
      }
      op.steps.push({ name, state: 'running', startedAt: now, ...(c.lastError ? { message: `retrying after: ${c.lastError}` } : {}) });
    } else if (c.lastError && c.attempts > 0 && last.message !== `retrying after: ${c.lastError}`) {
      last.message = `retrying after: ${c.lastError}`;
    }
    op.state = 'running';
  } else {
    const state = value === 'done' ? 'succeeded' : value === 'cancelled' ? 'cancelled' : 'failed';
    if (last && last.state === 'running') {
      // a clean-up step that ran to its end succeeded; the operation's error says why it was needed
      const cleanedUp = CLEANUP_STEPS.includes(last.name) && (c.attempts === 0 || c.lastError === undefined);
      last.state = cleanedUp ? 'succeeded' : state;
      last.finishedAt = now;
      if (!cleanedUp && state !== 'succeeded' && c.failure) last.message = c.failure;
    }
    op.state = state;
    op.finishedAt = now;
    figures.durationMs = env.now() - c.startedAt;
    const names = c.oldSlot && c.newSlot ? managedTableNames(c.table) : undefined;
    if (state === 'succeeded' && names) {
      op.outcome = `${c.table} serves ${names.main[c.newSlot!]} (${c.rowsExpected ?? 0} rows) on ${c.nodes.join(', ')}; ${names.main[c.oldSlot!]} dropped${c.lastError ? ` (with trouble: ${c.lastError})` : ''}`;
    } else if (state === 'cancelled') {
      op.outcome = `cancelled; ${c.table} keeps serving slot ${c.oldSlot ?? '(unchanged)'}`;
      if (c.failure) op.error = c.failure;
    } else {
      op.error = c.failure ?? c.lastError ?? value;
      op.outcome = c.flipped.length > 0 && c.flipped.length < c.nodes.length ? `MixedSlots: ${c.flipped.join(', ')} serve slot ${c.newSlot}` : `${c.table} keeps serving slot ${c.oldSlot ?? '(unchanged)'}`;
    }
    progressByOp.delete(c.operationId);
  }
  if (JSON.stringify(op) !== JSON.stringify(existing)) env.status.upsertOperation(op);
  return op;
}

const watched = new WeakSet<object>();

/** Keeps the operation record in step with every transition (not only with passes). */
function watch(env: ImportEnv, key: string, entry: ImportEntry): void {
  if (watched.has(entry.actor)) return;
  watched.add(entry.actor);
  entry.actor.subscribe({
    next: () => {
      try {
        syncImportOperation(liveOf(env, key).env, entry);
      } catch (err) {
        env.logger.error('import operation record not updated', { machineKey: key, err: errorMessage(err) });
      }
    },
    error: (err) => env.logger.error('import machine failed', { machineKey: key, err: errorMessage(err) }),
  });
}

// ---------------------------------------------------------------------------------------------
// the pass

export interface ImportPassResult {
  /** an import machine runs for the table */
  running: boolean;
  operationId?: string;
  /** table convergence leaves the distributed table alone */
  holdDistributed: boolean;
  /** the slot table convergence treats as active (after the flip: the new one) */
  activeSlot?: Slot;
  requeueAfterMs?: number;
}

/** One pass of the table key: restore, refresh, tick, record; finished machines are removed. */
export function reconcileImport(env: ImportEnv, table: string, nodes: readonly NodeRef[], observations: ClusterObservation): ImportPassResult {
  const key = importMachineKey(env.clusterName, table);
  const l = liveOf(env, key);
  l.nodes = [...nodes];
  for (const o of observations) if (o.searchd.ok) l.buddy.set(o.node.name, o.searchd.value.buddy);
  let entry = env.runtime.get<typeof blueGreenImportMachine>(key);
  if (!entry) {
    entry = env.runtime.restore(key, importDefinition(env, key));
    if (entry) {
      env.logger.info('import resumed from its persisted snapshot', { machineKey: key, operationId: entry.actor.getSnapshot().context.operationId });
      watch(env, key, entry);
    }
  }
  if (!entry) {
    // a record left running without a machine (its snapshot was lost): close it
    const orphan = runningImport(env.status, env.clusterName, table);
    if (orphan) {
      env.status.upsertOperation({ ...orphan, state: 'failed', finishedAt: iso(env.now()), error: 'the controller restarted without the import machine snapshot; request the import again' });
    }
    return { running: false, holdDistributed: false };
  }
  if (entry.actor.getSnapshot().status === 'active') entry.actor.send({ type: 'tick', at: env.now() });
  syncImportOperation(env, entry);
  const snap = entry.actor.getSnapshot();
  const c = snap.context;
  if (snap.status !== 'active') {
    env.logger.info('import finished', { machineKey: key, operationId: c.operationId, state: String(snap.value), error: c.failure });
    env.runtime.stop(key, { remove: true });
    return { running: false, operationId: c.operationId, holdDistributed: false };
  }
  const value = String(snap.value);
  const afterFlip = ['verifyingServe', 'verifyingServeRetry', 'droppingOld', 'droppingOldRetry'].includes(value);
  const result: ImportPassResult = { running: true, operationId: c.operationId, holdDistributed: true, requeueAfterMs: IMPORT_PASS_MS };
  const active = afterFlip ? c.newSlot : c.oldSlot;
  if (active !== undefined) result.activeSlot = active;
  return result;
}
