/**
 * The Control Plane driver against a loopback server implementing the cpln endpoints it uses
 * (fake-cpln.ts, the recorded shapes of deployment.md §2): config parsing of the injected CPLN_* vars
 * (link or bare forms), discovery (names, expected count from minScale / REPLICA_COUNT /
 * currentReplicaCount, deployment versions NOT counted as replicas, per-replica probing), the REST
 * client (Authorization header, 401/404 not retried, 429 + Retry-After and 500 retried, malformed
 * bodies), the platform (last list kept when the API fails, onChange on a scale change) and the
 * cron workload jobs (201 + Location, lifecycle, paged active list, CONFLICT refusal, a lost POST
 * answer adopted rather than run twice).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadControlPlaneConfig, type ControlPlaneConfig } from '../../../src/config/controlplane.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { SettingSource } from '../../../src/config/source.js';
import { AppError } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { ControlPlanePlatform } from '../../../src/platform/controlplane/controlplane-platform.js';
import { CplnClient, authorizationHeader, retryAfterMs } from '../../../src/platform/controlplane/client.js';
import { discoverReplicas, probeReplica, replicaNode } from '../../../src/platform/controlplane/discovery.js';
import { ControlPlaneJobs, JOB_ID_ENV, commandIdFromLocation } from '../../../src/platform/controlplane/jobs.js';
import { FakeCpln } from './fake-cpln.js';

const ORG = 'acme';
const GVC = 'prod';
const TOKEN = 'cpln-test-token-abc';
const WL = 'mc-manticore';
const BACKUP_WL = 'mc-manticore-backup';

function baseEnv(fake: FakeCpln, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CPLN_ENDPOINT: fake.url,
    CPLN_TOKEN: TOKEN,
    CPLN_ORG: ORG,
    CPLN_GVC: GVC,
    CPLN_LOCATION: `/org/${ORG}/location/aws-us-east-1`,
    CPLN_WORKLOAD: `/org/${ORG}/gvc/${GVC}/workload/mc-orchestrator-api`,
    WORKLOAD_NAME: WL,
    BACKUP_WORKLOAD: BACKUP_WL,
    CONTROLPLANE_POLL_INTERVAL: '60s',
    ...extra,
  };
}

function configOf(env: Record<string, string>): ControlPlaneConfig {
  return loadControlPlaneConfig(new SettingSource(env));
}

/** A client that records its waits instead of sleeping. */
function fastClient(fake: FakeCpln, waits: number[] = [], token = TOKEN): CplnClient {
  return new CplnClient({
    endpoint: fake.url,
    token,
    attempts: 4,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
  });
}

function statefulWorkload(minScale: number, maxScale: number, current?: number): Record<string, unknown> {
  return {
    kind: 'workload',
    name: WL,
    spec: { type: 'stateful', defaultOptions: { autoscaling: { metric: 'disabled', minScale, maxScale }, suspend: false }, containers: [{ name: 'manticore' }, { name: 'agent' }] },
    status: { ...(current !== undefined ? { currentReplicaCount: current } : {}), internalName: `${WL}.${GVC}.cpln.local` },
  };
}

async function rejects(p: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, `an AppError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

let fake: FakeCpln;

before(async () => {
  fake = new FakeCpln(ORG, GVC, TOKEN);
  await fake.start();
});
after(async () => {
  await fake.stop();
});

describe('config: injected CPLN_* variables', () => {
  test('links and bare names both give the last segment; CPLN_WORKLOAD supplies org and gvc', () => {
    const c = configOf(baseEnv(fake));
    assert.equal(c.org, ORG);
    assert.equal(c.gvc, GVC);
    assert.equal(c.location, 'aws-us-east-1');
    assert.equal(c.selfWorkload, 'mc-orchestrator-api');
    assert.equal(c.workload, WL);
    assert.equal(c.backupWorkload, BACKUP_WL);
    assert.equal(c.backupContainer, 'backup');
    assert.deepEqual(c.ports, { mysql: 9306, api: 9312, http: 9308, agent: 8080 });
    const env = baseEnv(fake);
    delete env['CPLN_ORG'];
    delete env['CPLN_GVC'];
    const fromLink = configOf({ ...env, CPLN_LOCATION: 'gcp-us-east1' });
    assert.equal(fromLink.org, ORG);
    assert.equal(fromLink.gvc, GVC);
    assert.equal(fromLink.location, 'gcp-us-east1');
  });

  test('PLATFORM defaults to controlplane inside a workload; a missing setting is named', () => {
    const cfg = loadControllerConfig({ env: { ...baseEnv(fake), ORCHESTRATOR_TOKEN: 'x'.repeat(24) }, cwd: '/tmp' });
    assert.equal(cfg.platform.kind, 'controlplane');
    const noWl = baseEnv(fake);
    delete noWl['WORKLOAD_NAME'];
    assert.throws(() => configOf(noWl), /MANTICORE_WORKLOAD/);
    const noTok = baseEnv(fake);
    delete noTok['CPLN_TOKEN'];
    assert.throws(() => configOf(noTok), /CPLN_TOKEN/);
    assert.throws(() => configOf(baseEnv(fake, { CPLN_GVC: 'Bad_Name' })), /CPLN_GVC/);
    assert.throws(() => configOf(baseEnv(fake, { REPLICA_COUNT: 'three' })), /REPLICA_COUNT/);
  });
});

describe('client', () => {
  test('sends Authorization: Bearer <token> (never twice the scheme), or the raw token', async () => {
    fake.workloads.set(WL, statefulWorkload(3, 3));
    await fastClient(fake).getJson(fake.workloadPath(WL));
    assert.equal(fake.requests.at(-1)?.authorization, `Bearer ${TOKEN}`);
    await fastClient(fake, [], `bearer ${TOKEN}`).getJson(fake.workloadPath(WL));
    assert.equal(fake.requests.at(-1)?.authorization, `Bearer ${TOKEN}`);
    assert.equal(authorizationHeader('abc', 'raw'), 'abc');
    assert.equal(retryAfterMs('2'), 2000);
    assert.equal(retryAfterMs(new Date(Date.now() + 60_000).toUTCString()) !== undefined, true);
  });

  test('401 and 404 fail at once with a message naming the request', async () => {
    const before401 = fake.requests.length;
    const e401 = await rejects(fastClient(fake, [], 'wrong-token').getJson(fake.workloadPath(WL)), 'CPLN_UNAUTHORIZED');
    assert.match(e401.message, new RegExp(`GET ${fake.workloadPath(WL)}: HTTP 401`));
    assert.equal(fake.requests.length - before401, 1, 'a 401 is not retried');
    const before404 = fake.requests.length;
    const e404 = await rejects(fastClient(fake).getJson(fake.workloadPath('nope')), 'CPLN_NOT_FOUND');
    assert.match(e404.message, /workload\/nope: HTTP 404/);
    assert.equal(fake.requests.length - before404, 1, 'a 404 is not retried');
  });

  test('429 honours Retry-After; 500 then success is retried with backoff', async () => {
    const waits: number[] = [];
    const p = fake.workloadPath(WL);
    fake.fault('GET', p, { status: 429, headers: { 'retry-after': '3' } }, { status: 500 });
    const n = fake.requests.length;
    const w = await fastClient(fake, waits).getJson<{ name: string }>(p);
    assert.equal(w.name, WL);
    assert.equal(fake.requests.length - n, 3, '429, 500, then 200');
    assert.equal(waits[0], 3000, 'the wait after the 429 is its Retry-After');
    assert.ok(waits[1]! > 0 && waits[1]! < 3000, `backoff after the 500: ${waits[1]}`);
  });

  test('5xx every time ends in CPLN_UNAVAILABLE after the attempts; malformed bodies are CPLN_BAD_RESPONSE', async () => {
    const p = fake.workloadPath(WL);
    fake.fault('GET', p, { status: 502 }, { status: 502 }, { status: 503 }, { status: 500 });
    const e = await rejects(fastClient(fake).getJson(p), 'CPLN_UNAVAILABLE');
    assert.equal(e.retryable, true);
    fake.fault('GET', p, { status: 200, body: '<html>gateway</html>' });
    await rejects(fastClient(fake).getJson(p), 'CPLN_BAD_RESPONSE');
    fake.fault('GET', `${p}/deployment`, { status: 200, body: '{"items": [' });
    await rejects(fastClient(fake).getJson(`${p}/deployment`), 'CPLN_BAD_RESPONSE');
  });
});

describe('discovery', () => {
  test('names and count from minScale; deployment versions are not replicas; probes classify each replica', async () => {
    fake.workloads.set(WL, statefulWorkload(3, 4, 2));
    // two workload VERSIONS rolling, both ready: the original counted these as 2 replicas
    fake.deployments.set(WL, {
      kind: 'list',
      items: [
        {
          name: 'aws-us-east-1',
          status: {
            ready: false,
            versions: [
              { name: 'v7', ready: true, containers: { manticore: { resources: { replicas: 3, replicasReady: 2 } } } },
              { name: 'v8', ready: true, message: 'rolling out' },
            ],
          },
        },
      ],
    });
    const c = configOf(baseEnv(fake));
    const probed: string[] = [];
    const report = await discoverReplicas(fastClient(fake), c, (n) => {
      probed.push(n.name);
      const states = { 0: 'online', 1: 'searchd-down', 2: 'not-scheduled', 3: 'online' } as const;
      return Promise.resolve({ name: n.name, ordinal: n.ordinal, state: states[n.ordinal as 0 | 1 | 2 | 3] });
    });
    assert.equal(report.expected, 3);
    assert.equal(report.source, 'minScale');
    assert.deepEqual(
      report.nodes.map((n) => [n.name, n.mysql.host, n.mysql.port, n.apiAddress, n.agentUrl]),
      [0, 1, 2].map((i) => [`${WL}-${i}`, `${WL}-${i}.${WL}`, 9306, `${WL}-${i}.${WL}:9312`, `http://${WL}-${i}.${WL}:8080`]),
    );
    assert.deepEqual(probed.sort(), [0, 1, 2, 3].map((i) => `${WL}-${i}`), 'probed up to maxScale');
    assert.deepEqual(report.deployments, [{ location: 'aws-us-east-1', ready: false, message: 'manticore: 2/3 replicas ready; rolling out' }]);
    assert.ok(report.messages.some((m) => m.includes(`${WL}-1: searchd-down`)));
    assert.ok(report.messages.some((m) => m.includes(`${WL}-2: not-scheduled`)));
    assert.ok(report.messages.some((m) => m.includes(`${WL}-3 runs beyond the expected count`)));
  });

  test('REPLICA_COUNT wins; currentReplicaCount is the fallback when minScale is 0', async () => {
    fake.workloads.set(WL, statefulWorkload(3, 4));
    const none = () => Promise.resolve({ name: 'x', ordinal: 0, state: 'online' as const });
    const explicit = await discoverReplicas(fastClient(fake), configOf(baseEnv(fake, { REPLICA_COUNT: '5' })), none);
    assert.equal(explicit.nodes.length, 5);
    assert.equal(explicit.source, 'REPLICA_COUNT');
    fake.workloads.set(WL, statefulWorkload(0, 4, 2));
    const cur = await discoverReplicas(fastClient(fake), configOf(baseEnv(fake)), none);
    assert.equal(cur.expected, 2);
    assert.equal(cur.source, 'currentReplicaCount');
  });

  test('probeReplica: an answering agent is online, 503 is searchd-down, an unknown host is not scheduled', async () => {
    let status = 200;
    const agent: Server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { searchd: { reachable: status === 200 }, clusterStatus: 'primary', nodeState: 'synced' } }));
    });
    await new Promise<void>((r) => agent.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (agent.address() as AddressInfo).port;
      const node = { ...replicaNode({ workload: WL, ports: { mysql: 9306, api: 9312, http: 9308, agent: port } }, 0), agentUrl: `http://127.0.0.1:${port}` };
      assert.deepEqual(await probeReplica(node), { name: `${WL}-0`, ordinal: 0, state: 'online', clusterStatus: 'primary', nodeState: 'synced' });
      status = 503;
      assert.equal((await probeReplica(node)).state, 'searchd-down');
      const unknown = replicaNode({ workload: 'no-such-workload.invalid', ports: { mysql: 9306, api: 9312, http: 9308, agent: 8080 } }, 0);
      assert.equal((await probeReplica(unknown, 3000)).state, 'not-scheduled');
    } finally {
      agent.closeAllConnections();
      await new Promise<void>((r) => agent.close(() => r()));
    }
  });
});

describe('platform', () => {
  test('lists the replicas, keeps the last list while the API fails, and tells listeners about a scale change', async () => {
    fake.workloads.set(WL, statefulWorkload(3, 3));
    const platform = new ControlPlanePlatform({ config: configOf(baseEnv(fake)), logger: silentLogger(), client: fastClient(fake) });
    let changes = 0;
    platform.onChange(() => changes++);
    await platform.start();
    try {
      assert.deepEqual((await platform.listNodes()).map((n) => n.name), [`${WL}-0`, `${WL}-1`, `${WL}-2`]);
      const p = fake.workloadPath(WL);
      fake.fault('GET', p, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
      assert.equal((await platform.refresh()).length, 3, 'the last list while the API fails');
      assert.equal(changes, 0);
      fake.workloads.set(WL, statefulWorkload(5, 5));
      assert.equal((await platform.refresh()).length, 5);
      assert.equal(changes, 1, 'one change');
      assert.equal(platform.workloadFacts()?.expected, 5);
    } finally {
      await platform.stop();
    }
  });

  test('listNodes fails with the cause while no list was ever read', async () => {
    const platform = new ControlPlanePlatform({ config: configOf(baseEnv(fake, { WORKLOAD_NAME: 'missing-wl' })), logger: silentLogger(), client: fastClient(fake) });
    await rejects(platform.listNodes(), 'CPLN_NOT_FOUND');
  });
});

describe('jobs: cron workload commands', () => {
  function jobs(extra: Record<string, string> = {}, ids: string[] = []): ControlPlaneJobs {
    let i = 0;
    return new ControlPlaneJobs({
      client: fastClient(fake),
      config: configOf(baseEnv(fake, extra)),
      logger: silentLogger(),
      sleep: () => Promise.resolve(),
      newId: () => ids[i++] ?? `job-${i}`,
    });
  }

  test('start posts runCronWorkload with env overrides and reads the id from Location; get follows lifecycleStage', async () => {
    fake.cron.set(BACKUP_WL, { container: 'backup', env: {} });
    const j = jobs({}, ['j-start']);
    const job = await j.start({ action: 'backup', table: 'addresses', env: { TYPE: 'delta' } });
    const post = fake.requestsTo('POST', `${fake.workloadPath(BACKUP_WL)}/-command`).filter((r) => !r.path.endsWith('-query')).at(-1);
    assert.ok(post);
    assert.deepEqual(post.body, {
      type: 'runCronWorkload',
      spec: {
        location: 'aws-us-east-1',
        containerOverrides: [
          {
            name: 'backup',
            env: [
              { name: 'ACTION', value: 'backup' },
              { name: 'TYPE', value: 'delta' },
              { name: JOB_ID_ENV, value: 'j-start' },
              { name: 'DATASET', value: 'addresses' },
            ],
          },
        ],
      },
    });
    assert.match(job.id, /^cmd-\d+$/);
    assert.equal(job.phase, 'pending');
    fake.setStage(BACKUP_WL, job.id, 'running');
    assert.equal((await j.get(job.id)).phase, 'running');
    fake.setStage(BACKUP_WL, job.id, 'completed');
    const done = await j.get(job.id);
    assert.equal(done.phase, 'succeeded');
    assert.equal(done.table, 'addresses');
    assert.equal(done.action, 'backup');
    // a fresh instance finds the command by id on the configured workloads
    assert.equal((await jobs().get(job.id)).phase, 'succeeded');
    await rejects(jobs().get('cmd-404'), 'NOT_FOUND');
    assert.equal(commandIdFromLocation(`https://api.cpln.io/org/o/gvc/g/workload/w/-command/abc-123`), 'abc-123');
  });

  test('a running job of the same action and table is refused with CONFLICT and nothing is posted; listActive pages', async () => {
    fake.cron.set(BACKUP_WL, { container: 'backup', env: {} });
    fake.commands.set(BACKUP_WL, []);
    const j = jobs();
    const a = await j.start({ action: 'backup', table: 't1', env: {} });
    const b = await j.start({ action: 'backup', table: 't2', env: {} });
    const c = await j.start({ action: 'restore', table: 't1', env: {} });
    fake.setStage(BACKUP_WL, a.id, 'running');
    const posts = () => fake.requestsTo('POST', `${fake.workloadPath(BACKUP_WL)}/-command`).filter((r) => !r.path.includes('-query')).length;
    const before = posts();
    const err = await rejects(j.start({ action: 'backup', table: 't1', env: {} }), 'CONFLICT');
    assert.match(err.message, new RegExp(`backup job of t1 is already running on ${BACKUP_WL} \\(command ${a.id}\\)`));
    assert.equal(posts(), before, 'nothing posted');
    const active = await j.listActive();
    assert.deepEqual(active.map((x) => [x.id, x.action, x.table, x.phase]).sort(), [
      [a.id, 'backup', 't1', 'running'],
      [b.id, 'backup', 't2', 'pending'],
      [c.id, 'restore', 't1', 'pending'],
    ].sort());
    assert.ok(fake.requests.some((r) => r.path.includes('-command/-query?page=2')), 'the next page was followed');
    await rejects(jobs({ BACKUP_WORKLOAD: '' }).start({ action: 'backup', table: 't9', env: {} }), 'NOT_CONFIGURED');
    // a run started without an ACTION override does what the backup workload stores: a backup
    const now = new Date().toISOString();
    fake.commands.get(BACKUP_WL)!.push({ id: 'cmd-manual', type: 'runCronWorkload', lifecycleStage: 'running', created: now, lastModified: now, spec: { location: 'aws-us-east-1', containerOverrides: [{ name: 'backup', env: [{ name: 'DATASET', value: 't5' }] }] }, status: {} });
    await rejects(j.start({ action: 'backup', table: 't5', env: {} }), 'CONFLICT');
  });

  test('a POST whose answer is lost (500 after creating) is adopted, not run twice; 429 on POST is retried', async () => {
    fake.cron.set(BACKUP_WL, { container: 'backup', env: {} });
    fake.commands.set(BACKUP_WL, []);
    const path = `${fake.workloadPath(BACKUP_WL)}/-command`;
    fake.fault('POST', path, { status: 500, passThrough: true });
    const job = await jobs({}, ['lost-answer']).start({ action: 'backup', table: 'lost', env: {} });
    assert.equal(fake.commands.get(BACKUP_WL)?.length, 1, 'one command exists');
    assert.equal(job.id, fake.commands.get(BACKUP_WL)?.[0]?.id);
    fake.fault('POST', path, { status: 429, headers: { 'retry-after': '0' } });
    const again = await jobs().start({ action: 'backup', table: 'other', env: {} });
    assert.equal(fake.commands.get(BACKUP_WL)?.length, 2);
    assert.equal(again.table, 'other');
  });
});
