/**
 * A SimNode in-process on free loopback ports: /sql (raw and search JSON), /metrics, the /sim/*
 * fault endpoints (pause holds mysql and http until /sim/resume), and the mysql41 listener.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { SimNode } from '../../../../src/sim/node.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function post(port: number, p: string, body: string, contentType = 'application/x-www-form-urlencoded'): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method: 'POST', body, headers: { 'Content-Type': contentType } });
  return { status: res.status, text: await res.text() };
}

describe('SimNode http and mysql listeners', () => {
  let node: SimNode;
  let httpPort: number;
  let mysqlPort: number;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-http-'));
    httpPort = await freePort();
    mysqlPort = await freePort();
    const apiPort = await freePort();
    node = new SimNode({
      dataDir: path.join(dir, 'data'),
      mysql: { host: '127.0.0.1', port: mysqlPort },
      http: { host: '127.0.0.1', port: httpPort },
      api: { host: '127.0.0.1', port: apiPort },
      serverId: 1,
    });
    await node.start();
  });

  after(async () => {
    await node.stop();
  });

  test('POST /sql?mode=raw runs any statement; plain /sql returns search JSON; ids stay exact', async () => {
    const create = await post(httpPort, '/sql?mode=raw', 'query=' + encodeURIComponent('CREATE TABLE h (title text, n int)'));
    assert.equal(create.status, 200);
    assert.deepEqual(JSON.parse(create.text), [{ total: 0, error: '', warning: '' }]);
    await post(httpPort, '/sql?mode=raw', 'query=' + encodeURIComponent("INSERT INTO h (id, title, n) VALUES (18446744073709551615, 'big', 1), (2, 'small', 2)"));
    const sel = await post(httpPort, '/sql?mode=raw', 'query=' + encodeURIComponent('SELECT id, n FROM h ORDER BY n ASC'));
    assert.equal(
      sel.text,
      '[{"columns":[{"id":{"type":"long long"}},{"n":{"type":"long"}}],"data":[{"id":18446744073709551615,"n":1},{"id":2,"n":2}],"total":2,"error":"","warning":""}]',
    );
    const search = await post(httpPort, '/sql', 'query=' + encodeURIComponent("SELECT * FROM h WHERE MATCH('small')"));
    const parsed = JSON.parse(search.text) as { hits: { total: number; hits: { _id: number; _source: Record<string, unknown> }[] } };
    assert.equal(parsed.hits.total, 1);
    assert.deepEqual(parsed.hits.hits[0]?._source, { title: 'small', n: 2 });
    const bad = await post(httpPort, '/sql?mode=raw', 'query=' + encodeURIComponent('SELECT * FROM nope'));
    assert.equal(bad.status, 500);
    assert.deepEqual(JSON.parse(bad.text), [{ total: 0, error: "unknown local table(s) 'nope' in search request", warning: '' }]);
  });

  test('/cli prints a table (Buddy endpoint)', async () => {
    const res = await post(httpPort, '/cli', 'SHOW TABLES', 'text/plain');
    assert.equal(res.status, 200);
    assert.equal(res.text, '+-------+------+\n| Table | Type |\n+-------+------+\n| h     | rt   |\n+-------+------+\n1 row in set\n');
  });

  test('GET /metrics has Prometheus text with real metric names', async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.match(text, /^# TYPE manticore_uptime_seconds counter$/m);
    assert.match(text, /^manticore_uptime_seconds \d+$/m);
    assert.match(text, /^manticore_indexed_documents_count\{table="h"\} 2$/m);
  });

  test('pause holds mysql queries until /sim/resume; partition is reported in /sim/state', async () => {
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: mysqlPort });
    try {
      const [rows] = await conn.query('SELECT count(*) AS c FROM h');
      assert.deepEqual(rows, [{ c: 2 }]);
      assert.equal((await post(httpPort, '/sim/pause', '', 'application/json')).status, 200);
      let answered = false;
      const pending = conn.query('SELECT count(*) AS c FROM h').then((r) => {
        answered = true;
        return r[0];
      });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(answered, false, 'a paused node does not answer');
      let httpAnswered = false;
      const httpPending = post(httpPort, '/sql?mode=raw', 'query=' + encodeURIComponent('SELECT count(*) FROM h')).then((r) => {
        httpAnswered = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(httpAnswered, false, 'http is held too');
      assert.equal((await post(httpPort, '/sim/resume', '', 'application/json')).status, 200);
      assert.deepEqual(await pending, [{ c: 2 }]);
      assert.match((await httpPending).text, /"data":\[\{"count\(\*\)":2\}\]/);

      await post(httpPort, '/sim/partition', JSON.stringify({ peers: ['127.0.0.1:1', '127.0.0.1:2'] }), 'application/json');
      await post(httpPort, '/sim/sst-delay', JSON.stringify({ ms: 250 }), 'application/json');
      const state = (await (await fetch(`http://127.0.0.1:${httpPort}/sim/state`)).json()) as { faults: { blocked: string[]; paused: boolean; sstDelayMs: number } };
      assert.deepEqual(state.faults, { paused: false, blocked: ['127.0.0.1:1', '127.0.0.1:2'], sstDelayMs: 250, diskFull: false });
      await post(httpPort, '/sim/heal', JSON.stringify({ peers: ['127.0.0.1:1'] }), 'application/json');
      assert.deepEqual(node.faults.blockedPeers(), ['127.0.0.1:2']);
      await post(httpPort, '/sim/heal', '', 'application/json');
      assert.deepEqual(node.faults.blockedPeers(), []);
      assert.equal((await post(httpPort, '/sim/partition', '{}', 'application/json')).status, 400);
    } finally {
      await conn.end();
    }
  });

  test('mysql41: errors carry Manticore text and errno 1064; SET and ping work', async () => {
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: mysqlPort });
    try {
      await conn.query('SET NAMES utf8mb4');
      await conn.ping();
      await assert.rejects(conn.query('SELECT * FROM h ORDER BY id'), (err: Error & { errno?: number; sqlState?: string }) => {
        assert.equal(err.message, 'no sort order defined');
        assert.equal(err.errno, 1064);
        assert.equal(err.sqlState, '42000');
        return true;
      });
      const [rows] = await conn.query("SHOW STATUS LIKE 'version'");
      assert.deepEqual(rows, [{ Counter: 'version', Value: '15.1.0 60a44d1f0@25120503' }]);
    } finally {
      await conn.end();
    }
  });
});
