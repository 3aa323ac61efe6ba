import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { sigkillAllNodes } from './scenarios.js';

test('SIGKILL of every node: full-crash recovery from the most advanced node, every acknowledged write kept', { skip: SKIP_REASON, timeout: 240_000 }, (t) => sigkillAllNodes(t));
