/**
 * A whole restore (delta or main) in one call, for the `job` subcommand: runs the same `restore` machine
 * and actors the controller runs, without persistence, and resolves with its final context.
 */
import { createActor, toPromise } from 'xstate';
import { AppError } from '../lib/errors.js';
import { createRestoreActors, type RestoreDeps } from '../machines/restore/restore.actors.js';
import { restoreMachine, type RestoreContext } from '../machines/restore/restore.machine.js';
import { parseBackupFilename } from './names.js';

export interface RunRestoreParams {
  operationId: string;
  /** base table name */
  table: string;
  filename: string;
  clusterMain: boolean;
  /** retries of a failing step (default 3) */
  maxAttempts?: number;
}

/** Resolves with the final context when the restore succeeded; rejects with RESTORE_FAILED otherwise. */
export async function runRestore(params: RunRestoreParams, deps: RestoreDeps, retryDelayMs = 2_000): Promise<RestoreContext> {
  const file = parseBackupFilename(params.table, params.filename);
  const actor = createActor(restoreMachine.provide({ actors: createRestoreActors(deps, retryDelayMs) as never }), {
    input: {
      operationId: params.operationId,
      clusterName: deps.clusterName,
      table: params.table,
      filename: file.filename,
      type: file.type,
      clusterMain: params.clusterMain,
      nodes: deps.nodes().map((n) => n.name),
      now: Date.now(),
      ...(params.maxAttempts !== undefined ? { maxAttempts: params.maxAttempts } : {}),
    },
  });
  actor.start();
  await toPromise(actor);
  const snap = actor.getSnapshot();
  const c = snap.context;
  if (String(snap.value) !== 'done') {
    throw new AppError('RESTORE_FAILED', `${c.changed ? 'the restore failed after changing data' : 'nothing was changed'}: ${c.failure ?? c.lastError ?? String(snap.value)}`, { details: { table: params.table, filename: file.filename } });
  }
  return c;
}
