/**
 * searchd-sim as a child process on free loopback ports: SQL over mysql2, persistence across
 * SIGKILL, --status/--stopwait, plain mode + ATTACH, IMPORT TABLE from another node's files,
 * and a distributed table that keeps answering when one mirror is killed.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SearchdNode, runBinary } from '../../../../src/sim/launcher.js';

const nodes: SearchdNode[] = [];
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-node-'));

function node(name: string, opts: { mode?: 'rt' | 'plain'; sections?: string; buddy?: boolean } = {}): SearchdNode {
  const n = new SearchdNode({ name, dir: path.join(root, name), serverId: nodes.length + 1, ...opts });
  nodes.push(n);
  return n;
}

after(async () => {
  for (const n of nodes) if (n.running) await n.kill('SIGKILL');
});

describe('searchd-sim process', () => {
  test('answers SQL quickly, keeps acknowledged rows across SIGKILL, --status and --stopwait work', async () => {
    const n = node('persist');
    const t0 = Date.now();
    await n.start();
    const startMs = Date.now() - t0;
    assert.ok(startMs < 5000, `started in ${startMs} ms`);
    await n.sql('CREATE TABLE t (title text, n int)');
    await n.sql("INSERT INTO t (id, title, n) VALUES (1, 'one', 1), (2, 'two', 2)");
    await n.sql('DELETE FROM t WHERE id = 1');
    await n.sql("INSERT INTO t (id, title, n) VALUES (3, 'three', 3)");
    await n.kill('SIGKILL');
    await n.start();
    const rows = await n.sql('SELECT id, title, n FROM t');
    assert.deepEqual(rows.rows, [
      { id: '2', title: 'two', n: '2' },
      { id: '3', title: 'three', n: '3' },
    ]);
    assert.deepEqual((await n.sql('SHOW TABLES')).rows, [{ Table: 't', Type: 'rt' }]);
    assert.match(fs.readFileSync(n.layout.queryLog, 'utf8'), /^\/\* \w{3} \w{3} .* conn \d+ real \d+\.\d{3} wall \d+\.\d{3} found 2 \*\/ SELECT id, title, n FROM t;$/m);
    const status = await runBinary(n.binaries.searchd, ['--config', n.layout.config, '--status'], { timeoutMs: 10_000 });
    assert.equal(status.code, 0);
    await n.stopWait();
    assert.equal(n.running, false);
    assert.equal(fs.existsSync(n.layout.pidFile), false, 'pid file removed on a clean stop');
    const stopped = await runBinary(n.binaries.searchd, ['--config', n.layout.config, '--status'], { timeoutMs: 10_000 });
    assert.equal(stopped.code, 1);
    const log = fs.readFileSync(n.layout.log, 'utf8');
    assert.match(log, /^\[\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2}\.\d{3} \d{4}\] \[\d+\] /m);
  });

  test('plain mode: ATTACH a plain table into an RT table, then IMPORT TABLE on an RT node', async () => {
    const dataDir = path.join(root, 'plain-data');
    fs.mkdirSync(dataDir, { recursive: true });
    const columns = [
      { name: 'title', type: 'text', options: ['indexed', 'stored'] },
      { name: 'price', type: 'uint', options: [] },
    ];
    fs.writeFileSync(
      path.join(dataDir, 'goods.sph'),
      JSON.stringify({ format: 'manticore-sim-plain', version: 1, name: 'goods', kind: 'plain', columns, settings: {} }) + '\n',
    );
    fs.writeFileSync(
      path.join(dataDir, 'goods.spd'),
      [
        { id: '10', title: 'red shoe', price: 5 },
        { id: '11', title: 'blue hat', price: 7 },
      ]
        .map((d) => JSON.stringify(d) + '\n')
        .join(''),
    );
    const sections = [
      `table goods {\n  type = plain\n  path = ${path.join(dataDir, 'goods')}\n}`,
      `table goods_rt {\n  type = rt\n  path = ${path.join(dataDir, 'goods_rt')}\n  rt_field = title\n  rt_attr_uint = price\n}`,
    ].join('\n\n');
    const plain = node('plain', { mode: 'plain', sections });
    await plain.start();
    assert.deepEqual((await plain.sql('SHOW TABLES')).rows, [
      { Table: 'goods', Type: 'local' },
      { Table: 'goods_rt', Type: 'rt' },
    ]);
    await assert.rejects(plain.sql('CREATE TABLE x (title text)'), /CREATE TABLE requires data_dir/);
    await plain.sql('ATTACH TABLE goods TO TABLE goods_rt');
    assert.deepEqual((await plain.sql("SELECT id, price FROM goods_rt WHERE MATCH('shoe')")).rows, [{ id: '10', price: '5' }]);
    // the attached plain table is unavailable until it is rebuilt
    assert.deepEqual((await plain.sql('SHOW TABLES')).rows, [{ Table: 'goods_rt', Type: 'rt' }]);
    // a rebuild with --rotate (.new. files + SIGHUP) serves it again
    fs.writeFileSync(
      path.join(dataDir, 'goods.new.sph'),
      JSON.stringify({ format: 'manticore-sim-plain', version: 1, name: 'goods', kind: 'plain', columns, settings: {} }) + '\n',
    );
    fs.writeFileSync(path.join(dataDir, 'goods.new.spd'), JSON.stringify({ id: '12', title: 'green sock', price: 1 }) + '\n');
    process.kill(plain.pid as number, 'SIGHUP');
    let tables: unknown[] = [];
    for (let i = 0; i < 50 && tables.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      tables = (await plain.sql('SHOW TABLES')).rows;
    }
    assert.deepEqual(tables, [
      { Table: 'goods', Type: 'local' },
      { Table: 'goods_rt', Type: 'rt' },
    ]);
    assert.deepEqual((await plain.sql('SELECT id FROM goods')).rows, [{ id: '12' }]);
    await plain.stopWait();

    const rt = node('importer');
    await rt.start();
    await rt.sql(`IMPORT TABLE goods FROM '${path.join(dataDir, 'goods_rt')}'`);
    assert.deepEqual((await rt.sql('SELECT id, title, price FROM goods')).rows, [
      { id: '10', title: 'red shoe', price: '5' },
      { id: '11', title: 'blue hat', price: '7' },
    ]);
    // a plain table's files (here: a second copy indexer-style) are refused
    fs.writeFileSync(path.join(dataDir, 'extra.sph'), fs.readFileSync(path.join(dataDir, 'goods_rt.meta')));
    fs.writeFileSync(path.join(dataDir, 'extra.spd'), '');
    await assert.rejects(rt.sql(`IMPORT TABLE other FROM '${path.join(dataDir, 'extra')}'`), /missing .*extra\.meta table file/);
    // the imported table is the node's own: it is in manticore.json and survives a restart
    await rt.kill('SIGKILL');
    await rt.start();
    assert.deepEqual((await rt.sql('SELECT count(*) FROM goods')).rows, [{ 'count(*)': '2' }]);
    await rt.stopWait();
  });

  test('distributed table over two mirrors answers from the survivor when one is killed', async () => {
    const a = node('mirror-a');
    const b = node('mirror-b');
    const coord = node('coordinator');
    await Promise.all([a.start(), b.start(), coord.start()]);
    for (const m of [a, b]) {
      await m.sql('CREATE TABLE t (title text)');
      await m.sql("INSERT INTO t (id, title) VALUES (1, 'alpha'), (2, 'beta')");
    }
    await coord.sql('CREATE TABLE local_part (title text)');
    await coord.sql("INSERT INTO local_part (id, title) VALUES (100, 'gamma')");
    await coord.sql(
      `CREATE TABLE d type='distributed' local='local_part' agent='${a.apiAddress}|${b.apiAddress}:t' ha_strategy='roundrobin' agent_retry_count='1'`,
    );
    assert.deepEqual((await coord.sql('SELECT id FROM d ORDER BY id ASC')).rows, [{ id: '1' }, { id: '2' }, { id: '100' }]);
    await a.kill('SIGKILL');
    for (let i = 0; i < 4; i++) {
      assert.deepEqual((await coord.sql('SELECT id FROM d ORDER BY id ASC')).rows, [{ id: '1' }, { id: '2' }, { id: '100' }], `query ${i} after the kill`);
    }
    assert.deepEqual((await coord.sql("SELECT id FROM d WHERE MATCH('beta')")).rows, [{ id: '2' }]);
    await b.kill('SIGKILL');
    // every mirror down: local rows still answer
    assert.deepEqual((await coord.sql('SELECT id FROM d')).rows, [{ id: '100' }]);
    await Promise.all([coord.stopWait()]);
  });
});
