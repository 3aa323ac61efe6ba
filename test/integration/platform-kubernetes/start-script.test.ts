/**
 * The Manticore container's start script from manifests/kubernetes/manticore-start.yaml, run with bash on
 * loopback against a real agent and the simulator's searchd: it holds while the agent's start gate says
 * hold (a cluster is saved in manticore.json), starts searchd with the flag of the controller's decision
 * once there is one, reports the start, writes node_address/server_id from the pod's identity, and stops
 * searchd cleanly on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { allocateNodePorts, repoRoot, waitFor } from '../../../src/sim/launcher.js';
import { removeDir, startTestAgent, tempDir, TEST_TOKEN } from '../../unit/agent/helpers.js';

/** The `start.sh` literal block of the ConfigMap. */
function startScript(): string {
  const lines = readFileSync(path.join(repoRoot(), 'manifests', 'kubernetes', 'manticore-start.yaml'), 'utf8').split('\n');
  const at = lines.findIndex((l) => l === '  start.sh: |');
  assert.ok(at >= 0, 'the ConfigMap has start.sh');
  const body: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.trim() !== '' && !l.startsWith('    ')) break;
    body.push(l.slice(4));
  }
  return `${body.join('\n').trimEnd()}\n`;
}

const hasBash = spawnSync('bash', ['--version']).status === 0;

test('start script: holds at the gate, starts searchd with the decision, reports it, stops cleanly on SIGTERM', { skip: hasBash ? false : 'bash is not installed' }, async (t) => {
  const dir = tempDir('mo-k8s-start-');
  t.after(() => removeDir(dir));
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  // a saved cluster: the gate holds until the controller decides
  writeFileSync(path.join(dataDir, 'manticore.json'), JSON.stringify({ clusters: { manticore: { nodes: '', options: '', indexes: [] } }, indexes: {} }));
  const ports = await allocateNodePorts();
  const agent = await startTestAgent({ dir, dataDir, mysqlPort: ports.mysql, cluster: 'manticore', searchdConfig: path.join(dataDir, 'manticore-runtime.conf') });
  t.after(() => agent.close());

  // `searchd` on PATH: the simulator, recording its arguments
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  const argsLog = path.join(dir, 'searchd-args.log');
  const sim = path.join(repoRoot(), 'dist', 'src', 'sim', 'bin', 'searchd-sim.js');
  writeFileSync(path.join(bin, 'searchd'), `#!/bin/sh\necho "$@" >> '${argsLog}'\nexec '${process.execPath}' '${sim}' "$@"\n`);
  chmodSync(path.join(bin, 'searchd'), 0o755);
  const script = path.join(dir, 'start.sh');
  writeFileSync(script, startScript());

  const child = spawn('bash', [script], {
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOSTNAME: 'manticore-2',
      HEADLESS_SERVICE: 'manticore',
      POD_NAMESPACE: 'search',
      AGENT_PORT: new URL(agent.server.url).port,
      AGENT_TOKEN: TEST_TOKEN,
      MANTICORE_DATA: dataDir,
      SEARCHD_LISTEN_HOST: '127.0.0.1',
      SEARCHD_MYSQL_PORT: String(ports.mysql),
      SEARCHD_HTTP_PORT: String(ports.http),
      SEARCHD_API_PORT: String(ports.api),
      SEARCHD_REPLICATION_PORTS: `${ports.replicationFrom}-${ports.replicationTo}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  // the script asked and holds; searchd was not started
  await waitFor(async () => (await agent.client.startGate()).holdingSince !== undefined, 'start', 'the script to ask the gate and hold');
  await waitFor(() => output.includes('start gate: holding'), 'start', 'the script to say it holds');
  assert.equal(existsSync(argsLog), false, 'searchd is not started while the gate holds');

  const conf = readFileSync(path.join(dataDir, 'manticore-runtime.conf'), 'utf8');
  assert.match(conf, /node_address = manticore-2\.manticore\.search\.svc/);
  assert.match(conf, /server_id = 2\b/);
  assert.match(conf, new RegExp(`listen = 127\\.0\\.0\\.1:${ports.mysql}:mysql41`));

  // the controller's decision: the script starts searchd with it and reports the start
  await agent.client.decideStart({ mode: 'new-cluster', reason: 'test: most advanced node', decisionId: 'decision-1' });
  const gate = await waitFor(async () => {
    const g = await agent.client.startGate();
    return g.startedDecisionId === 'decision-1' ? g : undefined;
  }, 'start', 'the script to report the start');
  assert.ok(gate.startedAt !== undefined);
  assert.match(readFileSync(argsLog, 'utf8'), /--config \S+manticore-runtime\.conf --nodetach --new-cluster/);
  await waitFor(async () => (await agent.client.health().catch(() => undefined))?.searchd.reachable === true, 'start', 'searchd to answer the agent');

  // SIGTERM: searchd --stopwait, then the script exits 0
  child.kill('SIGTERM');
  assert.equal(await exited, 0, output);
  assert.match(readFileSync(argsLog, 'utf8'), /--stopwait/);
  await waitFor(async () => (await agent.client.health().catch(() => undefined))?.searchd.reachable === false, 'stop', 'searchd to be stopped');
});
