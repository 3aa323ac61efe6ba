import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { StartGateStore } from '../../../../src/agent/server/start-gate.js';
import { authHeaders, removeDir, startTestAgent, tempDir, type TestAgent } from '../helpers.js';

const dirs: string[] = [];
function dir(): string {
  const d = tempDir('gate');
  dirs.push(d);
  return d;
}
after(() => dirs.forEach(removeDir));

function saveCluster(dataDir: string, cluster: string | undefined): void {
  const clusters = cluster === undefined ? {} : { [cluster]: { path: '', nodes: '127.0.0.1:9312', options: '', indexes: ['t_delta'] } };
  writeFileSync(path.join(dataDir, 'manticore.json'), JSON.stringify({ clusters, indexes: { t_delta: { type: 'rt', path: 't_delta' } } }));
}

describe('StartGateStore', () => {
  test('defaults: normal with nothing saved, hold with a saved cluster (holdingSince only once asked), hold when manticore.json is unreadable', async () => {
    const d = dir();
    let now = new Date('2026-01-01T00:00:00Z');
    const gate = await StartGateStore.open(d, () => now);
    assert.equal((await gate.answer({ clusters: [] }, true)).mode, 'normal');
    const peek = await gate.answer({ clusters: ['c'] }, false);
    assert.equal(peek.mode, 'hold');
    assert.equal(peek.reason, "waiting for the controller to decide how to start: this node has cluster 'c' saved and may not start alone");
    assert.equal(peek.holdingSince, undefined);
    const asked = await gate.answer({ clusters: ['c'] }, true);
    assert.equal(asked.holdingSince, '2026-01-01T00:00:00.000Z');
    now = new Date('2026-01-01T00:00:05Z');
    assert.equal((await gate.answer({ clusters: ['c'] }, true)).holdingSince, '2026-01-01T00:00:00.000Z', 'holdingSince keeps the first ask');
    const bad = await gate.answer({ clusters: [], unreadable: 'not valid JSON' }, false);
    assert.equal(bad.mode, 'hold');
    assert.match(bad.reason, /manticore.json is unreadable/);
  });

  test('a decision is answered until reported started, then the default returns; a stale decisionId is a conflict', async () => {
    const d = dir();
    const gate = await StartGateStore.open(d);
    await gate.decide({ mode: 'new-cluster', reason: 'highest seqno 42', decisionId: 'op1-n0' });
    const a = await gate.answer({ clusters: ['c'] }, true);
    assert.equal(a.mode, 'new-cluster');
    assert.equal(a.decisionId, 'op1-n0');
    assert.equal(a.reason, 'highest seqno 42');
    await assert.rejects(gate.started('op0-n0'), /not the gate's current decision/);
    await assert.rejects(gate.started(undefined), /report the start with that decisionId/);
    const s = await gate.started('op1-n0');
    assert.equal(s.startedDecisionId, 'op1-n0');
    assert.deepEqual(await gate.started('op1-n0'), s, 'repeating the report is idempotent');
    const after = await gate.answer({ clusters: ['c'] }, true);
    assert.equal(after.mode, 'hold');
    assert.equal(after.startedDecisionId, 'op1-n0');
    assert.equal(after.decisionId, undefined);
  });
});

describe('start gate over HTTP, persisted across an agent restart', () => {
  let agent: TestAgent | undefined;
  afterEach(async () => {
    await agent?.close();
    agent = undefined;
  });

  test('hold → decision (survives restart) → started → hold again', async () => {
    const d = dir();
    const dataDir = path.join(d, 'data');
    agent = await startTestAgent({ dir: d, dataDir });
    assert.equal((await agent.client.startGate()).mode, 'normal', 'fresh node: nothing to lose');

    saveCluster(dataDir, 'c');
    const held = await agent.client.startGate();
    assert.equal(held.mode, 'hold');
    assert.match(held.reason, /cluster 'c' saved and may not start alone/);
    assert.ok(held.holdingSince);

    const decided = await agent.client.decideStart({ mode: 'new-cluster', reason: 'n0 has the highest seqno (42)', decisionId: 'op-7:n0' });
    assert.equal(decided.mode, 'new-cluster');

    await agent.close();
    agent = await startTestAgent({ dir: d, dataDir });
    const again = await agent.client.startGate();
    assert.equal(again.mode, 'new-cluster', 'the decision survived the restart');
    assert.equal(again.decisionId, 'op-7:n0');
    const state = await agent.client.state();
    assert.equal(state.gate.mode, 'new-cluster');
    assert.deepEqual(state.savedClusters, ['c']);
    assert.deepEqual(state.savedTables, ['t_delta']);
    assert.equal(state.searchd.running, false);

    await agent.client.startStarted('op-7:n0');
    await agent.close();
    agent = await startTestAgent({ dir: d, dataDir });
    const later = await agent.client.startGate();
    assert.equal(later.mode, 'hold', 'a later restart asks again');
    assert.equal(later.startedDecisionId, 'op-7:n0');
  });

  test('bad bodies get 400 naming the field and change nothing', async () => {
    const d = dir();
    agent = await startTestAgent({ dir: d });
    const put = (body: unknown) =>
      agent!.fetch('/v1/start', { method: 'PUT', headers: authHeaders({ 'content-type': 'application/json' }), body: JSON.stringify(body) });
    const badMode = await put({ mode: 'bootstrap', reason: 'x', decisionId: 'd' });
    assert.equal(badMode.status, 400);
    assert.deepEqual(badMode.body, {
      error: { code: 'BAD_REQUEST', message: 'mode: must be one of normal, new-cluster, new-cluster-force, hold (got "bootstrap")' },
    });
    const noReason = await put({ mode: 'normal', decisionId: 'd' });
    assert.match((noReason.body as { error: { message: string } }).error.message, /^reason: /);
    const noId = await put({ mode: 'normal', reason: 'r' });
    assert.match((noId.body as { error: { message: string } }).error.message, /^decisionId: /);
    const notJson = await agent.fetch('/v1/start', { method: 'PUT', headers: authHeaders({ 'content-type': 'application/json' }), body: '{mode:' });
    assert.equal(notJson.status, 400);
    assert.match((notJson.body as { error: { message: string } }).error.message, /^body: not valid JSON/);
    assert.equal((await agent.client.startGate()).mode, 'normal');
    const started = await agent.fetch('/v1/start/started', {
      method: 'POST',
      headers: authHeaders({ 'content-type': 'application/json' }),
      body: JSON.stringify({ decisionId: 'never-decided' }),
    });
    assert.equal(started.status, 409);
    assert.equal((started.body as { error: { code: string } }).error.code, 'CONFLICT');
  });
});
