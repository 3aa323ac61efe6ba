import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterStatuses } from '../../../../src/manticore/parse.js';
import { decideHealth, decideReady, type SearchdView } from '../../../../src/agent/server/searchd.js';

function view(vars: Record<string, string>): SearchdView {
  const rows = Object.entries(vars).map(([Counter, Value]) => ({ Counter, Value }));
  return { reachable: true, version: '15.1.0', clusters: parseClusterStatuses(rows) };
}

const PRIMARY_SYNCED = { cluster_name: 'c', cluster_c_status: 'primary', cluster_c_node_state: 'synced' };

describe('decideReady', () => {
  test('searchd down', () => {
    assert.deepEqual(decideReady({ reachable: false, error: 'connect ECONNREFUSED', clusters: [] }, 'c', [], undefined), {
      ready: false,
      reason: 'searchd not reachable: connect ECONNREFUSED',
    });
  });

  test('no cluster name, not in the cluster, non-primary, joining', () => {
    assert.match(decideReady(view(PRIMARY_SYNCED), undefined, [], []).reason, /no cluster name/);
    assert.equal(decideReady(view({}), 'c', [], []).reason, "node is not in cluster 'c'");
    assert.equal(
      decideReady(view({ ...PRIMARY_SYNCED, cluster_c_status: 'non-primary' }), 'c', [], []).reason,
      "cluster 'c' status is non-primary, not primary",
    );
    assert.equal(
      decideReady(view({ ...PRIMARY_SYNCED, cluster_c_node_state: 'joining' }), 'c', [], []).reason,
      "node state in cluster 'c' is joining, not synced",
    );
  });

  test('declared tables missing, then all present', () => {
    assert.deepEqual(decideReady(view(PRIMARY_SYNCED), 'c', ['t', 't_delta', 't_main_a'], ['t_delta']), {
      ready: false,
      reason: 'declared tables missing: t, t_main_a',
    });
    const ok = decideReady(view(PRIMARY_SYNCED), 'c', ['t', 't_delta'], ['t', 't_delta', 'other']);
    assert.equal(ok.ready, true);
  });
});

describe('decideHealth', () => {
  test('reachable with the named cluster; none when the node is in no cluster; down carries the error', () => {
    assert.deepEqual(decideHealth(view(PRIMARY_SYNCED), 'c'), {
      searchd: { reachable: true, version: '15.1.0' },
      cluster: 'c',
      clusterStatus: 'primary',
      nodeState: 'synced',
    });
    assert.deepEqual(decideHealth(view({}), undefined), { searchd: { reachable: true, version: '15.1.0' }, clusterStatus: 'none', nodeState: 'none' });
    assert.deepEqual(decideHealth({ reachable: false, error: 'down', clusters: [] }, 'c'), { searchd: { reachable: false, error: 'down' }, cluster: 'c' });
  });
});
