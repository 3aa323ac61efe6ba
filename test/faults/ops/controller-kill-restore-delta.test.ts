import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { controllerKillDuringDeltaRestore, runOps } from './scenarios.js';

test("controller SIGKILLed at each step of a delta restore: it succeeds, every node holds exactly the backup's rows, the delta is back in the cluster, nothing frozen", { skip: SKIP_REASON, timeout: 240_000 }, (t) =>
  runOps(t, 'ctrl-kill-restore-delta', 'fcrd', (fc) => controllerKillDuringDeltaRestore(fc, t)));
