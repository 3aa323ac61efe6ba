/**
 * Scenario c: CREATE CLUSTER + JOIN, replicated writes on every node, the errors for a clustered
 * table written without its prefix and for DROP, and the shapes of the status variables.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clusterStatus,
  createClusteredTable,
  expectSqlError,
  idStrings,
  insertIds,
  range,
  scenario,
  waitRowsEverywhere,
} from '../helpers/conformance.js';

test('cluster: create, join, replicated writes visible everywhere, status shapes', (t) =>
  scenario(t, async (s) => {
    const c = s.cluster(3);
    await c.startAll();
    for (const n of c.nodes) assert.deepEqual((await n.sql("SHOW STATUS LIKE 'cluster%'")).rows, [], `${n.name} before any cluster`);

    await c.form('c');
    await createClusteredTable(c, 'c');

    // writes from every node go to every node
    await insertIds(c.node(0), 'c:t', [1, 2]);
    await insertIds(c.node(1), 'c:t', [3]);
    await c.node(2).sql("REPLACE INTO c:t (id, title, n) VALUES (4, 'doc number 4', 40)");
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 4)));
    for (const n of c.nodes) {
      const r = await n.sql('SELECT id, title, n FROM t WHERE id = 4');
      assert.deepEqual(r.rows, [{ id: '4', title: 'doc number 4', n: '40' }], n.name);
    }
    await c.node(1).sql('DELETE FROM c:t WHERE id = 4');
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 3)));

    // the prefix is mandatory for writes; reads may use the bare name
    for (const n of c.nodes) {
      await expectSqlError(n, "INSERT INTO t (id, title, n) VALUES (100, 'x', 1)", "table 't' is a part of cluster 'c', use 'c:t'");
    }
    await expectSqlError(c.node(1), 'DELETE FROM t WHERE id = 1', "table 't' is a part of cluster 'c', use 'c:t'");
    await expectSqlError(c.node(0), 'DROP TABLE t', "unable to drop a cluster table 't'");
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 3)));

    // status variables
    const sts = await Promise.all(c.nodes.map((_, i) => c.status(i, 'c')));
    const uuid = sts[0]?.stateUuid;
    assert.match(uuid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const seqnos = new Set<number | undefined>();
    for (const [i, st] of sts.entries()) {
      assert.ok(st, `node${i} has cluster_c_* rows`);
      assert.equal(st.status, 'primary', `node${i} status`);
      assert.equal(st.nodeState, 'synced', `node${i} node_state`);
      assert.equal(st.size, 3, `node${i} size`);
      assert.equal(st.stateUuid, uuid, `node${i} state_uuid`);
      assert.equal(st.vars.local_state_uuid, uuid, `node${i} local_state_uuid`);
      assert.equal(st.indexes, 't', `node${i} indexes`);
      assert.equal(st.vars.indexes_count, '1', `node${i} indexes_count`);
      assert.equal(st.lastCommitted, st.stateSeqno, `node${i} last_committed = state_seqno`);
      assert.ok(Number.isInteger(st.stateSeqno) && (st.stateSeqno ?? 0) >= 5, `node${i} state_seqno ${st.stateSeqno} counts the replicated writes`);
      seqnos.add(st.stateSeqno);

      // nodes_set: API addresses of members, comma-separated
      const set = (st.nodesSet ?? '').split(',').filter(Boolean);
      assert.ok(set.length >= 1, `node${i} nodes_set '${st.nodesSet}'`);
      for (const a of set) assert.ok(c.nodes.some((m) => m.apiAddress === a), `node${i} nodes_set entry ${a} is a member API address`);

      // nodes_view: every member as '<api addr>,<repl addr>:replication'
      const tokens = (st.nodesView ?? '').split(',').filter(Boolean);
      const repl = tokens.filter((x) => x.endsWith(':replication'));
      const api = tokens.filter((x) => !x.endsWith(':replication'));
      assert.deepEqual([...api].sort(), c.nodes.map((m) => m.apiAddress).sort(), `node${i} nodes_view '${st.nodesView}'`);
      assert.equal(repl.length, 3, `node${i} nodes_view replication entries`);
      for (const r of repl) {
        const port = Number(/^127\.0\.0\.1:(\d+):replication$/.exec(r)?.[1]);
        assert.ok(
          c.nodes.some((m) => port >= m.ports.replicationFrom && port <= m.ports.replicationTo),
          `node${i} nodes_view replication address ${r} lies in a node's replication range`,
        );
      }
      for (const k of ['sst_total', 'sst_stage']) assert.ok(k in st.vars, `node${i} has cluster_c_${k}`);
    }
    assert.equal(seqnos.size, 1, `state_seqno equal on every node: ${[...seqnos].join(',')}`);

    // manticore.json keeps the cluster with its tables and the rejoin list on every node
    for (const n of c.nodes) {
      const saved = await c.waitFor(
        () => {
          const cl = (n.manticoreJson()?.clusters as Record<string, { nodes?: string; indexes?: string[] }> | undefined)?.c;
          return cl && JSON.stringify(cl.indexes) === JSON.stringify(['t']) ? cl : false;
        },
        'replicate',
        `${n.name} manticore.json to list table t in cluster c`,
      );
      for (const a of (saved.nodes ?? '').split(',').filter(Boolean)) {
        assert.ok(c.nodes.some((m) => m.apiAddress === a), `${n.name} manticore.json nodes entry ${a} is a member API address`);
      }
    }

    // seqno advances with every replicated write, on every node
    const before = sts[0]?.stateSeqno ?? 0;
    await insertIds(c.node(2), 'c:t', [5]);
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 3).concat([5])));
    await c.waitFor(
      async () => {
        const all = await Promise.all(c.nodes.map((_, i) => clusterStatus(c.node(i), 'c')));
        return all.every((x) => x?.stateSeqno === before + 1);
      },
      'replicate',
      `state_seqno ${before + 1} on every node after one more write`,
    );
  }));
