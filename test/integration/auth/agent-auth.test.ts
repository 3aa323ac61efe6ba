/**
 * The agent's bearer check: every route but /v1/health and /v1/ready refuses a request without the
 * token or with a wrong one (401, nothing done), and failed attempts are rate limited per address.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { removeDir, startTestAgent, tempDir, TEST_TOKEN, type TestAgent } from '../../unit/agent/helpers.js';

let dir: string;
let agent: TestAgent;

before(async () => {
  dir = tempDir('agent-auth');
  agent = await startTestAgent({ dir });
});
after(async () => {
  await agent?.close();
  removeDir(dir);
});

const PROTECTED: [string, string, unknown][] = [
  ['GET', '/v1/grastate', undefined],
  ['GET', '/v1/state', undefined],
  ['GET', '/v1/start', undefined],
  ['PUT', '/v1/start', { mode: 'new-cluster', reason: 'x' }],
  ['PUT', '/v1/declared-tables', { tables: ['evil'] }],
  ['GET', '/v1/jobs', undefined],
  ['POST', '/v1/jobs', { id: 'j1', kind: 'backup-table', params: { table: 't' } }],
  ['POST', '/v1/jobs/j1/cancel', undefined],
];

/** (method, path, body, Authorization): 16 failures, under the limit of 20 a minute */
const ATTEMPTS = PROTECTED.flatMap(([method, p, body], i) => {
  const variants = [undefined, `Basic ${TEST_TOKEN}`, 'Bearer wrong-token-0123456789abcdef', `Bearer ${TEST_TOKEN.slice(0, -1)}`];
  return [variants[i % 4], variants[(i + 1) % 4]].map((authorization) => ({ method, p, body, authorization }));
});

test('no token, another scheme, a wrong token, a prefix of the token: 401, and nothing was done', async () => {
  assert.equal(ATTEMPTS.length, 16);
  for (const { method, p, body, authorization } of ATTEMPTS) {
    {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization !== undefined) headers.authorization = authorization;
      const r = await agent.fetch(p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      assert.equal(r.status, 401, `${method} ${p} ${authorization ?? '(none)'}`);
      assert.equal((r.body as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    }
  }
  // with the token: the declared tables were never changed and no job exists
  assert.deepEqual(await agent.client.listJobs(), []);
  assert.deepEqual((await agent.client.declaredTables()).tables, []);
  assert.equal((await agent.client.startGate()).mode, 'normal');
});

test('probes stay open; repeated failures from one address are 429 RATE_LIMITED with Retry-After', async () => {
  assert.notEqual((await agent.fetch('/v1/health')).status, 401);
  // the first test spent 16 failures; 4 more reach the limit of 20 a minute
  for (let i = 0; i < 4; i += 1) assert.equal((await agent.fetch('/v1/grastate', { headers: { authorization: `Bearer nope-${i}-0123456789abcdef` } })).status, 401);
  const r = await agent.fetch('/v1/state', { headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } });
  assert.equal(r.status, 429);
  assert.equal((r.body as { error: { code: string } }).error.code, 'RATE_LIMITED');
  const withToken = await agent.fetch('/v1/state', { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  assert.equal(withToken.status, 429, 'blocked even with the right token until the window ends');
  assert.notEqual((await agent.fetch('/v1/health')).status, 429, 'probes are not rate limited');
});
