import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { NodeDiskState } from '../../../src/agent/protocol.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import { CapabilityCache, BUDDY_NEGATIVE_TTL_MS, observeCluster, observeNode } from '../../../src/observe/observe.js';
import type { NodeRef } from '../../../src/platform/types.js';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function ref(name: string, ordinal: number, port: number): NodeRef {
  return { name, ordinal, mysql: { host: '127.0.0.1', port }, apiAddress: `127.0.0.1:${port + 1}`, agentUrl: 'http://127.0.0.1:1' };
}

test('a node that does not answer is an observation with errors, never an exception', async (t) => {
  const pools = new ManticorePools({ connectTimeoutMs: 500 });
  t.after(() => pools.closeAll());
  const port = await closedPort();
  const hanging = { state: () => new Promise<NodeDiskState>(() => undefined) };
  const o = await observeNode(ref('n0', 0, port), { pools, agent: hanging, timeoutMs: 300 });
  assert.equal(o.searchd.ok, false);
  assert.match(o.searchd.ok ? '' : o.searchd.error, /ECONNREFUSED|connect/i);
  assert.equal(o.agent.ok, false);
  assert.match(o.agent.ok ? '' : o.agent.error, /agent state timed out after \d+ ms/);
  assert.equal(o.node.name, 'n0');
});

test('observeCluster returns one observation per node in ordinal order, agent errors as data', async (t) => {
  const pools = new ManticorePools({ connectTimeoutMs: 500 });
  t.after(() => pools.closeAll());
  const port = await closedPort();
  const failing = { state: () => Promise.reject(new Error('agent down')) };
  const obs = await observeCluster([ref('n2', 2, port), ref('n0', 0, port), ref('n1', 1, port)], {
    pools,
    agentFor: (n) => (n.name === 'n1' ? failing : undefined),
    timeoutMs: 300,
  });
  assert.deepEqual(
    obs.map((o) => o.node.name),
    ['n0', 'n1', 'n2'],
  );
  assert.deepEqual(
    obs.map((o) => (o.agent.ok ? 'ok' : o.agent.error)),
    ['no agent configured for this node', 'agent down', 'no agent configured for this node'],
  );
});

test('Buddy capability: a positive answer is kept, a negative one is re-checked after its TTL', () => {
  let now = 0;
  const cache = new CapabilityCache(() => now);
  cache.set('a:1', true);
  cache.set('b:1', false);
  now = BUDDY_NEGATIVE_TTL_MS + 1;
  assert.equal(cache.get('a:1'), true);
  assert.equal(cache.get('b:1'), undefined);
});
