import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken, tokenMatches } from '../../../../src/agent/server/auth.js';
import { TEST_TOKEN, removeDir, startTestAgent, tempDir, type TestAgent } from '../helpers.js';

describe('tokenMatches / bearerToken', () => {
  test('equal tokens match, different ones (any length) do not, an empty expected token never matches', () => {
    assert.equal(tokenMatches('abc', 'abc'), true);
    assert.equal(tokenMatches('abd', 'abc'), false);
    assert.equal(tokenMatches('ab', 'abc'), false);
    assert.equal(tokenMatches('abcd', 'abc'), false);
    assert.equal(tokenMatches('', ''), false);
  });

  test('bearerToken takes the token of the Bearer scheme only', () => {
    assert.equal(bearerToken('Bearer xyz'), 'xyz');
    assert.equal(bearerToken('bearer   xyz'), 'xyz');
    assert.equal(bearerToken('Basic eHl6'), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
});

describe('bearer auth over HTTP', () => {
  let dir: string;
  let agent: TestAgent;
  before(async () => {
    dir = tempDir('auth');
    agent = await startTestAgent({ dir });
  });
  after(async () => {
    await agent.close();
    removeDir(dir);
  });

  test('missing header: 401 with the envelope, telling how to send the token', async () => {
    const res = await agent.fetch('/v1/grastate');
    assert.equal(res.status, 401);
    assert.deepEqual(Object.keys(res.body as object), ['error']);
    const err = (res.body as { error: { code: string; message: string } }).error;
    assert.equal(err.code, 'UNAUTHORIZED');
    assert.match(err.message, /Authorization: Bearer/);
  });

  test('wrong scheme: 401 naming the Bearer scheme', async () => {
    const res = await agent.fetch('/v1/grastate', { headers: { authorization: `Basic ${Buffer.from(`x:${TEST_TOKEN}`).toString('base64')}` } });
    assert.equal(res.status, 401);
    assert.match((res.body as { error: { message: string } }).error.message, /Bearer scheme/);
  });

  test('wrong token: 401 invalid token', async () => {
    const res = await agent.fetch('/v1/grastate', { headers: { authorization: `Bearer ${TEST_TOKEN}x` } });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { error: { code: 'UNAUTHORIZED', message: 'invalid token' } });
  });

  test('right token: 200 with the data envelope', async () => {
    const res = await agent.fetch('/v1/grastate', { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { data: { exists: false } });
  });

  test('the probes need no token', async () => {
    const health = await agent.fetch('/v1/health');
    const ready = await agent.fetch('/v1/ready');
    // searchd is down in this test: 503, but answered, not refused
    assert.equal(health.status, 503);
    assert.equal(ready.status, 503);
    assert.equal((health.body as { data: { searchd: { reachable: boolean } } }).data.searchd.reachable, false);
  });

  test('the client sends the token; with a wrong one it gets a non-retryable UNAUTHORIZED AppError', async () => {
    assert.deepEqual(await agent.client.grastate(), { exists: false });
    const { AgentClient } = await import('../../../../src/agent/client.js');
    const bad = new AgentClient({ baseUrl: agent.server.url, token: 'nope-nope-nope-nope' });
    await assert.rejects(bad.grastate(), (err: { code: string; retryable: boolean; status: number }) => {
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.equal(err.retryable, false);
      assert.equal(err.status, 401);
      return true;
    });
  });
});
