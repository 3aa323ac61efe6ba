import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { controllerKillDuringMainRestore, runOps } from './scenarios.js';

test('controller SIGKILLed at each step of a main restore while writes go on: the other slot serves the backup on every node, the old slot dropped, every acked write kept', { skip: SKIP_REASON, timeout: 300_000 }, (t) =>
  runOps(t, 'ctrl-kill-restore-main', 'fcrm', (fc) => controllerKillDuringMainRestore(fc, t)));
