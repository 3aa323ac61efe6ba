/**
 * The two fastest fault scenarios of test/faults/ (SIGKILL of one node, partition 1|2), run in
 * `npm test` too: the same scenario code (test/faults/cluster/scenarios.ts), real processes, the
 * controller as a separate process. Every acknowledged write on every node afterwards, the cluster
 * uuid kept; recovery figures go to the diagnostics only (the full suite, `npm run test:faults`,
 * records them in bench/faults-results.md).
 *
 * The partition writes to the minority all along, the moment of the cut included, as the full suite
 * does (the simulator agrees views with the members and acknowledges a write only once every member of
 * the primary view holds it, so no write the minority acknowledged is lost).
 */
import { test } from 'node:test';
import { SKIP_REASON } from '../../faults/lib/cluster.js';
import { partitionOneTwo, sigkillOneNode } from '../../faults/cluster/scenarios.js';

/** One scenario: a fresh 3-node cluster formed by the controller, the fault, the recovery, the checks. */
const SCENARIO_TIMEOUT_MS = 120_000;

test('faults smoke: SIGKILL of one node: it rejoins with every acknowledged write', { skip: SKIP_REASON, timeout: SCENARIO_TIMEOUT_MS }, (t) => sigkillOneNode(t, 'fsk1'));

test('faults smoke: partition 1|2: the minority refuses writes; after the heal every acknowledged write everywhere', { skip: SKIP_REASON, timeout: SCENARIO_TIMEOUT_MS }, (t) => partitionOneTwo(t, 'fsp12'));
