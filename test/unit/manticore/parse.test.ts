import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseAgent,
  parseClusterStatus,
  parseClusterStatuses,
  parseCount,
  parseDescribe,
  parseDistributedDefinition,
  parseFreezeFiles,
  parseNodeStatus,
  parseNodesView,
  parseShowCreateTable,
  parseShowLocks,
  parseFrozenTables,
  parseShowStatus,
  parseShowTables,
  parseShowVersion,
  parseVersion,
  type Row,
} from '../../../src/manticore/parse.js';

const status = (pairs: [string, string][]): Row[] => pairs.map(([Counter, Value]) => ({ Counter, Value }));

/** What a member of a healthy 3-node cluster reports (manticore-facts.md section 7). */
const HEALTHY: [string, string][] = [
  ['uptime', '123'],
  ['connections', '17'],
  ['version', '15.1.0 60a44d1f0@25120503'],
  ['queries', '42'],
  ['cluster_name', 'c'],
  ['cluster_c_state_uuid', '8e1d3c4a-0b8e-11f0-9d7e-3b2a2b7c5d1e'],
  ['cluster_c_state_seqno', '2'],
  ['cluster_c_conf_id', '3'],
  ['cluster_c_status', 'primary'],
  ['cluster_c_size', '3'],
  ['cluster_c_local_index', '0'],
  ['cluster_c_node_state', 'synced'],
  ['cluster_c_nodes_set', '127.0.0.1:19412,127.0.0.1:19422,127.0.0.1:19432'],
  [
    'cluster_c_nodes_view',
    '127.0.0.1:19412,127.0.0.1:19413:replication,127.0.0.1:19422,127.0.0.1:19423:replication,127.0.0.1:19432,127.0.0.1:19433:replication',
  ],
  ['cluster_c_indexes_count', '2'],
  ['cluster_c_indexes', 't_delta,t_main_a'],
  ['cluster_c_sst_total', '-'],
  ['cluster_c_sst_stage', '-'],
  ['cluster_c_sst_stage_total', '-'],
  ['cluster_c_sst_table', '-'],
  ['cluster_c_sst_tables', '-'],
  ['cluster_c_local_state_uuid', '8e1d3c4a-0b8e-11f0-9d7e-3b2a2b7c5d1e'],
  ['cluster_c_last_committed', '2'],
  ['cluster_c_local_state_comment', 'Synced'],
  ['cluster_c_evs_state', 'OPERATIONAL'],
  ['cluster_c_replicated', '2'],
  ['cluster_c_last_error', ''],
];

describe('SHOW STATUS', () => {
  test('parseShowStatus maps counters to values', () => {
    const vars = parseShowStatus(status(HEALTHY));
    assert.equal(vars['uptime'], '123');
    assert.equal(vars['cluster_c_status'], 'primary');
    assert.equal(Object.keys(vars).length, HEALTHY.length);
  });

  test('parseNodeStatus types the node counters', () => {
    const s = parseNodeStatus(status(HEALTHY));
    assert.equal(s.uptimeSeconds, 123);
    assert.equal(s.connections, 17);
    assert.equal(s.queries, 42);
    assert.deepEqual(s.version, { full: '15.1.0 60a44d1f0@25120503', major: 15, minor: 1, patch: 0 });
    assert.equal(s.raw['cluster_c_evs_state'], 'OPERATIONAL');
  });

  test('parseVersion', () => {
    assert.deepEqual(parseVersion('Manticore 6.3.6 1811a9efb@24080214 (columnar 2.3.0)'), {
      full: 'Manticore 6.3.6 1811a9efb@24080214 (columnar 2.3.0)',
      major: 6,
      minor: 3,
      patch: 6,
    });
    assert.equal(parseVersion('dev'), undefined);
  });
});

describe('cluster status', () => {
  test('a healthy member', () => {
    const [c, ...rest] = parseClusterStatuses(status(HEALTHY));
    assert.equal(rest.length, 0);
    assert.ok(c);
    assert.equal(c.name, 'c');
    assert.equal(c.status, 'primary');
    assert.equal(c.nodeState, 'synced');
    assert.equal(c.stateUuid, '8e1d3c4a-0b8e-11f0-9d7e-3b2a2b7c5d1e');
    assert.equal(c.localStateUuid, c.stateUuid);
    assert.equal(c.seqno, 2);
    assert.equal(c.lastCommitted, 2);
    assert.equal(c.confId, 3);
    assert.equal(c.size, 3);
    assert.equal(c.localIndex, 0);
    assert.deepEqual(c.nodesSet, ['127.0.0.1:19412', '127.0.0.1:19422', '127.0.0.1:19432']);
    assert.deepEqual(c.nodesView, ['127.0.0.1:19412', '127.0.0.1:19422', '127.0.0.1:19432']);
    assert.deepEqual(c.nodesViewMembers[1], { api: '127.0.0.1:19422', replication: '127.0.0.1:19423' });
    assert.deepEqual(c.indexes, ['t_delta', 't_main_a']);
    assert.equal(c.indexesCount, 2);
    assert.deepEqual(c.sst, { active: false });
    assert.equal(c.lastError, undefined);
    assert.equal(c.localStateComment, 'Synced');
    assert.equal(c.vars['evs_state'], 'OPERATIONAL');
    assert.equal(c.vars['replicated'], '2');
  });

  test('no cluster rows means no clusters', () => {
    assert.deepEqual(parseClusterStatuses([]), []);
    assert.deepEqual(parseClusterStatuses(status([['uptime', '5']])), []);
  });

  test('a non-primary survivor, joining and donor states, SST in progress', () => {
    const rows = status([
      ['cluster_name', 'posts'],
      ['cluster_posts_status', 'non-primary'],
      ['cluster_posts_node_state', 'joining'],
      ['cluster_posts_size', '1'],
      ['cluster_posts_last_committed', '17'],
      ['cluster_posts_sst_total', '40'],
      ['cluster_posts_sst_stage', 'send files'],
      ['cluster_posts_sst_stage_total', '55'],
      ['cluster_posts_sst_table', '3 (products)'],
      ['cluster_posts_sst_tables', '4'],
      ['cluster_posts_last_error', 'cluster posts: not primary'],
    ]);
    const c = parseClusterStatus(rows, 'posts');
    assert.ok(c);
    assert.equal(c.status, 'non-primary');
    assert.equal(c.rawStatus, 'non-primary');
    assert.equal(c.nodeState, 'joining');
    assert.equal(c.seqno, 17, 'falls back to last_committed');
    assert.deepEqual(c.sst, { active: true, total: 40, stage: 'send files', stageTotal: 55, table: '3 (products)', tables: 4 });
    assert.equal(c.lastError, 'cluster posts: not primary');
    assert.equal(parseClusterStatus(rows, 'other'), undefined);
  });

  test('status spellings are normalised, unknown values kept raw', () => {
    const one = (s: string, n: string) =>
      parseClusterStatuses(status([['cluster_name', 'c'], ['cluster_c_status', s], ['cluster_c_node_state', n]]))[0];
    assert.equal(one('non_primary', 'donor')?.status, 'non-primary');
    assert.equal(one('non_primary', 'donor')?.nodeState, 'donor');
    assert.equal(one('disconnected', 'closed')?.status, 'disconnected');
    assert.equal(one('recovery-required', 'destroyed')?.status, 'recovery-required');
    const odd = one('weird', 'Desynced');
    assert.equal(odd?.status, 'unknown');
    assert.equal(odd?.rawStatus, 'weird');
    assert.equal(odd?.nodeState, 'unknown');
    assert.equal(odd?.rawNodeState, 'Desynced');
  });

  test('two clusters whose names share a prefix do not mix', () => {
    const rows = status([
      ['cluster_name', 'c'],
      ['cluster_c_status', 'primary'],
      ['cluster_c_size', '3'],
      ['cluster_name', 'c_x'],
      ['cluster_c_x_status', 'non-primary'],
      ['cluster_c_x_size', '1'],
    ]);
    const [c, cx] = parseClusterStatuses(rows);
    assert.equal(c?.name, 'c');
    assert.equal(c?.status, 'primary');
    assert.equal(c?.size, 3);
    assert.equal(cx?.name, 'c_x');
    assert.equal(cx?.status, 'non-primary');
    assert.equal(cx?.size, 1);
  });

  test('cluster names are inferred when cluster_name is missing (SHOW STATUS LIKE cluster_c_%)', () => {
    const rows = status([
      ['cluster_c_status', 'primary'],
      ['cluster_c_node_state', 'synced'],
      ['cluster_c_size', '2'],
    ]);
    const cs = parseClusterStatuses(rows);
    assert.equal(cs.length, 1);
    assert.equal(cs[0]?.name, 'c');
    assert.equal(cs[0]?.size, 2);
  });

  test('parseNodesView without replication parts', () => {
    assert.deepEqual(parseNodesView('n1:9312,n2:9312'), [{ api: 'n1:9312' }, { api: 'n2:9312' }]);
    assert.deepEqual(parseNodesView(''), []);
  });
});

describe('tables', () => {
  test('SHOW TABLES', () => {
    const rows: Row[] = [
      { Table: 'products', Type: 'distributed' },
      { Table: 'products_delta', Type: 'rt' },
      { Index: 'old_style', Type: 'local' },
      { Table: 'x', Type: 'rt', Engine: 'columnar' },
    ];
    assert.deepEqual(parseShowTables(rows), [
      { name: 'products', type: 'distributed' },
      { name: 'products_delta', type: 'rt' },
      { name: 'old_style', type: 'local' },
      { name: 'x', type: 'rt' },
    ]);
  });

  test('DESCRIBE', () => {
    const rows: Row[] = [
      { Field: 'id', Type: 'bigint', Properties: '' },
      { Field: 'title', Type: 'text', Properties: 'indexed stored' },
      { Field: 'price', Type: 'float', Properties: '' },
      { Field: 'sku', Type: 'string', Properties: 'indexed attribute' },
    ];
    assert.deepEqual(parseDescribe(rows), [
      { name: 'id', type: 'bigint', properties: [] },
      { name: 'title', type: 'text', properties: ['indexed', 'stored'] },
      { name: 'price', type: 'float', properties: [] },
      { name: 'sku', type: 'string', properties: ['indexed', 'attribute'] },
    ]);
  });

  test('SHOW CREATE TABLE and a distributed definition', () => {
    const stmt =
      "CREATE TABLE products type='distributed' local='products_main_a' local='products_delta' " +
      "agent='127.0.0.1:19412|127.0.0.1:19422:products_main_a' ha_strategy='nodeads' agent_retry_count='2'";
    const rows: Row[] = [{ Table: 'products', 'Create Table': stmt }];
    assert.equal(parseShowCreateTable(rows), stmt);
    assert.equal(parseShowCreateTable([]), undefined);
    assert.deepEqual(parseDistributedDefinition(stmt), {
      locals: ['products_main_a', 'products_delta'],
      agents: [{ mirrors: ['127.0.0.1:19412', '127.0.0.1:19422'], table: 'products_main_a' }],
      haStrategy: 'nodeads',
      agentRetryCount: 2,
      options: {
        type: 'distributed',
        local: 'products_delta',
        agent: '127.0.0.1:19412|127.0.0.1:19422:products_main_a',
        ha_strategy: 'nodeads',
        agent_retry_count: '2',
      },
    });
  });

  test('distributed definition: unquoted numbers, newlines, several agents, per-mirror tables', () => {
    const stmt =
      "CREATE TABLE `d` type='distributed'\nlocal='a'\nagent='n1:9312:t|n2:9312:t'\nagent='n3:9312:u' agent_retry_count=3";
    const def = parseDistributedDefinition(stmt);
    assert.deepEqual(def.locals, ['a']);
    assert.deepEqual(def.agents, [
      { mirrors: ['n1:9312', 'n2:9312'], table: 't' },
      { mirrors: ['n3:9312'], table: 'u' },
    ]);
    assert.equal(def.agentRetryCount, 3);
    assert.equal(def.haStrategy, undefined);
  });

  test('an RT definition does not yield distributed members', () => {
    const def = parseDistributedDefinition("CREATE TABLE t (\nf text engine='columnar'\n) min_infix_len='2'");
    assert.deepEqual(def.locals, []);
    assert.deepEqual(def.agents, []);
    assert.deepEqual(def.options, { min_infix_len: '2' });
  });

  test('parseAgent', () => {
    assert.deepEqual(parseAgent('h1:9312|h2:9312:t'), { mirrors: ['h1:9312', 'h2:9312'], table: 't' });
    assert.equal(parseAgent('h1:9312'), undefined);
  });
});

describe('locks, freeze, counts, version', () => {
  test('SHOW LOCKS', () => {
    const rows: Row[] = [{ Type: 'rt', Name: 'products_delta', 'Lock Type': 'freeze', 'Additional Info': 'Count: 2' }];
    assert.deepEqual(parseShowLocks(rows), [
      { type: 'rt', name: 'products_delta', lockType: 'freeze', additionalInfo: 'Count: 2', count: 2 },
    ]);
    assert.deepEqual(parseShowLocks([]), []);
  });

  test('frozen tables: freeze locks only, each table once, any column case', () => {
    const rows: Row[] = [
      { Type: 'rt', Name: 'a_delta', 'Lock Type': 'freeze', 'Additional Info': 'Count: 2' },
      { Type: 'rt', Name: 'a_delta', 'Lock Type': 'FREEZE', 'Additional Info': '' },
      { type: 'rt', name: 'b_main_a', 'lock type': 'freeze', 'additional info': '' },
      { Type: 'rt', Name: 'c', 'Lock Type': 'other', 'Additional Info': '' },
    ];
    assert.deepEqual(parseFrozenTables(rows), ['a_delta', 'b_main_a']);
    assert.deepEqual(parseFrozenTables([]), []);
  });

  test('FREEZE file list', () => {
    const rows: Row[] = [{ file: 'data/t/t.0.spa', normalized: '/work/data/t/t.0.spa' }];
    assert.deepEqual(parseFreezeFiles(rows), [{ file: 'data/t/t.0.spa', normalized: '/work/data/t/t.0.spa' }]);
  });

  test('COUNT(*)', () => {
    assert.equal(parseCount([{ 'count(*)': 1234 }]), 1234);
    assert.equal(parseCount([{ 'count(*)': '9876543210' }]), 9876543210);
    assert.equal(parseCount([]), undefined);
  });

  test('SHOW VERSION', () => {
    const rows: Row[] = [
      { Component: 'Daemon', Version: '15.1.0 60a44d1f0@25120503' },
      { Component: 'Buddy', Version: 'buddy v3.35.1+25090418-41d9811f-dev' },
    ];
    assert.deepEqual(parseShowVersion(rows), {
      Daemon: '15.1.0 60a44d1f0@25120503',
      Buddy: 'buddy v3.35.1+25090418-41d9811f-dev',
    });
  });
});
