import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobRequest, JobStatus } from '../../../../src/agent/protocol.js';
import { silentLogger } from '../../../../src/lib/logger.js';
import { applyBuildMain, applyCancelBuild, buildJobId, type BlueGreenImportDeps, type ImportAgent } from '../../../../src/machines/blue-green-import/blue-green-import.actors.js';
import type { NodeRef } from '../../../../src/platform/types.js';

const NODE: NodeRef = { name: 'node0', ordinal: 0, mysql: { host: '127.0.0.1', port: 9306 }, apiAddress: '127.0.0.1:9312', agentUrl: 'http://127.0.0.1:9500' };

/** An agent whose jobs are scripted: each id gets the listed states in turn. */
class FakeAgent implements ImportAgent {
  started: JobRequest[] = [];
  cancelled: string[] = [];
  constructor(private readonly script: Record<string, Partial<JobStatus>[]>) {}
  private next(id: string): JobStatus {
    const list = this.script[id];
    if (!list || list.length === 0) throw Object.assign(new Error(`no job ${id}: not found`), { status: 404 });
    const s = list.length > 1 ? list.shift()! : list[0]!;
    return { id, kind: 'build-main', state: 'running', createdAt: '2026-01-01T00:00:00Z', ...s };
  }
  async startJob(req: JobRequest): Promise<JobStatus> {
    this.started.push(req);
    return this.next(req.id);
  }
  async job(id: string): Promise<JobStatus> {
    return this.next(id);
  }
  async cancelJob(id: string): Promise<JobStatus> {
    const j = this.next(id);
    this.cancelled.push(id);
    return { ...j, state: 'cancelled' };
  }
}

function deps(agent: ImportAgent, progress: unknown[] = []): BlueGreenImportDeps {
  return {
    node: (n) => (n === 'node0' ? NODE : undefined),
    sql: () => {
      throw new Error('no SQL here');
    },
    agent: () => agent,
    distributed: () => ({ agents: [] }),
    buddy: () => true,
    buildSpec: () => ({ columns: [{ name: 'title', type: 'text' }], settings: {} }),
    onProgress: (_id, p) => progress.push(p),
    logger: silentLogger(),
    pollMs: 1,
  };
}

const input = {
  operationId: 'imp-1',
  clusterName: 'c',
  table: 'products',
  node: 'node0',
  slot: 'b' as const,
  build: { format: 'csv' as const, header: true, sources: ['/data/p.csv'], outDir: '/shared/imp-1' },
};

describe('blue-green-import actors: build', () => {
  it('starts the job with the contract params and waits for its result, reporting progress', async () => {
    const id = buildJobId('imp-1', 'node0');
    const agent = new FakeAgent({ [id]: [{ state: 'running', progress: 0.5 }, { state: 'succeeded', result: { rows: 42, bytes: 100, rtPrefix: '/shared/imp-1/rt/products_main_b', durationMs: 7 } }] });
    const progress: unknown[] = [];
    const r = await applyBuildMain(deps(agent, progress), input);
    assert.deepEqual(r, { rows: 42, bytes: 100, rtPrefix: '/shared/imp-1/rt/products_main_b', durationMs: 7 });
    assert.equal(agent.started.length, 1);
    assert.deepEqual(agent.started[0], {
      id,
      kind: 'build-main',
      params: { table: 'products', slot: 'b', columns: [{ name: 'title', type: 'text' }], settings: {}, format: 'csv', header: true, sources: ['/data/p.csv'], outDir: '/shared/imp-1' },
    });
    assert.ok(progress.some((p) => (p as { progress?: number }).progress === 0.5));
  });

  it('a failed job fails the build with its reason', async () => {
    const id = buildJobId('imp-1', 'node0');
    const agent = new FakeAgent({ [id]: [{ state: 'failed', error: '/data/p.csv line 7: expected 2 columns, got 3' }] });
    await assert.rejects(applyBuildMain(deps(agent), input), /line 7: expected 2 columns/);
  });

  it('a job lost to an agent restart is started again as the next generation', async () => {
    const id = buildJobId('imp-1', 'node0');
    const agent = new FakeAgent({
      [id]: [{ state: 'failed', error: 'agent restarted while the job was running; start it again with a new id' }],
      [buildJobId('imp-1', 'node0', 2)]: [{ state: 'succeeded', result: { rows: 3, bytes: 1, rtPrefix: '/shared/x', durationMs: 1 } }],
    });
    const r = await applyBuildMain(deps(agent), input);
    assert.equal(r.rows, 3);
    assert.deepEqual(agent.started.map((s) => s.id), [id, `${id}.2`]);
  });

  it('cancel reaches every generation that exists and skips a missing job', async () => {
    const id = buildJobId('imp-1', 'node0');
    const agent = new FakeAgent({ [id]: [{ state: 'failed', error: 'agent stopped while the job was running; start it again with a new id' }], [`${id}.2`]: [{ state: 'running' }] });
    const r = await applyCancelBuild(deps(agent), { operationId: 'imp-1', clusterName: 'c', table: 'products', node: 'node0' });
    assert.deepEqual(r.changed, ['node0']);
    assert.deepEqual(agent.cancelled, [id, `${id}.2`]);
    const none = await applyCancelBuild(deps(new FakeAgent({})), { operationId: 'imp-1', clusterName: 'c', table: 'products', node: 'node0' });
    assert.deepEqual(none.skipped, ['node0']);
  });
});
