/** The restore machine with fake actors: delta and main paths, refusals before any change, flip rollback. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor, waitFor } from 'xstate';
import { AppError } from '../../../../src/lib/errors.js';
import { stepActors } from '../../../../src/machines/backup/step-machine.js';
import { restoreMachine, type RestoreContext, type RestoreInput } from '../../../../src/machines/restore/restore.machine.js';

const WAIT_MS = 5_000;
const base: RestoreInput = { operationId: 'restore-1', clusterName: 'c', table: 't', filename: 't_delta-2025-01-28T22-50-49Z.tar.gz', type: 'delta', clusterMain: false, nodes: ['n0', 'n1'], now: 0 };
const STEPS = ['fetching', 'replacingDelta', 'verifyingDelta', 'choosingSlots', 'droppingStale', 'importingSlot', 'verifyingSlot', 'flipping', 'verifyingServe', 'droppingOld', 'rollingBack', 'droppingNew', 'cleaning', 'cleaningAfterFailure'];

function run(input: RestoreInput, overrides: Record<string, (c: RestoreContext) => Promise<Partial<RestoreContext>>> = {}) {
  const calls: string[] = [];
  const impl: Record<string, (c: RestoreContext) => Promise<Partial<RestoreContext>>> = {};
  for (const s of STEPS) {
    impl[s] = async (c) => {
      calls.push(s);
      const o = overrides[s];
      if (o) return o(c);
      if (s === 'fetching') return { restoreDir: '/r', importPath: '/r/x/t_delta', rows: 5 };
      if (s === 'choosingSlots') return { oldSlot: 'a', newSlot: 'b' };
      return {};
    };
  }
  const actor = createActor(restoreMachine.provide({ actors: stepActors<RestoreContext>(impl, 0) as never }), { input }).start();
  return { calls, done: waitFor(actor, (s) => s.status === 'done', { timeout: WAIT_MS }) };
}

test('delta: fetch → replace → verify → clean', async () => {
  const r = run(base);
  const end = await r.done;
  assert.equal(end.value, 'done');
  assert.deepEqual(r.calls, ['fetching', 'replacingDelta', 'verifyingDelta', 'cleaning']);
});

test('main: into the inactive slot, verify, flip, verify serving, drop the old slot', async () => {
  const r = run({ ...base, type: 'main', filename: 't_main_a-2025-01-28T22-50-49Z.tar.gz' });
  const end = await r.done;
  assert.equal(end.value, 'done');
  assert.deepEqual(r.calls, ['fetching', 'choosingSlots', 'droppingStale', 'importingSlot', 'verifyingSlot', 'flipping', 'verifyingServe', 'droppingOld', 'cleaning']);
  assert.equal(end.context.oldSlot, 'a');
  assert.equal(end.context.newSlot, 'b');
});

test('a refused archive ends the restore before anything is dropped', async () => {
  const r = run(base, {
    fetching: async () => {
      throw new AppError('ARCHIVE_CORRUPTED', 'x is corrupted or truncated: refused, nothing was changed');
    },
  });
  const end = await r.done;
  assert.equal(end.value, 'failed');
  assert.deepEqual(r.calls, ['fetching', 'cleaningAfterFailure'], 'no retry, no drop');
  assert.match(end.context.failure ?? '', /corrupted/);
  assert.notEqual(end.context.changed, true);
});

test('a flip that keeps failing rolls back, drops the new slot and fails with the flip error', async () => {
  const r = run({ ...base, type: 'main', maxAttempts: 2 }, {
    flipping: async () => {
      throw new AppError('FLIP_FAILED', 'n1 refused', { retryable: true });
    },
  });
  const end = await r.done;
  assert.equal(end.value, 'failed');
  assert.deepEqual(r.calls.slice(-5), ['flipping', 'flipping', 'rollingBack', 'droppingNew', 'cleaningAfterFailure']);
  assert.match(end.context.failure ?? '', /n1 refused/);
});
