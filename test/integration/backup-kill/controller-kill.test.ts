/**
 * Issue 5 item 3, as a real-process test in `npm test`: the controller (a separate process) SIGKILLed
 * at the first two steps of a delta backup it sees running and then of its restore (the fault suite's
 * files kill at every step), restarted each time; both
 * complete, no table is left frozen, the store holds the one archive and its manifest, every node holds
 * exactly the backup's rows and the delta replicates again. The fault suite (test/faults/ops/) has the
 * longer versions (writes going on, a main restore, agents killed, storage down, disk full).
 */
import { test } from 'node:test';
import { SKIP_REASON } from '../../faults/lib/cluster.js';
import { controllerKillBackupThenRestore, runOps } from '../../faults/ops/scenarios.js';

test('controller SIGKILLed at the steps of a delta backup and of its restore: both complete, nothing frozen, the backup\'s rows on every node', { skip: SKIP_REASON, timeout: 180_000 }, (t) =>
  runOps(t, 'backup-kill', 'itbk', (fc) => controllerKillBackupThenRestore(fc, t)));
