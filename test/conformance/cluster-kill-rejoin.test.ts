/**
 * Scenario d: a node SIGKILLed out of three. The survivors evict it (size 2), keep taking writes,
 * and the node restarted plainly rejoins by itself with every row written meanwhile.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClusteredTable, idStrings, insertIds, range, scenario, waitReadyAll, waitRowsEverywhere } from '../helpers/conformance.js';

test('cluster: SIGKILLed node is evicted, writes continue, plain restart rejoins and catches up', (t) =>
  scenario(t, async (s) => {
    const c = s.cluster(3);
    await c.startAll();
    await c.form('c');
    await createClusteredTable(c, 'c');
    await insertIds(c.node(0), 'c:t', range(1, 3));
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 3)));
    const uuid = (await c.status(0, 'c'))?.stateUuid;

    const victim = c.node(2);
    const survivors = [c.node(0), c.node(1)];
    await victim.kill('SIGKILL');
    const started = Date.now();
    await waitReadyAll(survivors, 'c', 2, 'evict');
    t.diagnostic(`survivors reported size 2 after ${Date.now() - started} ms`);
    for (const [i] of survivors.entries()) {
      const view = (await c.status(i, 'c'))?.nodesView ?? '';
      assert.ok(!view.split(',').includes(victim.apiAddress), `node${i} nodes_view '${view}' no longer lists the killed node`);
      assert.ok(view.split(',').includes(survivors[i]?.apiAddress ?? '?'), `node${i} nodes_view '${view}' lists itself`);
    }

    // a crash leaves no saved position
    const g = victim.grastate();
    assert.ok(g, 'grastate.dat exists on the killed node');
    assert.equal(g.uuid, uuid);
    assert.equal(g.seqno, -1);

    // writes continue on both survivors
    await insertIds(c.node(0), 'c:t', range(4, 6));
    await insertIds(c.node(1), 'c:t', range(7, 8));
    await waitRowsEverywhere(survivors, 't', idStrings(range(1, 8)));

    const restart = Date.now();
    await victim.start();
    await waitReadyAll(c.nodes, 'c', 3, 'rejoin');
    t.diagnostic(`restarted node synced after ${Date.now() - restart} ms`);
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 8)), 'rejoin');

    for (const [i] of c.nodes.entries()) {
      const st = await c.status(i, 'c');
      assert.equal(st?.status, 'primary', `node${i}`);
      assert.equal(st?.nodeState, 'synced', `node${i}`);
      assert.equal(st?.stateUuid, uuid, `node${i} keeps the cluster uuid`);
    }
    // and the rejoined node takes writes again
    await insertIds(victim, 'c:t', [9]);
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 9)));
  }));
