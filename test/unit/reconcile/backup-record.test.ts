/**
 * syncOperation (src/reconcile/backup.ts) mirrors a backup machine into its operation record: the step
 * whose final failure sends the machine down its failure path is recorded `failed` with the reason, and
 * the clean-up step after it as run to its end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syncOperation, type BackupEnv } from '../../../src/reconcile/backup.js';
import type { OperationRecord } from '../../../src/status/types.js';

function world() {
  let op: OperationRecord = { id: 'backup-1', kind: 'backup', key: 'table/c/items', requestedBy: 'test', requestedAt: new Date(0).toISOString(), state: 'running', steps: [] };
  let snap: { status: string; value: string; context: Record<string, unknown> } = { status: 'active', value: 'choosing', context: { operationId: 'backup-1', attempts: 0, maxAttempts: 3, durations: {}, startedAt: 0 } };
  let clock = 1_000;
  const env = {
    status: { operation: (id: string) => (id === op.id ? op : undefined), upsertOperation: (o: OperationRecord) => (op = o) },
    now: () => (clock += 10),
  } as unknown as BackupEnv;
  const entry = { actor: { getSnapshot: () => snap } } as never;
  return {
    to(value: string, status = 'active', extra: Record<string, unknown> = {}) {
      snap = { status, value, context: { ...snap.context, ...extra } };
      syncOperation(env, entry, 'backup');
      return op;
    },
  };
}

test('a step that fails for good is recorded failed with the reason; the clean-up after it succeeded', () => {
  const w = world();
  w.to('choosing');
  w.to('snapshotting');
  w.to('uploading');
  w.to('cleaningAfterFailure', 'active', { failure: 'upload of x failed: ECONNRESET' });
  const op = w.to('failed', 'done');
  assert.equal(op.state, 'failed');
  assert.equal(op.error, 'upload of x failed: ECONNRESET');
  assert.deepEqual(
    op.steps.map((s) => [s.name, s.state]),
    [
      ['choose a healthy node', 'succeeded'],
      ['manticore-backup on the node', 'succeeded'],
      ['upload archive and manifest', 'failed'],
      ['remove the working dir', 'succeeded'],
    ],
  );
  assert.equal(op.steps[2]?.message, 'upload of x failed: ECONNRESET');
});

test('a successful backup records every step succeeded', () => {
  const w = world();
  for (const s of ['choosing', 'snapshotting', 'uploading', 'cleaning']) w.to(s);
  const op = w.to('done', 'done');
  assert.equal(op.state, 'succeeded');
  assert.ok(op.steps.every((s) => s.state === 'succeeded'), JSON.stringify(op.steps));
});

test('a failure whose machine ends at once marks the running step failed', () => {
  const w = world();
  w.to('choosing');
  const op = w.to('failed', 'done', { failure: 'no healthy node' });
  assert.deepEqual(op.steps.map((s) => [s.name, s.state, s.message]), [['choose a healthy node', 'failed', 'no healthy node']]);
});
