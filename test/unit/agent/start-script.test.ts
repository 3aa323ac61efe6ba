import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { AgentClient } from '../../../src/agent/client.js';
import { askHowToStart, reportStarted } from '../../../src/agent/start-script.js';
import type { StartGate } from '../../../src/agent/protocol.js';
import { closedPort, removeDir, startTestAgent, tempDir } from './helpers.js';

describe('askHowToStart / reportStarted', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeDir));

  test('a node with nothing saved starts normally at once', async () => {
    const d = tempDir('script');
    dirs.push(d);
    const agent = await startTestAgent({ dir: d });
    try {
      assert.deepEqual(await askHowToStart(agent.client, { pollMs: 20 }), { flags: [] });
      await reportStarted(agent.client, undefined);
      assert.ok((await agent.client.startGate()).startedAt);
    } finally {
      await agent.close();
    }
  });

  test('holds while the gate says hold, then starts with the decided flags; every mode maps to its flag', async () => {
    const d = tempDir('script');
    dirs.push(d);
    const dataDir = path.join(d, 'data');
    const agent = await startTestAgent({ dir: d, dataDir });
    try {
      writeFileSync(path.join(dataDir, 'manticore.json'), JSON.stringify({ clusters: { c: { path: '' } }, indexes: {} }));
      const answers: StartGate[] = [];
      const asking = askHowToStart(agent.client, { pollMs: 20, onAnswer: (a) => a.gate && answers.push(a.gate) });
      while (answers.length < 3) await new Promise((r) => setTimeout(r, 10));
      assert.ok(answers.every((a) => a.mode === 'hold'));
      await agent.client.decideStart({ mode: 'new-cluster', reason: 'highest seqno', decisionId: 'd1' });
      assert.deepEqual(await asking, { flags: ['--new-cluster'], decisionId: 'd1' });
      await reportStarted(agent.client, 'd1');
      assert.equal((await agent.client.startGate()).mode, 'hold', 'the decision is used up');

      await agent.client.decideStart({ mode: 'new-cluster-force', reason: 'forced by admin', decisionId: 'd2' });
      assert.deepEqual(await askHowToStart(agent.client, { pollMs: 20 }), { flags: ['--new-cluster-force'], decisionId: 'd2' });
      await agent.client.decideStart({ mode: 'normal', reason: 'a primary runs elsewhere: rejoin', decisionId: 'd3' });
      assert.deepEqual(await askHowToStart(agent.client, { pollMs: 20 }), { flags: [], decisionId: 'd3' });
    } finally {
      await agent.close();
    }
  });

  test('waits for an agent that is not up yet; stops when aborted; a wrong token fails instead of holding', async () => {
    const client = new AgentClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, token: 'x'.repeat(20), timeoutMs: 200 });
    const controller = new AbortController();
    let errors = 0;
    const asking = askHowToStart(client, { pollMs: 20, signal: controller.signal, onAnswer: (a) => void (a.error && errors++) });
    while (errors < 2) await new Promise((r) => setTimeout(r, 10));
    controller.abort(new Error('start script stopped'));
    await assert.rejects(asking, /start script stopped/);

    const d = tempDir('script');
    dirs.push(d);
    const agent = await startTestAgent({ dir: d });
    try {
      const wrong = new AgentClient({ baseUrl: agent.server.url, token: 'wrong-token-wrong-token' });
      await assert.rejects(askHowToStart(wrong, { pollMs: 20 }), (e: { code: string }) => e.code === 'UNAUTHORIZED');
    } finally {
      await agent.close();
    }
  });
});
