/**
 * Scenario k: how long a 3-node cluster takes to start and form; printed as a diagnostic, not asserted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BINARIES, scenario, waitReadyAll } from '../helpers/conformance.js';

test('3-node formation timing (diagnostic)', (t) =>
  scenario(t, async (s) => {
    const c = s.cluster(3);
    const t0 = performance.now();
    await c.startAll();
    const t1 = performance.now();
    await c.form('c');
    const t2 = performance.now();
    await waitReadyAll(c.nodes, 'c', 3, 'form');
    t.diagnostic(
      `${BINARIES.isSimulator ? 'simulator' : 'real searchd'}: 3 nodes started in ${Math.round(t1 - t0)} ms, ` +
        `cluster formed (CREATE + 2 JOIN, all primary+synced) in ${Math.round(t2 - t1)} ms, total ${Math.round(t2 - t0)} ms`,
    );
    assert.equal((await c.status(2, 'c'))?.size, 3);
  }));
