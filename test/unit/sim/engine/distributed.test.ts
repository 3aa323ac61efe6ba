import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AgentPool, parseAgent } from '../../../../src/sim/engine/distributed.js';
import { Engine } from '../../../../src/sim/engine/engine.js';
import { Executor, newSession } from '../../../../src/sim/engine/executor.js';
import { FaultState } from '../../../../src/sim/net/faults.js';
import { PeerTransport } from '../../../../src/sim/net/peer.js';
import { parseSql } from '../../../../src/sim/sql/parser.js';

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

describe('agent lines', () => {
  test('mirrors share the table named by the last one; host:port:table each', () => {
    assert.deepEqual(parseAgent('n1:9312|n2:9312|n3:9312:t'), [
      { addr: 'n1:9312', table: 't' },
      { addr: 'n2:9312', table: 't' },
      { addr: 'n3:9312', table: 't' },
    ]);
    assert.deepEqual(parseAgent('n1:9312:a|n2:9313:b'), [
      { addr: 'n1:9312', table: 'a' },
      { addr: 'n2:9313', table: 'b' },
    ]);
    assert.deepEqual(parseAgent('n1:9312:t_main_a,t_delta'), [{ addr: 'n1:9312', table: 't_main_a,t_delta' }]);
  });

  test('nodeads puts a mirror with more than 3 failures in a row last; roundrobin rotates', async () => {
    const faults = new FaultState();
    const transport = new PeerTransport('127.0.0.1:1', faults);
    const pool = new AgentPool(transport, 200);
    const dead = { addr: `127.0.0.1:${await freePort()}`, table: 't' };
    const alive = { addr: '127.0.0.1:2', table: 't' };
    for (let i = 0; i < 4; i++) await pool.query('k', [dead], 'nodeads', 0, undefined);
    for (let i = 0; i < 10; i++) assert.deepEqual(pool.order('k', [dead, alive], 'nodeads')[0], alive);
    const a = pool.order('rr', [dead, alive], 'roundrobin');
    const b = pool.order('rr', [dead, alive], 'roundrobin');
    assert.notDeepEqual(a[0], b[0]);
  });
});

describe('distributed SELECT across two executors', () => {
  test('locals + agent rows are merged, ordered and limited by the coordinator; agent errors become warnings', async () => {
    const remotePort = await freePort();
    const remoteFaults = new FaultState();
    const remoteTransport = new PeerTransport(`127.0.0.1:${remotePort}`, remoteFaults);
    const remoteEngine = new Engine({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'sim-dist-')) });
    remoteEngine.loadRtMode();
    const remote = new Executor({ engine: remoteEngine, transport: remoteTransport });
    remote.registerHandlers(remoteTransport);
    await remoteTransport.listen('127.0.0.1', remotePort);
    try {
      const s = newSession(1);
      for (const sql of [
        'CREATE TABLE t_main_a (title text, n int)',
        'CREATE TABLE t_delta (title text, n int)',
        "INSERT INTO t_main_a (id, title, n) VALUES (1, 'one', 1), (3, 'three', 3)",
        "INSERT INTO t_delta (id, title, n) VALUES (5, 'five', 5)",
      ])
        await remote.execute(parseSql(sql), s);

      const localFaults = new FaultState();
      const localTransport = new PeerTransport('127.0.0.1:1', localFaults);
      const engine = new Engine({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'sim-dist-')) });
      engine.loadRtMode();
      const coord = new Executor({ engine, transport: localTransport });
      const c = newSession(2);
      await coord.execute(parseSql('CREATE TABLE t_main_a (title text, n int)'), c);
      await coord.execute(parseSql("INSERT INTO t_main_a (id, title, n) VALUES (2, 'two', 2), (4, 'four', 4)"), c);
      const deadPort = await freePort();
      await coord.execute(
        parseSql(`CREATE TABLE t type='distributed' local='t_main_a' agent='127.0.0.1:${remotePort}:t_main_a,t_delta' agent='127.0.0.1:${deadPort}:x'`),
        c,
      );
      const r = await coord.execute(parseSql('SELECT id, n FROM t WHERE n > 1 ORDER BY n DESC LIMIT 3'), c);
      assert.deepEqual(r.kind === 'rows' ? r.rows : [], [
        ['5', 5],
        ['4', 4],
        ['3', 3],
      ]);
      const count = await coord.execute(parseSql('SELECT count(*) FROM t'), c);
      assert.deepEqual(count.kind === 'rows' ? count.rows : [], [[5]]);
      const warnings = await coord.execute(parseSql('SHOW WARNINGS'), c);
      assert.equal(warnings.kind === 'rows' ? warnings.rows.length : 0, 1);
      assert.match(String(warnings.kind === 'rows' ? warnings.rows[0]?.[2] : ''), new RegExp(`agent 127\\.0\\.0\\.1:${deadPort}`));
    } finally {
      await remoteTransport.close();
    }
  });
});
