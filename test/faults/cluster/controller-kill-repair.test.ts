import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { controllerKillDuringRepair } from './scenarios.js';

test('controller SIGKILLed at each step of a split-brain repair: one repair succeeds, every acknowledged write of the survivor side everywhere', { skip: SKIP_REASON, timeout: 240_000 }, (t) => controllerKillDuringRepair(t));
