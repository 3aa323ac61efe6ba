import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { SqlError } from '../../../../src/sim/contract.js';
import { parseGrastate } from '../../../../src/sim/cluster/galera-files.js';
import {
  crash,
  exec,
  formCluster,
  insert,
  readGrastateText,
  shutdownAll,
  st,
  startNode,
  status,
  stopNode,
  waitFor,
  type TestNode,
} from './harness.js';

const sortedApis = (nodes: TestNode[]) => nodes.map((n) => n.api).sort();

describe('ClusterManager: formation and replicated writes', () => {
  test('no cluster: no status rows, SET on an unknown cluster fails with the real text', async () => {
    const [n] = [await startNode()];
    try {
      assert.deepEqual(n.manager.statusRows(), []);
      await assert.rejects(exec(n, { kind: 'set_cluster', name: 'c', key: 'pc.bootstrap', value: '1' }), {
        message: "unknown cluster 'c' in SET statement",
      });
    } finally {
      await shutdownAll([n]);
    }
  });

  test('CREATE + 2 JOINs: same uuid/seqno everywhere, SST of the table, status rows in order', async () => {
    const t0 = Date.now();
    const nodes = await formCluster(3);
    const formedMs = Date.now() - t0;
    try {
      const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
      assert.ok(formedMs < 2000, `3-node formation took ${formedMs} ms`);
      const uuid = st(a, 'state_uuid');
      assert.match(uuid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      for (const n of nodes) {
        assert.equal(st(n, 'state_uuid'), uuid);
        assert.equal(st(n, 'local_state_uuid'), uuid);
        assert.equal(st(n, 'state_seqno'), '1');
        assert.equal(st(n, 'status'), 'primary');
        assert.equal(st(n, 'node_state'), 'synced');
        assert.equal(st(n, 'indexes'), 't');
        assert.deepEqual(n.engine.ids('t'), ['1', '2']);
      }
      // the view reaches every node
      await waitFor('size 3 everywhere', () => nodes.every((n) => st(n, 'size') === '3'));
      // JOIN ... AT updates nodes_set on every member
      await waitFor('nodes_set everywhere', () => nodes.every((n) => st(n, 'nodes_set') === sortedApis(nodes).join(',')));
      assert.equal(a.persisted.c?.nodes, sortedApis(nodes).join(','));
      assert.deepEqual(a.persisted.c?.indexes, ['t']);

      const rows = b.manager.statusRows();
      assert.deepEqual(
        rows.map(([k]) => k),
        [
          'cluster_name',
          'cluster_c_state_uuid',
          'cluster_c_state_seqno',
          'cluster_c_conf_id',
          'cluster_c_status',
          'cluster_c_size',
          'cluster_c_local_index',
          'cluster_c_node_state',
          'cluster_c_nodes_set',
          'cluster_c_nodes_view',
          'cluster_c_indexes_count',
          'cluster_c_indexes',
          'cluster_c_sst_total',
          'cluster_c_sst_stage',
          'cluster_c_sst_stage_total',
          'cluster_c_sst_table',
          'cluster_c_sst_tables',
          'cluster_c_local_state_uuid',
          'cluster_c_last_committed',
          'cluster_c_local_state_comment',
          'cluster_c_evs_state',
          'cluster_c_last_error',
        ],
      );
      const sb = status(b);
      assert.equal(sb.get('cluster_name'), 'c');
      assert.equal(sb.get('nodes_view'), sortedApis(nodes).map((api) => `${api},127.0.0.1:${Number(api.split(':')[1]) + 1}:replication`).join(','));
      assert.equal(sb.get('local_index'), String(sortedApis(nodes).indexOf(b.api)));
      assert.equal(sb.get('sst_stage'), '-');
      assert.equal(sb.get('local_state_comment'), 'Synced');
      assert.equal(sb.get('evs_state'), 'OPERATIONAL');

      // a write on any node is applied everywhere with the same seqno
      await c.manager.replicateWrite('c', insert('t', 3));
      await b.manager.replicateWrite('c', insert('t', 4));
      await a.manager.replicateWrite('c', { action: 'delete', table: 't', ids: ['1'] });
      await waitFor('seqno 4 everywhere', () => nodes.every((n) => st(n, 'state_seqno') === '4'));
      for (const n of nodes) {
        assert.deepEqual(n.engine.ids('t'), ['2', '3', '4']);
        assert.equal(st(n, 'last_committed'), '4');
      }
      // concurrent writes from every node are totally ordered
      await Promise.all(nodes.flatMap((n, i) => [10, 20, 30].map((k) => n.manager.replicateWrite('c', insert('t', k + i)))));
      await waitFor('seqno 13 everywhere', () => nodes.every((n) => st(n, 'state_seqno') === '13'));
      for (const n of nodes) assert.equal(n.engine.docCount('t'), 12);

      // grastate.dat while running: uuid, seqno -1, not safe
      const gs = parseGrastate(readGrastateText(b));
      assert.deepEqual(gs, { uuid, seqno: -1, safeToBootstrap: false });
      assert.match(readGrastateText(b), /^# GALERA saved state\nversion: 2\.1\nuuid: {4}\S+\nseqno: {3}-1\nsafe_to_bootstrap: 0\n$/);

      await assert.rejects(exec(a, { kind: 'create_cluster', name: 'c' }), { message: "cluster 'c' already exists" });
      await assert.rejects(exec(b, { kind: 'join_cluster', name: 'c', at: a.api }), { message: "cluster 'c' already exists" });
    } finally {
      await shutdownAll(nodes);
    }
  });

  test('JOIN of a cluster the peer does not have: unknown cluster', async () => {
    const a = await startNode();
    const b = await startNode();
    try {
      await assert.rejects(exec(b, { kind: 'join_cluster', name: 'zz', at: a.api }), { message: "unknown cluster 'zz'" });
      assert.deepEqual(b.manager.statusRows(), []);
    } finally {
      await shutdownAll([a, b]);
    }
  });

  test('ALTER CLUSTER ADD replaces same-named tables on peers, DROP makes them local, seqno advances', async () => {
    const nodes = await formCluster(3);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    try {
      b.engine.create('u');
      b.engine.applyWrite(insert('u', 7, 8, 9));
      c.engine.create('u');
      c.engine.applyWrite(insert('u', 100));
      await exec(b, { kind: 'alter_cluster_add', name: 'c', tables: ['u'] });
      await waitFor('seqno 2', () => nodes.every((n) => st(n, 'state_seqno') === '2'));
      for (const n of nodes) {
        assert.deepEqual(n.engine.ids('u'), ['7', '8', '9']);
        assert.equal(st(n, 'indexes'), 't,u');
        assert.equal(st(n, 'indexes_count'), '2');
        assert.equal(n.manager.clusterOfTable('u'), 'c');
      }
      await assert.rejects(exec(a, { kind: 'alter_cluster_add', name: 'c', tables: ['nope'] }), { message: "unknown table 'nope'" });
      await exec(a, { kind: 'alter_cluster_drop', name: 'c', tables: ['u'] });
      await waitFor('seqno 3', () => nodes.every((n) => st(n, 'state_seqno') === '3'));
      for (const n of nodes) {
        assert.equal(st(n, 'indexes'), 't');
        assert.equal(n.manager.clusterOfTable('u'), undefined);
        assert.deepEqual(n.engine.ids('u'), ['7', '8', '9']);
        assert.deepEqual(n.persisted.c?.indexes, ['t']);
      }
    } finally {
      await shutdownAll(nodes);
    }
  });

  test("JOIN ... 'h1;h2' AS nodes keeps nodes_set; UPDATE nodes copies the view; DELETE CLUSTER removes it everywhere", async () => {
    const a = await startNode();
    const b = await startNode();
    const nodes = [a, b];
    try {
      a.engine.create('t');
      await exec(a, { kind: 'create_cluster', name: 'c', nodes: a.api });
      await exec(a, { kind: 'alter_cluster_add', name: 'c', tables: ['t'] });
      await exec(b, { kind: 'join_cluster', name: 'c', nodes: `${a.api};${b.api}` });
      assert.equal(st(b, 'nodes_set'), `${a.api},${b.api}`);
      assert.equal(st(a, 'nodes_set'), a.api);
      await waitFor('size 2', () => st(a, 'size') === '2');
      await exec(a, { kind: 'alter_cluster_update_nodes', name: 'c' });
      for (const n of nodes) assert.equal(st(n, 'nodes_set'), sortedApis(nodes).join(','));
      await exec(b, { kind: 'delete_cluster', name: 'c' });
      for (const n of nodes) {
        assert.deepEqual(n.manager.statusRows(), []);
        assert.deepEqual(n.persisted, {});
        assert.equal(n.engine.tableKind('t'), 'rt');
      }
    } finally {
      await shutdownAll(nodes);
    }
  });

  test('SST progress is shown on the joiner while a slow donor sends it', async () => {
    const a = await startNode();
    const b = await startNode();
    try {
      a.engine.create('t');
      a.engine.create('t2');
      await exec(a, { kind: 'create_cluster', name: 'c' });
      await exec(a, { kind: 'alter_cluster_add', name: 'c', tables: ['t', 't2'] });
      a.faults.sstDelayMs = 80;
      const seen = new Set<string>();
      let donorSeen = false;
      const join = exec(b, { kind: 'join_cluster', name: 'c', at: a.api });
      const poll = setInterval(() => {
        const s = st(b, 'sst_stage');
        if (s && s !== '-') seen.add(s);
        if (st(a, 'node_state') === 'donor') donorSeen = true;
      }, 10);
      await join;
      clearInterval(poll);
      assert.ok(seen.has('send files'), `stages seen: ${[...seen].join(', ')}`);
      assert.ok(donorSeen);
      assert.equal(st(a, 'node_state'), 'synced');
      assert.equal(st(b, 'sst_total'), '-');
      assert.equal(st(b, 'indexes'), 't,t2');
    } finally {
      await shutdownAll([a, b]);
    }
  });
});

describe('ClusterManager: membership and quorum', () => {
  test('a crashed peer is evicted; it restarts and catches up by IST', async () => {
    const nodes = await formCluster(3);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    try {
      await waitFor('size 3', () => nodes.every((n) => st(n, 'size') === '3'));
      const conf = Number(st(a, 'conf_id'));
      await crash(c);
      const evictedAfter = await waitFor('eviction', () => st(a, 'size') === '2' && st(b, 'size') === '2', 3000);
      assert.ok(evictedAfter < 2000, `evicted after ${evictedAfter} ms`);
      assert.equal(st(a, 'status'), 'primary');
      assert.ok(Number(st(a, 'conf_id')) > conf);
      await b.manager.replicateWrite('c', insert('t', 5));
      await a.manager.replicateWrite('c', insert('t', 6));
      const importsBefore = c.engine.imports;
      const c2 = await startNode(c);
      nodes[2] = c2;
      await waitFor('rejoin', () => st(c2, 'node_state') === 'synced' && st(c2, 'status') === 'primary', 4000);
      await waitFor('size 3 again', () => nodes.every((n) => st(n, 'size') === '3'));
      assert.equal(c2.engine.imports, importsBefore, 'caught up by IST, not SST');
      assert.deepEqual(c2.engine.ids('t'), ['1', '2', '5', '6']);
      assert.equal(st(c2, 'state_seqno'), st(a, 'state_seqno'));
      assert.equal(st(c2, 'state_uuid'), st(a, 'state_uuid'));
    } finally {
      await shutdownAll(nodes);
    }
  });

  test('partition 1|2: the minority goes non-primary and refuses writes, the majority writes; heal merges with IST', async () => {
    const nodes = await formCluster(3);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    try {
      await waitFor('size 3', () => nodes.every((n) => st(n, 'size') === '3'));
      a.faults.block([b.api, c.api]);
      b.faults.block([a.api]);
      c.faults.block([a.api]);
      await waitFor('a non-primary', () => st(a, 'status') === 'non-primary', 3000);
      await waitFor('b,c size 2', () => st(b, 'size') === '2' && st(c, 'size') === '2', 3000);
      assert.equal(st(b, 'status'), 'primary');
      assert.equal(st(a, 'node_state'), 'synced');
      await assert.rejects(a.manager.replicateWrite('c', insert('t', 50)), (err: unknown) => {
        assert.ok(err instanceof SqlError);
        assert.equal(err.message, "cluster 'c' is not ready, not primary state");
        return true;
      });
      await c.manager.replicateWrite('c', insert('t', 60));
      await b.manager.replicateWrite('c', insert('t', 61));
      assert.deepEqual(a.engine.ids('t'), ['1', '2']);
      const importsBefore = a.engine.imports;
      for (const n of nodes) n.faults.heal();
      await waitFor('merged', () => nodes.every((n) => st(n, 'size') === '3' && st(n, 'status') === 'primary' && st(n, 'node_state') === 'synced'), 4000);
      await waitFor('a caught up', () => st(a, 'state_seqno') === st(b, 'state_seqno'));
      assert.deepEqual(a.engine.ids('t'), ['1', '2', '60', '61']);
      assert.equal(a.engine.imports, importsBefore);
      await a.manager.replicateWrite('c', insert('t', 70));
      await waitFor('write everywhere', () => nodes.every((n) => n.engine.ids('t').includes('70')));
    } finally {
      await shutdownAll(nodes);
    }
  });

  test('partition 2|2: both halves non-primary; heal re-forms the primary', async () => {
    const nodes = await formCluster(4);
    const [a, b, c, d] = nodes as [TestNode, TestNode, TestNode, TestNode];
    try {
      await waitFor('size 4', () => nodes.every((n) => st(n, 'size') === '4'));
      for (const n of [a, b]) n.faults.block([c.api, d.api]);
      for (const n of [c, d]) n.faults.block([a.api, b.api]);
      await waitFor('all non-primary', () => nodes.every((n) => st(n, 'status') === 'non-primary' && st(n, 'size') === '2'), 3000);
      await assert.rejects(c.manager.replicateWrite('c', insert('t', 9)), /not primary state/);
      for (const n of nodes) n.faults.heal();
      await waitFor('primary again', () => nodes.every((n) => st(n, 'status') === 'primary' && st(n, 'size') === '4'), 4000);
      await d.manager.replicateWrite('c', insert('t', 9));
      await waitFor('write everywhere', () => nodes.every((n) => n.engine.ids('t').includes('9')));
    } finally {
      await shutdownAll(nodes);
    }
  });

  test('1 of 3 after two crashes is non-primary; pc.bootstrap makes it primary; the others restart and rejoin', async () => {
    const nodes = await formCluster(3);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    try {
      await waitFor('size 3', () => nodes.every((n) => st(n, 'size') === '3'));
      await crash(b);
      await crash(c);
      await waitFor('survivor non-primary', () => st(a, 'status') === 'non-primary', 3000);
      await assert.rejects(a.manager.replicateWrite('c', insert('t', 3)), /not primary state/);
      await exec(a, { kind: 'set_cluster', name: 'c', key: 'pc.bootstrap', value: '1' });
      assert.equal(st(a, 'status'), 'primary');
      assert.equal(st(a, 'size'), '1');
      await a.manager.replicateWrite('c', insert('t', 3));
      const b2 = await startNode(b);
      const c2 = await startNode(c);
      nodes[1] = b2;
      nodes[2] = c2;
      await waitFor('rejoined', () => nodes.every((n) => st(n, 'size') === '3' && st(n, 'node_state') === 'synced'), 4000);
      for (const n of nodes) assert.deepEqual(n.engine.ids('t'), ['1', '2', '3']);
    } finally {
      await shutdownAll(nodes);
    }
  });

  test('two sides that both ran pc.bootstrap stay two primaries after heal', async () => {
    const nodes = await formCluster(4);
    const [a, b, c, d] = nodes as [TestNode, TestNode, TestNode, TestNode];
    try {
      await waitFor('size 4', () => nodes.every((n) => st(n, 'size') === '4'));
      for (const n of [a, b]) n.faults.block([c.api, d.api]);
      for (const n of [c, d]) n.faults.block([a.api, b.api]);
      await waitFor('all non-primary', () => nodes.every((n) => st(n, 'status') === 'non-primary' && st(n, 'size') === '2'), 3000);
      await exec(a, { kind: 'set_cluster', name: 'c', key: 'pc.bootstrap', value: '1' });
      await exec(c, { kind: 'set_cluster', name: 'c', key: 'pc.bootstrap', value: '1' });
      await waitFor('two primaries', () => nodes.every((n) => st(n, 'status') === 'primary' && st(n, 'size') === '2'));
      for (const n of nodes) n.faults.heal();
      await new Promise((r) => setTimeout(r, 1200));
      for (const n of nodes) {
        assert.equal(st(n, 'status'), 'primary');
        assert.equal(st(n, 'size'), '2');
      }
    } finally {
      await shutdownAll(nodes);
    }
  });
});

describe('ClusterManager: stop and restart rules', () => {
  test('clean stop of all: same seqno everywhere, safe_to_bootstrap only on the last; --new-cluster only there', async () => {
    const nodes = await formCluster(3);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    try {
      await waitFor('size 3', () => nodes.every((n) => st(n, 'size') === '3'));
      await b.manager.replicateWrite('c', insert('t', 3));
      const uuid = st(a, 'state_uuid');
      await stopNode(b);
      await stopNode(a);
      await stopNode(c);
      assert.deepEqual(parseGrastate(readGrastateText(b)), { uuid, seqno: 2, safeToBootstrap: false });
      assert.deepEqual(parseGrastate(readGrastateText(a)), { uuid, seqno: 2, safeToBootstrap: false });
      assert.deepEqual(parseGrastate(readGrastateText(c)), { uuid, seqno: 2, safeToBootstrap: true });

      // --new-cluster on a node that did not leave last is refused: the cluster is dropped there
      const a2 = await startNode(a, { newCluster: true, newClusterForce: false });
      nodes[0] = a2;
      assert.deepEqual(a2.manager.statusRows(), []);
      assert.deepEqual(a2.persisted, {});
      assert.deepEqual(a2.engine.ids('t'), ['1', '2', '3']);

      // --new-cluster on the last one keeps uuid and seqno
      const c2 = await startNode(c, { newCluster: true, newClusterForce: false });
      nodes[2] = c2;
      assert.equal(st(c2, 'state_uuid'), uuid);
      assert.equal(st(c2, 'state_seqno'), '2');
      assert.equal(st(c2, 'status'), 'primary');
      assert.deepEqual(parseGrastate(readGrastateText(c2)), { uuid, seqno: -1, safeToBootstrap: false });

      // a plain start of the other one rejoins (nothing to transfer)
      const importsBefore = b.engine.imports;
      const b2 = await startNode(b);
      nodes[1] = b2;
      assert.equal(st(b2, 'node_state'), 'joining');
      await waitFor('b rejoined', () => st(b2, 'node_state') === 'synced' && st(c2, 'size') === '2', 4000);
      assert.equal(b2.engine.imports, importsBefore);
      await b2.manager.replicateWrite('c', insert('t', 4));
      assert.deepEqual(c2.engine.ids('t'), ['1', '2', '3', '4']);
      assert.equal(st(c2, 'state_seqno'), '3');
      // the node that dropped the cluster stays outside
      assert.deepEqual(a2.manager.statusRows(), []);
    } finally {
      await shutdownAll(nodes);
    }
  });

  test('--new-cluster-force bootstraps a crashed node; a lone plain start drops the cluster but keeps tables and grastate', async () => {
    const nodes = await formCluster(2);
    const [a, b] = nodes as [TestNode, TestNode];
    try {
      await waitFor('size 2', () => nodes.every((n) => st(n, 'size') === '2'));
      await b.manager.replicateWrite('c', insert('t', 3));
      const uuid = st(a, 'state_uuid');
      await crash(a);
      await crash(b);
      for (const n of [a, b]) assert.deepEqual(parseGrastate(readGrastateText(n)), { uuid, seqno: -1, safeToBootstrap: false });

      // full crash then a plain start of one node: no peer answers, the cluster is dropped
      const b2 = await startNode(b);
      nodes[1] = b2;
      assert.equal(st(b2, 'node_state'), 'joining');
      await b2.manager.settled();
      assert.deepEqual(b2.manager.statusRows(), []);
      assert.deepEqual(b2.persisted, {});
      assert.ok(b2.persistCount > 0);
      assert.deepEqual(b2.engine.ids('t'), ['1', '2', '3']);
      assert.deepEqual(parseGrastate(readGrastateText(b2)), { uuid, seqno: -1, safeToBootstrap: false });
      await assert.rejects(exec(b2, { kind: 'set_cluster', name: 'c', key: 'pc.bootstrap', value: '1' }), {
        message: "unknown cluster 'c' in SET statement",
      });

      // --new-cluster without safe_to_bootstrap is refused, --new-cluster-force works
      const a2 = await startNode(a, { newCluster: false, newClusterForce: true });
      nodes[0] = a2;
      assert.equal(st(a2, 'status'), 'primary');
      assert.equal(st(a2, 'state_uuid'), uuid);
      assert.equal(st(a2, 'state_seqno'), '2');
      await exec(b2, { kind: 'join_cluster', name: 'c', at: a2.api });
      assert.equal(st(b2, 'state_uuid'), uuid);
      assert.equal(st(b2, 'node_state'), 'synced');
    } finally {
      await shutdownAll(nodes);
    }
  });

  test('position file is private: it never shows up in grastate.dat', async () => {
    const nodes = await formCluster(2);
    try {
      const [a] = nodes as [TestNode];
      assert.ok(fs.existsSync(path.join(a.dir, '.sim-position')));
      assert.doesNotMatch(readGrastateText(a), /seqno:\s+1/);
    } finally {
      await shutdownAll(nodes);
    }
  });
});

describe('ClusterManager: paused node', () => {
  test('a paused node is evicted; after resume it rejoins and catches up', async () => {
    const nodes = await formCluster(3);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    try {
      await waitFor('size 3', () => nodes.every((n) => st(n, 'size') === '3'));
      c.faults.pause();
      await waitFor('c evicted', () => st(a, 'size') === '2' && st(b, 'size') === '2', 3000);
      await a.manager.replicateWrite('c', insert('t', 42));
      c.faults.resume();
      await waitFor('c back', () => nodes.every((n) => st(n, 'size') === '3' && st(n, 'node_state') === 'synced' && st(n, 'status') === 'primary'), 4000);
      await waitFor('c caught up', () => c.engine.ids('t').includes('42'));
      assert.equal(st(c, 'state_seqno'), st(a, 'state_seqno'));
    } finally {
      for (const n of nodes) n.faults.resume();
      await shutdownAll(nodes);
    }
  });
});
