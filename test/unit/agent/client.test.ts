import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentClient } from '../../../src/agent/client.js';
import { isAppError } from '../../../src/lib/errors.js';
import { closedPort, removeDir, startTestAgent, tempDir, TEST_TOKEN } from './helpers.js';

/** A server that answers each path with a fixed status and body, or never answers ('/hang'). */
async function cannedServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/v1/grastate') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'INTERNAL', message: 'disk on fire' } }));
    } else if (req.url === '/v1/state') {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    }
    // anything else: never answered
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('AgentClient errors', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeDir));

  test('an agent that is not listening: AGENT_UNREACHABLE, retryable', async () => {
    const client = new AgentClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, token: TEST_TOKEN });
    await assert.rejects(client.state(), (e: unknown) => {
      assert.ok(isAppError(e));
      assert.equal(e.code, 'AGENT_UNREACHABLE');
      assert.equal(e.retryable, true);
      return true;
    });
  });

  test('5xx with the envelope keeps its code and is retryable; without the envelope AGENT_BAD_RESPONSE; no answer AGENT_TIMEOUT', async () => {
    const s = await cannedServer();
    try {
      const client = new AgentClient({ baseUrl: s.url, token: TEST_TOKEN, timeoutMs: 300 });
      await assert.rejects(client.grastate(), (e: unknown) => isAppError(e) && e.code === 'INTERNAL' && e.retryable && /disk on fire/.test(e.message));
      await assert.rejects(client.state(), (e: unknown) => isAppError(e) && e.code === 'AGENT_BAD_RESPONSE' && e.retryable);
      await assert.rejects(client.ready(), (e: unknown) => isAppError(e) && e.code === 'AGENT_TIMEOUT' && e.retryable);
      const caller = new AbortController();
      const pending = client.health({ signal: caller.signal, timeoutMs: 5_000 });
      caller.abort();
      await assert.rejects(pending, (e: unknown) => isAppError(e) && e.code === 'AGENT_CANCELLED' && !e.retryable);
    } finally {
      await s.close();
    }
  });

  test('health and ready answer 503 with data when searchd is down: returned as data', async () => {
    const d = tempDir('client');
    dirs.push(d);
    const agent = await startTestAgent({ dir: d, cluster: 'c' });
    try {
      const health = await agent.client.health();
      assert.equal(health.searchd.reachable, false);
      assert.ok(health.searchd.error);
      assert.equal(health.cluster, 'c');
      const ready = await agent.client.ready();
      assert.equal(ready.ready, false);
      assert.match(ready.reason, /^searchd not reachable: /);
    } finally {
      await agent.close();
    }
  });
});

describe('agent connections', () => {
  test('the agent keeps an idle connection open 65 s (longer than the controller reads its state at rest)', async () => {
    const dir = tempDir('keepalive');
    const agent = await startTestAgent({ dir });
    try {
      const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
        const req = http.get(`${agent.server.url}/v1/state`, { headers: { authorization: `Bearer ${TEST_TOKEN}` }, agent: new http.Agent({ keepAlive: true }) }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers));
        });
        req.on('error', reject);
      });
      assert.equal(headers['connection'], 'keep-alive');
      assert.equal(headers['keep-alive'], 'timeout=65', 'what fetch (undici) keeps the socket for');
    } finally {
      await agent.close();
      removeDir(dir);
    }
  });
});
