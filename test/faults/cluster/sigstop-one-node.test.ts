import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { pauseOneNode } from './scenarios.js';

test('SIGSTOP of one node, then SIGCONT: it catches up with every acknowledged write', { skip: SKIP_REASON, timeout: 240_000 }, (t) => pauseOneNode(t));
