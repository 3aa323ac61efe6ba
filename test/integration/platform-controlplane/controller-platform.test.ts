/**
 * The controller process stack configured the way the chart configures it (CPLN_* as cpln injects them,
 * MANTICORE_WORKLOAD, no PLATFORM: it defaults to controlplane), against the loopback cpln server:
 * GET /api/nodes lists the replicas `{workload}-{i}` at `{workload}-{i}.{workload}` (none resolves here,
 * so they are down, not gone), a scale change of the workload reaches the node list through the poll,
 * and every cpln request carried the workload identity's token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { waitFor } from '../../../src/sim/launcher.js';
import { FakeCpln } from './fake-cpln.js';

const TOKEN = 'cpln-controller-test-token-0123';
const CPLN_TOKEN = 'identity-token-xyz';
const WL = 'mc-manticore';

let dir: string;
let fake: FakeCpln;
let stack: RunningStack;

function workload(replicas: number): Record<string, unknown> {
  return { kind: 'workload', name: WL, spec: { type: 'stateful', defaultOptions: { autoscaling: { metric: 'disabled', minScale: replicas, maxScale: replicas } } }, status: {} };
}

async function nodeNames(): Promise<string[]> {
  const res = await fetch(`${stack.url}/api/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { data: { name: string }[] };
  return body.data.map((n) => n.name).sort();
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cpln-ctl-'));
  fake = new FakeCpln('acme', 'prod', CPLN_TOKEN);
  await fake.start();
  fake.workloads.set(WL, workload(3));
  const env = {
    ORCHESTRATOR_TOKEN: TOKEN,
    CPLN_ENDPOINT: fake.url,
    CPLN_TOKEN,
    CPLN_ORG: 'acme',
    CPLN_GVC: 'prod',
    CPLN_LOCATION: '/org/acme/location/aws-us-east-1',
    CPLN_WORKLOAD: '/org/acme/gvc/prod/workload/mc-orchestrator',
    MANTICORE_WORKLOAD: WL,
    CONTROLPLANE_POLL_INTERVAL: '200ms',
  };
  const config = loadControllerConfig({ env, argv: ['--data-dir', dir] });
  assert.equal(config.platform.kind, 'controlplane');
  config.listen = { host: '127.0.0.1', port: 0 };
  stack = await startStack({ config, token: TOKEN, env, logger: silentLogger(), controller: { resyncMs: 500, fastResyncMs: 300, observeTimeoutMs: 1_000 } });
});

after(async () => {
  await stack?.stop();
  await fake?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the replicas of the workload are the nodes; a scale change reaches the list', async () => {
  assert.equal(stack.platform.kind, 'controlplane');
  assert.deepEqual(await nodeNames(), [`${WL}-0`, `${WL}-1`, `${WL}-2`]);
  const nodes = await stack.platform.listNodes();
  assert.deepEqual(
    nodes.map((n) => [n.mysql.host, n.apiAddress, n.agentUrl]),
    [0, 1, 2].map((i) => [`${WL}-${i}.${WL}`, `${WL}-${i}.${WL}:9312`, `http://${WL}-${i}.${WL}:8080`]),
  );
  fake.workloads.set(WL, workload(4));
  await waitFor(async () => (await nodeNames()).length === 4, 'replicate', 'the fourth replica is listed');
  const reads = fake.requestsTo('GET', fake.workloadPath(WL));
  assert.ok(reads.length >= 2, 'the workload is polled');
  assert.ok(
    fake.requests.every((r) => r.authorization === `Bearer ${CPLN_TOKEN}`),
    'every cpln request carries the identity token',
  );
});
