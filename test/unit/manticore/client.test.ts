/**
 * ManticoreClient against a tiny in-test MySQL-protocol server (mysql2's server API) that answers the
 * way searchd does: text result sets, OK packets, and `ERROR 1064 (42000)` with Manticore's texts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mysql from 'mysql2';
import {
  ManticoreClient,
  ManticoreError,
  ManticorePools,
  toManticoreError,
} from '../../../src/manticore/client.js';
import { ValidationError } from '../../../src/lib/errors.js';
import * as sql from '../../../src/manticore/sql.js';
import { parseClusterStatuses, parseShowTables } from '../../../src/manticore/parse.js';

const TYPE_LONGLONG = 8;
const TYPE_VAR_STRING = 253;

interface ServerConn {
  serverHandshake(args: Record<string, unknown>): void;
  on(event: 'query', listener: (sql: string) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  writeColumns(columns: Record<string, unknown>[]): void;
  writeTextRow(values: (string | number | null)[]): void;
  writeEof(): void;
  writeOk(args?: { affectedRows?: number }): void;
  writeError(args: { message: string; code: number }): void;
  stream: net.Socket;
  sequenceId: number;
}

function column(name: string, type = TYPE_VAR_STRING): Record<string, unknown> {
  return {
    catalog: 'def',
    schema: '',
    table: '',
    orgTable: '',
    name,
    orgName: name,
    characterSet: 33,
    columnLength: 255,
    columnType: type,
    flags: 0,
    decimals: 0,
  };
}

function rows(conn: ServerConn, names: string[], values: (string | number | null)[][], types?: number[]): void {
  conn.writeColumns(names.map((n, i) => column(n, types?.[i])));
  for (const v of values) conn.writeTextRow(v);
  conn.writeEof();
  conn.sequenceId = 0;
}

/**
 * mysql2's server keeps counting packet sequence ids across commands; a real server restarts at 0 for
 * each command. Reset after every complete response so the client sees a well-formed exchange.
 */
function resetSequenceAfterResponses(conn: ServerConn): void {
  const ok = conn.writeOk.bind(conn);
  const error = conn.writeError.bind(conn);
  conn.writeOk = (args) => {
    ok(args);
    conn.sequenceId = 0;
  };
  conn.writeError = (args) => {
    error(args);
    conn.sequenceId = 0;
  };
}

/** Every statement the fake searchd received, in order. */
const received: string[] = [];
let port = 0;
let server: { close(cb: () => void): void; listen(port: number, host: string, cb: () => void): void; _server?: net.Server };
const sockets = new Set<net.Socket>();

function answer(conn: ServerConn, q: string): void {
  received.push(q);
  if (q === 'SHOW TABLES') {
    rows(conn, ['Table', 'Type'], [
      ['products', 'distributed'],
      ['products_delta', 'rt'],
    ]);
  } else if (q === "SHOW STATUS LIKE 'cluster%'") {
    rows(conn, ['Counter', 'Value'], [
      ['cluster_name', 'c'],
      ['cluster_c_status', 'primary'],
      ['cluster_c_node_state', 'synced'],
      ['cluster_c_nodes_set', '127.0.0.1:19412,127.0.0.1:19422'],
    ]);
  } else if (q.startsWith('SELECT COUNT(*)')) {
    rows(conn, ['count(*)'], [[18446744073709551615n.toString()]], [TYPE_LONGLONG]);
  } else if (q.startsWith('INSERT INTO `products_delta`')) {
    conn.writeError({ message: "table 'products_delta' is a part of cluster 'c', use 'c:products_delta'", code: 1064 });
  } else if (q.startsWith('INSERT INTO c:products_delta')) {
    conn.writeOk({ affectedRows: 2 });
  } else if (q === 'DIE') {
    // the server goes away in the middle of a statement
    conn.stream.destroy();
  } else if (q === 'SLEEP') {
    // never answers: the client's query timeout must fire
  } else {
    conn.writeError({ message: `P01: syntax error, unexpected identifier near '${q}'`, code: 1064 });
  }
}

before(async () => {
  const s = mysql.createServer((raw) => {
    const conn = raw as unknown as ServerConn;
    sockets.add(conn.stream);
    conn.stream.on('close', () => sockets.delete(conn.stream));
    conn.on('error', () => undefined);
    resetSequenceAfterResponses(conn);
    conn.serverHandshake({
      protocolVersion: 10,
      serverVersion: '15.1.0 60a44d1f0@25120503',
      connectionId: 1,
      statusFlags: 2,
      characterSet: 33,
      capabilityFlags: 0xffffff,
    });
    conn.on('query', (q) => answer(conn, q));
  }) as unknown as typeof server;
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const addr = s._server?.address();
  assert.ok(addr && typeof addr === 'object');
  port = addr.port;
});

after(async () => {
  for (const sock of sockets) sock.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  assert.ok(addr && typeof addr === 'object');
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return addr.port;
}

describe('ManticoreClient', () => {
  test('query returns rows keyed by column, sent as the exact statement', async () => {
    const client = new ManticoreClient(`127.0.0.1:${port}`);
    try {
      const tables = parseShowTables(await client.query(sql.showTables()));
      assert.deepEqual(tables, [
        { name: 'products', type: 'distributed' },
        { name: 'products_delta', type: 'rt' },
      ]);
      const clusters = parseClusterStatuses(await client.query(sql.showAllClusterStatus()));
      assert.equal(clusters.length, 1);
      assert.equal(clusters[0]?.status, 'primary');
      assert.deepEqual(clusters[0]?.nodesSet, ['127.0.0.1:19412', '127.0.0.1:19422']);
      assert.ok(received.includes("SHOW STATUS LIKE 'cluster%'"));
    } finally {
      await client.close();
    }
  });

  test('64-bit integers come back as exact decimal strings', async () => {
    const client = new ManticoreClient(`127.0.0.1:${port}`);
    try {
      const r = await client.query(sql.selectCount('products_delta'));
      assert.deepEqual(r, [{ 'count(*)': '18446744073709551615' }]);
    } finally {
      await client.close();
    }
  });

  test('exec returns affected rows', async () => {
    const client = new ManticoreClient(`127.0.0.1:${port}`);
    try {
      const n = await client.exec(sql.insert('products_delta', ['id', 'title'], [[1, 'a'], [2, 'b']], { cluster: 'c' }));
      assert.equal(n, 2);
      assert.ok(received.includes("INSERT INTO c:products_delta (`id`, `title`) VALUES (1, 'a'), (2, 'b')"));
    } finally {
      await client.close();
    }
  });

  test("an SQL error carries the node, Manticore's message, errno and the statement; not retryable", async () => {
    const client = new ManticoreClient(`127.0.0.1:${port}`);
    const stmt = sql.insert('products_delta', ['id'], [[1]]);
    try {
      await assert.rejects(client.exec(stmt), (err: unknown) => {
        assert.ok(err instanceof ManticoreError);
        assert.equal(err.kind, 'sql');
        assert.equal(err.node, `127.0.0.1:${port}`);
        assert.equal(err.manticoreMessage, "table 'products_delta' is a part of cluster 'c', use 'c:products_delta'");
        assert.equal(err.errno, 1064);
        assert.equal(err.sql, stmt);
        assert.equal(err.retryable, false);
        assert.equal(err.code, 'MANTICORE_SQL_ERROR');
        assert.equal(err.message, `127.0.0.1:${port}: table 'products_delta' is a part of cluster 'c', use 'c:products_delta'`);
        return true;
      });
      // the connection is still usable after an SQL error
      assert.equal((await client.query(sql.showTables())).length, 2);
    } finally {
      await client.close();
    }
  });

  test('a query that gets no answer times out with kind timeout, and the client recovers', async () => {
    const client = new ManticoreClient(`127.0.0.1:${port}`, { queryTimeoutMs: 150, connectionLimit: 1 });
    try {
      const started = Date.now();
      await assert.rejects(client.query('SLEEP'), (err: unknown) => {
        assert.ok(err instanceof ManticoreError);
        assert.equal(err.kind, 'timeout');
        assert.equal(err.retryable, true);
        assert.equal(err.node, `127.0.0.1:${port}`);
        assert.equal(err.sql, 'SLEEP');
        return true;
      });
      assert.ok(Date.now() - started < 5_000);
      // the timed-out connection was discarded: the next query gets a fresh one and its own answer
      assert.deepEqual(parseShowTables(await client.query(sql.showTables())).map((t) => t.name), ['products', 'products_delta']);
    } finally {
      await client.close();
    }
  });

  test('a per-call timeout overrides the default', async () => {
    const client = new ManticoreClient(`127.0.0.1:${port}`, { queryTimeoutMs: 60_000 });
    try {
      await assert.rejects(client.query('SLEEP', { timeoutMs: 100 }), (err: unknown) => err instanceof ManticoreError && err.kind === 'timeout');
    } finally {
      await client.close();
    }
  });

  test('connecting to a closed port gives kind connect, retryable', async () => {
    const closed = await freePort();
    const client = new ManticoreClient(`127.0.0.1:${closed}`, { connectTimeoutMs: 1_000 });
    try {
      await assert.rejects(client.query(sql.showTables()), (err: unknown) => {
        assert.ok(err instanceof ManticoreError);
        assert.equal(err.kind, 'connect');
        assert.equal(err.retryable, true);
        assert.equal(err.node, `127.0.0.1:${closed}`);
        assert.match(err.manticoreMessage, /ECONNREFUSED/);
        assert.equal(err.code, 'MANTICORE_UNREACHABLE');
        return true;
      });
    } finally {
      await client.close();
    }
  });

  test('a node that accepts TCP but never greets (paused searchd) gives kind connect after connectTimeout', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((sock) => held.push(sock));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const addr = silent.address();
    assert.ok(addr && typeof addr === 'object');
    const client = new ManticoreClient(`127.0.0.1:${addr.port}`, { connectTimeoutMs: 150 });
    try {
      await assert.rejects(client.query(sql.showTables()), (err: unknown) => {
        assert.ok(err instanceof ManticoreError);
        assert.equal(err.kind, 'connect');
        assert.equal(err.retryable, true);
        assert.equal(err.manticoreMessage, 'connect timed out');
        return true;
      });
    } finally {
      await client.close();
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('a connection lost mid-statement gives kind connect, and the next query reconnects', async () => {
    const client = new ManticoreClient(`127.0.0.1:${port}`, { connectionLimit: 1 });
    try {
      await assert.rejects(client.exec('DIE'), (err: unknown) => {
        assert.ok(err instanceof ManticoreError);
        assert.equal(err.kind, 'connect');
        assert.equal(err.retryable, true);
        assert.equal(err.sql, 'DIE');
        return true;
      });
      assert.equal((await client.query(sql.showTables())).length, 2);
    } finally {
      await client.close();
    }
  });

  test('a connection lost under a long statement leaves no timer behind (nothing keeps the process alive)', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const client = new ManticoreClient(`127.0.0.1:${port}`, { connectionLimit: 1, queryTimeoutMs: 30 * 60_000 });
    try {
      await client.query(sql.showTables()); // warm the pool first so only the statement's own timer is counted
      const before = timers();
      await assert.rejects(client.exec('DIE'), (err: unknown) => err instanceof ManticoreError && err.kind === 'connect');
      assert.equal(timers(), before, 'the 30-minute query timer was cleared when the connection died');
    } finally {
      await client.close();
    }
  });

  test('idle pooled connections dropped by the server are replaced on the next query', async () => {
    const client = new ManticoreClient(`127.0.0.1:${port}`, { connectionLimit: 2 });
    try {
      await Promise.all([client.query(sql.showTables()), client.query(sql.showTables())]);
      for (const sock of sockets) sock.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await client.query(sql.showTables())).length, 2);
    } finally {
      await client.close();
    }
  });

  test('a closed client refuses queries', async () => {
    const client = new ManticoreClient(`127.0.0.1:${port}`);
    await client.close();
    await assert.rejects(client.query(sql.showTables()), (err: unknown) => err instanceof ManticoreError && err.kind === 'connect');
  });

  test('the node address is validated', () => {
    assert.throws(() => new ManticoreClient('not an address'), ValidationError);
  });

  test('long statements are truncated in errors', () => {
    const long = `SELECT '${'x'.repeat(1000)}'`;
    const e = toManticoreError({ sqlMessage: 'boom', errno: 1064 }, 'n1:9306', long);
    assert.ok(e.sql.length < 400);
    assert.match(e.sql, /\(1009 chars\)$/);
  });
});

describe('ManticorePools', () => {
  test('one client per node address, created lazily and closed together', async () => {
    const pools = new ManticorePools({ queryTimeoutMs: 1_000 });
    const a = pools.get(`127.0.0.1:${port}`);
    const b = pools.get(`127.0.0.1:${port}`);
    assert.equal(a, b);
    assert.deepEqual(pools.nodes(), [`127.0.0.1:${port}`]);
    assert.equal((await a.query(sql.showTables())).length, 2);
    await pools.closeAll();
    assert.deepEqual(pools.nodes(), []);
    await assert.rejects(a.query(sql.showTables()), (err: unknown) => err instanceof ManticoreError && err.kind === 'connect');
    // a new client is created after closeAll
    const c = pools.get(`127.0.0.1:${port}`);
    assert.notEqual(c, a);
    await pools.closeAll();
  });

  test('get validates the address', () => {
    const pools = new ManticorePools();
    assert.throws(() => pools.get('h;x:9306'), ValidationError);
  });
});
