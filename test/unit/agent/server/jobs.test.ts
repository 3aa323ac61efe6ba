/** Jobs with an in-process test kind (the indexer kind runs a real binary: test/integration/agent). */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AGENT_STOPPED, JobFailure, JobManager, canonicalJson, type JobContext, type JobKind } from '../../../../src/agent/server/jobs.js';
import { ValidationError } from '../../../../src/lib/errors.js';
import { silentLogger } from '../../../../src/lib/logger.js';
import type { JobStatus } from '../../../../src/agent/protocol.js';
import { authHeaders, removeDir, startTestAgent, tempDir, type TestAgent } from '../helpers.js';

const dirs: string[] = [];
function dir(): string {
  const d = tempDir('jobs');
  dirs.push(d);
  return d;
}
after(() => dirs.forEach(removeDir));

/** `wait`: runs until released or cancelled; `fail` fails with a result. */
function waitKind(): { kind: JobKind; release: (id: string) => void } {
  const releases = new Map<string, () => void>();
  const kind: JobKind<{ steps: number; fail: boolean }> = {
    name: 'wait',
    validate(p) {
      if (p['steps'] !== undefined && typeof p['steps'] !== 'number') throw new ValidationError('params.steps', 'must be a number');
      return { steps: typeof p['steps'] === 'number' ? p['steps'] : 1, fail: p['fail'] === true };
    },
    async run(params, ctx: JobContext) {
      ctx.report(0.5, 'half way');
      if (params.fail) throw new JobFailure('it failed on purpose', { exitCode: 3 });
      await new Promise<void>((resolve, reject) => {
        if (ctx.signal.aborted) reject(new Error('aborted'));
        releases.set(ctx.id, resolve);
        ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
      return { steps: params.steps };
    },
  };
  return { kind: kind as unknown as JobKind, release: (id) => releases.get(id)?.() };
}

async function waitState(
  get: () => JobStatus | undefined | Promise<JobStatus | undefined>,
  state: string,
  extra: (j: JobStatus) => boolean = () => true,
): Promise<JobStatus> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const j = await get();
    if (j?.state === state && extra(j)) return j;
    if (Date.now() > deadline) throw new Error(`job did not reach ${state}; last ${JSON.stringify(j)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('canonicalJson', () => {
  test('key order does not matter, values do', () => {
    assert.equal(canonicalJson({ a: 1, b: [1, { y: 2, x: 1 }] }), canonicalJson({ b: [1, { x: 1, y: 2 }], a: 1 }));
    assert.notEqual(canonicalJson({ a: 1 }), canonicalJson({ a: '1' }));
  });
});

describe('JobManager', () => {
  test('idempotent by id, conflict on different params, success with result and progress, persisted as JSON', async () => {
    const d = dir();
    const { kind, release } = waitKind();
    const jobs = await JobManager.open({ dir: d, kinds: [kind], logger: silentLogger() });
    const first = await jobs.start({ id: 'op1-n0', kind: 'wait', params: { steps: 2 } });
    assert.equal(first.created, true);
    const again = await jobs.start({ id: 'op1-n0', kind: 'wait', params: { steps: 2 } });
    assert.equal(again.created, false);
    assert.equal(again.job.id, 'op1-n0');
    await assert.rejects(jobs.start({ id: 'op1-n0', kind: 'wait', params: { steps: 3 } }), (e: { code: string; status: number }) => {
      assert.equal(e.code, 'JOB_CONFLICT');
      assert.equal(e.status, 409);
      return true;
    });
    const running = await waitState(() => jobs.get('op1-n0'), 'running', (j) => j.message !== undefined);
    assert.equal(running.progress, 0.5);
    assert.equal(running.message, 'half way');
    release('op1-n0');
    const done = await waitState(() => jobs.get('op1-n0'), 'succeeded');
    assert.deepEqual(done.result, { steps: 2 });
    assert.equal(done.progress, 1);
    assert.ok(done.startedAt && done.finishedAt);
    await jobs.close();
    const file = path.join(d, 'jobs', 'op1-n0.json');
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).state, 'succeeded');
  });

  test('a failure keeps its result; invalid requests are ValidationErrors naming the field', async () => {
    const d = dir();
    const { kind } = waitKind();
    const jobs = await JobManager.open({ dir: d, kinds: [kind], logger: silentLogger() });
    await jobs.start({ id: 'f1', kind: 'wait', params: { fail: true } });
    const failed = await waitState(() => jobs.get('f1'), 'failed');
    assert.equal(failed.error, 'it failed on purpose');
    assert.deepEqual(failed.result, { exitCode: 3 });
    await assert.rejects(jobs.start({ id: '../etc', kind: 'wait', params: {} }), /^ValidationError: id: /);
    await assert.rejects(jobs.start({ id: 'x', kind: 'exec', params: { cmd: 'rm -rf /' } }), /kind: must be one of wait .*arbitrary commands are not allowed/);
    await assert.rejects(jobs.start({ id: 'x', kind: 'wait', params: { steps: 'two' } }), /params.steps: must be a number/);
    assert.equal(jobs.get('x'), undefined, 'a rejected request leaves no job');
    await jobs.close();
  });

  test('cancel stops a running job (state cancelled); cancelling a finished one returns it unchanged', async () => {
    const d = dir();
    const { kind } = waitKind();
    const jobs = await JobManager.open({ dir: d, kinds: [kind], logger: silentLogger() });
    await jobs.start({ id: 'c1', kind: 'wait', params: {} });
    await waitState(() => jobs.get('c1'), 'running');
    const cancelled = await jobs.cancel('c1');
    assert.equal(cancelled.state, 'cancelled');
    assert.equal((await jobs.cancel('c1')).state, 'cancelled');
    await assert.rejects(jobs.cancel('nope'), (e: { code: string }) => e.code === 'NOT_FOUND');
    await jobs.close();
  });

  test('finished jobs older than the retention are forgotten, with their files', async () => {
    const d = dir();
    const { kind, release } = waitKind();
    let now = new Date('2026-01-01T00:00:00Z');
    const jobs = await JobManager.open({ dir: d, kinds: [kind], logger: silentLogger(), now: () => now, retentionMs: 60_000 });
    await jobs.start({ id: 'old', kind: 'wait', params: {} });
    await waitState(() => jobs.get('old'), 'running', (j) => j.message !== undefined);
    release('old');
    await waitState(() => jobs.get('old'), 'succeeded');
    now = new Date('2026-01-01T00:00:30Z');
    assert.deepEqual(await jobs.prune(), [], 'not yet');
    now = new Date('2026-01-01T00:02:00Z');
    await jobs.start({ id: 'new', kind: 'wait', params: {} });
    assert.equal(jobs.get('old'), undefined);
    assert.equal(existsSync(path.join(d, 'jobs', 'old.json')), false);
    assert.ok(jobs.get('new'));
    await jobs.close();
  });

  test('stopping the agent fails its running jobs (not cancelled: nobody asked) and refuses new ones', async () => {
    const d = dir();
    const { kind } = waitKind();
    const jobs = await JobManager.open({ dir: d, kinds: [kind], logger: silentLogger() });
    await jobs.start({ id: 's1', kind: 'wait', params: {} });
    await waitState(() => jobs.get('s1'), 'running');
    await jobs.close();
    const j = jobs.get('s1');
    assert.equal(j?.state, 'failed');
    assert.equal(j?.error, AGENT_STOPPED);
    assert.equal(JSON.parse(readFileSync(path.join(d, 'jobs', 's1.json'), 'utf8')).state, 'failed');
    await assert.rejects(jobs.start({ id: 's2', kind: 'wait', params: {} }), /shutting down/);
  });

  test('a job running when the agent stopped is failed ("agent restarted") by the next agent', async () => {
    const d = dir();
    const { kind } = waitKind();
    const first = await JobManager.open({ dir: d, kinds: [kind], logger: silentLogger() });
    await first.start({ id: 'r1', kind: 'wait', params: {} });
    await waitState(() => first.get('r1'), 'running');
    // a second manager on the same dir is what a restarted agent sees (the first never finished)
    const second = await JobManager.open({ dir: d, kinds: [kind], logger: silentLogger() });
    const j = second.get('r1');
    assert.equal(j?.state, 'failed');
    assert.match(j?.error ?? '', /agent restarted/);
    assert.deepEqual(
      second.list().map((x) => x.id),
      ['r1'],
    );
    await first.close();
    await second.close();
    assert.ok(existsSync(path.join(d, 'jobs', 'r1.json')));
  });
});

describe('jobs over HTTP', () => {
  let agent: TestAgent | undefined;
  afterEach(async () => {
    await agent?.close();
    agent = undefined;
  });

  test('201 created, 200 for the same request, 409 JOB_CONFLICT, 404 unknown, cancel, list; envelopes', async () => {
    const { kind } = waitKind();
    agent = await startTestAgent({ dir: dir(), extraKinds: [kind] });
    const post = (body: unknown) =>
      agent!.fetch('/v1/jobs', { method: 'POST', headers: authHeaders({ 'content-type': 'application/json' }), body: JSON.stringify(body) });
    const created = await post({ id: 'h1', kind: 'wait', params: { steps: 1 } });
    assert.equal(created.status, 201);
    assert.equal((created.body as { data: JobStatus }).data.id, 'h1');
    const same = await post({ id: 'h1', kind: 'wait', params: { steps: 1 } });
    assert.equal(same.status, 200);
    const conflict = await post({ id: 'h1', kind: 'wait', params: { steps: 9 } });
    assert.equal(conflict.status, 409);
    assert.equal((conflict.body as { error: { code: string } }).error.code, 'JOB_CONFLICT');
    const bad = await post({ id: 'h2', kind: 'exec', params: {} });
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { error: { code: string } }).error.code, 'BAD_REQUEST');

    const missing = await agent.fetch('/v1/jobs/zzz', { headers: authHeaders() });
    assert.deepEqual(missing, { status: 404, body: { error: { code: 'NOT_FOUND', message: "no job 'zzz'" } } });
    const noRoute = await agent.fetch('/v1/nothing', { headers: authHeaders() });
    assert.equal(noRoute.status, 404);
    assert.equal((noRoute.body as { error: { code: string } }).error.code, 'NOT_FOUND');

    await waitState(() => agent!.client.job('h1'), 'running');
    const cancelled = await agent.client.cancelJob('h1');
    assert.equal(cancelled.state, 'cancelled');
    assert.deepEqual(
      (await agent.client.listJobs()).map((j) => [j.id, j.state]),
      [['h1', 'cancelled']],
    );
    // the client surfaces envelope codes as AppErrors
    await assert.rejects(agent.client.startJob({ id: 'h1', kind: 'wait', params: {} }), (e: { code: string; retryable: boolean }) => {
      assert.equal(e.code, 'JOB_CONFLICT');
      assert.equal(e.retryable, false);
      return true;
    });
  });
});
