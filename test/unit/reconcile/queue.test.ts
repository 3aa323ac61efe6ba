import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../../src/lib/clock.js';
import { WorkQueue, type PassResult } from '../../../src/reconcile/queue.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets queued microtasks and promise callbacks run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

function recorder(behaviour: (key: string, n: number) => Promise<PassResult> | PassResult = () => undefined) {
  const runs: string[] = [];
  const counts = new Map<string, number>();
  const handler = async (key: string): Promise<PassResult> => {
    runs.push(key);
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return behaviour(key, n);
  };
  return { runs, handler };
}

test('a key queued twice before it starts runs once', async () => {
  const clock = new FakeClock();
  const gate = deferred();
  const r = recorder((key) => (key === 'block' ? gate.promise : undefined));
  const q = new WorkQueue({ handler: r.handler, concurrency: 1, clock });
  q.add('block');
  q.add('cluster/main');
  q.add('cluster/main');
  q.add('cluster/main');
  assert.equal(q.length(), 1);
  gate.resolve();
  await q.whenIdle();
  assert.deepEqual(r.runs, ['block', 'cluster/main']);
});

test('a key added while its pass runs is run again after it, once', async () => {
  const clock = new FakeClock();
  const gates = [deferred(), deferred()];
  let active = 0;
  let maxActive = 0;
  const r = recorder(async (_key, n) => {
    active++;
    maxActive = Math.max(maxActive, active);
    await gates[n - 1]?.promise;
    active--;
  });
  const q = new WorkQueue({ handler: r.handler, concurrency: 4, clock });
  q.add('k');
  await settle();
  assert.deepEqual(q.inFlight(), ['k']);
  q.add('k');
  q.add('k');
  await settle();
  assert.equal(r.runs.length, 1, 'the second pass waits for the first');
  gates[0]?.resolve();
  await settle();
  assert.equal(r.runs.length, 2);
  gates[1]?.resolve();
  await q.whenIdle();
  assert.deepEqual(r.runs, ['k', 'k']);
  assert.equal(maxActive, 1, 'never two passes of one key at once');
});

test('concurrency bounds passes across keys', async () => {
  const clock = new FakeClock();
  const gate = deferred();
  const r = recorder(() => gate.promise);
  const q = new WorkQueue({ handler: r.handler, concurrency: 2, clock });
  for (const k of ['a', 'b', 'c', 'd']) q.add(k);
  await settle();
  assert.deepEqual(q.inFlight().sort(), ['a', 'b']);
  assert.equal(q.length(), 2);
  gate.resolve();
  await q.whenIdle();
  assert.deepEqual(r.runs, ['a', 'b', 'c', 'd']);
});

test('addAfter: the earliest of several delays wins, and the key runs once', async () => {
  const clock = new FakeClock(1_000);
  const r = recorder();
  const q = new WorkQueue({ handler: r.handler, clock });
  q.addAfter('k', 5_000);
  q.addAfter('k', 2_000);
  q.addAfter('k', 9_000);
  assert.equal(q.delayedUntil('k'), 3_000);
  clock.advance(1_999);
  await settle();
  assert.deepEqual(r.runs, []);
  clock.advance(1);
  await q.whenIdle();
  assert.deepEqual(r.runs, ['k']);
  clock.advance(60_000);
  await q.whenIdle();
  assert.deepEqual(r.runs, ['k'], 'the later delays were dropped');
  assert.equal(clock.pendingTimers(), 0);
});

test('a failing pass backs off exponentially up to the cap, and success forgets the failures', async () => {
  const clock = new FakeClock();
  let failUntil = 10;
  const r = recorder((_k, n) => {
    if (n <= failUntil) throw new Error(`boom ${n}`);
  });
  const q = new WorkQueue({ handler: r.handler, clock, backoffBaseMs: 200, backoffMaxMs: 30_000 });
  q.add('k');
  await q.whenIdle();
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    const due = q.delayedUntil('k');
    assert.ok(due !== undefined, `a retry is scheduled after failure ${i + 1}`);
    delays.push(due - clock.now());
    clock.advance(due - clock.now());
    await q.whenIdle();
  }
  assert.deepEqual(delays, [200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000]);
  assert.equal(r.runs.length, 11);
  assert.equal(q.numRequeues('k'), 0, 'the successful 11th pass forgot the failures');
  assert.equal(q.delayedUntil('k'), undefined);
  failUntil = 12;
  q.add('k');
  await q.whenIdle();
  assert.equal(q.delayedUntil('k')! - clock.now(), 200, 'backoff starts again from the base');
});

test('a pass returning requeueAfterMs is run again after that delay', async () => {
  const clock = new FakeClock();
  const r = recorder((_k, n) => (n === 1 ? { requeueAfterMs: 2_000 } : undefined));
  const q = new WorkQueue({ handler: r.handler, clock });
  q.add('k');
  await q.whenIdle();
  assert.equal(q.delayedUntil('k'), 2_000);
  clock.advance(2_000);
  await q.whenIdle();
  assert.deepEqual(r.runs, ['k', 'k']);
});

test('shutdown waits for passes in flight and drops queued and delayed work', async () => {
  const clock = new FakeClock();
  const gate = deferred();
  let finished = false;
  const r = recorder(async (key) => {
    if (key === 'slow') {
      await gate.promise;
      finished = true;
    }
  });
  const q = new WorkQueue({ handler: r.handler, concurrency: 1, clock });
  q.add('slow');
  q.add('queued');
  q.addAfter('later', 1_000);
  await settle();
  let done = false;
  const stopping = q.shutdown().then(() => (done = true));
  await settle();
  assert.equal(done, false, 'shutdown waits for the pass in flight');
  gate.resolve();
  await stopping;
  assert.equal(finished, true);
  clock.advance(5_000);
  q.add('after-shutdown');
  await settle();
  assert.deepEqual(r.runs, ['slow']);
});
