import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { sigkillOneNode } from './scenarios.js';

test('SIGKILL of one node of three: it restarts, rejoins and holds every acknowledged write', { skip: SKIP_REASON, timeout: 240_000 }, (t) => sigkillOneNode(t));
