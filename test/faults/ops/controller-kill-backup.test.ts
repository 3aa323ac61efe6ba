import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { controllerKillDuringBackup, runOps } from './scenarios.js';

test('controller SIGKILLed at each step of a delta backup while writes go on: the backup succeeds, nothing frozen, one archive with its manifest, every acked write kept', { skip: SKIP_REASON, timeout: 240_000 }, (t) =>
  runOps(t, 'ctrl-kill-backup', 'fcb', (fc) => controllerKillDuringBackup(fc, t)));
