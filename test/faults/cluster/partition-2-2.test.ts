import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { partitionTwoTwo } from './scenarios.js';

test('partition 2|2 of 4: both sides refuse writes, no side is bootstrapped, the heal brings back one cluster', { skip: SKIP_REASON, timeout: 240_000 }, (t) => partitionTwoTwo(t));
