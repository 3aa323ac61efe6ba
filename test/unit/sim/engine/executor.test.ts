import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../../../src/sim/engine/engine.js';
import { Executor, newSession } from '../../../../src/sim/engine/executor.js';
import type { Session } from '../../../../src/sim/engine/executor.js';
import { parseSql } from '../../../../src/sim/sql/parser.js';
import type { ClusterService, ClusterStatement, PersistedCluster, ReplicatedWrite, SqlResult } from '../../../../src/sim/contract.js';
import type { Statement } from '../../../../src/sim/sql/ast.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sim-exec-'));
}

class Harness {
  readonly session: Session = newSession(1);
  constructor(readonly ex: Executor) {}
  async run(sql: string): Promise<SqlResult> {
    return this.ex.execute(parseSql(sql), this.session);
  }
  async rows(sql: string): Promise<(string | number | null)[][]> {
    const r = await this.run(sql);
    assert.equal(r.kind, 'rows', `${sql} returned rows`);
    return r.kind === 'rows' ? r.rows : [];
  }
  async columns(sql: string): Promise<string[]> {
    const r = await this.run(sql);
    return r.kind === 'rows' ? r.columns.map((c) => c.name) : [];
  }
  async error(sql: string): Promise<string> {
    try {
      await this.run(sql);
    } catch (err) {
      return (err as Error).message;
    }
    assert.fail(`${sql} should fail`);
  }
}

function rtNode(dir = tmpDir(), opts: { buddy?: boolean; cluster?: ClusterService } = {}): Harness {
  const engine = new Engine({ dataDir: dir });
  engine.loadRtMode();
  return new Harness(new Executor({ engine, buddy: opts.buddy ?? true, serverId: 3, ...(opts.cluster ? { cluster: opts.cluster } : {}) }));
}

describe('executor: DDL and SHOW', () => {
  test('CREATE TABLE, SHOW TABLES, DESCRIBE, SHOW CREATE TABLE', async () => {
    const h = rtNode();
    await h.run("CREATE TABLE products (title text, price float, qty integer, tag string, big bigint) min_infix_len='3'");
    assert.deepEqual(await h.columns('SHOW TABLES'), ['Table', 'Type']);
    assert.deepEqual(await h.rows('SHOW TABLES'), [['products', 'rt']]);
    assert.deepEqual(await h.rows('DESCRIBE products'), [
      ['id', 'bigint', ''],
      ['title', 'text', 'indexed stored'],
      ['price', 'float', ''],
      ['qty', 'uint', ''],
      ['tag', 'string', ''],
      ['big', 'bigint', ''],
    ]);
    const create = await h.rows('SHOW CREATE TABLE products');
    assert.equal(create[0]?.[1], "CREATE TABLE products (\nid bigint,\ntitle text,\nprice float,\nqty integer,\ntag string,\nbig bigint\n) min_infix_len='3'");
    assert.match(await h.error('CREATE TABLE products (title text)'), /already exists/);
    await h.run('CREATE TABLE IF NOT EXISTS products (title text)');
    await h.run("CREATE TABLE d type='distributed' local='products' agent='127.0.0.1:9312|127.0.0.2:9312:products' ha_strategy='nodeads' agent_retry_count='2'");
    assert.deepEqual(await h.rows("SHOW TABLES LIKE 'd%'"), [['d', 'distributed']]);
    assert.equal(
      (await h.rows('SHOW CREATE TABLE d'))[0]?.[1],
      "CREATE TABLE d type='distributed' local='products' agent='127.0.0.1:9312|127.0.0.2:9312:products' agent_retry_count='2' ha_strategy='nodeads'",
    );
    await h.run('DROP TABLE d');
    assert.deepEqual(await h.rows('SHOW TABLES'), [['products', 'rt']]);
    assert.equal(await h.error('DROP TABLE nope'), "DROP TABLE failed: unknown table 'nope'");
    await h.run('DROP TABLE IF EXISTS nope');
  });

  test('plain mode refuses CREATE TABLE with Manticore text', async () => {
    const h = new Harness(new Executor({ engine: new Engine({}) }));
    assert.equal(await h.error('CREATE TABLE t (title text)'), 'CREATE TABLE requires data_dir to be set in the config file');
  });

  test('SHOW STATUS: real version shape, LIKE wildcards, sim marker row, no cluster rows', async () => {
    const h = rtNode();
    const all = await h.rows('SHOW STATUS');
    const version = all.find((r) => r[0] === 'version');
    assert.match(String(version?.[1]), /^\d+\.\d+\.\d+ [0-9a-f]+@\d+$/);
    assert.ok(!String(version?.[1]).includes('sim'));
    assert.ok(all.some((r) => r[0] === 'sim'));
    assert.deepEqual(await h.rows("SHOW STATUS LIKE 'cluster%'"), []);
    assert.deepEqual(
      (await h.rows("SHOW STATUS LIKE 'u_time'")).map((r) => r[0]),
      ['uptime'],
    );
    assert.deepEqual(await h.columns("SHOW STATUS LIKE 'uptime'"), ['Counter', 'Value']);
  });

  test('Buddy-only statements fail without Buddy', async () => {
    const h = rtNode(tmpDir(), { buddy: false });
    await h.run('CREATE TABLE a (title text)');
    await h.run("CREATE TABLE d type='distributed' local='a'");
    assert.match(await h.error('SHOW VERSION'), /syntax error/);
    assert.equal(await h.error("ALTER TABLE d local='a' agent='127.0.0.1:9312:a'"), "table 'd' is not found, or not real-time");
    const withBuddy = rtNode();
    await withBuddy.run('CREATE TABLE a (title text)');
    await withBuddy.run('CREATE TABLE b (title text)');
    await withBuddy.run("CREATE TABLE d type='distributed' local='a'");
    await withBuddy.run("ALTER TABLE d local='b' agent='127.0.0.1:9312:a'");
    assert.equal((await withBuddy.rows('SHOW CREATE TABLE d'))[0]?.[1], "CREATE TABLE d type='distributed' local='b' agent='127.0.0.1:9312:a'");
    assert.deepEqual(await withBuddy.columns('SHOW VERSION'), ['Component', 'Version']);
    assert.equal((await withBuddy.rows('SHOW VERSION'))[0]?.[0], 'Daemon');
  });
});

describe('executor: writes and SELECT', () => {
  test('INSERT/REPLACE/DELETE/UPDATE/TRUNCATE and SELECT with MATCH, filters, order, limit', async () => {
    const h = rtNode();
    await h.run('CREATE TABLE t (title text, body text, price float, qty int)');
    await h.run("INSERT INTO t (id, title, body, price, qty) VALUES (1, 'Red apple', 'fresh fruit', 1.5, 10), (2, 'Green apple', 'sour', 2.25, 5), (3, 'Banana', 'yellow fruit', 0.5, 7)");
    assert.equal(await h.error("INSERT INTO t (id, title) VALUES (2, 'dup')"), "duplicate id '2'");
    assert.deepEqual(await h.rows("SELECT id FROM t WHERE MATCH('apple')"), [['1'], ['2']]);
    assert.deepEqual(await h.rows("SELECT id FROM t WHERE MATCH('fruit apple')"), [['1']]);
    assert.deepEqual(
      (await h.rows('SHOW META')).filter((r) => /^(keyword|docs|hits)\[/.test(String(r[0]))),
      [
        ['keyword[0]', 'fruit'],
        ['docs[0]', '2'],
        ['hits[0]', '2'],
        ['keyword[1]', 'apple'],
        ['docs[1]', '2'],
        ['hits[1]', '2'],
      ],
    );
    assert.deepEqual(await h.rows("SELECT id FROM t WHERE MATCH('banana | green')"), [['2'], ['3']]);
    assert.deepEqual(await h.rows("SELECT id FROM t WHERE MATCH('fruit -banana')"), [['1']]);
    assert.deepEqual(await h.rows("SELECT id FROM t WHERE MATCH('@body fruit')"), [['1'], ['3']]);
    assert.deepEqual(await h.rows("SELECT id FROM t WHERE MATCH('@title fruit')"), []);
    assert.deepEqual(await h.rows("SELECT id FROM t WHERE MATCH('@(title,body) sour')"), [['2']]);
    assert.deepEqual(await h.rows('SELECT id, qty FROM t WHERE qty > 5 ORDER BY qty DESC'), [
      ['3', 7],
      ['1', 10],
    ].reverse());
    assert.deepEqual(await h.rows('SELECT id FROM t WHERE price BETWEEN 1 AND 3 AND id IN (1,2,3) ORDER BY id DESC LIMIT 1'), [['2']]);
    assert.deepEqual(await h.rows('SELECT id FROM t WHERE NOT (qty = 5 OR qty = 7)'), [['1']]);
    assert.equal(await h.error('SELECT * FROM t ORDER BY id'), 'no sort order defined');
    assert.equal(await h.error('SELECT * FROM missing'), "unknown local table(s) 'missing' in search request");
    assert.deepEqual(await h.rows('SELECT count(*) FROM t'), [[3]]);
    assert.deepEqual(await h.columns('SELECT * FROM t'), ['id', 'title', 'body', 'price', 'qty']);
    const types = await h.run('SELECT * FROM t');
    assert.deepEqual(types.kind === 'rows' ? types.columns.map((c) => c.type) : [], ['longlong', 'string', 'string', 'float', 'long']);

    await h.run("REPLACE INTO t (id, title, qty) VALUES (3, 'Plantain', 9)");
    assert.deepEqual(await h.rows('SELECT title, qty, price FROM t WHERE id = 3'), [['Plantain', 9, 0]]);
    const upd = await h.run('UPDATE t SET qty = 1 WHERE id IN (1, 2)');
    assert.deepEqual(upd, { kind: 'ok', affectedRows: 2 });
    assert.deepEqual(await h.rows('SELECT id, qty FROM t ORDER BY qty ASC, id DESC'), [
      ['2', 1],
      ['1', 1],
      ['3', 9],
    ]);
    assert.deepEqual(await h.run('DELETE FROM t WHERE qty = 1'), { kind: 'ok', affectedRows: 2 });
    assert.deepEqual(await h.rows('SELECT id FROM t'), [['3']]);
    await h.run('TRUNCATE TABLE t');
    assert.deepEqual(await h.rows('SELECT count(*) FROM t'), [[0]]);
  });

  test('auto ids are large, unique and carry the server id', async () => {
    const h = rtNode();
    await h.run('CREATE TABLE t (title text)');
    await h.run("INSERT INTO t (title) VALUES ('a'), ('b')");
    await h.run("INSERT INTO t VALUES (0, 'c')");
    const ids = (await h.rows('SELECT id FROM t')).map((r) => BigInt(String(r[0])));
    assert.equal(new Set(ids).size, 3);
    for (const id of ids) assert.equal(id >> 56n, 3n);
  });

  test('GROUP BY with count(*) and default LIMIT 20', async () => {
    const h = rtNode();
    await h.run('CREATE TABLE t (title text, cat int)');
    const values = Array.from({ length: 30 }, (_, i) => `(${i + 1}, 'doc ${i}', ${i % 3})`).join(', ');
    await h.run(`INSERT INTO t (id, title, cat) VALUES ${values}`);
    assert.equal((await h.rows('SELECT * FROM t')).length, 20);
    assert.deepEqual(await h.rows('SELECT cat, count(*) AS n FROM t GROUP BY cat ORDER BY n DESC, cat ASC'), [
      [0, 10],
      [1, 10],
      [2, 10],
    ]);
    await h.run('SELECT * FROM t LIMIT 5');
    assert.deepEqual(await h.rows('SHOW META'), [
      ['total', '5'],
      ['total_found', '30'],
      ['total_relation', 'eq'],
      [(await h.rows('SHOW META'))[3]?.[0] ?? 'time', (await h.rows('SHOW META'))[3]?.[1] ?? ''],
    ]);
  });
});

class FakeCluster implements ClusterService {
  writes: ReplicatedWrite[] = [];
  constructor(
    private readonly engine: Engine,
    private readonly tables: Record<string, string>,
  ) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  clusterOfTable(table: string): string | undefined {
    return this.tables[table];
  }
  async replicateWrite(_cluster: string, write: ReplicatedWrite): Promise<void> {
    this.writes.push(write);
    this.engine.applyWrite(write);
  }
  async execute(_stmt: ClusterStatement): Promise<SqlResult> {
    return { kind: 'ok', affectedRows: 0 };
  }
  statusRows(): [string, string][] {
    return [['cluster_name', 'c']];
  }
  persistedClusters(): Record<string, PersistedCluster> {
    return { c: { path: '', nodes: '', options: '', indexes: Object.keys(this.tables) } };
  }
}

describe('executor: clustered tables', () => {
  test('writes need the cluster prefix and go through replicateWrite', async () => {
    const dir = tmpDir();
    const engine = new Engine({ dataDir: dir });
    engine.loadRtMode();
    const cluster = new FakeCluster(engine, { t: 'c' });
    const h = new Harness(new Executor({ engine, cluster }));
    await h.run('CREATE TABLE t (title text, n int)');
    await h.run('CREATE TABLE local_only (title text)');
    assert.equal(await h.error("INSERT INTO t (id, title) VALUES (1, 'x')"), "table 't' is a part of cluster 'c', use 'c:t'");
    assert.equal(await h.error('DELETE FROM t WHERE id = 1'), "table 't' is a part of cluster 'c', use 'c:t'");
    await h.run("INSERT INTO c:t (id, title, n) VALUES (1, 'x', 1), (2, 'y', 2)");
    await h.run('DELETE FROM c:t WHERE n = 2');
    await h.run('UPDATE c:t SET n = 5 WHERE id = 1');
    assert.deepEqual(cluster.writes, [
      {
        action: 'insert',
        table: 't',
        docs: [
          { id: '1', title: 'x', n: 1 },
          { id: '2', title: 'y', n: 2 },
        ],
      },
      { action: 'delete', table: 't', ids: ['2'] },
      { action: 'update', table: 't', ids: ['1'], set: { n: 5 } },
    ]);
    assert.deepEqual(await h.rows('SELECT id, n FROM t'), [['1', 5]]);
    assert.equal(await h.error('DROP TABLE t'), "DROP TABLE failed: unable to drop a cluster table 't'");
    assert.equal(await h.error("INSERT INTO c:local_only (id, title) VALUES (1, 'x')"), "table 'local_only' is not in any cluster, use just 'local_only'");
    assert.equal(await h.error("INSERT INTO zz:t (id, title) VALUES (1, 'x')"), "table 't' is a part of cluster 'c', use 'c:t'");
    assert.deepEqual((await h.rows("SHOW STATUS LIKE 'cluster%'")), [['cluster_name', 'c']]);
  });
});

describe('executor: FREEZE, IMPORT, ATTACH', () => {
  test('a frozen table exports its rows as of FREEZE; SHOW LOCKS lists it; files stop changing', async () => {
    const dir = tmpDir();
    const h = rtNode(dir);
    await h.run('CREATE TABLE t (title text)');
    await h.run("INSERT INTO t (id, title) VALUES (1, 'before')");
    const files = await h.rows('FREEZE t');
    assert.deepEqual(
      files.map((r) => r[1]),
      ['t.meta', 't.ram', 't.wal'].map((f) => path.join(dir, 't', f)),
    );
    const walBefore = fs.readFileSync(path.join(dir, 't', 't.wal'), 'utf8');
    const ramBefore = fs.readFileSync(path.join(dir, 't', 't.ram'), 'utf8');
    await h.run("INSERT INTO t (id, title) VALUES (2, 'during freeze')");
    assert.deepEqual(await h.rows('SELECT id FROM t'), [['1'], ['2']]);
    assert.deepEqual(await h.rows('SHOW LOCKS'), [['rt', 't', 'freeze', 'Count: 1']]);
    assert.deepEqual(h.ex.engine.frozenTables(), ['t']);
    assert.deepEqual(
      h.ex.engine.exportTables(['t'])[0]?.docs.map((d) => d.id),
      ['1'],
    );
    assert.equal(fs.readFileSync(path.join(dir, 't', 't.wal'), 'utf8'), walBefore);
    assert.equal(fs.readFileSync(path.join(dir, 't', 't.ram'), 'utf8'), ramBefore);

    // a copy of the frozen files imported elsewhere misses the row written since FREEZE
    const other = rtNode();
    await other.run(`IMPORT TABLE copy FROM '${path.join(dir, 't', 't')}'`);
    assert.deepEqual(await other.rows('SELECT id FROM copy'), [['1']]);
    assert.match(await other.error(`IMPORT TABLE copy FROM '${path.join(dir, 't', 't')}'`), /already exists/);

    await h.run('UNFREEZE t');
    assert.deepEqual(await h.rows('SHOW LOCKS'), []);
    assert.deepEqual(
      h.ex.engine.exportTables(['t'])[0]?.docs.map((d) => d.id),
      ['1', '2'],
    );
    // after a restart the table has both rows
    const again = rtNode(dir);
    assert.deepEqual(await again.rows('SELECT id FROM t'), [['1'], ['2']]);
  });

  test('IMPORT TABLE refuses a plain table (missing .meta)', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'p.sph'), JSON.stringify({ format: 'manticore-sim-plain', version: 1, name: 'p', kind: 'plain', columns: [], settings: {} }));
    fs.writeFileSync(path.join(dir, 'p.spd'), '');
    const h = rtNode();
    assert.equal(await h.error(`IMPORT TABLE x FROM '${path.join(dir, 'p')}'`), `unable to import table 'x': missing ${path.join(dir, 'p')}.meta table file`);
    assert.equal(await h.error(`IMPORT TABLE x FROM '${path.join(dir, 'nothing')}'`), "unable to import table 'x': no table files found");
  });

  test('ATTACH TABLE moves documents; an empty target takes the source schema; WITH TRUNCATE replaces', async () => {
    const h = rtNode();
    await h.run('CREATE TABLE src (title text, n int)');
    await h.run('CREATE TABLE dst (other text)');
    await h.run('CREATE TABLE other (body text)');
    await h.run("INSERT INTO src (id, title, n) VALUES (1, 'a', 1), (2, 'b', 2)");
    await h.run('ATTACH TABLE src TO TABLE dst');
    assert.deepEqual(await h.rows('SELECT id, n FROM dst'), [
      ['1', 1],
      ['2', 2],
    ]);
    assert.deepEqual((await h.rows('DESCRIBE dst')).map((r) => r[0]), ['id', 'title', 'n']);
    assert.deepEqual(await h.rows('SELECT count(*) FROM src'), [[0]]);
    // a non-empty target with the same schema: the attached rows are added, same ids replaced
    await h.run("INSERT INTO src (id, title, n) VALUES (2, 'b2', 20), (7, 'c', 7)");
    await h.run('ATTACH TABLE src TO TABLE dst');
    assert.deepEqual(await h.rows('SELECT id, n FROM dst'), [
      ['1', 1],
      ['2', 20],
      ['7', 7],
    ]);
    await h.run("INSERT INTO src (id, title, n) VALUES (9, 'z', 9)");
    await h.run('ATTACH TABLE src TO TABLE dst WITH TRUNCATE');
    assert.deepEqual(await h.rows('SELECT id FROM dst'), [['9']]);
    await h.run("INSERT INTO other (id, body) VALUES (1, 'x')");
    assert.match(await h.error('ATTACH TABLE other TO TABLE dst'), /differ/);
  });

  test('ATTACH of a plain table: the plain table becomes unavailable', async () => {
    const dir = tmpDir();
    const engine = new Engine({});
    const plainPrefix = path.join(dir, 'p');
    fs.writeFileSync(
      `${plainPrefix}.sph`,
      JSON.stringify({ format: 'manticore-sim-plain', version: 1, name: 'p', kind: 'plain', columns: [{ name: 'title', type: 'text', options: ['indexed', 'stored'] }], settings: {} }),
    );
    fs.writeFileSync(`${plainPrefix}.spd`, JSON.stringify({ id: '5', title: 'five' }) + '\n');
    const { LocalTable } = await import('../../../../src/sim/engine/local-table.js');
    engine.addConfigTable('p', LocalTable.load(plainPrefix, 'p'));
    const rt = new LocalTable('r', 'rt', { columns: [], settings: {} }, path.join(dir, 'r'));
    rt.persistAll();
    engine.addConfigTable('r', rt);
    const h = new Harness(new Executor({ engine }));
    await h.run('ATTACH TABLE p TO TABLE r');
    assert.deepEqual(await h.rows('SELECT id, title FROM r'), [['5', 'five']]);
    assert.deepEqual(await h.rows('SHOW TABLES'), [['r', 'rt']]);
    assert.equal(fs.existsSync(`${plainPrefix}.sph`), false);
    assert.deepEqual(LocalTable.load(path.join(dir, 'r')).sortedDocs(), [{ id: '5', title: 'five' }]);
  });
});

describe('executor: statement kinds', () => {
  test('SET, SHOW VARIABLES, SHOW WARNINGS and SHOW AGENT STATUS answer', async () => {
    const h = rtNode();
    const stmt: Statement = { kind: 'set', name: 'autocommit', value: '1' };
    assert.deepEqual(await h.ex.execute(stmt, h.session), { kind: 'ok', affectedRows: 0 });
    assert.deepEqual(await h.columns('SHOW VARIABLES'), ['Variable_name', 'Value']);
    assert.deepEqual(await h.rows('SHOW WARNINGS'), []);
    assert.deepEqual(await h.columns('SHOW AGENT STATUS'), ['Key', 'Value']);
  });
});

describe('executor: large tables', () => {
  test('SELECT over 200k rows (more than a spread argument list can hold) counts and sorts them', async () => {
    const h = rtNode();
    await h.run('CREATE TABLE big (title text, n integer)');
    for (let b = 0; b < 20; b++) {
      const vals: string[] = [];
      for (let i = 1; i <= 10_000; i++) vals.push(`(${b * 10_000 + i}, 'doc', ${b * 10_000 + i})`);
      await h.run(`INSERT INTO big (id, title, n) VALUES ${vals.join(', ')}`);
    }
    assert.deepEqual(await h.rows('SELECT count(*) FROM big'), [[200_000]]);
    assert.deepEqual(await h.rows('SELECT id FROM big ORDER BY id DESC LIMIT 2'), [['200000'], ['199999']]);
  });
});
