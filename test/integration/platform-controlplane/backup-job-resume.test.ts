/**
 * A controller restarted while a backup runs as a platform job: the operation record (persisted in the
 * status store) names the job in its `platform-job` step, so the table pass (reconcileBackups) follows
 * the job again instead of failing the record as an orphan; without a launcher (backups no longer run
 * as jobs) the record is failed with the reason, as for an in-process backup that lost its machine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { AppError } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { MachineRuntime } from '../../../src/machines/runtime/machine-runtime.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import type { PlatformJob, PlatformJobPhase } from '../../../src/platform/types.js';
import { reconcileBackups, type BackupEnv } from '../../../src/reconcile/backup.js';
import { PLATFORM_JOB_STEP, platformJobIdOf } from '../../../src/reconcile/backup-job.js';
import { waitFor } from '../../../src/sim/launcher.js';
import { FileStatusStore } from '../../../src/status/store.js';
import type { OperationRecord } from '../../../src/status/types.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function runningJobBackup(id: string, jobId: string): OperationRecord {
  const at = new Date().toISOString();
  return {
    id,
    kind: 'backup',
    key: 'table/c/products',
    target: 'products',
    requestedBy: 'test',
    requestedAt: at,
    state: 'running',
    steps: [
      { name: 'request', state: 'succeeded', startedAt: at, finishedAt: at },
      { name: PLATFORM_JOB_STEP, state: 'running', startedAt: at, message: `platform job ${jobId} (cron workload bk) backs up from n0: pending` },
    ],
    figures: {},
  };
}

function envWith(jobs: BackupEnv['jobs']): { env: BackupEnv; status: FileStatusStore; pools: ManticorePools } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cpln-resume-'));
  dirs.push(dir);
  const status = FileStatusStore.open({ dataDir: dir });
  const pools = new ManticorePools({ logger: silentLogger() });
  const env: BackupEnv = {
    clusterName: 'c',
    status,
    runtime: new MachineRuntime(dir, silentLogger()),
    pools,
    agentFor: () => {
      throw new Error('no agent in this test');
    },
    logger: silentLogger(),
    now: () => Date.now(),
    spec: () => undefined,
    listNodes: () => Promise.resolve([]),
    sharedDir: path.join(dir, 'shared'),
    store: () => {
      throw new Error('no store in this test');
    },
    archive: {} as BackupEnv['archive'],
    prefix: 'backups',
    ...(jobs ? { jobs } : {}),
  };
  return { env, status, pools };
}

test('after a restart the table pass follows the platform job named in the record to its end', async () => {
  let phase: PlatformJobPhase = 'running';
  const asked: string[] = [];
  const { env, status, pools } = envWith({
    description: 'cron workload bk',
    pollMs: 20,
    start: () => Promise.reject(new Error('not started here')),
    get: (id): Promise<PlatformJob> => {
      asked.push(id);
      return Promise.resolve({ id, action: 'backup', table: 'products', phase, message: `${phase} on bk` });
    },
  });
  try {
    status.upsertOperation(runningJobBackup('backup-1', 'cmd-42'));
    assert.equal(platformJobIdOf(status.operation('backup-1')!), 'cmd-42');
    const pass = reconcileBackups(env, 'products', []);
    assert.equal(pass.backingUp, true, 'the pass knows a backup runs');
    await waitFor(() => asked.length > 0, 'replicate', 'the job is read again');
    assert.equal(status.operation('backup-1')?.state, 'running', 'not failed as an orphan');
    reconcileBackups(env, 'products', []); // a second pass does not follow it twice
    phase = 'succeeded';
    await waitFor(() => status.operation('backup-1')?.state === 'succeeded', 'replicate', 'the record follows the job to succeeded');
    const op = status.operation('backup-1')!;
    assert.match(op.outcome ?? '', /backed up by platform job cmd-42 on cron workload bk/);
    assert.equal(op.steps.find((s) => s.name === PLATFORM_JOB_STEP)?.state, 'succeeded');
    assert.ok(asked.every((id) => id === 'cmd-42'));
  } finally {
    await pools.closeAll();
  }
});

test('a job that is gone fails the record naming it; without a launcher the record is failed as an orphan', async () => {
  const { env, status, pools } = envWith({
    description: 'cron workload bk',
    pollMs: 20,
    start: () => Promise.reject(new Error('not started here')),
    get: (id) => Promise.reject(new AppError('NOT_FOUND', `no cron workload command ${id}`)),
  });
  try {
    status.upsertOperation(runningJobBackup('backup-2', 'cmd-gone'));
    reconcileBackups(env, 'products', []);
    await waitFor(() => status.operation('backup-2')?.state === 'failed', 'replicate', 'the record fails');
    assert.match(status.operation('backup-2')?.error ?? '', /platform job cmd-gone on cron workload bk failed: platform job cmd-gone cannot be read: no cron workload command cmd-gone/);
  } finally {
    await pools.closeAll();
  }
  const plain = envWith(undefined);
  try {
    plain.status.upsertOperation(runningJobBackup('backup-3', 'cmd-7'));
    reconcileBackups(plain.env, 'products', []);
    const op = plain.status.operation('backup-3');
    assert.equal(op?.state, 'failed');
    assert.match(op?.error ?? '', /restarted without the backup machine snapshot/);
  } finally {
    await plain.pools.closeAll();
  }
});
