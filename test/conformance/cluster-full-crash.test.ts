/**
 * Scenario g: SIGKILL of every node, then plain starts of all: no node is in a cluster any more,
 * rows are intact, grastate.dat has the uuid with seqno -1 / safe_to_bootstrap 0, and
 * pc.bootstrap has no cluster to act on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  count,
  createClusteredTable,
  expectSqlError,
  hasNoClusterRows,
  idStrings,
  insertIds,
  range,
  scenario,
  waitRowsEverywhere,
} from '../helpers/conformance.js';

test('cluster: full SIGKILL then plain starts leaves every node outside any cluster, rows intact', (t) =>
  scenario(t, async (s) => {
    const c = s.cluster(3);
    await c.startAll();
    await c.form('c');
    await createClusteredTable(c, 'c');
    await insertIds(c.node(0), 'c:t', range(1, 5));
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 5)));
    const uuid = (await c.status(0, 'c'))?.stateUuid ?? '';

    await c.killAll();
    for (const [i, n] of c.nodes.entries()) {
      const g = n.grastate();
      assert.ok(g, `node${i} grastate.dat`);
      assert.equal(g.uuid, uuid, `node${i} uuid`);
      assert.equal(g.seqno, -1, `node${i} seqno after a crash`);
      assert.equal(g.safeToBootstrap, 0, `node${i} safe_to_bootstrap after a crash`);
    }

    await c.startAll();
    for (const n of c.nodes) {
      await s.waitFor(
        async () => (await hasNoClusterRows(n)) && n.savedClusters().length === 0,
        'dropCluster',
        `${n.name} to give up cluster c`,
      );
    }
    for (const [i, n] of c.nodes.entries()) {
      const json = n.manticoreJson();
      assert.ok(json?.clusters === undefined || JSON.stringify(json.clusters) === '{}', `node${i} clusters: ${JSON.stringify(json?.clusters)}`);
      assert.equal(await count(n, 't'), 5, `node${i} keeps its rows`);
      const g = n.grastate();
      assert.equal(g?.uuid, uuid, `node${i} grastate keeps the uuid`);
      assert.equal(g?.seqno, -1, `node${i} grastate seqno`);
      assert.equal(g?.safeToBootstrap, 0, `node${i} grastate safe_to_bootstrap`);
      await expectSqlError(n, "SET CLUSTER c GLOBAL 'pc.bootstrap' = 1", "unknown cluster 'c' in SET statement");
    }
  }));
