import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { sigkillTwoNodes } from './scenarios.js';

test('SIGKILL of two nodes of three: the survivor refuses writes, both come back with every acknowledged write', { skip: SKIP_REASON, timeout: 240_000 }, (t) => sigkillTwoNodes(t));
