/** The backup machine's actors: the src/backup steps, bound to deps (backupMachine.provide({ actors })). */
import { chooseBackupNode, fullTableName, planBackup, removeWorkDir, snapshotTable, uploadBackup, type BackupPlan } from '../../backup/backup.js';
import type { BackupDeps } from '../../backup/types.js';
import { AppError } from '../../lib/errors.js';
import type { BackupContext } from './backup.machine.js';
import { stepActors } from './step-machine.js';

export const DEFAULT_RETRY_DELAY_MS = 2_000;

function planOf(c: BackupContext): BackupPlan {
  if (c.node === undefined || c.fullTable === undefined || c.workDir === undefined || c.archive === undefined || c.archiveKey === undefined) {
    throw new AppError('STATE_INVALID', 'the backup has no plan yet');
  }
  return {
    operationId: c.operationId,
    table: c.table,
    type: c.type,
    ...(c.slot !== undefined ? { slot: c.slot } : {}),
    startedAt: c.startedAt,
    fullTable: c.fullTable,
    node: c.node,
    workDir: c.workDir,
    archive: c.archive,
    archiveKey: c.archiveKey,
  };
}

export function createBackupActors(deps: BackupDeps, retryDelayMs = DEFAULT_RETRY_DELAY_MS) {
  return stepActors<BackupContext>(
    {
      choosing: async (c) => {
        const node = await chooseBackupNode(deps, fullTableName(c.table, c.type, c.slot));
        const plan = planBackup(deps, { operationId: c.operationId, table: c.table, type: c.type, ...(c.slot !== undefined ? { slot: c.slot } : {}), startedAt: c.startedAt }, node);
        return { node, fullTable: plan.fullTable, workDir: plan.workDir, archive: plan.archive, archiveKey: plan.archiveKey };
      },
      snapshotting: async (c, signal) => {
        const s = await snapshotTable(deps, planOf(c), signal);
        return { rows: s.rows, rowsExact: s.rowsExact, schema: s.schema, manticoreVersion: s.manticoreVersion, backupDir: s.backupDir, tableBytes: s.tableBytes, tableFiles: s.tableFiles };
      },
      uploading: async (c) => {
        const u = await uploadBackup(deps, planOf(c), {
          rows: c.rows ?? 0,
          rowsExact: c.rowsExact ?? false,
          schema: c.schema ?? [],
          manticoreVersion: c.manticoreVersion ?? 'unknown',
          backupDir: c.backupDir ?? '',
          tableBytes: c.tableBytes ?? 0,
          tableFiles: c.tableFiles ?? 0,
        });
        return { archiveBytes: u.archiveBytes, sha256: u.sha256 };
      },
      cleaning: async (c) => {
        if (c.workDir !== undefined) await removeWorkDir(c.workDir);
        return {};
      },
      cleaningAfterFailure: async (c) => {
        if (c.workDir !== undefined) await removeWorkDir(c.workDir);
        return {};
      },
    },
    retryDelayMs,
  );
}
