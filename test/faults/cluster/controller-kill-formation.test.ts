import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { controllerKillDuringFormation } from './scenarios.js';

test('controller SIGKILLed at each formation step: one cluster, every acknowledged write', { skip: SKIP_REASON, timeout: 240_000 }, (t) => controllerKillDuringFormation(t));
