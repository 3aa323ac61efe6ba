/**
 * Two `controller` processes with PLATFORM=kubernetes against the loopback Kubernetes API (fake-kube.ts),
 * through a kubeconfig file: one takes the Lease and runs the controller (ManticoreTable status written),
 * the other stands by and forwards API requests to it; SIGTERM of the leader releases the Lease and the
 * standby takes over and answers by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONTROLLER_SCRIPT, freePort } from '../../helpers/controller-process.js';
import { removeDir, tempDir } from '../../unit/agent/helpers.js';
import { FakeKube, type Obj } from './fake-kube.js';

const NS = 'search';
const TABLES = `/apis/manticore.orchestrator.dev/v1alpha1/namespaces/${NS}/manticoretables`;
const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
const TOKEN = 'k8s-controller-test-token-0123456789';
const TIMEOUTS = { start: 20_000, takeover: 15_000, exit: 15_000 } as const;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function holder(kube: FakeKube): string | undefined {
  return ((kube.get(LEASES, 'manticore-orchestrator')?.spec ?? {}) as { holderIdentity?: string | null }).holderIdentity ?? undefined;
}

async function get(port: number, pathname: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${pathname}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

test('two controller processes: one leads through the Lease, the standby forwards; SIGTERM hands over', async (t) => {
  const kube = new FakeKube();
  await kube.start();
  t.after(() => kube.stop());
  const dir = tempDir('mo-k8s-ctl-');
  t.after(() => removeDir(dir));
  // no Manticore pods: the controller waits for nodes (NoNodes); specs and status still flow
  kube.put(`/apis/apps/v1/namespaces/${NS}/statefulsets`, { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'manticore' }, spec: { replicas: 0, serviceName: 'manticore' } });
  kube.put(TABLES, { apiVersion: 'manticore.orchestrator.dev/v1alpha1', kind: 'ManticoreTable', metadata: { name: 'products' }, spec: { columns: [{ name: 'title', type: 'text' }] } } as Obj);
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${kube.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: sa\n  user:\n    token: fake-service-account-token',
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: sa',
      'current-context: fake',
      '',
    ].join('\n'),
  );

  const procs = new Map<string, { child: ChildProcess; port: number; exited: Promise<number | null>; log: string[] }>();
  const start = async (identity: string): Promise<void> => {
    const port = await freePort();
    const dataDir = path.join(dir, identity);
    mkdirSync(path.join(dataDir, 'specs'), { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, PLATFORM: 'kubernetes', KUBECONFIG: kubeconfig, K8S_NAMESPACE: NS, K8S_LEASE_DURATION: '3s', POD_NAME: identity, POD_IP: '127.0.0.1', ORCHESTRATOR_LISTEN: `127.0.0.1:${port}`, ORCHESTRATOR_DATA_DIR: dataDir, SPECS_DIR: path.join(dataDir, 'specs'), ORCHESTRATOR_TOKEN: TOKEN, LOG_FORMAT: 'json', LOG_LEVEL: 'info' };
    for (const k of ['NODES', 'TABLES_CONFIG', 'AUTH_TOKEN', 'DATA_DIR', 'KUBERNETES_SERVICE_HOST', 'BACKUP_BUCKET']) delete env[k];
    const child = spawn(process.execPath, [CONTROLLER_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    child.stdout?.on('data', (c: Buffer) => log.push(c.toString()));
    child.stderr?.on('data', (c: Buffer) => log.push(c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    procs.set(identity, { child, port, exited, log });
  };
  t.after(() => {
    for (const p of procs.values()) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });
  await start('ctrl-a');
  await start('ctrl-b');

  const leader = await waitFor('a leader', () => holder(kube), TIMEOUTS.start);
  const standby = leader === 'ctrl-a' ? 'ctrl-b' : 'ctrl-a';
  const L = procs.get(leader)!;
  const S = procs.get(standby)!;
  // the leader runs the controller: its API answers, and the ManticoreTable gets a status
  await waitFor('the leader API', async () => (await get(L.port, '/api/tables').catch(() => undefined))?.status === 200, TIMEOUTS.start);
  const obj = await waitFor('the ManticoreTable status', () => {
    const o = kube.get(TABLES, 'products');
    return (o?.status as { table?: string } | undefined)?.table === 'products' ? o : undefined;
  }, TIMEOUTS.start);
  assert.equal((obj.status as { conditions: Array<{ type: string; status: string }> }).conditions.find((c) => c.type === 'SpecInvalid')?.status, 'False');
  // the standby forwards to the leader: the same table list
  const viaStandby = await waitFor('the standby to forward', async () => {
    const r = await get(S.port, '/api/tables').catch(() => undefined);
    return r?.status === 200 ? r : undefined;
  }, TIMEOUTS.start);
  assert.deepEqual(viaStandby.body, (await get(L.port, '/api/tables')).body);
  assert.equal(holder(kube), leader, 'the standby never took the Lease');

  // SIGTERM: the leader stops, releases the Lease; the standby takes over and serves by itself
  L.child.kill('SIGTERM');
  assert.equal(await L.exited, 0, L.log.join(''));
  await waitFor('the standby to take over', () => holder(kube) === standby, TIMEOUTS.takeover);
  // the old leader is gone, so a 200 is the new leader's own answer
  await waitFor('the new leader API', async () => (await get(S.port, '/api/tables').catch(() => undefined))?.status === 200, TIMEOUTS.takeover);
  assert.match(S.log.join(''), /controller started \(leader\)/);
  S.child.kill('SIGTERM');
  assert.equal(await S.exited, 0, S.log.join(''));
  assert.equal(holder(kube), undefined, 'the last leader released the Lease');
});
