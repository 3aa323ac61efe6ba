/**
 * The `backup` machine (issue 5 item 3): one backup of one table.
 *
 *   choosing → snapshotting → uploading → cleaning → done
 *   (a final failure of the first three) → cleaningAfterFailure → failed
 *
 * Effects are the src/backup steps (backup.actors.ts). Every one is safe to repeat after a
 * controller restart: the manticore-backup job has a fixed id per operation and node (a repeat
 * returns the same job), the archive key is fixed by the request time, and the upload rewrites it.
 */
import type { Slot } from '../../domain/names.js';
import type { BackupManifest, BackupType } from '../../backup/types.js';
import { createStepMachine, type StepContext } from './step-machine.js';

export const BACKUP_MACHINE = 'backup';
export const BACKUP_MACHINE_VERSION = 1;

export interface BackupInput {
  operationId: string;
  clusterName: string;
  table: string;
  type: BackupType;
  slot?: Slot;
  now: number;
  maxAttempts?: number;
}

export interface BackupContext extends StepContext {
  clusterName: string;
  table: string;
  type: BackupType;
  slot?: Slot;
  node?: string;
  fullTable?: string;
  workDir?: string;
  archive?: string;
  archiveKey?: string;
  rows?: number;
  rowsExact?: boolean;
  schema?: BackupManifest['schema'];
  manticoreVersion?: string;
  backupDir?: string;
  tableBytes?: number;
  tableFiles?: number;
  archiveBytes?: number;
  sha256?: string;
}

/** Human step names for the operation record. */
export const BACKUP_STEPS: Record<string, string> = {
  choosing: 'choose a healthy node',
  snapshotting: 'manticore-backup on the node',
  uploading: 'upload archive and manifest',
  cleaning: 'remove the working dir',
  cleaningAfterFailure: 'remove the working dir',
};

export const backupMachine = createStepMachine<BackupContext, BackupInput>(
  BACKUP_MACHINE,
  (input) => {
    const c: BackupContext = {
      operationId: input.operationId,
      clusterName: input.clusterName,
      table: input.table,
      type: input.type,
      startedAt: input.now,
      attempts: 0,
      maxAttempts: input.maxAttempts ?? 3,
      durations: {},
    };
    if (input.slot !== undefined) c.slot = input.slot;
    return c;
  },
  [
    { name: 'choosing', next: 'snapshotting', onFail: 'cleaningAfterFailure' },
    { name: 'snapshotting', next: 'uploading', onFail: 'cleaningAfterFailure' },
    { name: 'uploading', next: 'cleaning', onFail: 'cleaningAfterFailure' },
    { name: 'cleaning', next: 'done', onFail: 'done', keepFailure: true },
    { name: 'cleaningAfterFailure', next: 'failed', onFail: 'failed', keepFailure: true },
  ],
);
