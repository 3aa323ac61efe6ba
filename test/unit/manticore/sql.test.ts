import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../src/lib/errors.js';
import * as sql from '../../../src/manticore/sql.js';

function rejects(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    assert.equal(err.field, field);
    return true;
  });
}

describe('table statements', () => {
  test('createTable with columns, flags and settings', () => {
    assert.equal(
      sql.createTable(
        'products',
        [
          { name: 'title', type: 'text', flags: ['indexed', 'stored'] },
          { name: 'sku', type: 'string', flags: ['attribute'] },
          { name: 'price', type: 'float' },
          { name: 'qty', type: 'integer' },
          { name: 'big', type: 'bigint' },
          { name: 'ok', type: 'bool' },
          { name: 'at', type: 'timestamp' },
          { name: 'meta', type: 'json' },
          { name: 'tags', type: 'multi' },
          { name: 'tags64', type: 'multi64' },
        ],
        { min_infix_len: 2, morphology: 'stem_en', charset_table: 'non_cjk' },
      ),
      'CREATE TABLE `products` (`title` text indexed stored, `sku` string attribute, `price` float, `qty` integer, ' +
        '`big` bigint, `ok` bool, `at` timestamp, `meta` json, `tags` multi, `tags64` multi64) ' +
        "min_infix_len='2' morphology='stem_en' charset_table='non_cjk'",
    );
  });

  test('createTable IF NOT EXISTS, no columns, setting value escaped', () => {
    assert.equal(sql.createTable('t_delta', [], undefined, { ifNotExists: true }), 'CREATE TABLE IF NOT EXISTS `t_delta`');
    assert.equal(
      sql.createTable('t', [{ name: 'f', type: 'text' }], { stopwords: "/x/it's.txt" }),
      "CREATE TABLE `t` (`f` text) stopwords='/x/it\\'s.txt'",
    );
  });

  test('createTable refuses bad columns and settings', () => {
    rejects(() => sql.createTable('t', [{ name: 'a b', type: 'text' }]), 'columns[0].name');
    rejects(() => sql.createTable('t', [{ name: 'a', type: 'varchar' as sql.ColumnType }]), 'columns[0].type');
    rejects(() => sql.createTable('t', [{ name: 'a', type: 'float', flags: ['stored'] }]), 'columns[0].flags');
    rejects(() => sql.createTable('t', [{ name: 'a', type: 'text', flags: ['fast' as sql.ColumnFlag] }]), 'columns[0].flags');
    rejects(() => sql.createTable('t', [{ name: 'a', type: 'text' }, { name: 'A', type: 'text' }]), 'columns[1].name');
    rejects(() => sql.createTable('t', [], { "x'='1": 1 }), "settings.x'='1");
    rejects(() => sql.createTable('t', [], { type: 'distributed' }), 'settings.type');
    rejects(() => sql.createTable('t', [], { min_infix_len: NaN }), 'settings.min_infix_len');
    rejects(() => sql.createTable('t;DROP', []), 'name');
  });

  test('createDistributed with locals, mirrored agent, ha_strategy and retry count', () => {
    assert.equal(
      sql.createDistributed('d', {
        locals: ['a', 'b'],
        agents: [{ mirrors: ['h1:9312', 'h2:9312'], table: 't' }],
        haStrategy: 'nodeads',
        agentRetryCount: 2,
      }),
      "CREATE TABLE `d` type='distributed' local='a' local='b' agent='h1:9312|h2:9312:t' ha_strategy='nodeads' agent_retry_count='2'",
    );
    assert.equal(
      sql.createDistributed('d', { agents: [{ mirrors: ['10.0.0.1:9312'], table: 'x' }, { mirrors: ['n2:9312'], table: 'y' }] }),
      "CREATE TABLE `d` type='distributed' agent='10.0.0.1:9312:x' agent='n2:9312:y'",
    );
  });

  test('alterDistributed re-points in place', () => {
    assert.equal(
      sql.alterDistributed('products', {
        locals: ['products_main_b', 'products_delta'],
        agents: [{ mirrors: ['n2:9312', 'n3:9312'], table: 'products_main_b' }],
        haStrategy: 'roundrobin',
        agentRetryCount: 0,
      }),
      "ALTER TABLE `products` local='products_main_b' local='products_delta' agent='n2:9312|n3:9312:products_main_b' " +
        "ha_strategy='roundrobin' agent_retry_count='0'",
    );
  });

  test('distributed specs are validated', () => {
    rejects(() => sql.createDistributed('d', {}), 'locals');
    rejects(() => sql.createDistributed('d', { locals: ["a'"] }), 'locals[0]');
    rejects(() => sql.createDistributed('d', { agents: [{ mirrors: [], table: 't' }] }), 'agents[0].mirrors');
    rejects(() => sql.createDistributed('d', { agents: [{ mirrors: ["h:9312' x"], table: 't' }] }), 'agents[0].mirrors[0]');
    rejects(() => sql.createDistributed('d', { agents: [{ mirrors: ['h:9312|evil:1'], table: 't' }] }), 'agents[0].mirrors[0]');
    rejects(() => sql.createDistributed('d', { agents: [{ mirrors: ['h:9312'], table: 't:x' }] }), 'agents[0].table');
    rejects(() => sql.createDistributed('d', { locals: ['a'], haStrategy: 'best' as sql.HaStrategy }), 'haStrategy');
    rejects(() => sql.createDistributed('d', { locals: ['a'], agentRetryCount: -1 }), 'agentRetryCount');
    rejects(() => sql.createDistributed('d', { locals: ['a'], agentRetryCount: 1.5 }), 'agentRetryCount');
  });

  test('addColumn / dropColumn: exact statements', () => {
    assert.equal(sql.addColumn('t', { name: 'price', type: 'float' }), 'ALTER TABLE `t` ADD COLUMN `price` float');
    assert.equal(sql.addColumn('t', { name: 'title', type: 'text', flags: ['indexed'] }), 'ALTER TABLE `t` ADD COLUMN `title` text indexed');
    assert.equal(
      sql.addColumn('t', { name: 'tag', type: 'string', flags: ['indexed', 'attribute', 'indexed'] }),
      'ALTER TABLE `t` ADD COLUMN `tag` string indexed attribute',
    );
    assert.equal(sql.dropColumn('t', 'price'), 'ALTER TABLE `t` DROP COLUMN `price`');
  });

  test('addColumn / dropColumn refuse bad input', () => {
    rejects(() => sql.addColumn('t;x', { name: 'a', type: 'float' }), 'table');
    rejects(() => sql.addColumn('t', { name: 'a b', type: 'float' }), 'column.name');
    rejects(() => sql.addColumn('t', { name: 'a', type: 'varchar' as sql.ColumnType }), 'column.type');
    rejects(() => sql.addColumn('t', { name: 'a', type: 'float', flags: ['indexed'] }), 'column.flags');
    rejects(() => sql.dropColumn('t', 'id'), 'column');
    rejects(() => sql.dropColumn('t', 'ID'), 'column');
    rejects(() => sql.dropColumn('t', "a'b"), 'column');
  });

  test('drop, truncate, attach, import, freeze', () => {
    assert.equal(sql.dropTable('t'), 'DROP TABLE `t`');
    assert.equal(sql.dropTable('t', true), 'DROP TABLE IF EXISTS `t`');
    assert.equal(sql.truncate('t'), 'TRUNCATE TABLE `t`');
    assert.equal(sql.truncate('t', 'c'), 'TRUNCATE TABLE c:t');
    assert.equal(sql.attachTable('plain', 'rt'), 'ATTACH TABLE `plain` TO TABLE `rt`');
    assert.equal(sql.attachTable('plain', 'rt', true), 'ATTACH TABLE `plain` TO TABLE `rt` WITH TRUNCATE');
    assert.equal(sql.importTable('t_main_a', '/var/lib/import/t/rt'), "IMPORT TABLE `t_main_a` FROM '/var/lib/import/t/rt'");
    assert.equal(sql.importTable('t', "/x/it's"), "IMPORT TABLE `t` FROM '/x/it\\'s'");
    assert.equal(sql.freeze(['a', 'b']), 'FREEZE a, b');
    assert.equal(sql.unfreeze(['a']), 'UNFREEZE a');
    rejects(() => sql.importTable('t', 'relative/path'), 'path');
    rejects(() => sql.importTable('t', '/a\0b'), 'path');
    rejects(() => sql.freeze([]), 'tables');
    rejects(() => sql.freeze(['a', 'b;c']), 'tables[1]');
    rejects(() => sql.attachTable('a', 'b`'), 'target');
  });

  test('introspection', () => {
    assert.equal(sql.showTables(), 'SHOW TABLES');
    assert.equal(sql.describe('t'), 'DESCRIBE `t`');
    assert.equal(sql.showCreateTable('t'), 'SHOW CREATE TABLE `t`');
    assert.equal(sql.showStatus(), 'SHOW STATUS');
    assert.equal(sql.showStatus('uptime'), "SHOW STATUS LIKE 'uptime'");
    assert.equal(sql.showClusterStatus('c'), "SHOW STATUS LIKE 'cluster_c_%'");
    assert.equal(sql.showAllClusterStatus(), "SHOW STATUS LIKE 'cluster%'");
    assert.equal(sql.showStatusVersion(), "SHOW STATUS LIKE 'version'");
    assert.equal(sql.showVersion(), 'SHOW VERSION');
    assert.equal(sql.showLocks(), 'SHOW LOCKS');
    assert.equal(sql.selectCount('t_main_a'), 'SELECT COUNT(*) FROM `t_main_a`');
    rejects(() => sql.showStatus("x' OR '1"), 'like');
    rejects(() => sql.showClusterStatus('c%'), 'cluster');
    rejects(() => sql.describe('t -- x'), 'table');
  });
});

describe('writes', () => {
  test('insert and replace, local and clustered', () => {
    assert.equal(
      sql.insert('t', ['id', 'title', 'tags', 'price'], [
        [1n, "it's", [1, 2], 1.5],
        [2, null, [], 0],
      ]),
      "INSERT INTO `t` (`id`, `title`, `tags`, `price`) VALUES (1, 'it\\'s', (1,2), 1.5), (2, NULL, (), 0)",
    );
    assert.equal(
      sql.replace('t', ['id', 'title'], [[5, 'x']], { cluster: 'c' }),
      "REPLACE INTO c:t (`id`, `title`) VALUES (5, 'x')",
    );
  });

  test('hostile values stay inside their literal', () => {
    assert.equal(
      sql.insert('t', ['id', 'title'], [[1, "'; DROP TABLE x; --"]]),
      "INSERT INTO `t` (`id`, `title`) VALUES (1, '\\'; DROP TABLE x; --')",
    );
    assert.equal(
      sql.insert('t', ['id', 'title'], [[1, 'a\\\'b\n\0']]),
      "INSERT INTO `t` (`id`, `title`) VALUES (1, 'a\\\\\\'b\\n\\0')",
    );
  });

  test('insert validates shape, names and values', () => {
    rejects(() => sql.insert('t', [], [[1]]), 'columns');
    rejects(() => sql.insert('t', ['id'], []), 'rows');
    rejects(() => sql.insert('t', ['id', 'x'], [[1]]), 'rows[0]');
    rejects(() => sql.insert('t', ['id', 'ti`tle'], [[1, 'a']]), 'columns[1]');
    rejects(() => sql.insert('t', ['id'], [[NaN]]), 'rows[0][0]');
    rejects(() => sql.insert('t', ['id'], [[1]], { cluster: 'c:x' }), 'table.cluster');
  });

  test('deleteByIds', () => {
    assert.equal(sql.deleteByIds('t', [1, 2n, '18446744073709551615']), 'DELETE FROM `t` WHERE id IN (1, 2, 18446744073709551615)');
    assert.equal(sql.deleteByIds('t', ['007'], { cluster: 'c' }), 'DELETE FROM c:t WHERE id IN (7)');
    rejects(() => sql.deleteByIds('t', []), 'ids');
    rejects(() => sql.deleteByIds('t', ['1 OR 1=1']), 'ids[0]');
    rejects(() => sql.deleteByIds('t', [-1]), 'ids[0]');
    rejects(() => sql.deleteByIds('t', ['18446744073709551616']), 'ids[0]');
    rejects(() => sql.deleteByIds('t', [1.5]), 'ids[0]');
  });
});

describe('cluster statements', () => {
  test('createCluster', () => {
    assert.equal(sql.createCluster('c'), 'CREATE CLUSTER `c`');
    assert.equal(
      sql.createCluster('c', {
        path: 'c_data',
        nodes: ['127.0.0.1:19412', '127.0.0.1:19422'],
        options: { 'gmcast.listen_addr': 'tcp://127.0.0.1' },
      }),
      "CREATE CLUSTER `c` 'c_data' AS path, '127.0.0.1:19412,127.0.0.1:19422' AS nodes, 'gmcast.listen_addr=tcp://127.0.0.1' AS options",
    );
    assert.equal(
      sql.createCluster('c', { options: { 'gmcast.listen_addr': 'tcp://127.0.0.1', 'gcache.size': '256M' } }),
      "CREATE CLUSTER `c` 'gmcast.listen_addr=tcp://127.0.0.1;gcache.size=256M' AS options",
    );
  });

  test('joinCluster AT one member or with a node list', () => {
    assert.equal(
      sql.joinCluster('c', { at: '127.0.0.1:9312' }, { options: 'gmcast.listen_addr=tcp://127.0.0.1' }),
      "JOIN CLUSTER `c` AT '127.0.0.1:9312' 'gmcast.listen_addr=tcp://127.0.0.1' AS options",
    );
    assert.equal(sql.joinCluster('c', { at: 'n1:9312' }), "JOIN CLUSTER `c` AT 'n1:9312'");
    assert.equal(
      sql.joinCluster('c', { nodes: ['n1:9312', 'n2:9312'] }, { path: 'c_data' }),
      "JOIN CLUSTER `c` 'c_data' AS path, 'n1:9312;n2:9312' AS nodes",
    );
  });

  test('cluster maintenance', () => {
    assert.equal(sql.deleteCluster('c'), 'DELETE CLUSTER `c`');
    assert.equal(sql.alterClusterAdd('c', ['t_delta', 't_main_a']), 'ALTER CLUSTER `c` ADD t_delta, t_main_a');
    assert.equal(sql.alterClusterDrop('c', ['t_main_b']), 'ALTER CLUSTER `c` DROP t_main_b');
    assert.equal(sql.alterClusterUpdateNodes('c'), 'ALTER CLUSTER `c` UPDATE nodes');
    assert.equal(sql.setClusterBootstrap('c'), "SET CLUSTER `c` GLOBAL 'pc.bootstrap' = 1");
  });

  test('cluster inputs are validated', () => {
    rejects(() => sql.createCluster("c'"), 'name');
    rejects(() => sql.createCluster('c', { nodes: [] }), 'nodes');
    rejects(() => sql.createCluster('c', { nodes: ['n1:9312', "n2:9312' AS path"] }), 'nodes[1]');
    rejects(() => sql.createCluster('c', { options: { 'a;b': 'x' } }), 'options.a;b');
    rejects(() => sql.createCluster('c', { options: { a: 'x;pc.bootstrap=1' } }), 'options.a');
    rejects(() => sql.createCluster('c', { path: '' }), 'path');
    rejects(() => sql.joinCluster('c', { at: 'n1' }), 'at');
    rejects(() => sql.joinCluster('c', {} as sql.JoinTarget), 'target');
    rejects(() => sql.alterClusterAdd('c', []), 'tables');
    rejects(() => sql.alterClusterAdd('c', ['a, b']), 'tables[0]');
    rejects(() => sql.setClusterBootstrap('c d'), 'name');
  });

  test('a raw options string is escaped, never concatenated', () => {
    assert.equal(
      sql.createCluster('c', { options: "x' AS path; DROP TABLE t; --" }),
      "CREATE CLUSTER `c` 'x\\' AS path; DROP TABLE t; --' AS options",
    );
  });
});
