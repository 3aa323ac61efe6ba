import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decideOriginalHealth,
  planOriginalCluster,
  planOriginalDiscover,
  planOriginalTablesStatus,
  toOriginalQueryResult,
} from '../../../src/api/original.js';
import { overallStatus } from '../../../src/api/query-run.js';
import type { NodeRef } from '../../../src/platform/types.js';
import type { ClusterStatusView, NodeStatusView } from '../../../src/status/types.js';

const refs: NodeRef[] = [0, 1, 2].map((i) => ({
  name: `n${i}`,
  ordinal: i,
  mysql: { host: '127.0.0.1', port: 9306 + i * 10 },
  apiAddress: `127.0.0.1:${9312 + i * 10}`,
  agentUrl: `http://127.0.0.1:${19500 + i}`,
}));

function view(i: number, over: Partial<NodeStatusView> = {}): NodeStatusView {
  return {
    name: `n${i}`,
    ordinal: i,
    apiAddress: `127.0.0.1:${9312 + i * 10}`,
    reachable: true,
    clusterStatus: 'primary',
    nodeState: 'synced',
    clusterUuid: 'u1',
    tables: [],
    observedAt: '2026-01-01T00:00:00Z',
    ...over,
  };
}

function cluster(nodes: NodeStatusView[]): ClusterStatusView {
  return { name: 'c', phase: 'Ready', size: nodes.length, nodes, conditions: [] };
}

test('health: every listed node must answer; an unobserved node is unhealthy', () => {
  assert.equal(decideOriginalHealth(refs, cluster([view(0), view(1), view(2)])), true);
  assert.equal(decideOriginalHealth(refs, cluster([view(0), view(1), view(2, { reachable: false })])), false);
  assert.equal(decideOriginalHealth(refs, cluster([view(0), view(1)])), false);
  assert.equal(decideOriginalHealth([], cluster([])), true);
});

test('cluster: healthy, degraded (offline or not primary), uninitialized (none online)', () => {
  assert.equal(planOriginalCluster(refs, cluster([view(0), view(1), view(2)])).status, 'healthy');
  const offline = planOriginalCluster(refs, cluster([view(0), view(1), view(2, { reachable: false, error: 'ECONNREFUSED' })]));
  assert.equal(offline.status, 'degraded');
  assert.deepEqual(offline.replicas[2], {
    index: 2,
    endpoint: 'http://127.0.0.1:19502',
    status: 'offline',
    clusterStatus: null,
    nodeState: null,
    error: 'replica is offline: ECONNREFUSED',
  });
  const unclustered = planOriginalCluster(refs, cluster([view(0, { clusterStatus: undefined }), view(1), view(2)]));
  assert.equal(unclustered.status, 'degraded');
  assert.equal(unclustered.replicas[0]?.clusterStatus, 'unknown');
  const nonPrimary = planOriginalCluster(refs, cluster([view(0), view(1, { clusterStatus: 'non-primary' }), view(2)]));
  assert.equal(nonPrimary.status, 'degraded');
  const down = planOriginalCluster(refs, cluster([view(0, { reachable: false }), view(1, { reachable: false })]));
  assert.equal(down.status, 'uninitialized');
  assert.equal(down.replicas[2]?.error, 'replica is offline: not observed yet');
});

test('discover: groups of primaries by uuid; largest wins, ties to the lowest ordinal; non-primaries never count', () => {
  assert.deepEqual(planOriginalDiscover(refs, cluster([view(0, { clusterStatus: 'non-primary' }), view(1, { reachable: false })])), {
    cluster: null,
    splitBrain: false,
  });
  const split = planOriginalDiscover(refs, cluster([view(0, { clusterUuid: 'u0' }), view(1, { clusterUuid: 'u2' }), view(2, { clusterUuid: 'u2' })]));
  assert.deepEqual(split, {
    cluster: { uuid: 'u2', sourceAddr: '127.0.0.1:9322', sourceIdx: 1, nodeCount: 2 },
    splitBrain: true,
    groups: [
      { uuid: 'u0', replicas: [0], nodeCount: 1 },
      { uuid: 'u2', replicas: [1, 2], nodeCount: 2 },
    ],
  });
  const tie = planOriginalDiscover(refs.slice(0, 2), cluster([view(0, { clusterUuid: 'b' }), view(1, { clusterUuid: 'a' })]));
  assert.equal(tie.cluster?.uuid, 'b');
  assert.equal(tie.cluster?.sourceIdx, 0);
});

test('discover: one UUID on both sides (pc.bootstrap twice) is a split brain once the SplitBrain condition says so', () => {
  const oneUuid = cluster([view(0), view(1), view(2)]);
  assert.equal(planOriginalDiscover(refs, oneUuid).splitBrain, false);
  oneUuid.conditions = [{ type: 'SplitBrain', status: 'True', reason: 'SeveralPrimaries', message: 'two primary components', lastTransitionTime: '2026-01-01T00:00:00Z' }];
  const split = planOriginalDiscover(refs, oneUuid);
  assert.equal(split.splitBrain, true);
  assert.equal(split.groups?.length, 1);
});

test('tables status: slots ("" before any), presence per replica, offline replicas', () => {
  const spec = {
    name: 't',
    columns: [],
    settings: {},
    clusterMain: true,
    distributed: { haStrategy: 'nodeads' as const, agentRetryCount: 0 },
    backups: [],
    deletionPolicy: 'retain' as const,
  };
  const out = planOriginalTablesStatus(refs.slice(0, 2), [
    {
      name: 't',
      spec,
      origin: { kind: 'env', ref: 'TABLES_CONFIG' },
      generation: 1,
      nodes: [
        { node: 'n0', reachable: true, main: { table: 't_main_a', present: true, inCluster: true }, delta: { table: 't_delta', present: true, inCluster: true }, distributed: { present: false, locals: [], agents: [] } },
        { node: 'n1', reachable: false },
      ],
      conditions: [],
    },
  ]);
  assert.deepEqual(out, {
    tableSlots: { t: '' },
    tables: [
      {
        name: 't',
        csvPath: '',
        clusterMain: true,
        replicas: [
          { index: 0, online: true, mainTable: { present: true, inCluster: true }, deltaTable: { present: true, inCluster: true }, distributedTable: { present: false, inCluster: false } },
          {
            index: 1,
            online: false,
            mainTable: { present: false, inCluster: false },
            deltaTable: { present: false, inCluster: false },
            distributedTable: { present: false, inCluster: false },
            error: 'replica is offline',
          },
        ],
      },
    ],
  });
});

test('query result in the original shape; overall status counts successes (the original never said partial)', () => {
  const ok = {
    node: 'n1',
    ordinal: 1,
    address: '127.0.0.1:9316',
    ok: true,
    columns: ['id', 'price', 'title'],
    rows: [{ id: '1', price: 1.5, title: 'a' }],
    rowCount: 1,
    totalRows: 1,
    truncated: false,
    durationMs: 3,
  };
  assert.deepEqual(toOriginalQueryResult(ok), {
    status: 'success',
    columns: [
      { name: 'id', type: 'VARCHAR' },
      { name: 'price', type: 'DOUBLE' },
      { name: 'title', type: 'VARCHAR' },
    ],
    rows: [{ id: '1', price: 1.5, title: 'a' }],
    rowCount: 1,
    executionTimeMs: 3,
    replicaIndex: 1,
    truncated: false,
  });
  const failed = { ...ok, ok: false, columns: [], rows: [], rowCount: 0, error: { kind: 'sql' as const, message: 'no such table' } };
  assert.equal(toOriginalQueryResult(failed).status, 'error');
  assert.equal(toOriginalQueryResult(failed).error, 'no such table');
  assert.equal(overallStatus([ok, ok]), 'ok');
  assert.equal(overallStatus([ok, failed]), 'partial');
  assert.equal(overallStatus([failed, failed]), 'error');
});
