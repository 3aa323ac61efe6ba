/**
 * Scenario e: clean stop of every node one by one (`--stopwait`), then `--new-cluster` on the
 * last node to leave and plain starts of the others bring the same cluster back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClusteredTable, idStrings, insertIds, range, scenario, waitReadyAll, waitRowsEverywhere } from '../helpers/conformance.js';

test('cluster: clean full stop, --new-cluster on the last to leave keeps uuid and rows', (t) =>
  scenario(t, async (s) => {
    const c = s.cluster(3);
    await c.startAll();
    await c.form('c');
    await createClusteredTable(c, 'c');
    await insertIds(c.node(0), 'c:t', range(1, 2));
    await insertIds(c.node(1), 'c:t', range(3, 4));
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 4)));
    const st0 = await c.status(0, 'c');
    const uuid = st0?.stateUuid ?? '';
    const seqno = st0?.stateSeqno ?? NaN;
    assert.ok(uuid !== '' && Number.isInteger(seqno));

    for (const n of c.nodes) {
      const began = Date.now();
      await n.stopWait();
      t.diagnostic(`${n.name} clean stop took ${Date.now() - began} ms`);
      assert.equal(n.running, false);
    }

    const states = c.nodes.map((n) => n.grastate());
    const seqnos = new Set<number>();
    for (const [i, g] of states.entries()) {
      assert.ok(g, `node${i} has grastate.dat`);
      assert.equal(g.uuid, uuid, `node${i} grastate uuid`);
      assert.ok(g.seqno >= seqno, `node${i} grastate seqno ${g.seqno} >= ${seqno} seen while running`);
      seqnos.add(g.seqno);
      assert.equal(g.safeToBootstrap, i === 2 ? 1 : 0, `node${i} safe_to_bootstrap (only the last to leave is safe)`);
      assert.ok(c.node(i).savedClusters().includes('c'), `node${i} manticore.json still lists cluster c`);
    }
    assert.equal(seqnos.size, 1, `same seqno everywhere: ${[...seqnos].join(',')}`);

    await c.node(2).start(['--new-cluster']);
    await waitReadyAll([c.node(2)], 'c', 1, 'form');
    await c.node(0).start();
    await c.node(1).start();
    await waitReadyAll(c.nodes, 'c', 3, 'rejoin');

    for (const [i] of c.nodes.entries()) {
      const st = await c.status(i, 'c');
      assert.equal(st?.stateUuid, uuid, `node${i} same cluster uuid after the restart`);
      assert.equal(st?.indexes, 't', `node${i} indexes`);
    }
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 4)));
    await insertIds(c.node(0), 'c:t', [5]);
    await insertIds(c.node(2), 'c:t', [6]);
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 6)));
  }));
