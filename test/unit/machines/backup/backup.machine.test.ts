/** The backup machine with fake actors: order of steps, retries, final failures clean up, resume from a snapshot. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor, waitFor } from 'xstate';
import { AppError } from '../../../../src/lib/errors.js';
import { backupMachine, type BackupContext } from '../../../../src/machines/backup/backup.machine.js';
import { stepActors } from '../../../../src/machines/backup/step-machine.js';

const INPUT = { operationId: 'backup-1', clusterName: 'c', table: 't', type: 'delta' as const, now: 1_000 };
const WAIT_MS = 5_000;

function fakes(calls: string[], overrides: Partial<Record<string, (c: BackupContext) => Promise<Partial<BackupContext>>>> = {}) {
  const step = (name: string, patch: Partial<BackupContext>) => async (c: BackupContext) => {
    calls.push(name);
    const o = overrides[name];
    return o ? o(c) : patch;
  };
  return stepActors<BackupContext>(
    {
      choosing: step('choosing', { node: 'node0', fullTable: 't_delta', workDir: '/w', archive: 'a.tar.gz', archiveKey: 'b/a.tar.gz' }),
      snapshotting: step('snapshotting', { rows: 5, tableBytes: 100, tableFiles: 3 }),
      uploading: step('uploading', { archiveBytes: 50, sha256: 'ab' }),
      cleaning: step('cleaning', {}),
      cleaningAfterFailure: step('cleaningAfterFailure', {}),
    },
    0,
  );
}

test('a backup runs choose → snapshot → upload → clean and keeps the figures', async () => {
  const calls: string[] = [];
  const actor = createActor(backupMachine.provide({ actors: fakes(calls) as never }), { input: INPUT }).start();
  const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: WAIT_MS });
  assert.equal(snap.value, 'done');
  assert.deepEqual(calls, ['choosing', 'snapshotting', 'uploading', 'cleaning']);
  assert.equal(snap.context.rows, 5);
  assert.equal(snap.context.sha256, 'ab');
  assert.equal(snap.context.attempts, 0);
  assert.ok(snap.context.durations.uploading !== undefined, 'durations recorded per step');
});

test('a retryable failure is retried; a final one cleans up and fails with its reason', async () => {
  const calls: string[] = [];
  let n = 0;
  const flaky = createActor(
    backupMachine.provide({
      actors: fakes(calls, {
        uploading: async () => {
          if (++n < 2) throw new AppError('STORAGE_UPLOAD_FAILED', 'connection reset', { retryable: true });
          return { archiveBytes: 1, sha256: 'x' };
        },
      }) as never,
    }),
    { input: INPUT },
  ).start();
  const ok = await waitFor(flaky, (s) => s.status === 'done', { timeout: WAIT_MS });
  assert.equal(ok.value, 'done');
  assert.deepEqual(calls, ['choosing', 'snapshotting', 'uploading', 'uploading', 'cleaning']);

  const calls2: string[] = [];
  const failing = createActor(
    backupMachine.provide({
      actors: fakes(calls2, {
        snapshotting: async () => {
          throw new AppError('BACKUP_JOB_FAILED', 'manticore-backup exited with code 1');
        },
      }) as never,
    }),
    { input: INPUT },
  ).start();
  const end = await waitFor(failing, (s) => s.status === 'done', { timeout: WAIT_MS });
  assert.equal(end.value, 'failed');
  assert.deepEqual(calls2, ['choosing', 'snapshotting', 'cleaningAfterFailure'], 'a final error is not retried');
  assert.match(end.context.failure ?? '', /exited with code 1/);
});

test('retries stop at maxAttempts', async () => {
  const calls: string[] = [];
  const actor = createActor(
    backupMachine.provide({
      actors: fakes(calls, {
        choosing: async () => {
          throw new AppError('NO_HEALTHY_NODE', 'no node', { retryable: true });
        },
      }) as never,
    }),
    { input: { ...INPUT, maxAttempts: 3 } },
  ).start();
  const end = await waitFor(actor, (s) => s.status === 'done', { timeout: WAIT_MS });
  assert.equal(end.value, 'failed');
  assert.deepEqual(calls, ['choosing', 'choosing', 'choosing', 'cleaningAfterFailure']);
});

test('a persisted snapshot resumes at its step (the effect runs again, nothing before it)', async () => {
  const calls: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const first = createActor(
    backupMachine.provide({
      actors: fakes(calls, {
        uploading: async () => {
          await gate;
          return { archiveBytes: 1, sha256: 'x' };
        },
      }) as never,
    }),
    { input: INPUT },
  ).start();
  await waitFor(first, (s) => s.value === 'uploading', { timeout: WAIT_MS });
  const persisted = JSON.parse(JSON.stringify(first.getPersistedSnapshot())) as unknown;
  first.stop(); // the controller is SIGKILLed here
  release();
  const resumedCalls: string[] = [];
  const second = createActor(backupMachine.provide({ actors: fakes(resumedCalls) as never }), { snapshot: persisted } as never).start();
  const end = await waitFor(second, (s) => s.status === 'done', { timeout: WAIT_MS });
  assert.equal(end.value, 'done');
  assert.deepEqual(resumedCalls, ['uploading', 'cleaning']);
  assert.equal(end.context.node, 'node0');
});
