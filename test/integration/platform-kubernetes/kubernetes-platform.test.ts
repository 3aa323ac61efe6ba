/**
 * The Kubernetes driver against a loopback server speaking the Kubernetes API paths it uses
 * (fake-kube.ts): StatefulSet pods as nodes, informers through watch restarts, bookmarks and 410 Gone,
 * ManticoreTables reaching the spec cache, /status patches through a 409 conflict, Jobs with labels and
 * conflict refusal, and Lease leader election between two electors (and the standby's forwarding).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesConfig } from '../../../src/config/kubernetes.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { isAppError } from '../../../src/lib/errors.js';
import { backupJobLauncher } from '../../../src/platform/index.js';
import { KubernetesPlatform } from '../../../src/platform/kubernetes/kubernetes-platform.js';
import { LeaseElector } from '../../../src/platform/kubernetes/lease.js';
import { runWithLeaderElection } from '../../../src/platform/kubernetes/leadership.js';
import { KubeRest } from '../../../src/platform/kubernetes/rest.js';
import type { Condition, OperationRecord, StatusEvent, TableStatusView } from '../../../src/status/types.js';
import { FakeKube, type Obj } from './fake-kube.js';

const NS = 'search';
const STS = `/apis/apps/v1/namespaces/${NS}/statefulsets`;
const PODS = `/api/v1/namespaces/${NS}/pods`;
const TABLES = `/apis/manticore.orchestrator.dev/v1alpha1/namespaces/${NS}/manticoretables`;
const JOBS = `/apis/batch/v1/namespaces/${NS}/jobs`;
const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
const SCHEDULES = `/apis/manticore.orchestrator.dev/v1alpha1/namespaces/${NS}/manticorebackupschedules`;

const TIMEOUTS = { condition: 8_000 } as const;

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number = TIMEOUTS.condition): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function restFor(kube: FakeKube): KubeRest {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: kube.url, skipTLSVerify: true }],
    users: [{ name: 'sa', token: 'test-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'sa' }],
    currentContext: 'fake',
  });
  return new KubeRest({ config: kc, requestTimeoutMs: 5_000 });
}

function config(overrides: Partial<KubernetesConfig> = {}): KubernetesConfig {
  return {
    namespace: NS,
    statefulSet: 'manticore',
    lease: 'manticore-orchestrator',
    leaseDurationMs: 15_000,
    identity: 'controller-0',
    jobImage: 'example.org/orchestrator:1.0',
    jobServiceAccount: 'manticore-orchestrator-job',
    jobSecret: 'manticore-orchestrator-backup',
    sharedClaim: 'manticore-shared',
    sharedPath: '/var/lib/orchestrator/shared',
    backupJobs: false,
    inCluster: false,
    ports: { mysql: 9306, api: 9312, http: 9308, agent: 8080 },
    ...overrides,
  };
}

function statefulSet(replicas: number): Obj {
  return { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'manticore', namespace: NS }, spec: { replicas, serviceName: 'manticore-hl', selector: { matchLabels: { app: 'manticore' } } } };
}

function pod(name: string, ready: boolean): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { app: 'manticore' } }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } };
}

function table(name: string, spec: Record<string, unknown>): Obj {
  return { apiVersion: 'manticore.orchestrator.dev/v1alpha1', kind: 'ManticoreTable', metadata: { name, namespace: NS }, spec };
}

async function startPlatform(kube: FakeKube, overrides: Partial<KubernetesConfig> = {}): Promise<KubernetesPlatform> {
  const platform = new KubernetesPlatform({
    config: config(overrides),
    rest: restFor(kube),
    logger: silentLogger(),
    watchTimeoutSeconds: 30,
    backoffMs: { initial: 20, max: 200 },
    syncWaitMs: 3_000,
    statusDebounceMs: 20,
  });
  await platform.start();
  return platform;
}

test('StatefulSet replicas are the nodes (a missing pod is still listed), addressed through the headless Service', async (t) => {
  const kube = new FakeKube();
  await kube.start();
  t.after(() => kube.stop());
  kube.put(STS, statefulSet(3));
  kube.put(PODS, pod('manticore-0', true));
  kube.put(PODS, pod('manticore-1', false));
  kube.put(PODS, pod('unrelated-0', true));
  const platform = await startPlatform(kube);
  t.after(() => platform.stop());

  const nodes = await platform.listNodes();
  assert.deepEqual(
    nodes.map((n) => [n.name, n.ordinal, n.mysql.host, n.mysql.port, n.apiAddress, n.agentUrl]),
    [0, 1, 2].map((i) => [`manticore-${i}`, i, `manticore-${i}.manticore-hl.${NS}.svc`, 9306, `manticore-${i}.manticore-hl.${NS}.svc:9312`, `http://manticore-${i}.manticore-hl.${NS}.svc:8080`]),
  );

  let changes = 0;
  platform.onChange(() => changes++);
  kube.put(STS, statefulSet(4));
  await waitFor('the scale-up to reach listNodes', async () => (await platform.listNodes()).length === 4);
  assert.ok(changes >= 1, 'onChange fired on the scale-up');
  const before = changes;
  kube.put(PODS, pod('manticore-1', true));
  await waitFor('a pod readiness change to fire onChange', () => changes > before);
  // requests carried the service account token
  assert.ok(kube.requests.length > 0);
});

test('informers restart ended watches from the last resourceVersion, follow bookmarks and relist after 410 Gone', async (t) => {
  const kube = new FakeKube();
  await kube.start();
  t.after(() => kube.stop());
  kube.put(STS, statefulSet(1));
  const platform = await startPlatform(kube);
  t.after(() => platform.stop());
  const inf = platform.pods;
  await waitFor('the pod watch', () => kube.watcherCount(PODS) === 1);

  kube.put(PODS, pod('manticore-0', true));
  await waitFor('the pod event', () => inf.get('manticore-0') !== undefined);

  // a watch the server ends: re-watched from the last version, no relist
  const lists = inf.stats.lists;
  const watches = inf.stats.watches;
  kube.endWatches();
  await waitFor('a new watch', () => inf.stats.watches > watches && kube.watcherCount(PODS) === 1);
  kube.put(PODS, pod('manticore-1', true));
  await waitFor('an event after the restart', () => inf.get('manticore-1') !== undefined);
  assert.equal(inf.stats.lists, lists, 'an ended watch restarts without a relist');
  const restartWatch = kube.requests.filter((r) => r.path === PODS && r.query.watch === 'true').at(-1);
  assert.ok(Number(restartWatch?.query.resourceVersion) > 0, 'the restarted watch names the last resourceVersion');
  assert.equal(restartWatch?.query.allowWatchBookmarks, 'true');

  // bookmarks move the resourceVersion
  kube.bookmark(PODS);
  await waitFor('the bookmark', () => inf.stats.bookmarks > 0);

  // history compacted while disconnected, and an object deleted meanwhile: 410 → relist, the cache drops it
  kube.endWatches();
  kube.compact();
  kube.remove(PODS, 'manticore-0');
  kube.compact();
  await waitFor('the relist after 410 Gone', () => inf.stats.gone > 0 && inf.stats.lists > lists);
  await waitFor('the relisted cache', () => inf.get('manticore-0') === undefined && inf.get('manticore-1') !== undefined);
});

class FakeStatus {
  views = new Map<string, TableStatusView>();
  ops: OperationRecord[] = [];
  private listeners = new Set<(e: StatusEvent) => void>();
  table(name: string): TableStatusView | undefined {
    return this.views.get(name);
  }
  operations(): OperationRecord[] {
    return this.ops;
  }
  subscribe(l: (e: StatusEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  changed(): void {
    for (const l of this.listeners) l({ type: 'operation', at: new Date().toISOString(), operation: this.ops[0]! });
  }
}

test('ManticoreTables reach the spec cache; invalid ones get SpecInvalid naming the field; /status is patched through a 409 conflict', async (t) => {
  const kube = new FakeKube();
  await kube.start();
  t.after(() => kube.stop());
  kube.put(STS, statefulSet(3));
  kube.put(TABLES, table('products', { columns: [{ name: 'title', type: 'text' }], settings: { min_infix_len: 2 } }));
  kube.put(TABLES, table('broken', { columns: [{ name: 'title', type: 'txet' }] }));
  const platform = await startPlatform(kube);
  t.after(() => platform.stop());

  const specs = platform.specSource({ specs: () => [], problems: () => [], onChange: () => () => undefined });
  assert.deepEqual(specs.specs().map((s) => [s.spec.name, s.origin.kind, s.origin.ref, s.generation]), [['products', 'crd', `${NS}/products`, 1]]);
  const problem = specs.problems().find((p) => p.table === 'broken');
  assert.ok(problem !== undefined, 'the invalid object has a problem');
  assert.equal(problem.pointer, '/spec/columns/0/type');

  // a new object and an edit reach the cache through the watch; metadata.name supplies the table name
  let changed = 0;
  specs.onChange(() => changed++);
  kube.put(TABLES, table('order-lines', { columns: [{ name: 'sku', type: 'string' }] }));
  await waitFor('the new object in the cache', () => specs.get('order_lines') !== undefined);
  kube.put(TABLES, table('products', { columns: [{ name: 'title', type: 'text' }, { name: 'price', type: 'float' }] }));
  await waitFor('the edit in the cache', () => specs.get('products')?.generation === 2);
  assert.deepEqual(specs.get('products')?.spec.columns.map((c) => c.name), ['title', 'price']);
  assert.ok(changed >= 2);

  // status: one 409 first, then the patch carries the re-read version
  const status = new FakeStatus();
  const converged: Condition = { type: 'TablesConverged', status: 'True', reason: 'Converged', message: 'every node has the tables', lastTransitionTime: '2026-01-01T00:00:00.000Z', observedGeneration: 2 };
  status.views.set('products', { name: 'products', spec: specs.get('products')!.spec, origin: specs.get('products')!.origin, generation: 2, activeSlot: 'b', nodes: [], conditions: [converged] });
  status.ops = [
    { id: 'op-1', kind: 'import', key: 'table/manticore/products', target: 'products', requestedBy: 'api', requestedAt: '2026-01-01T00:00:00.000Z', state: 'succeeded', steps: [], finishedAt: '2026-01-01T00:05:00.000Z', outcome: 'flipped to slot b' },
    { id: 'op-2', kind: 'backup', key: 'table/manticore/products', target: 'products', requestedBy: 'schedule', requestedAt: '2026-01-01T01:00:00.000Z', state: 'running', steps: [] },
  ];
  kube.injectConflict('PATCH', '/products/status');
  const writer = platform.startStatusWriter(status);
  const written = await waitFor('the products status', () => {
    const o = kube.get(TABLES, 'products');
    return (o?.status as { activeSlot?: string } | undefined)?.activeSlot === 'b' ? o : undefined;
  });
  const st = written.status as Record<string, unknown>;
  assert.equal(st.table, 'products');
  assert.equal(st.ready, 'True');
  assert.equal(st.observedGeneration, 2);
  assert.deepEqual(st.lastImport, { operationId: 'op-1', state: 'succeeded', requestedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:05:00.000Z', message: 'flipped to slot b' });
  assert.deepEqual(st.lastBackup, { operationId: 'op-2', state: 'running', requestedAt: '2026-01-01T01:00:00.000Z' });
  const conds = st.conditions as Condition[];
  assert.equal(conds.find((c) => c.type === 'TablesConverged')?.status, 'True');
  assert.equal(conds.find((c) => c.type === 'SpecInvalid')?.status, 'False');
  const patches = kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/products/status'));
  assert.equal(patches[0]?.status, 409, 'the first patch met a conflict');
  const ok = patches.find((r) => r.status === 200);
  assert.ok(ok !== undefined, 'a later patch succeeded');
  assert.equal(ok.contentType, 'application/merge-patch+json');
  const okBody = ok.body as { metadata: { resourceVersion: string } };
  assert.ok(kube.requests.some((r) => r.method === 'GET' && r.path === `${TABLES}/products`), 'the object was read again after the conflict');
  assert.ok(Number(okBody.metadata.resourceVersion) > 0, 'the patch carries the resourceVersion it was computed from');

  const broken = await waitFor('the broken status', () => {
    const o = kube.get(TABLES, 'broken');
    return (o?.status as { conditions?: Condition[] } | undefined)?.conditions !== undefined ? o : undefined;
  });
  const bst = broken.status as { ready: string; conditions: Condition[] };
  assert.equal(bst.ready, 'False');
  const invalid = bst.conditions.find((c) => c.type === 'SpecInvalid');
  assert.equal(invalid?.status, 'True');
  assert.match(invalid?.message ?? '', /\/spec\/columns\/0\/type/);

  // nothing changed → no further patch (once every object has its status)
  await waitFor('every object to have a status', () => kube.list(TABLES).every((o) => o.status !== undefined));
  await writer.pass();
  const count = writer.patches;
  await writer.pass();
  assert.equal(writer.patches, count, 'an unchanged status is not patched again');
});

function schedule(name: string, spec: Record<string, unknown>): Obj {
  return { apiVersion: 'manticore.orchestrator.dev/v1alpha1', kind: 'ManticoreBackupSchedule', metadata: { name, namespace: NS }, spec };
}

test('ManticoreBackupSchedules join their table\'s backups; invalid ones get problems naming the field; their status shows the last backup', async (t) => {
  const kube = new FakeKube();
  await kube.start();
  t.after(() => kube.stop());
  kube.put(STS, statefulSet(3));
  kube.put(TABLES, table('products', { columns: [{ name: 'title', type: 'text' }], backups: [{ name: 'nightly', type: 'main', schedule: '0 2 * * *' }] }));
  const platform = await startPlatform(kube);
  t.after(() => platform.stop());
  const specs = platform.specSource();
  assert.equal(specs.get('products')?.generation, 1);

  kube.put(SCHEDULES, schedule('hourly', { table: 'products', type: 'delta', schedule: '0 * * * *', keep: 3 }));
  kube.put(SCHEDULES, schedule('bad-type', { table: 'products', type: 'full', schedule: '0 * * * *' }));
  kube.put(SCHEDULES, schedule('orphan', { table: 'nope', type: 'delta', schedule: '@daily' }));
  kube.put(SCHEDULES, schedule('aged', { table: 'products', type: 'main', schedule: '0 3 * * *', maxAge: '30d' }));
  kube.put(SCHEDULES, schedule('nightly', { table: 'products', type: 'delta', schedule: '0 4 * * *' }));
  await waitFor('the schedule in the table spec', () => specs.get('products')?.spec.backups.some((b) => b.name === 'hourly'));
  await waitFor('every schedule evaluated', () => specs.scheduleState('nightly') !== undefined);
  assert.deepEqual(specs.get('products')?.spec.backups, [
    { name: 'nightly', type: 'main', schedule: '0 2 * * *' },
    { name: 'hourly', type: 'delta', schedule: '0 * * * *', keep: 3 },
  ]);
  assert.equal(specs.get('products')?.generation, 2, 'a schedule changes the table: its generation increases');
  const pointers = (name: string): string[] => specs.scheduleState(name)?.problems.map((p) => p.pointer) ?? [];
  assert.deepEqual(pointers('bad-type'), ['/spec/type']);
  assert.deepEqual(pointers('orphan'), ['/spec/table']);
  assert.deepEqual(pointers('aged'), ['/spec/maxAge']);
  assert.equal(pointers('nightly').length, 1, 'a name clash with a backup of the spec is a problem');
  assert.ok(specs.problems().some((p) => p.origin.ref === `${NS}/backupschedule/bad-type` && /delta/.test(p.message)));

  const status = new FakeStatus();
  status.ops = [{ id: 'op-9', kind: 'backup', key: 'table/manticore/products', target: 'products', requestedBy: 'schedule products/hourly', requestedAt: '2026-01-01T01:00:00.000Z', state: 'succeeded', finishedAt: '2026-01-01T01:00:09.000Z', steps: [] }];
  platform.startStatusWriter(status);
  const hourly = await waitFor('the hourly schedule status', () => (kube.get(SCHEDULES, 'hourly')?.status as Record<string, unknown> | undefined)?.lastBackup !== undefined && kube.get(SCHEDULES, 'hourly'));
  const hs = hourly.status as { observedGeneration: number; lastBackup: { operationId: string; state: string }; conditions: Condition[] };
  assert.equal(hs.observedGeneration, 1);
  assert.deepEqual([hs.lastBackup.operationId, hs.lastBackup.state], ['op-9', 'succeeded']);
  assert.equal(hs.conditions.find((c) => c.type === 'SpecInvalid')?.status, 'False');
  const bad = await waitFor('the bad schedule status', () => kube.get(SCHEDULES, 'bad-type')?.status !== undefined && kube.get(SCHEDULES, 'bad-type'));
  const invalid = (bad.status as { conditions: Condition[] }).conditions.find((c) => c.type === 'SpecInvalid');
  assert.equal(invalid?.status, 'True');
  assert.match(invalid?.message ?? '', /^\/spec\/type: /);
});

test('Jobs: labels and env name the action and table; a second active job of the same action and table is refused', async (t) => {
  const kube = new FakeKube();
  await kube.start();
  t.after(() => kube.stop());
  kube.put(STS, statefulSet(3));
  const platform = await startPlatform(kube);
  t.after(() => platform.stop());

  const job = await platform.jobs.start({ action: 'backup', table: 'products', env: { TYPE: 'delta', MANTICORE_HOST: 'manticore-0.manticore-hl.search.svc' } });
  assert.equal(job.action, 'backup');
  assert.equal(job.table, 'products');
  assert.equal(job.phase, 'pending');
  const stored = kube.get(JOBS, job.id);
  assert.ok(stored !== undefined, 'the Job exists');
  const labels = stored.metadata.labels ?? {};
  assert.equal(labels['app.kubernetes.io/component'], 'orchestrator-job');
  assert.equal(labels['app.kubernetes.io/instance'], 'manticore');
  assert.equal(labels['manticore.orchestrator.dev/action'], 'backup');
  assert.equal(labels['manticore.orchestrator.dev/table'], 'products');
  const spec = stored.spec as { backoffLimit: number; template: { spec: { restartPolicy: string; serviceAccountName: string; volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>; containers: Array<{ image: string; env: Array<{ name: string; value?: string; valueFrom?: unknown }>; envFrom: unknown[]; volumeMounts: Array<{ name: string; mountPath: string }> }> } } };
  assert.equal(spec.backoffLimit, 0);
  assert.equal(spec.template.spec.restartPolicy, 'Never');
  assert.equal(spec.template.spec.serviceAccountName, 'manticore-orchestrator-job');
  const container = spec.template.spec.containers[0]!;
  assert.equal(container.image, 'example.org/orchestrator:1.0');
  const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? e.valueFrom]));
  assert.equal(env.ACTION, 'backup');
  assert.equal(env.DATASET, 'products');
  assert.equal(env.TYPE, 'delta');
  assert.equal(env.MANTICORE_HOST, 'manticore-0.manticore-hl.search.svc');
  assert.deepEqual(env.AUTH_TOKEN, { secretKeyRef: { name: 'manticore-orchestrator-token', key: 'token' } });
  assert.deepEqual(container.envFrom, [{ secretRef: { name: 'manticore-orchestrator-backup', optional: true } }]);
  // the shared volume at the path the agents use, and the job told where it is
  assert.equal(env.SHARED_VOLUME_MOUNT, '/var/lib/orchestrator/shared');
  assert.deepEqual(container.volumeMounts.find((m) => m.name === 'shared'), { name: 'shared', mountPath: '/var/lib/orchestrator/shared' });
  assert.equal(spec.template.spec.volumes.find((v) => v.name === 'shared')?.persistentVolumeClaim?.claimName, 'manticore-shared');

  await assert.rejects(
    platform.jobs.start({ action: 'backup', table: 'products', env: {} }),
    (err: unknown) => isAppError(err) && err.code === 'CONFLICT' && err.message.includes(job.id),
  );
  // another table, or another action, is not a conflict
  const other = await platform.jobs.start({ action: 'backup', table: 'orders', env: {} });
  assert.equal((await platform.jobs.listActive()).length, 2);

  // phase from the Job status
  kube.put(JOBS, { ...stored, status: { active: 1, startTime: '2026-01-01T00:00:00Z' } });
  assert.equal((await platform.jobs.get(job.id)).phase, 'running');
  kube.put(JOBS, { ...kube.get(JOBS, job.id)!, status: { succeeded: 1, completionTime: '2026-01-01T00:01:00Z', conditions: [{ type: 'Complete', status: 'True' }] } });
  const done = await platform.jobs.get(job.id);
  assert.equal(done.phase, 'succeeded');
  assert.equal(done.finishedAt, '2026-01-01T00:01:00Z');
  kube.put(JOBS, { ...kube.get(JOBS, other.id)!, status: { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] } });
  const failed = await platform.jobs.get(other.id);
  assert.equal(failed.phase, 'failed');
  assert.match(failed.message ?? '', /BackoffLimitExceeded/);
  // finished: the same action and table may run again
  const again = await platform.jobs.start({ action: 'backup', table: 'products', env: {} });
  assert.notEqual(again.id, job.id);

  // backups go to Jobs only with K8S_BACKUP_JOBS=true
  assert.deepEqual(backupJobLauncher(platform), {});
  const withJobs = await startPlatform(kube, { backupJobs: true });
  t.after(() => withJobs.stop());
  const launcher = backupJobLauncher(withJobs).jobs;
  assert.ok(launcher !== undefined);
  const viaLauncher = await launcher.start({ action: 'backup', table: 'orders', env: { TYPE: 'main', SLOT: 'a' } });
  assert.equal(kube.get(JOBS, viaLauncher.id)?.metadata.labels?.['manticore.orchestrator.dev/table'], 'orders');
  assert.equal((await launcher.get(viaLauncher.id)).phase, 'pending');
});

test('Lease: of two electors only one leads; the other takes over once the first stops renewing, or at once on release', async (t) => {
  const kube = new FakeKube();
  await kube.start();
  t.after(() => kube.stop());
  const durationMs = 900;
  const elector = (identity: string): LeaseElector => new LeaseElector({ rest: restFor(kube), namespace: NS, name: 'manticore-orchestrator', identity, durationMs, url: `http://${identity}.example:8080`, logger: silentLogger() });
  const a = elector('controller-a');
  const b = elector('controller-b');
  const leading = new Set<string>();
  const events: string[] = [];
  const callbacks = (id: string) => ({
    onStartedLeading: () => {
      leading.add(id);
      events.push(`${id}+`);
    },
    onStoppedLeading: () => {
      leading.delete(id);
      events.push(`${id}-`);
    },
  });
  // a conflict on the first update is survived (the elector retries at its next tick)
  kube.injectConflict('PUT', '/leases/manticore-orchestrator');
  a.run(callbacks('a'));
  await waitFor('a leader', () => leading.size === 1);
  b.run(callbacks('b'));
  t.after(async () => {
    await a.stop();
    await b.stop();
  });
  // b keeps trying for several renew periods and never leads while a renews
  await new Promise((r) => setTimeout(r, durationMs * 2));
  assert.deepEqual([...leading], ['a']);
  assert.equal(a.isLeader, true);
  assert.equal(b.isLeader, false);
  assert.equal(b.leader()?.identity, 'controller-a');
  assert.equal(b.leader()?.url, 'http://controller-a.example:8080');
  const lease = kube.get(LEASES, 'manticore-orchestrator');
  assert.equal((lease?.spec as { holderIdentity: string }).holderIdentity, 'controller-a');

  // a stops renewing without releasing (a crash): b takes over after the lease expires
  await a.stop({ release: false });
  await waitFor('b to take over', () => b.isLeader, durationMs * 6);
  const taken = kube.get(LEASES, 'manticore-orchestrator')?.spec as { holderIdentity: string; leaseTransitions: number };
  assert.equal(taken.holderIdentity, 'controller-b');
  assert.equal(taken.leaseTransitions, 1);

  // release: a fresh elector takes over without waiting for expiry
  const c = elector('controller-c');
  let cLeads = false;
  c.run({ onStartedLeading: () => (cLeads = true), onStoppedLeading: () => (cLeads = false) });
  t.after(() => c.stop());
  await new Promise((r) => setTimeout(r, durationMs / 2));
  assert.equal(cLeads, false);
  await b.stop();
  assert.equal((kube.get(LEASES, 'manticore-orchestrator')?.spec as { holderIdentity: string | null }).holderIdentity ?? null, null);
  await waitFor('c to lead after the release', () => cLeads, durationMs);
});

test('standby forwards API requests to the leader and answers 503 NOT_LEADER while none is known', async (t) => {
  const kube = new FakeKube();
  await kube.start();
  t.after(() => kube.stop());
  // the "leader's API"
  const leaderApi = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { from: 'leader', path: req.url, auth: req.headers.authorization } }));
  });
  await new Promise<void>((r) => leaderApi.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => leaderApi.close(() => r())));
  const leaderUrl = `http://127.0.0.1:${(leaderApi.address() as AddressInfo).port}`;

  // another replica holds (and keeps renewing) the Lease before the standby starts
  const holder = new LeaseElector({ rest: restFor(kube), namespace: NS, name: 'manticore-orchestrator', identity: 'controller-a', durationMs: 900, url: leaderUrl, logger: silentLogger() });
  holder.run({ onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
  t.after(() => holder.stop());
  await waitFor('controller-a to lead', () => holder.isLeader);
  const standbyElector = new LeaseElector({ rest: restFor(kube), namespace: NS, name: 'manticore-orchestrator', identity: 'controller-b', durationMs: 900, logger: silentLogger() });

  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  let started = 0;
  const leadership = runWithLeaderElection({
    elector: standbyElector,
    identity: 'controller-b',
    listen: { host: '127.0.0.1', port },
    logger: silentLogger(),
    startLeader: () => {
      started++;
      return Promise.resolve({ stop: () => Promise.resolve() });
    },
    onLost: () => undefined,
  });
  await leadership.ready;
  t.after(() => leadership.stop());
  await waitFor('the standby to see the leader', () => standbyElector.leader()?.identity === 'controller-a');
  const res = await fetch(`http://127.0.0.1:${port}/api/tables?x=1`, { headers: { authorization: 'Bearer abc' } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { data: { from: 'leader', path: '/api/tables?x=1', auth: 'Bearer abc' } });

  // the leader's URL unreachable: 503 NOT_LEADER naming it
  await new Promise<void>((r) => leaderApi.close(() => r()));
  const down = await fetch(`http://127.0.0.1:${port}/api/tables`);
  assert.equal(down.status, 503);
  const body = (await down.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'NOT_LEADER');
  assert.match(body.error.message, /controller-a/);
  assert.equal(started, 0, 'the standby never ran the controller');
});
