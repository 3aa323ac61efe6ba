import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { partitionOneTwo } from './scenarios.js';

test('partition 1|2: the minority refuses writes, after the heal every acknowledged write everywhere', { skip: SKIP_REASON, timeout: 240_000 }, (t) => partitionOneTwo(t));
