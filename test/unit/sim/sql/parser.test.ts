import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSql } from '../../../../src/sim/sql/parser.js';
import { tokenize } from '../../../../src/sim/sql/lexer.js';
import { SqlError } from '../../../../src/sim/contract.js';

function syntaxError(sql: string, message: string): void {
  assert.throws(
    () => parseSql(sql),
    (err: unknown) => {
      assert.ok(err instanceof SqlError, `expected SqlError, got ${String(err)}`);
      assert.equal(err.message, message);
      assert.equal(err.errno, 1064);
      return true;
    },
  );
}

describe('lexer', () => {
  test('tokens, comments, escapes', () => {
    const toks = tokenize("select `a``b`, 'x\\'y', \"q\\\"\\\\\" -- c\n/* c2 */ 12 1.5 -3 <> # tail");
    assert.deepEqual(
      toks.map((t) => [t.type, t.value]),
      [
        ['ident', 'select'],
        ['qident', 'a`b'],
        ['punct', ','],
        ['string', "x'y"],
        ['punct', ','],
        ['string', 'q"\\'],
        ['int', '12'],
        ['float', '1.5'],
        ['punct', '-'],
        ['int', '3'],
        ['punct', '!='],
        ['eof', ''],
      ],
    );
  });

  test('uint64 ids keep their text', () => {
    assert.deepEqual(tokenize('18446744073709551615')[0], { type: 'int', value: '18446744073709551615', pos: 0 });
  });

  test('unterminated string and bad characters are errors', () => {
    assert.throws(() => tokenize("select 'abc"), SqlError);
    assert.throws(() => tokenize('select `abc'), SqlError);
    assert.throws(() => tokenize('select ~'), SqlError);
    assert.throws(() => tokenize('select /* never closed'), SqlError);
  });
});

describe('parseSql: tables', () => {
  test('CREATE TABLE rt with columns and settings', () => {
    assert.deepEqual(
      parseSql(
        "CREATE TABLE IF NOT EXISTS products (title text, price float, tags multi, s string attribute indexed, j json, `Code` bigint) min_infix_len='2' morphology='stem_en';",
      ),
      {
        kind: 'create_table',
        name: 'products',
        ifNotExists: true,
        columns: [
          { name: 'title', type: 'text', options: [] },
          { name: 'price', type: 'float', options: [] },
          { name: 'tags', type: 'multi', options: [] },
          { name: 's', type: 'string', options: ['attribute', 'indexed'] },
          { name: 'j', type: 'json', options: [] },
          { name: 'Code', type: 'bigint', options: [] },
        ],
        options: [
          { key: 'min_infix_len', value: '2' },
          { key: 'morphology', value: 'stem_en' },
        ],
      },
    );
  });

  test('CREATE TABLE distributed with repeated local/agent', () => {
    assert.deepEqual(
      parseSql(
        "create table d type='distributed' local='a' local='b' agent='h1:9312|h2:9312:t' ha_strategy='nodeads' agent_retry_count=2",
      ),
      {
        kind: 'create_table',
        name: 'd',
        ifNotExists: false,
        columns: [],
        options: [
          { key: 'type', value: 'distributed' },
          { key: 'local', value: 'a' },
          { key: 'local', value: 'b' },
          { key: 'agent', value: 'h1:9312|h2:9312:t' },
          { key: 'ha_strategy', value: 'nodeads' },
          { key: 'agent_retry_count', value: '2' },
        ],
      },
    );
  });

  test('CREATE TABLE column options with values', () => {
    const stmt = parseSql("CREATE TABLE v (title text indexed stored, emb float_vector knn_type='hnsw' knn_dims='4')");
    assert.deepEqual(stmt, {
      kind: 'create_table',
      name: 'v',
      ifNotExists: false,
      columns: [
        { name: 'title', type: 'text', options: ['indexed', 'stored'] },
        { name: 'emb', type: 'float_vector', options: ['knn_type=hnsw', 'knn_dims=4'] },
      ],
      options: [],
    });
  });

  test('CREATE TABLE unknown column type is a syntax error', () => {
    syntaxError('CREATE TABLE t (a wibble)', "P01: syntax error, unexpected identifier near 'wibble)'");
  });

  test('DROP TABLE [IF EXISTS]', () => {
    assert.deepEqual(parseSql('DROP TABLE t'), { kind: 'drop_table', name: 't', ifExists: false });
    assert.deepEqual(parseSql('drop table if exists `t`'), { kind: 'drop_table', name: 't', ifExists: true });
  });

  test('ALTER TABLE options and RENAME', () => {
    assert.deepEqual(parseSql("ALTER TABLE d local='x' agent='h:9312:t'"), {
      kind: 'alter_table_options',
      name: 'd',
      options: [
        { key: 'local', value: 'x' },
        { key: 'agent', value: 'h:9312:t' },
      ],
    });
    assert.deepEqual(parseSql('ALTER TABLE t RENAME t2'), { kind: 'alter_table_rename', name: 't', newName: 't2' });
    syntaxError('ALTER TABLE t', "P01: syntax error, unexpected $end near ''");
  });

  test('ALTER TABLE ADD COLUMN / DROP COLUMN', () => {
    assert.deepEqual(parseSql('ALTER TABLE t ADD COLUMN price float'), {
      kind: 'alter_table_add_column',
      name: 't',
      column: { name: 'price', type: 'float', options: [] },
    });
    assert.deepEqual(parseSql("alter table `t` add column `title` TEXT indexed attribute engine='columnar'"), {
      kind: 'alter_table_add_column',
      name: 't',
      column: { name: 'title', type: 'text', options: ['indexed', 'attribute', 'engine=columnar'] },
    });
    assert.deepEqual(parseSql('ALTER TABLE t DROP COLUMN price;'), { kind: 'alter_table_drop_column', name: 't', column: 'price' });
  });

  test('ALTER TABLE forms the simulator does not run are syntax errors, not options', () => {
    assert.throws(() => parseSql('ALTER TABLE t ADD price float'), SqlError);
    assert.throws(() => parseSql('ALTER TABLE t ADD COLUMN price'), SqlError);
    assert.throws(() => parseSql('ALTER TABLE t ADD COLUMN price varchar'), SqlError);
    assert.throws(() => parseSql('ALTER TABLE t ADD COLUMN price float indexed'), SqlError);
    assert.throws(() => parseSql('ALTER TABLE t ADD COLUMN a int, ADD COLUMN b int'), SqlError);
    assert.throws(() => parseSql('ALTER TABLE t MODIFY COLUMN qty bigint'), SqlError);
    assert.throws(() => parseSql('ALTER TABLE t REBUILD SECONDARY'), SqlError);
    assert.throws(() => parseSql('ALTER TABLE t RECONFIGURE'), SqlError);
    assert.throws(() => parseSql('ALTER TABLE t DROP price'), SqlError);
    syntaxError('ALTER TABLE c:t ADD COLUMN x int', "P01: syntax error, unexpected ':' near ':t ADD COLUMN x int'");
  });

  test('TRUNCATE TABLE', () => {
    assert.deepEqual(parseSql('TRUNCATE TABLE t'), { kind: 'truncate_table', name: 't', reconfigure: false });
    assert.deepEqual(parseSql('truncate table c:t with reconfigure'), {
      kind: 'truncate_table',
      cluster: 'c',
      name: 't',
      reconfigure: true,
    });
    assert.deepEqual(parseSql('TRUNCATE RTINDEX t'), { kind: 'truncate_table', name: 't', reconfigure: false });
  });

  test('IMPORT, ATTACH, FREEZE, UNFREEZE, FLUSH', () => {
    assert.deepEqual(parseSql("IMPORT TABLE t FROM '/backup/data/t/t'"), {
      kind: 'import_table',
      name: 't',
      path: '/backup/data/t/t',
    });
    assert.deepEqual(parseSql('ATTACH TABLE a TO TABLE b'), { kind: 'attach_table', source: 'a', target: 'b', truncate: false });
    assert.deepEqual(parseSql('attach table a to table b with truncate'), {
      kind: 'attach_table',
      source: 'a',
      target: 'b',
      truncate: true,
    });
    assert.deepEqual(parseSql('ATTACH INDEX a TO RTINDEX b'), { kind: 'attach_table', source: 'a', target: 'b', truncate: false });
    assert.deepEqual(parseSql('FREEZE t1, t2'), { kind: 'freeze', tables: ['t1', 't2'] });
    assert.deepEqual(parseSql('UNFREEZE t'), { kind: 'unfreeze', tables: ['t'] });
    assert.deepEqual(parseSql('FLUSH RAMCHUNK t'), { kind: 'flush_ramchunk', name: 't' });
    assert.deepEqual(parseSql('FLUSH RTINDEX t'), { kind: 'flush_rtindex', name: 't' });
  });
});

describe('parseSql: SHOW / DESCRIBE / SET', () => {
  test('SHOW variants', () => {
    assert.deepEqual(parseSql("SHOW STATUS LIKE 'cluster%'"), { kind: 'show_status', like: 'cluster%' });
    assert.deepEqual(parseSql('show status'), { kind: 'show_status' });
    assert.deepEqual(parseSql('SHOW TABLES'), { kind: 'show_tables' });
    assert.deepEqual(parseSql("SHOW TABLES LIKE 'pro%'"), { kind: 'show_tables', like: 'pro%' });
    assert.deepEqual(parseSql('SHOW CREATE TABLE t'), { kind: 'show_create_table', name: 't' });
    assert.deepEqual(parseSql('SHOW VERSION'), { kind: 'show_version' });
    assert.deepEqual(parseSql('SHOW VARIABLES'), { kind: 'show_variables' });
    assert.deepEqual(parseSql("SHOW GLOBAL VARIABLES LIKE 'auto%'"), { kind: 'show_variables', like: 'auto%' });
    assert.deepEqual(parseSql('SHOW WARNINGS'), { kind: 'show_warnings' });
    assert.deepEqual(parseSql('SHOW META'), { kind: 'show_meta' });
    assert.deepEqual(parseSql('SHOW LOCKS;'), { kind: 'show_locks' });
    assert.deepEqual(parseSql('SHOW AGENT STATUS'), { kind: 'show_agent_status' });
  });

  test('SHOW with an unknown word', () => {
    syntaxError('SHOW MY PERMISSIONS', "P01: syntax error, unexpected identifier near 'MY PERMISSIONS'");
  });

  test('DESCRIBE / DESC', () => {
    assert.deepEqual(parseSql('DESCRIBE t'), { kind: 'describe', name: 't' });
    assert.deepEqual(parseSql("desc t like 'ti%'"), { kind: 'describe', name: 't', like: 'ti%' });
    syntaxError('describe index test_rt', "P01: syntax error, unexpected identifier near 'test_rt'");
  });

  test('SET', () => {
    assert.deepEqual(parseSql('SET autocommit=1'), { kind: 'set', name: 'autocommit', value: '1' });
    assert.deepEqual(parseSql("SET GLOBAL query_log_format='sphinxql'"), {
      kind: 'set',
      scope: 'global',
      name: 'query_log_format',
      value: 'sphinxql',
    });
    assert.deepEqual(parseSql('SET NAMES utf8mb4'), { kind: 'set', name: 'names', value: 'utf8mb4' });
    assert.deepEqual(parseSql("SET CLUSTER c GLOBAL 'pc.bootstrap' = 1"), {
      kind: 'set_cluster',
      name: 'c',
      key: 'pc.bootstrap',
      value: '1',
    });
  });
});

describe('parseSql: cluster statements', () => {
  test('CREATE CLUSTER', () => {
    assert.deepEqual(parseSql('CREATE CLUSTER posts'), { kind: 'create_cluster', name: 'posts' });
    assert.deepEqual(
      parseSql("CREATE CLUSTER c '/var/data/c/' AS path, 'h1:9312,h2:9312' as nodes, 'gmcast.listen_addr=tcp://127.0.0.1' AS options"),
      {
        kind: 'create_cluster',
        name: 'c',
        path: '/var/data/c/',
        nodes: 'h1:9312,h2:9312',
        options: 'gmcast.listen_addr=tcp://127.0.0.1',
      },
    );
    syntaxError("CREATE CLUSTER c 'x' AS colour", "P01: syntax error, unexpected identifier near 'colour'");
  });

  test('JOIN CLUSTER', () => {
    assert.deepEqual(parseSql("JOIN CLUSTER posts AT '10.12.1.35:9312'"), {
      kind: 'join_cluster',
      name: 'posts',
      at: '10.12.1.35:9312',
    });
    assert.deepEqual(parseSql("JOIN CLUSTER c AT '127.0.0.1:9312' 'gmcast.listen_addr=tcp://127.0.0.1' as options"), {
      kind: 'join_cluster',
      name: 'c',
      at: '127.0.0.1:9312',
      options: 'gmcast.listen_addr=tcp://127.0.0.1',
    });
    assert.deepEqual(parseSql("JOIN CLUSTER c 'h1:9312;h2:9312' AS nodes"), {
      kind: 'join_cluster',
      name: 'c',
      nodes: 'h1:9312;h2:9312',
    });
    syntaxError('JOIN CLUSTER c', "P01: syntax error, unexpected $end, expecting AT near ''");
  });

  test('DELETE / ALTER CLUSTER', () => {
    assert.deepEqual(parseSql('DELETE CLUSTER c'), { kind: 'delete_cluster', name: 'c' });
    assert.deepEqual(parseSql('ALTER CLUSTER c ADD t1, t2'), { kind: 'alter_cluster_add', name: 'c', tables: ['t1', 't2'] });
    assert.deepEqual(parseSql('ALTER CLUSTER c DROP t'), { kind: 'alter_cluster_drop', name: 'c', tables: ['t'] });
    assert.deepEqual(parseSql('alter cluster c update nodes'), { kind: 'alter_cluster_update_nodes', name: 'c' });
  });
});

describe('parseSql: writes', () => {
  test('INSERT with columns, cluster prefix, literals', () => {
    assert.deepEqual(
      parseSql("INSERT INTO c:t (id, title, price, tags, j) VALUES (18446744073709551615, 'it\\'s', -1.5, (1,2,3), '{\"a\":1}'), (2, \"x\", 3, (), NULL)"),
      {
        kind: 'insert',
        replace: false,
        cluster: 'c',
        table: 't',
        columns: ['id', 'title', 'price', 'tags', 'j'],
        rows: [
          [
            { type: 'int', value: '18446744073709551615' },
            { type: 'string', value: "it's" },
            { type: 'float', value: -1.5 },
            { type: 'mva', values: ['1', '2', '3'] },
            { type: 'string', value: '{"a":1}' },
          ],
          [
            { type: 'int', value: '2' },
            { type: 'string', value: 'x' },
            { type: 'int', value: '3' },
            { type: 'mva', values: [] },
            { type: 'null' },
          ],
        ],
      },
    );
  });

  test('REPLACE without columns, negative int', () => {
    assert.deepEqual(parseSql('REPLACE INTO t VALUES (1, -5)'), {
      kind: 'insert',
      replace: true,
      table: 't',
      rows: [[{ type: 'int', value: '1' }, { type: 'int', value: '-5' }]],
    });
  });

  test('DELETE and UPDATE', () => {
    assert.deepEqual(parseSql('DELETE FROM c:t WHERE id IN (1, 2)'), {
      kind: 'delete',
      cluster: 'c',
      table: 't',
      where: {
        type: 'in',
        expr: { type: 'column', name: 'id' },
        values: [
          { type: 'int', value: '1' },
          { type: 'int', value: '2' },
        ],
        not: false,
      },
    });
    assert.deepEqual(parseSql("UPDATE t SET price=2.5, s='x' WHERE id=7"), {
      kind: 'update',
      table: 't',
      set: [
        { column: 'price', value: { type: 'float', value: 2.5 } },
        { column: 's', value: { type: 'string', value: 'x' } },
      ],
      where: { type: 'cmp', op: '=', left: { type: 'column', name: 'id' }, right: { type: 'literal', value: { type: 'int', value: '7' } } },
    });
    syntaxError('DELETE FROM t', "P01: syntax error, unexpected $end, expecting WHERE near ''");
  });
});

describe('parseSql: SELECT', () => {
  test('full form', () => {
    assert.deepEqual(
      parseSql(
        "SELECT id, title AS t, count(*) c FROM t1, t2 WHERE MATCH('hello \\'world\\'') AND a=1 AND b IN (1,2) AND c BETWEEN 1 AND 5 GROUP BY x ORDER BY a DESC, id ASC LIMIT 10 OFFSET 5 OPTION max_matches=1000, ranker=bm25",
      ),
      {
        kind: 'select',
        items: [
          { expr: { type: 'column', name: 'id' } },
          { expr: { type: 'column', name: 'title' }, alias: 't' },
          { expr: { type: 'func', name: 'count', args: [], star: true }, alias: 'c' },
        ],
        from: ['t1', 't2'],
        where: {
          type: 'and',
          left: {
            type: 'and',
            left: {
              type: 'and',
              left: { type: 'match', query: "hello 'world'" },
              right: {
                type: 'cmp',
                op: '=',
                left: { type: 'column', name: 'a' },
                right: { type: 'literal', value: { type: 'int', value: '1' } },
              },
            },
            right: {
              type: 'in',
              expr: { type: 'column', name: 'b' },
              values: [
                { type: 'int', value: '1' },
                { type: 'int', value: '2' },
              ],
              not: false,
            },
          },
          right: {
            type: 'between',
            expr: { type: 'column', name: 'c' },
            low: { type: 'int', value: '1' },
            high: { type: 'int', value: '5' },
            not: false,
          },
        },
        groupBy: ['x'],
        orderBy: [
          { expr: { type: 'column', name: 'a' }, dir: 'desc' },
          { expr: { type: 'column', name: 'id' }, dir: 'asc' },
        ],
        limit: 10,
        offset: 5,
        options: [
          { key: 'max_matches', value: '1000' },
          { key: 'ranker', value: 'bm25' },
        ],
      },
    );
  });

  test('SELECT * with LIMIT offset,count and ORDER BY without direction', () => {
    assert.deepEqual(parseSql('select * from t order by id limit 5,10;'), {
      kind: 'select',
      items: [{ expr: { type: 'star' } }],
      from: ['t'],
      orderBy: [{ expr: { type: 'column', name: 'id' } }],
      limit: 10,
      offset: 5,
      options: [],
    });
  });

  test('SELECT count(*) and NOT / OR / parentheses / comparison operators', () => {
    const stmt = parseSql('SELECT COUNT(*) FROM t WHERE NOT (a >= 1 OR b <> 2) AND c NOT IN (3) AND d NOT BETWEEN -1 AND 1');
    assert.deepEqual(stmt, {
      kind: 'select',
      items: [{ expr: { type: 'func', name: 'count', args: [], star: true } }],
      from: ['t'],
      where: {
        type: 'and',
        left: {
          type: 'and',
          left: {
            type: 'not',
            expr: {
              type: 'or',
              left: { type: 'cmp', op: '>=', left: { type: 'column', name: 'a' }, right: { type: 'literal', value: { type: 'int', value: '1' } } },
              right: { type: 'cmp', op: '!=', left: { type: 'column', name: 'b' }, right: { type: 'literal', value: { type: 'int', value: '2' } } },
            },
          },
          right: { type: 'in', expr: { type: 'column', name: 'c' }, values: [{ type: 'int', value: '3' }], not: true },
        },
        right: {
          type: 'between',
          expr: { type: 'column', name: 'd' },
          low: { type: 'int', value: '-1' },
          high: { type: 'int', value: '1' },
          not: true,
        },
      },
      orderBy: [],
      options: [],
    });
  });

  test('functions with args, backtick names, comments', () => {
    assert.deepEqual(parseSql('/* hi */ SELECT max(price), `weird name` FROM `my table` -- trailing\n'), {
      kind: 'select',
      items: [
        { expr: { type: 'func', name: 'max', args: [{ type: 'column', name: 'price' }], star: false } },
        { expr: { type: 'column', name: 'weird name' } },
      ],
      from: ['my table'],
      orderBy: [],
      options: [],
    });
  });

  test('system variables and keywords are not implicit aliases', () => {
    assert.deepEqual(parseSql('select @@version_comment limit 1'), {
      kind: 'select',
      items: [{ expr: { type: 'column', name: '@@version_comment' } }],
      from: [],
      orderBy: [],
      limit: 1,
      options: [],
    });
    assert.deepEqual(parseSql('SELECT @@session.auto_increment_increment AS x'), {
      kind: 'select',
      items: [{ expr: { type: 'column', name: '@@session.auto_increment_increment' }, alias: 'x' }],
      from: [],
      orderBy: [],
      options: [],
    });
    assert.deepEqual(parseSql('SELECT id FROM t LIMIT 1'), {
      kind: 'select',
      items: [{ expr: { type: 'column', name: 'id' } }],
      from: ['t'],
      orderBy: [],
      limit: 1,
      options: [],
    });
  });

  test('SELECT without FROM', () => {
    assert.deepEqual(parseSql('SELECT 1'), {
      kind: 'select',
      items: [{ expr: { type: 'literal', value: { type: 'int', value: '1' } } }],
      from: [],
      orderBy: [],
      options: [],
    });
  });
});

describe('parseSql: errors and hostile input', () => {
  test('unknown statement', () => {
    syntaxError('foo bar', "P01: syntax error, unexpected identifier near 'foo bar'");
    syntaxError('', "P01: syntax error, unexpected $end near ''");
    syntaxError('GRANT ALL', "P01: syntax error, unexpected identifier near 'GRANT ALL'");
  });

  test('trailing garbage after a statement', () => {
    syntaxError("SHOW TABLES LIKE 'a' where charset = 'x'", "P01: syntax error, unexpected WHERE near 'where charset = 'x''");
    syntaxError('SHOW TABLES; SHOW TABLES', "P01: syntax error, unexpected SHOW near 'SHOW TABLES'");
  });

  test('injection attempts stay inside the string literal', () => {
    const stmt = parseSql("SELECT * FROM t WHERE MATCH('x\\'); DROP TABLE t; --')");
    assert.equal(stmt.kind, 'select');
    assert.deepEqual(stmt.kind === 'select' ? stmt.where : undefined, { type: 'match', query: "x'); DROP TABLE t; --" });
    syntaxError("SELECT * FROM t WHERE MATCH('x'); DROP TABLE t", "P01: syntax error, unexpected DROP near 'DROP TABLE t'");
  });

  test('unicode, long names, escapes and comment markers inside literals', () => {
    const long = 'x'.repeat(300);
    assert.deepEqual(parseSql(`INSERT INTO \`${long}\` (id, title) VALUES (1, 'Zürich 日本 😀 -- /* # \\\\ \\n')`), {
      kind: 'insert',
      replace: false,
      table: long,
      columns: ['id', 'title'],
      rows: [[{ type: 'int', value: '1' }, { type: 'string', value: 'Zürich 日本 😀 -- /* # \\ \n' }]],
    });
    assert.deepEqual(parseSql('DROP TABLE `we``ird;name`'), { kind: 'drop_table', name: 'we`ird;name', ifExists: false });
    syntaxError('DROP TABLE t; DROP TABLE u', "P01: syntax error, unexpected DROP near 'DROP TABLE u'");
    syntaxError('DROP TABLE ``', "P01: syntax error, unexpected $undefined near '``'");
  });

  test('doubled quote is not an escape (as in Manticore)', () => {
    syntaxError("SELECT * FROM t WHERE s = 'won''t'", "P01: syntax error, unexpected string near ''t''");
  });

  test('unterminated string', () => {
    syntaxError("SELECT 'abc", "P01: syntax error, unexpected $undefined near ''abc'");
  });

  test('missing pieces', () => {
    syntaxError('SELECT FROM t', "P01: syntax error, unexpected FROM near 'FROM t'");
    syntaxError('INSERT INTO t VALUES', "P01: syntax error, unexpected $end, expecting '(' near ''");
    syntaxError('SELECT * FROM t LIMIT x', "P01: syntax error, unexpected identifier near 'x'");
    syntaxError('CREATE TABLE', "P01: syntax error, unexpected $end near ''");
  });
});
