/**
 * Node-wide facts handed to an observation are used instead of reading them again, and the pools
 * count every statement that may change something (the controller trusts such facts only while the
 * count stays put). Against an in-process simulator node over real MySQL-protocol connections.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ManticorePools } from '../../../src/manticore/client.js';
import { observeNode, type NodeWideFacts } from '../../../src/observe/observe.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { SimNode } from '../../../src/sim/node.js';
import { freePort } from '../../helpers/controller-process.js';

let node: SimNode;
let ref: NodeRef;
let dir: string;
const pools = new ManticorePools();

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-facts-'));
  const [mysqlPort, httpPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  node = new SimNode({ dataDir: path.join(dir, 'data'), mysql: { host: '127.0.0.1', port: mysqlPort }, http: { host: '127.0.0.1', port: httpPort }, api: { host: '127.0.0.1', port: apiPort }, serverId: 1 });
  await node.start();
  ref = { name: 'n0', ordinal: 0, mysql: { host: '127.0.0.1', port: mysqlPort }, apiAddress: `127.0.0.1:${apiPort}`, agentUrl: 'http://127.0.0.1:1' };
});

after(async () => {
  await pools.closeAll();
  await node.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the pools count statements that may change something, not reads', async () => {
  const c = pools.get(`${ref.mysql.host}:${ref.mysql.port}`);
  const start = pools.mutations();
  await c.query('SHOW TABLES');
  await c.query('select 1');
  await c.query('  DESCRIBE nope').catch(() => undefined);
  assert.equal(pools.mutations(), start, 'reads do not count');
  await c.exec('CREATE TABLE facts_a (title text)');
  assert.equal(pools.mutations(), start + 2, 'counted when sent and when done');
  await c.exec('CREATE TABLE facts_a (title text)').catch(() => undefined);
  assert.equal(pools.mutations(), start + 4, 'a failed statement counts too');
});

test('given node-wide facts, an observation uses them and still reads the table it was asked about', async () => {
  const c = pools.get(`${ref.mysql.host}:${ref.mysql.port}`);
  await c.exec('CREATE TABLE facts_b (title text)');
  await c.exec("INSERT INTO facts_b (id, title) VALUES (1, 'x'), (2, 'y')");
  const fresh = await observeNode(ref, { pools, countTables: ['facts_b'], describeTables: ['facts_b'] });
  assert.ok(fresh.searchd.ok);
  assert.ok(fresh.searchd.value.tables.some((t) => t.name === 'facts_b'));
  assert.equal(fresh.searchd.value.rows['facts_b'], 2);

  // facts that say otherwise win for the node-wide part (a table only they list is counted; one they
  // do not list is not): proof that SHOW TABLES was not read again
  const facts: NodeWideFacts = { buddy: false, clusters: [], tables: [{ name: 'facts_a', type: 'rt' }], frozen: ['facts_a'], version: '0.0.0 test' };
  const seen: string[] = [];
  const given = await observeNode(ref, {
    pools,
    countTables: ['facts_a', 'facts_b'],
    describeTables: ['facts_a'],
    nodeFacts: (address) => {
      seen.push(address);
      return facts;
    },
  });
  assert.deepEqual(seen, [`${ref.mysql.host}:${ref.mysql.port}`]);
  assert.ok(given.searchd.ok);
  const v = given.searchd.value;
  assert.deepEqual(v.tables, facts.tables);
  assert.deepEqual(v.frozen, ['facts_a']);
  assert.equal(v.version, '0.0.0 test');
  assert.deepEqual(v.rows, { facts_a: 0 }, 'facts_a counted over SQL; facts_b not listed by the facts, so not counted');
  assert.deepEqual(v.columns?.['facts_a']?.map((col) => col.name), ['id', 'title']);
});

test('kept lists stand in for SHOW TABLES and SHOW LOCKS; what is not kept is read, after the cluster status', async () => {
  const c = pools.get(`${ref.mysql.host}:${ref.mysql.port}`);
  await c.exec('CREATE TABLE facts_c (title text)');
  await c.exec('FREEZE facts_c');
  try {
    const keptFrozen = ['not_really_frozen'];
    const keptTables = [{ name: 'facts_kept', type: 'rt' }];
    const asked: number[] = [];
    const both = await observeNode(ref, {
      pools,
      knownLists: (_address, clusters) => {
        asked.push(clusters.length);
        return { tables: keptTables, frozen: keptFrozen };
      },
    });
    assert.ok(both.searchd.ok);
    assert.equal(both.searchd.value.tables, keptTables, 'the kept table list, not SHOW TABLES');
    assert.equal(both.searchd.value.frozen, keptFrozen, 'the kept frozen list (the same array), not SHOW LOCKS');
    assert.deepEqual(asked, [0], 'asked once, with the clusters just read');

    const tablesOnly = await observeNode(ref, { pools, knownLists: () => ({ tables: keptTables }) });
    assert.ok(tablesOnly.searchd.ok);
    assert.equal(tablesOnly.searchd.value.tables, keptTables);
    assert.deepEqual(tablesOnly.searchd.value.frozen, ['facts_c'], 'SHOW LOCKS read: the real freeze');

    const none = await observeNode(ref, { pools, knownLists: () => undefined });
    assert.ok(none.searchd.ok);
    assert.ok(none.searchd.value.tables.some((t) => t.name === 'facts_c'), 'SHOW TABLES read');
    assert.deepEqual(none.searchd.value.frozen, ['facts_c']);
  } finally {
    await c.exec('UNFREEZE facts_c');
  }
});
