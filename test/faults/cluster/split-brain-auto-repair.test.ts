import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { splitBrainAutoRepair } from './scenarios.js';

test('split brain healed with REPAIR_POLICY=auto: the controller repairs it, every acknowledged write of the survivor side everywhere', { skip: SKIP_REASON, timeout: 240_000 }, (t) => splitBrainAutoRepair(t));
