/**
 * Scenario f: after a clean full stop, a node started while none of its peers answers drops the
 * cluster (manticore.json without it, no cluster% rows) but keeps its tables, rows and
 * grastate.dat; the others come back with --new-cluster, and it needs an explicit JOIN.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  count,
  createClusteredTable,
  hasNoClusterRows,
  idStrings,
  insertIds,
  range,
  scenario,
  waitReadyAll,
  waitRowsEverywhere,
} from '../helpers/conformance.js';
import { LOOPBACK_OPTIONS } from '../../src/sim/launcher.js';

test('cluster: a node started alone drops the cluster and needs an explicit JOIN', (t) =>
  scenario(t, async (s) => {
    const c = s.cluster(3);
    await c.startAll();
    await c.form('c');
    await createClusteredTable(c, 'c');
    await insertIds(c.node(0), 'c:t', range(1, 3));
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 3)));
    const uuid = (await c.status(0, 'c'))?.stateUuid ?? '';
    for (const n of c.nodes) await n.stopWait();

    const alone = c.node(0);
    await alone.start();
    await s.waitFor(
      async () => (await hasNoClusterRows(alone)) && alone.savedClusters().length === 0,
      'dropCluster',
      `${alone.name} to give up cluster c (no cluster% rows, manticore.json without clusters)`,
    );
    const json = alone.manticoreJson();
    assert.ok(json, 'manticore.json exists');
    assert.ok(json.clusters === undefined || JSON.stringify(json.clusters) === '{}', `clusters in manticore.json: ${JSON.stringify(json.clusters)}`);
    assert.equal(await count(alone, 't'), 3, 'tables and rows stay');
    assert.equal(alone.grastate()?.uuid, uuid, 'grastate.dat keeps the uuid');

    // the others bring the cluster back; the lone node stays outside
    await c.node(2).start(['--new-cluster']);
    await c.node(1).start();
    await waitReadyAll([c.node(1), c.node(2)], 'c', 2, 'rejoin');
    await insertIds(c.node(2), 'c:t', [4]);
    await waitRowsEverywhere([c.node(1), c.node(2)], 't', idStrings(range(1, 4)));
    assert.equal(await hasNoClusterRows(alone), true, 'the lone node did not rejoin by itself');
    assert.deepEqual(alone.savedClusters(), []);
    assert.equal(await count(alone, 't'), 3);

    await alone.sql(`JOIN CLUSTER c AT '${c.node(2).apiAddress}' '${LOOPBACK_OPTIONS}' AS options`);
    await waitReadyAll(c.nodes, 'c', 3, 'rejoin');
    assert.equal((await c.status(0, 'c'))?.stateUuid, uuid, 'it joined the same cluster');
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 4)), 'rejoin');
    assert.ok(alone.savedClusters().includes('c'), 'manticore.json lists the cluster again');
  }));
