/**
 * The `restore` machine (issue 5 item 3): one restore of one table from one archive.
 *
 * delta: fetching → replacingDelta → verifyingDelta → cleaning → done
 * main:  fetching → choosingSlots → droppingStale → importingSlot → verifyingSlot → flipping
 *        → verifyingServe → droppingOld → cleaning → done
 *
 * `fetching` downloads, checks and unpacks the archive before anything is dropped: a corrupted,
 * truncated or foreign archive ends the restore with nothing changed. A main restore always goes into
 * the slot that is NOT serving (whatever slot the backup came from: IMPORT TABLE reads the backup's
 * files under their old name and creates the new one), and only the slot that served before the flip
 * is dropped, after every node serves the restored one (the original's rotate-main defect, §7.3, cannot
 * happen: the old slot is read from the nodes, never from the file name). A flip that keeps failing
 * rolls every node back to the old slot and drops the new one.
 */
import type { Slot } from '../../domain/names.js';
import type { BackupType } from '../../backup/types.js';
import { createStepMachine, type StepContext } from '../backup/step-machine.js';

export const RESTORE_MACHINE = 'restore';
export const RESTORE_MACHINE_VERSION = 1;

export interface RestoreInput {
  operationId: string;
  clusterName: string;
  table: string;
  filename: string;
  type: BackupType;
  clusterMain: boolean;
  nodes: string[];
  now: number;
  maxAttempts?: number;
}

export interface RestoreContext extends StepContext {
  clusterName: string;
  table: string;
  filename: string;
  type: BackupType;
  clusterMain: boolean;
  nodes: string[];
  restoreDir?: string;
  importPath?: string;
  /** the manifest's row count (undefined for an archive without manifest: nodes must agree) */
  rows?: number;
  sha256?: string;
  archiveBytes?: number;
  unpackedBytes?: number;
  importer?: string;
  oldSlot?: Slot;
  newSlot?: Slot;
  flipped: string[];
  counts?: Record<string, number>;
  /** the data was replaced (delta) or the flip happened (main) */
  changed?: boolean;
}

export const RESTORE_STEPS: Record<string, string> = {
  fetching: 'download, check and unpack the archive',
  replacingDelta: 'replace the delta table (drop, import, add to cluster)',
  verifyingDelta: 'verify rows on every node',
  choosingSlots: 'read the serving slot',
  droppingStale: 'drop a stale inactive slot',
  importingSlot: 'import into the inactive slot on every node',
  verifyingSlot: 'verify rows on every node',
  flipping: 'point the distributed table at the restored slot',
  verifyingServe: 'verify every node serves the restored slot',
  droppingOld: 'drop the old slot',
  rollingBack: 'roll the distributed table back to the old slot',
  droppingNew: 'drop the partial restored slot',
  cleaning: 'remove the unpacked files',
  cleaningAfterFailure: 'remove the unpacked files',
};

export const restoreMachine = createStepMachine<RestoreContext, RestoreInput>(
  RESTORE_MACHINE,
  (input) => ({
    operationId: input.operationId,
    clusterName: input.clusterName,
    table: input.table,
    filename: input.filename,
    type: input.type,
    clusterMain: input.clusterMain,
    nodes: input.nodes,
    flipped: [],
    startedAt: input.now,
    attempts: 0,
    maxAttempts: input.maxAttempts ?? 3,
    durations: {},
  }),
  [
    { name: 'fetching', next: (c) => (c.type === 'main' ? 'choosingSlots' : 'replacingDelta'), targets: ['choosingSlots', 'replacingDelta'], onFail: 'cleaningAfterFailure' },
    { name: 'replacingDelta', next: 'verifyingDelta', onFail: 'cleaningAfterFailure' },
    { name: 'verifyingDelta', next: 'cleaning', onFail: 'cleaningAfterFailure' },
    { name: 'choosingSlots', next: 'droppingStale', onFail: 'cleaningAfterFailure' },
    { name: 'droppingStale', next: 'importingSlot', onFail: 'cleaningAfterFailure' },
    { name: 'importingSlot', next: 'verifyingSlot', onFail: 'droppingNew' },
    { name: 'verifyingSlot', next: 'flipping', onFail: 'droppingNew' },
    { name: 'flipping', next: 'verifyingServe', onFail: 'rollingBack' },
    { name: 'verifyingServe', next: 'droppingOld', onFail: 'cleaningAfterFailure' },
    { name: 'droppingOld', next: 'cleaning', onFail: 'cleaningAfterFailure' },
    { name: 'rollingBack', next: 'droppingNew', onFail: 'cleaningAfterFailure', keepFailure: true },
    { name: 'droppingNew', next: 'cleaningAfterFailure', onFail: 'cleaningAfterFailure', keepFailure: true },
    { name: 'cleaning', next: 'done', onFail: 'done', keepFailure: true },
    { name: 'cleaningAfterFailure', next: 'failed', onFail: 'failed', keepFailure: true },
  ],
);
