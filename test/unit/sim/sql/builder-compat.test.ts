// Seam test: every statement the orchestrator's builder (src/manticore/sql.ts) produces must parse
// in the simulator, and values must come back exactly as given (escaping round trip).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as b from '../../../../src/manticore/sql.js';
import { parseSql } from '../../../../src/sim/sql/parser.js';

test('every builder statement parses to the expected kind', () => {
  const cases: [string, string][] = [
    [b.createTable('p', [{ name: 'title', type: 'text' }, { name: 's', type: 'string', flags: ['attribute'] }], { min_infix_len: 2 }, { ifNotExists: true }), 'create_table'],
    [b.createDistributed('d', { locals: ['a'], agents: [{ mirrors: ['h1:9312', 'h2:9312'], table: 't' }], haStrategy: 'nodeads', agentRetryCount: 2 }), 'create_table'],
    [b.alterDistributed('d', { locals: ['x'], agents: [{ mirrors: ['h1:9312'], table: 't' }] }), 'alter_table_options'],
    [b.dropTable('t', true), 'drop_table'],
    [b.truncate('t', 'c'), 'truncate_table'],
    [b.attachTable('a', 'b', true), 'attach_table'],
    [b.importTable('t', '/p/t'), 'import_table'],
    [b.freeze(['a', 'b']), 'freeze'],
    [b.unfreeze(['a']), 'unfreeze'],
    [b.showTables(), 'show_tables'],
    [b.describe('t'), 'describe'],
    [b.showCreateTable('t'), 'show_create_table'],
    [b.showStatus('cluster%'), 'show_status'],
    [b.showClusterStatus('c'), 'show_status'],
    [b.showStatusVersion(), 'show_status'],
    [b.showVersion(), 'show_version'],
    [b.showLocks(), 'show_locks'],
    [b.selectCount('t'), 'select'],
    [b.replace('t', ['id', 'title'], [[2, 'x']]), 'insert'],
    [b.deleteByIds('t', [1n], { cluster: 'c' }), 'delete'],
    [b.createCluster('c', { path: '/p', nodes: ['127.0.0.1:9312'], options: { 'gmcast.listen_addr': 'tcp://127.0.0.1' } }), 'create_cluster'],
    [b.joinCluster('c', { at: '127.0.0.1:9312' }, { options: 'gmcast.listen_addr=tcp://127.0.0.1' }), 'join_cluster'],
    [b.joinCluster('c', { nodes: ['h1:9312', 'h2:9312'] }), 'join_cluster'],
    [b.deleteCluster('c'), 'delete_cluster'],
    [b.alterClusterAdd('c', ['a', 'b']), 'alter_cluster_add'],
    [b.alterClusterDrop('c', ['a']), 'alter_cluster_drop'],
    [b.alterClusterUpdateNodes('c'), 'alter_cluster_update_nodes'],
    [b.setClusterBootstrap('c'), 'set_cluster'],
  ];
  for (const [sql, kind] of cases) assert.equal(parseSql(sql).kind, kind, sql);
});

test('escaped values round-trip through the builder and the parser', () => {
  const hostile = "it's \\ \"q\" ; -- /* */ 日本 \n end";
  const stmt = parseSql(b.insert('t', ['id', 'title', 'tags', 'j'], [[18446744073709551615n, hostile, [3, 1], { a: "x'y" }]], { cluster: 'c' }));
  assert.deepEqual(stmt, {
    kind: 'insert',
    replace: false,
    cluster: 'c',
    table: 't',
    columns: ['id', 'title', 'tags', 'j'],
    rows: [
      [
        { type: 'int', value: '18446744073709551615' },
        { type: 'string', value: hostile },
        { type: 'mva', values: ['3', '1'] },
        { type: 'string', value: '{"a":"x\'y"}' },
      ],
    ],
  });
  const imp = parseSql(b.importTable('t', "/data/it's/t"));
  assert.deepEqual(imp, { kind: 'import_table', name: 't', path: "/data/it's/t" });
  const dist = parseSql(b.createDistributed('d', { agents: [{ mirrors: ['h1:9312', 'h2:9312'], table: 't' }] }));
  assert.deepEqual(dist.kind === 'create_table' ? dist.options : undefined, [
    { key: 'type', value: 'distributed' },
    { key: 'agent', value: 'h1:9312|h2:9312:t' },
  ]);
});
