/**
 * Scenario h: one node of three partitioned away. The minority turns non-primary and refuses
 * writes; the majority keeps writing; after the heal the node merges back with every row.
 *
 * On the simulator the partition goes through its admin endpoint (/sim/partition, /sim/heal).
 * Against real binaries all nodes share 127.0.0.1, so iptables cannot separate them (Galera's
 * outgoing connections use ephemeral ports); the scenario is skipped there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BINARIES,
  clusterStatus,
  createClusteredTable,
  expectSqlError,
  idStrings,
  insertIds,
  range,
  scenario,
  waitReadyAll,
  waitRowsEverywhere,
} from '../helpers/conformance.js';
import type { SearchdNode } from '../../src/sim/launcher.js';

const skip = BINARIES.isSimulator
  ? false
  : 'real binaries: all nodes share 127.0.0.1, so a partition needs per-process network isolation (iptables can only match ports, and Galera connects out from ephemeral ports); not available here';

async function partition(side: SearchdNode, others: SearchdNode[]): Promise<void> {
  const res = await side.httpPost('/sim/partition', { peers: others.map((o) => o.apiAddress) });
  assert.equal(res.status, 200, `/sim/partition on ${side.name}: ${res.text}`);
}

test('cluster: partitioned minority is non-primary and refuses writes; heal rejoins', { skip }, (t) =>
  scenario(t, async (s) => {
    const c = s.cluster(3);
    await c.startAll();
    await c.form('c');
    await createClusteredTable(c, 'c');
    await insertIds(c.node(0), 'c:t', range(1, 3));
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 3)));

    const [a, b, minority] = [c.node(0), c.node(1), c.node(2)];
    await partition(minority, [a, b]);
    await partition(a, [minority]);
    await partition(b, [minority]);

    await s.waitFor(async () => (await clusterStatus(minority, 'c'))?.status === 'non-primary', 'partition', 'the minority to become non-primary');
    await waitReadyAll([a, b], 'c', 2, 'partition');

    await expectSqlError(minority, "INSERT INTO c:t (id, title, n) VALUES (100, 'lost', 1)", "cluster 'c' is not ready, not primary state");
    await insertIds(a, 'c:t', range(4, 5));
    await insertIds(b, 'c:t', [6]);
    await waitRowsEverywhere([a, b], 't', idStrings(range(1, 6)));
    assert.deepEqual(
      (await minority.sql('SELECT id FROM t ORDER BY id ASC')).rows.map((r) => r.id),
      idStrings(range(1, 3)),
      'the minority did not see the majority writes while partitioned',
    );

    for (const n of c.nodes) {
      const res = await n.httpPost('/sim/heal', {});
      assert.equal(res.status, 200, `/sim/heal on ${n.name}: ${res.text}`);
    }
    await waitReadyAll(c.nodes, 'c', 3, 'heal');
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 6)), 'heal');
    await insertIds(minority, 'c:t', [7]);
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 7)));
  }));
