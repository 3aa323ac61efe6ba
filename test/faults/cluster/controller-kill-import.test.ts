import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { controllerKillDuringImport } from './scenarios.js';

test('controller SIGKILLed at each import step while writes go on: the import succeeds, every acknowledged write kept', { skip: SKIP_REASON, timeout: 240_000 }, (t) => controllerKillDuringImport(t));
