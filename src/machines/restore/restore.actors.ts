/**
 * The restore machine's actors: src/backup/restore.ts steps for the delta, and the blue/green import's
 * effects (the same import/verify/flip/drop code the import runs) for the main slots.
 */
import { managedTableNames, otherSlot, type Slot } from '../../domain/names.js';
import { fetchArchive, removeRestoreDir, replaceDelta, verifyRows } from '../../backup/restore.js';
import type { BackupDeps } from '../../backup/types.js';
import { AppError } from '../../lib/errors.js';
import type { DistributedSpec } from '../../manticore/sql.js';
import { applyChooseSlots, applyDropSlot, applyFlip, applyImportSlot, applyVerifyServing, type BlueGreenImportDeps } from '../blue-green-import/blue-green-import.actors.js';
import { stepActors } from '../backup/step-machine.js';
import type { RestoreContext } from './restore.machine.js';

export const DEFAULT_RETRY_DELAY_MS = 2_000;

export interface RestoreDeps extends BackupDeps {
  /** the distributed definition every node gets when it serves `slot` (tables.ts desiredDistributed) */
  distributed(table: string, slot: Slot): DistributedSpec;
  /** the node runs Buddy; undefined when unknown */
  buddy(node: string): boolean | undefined;
}

function importDeps(deps: RestoreDeps): BlueGreenImportDeps {
  return {
    node: (name) => deps.nodes().find((n) => n.name === name),
    sql: (node) => deps.sql(node),
    agent: (node) => {
      const a = deps.agent(node);
      return { startJob: (r, o) => a.startJob(r, o), job: (id, o) => a.job(id, o), cancelJob: (id, o) => (a.cancelJob ? a.cancelJob(id, o) : a.job(id, o)) };
    },
    distributed: (table, slot) => deps.distributed(table, slot),
    buddy: (node) => deps.buddy(node),
    buildSpec: () => {
      throw new AppError('NOT_SUPPORTED', 'a restore builds nothing');
    },
    logger: deps.logger,
    ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
  };
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new AppError('STATE_INVALID', `the restore has no ${what} yet`);
  return v;
}

export function createRestoreActors(deps: RestoreDeps, retryDelayMs = DEFAULT_RETRY_DELAY_MS) {
  const imp = importDeps(deps);
  const base = (c: RestoreContext) => ({ operationId: c.operationId, clusterName: c.clusterName, table: c.table });
  const cleanup = async (c: RestoreContext) => {
    if (c.restoreDir !== undefined) await removeRestoreDir(c.restoreDir);
    return {};
  };
  const dropSlot = async (c: RestoreContext, slot: Slot | undefined) => {
    if (slot === undefined) return {};
    await applyDropSlot(imp, { ...base(c), slot, nodes: c.nodes, clusterMain: c.clusterMain });
    return {};
  };
  return stepActors<RestoreContext>(
    {
      fetching: async (c) => {
        const f = await fetchArchive(deps, { operationId: c.operationId, table: c.table, filename: c.filename, type: c.type });
        const patch: Partial<RestoreContext> = { restoreDir: f.restoreDir, importPath: f.importPath, archiveBytes: f.archiveBytes, unpackedBytes: f.unpackedBytes };
        if (f.rows !== undefined) patch.rows = f.rows;
        if (f.sha256 !== undefined) patch.sha256 = f.sha256;
        return patch;
      },
      replacingDelta: async (c) => {
        const r = await replaceDelta(deps, { operationId: c.operationId, table: c.table, importPath: need(c.importPath, 'import path') });
        return { importer: r.importer, changed: true };
      },
      verifyingDelta: async (c, signal) => ({ counts: await verifyRows(deps, managedTableNames(c.table).delta, c.rows, signal) }),
      choosingSlots: async (c) => {
        const r = await applyChooseSlots(imp, { ...base(c), nodes: c.nodes });
        const served = [...new Set(Object.values(r.byNode).filter((s): s is Slot => s !== 'none'))];
        if (served.length > 1) {
          throw new AppError('MIXED_SLOTS', `nodes serve different slots (${Object.entries(r.byNode).map(([n, s]) => `${n}=${s}`).join(', ')}): the table must serve one slot before a main restore`);
        }
        const old: Slot = served[0] ?? 'a';
        return { oldSlot: old, newSlot: otherSlot(old) };
      },
      droppingStale: async (c) => dropSlot(c, need(c.newSlot, 'target slot')),
      importingSlot: async (c, signal) => {
        await applyImportSlot(imp, { ...base(c), slot: need(c.newSlot, 'target slot'), nodes: c.nodes, rtPrefix: need(c.importPath, 'import path'), rows: c.rows ?? -1, clusterMain: c.clusterMain }, signal);
        return {};
      },
      verifyingSlot: async (c, signal) => ({ counts: await verifyRows(deps, managedTableNames(c.table).main[need(c.newSlot, 'target slot')], c.rows, signal) }),
      flipping: async (c) => {
        const r = await applyFlip(imp, { ...base(c), to: need(c.newSlot, 'target slot'), nodes: c.nodes });
        if (r.failed.length > 0) {
          throw new AppError('FLIP_FAILED', `the distributed table could not be pointed at ${managedTableNames(c.table).main[c.newSlot!]} on ${r.failed.map((f) => `${f.node} (${f.error})`).join(', ')}`, { retryable: true });
        }
        return { flipped: r.flipped, changed: true };
      },
      verifyingServe: async (c) => {
        await applyVerifyServing(imp, { ...base(c), slot: need(c.newSlot, 'target slot'), nodes: c.nodes, rows: Math.max(0, c.rows ?? 0) });
        return {};
      },
      droppingOld: async (c) => dropSlot(c, need(c.oldSlot, 'old slot')),
      rollingBack: async (c) => {
        if (c.oldSlot === undefined) return {};
        const r = await applyFlip(imp, { ...base(c), to: c.oldSlot, nodes: c.nodes });
        if (r.failed.length > 0) throw new AppError('ROLLBACK_FAILED', `roll back to slot ${c.oldSlot} failed on ${r.failed.map((f) => `${f.node} (${f.error})`).join(', ')}`, { retryable: true });
        return { flipped: [] };
      },
      droppingNew: async (c) => dropSlot(c, c.newSlot),
      cleaning: cleanup,
      cleaningAfterFailure: cleanup,
    },
    retryDelayMs,
  );
}
