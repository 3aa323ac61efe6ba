/**
 * The agent next to a real simulator searchd (src/sim/launcher.ts SearchdNode): health and readiness
 * as the node forms a cluster and gets its declared tables, the disk state after CREATE CLUSTER, the
 * start gate holding the stopped node that has a saved cluster, and the node coming back through the
 * gate with the controller's decision.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { LOOPBACK_OPTIONS, SearchdNode, waitFor } from '../../../src/sim/launcher.js';
import { askHowToStart, reportStarted } from '../../../src/agent/start-script.js';
import { removeDir, startTestAgent, tempDir, type TestAgent } from '../../unit/agent/helpers.js';

const CLUSTER = 'c';

describe('agent with a simulator node', () => {
  let dir: string;
  let node: SearchdNode;
  let agent: TestAgent;

  before(async () => {
    dir = tempDir('node');
    node = new SearchdNode({ name: 'n0', dir: path.join(dir, 'n0'), serverId: 1 });
    await node.start();
    agent = await startTestAgent({
      dir,
      mysqlPort: node.ports.mysql,
      dataDir: node.layout.dataDir,
      searchdConfig: node.layout.config,
      jobsDir: path.join(dir, 'agent'),
      cluster: CLUSTER,
    });
  });

  after(async () => {
    await agent?.close();
    if (node?.running) await node.kill('SIGKILL');
    removeDir(dir);
  });

  test('fresh node: healthy, not ready (no cluster), nothing saved, searchd running with its pid, gate normal', async () => {
    const health = await agent.client.health();
    assert.equal(health.searchd.reachable, true);
    assert.match(health.searchd.version ?? '', /^\d+\.\d+\.\d+/);
    assert.equal(health.cluster, CLUSTER);
    assert.equal(health.clusterStatus, 'none');

    const ready = await agent.fetch('/v1/ready');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body, { data: { ready: false, reason: "node is not in cluster 'c'" } });

    const state = await agent.client.state();
    assert.deepEqual(state.savedClusters, []);
    assert.deepEqual(state.grastate, { exists: false });
    assert.deepEqual(state.searchd, { running: true, pid: node.pid });
    assert.equal(state.gate.mode, 'normal');
  });

  test('CREATE CLUSTER: ready waits for the declared tables, then 200; state shows the saved cluster', async () => {
    await agent.client.setDeclaredTables({ tables: ['t', 't_delta'] });
    await node.sql(`CREATE CLUSTER ${CLUSTER} '${LOOPBACK_OPTIONS}' AS options`);
    const missing = await waitFor(
      async () => {
        const r = await agent.client.ready();
        return r.reason.startsWith('declared tables missing') ? r : false;
      },
      'form',
      'the cluster to be primary + synced with the tables still missing',
    );
    assert.equal(missing.reason, 'declared tables missing: t, t_delta');

    await node.sql('CREATE TABLE t_delta (title text, price int)');
    await node.sql(`ALTER CLUSTER ${CLUSTER} ADD t_delta`);
    assert.equal((await agent.client.ready()).reason, 'declared tables missing: t');
    await node.sql("CREATE TABLE t type='distributed' local='t_delta'");
    const ready = await agent.fetch('/v1/ready');
    assert.equal(ready.status, 200);
    assert.equal((ready.body as { data: { ready: boolean } }).data.ready, true);

    const health = await agent.client.health();
    assert.equal(health.clusterStatus, 'primary');
    assert.equal(health.nodeState, 'synced');

    const state = await agent.client.state();
    assert.deepEqual(state.savedClusters, [CLUSTER]);
    assert.ok(state.savedTables.includes('t_delta'), state.savedTables.join(','));
    await node.sql(`INSERT INTO ${CLUSTER}:t_delta (id, title, price) VALUES (1, 'kept row', 5)`);
  });

  test('stopped node: health 503 reachable false, grastate with the uuid, the gate holds; the decision brings it back', async () => {
    await node.stopWait();
    const health = await agent.fetch('/v1/health');
    assert.equal(health.status, 503);
    assert.equal((health.body as { data: { searchd: { reachable: boolean } } }).data.searchd.reachable, false);
    assert.match(((await agent.client.ready()).reason), /^searchd not reachable/);

    const state = await agent.client.state();
    assert.deepEqual(state.searchd, { running: false });
    assert.equal(state.grastate.exists, true);
    assert.match(state.grastate.uuid ?? '', /[0-9a-f-]{8,}/);
    assert.ok((state.grastate.seqno ?? -1) >= 1, `seqno after a clean stop: ${state.grastate.seqno}`);
    assert.equal(state.grastate.safeToBootstrap, true, 'the last node to leave is safe to bootstrap');
    assert.deepEqual(await agent.client.grastate(), state.grastate);
    assert.equal(state.gate.mode, 'hold');
    assert.equal(state.gate.reason, "waiting for the controller to decide how to start: this node has cluster 'c' saved and may not start alone");

    // the start script asks and holds until the controller decides
    const answers: string[] = [];
    const asking = askHowToStart(agent.client, { pollMs: 25, onAnswer: (a) => a.gate && answers.push(a.gate.mode) });
    await waitFor(() => answers.length >= 2, 'start', 'the start script to be told to hold twice');
    assert.ok((await agent.client.startGate()).holdingSince);
    await agent.client.decideStart({ mode: 'new-cluster', reason: 'n0 has the highest seqno', decisionId: 'op-1:n0' });
    const how = await asking;
    assert.deepEqual(how, { flags: ['--new-cluster'], decisionId: 'op-1:n0' });
    assert.equal(answers.at(-1), 'new-cluster');
    assert.ok(answers.slice(0, -1).every((m) => m === 'hold'), answers.join(','));

    await node.start(how.flags);
    await reportStarted(agent.client, how.decisionId);
    await waitFor(async () => (await agent.client.ready()).ready || false, 'rejoin', 'the node ready again');
    const uuidAfter = (await node.sql(`SHOW STATUS LIKE 'cluster_${CLUSTER}_state_uuid'`)).rows[0]?.['Value'];
    assert.equal(uuidAfter, state.grastate.uuid, 'the cluster kept its uuid');
    const rows = await node.sql('SELECT id, title FROM t_delta');
    assert.deepEqual(rows.rows, [{ id: '1', title: 'kept row' }]);
    const gate = await agent.client.startGate();
    assert.equal(gate.mode, 'hold', 'the decision was used: a later restart asks again');
    assert.equal(gate.startedDecisionId, 'op-1:n0');
  });
});
