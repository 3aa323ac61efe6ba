/**
 * The REST API on a real HTTP server (listen(0)) over an in-memory status and two real simulator
 * nodes: auth, every route's shape, the query console against real searchd, SSE.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../../src/sim/launcher.js';
import type { ApiFixture } from './fixture.js';
import { nodeView, startApiFixture } from './fixture.js';

let fx: ApiFixture;

before(async () => {
  fx = await startApiFixture({ sseHeartbeatMs: 200 });
});
after(async () => {
  await fx?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field against literals
async function call(method: string, path: string, body?: unknown, token: string | null = fx.token): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${fx.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

describe('auth', () => {
  test('GET /api/status needs no token', async () => {
    const r = await call('GET', '/api/status', undefined, null);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok', ready: true });
  });

  test('missing, malformed and wrong tokens are 401 in the envelope with the original messages', async () => {
    const missing = await call('GET', '/api/nodes', undefined, null);
    assert.equal(missing.status, 401);
    assert.deepEqual(missing.json, { error: { code: 'UNAUTHORIZED', message: 'missing Authorization header' } });

    const res = await fetch(`${fx.url}/api/nodes`, { headers: { authorization: `Token ${fx.token}` } });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: { code: 'UNAUTHORIZED', message: 'invalid Authorization header format' } });

    const wrong = await call('GET', '/api/nodes', undefined, 'not-the-token');
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.json, { error: { code: 'UNAUTHORIZED', message: 'invalid token' } });

    const prefix = await call('GET', '/api/nodes', undefined, fx.token.slice(0, -1));
    assert.equal(prefix.status, 401);

    // the scheme is case-insensitive, as in the original
    const lower = await fetch(`${fx.url}/api/nodes`, { headers: { authorization: `bearer ${fx.token}` } });
    assert.equal(lower.status, 200);
  });

  test('the right token opens every route; unknown routes and wrong methods answer in the envelope', async () => {
    assert.equal((await call('GET', '/api/nodes')).status, 200);
    const unknown = await call('GET', '/api/nope');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'NOT_FOUND');
    const method = await call('DELETE', '/api/nodes');
    assert.equal(method.status, 405);
    assert.equal(method.json.error.code, 'METHOD_NOT_ALLOWED');
  });
});

describe('original shapes', () => {
  test('/api/health: ok while every node answers, 500 with the original error when one does not', async () => {
    const ok = await call('GET', '/api/health');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { status: 'ok', message: 'health check completed' });

    const saved = fx.status.clusterView.nodes;
    fx.status.clusterView = { ...fx.status.clusterView, nodes: [nodeView(fx.refs[0]!), nodeView(fx.refs[1]!, { reachable: false, error: 'connect ECONNREFUSED' })] };
    try {
      const bad = await call('GET', '/api/health');
      assert.equal(bad.status, 500);
      assert.deepEqual(bad.json, { error: 'one or more replicas are unhealthy' });
    } finally {
      fx.status.clusterView = { ...fx.status.clusterView, nodes: saved };
    }
  });

  test('/api/cluster: status and one replica per node', async () => {
    const r = await call('GET', '/api/cluster');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      status: 'healthy',
      replicas: fx.refs.map((n) => ({ index: n.ordinal, endpoint: n.agentUrl, status: 'online', clusterStatus: 'primary', nodeState: 'synced', error: null })),
    });

    const saved = fx.status.clusterView.nodes;
    fx.status.clusterView = { ...fx.status.clusterView, nodes: [nodeView(fx.refs[0]!), nodeView(fx.refs[1]!, { reachable: false })] };
    try {
      const degraded = await call('GET', '/api/cluster');
      assert.equal(degraded.json.status, 'degraded');
      assert.deepEqual(degraded.json.replicas[1], {
        index: 1,
        endpoint: fx.refs[1]!.agentUrl,
        status: 'offline',
        clusterStatus: null,
        nodeState: null,
        error: 'replica is offline',
      });
    } finally {
      fx.status.clusterView = { ...fx.status.clusterView, nodes: saved };
    }
  });

  test('/api/cluster?view=full is ours, in the envelope', async () => {
    const r = await call('GET', '/api/cluster?view=full');
    assert.equal(r.status, 200);
    assert.equal(r.json.data.name, 'main');
    assert.equal(r.json.data.phase, 'Ready');
    assert.equal(r.json.data.nodes.length, 2);
    assert.equal(r.json.data.nodes[0].mysql, `127.0.0.1:${fx.searchd[0]!.ports.mysql}`);
    assert.equal(r.json.data.conditions[0].type, 'ClusterFormed');
    assert.deepEqual(r.json.data.specProblems, []);
    assert.equal((await call('GET', '/api/cluster?view=bogus')).json.error.field, 'view');
  });

  test('/api/cluster/discover: one group, no split brain; two UUIDs are a split brain', async () => {
    const r = await call('GET', '/api/cluster/discover');
    assert.deepEqual(r.json, {
      cluster: { uuid: 'uuid-1', sourceAddr: fx.refs[0]!.apiAddress, sourceIdx: 0, nodeCount: 2 },
      splitBrain: false,
      groups: [{ uuid: 'uuid-1', replicas: [0, 1], nodeCount: 2 }],
    });
    const saved = fx.status.clusterView.nodes;
    fx.status.clusterView = { ...fx.status.clusterView, nodes: [nodeView(fx.refs[0]!), nodeView(fx.refs[1]!, { clusterUuid: 'uuid-2' })] };
    try {
      const split = await call('GET', '/api/cluster/discover');
      assert.equal(split.json.splitBrain, true);
      assert.equal(split.json.groups.length, 2);
    } finally {
      fx.status.clusterView = { ...fx.status.clusterView, nodes: saved };
    }
  });

  test('/api/tables/status: tableSlots and per-replica presence', async () => {
    const r = await call('GET', '/api/tables/status');
    assert.equal(r.status, 200);
    const replica = (index: number) => ({
      index,
      online: true,
      mainTable: { present: true, inCluster: false },
      deltaTable: { present: true, inCluster: true },
      distributedTable: { present: true, inCluster: false },
    });
    assert.deepEqual(r.json, {
      tableSlots: { items: 'a' },
      tables: [{ name: 'items', csvPath: '/data/items.csv', clusterMain: false, replicas: [replica(0), replica(1)] }],
    });
  });
});

describe('our views', () => {
  test('/api/nodes merges the platform list with the observed state', async () => {
    const r = await call('GET', '/api/nodes');
    assert.equal(r.json.data.length, 2);
    assert.equal(r.json.data[1].name, 'node1');
    assert.equal(r.json.data[1].ready, true);
    assert.equal(r.json.data[1].observed, true);
    assert.equal(r.json.data[1].agentUrl, fx.refs[1]!.agentUrl);
  });

  test('/api/tables and /api/tables/:name', async () => {
    const list = await call('GET', '/api/tables');
    assert.deepEqual(
      list.json.data.map((t: { name: string }) => t.name),
      ['items'],
    );
    const one = await call('GET', '/api/tables/items');
    assert.equal(one.json.data.activeSlot, 'a');
    assert.equal(one.json.data.nodes.length, 2);
    assert.equal(one.json.data.conditions[0].type, 'TablesConverged');
    const missing = await call('GET', '/api/tables/other');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'NOT_FOUND');
    const bad = await call('GET', '/api/tables/Bad-Name');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.field, 'name');
  });

  test('/api/operations and /api/operations/:id', async () => {
    const list = await call('GET', '/api/operations');
    assert.equal(list.json.data[0].id, 'op-1');
    assert.deepEqual((await call('GET', '/api/operations?state=failed')).json.data, []);
    assert.equal((await call('GET', '/api/operations?state=weird')).status, 400);
    const one = await call('GET', '/api/operations/op-1');
    assert.equal(one.json.data.outcome, 'cluster formed on node0');
    assert.equal((await call('GET', '/api/operations/none')).status, 404);
  });

  test('/api/conditions lists every scope', async () => {
    const r = await call('GET', '/api/conditions');
    assert.deepEqual(
      r.json.data.map((c: { scope: string; type: string }) => `${c.scope}:${c.type}`),
      ['cluster:ClusterFormed', 'table/items:TablesConverged'],
    );
  });
});

describe('POST /api/cluster/bootstrap', () => {
  test('validates node and force, then records an audited request (202) and conflicts on a second one (409)', async () => {
    const noForce = await call('POST', '/api/cluster/bootstrap', { node: 'node1' });
    assert.equal(noForce.status, 400);
    assert.equal(noForce.json.error.field, 'force');
    const unknown = await call('POST', '/api/cluster/bootstrap', { node: 'node9', force: true });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.error.field, 'node');
    assert.equal(fx.status.bootstrapRequests.length, 0);

    const res = await fetch(`${fx.url}/api/cluster/bootstrap`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fx.token}`, 'content-type': 'application/json', 'x-requested-by': 'alice' },
      body: JSON.stringify({ node: 1, force: true }),
    });
    assert.equal(res.status, 202);
    const body = (await res.json()) as { data: { kind: string; state: string } };
    assert.equal(body.data.kind, 'forced-bootstrap');
    assert.equal(fx.status.bootstrapRequests.length, 1);
    assert.equal(fx.status.bootstrapRequests[0]!.node, 'node1');
    assert.match(fx.status.bootstrapRequests[0]!.requestedBy, /^alice from /);

    const again = await call('POST', '/api/cluster/bootstrap', { node: 'node1', force: true });
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'CONFLICT');
    fx.status.ops = fx.status.ops.filter((o) => o.kind !== 'forced-bootstrap');
  });

  test('invalid JSON is a 400 naming the body', async () => {
    const r = await call('POST', '/api/cluster/bootstrap', '{"node":');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'VALIDATION_FAILED');
  });
});

describe('POST /api/query', () => {
  test('one node by name or index, with the row cap', async () => {
    const r = await call('POST', '/api/query', { sql: 'SELECT id, title FROM items ORDER BY id ASC', node: 'node1' });
    assert.equal(r.status, 200);
    const d = r.json.data;
    assert.equal(d.status, 'ok');
    assert.equal(d.mode, 'node');
    assert.equal(d.results.length, 1);
    assert.equal(d.results[0].node, 'node1');
    assert.deepEqual(d.results[0].columns, ['id', 'title']);
    assert.deepEqual(d.results[0].rows, [
      { id: '1', title: 'item 1-1' },
      { id: '2', title: 'item 1-2' },
    ]);
    assert.equal(d.results[0].truncated, false);

    const byIndex = await call('POST', '/api/query', { sql: 'SELECT COUNT(*) AS n FROM items', node: 0 });
    assert.deepEqual(byIndex.json.data.results[0].rows, [{ n: '1' }]);
  });

  test('rows beyond the cap are dropped and flagged', async () => {
    await fx.searchd[0]!.sql("INSERT INTO items (id, title, price) VALUES (10, 'x', 1), (11, 'y', 2)");
    try {
      const r = await call('POST', '/api/query', { sql: 'SELECT id FROM items', node: 'node0' });
      assert.equal(r.json.data.results[0].rowCount, 2);
      assert.equal(r.json.data.results[0].totalRows, 3);
      assert.equal(r.json.data.results[0].truncated, true);
    } finally {
      await fx.searchd[0]!.sql('DELETE FROM items WHERE id IN (10, 11)');
    }
  });

  test('read-only unless write: an INSERT without write is a 400 naming write and changes nothing', async () => {
    const r = await call('POST', '/api/query', { sql: "INSERT INTO items (id, title, price) VALUES (99, 'no', 1)", node: 'node0' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'VALIDATION_FAILED');
    assert.equal(r.json.error.field, 'write');
    assert.match(r.json.error.message, /write/);
    const rows = await fx.searchd[0]!.sql('SELECT id FROM items WHERE id = 99');
    assert.equal(rows.rows.length, 0);

    const orig = await call('POST', '/api/query', { query: 'DROP TABLE items', replicaIndex: 0 });
    assert.equal(orig.status, 400);
    assert.equal(orig.json.error.field, 'write');

    const two = await call('POST', '/api/query', { sql: 'SELECT 1; DROP TABLE items' });
    assert.equal(two.status, 400);
    assert.equal(two.json.error.field, 'sql');
  });

  test('write: true runs the statement and reports affected rows', async () => {
    const r = await call('POST', '/api/query', { sql: "INSERT INTO items (id, title, price) VALUES (50, 'w', 5)", node: 'node1', write: true });
    assert.equal(r.status, 200);
    assert.equal(r.json.data.kind, 'write');
    assert.equal(r.json.data.results[0].affectedRows, 1);
    assert.equal((await fx.searchd[1]!.sql('SELECT id FROM items WHERE id = 50')).rows.length, 1);
    assert.equal((await fx.searchd[0]!.sql('SELECT id FROM items WHERE id = 50')).rows.length, 0);
    await fx.searchd[1]!.sql('DELETE FROM items WHERE id = 50');
  });

  test('broadcast: every node in parallel, results side by side', async () => {
    const r = await call('POST', '/api/query', { sql: 'SELECT COUNT(*) AS n FROM items', broadcast: true });
    assert.equal(r.status, 200);
    assert.equal(r.json.data.status, 'ok');
    assert.deepEqual(
      r.json.data.results.map((x: { node: string; rows: unknown[] }) => [x.node, x.rows]),
      [
        ['node0', [{ n: '1' }]],
        ['node1', [{ n: '2' }]],
      ],
    );
  });

  test('an SQL error is a per-node result, not a retry on the next node', async () => {
    const r = await call('POST', '/api/query', { sql: 'SELECT * FROM missing_table' });
    assert.equal(r.status, 200);
    assert.equal(r.json.data.status, 'error');
    assert.equal(r.json.data.attempts, 1);
    assert.equal(r.json.data.results[0].error.kind, 'sql');
  });

  test('a node that does not answer is a per-node connect error; the first-available mode moves past it', async () => {
    const dead = { name: 'dead', ordinal: -1, mysql: { host: '127.0.0.1', port: 1 }, apiAddress: '127.0.0.1:2', agentUrl: 'http://127.0.0.1:3' };
    fx.refs.push(dead);
    try {
      const all = await call('POST', '/api/query', { sql: 'SELECT COUNT(*) AS n FROM items', broadcast: true });
      assert.equal(all.json.data.status, 'partial');
      assert.deepEqual(
        all.json.data.results.map((r: { node: string; ok: boolean; error?: { kind: string } }) => [r.node, r.ok, r.error?.kind]),
        [
          ['dead', false, 'connect'],
          ['node0', true, undefined],
          ['node1', true, undefined],
        ],
      );
      const first = await call('POST', '/api/query', { sql: 'SELECT COUNT(*) AS n FROM items' });
      assert.equal(first.json.data.status, 'ok');
      assert.equal(first.json.data.attempts, 2);
      assert.equal(first.json.data.results[0].node, 'node0');

      const original = await call('POST', '/api/query', { query: 'SELECT COUNT(*) AS n FROM items', broadcast: true });
      assert.equal(original.json.status, 'partial');
    } finally {
      fx.refs.splice(fx.refs.indexOf(dead), 1);
    }
  });

  test('original body, no node answers: 503 with the original error', async () => {
    const saved = fx.refs.splice(0, fx.refs.length, { name: 'dead', ordinal: 0, mysql: { host: '127.0.0.1', port: 1 }, apiAddress: '127.0.0.1:2', agentUrl: 'http://127.0.0.1:3' });
    try {
      const r = await call('POST', '/api/query', { query: 'SELECT 1' });
      assert.equal(r.status, 503);
      assert.deepEqual(r.json, { error: 'query failed on all replicas' });
    } finally {
      fx.refs.splice(0, fx.refs.length, ...saved);
    }
  });

  test('original body: single, broadcast (partial fixed) and bad replicaIndex', async () => {
    const single = await call('POST', '/api/query', { query: 'SELECT id FROM items ORDER BY id ASC', replicaIndex: 1 });
    assert.equal(single.status, 200);
    assert.equal(single.json.status, 'success');
    assert.equal(single.json.replicaIndex, 1);
    assert.equal(single.json.rowCount, 2);
    assert.deepEqual(single.json.rows, [{ id: '1' }, { id: '2' }]);
    assert.deepEqual(
      single.json.columns.map((c: { name: string }) => c.name),
      ['id'],
    );
    assert.equal(typeof single.json.executionTimeMs, 'number');

    const lb = await call('POST', '/api/query', { query: 'SELECT COUNT(*) AS n FROM items' });
    assert.equal(lb.json.status, 'success');
    assert.equal(lb.json.replicaIndex, 0);

    const bad = await call('POST', '/api/query', { query: 'SELECT 1', replicaIndex: 7 });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.field, 'replicaIndex');

    await fx.searchd[1]!.sql('CREATE TABLE only_on_1 (title text)');
    try {
      const partial = await call('POST', '/api/query', { query: 'SELECT * FROM only_on_1', broadcast: true });
      assert.equal(partial.status, 200);
      assert.equal(partial.json.status, 'partial');
      assert.deepEqual(
        partial.json.results.map((x: { status: string; replicaIndex: number }) => [x.replicaIndex, x.status]),
        [
          [0, 'error'],
          [1, 'success'],
        ],
      );
      assert.equal(typeof partial.json.results[0].error, 'string');
    } finally {
      await fx.searchd[1]!.sql('DROP TABLE only_on_1');
    }
  });
});

describe('GET /api/events', () => {
  test('streams an event pushed through the status, heartbeats, and unsubscribes on close', async () => {
    const controller = new AbortController();
    const res = await fetch(`${fx.url}/api/events`, { headers: { authorization: `Bearer ${fx.token}` }, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}; got ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(/: connected/);
    await waitFor(() => fx.status.listenerCount === 1, 'replicate', 'the SSE client to subscribe');
    fx.status.emit({
      type: 'condition',
      at: '2026-01-01T00:00:05.000Z',
      scope: 'cluster',
      condition: { type: 'Degraded', status: 'True', reason: 'NodeDown', message: 'node1 does not answer', lastTransitionTime: '2026-01-01T00:00:05.000Z' },
    });
    await readUntil(/event: condition\ndata: .*\n\n/);
    const frame = /event: condition\ndata: (.*)\n\n/.exec(text);
    const data = JSON.parse(frame![1]!) as { scope: string; condition: { reason: string } };
    assert.equal(data.scope, 'cluster');
    assert.equal(data.condition.reason, 'NodeDown');
    await readUntil(/: heartbeat\n\n/);

    controller.abort();
    await reader.cancel().catch(() => undefined);
    await waitFor(() => fx.status.listenerCount === 0, 'replicate', 'the SSE subscription to be dropped');
  });
});
