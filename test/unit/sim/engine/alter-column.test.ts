/**
 * ALTER TABLE ... ADD COLUMN / DROP COLUMN in the simulator's executor: the schema change is real
 * (DESCRIBE, SELECT, INSERT, the table's files after a restart), and every form real Manticore refuses
 * is refused with its error — never an OK that changes nothing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../../../src/sim/engine/engine.js';
import { Executor, newSession } from '../../../../src/sim/engine/executor.js';
import { parseSql } from '../../../../src/sim/sql/parser.js';
import type { ClusterService, ClusterStatement, PersistedCluster, ReplicatedWrite, SqlResult } from '../../../../src/sim/contract.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sim-alter-'));
}

class Node {
  private readonly session = newSession(1);
  constructor(readonly ex: Executor) {}
  static open(dir: string, cluster?: ClusterService): Node {
    const engine = new Engine({ dataDir: dir });
    engine.loadRtMode();
    return new Node(new Executor({ engine, buddy: true, serverId: 1, ...(cluster ? { cluster } : {}) }));
  }
  async run(sql: string): Promise<SqlResult> {
    return this.ex.execute(parseSql(sql), this.session);
  }
  async rows(sql: string): Promise<(string | number | null)[][]> {
    const r = await this.run(sql);
    assert.equal(r.kind, 'rows', `${sql} returned rows`);
    return r.kind === 'rows' ? r.rows : [];
  }
  async error(sql: string): Promise<string> {
    try {
      await this.run(sql);
    } catch (err) {
      return (err as Error).message;
    }
    return assert.fail(`${sql} should fail`);
  }
}

/** A cluster that owns fixed tables; nothing else is exercised here. */
class OwningCluster implements ClusterService {
  constructor(private readonly tables: Record<string, string>) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  clusterOfTable(table: string): string | undefined {
    return this.tables[table];
  }
  async replicateWrite(_cluster: string, _write: ReplicatedWrite): Promise<void> {}
  async execute(_stmt: ClusterStatement): Promise<SqlResult> {
    return { kind: 'ok', affectedRows: 0 };
  }
  statusRows(): [string, string][] {
    return [];
  }
  persistedClusters(): Record<string, PersistedCluster> {
    return {};
  }
}

describe('ALTER TABLE ADD COLUMN', () => {
  test('adds an attribute: DESCRIBE shows it, old rows read 0, new rows store values, survives a restart', async () => {
    const dir = tmpDir();
    const n = Node.open(dir);
    await n.run('CREATE TABLE p (title text, qty integer)');
    await n.run("INSERT INTO p (id, title, qty) VALUES (1, 'one', 5), (2, 'two', 6)");
    assert.deepEqual(await n.run('ALTER TABLE p ADD COLUMN price float'), { kind: 'ok', affectedRows: 0 });
    assert.deepEqual(await n.rows('DESCRIBE p'), [
      ['id', 'bigint', ''],
      ['title', 'text', 'indexed stored'],
      ['qty', 'uint', ''],
      ['price', 'float', ''],
    ]);
    await n.run("INSERT INTO p (id, title, qty, price) VALUES (3, 'three', 7, 2.5)");
    assert.deepEqual(await n.rows('SELECT id, price FROM p ORDER BY id ASC'), [
      ['1', 0],
      ['2', 0],
      ['3', 2.5],
    ]);
    const reopened = Node.open(dir);
    assert.deepEqual((await reopened.rows('DESCRIBE p')).map((r) => r[0]), ['id', 'title', 'qty', 'price']);
    assert.deepEqual(await reopened.rows('SELECT id, qty, price FROM p ORDER BY id ASC'), [
      ['1', 5, 0],
      ['2', 6, 0],
      ['3', 7, 2.5],
    ]);
  });

  test('each type reads its default in old rows; text fields are searchable in new rows', async () => {
    const n = Node.open(tmpDir());
    await n.run('CREATE TABLE t (title text)');
    await n.run("INSERT INTO t (id, title) VALUES (1, 'old')");
    for (const stmt of [
      'ALTER TABLE t ADD COLUMN s string',
      'ALTER TABLE t ADD COLUMN b bigint',
      'ALTER TABLE t ADD COLUMN f bool',
      'ALTER TABLE t ADD COLUMN ts timestamp',
      'ALTER TABLE t ADD COLUMN m multi',
      'ALTER TABLE t ADD COLUMN j json',
      'ALTER TABLE `t` ADD COLUMN `body` text indexed stored',
    ]) {
      await n.run(stmt);
    }
    assert.deepEqual(await n.rows('DESCRIBE t'), [
      ['id', 'bigint', ''],
      ['title', 'text', 'indexed stored'],
      ['s', 'string', ''],
      ['b', 'bigint', ''],
      ['f', 'bool', ''],
      ['ts', 'timestamp', ''],
      ['m', 'mva', ''],
      ['j', 'json', ''],
      ['body', 'text', 'indexed stored'],
    ]);
    assert.deepEqual(await n.rows('SELECT id, s, b, f, ts, m, body FROM t'), [['1', '', 0, 0, 0, '', '']]);
    await n.run("INSERT INTO t (id, title, body, m) VALUES (2, 'new', 'zebra crossing', (3,1))");
    assert.deepEqual(await n.rows("SELECT id, m FROM t WHERE MATCH('zebra')"), [['2', '1,3']]);
  });

  test('errors of real Manticore, and the schema stays as it was', async () => {
    const n = Node.open(tmpDir(), new OwningCluster({ clustered: 'c' }));
    await n.run('CREATE TABLE p (title text, qty integer)');
    await n.run('CREATE TABLE clustered (title text)');
    await n.run("CREATE TABLE d type='distributed' local='p'");
    assert.equal(await n.error('ALTER TABLE p ADD COLUMN qty float'), "'qty' attribute already in schema");
    assert.equal(await n.error('ALTER TABLE p ADD COLUMN id bigint'), "'id' attribute already in schema");
    assert.equal(await n.error('ALTER TABLE p ADD COLUMN title text'), "'title' field already in schema");
    assert.equal(await n.error('ALTER TABLE p ADD COLUMN title float'), "cannot add attribute that shadows 'title' field");
    assert.equal(await n.error('ALTER TABLE nope ADD COLUMN x int'), "table 'nope' is not found, or not real-time");
    assert.equal(await n.error('ALTER TABLE d ADD COLUMN x int'), "table 'd' is not found, or not real-time");
    assert.equal(
      await n.error('ALTER TABLE clustered ADD COLUMN x int'),
      'table clustered: is part of cluster c, ALTER is not supported for tables in cluster',
    );
    assert.equal(
      await n.error('ALTER TABLE clustered DROP COLUMN title'),
      'table clustered: is part of cluster c, ALTER is not supported for tables in cluster',
    );
    assert.match(await n.error('ALTER TABLE c:clustered ADD COLUMN x int'), /^P01: syntax error, unexpected ':'/);
    assert.deepEqual((await n.rows('DESCRIBE p')).map((r) => r[0]), ['id', 'title', 'qty']);
    assert.deepEqual((await n.rows('DESCRIBE clustered')).map((r) => r[0]), ['id', 'title']);
  });

  test('plain mode refuses it', async () => {
    const n = new Node(new Executor({ engine: new Engine({}) }));
    assert.match(await n.error('ALTER TABLE t ADD COLUMN x int'), /requires data_dir/);
  });
});

describe('ALTER TABLE DROP COLUMN', () => {
  test('drops an attribute and a field: gone from DESCRIBE, SELECT and the files', async () => {
    const dir = tmpDir();
    const n = Node.open(dir);
    await n.run('CREATE TABLE p (title text, body text, qty integer, price float)');
    await n.run("INSERT INTO p (id, title, body, qty, price) VALUES (1, 'a', 'b', 5, 1.5)");
    await n.run('ALTER TABLE p DROP COLUMN price');
    await n.run('ALTER TABLE p DROP COLUMN `body`');
    assert.deepEqual(await n.rows('DESCRIBE p'), [
      ['id', 'bigint', ''],
      ['title', 'text', 'indexed stored'],
      ['qty', 'uint', ''],
    ]);
    assert.deepEqual(await n.rows('SELECT * FROM p'), [['1', 'a', 5]]);
    assert.match(await n.error('SELECT price FROM p'), /price/);
    const reopened = Node.open(dir);
    assert.deepEqual(await reopened.rows('SELECT * FROM p'), [['1', 'a', 5]]);
    // dropped then added again: old rows read the default, not the dropped value
    await reopened.run('ALTER TABLE p ADD COLUMN price float');
    assert.deepEqual(await reopened.rows('SELECT id, price FROM p'), [['1', 0]]);
  });

  test('refuses id and unknown columns', async () => {
    const n = Node.open(tmpDir());
    await n.run('CREATE TABLE p (title text, qty integer)');
    assert.equal(await n.error('ALTER TABLE p DROP COLUMN id'), "unable to remove built-in attribute 'id'");
    assert.equal(await n.error('ALTER TABLE p DROP COLUMN nope'), "attribute 'nope' does not exist");
    assert.deepEqual((await n.rows('DESCRIBE p')).map((r) => r[0]), ['id', 'title', 'qty']);
  });
});
