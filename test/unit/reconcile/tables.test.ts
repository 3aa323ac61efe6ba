import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_DISTRIBUTED, type TableSpec } from '../../../src/domain/spec.js';
import type { ClusterStatus } from '../../../src/manticore/parse.js';
import type { NodeObservation, Observed, SearchdObservation } from '../../../src/observe/types.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { planTables, tableConditions } from '../../../src/reconcile/tables.js';

const CLUSTER = 'c';

function node(i: number): NodeRef {
  return { name: `n${i}`, ordinal: i, mysql: { host: '127.0.0.1', port: 9306 + i * 10 }, apiAddress: `127.0.0.1:${9312 + i * 10}`, agentUrl: `http://127.0.0.1:${9500 + i}` };
}
const NODES = [node(0), node(1), node(2)];

function spec(over: Partial<TableSpec> = {}): TableSpec {
  return {
    name: 'products',
    columns: [
      { name: 'title', type: 'text' },
      { name: 'price', type: 'float' },
    ],
    settings: { min_infix_len: 2 },
    clusterMain: false,
    distributed: { ...DEFAULT_DISTRIBUTED },
    backups: [],
    deletionPolicy: 'retain',
    ...over,
  };
}

function member(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    name: CLUSTER,
    status: 'primary',
    nodeState: 'synced',
    nodesSet: [],
    nodesView: [],
    nodesViewMembers: [],
    indexes: [],
    sst: { active: false },
    vars: {},
    ...over,
  };
}

function obs(i: number, sd: Partial<SearchdObservation> | string = {}): NodeObservation {
  const searchd: Observed<SearchdObservation> =
    typeof sd === 'string' ? { ok: false, error: sd } : { ok: true, value: { buddy: true, clusters: [member()], tables: [], distributed: {}, rows: {}, frozen: [], ...sd } };
  return { node: node(i), at: 0, durationMs: 1, searchd, agent: { ok: false, error: 'none' } };
}

const MIRRORS = '127.0.0.1:9312|127.0.0.1:9322|127.0.0.1:9332';
const distStmt = (slot: 'a' | 'b', ha = 'nodeads') =>
  `CREATE TABLE products type='distributed' agent='${MIRRORS}:products_main_${slot}' agent='${MIRRORS}:products_delta' ha_strategy='${ha}'`;

function converged(i: number, over: Partial<SearchdObservation> = {}): NodeObservation {
  return obs(i, {
    clusters: [member({ indexes: ['products_delta'] })],
    tables: [
      { name: 'products', type: 'distributed' },
      { name: 'products_delta', type: 'rt' },
      { name: 'products_main_a', type: 'rt' },
    ],
    distributed: { products: distStmt('a') },
    ...over,
  });
}

const summary = (plan: ReturnType<typeof planTables>) => plan.actions.map((a) => `${a.phase} ${a.node} ${a.kind}`);

test('fresh cluster: delta created and added on ONE node, main_a and the distributed table on every node', () => {
  const plan = planTables({ specs: [spec()], observations: [obs(0), obs(1), obs(2)], clusterName: CLUSTER, nodes: NODES });
  assert.deepEqual(summary(plan), [
    '1 n0 create-delta',
    '2 n0 create-main',
    '2 n1 create-main',
    '2 n2 create-main',
    '3 n0 create-distributed',
    '3 n1 create-distributed',
    '3 n2 create-distributed',
  ]);
  assert.deepEqual(plan.byNode['n0']?.[0]?.statements, [
    "CREATE TABLE IF NOT EXISTS `products_delta` (`title` text, `price` float) min_infix_len='2'",
    'ALTER CLUSTER `c` ADD products_delta',
  ]);
  assert.deepEqual(plan.byNode['n1']?.[0]?.statements, ["CREATE TABLE IF NOT EXISTS `products_main_a` (`title` text, `price` float) min_infix_len='2'"]);
  assert.equal(
    plan.byNode['n2']?.[1]?.statements[0],
    `CREATE TABLE IF NOT EXISTS \`products\` type='distributed' agent='${MIRRORS}:products_main_a' agent='${MIRRORS}:products_delta' ha_strategy='nodeads' agent_retry_count='0'`,
  );
  assert.deepEqual(plan.blocked, []);
  assert.equal(tableConditions(plan, 'products')[0]?.reason, 'Converging');
});

test('a converged cluster plans nothing and reports TablesConverged', () => {
  const plan = planTables({ specs: [spec()], observations: [converged(0), converged(1), converged(2)], clusterName: CLUSTER, nodes: NODES });
  assert.deepEqual(plan.actions, []);
  const conds = tableConditions(plan, 'products');
  assert.deepEqual(
    conds.map((c) => [c.type, c.status]),
    [
      ['TablesConverged', 'True'],
      ['MixedSlots', 'False'],
      ['SpecInvalid', 'False'],
    ],
  );
});

test('cluster DDL waits while a table is frozen or a node joins, with the guard and its reason', () => {
  const frozen = planTables({
    specs: [spec()],
    observations: [obs(0, { frozen: ['other_delta'] }), obs(1), obs(2)],
    clusterName: CLUSTER,
    nodes: NODES,
  });
  assert.ok(!frozen.actions.some((a) => a.phase === 1));
  assert.equal(frozen.blocked[0]?.guard, 'guardNoFrozenTables');
  assert.match(frozen.blocked[0]?.reason ?? '', /other_delta on n0 is frozen/);
  assert.equal(tableConditions(frozen, 'products')[0]?.reason, 'Blocked');

  const joining = planTables({
    specs: [spec()],
    observations: [obs(0), obs(1), obs(2, { clusters: [member({ nodeState: 'joining' })] })],
    clusterName: CLUSTER,
    nodes: NODES,
  });
  assert.equal(joining.blocked[0]?.guard, 'guardNoJoiningOrDonor');
  assert.match(joining.blocked[0]?.reason ?? '', /n2 is joining/);
  assert.ok(!joining.actions.some((a) => a.node === 'n2'), 'a node that is not synced gets no DDL');
});

test('changed ha_strategy: ALTER with Buddy, DROP + CREATE without it (reported as a gap)', () => {
  const plan = planTables({
    specs: [spec({ distributed: { haStrategy: 'roundrobin', agentRetryCount: 2 } })],
    observations: [converged(0), converged(1, { buddy: false }), converged(2)],
    clusterName: CLUSTER,
    nodes: NODES,
  });
  assert.deepEqual(summary(plan), ['3 n0 alter-distributed', '3 n1 recreate-distributed', '3 n2 alter-distributed']);
  assert.equal(
    plan.byNode['n0']?.[0]?.statements[0],
    `ALTER TABLE \`products\` agent='${MIRRORS}:products_main_a' agent='${MIRRORS}:products_delta' ha_strategy='roundrobin' agent_retry_count='2'`,
  );
  assert.deepEqual(plan.byNode['n1']?.[0]?.statements.map((s) => s.split(' ').slice(0, 3).join(' ')), ['DROP TABLE IF', 'CREATE TABLE `products`']);
  assert.match(plan.gaps[0] ?? '', /n1 has no Buddy/);
});

test('a removed node leaves the mirror lists; a down node is skipped but stays listed', () => {
  const plan = planTables({ specs: [spec()], observations: [converged(0), converged(1)], clusterName: CLUSTER, nodes: NODES.slice(0, 2) });
  assert.deepEqual(summary(plan), ['3 n0 alter-distributed', '3 n1 alter-distributed']);
  assert.match(plan.byNode['n0']?.[0]?.statements[0] ?? '', /agent='127\.0\.0\.1:9312\|127\.0\.0\.1:9322:products_main_a'/);

  const down = planTables({ specs: [spec()], observations: [converged(0), converged(1), obs(2, 'connect ECONNREFUSED')], clusterName: CLUSTER, nodes: NODES });
  assert.deepEqual(down.actions, []);
  const c = tableConditions(down, 'products')[0];
  assert.equal(c?.reason, 'NodesUnavailable');
  assert.match(c?.message ?? '', /n2: searchd does not answer/);
});

test('mixed slots: each node keeps its slot and MixedSlots is True', () => {
  const plan = planTables({
    specs: [spec()],
    observations: [
      converged(0),
      converged(1, {
        distributed: { products: distStmt('b') },
        tables: [
          { name: 'products', type: 'distributed' },
          { name: 'products_delta', type: 'rt' },
          { name: 'products_main_a', type: 'rt' },
          { name: 'products_main_b', type: 'rt' },
        ],
      }),
      converged(2),
    ],
    clusterName: CLUSTER,
    nodes: NODES,
  });
  assert.deepEqual(plan.actions, []);
  assert.equal(plan.tables['products']?.activeSlot, 'a');
  const mixed = tableConditions(plan, 'products')[1];
  assert.equal(mixed?.status, 'True');
  assert.match(mixed?.message ?? '', /n1=b/);
});

test('a new node does not get an empty copy of a main slot that holds rows elsewhere', () => {
  const plan = planTables({
    specs: [spec()],
    observations: [converged(0, { rows: { products_main_a: 10 } }), converged(1, { rows: { products_main_a: 10 } }), obs(2, { clusters: [member({ indexes: ['products_delta'] })] })],
    clusterName: CLUSTER,
    nodes: NODES,
  });
  assert.deepEqual(summary(plan), ['3 n2 create-distributed']);
  assert.equal(plan.blocked[0]?.guard, 'guardNoEmptyCopyOfLoadedSlot');
});

test('a column added to the spec: on one node, the delta leaves the cluster, is altered, and is added back', () => {
  const cols = [
    { name: 'title', type: 'text', properties: ['indexed', 'stored'] },
    { name: 'price', type: 'float', properties: [] },
  ];
  const withCols = (i: number) => converged(i, { columns: { products_delta: cols } });
  const plan = planTables({
    specs: [spec({ columns: [...spec().columns, { name: 'stock', type: 'integer' }] })],
    observations: [withCols(0), withCols(1), withCols(2)],
    clusterName: CLUSTER,
    nodes: NODES,
  });
  assert.deepEqual(summary(plan), ['1 n0 add-column']);
  assert.deepEqual(plan.actions[0]?.statements, [
    'ALTER CLUSTER `c` DROP products_delta',
    'ALTER TABLE `products_delta` ADD COLUMN `stock` integer',
    'ALTER CLUSTER `c` ADD products_delta',
  ]);
  assert.ok(plan.gaps.some((g) => g.includes('takes the table out of cluster')), plan.gaps.join('\n'));
});

test('clusterMain on: main joins the cluster from one node; off again: it leaves', () => {
  const on = planTables({ specs: [spec({ clusterMain: true })], observations: [converged(0), converged(1), converged(2)], clusterName: CLUSTER, nodes: NODES });
  assert.deepEqual(summary(on), ['1 n0 add-main-to-cluster']);
  assert.deepEqual(on.actions[0]?.statements, ['ALTER CLUSTER `c` ADD products_main_a']);
  const inCluster = (i: number) => converged(i, { clusters: [member({ indexes: ['products_delta', 'products_main_a'] })] });
  const off = planTables({ specs: [spec()], observations: [inCluster(0), inCluster(1), inCluster(2)], clusterName: CLUSTER, nodes: NODES });
  assert.deepEqual(summary(off), ['1 n0 drop-main-from-cluster']);
});

test('a table removed from the specs is kept with retain and dropped everywhere with delete', () => {
  const all = [converged(0), converged(1), converged(2)];
  const retain = planTables({ specs: [], retired: [spec()], observations: all, clusterName: CLUSTER, nodes: NODES });
  assert.deepEqual(retain.actions, []);
  const del = planTables({ specs: [], retired: [spec({ deletionPolicy: 'delete' })], observations: all, clusterName: CLUSTER, nodes: NODES });
  assert.deepEqual(summary(del), [
    '1 n0 drop-delta-from-cluster',
    '3 n0 drop-distributed',
    '3 n1 drop-distributed',
    '3 n2 drop-distributed',
    '4 n0 drop-delta',
    '4 n0 drop-main',
    '4 n1 drop-delta',
    '4 n1 drop-main',
    '4 n2 drop-delta',
    '4 n2 drop-main',
  ]);
  assert.deepEqual(del.actions[0]?.statements, ['ALTER CLUSTER `c` DROP products_delta']);
});
