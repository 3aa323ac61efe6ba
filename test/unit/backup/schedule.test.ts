import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StoredObject } from '../../../src/backup/retention.js';
import {
  BackupScheduler,
  decideScheduleFire,
  parseBackupSchedulesText,
  planScheduleEntries,
  withScheduleProblems,
  type BackupSchedulerOptions,
} from '../../../src/backup/schedule.js';
import { AlwaysLeader, FileLeaseLock, type LeaderLock } from '../../../src/backup/schedule-lock.js';
import type { BackupScheduleSpec, BackupType, LoadedSpec } from '../../../src/domain/spec.js';
import { FakeClock } from '../../../src/lib/clock.js';
import { AppError } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/lib/logger.js';
import type { OperationRecord, StatusEvent } from '../../../src/status/types.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-01-01T00:00:00Z');
/** scheduler heartbeat in these tests */
const HEARTBEAT = 10 * MIN;
/** the clock is driven in steps of a minute (every occurrence here is on a minute), so a pass sees the exact time */
const STEP = MIN;

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'backup-schedule-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function spec(name: string, backups: BackupScheduleSpec[]): LoadedSpec {
  return {
    spec: { name, columns: [], settings: {}, clusterMain: false, distributed: { haStrategy: 'nodeads', agentRetryCount: 0 }, backups, deletionPolicy: 'retain' },
    origin: { kind: 'file', ref: `${name}.json` },
    generation: 1,
  };
}

interface Fired {
  table: string;
  type: BackupType;
  at: string;
  id: string;
}

/** The controller side: records requests (with the time they came) and refuses a table whose backup is active. */
class FakeController {
  readonly fired: Fired[] = [];
  readonly active = new Set<string>();
  readonly ops = new Map<string, OperationRecord>();
  private readonly listeners = new Set<(e: StatusEvent) => void>();
  constructor(private readonly clock: FakeClock) {}

  requestBackup(input: { table: string; type: BackupType; requestedBy: string }): Promise<OperationRecord> {
    if (this.active.has(input.table)) return Promise.reject(new AppError('BACKUP_IN_PROGRESS', `a backup of ${input.table} is running`));
    const id = `op-${this.fired.length + 1}`;
    const at = new Date(this.clock.now()).toISOString();
    this.fired.push({ table: input.table, type: input.type, at, id });
    const op: OperationRecord = { id, kind: 'backup', key: `table/c/${input.table}`, requestedBy: input.requestedBy, requestedAt: at, state: 'running', steps: [] };
    this.ops.set(id, op);
    return Promise.resolve(op);
  }

  finish(id: string, state: 'succeeded' | 'failed'): void {
    const op = this.ops.get(id);
    assert.ok(op, `operation ${id} exists`);
    op.state = state;
    for (const l of this.listeners) l({ type: 'operation', at: new Date(this.clock.now()).toISOString(), operation: op });
  }

  operation(id: string): OperationRecord | undefined {
    return this.ops.get(id);
  }

  subscribe(listener: (e: StatusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

interface Harness {
  clock: FakeClock;
  controller: FakeController;
  dataDir: string;
  make(overrides?: Partial<BackupSchedulerOptions>): BackupScheduler;
  /** drives the clock to `iso` a minute at a time, letting every pass finish */
  runUntil(iso: string, ...schedulers: BackupScheduler[]): Promise<void>;
}

function harness(t: { after: (fn: () => void) => void }, envEntries: unknown[], specs: LoadedSpec[] = []): Harness {
  const clock = new FakeClock(T0);
  const controller = new FakeController(clock);
  const dataDir = tempDir(t);
  const make = (overrides: Partial<BackupSchedulerOptions> = {}): BackupScheduler => {
    const s = new BackupScheduler({
      envEntries,
      specs: { specs: () => specs },
      backups: controller,
      lock: new AlwaysLeader(),
      dataDir,
      logger: silentLogger(),
      clock,
      heartbeatMs: HEARTBEAT,
      missedWindowMs: HOUR,
      ...overrides,
    });
    t.after(() => s.stop());
    return s;
  };
  const runUntil = async (iso: string, ...schedulers: BackupScheduler[]): Promise<void> => {
    const target = Date.parse(iso);
    for (const s of schedulers) await s.whenIdle();
    while (clock.now() < target) {
      clock.advance(Math.min(STEP, target - clock.now()));
      for (const s of schedulers) await s.whenIdle();
    }
  };
  return { clock, controller, dataDir, make, runUntil };
}

test('fires every schedule at its occurrences, env and spec entries alike', async (t) => {
  const h = harness(t, [{ table: 'orders', type: 'delta', schedule: '0 2 * * *' }], [spec('products', [{ name: 'six-hourly', type: 'main', schedule: '30 */6 * * *' }])]);
  const s = h.make();
  s.start();
  await h.runUntil('2026-01-02T03:00:00Z', s);
  assert.deepEqual(
    h.controller.fired.map((f) => `${f.at} ${f.table} ${f.type}`),
    [
      '2026-01-01T00:30:00.000Z products main',
      '2026-01-01T02:00:00.000Z orders delta',
      '2026-01-01T06:30:00.000Z products main',
      '2026-01-01T12:30:00.000Z products main',
      '2026-01-01T18:30:00.000Z products main',
      '2026-01-02T00:30:00.000Z products main',
      '2026-01-02T02:00:00.000Z orders delta',
    ],
  );
  const views = s.schedules();
  assert.equal(views.find((v) => v.table === 'orders')?.nextAt, '2026-01-03T02:00:00.000Z');
  assert.equal(views.find((v) => v.table === 'products')?.lastFiredAt, '2026-01-02T00:30:00.000Z');
});

test('an unusable BACKUP_SCHEDULES entry is reported and skipped while the others run', async (t) => {
  const h = harness(t, [
    { table: 'a', type: 'delta', schedule: '61 * * * *' },
    { table: 'b', type: 'delta', schedule: '0 * * * *' },
    { table: 'c', type: 'full', schedule: '0 * * * *' },
    'not an object',
    { table: 'bad-name', type: 'main', schedule: '0 * * * *' },
    { table: 'd', type: 'main', schedule: '0 1 * * *', keep: 0 },
  ]);
  const s = h.make();
  const problems = s.problems();
  assert.deepEqual(
    problems.map((p) => p.pointer),
    ['/0/schedule', '/2/type', '/3', '/4/table', '/5/keep'],
  );
  assert.match(problems[0]?.message ?? '', /^BACKUP_SCHEDULES\[0\]\.schedule: '61 \* \* \* \*' is not a valid cron expression/);
  assert.match(problems[1]?.message ?? '', /use "delta" or "main"/);
  assert.equal(problems[0]?.origin.ref, 'BACKUP_SCHEDULES');
  assert.equal(problems[0]?.table, 'a');

  const source = withScheduleProblems({ problems: () => [], specs: () => [] }, () => s.problems());
  assert.equal(source.problems().length, 5, 'the spec source the controller reads carries them into the status');

  s.start();
  await h.runUntil('2026-01-01T03:30:00Z', s);
  assert.deepEqual(
    h.controller.fired.map((f) => `${f.at} ${f.table}`),
    ['2026-01-01T01:00:00.000Z b', '2026-01-01T02:00:00.000Z b', '2026-01-01T03:00:00.000Z b'],
  );
});

test('BACKUP_SCHEDULES that is not a JSON array is a config error naming the variable', () => {
  assert.throws(() => parseBackupSchedulesText('[{"table": "a",'), /^ValidationError: BACKUP_SCHEDULES: is not valid JSON/);
  assert.throws(() => parseBackupSchedulesText('{"table": "a"}'), /BACKUP_SCHEDULES: is not a JSON array/);
  assert.deepEqual(parseBackupSchedulesText(''), []);
  assert.deepEqual(parseBackupSchedulesText(undefined), []);
  assert.equal(planScheduleEntries(parseBackupSchedulesText('[{"table":"a","type":"delta","schedule":"@daily"}]'), []).entries.length, 1);
});

test('a fire while a backup of the same table is active is skipped, not retried, and the next one runs', async (t) => {
  const h = harness(t, [
    { table: 'a', type: 'delta', schedule: '0 2 * * *' },
    { table: 'b', type: 'delta', schedule: '0 2 * * *' },
  ]);
  const s = h.make();
  h.controller.active.add('a');
  s.start();
  await h.runUntil('2026-01-01T05:00:00Z', s);
  assert.deepEqual(h.controller.fired.map((f) => f.table), ['b'], 'a was skipped, b fired');
  const a = s.schedules().find((v) => v.table === 'a');
  assert.match(a?.lastOutcome ?? '', /skipped/);

  h.controller.active.delete('a');
  await h.runUntil('2026-01-02T02:05:00Z', s);
  assert.deepEqual(
    h.controller.fired.map((f) => `${f.at} ${f.table}`),
    ['2026-01-01T02:00:00.000Z b', '2026-01-02T02:00:00.000Z a', '2026-01-02T02:00:00.000Z b'],
  );
});

test('a fire missed while the controller was down runs once on start when within the window, not twice', async (t) => {
  const h = harness(t, [
    { table: 'daily', type: 'delta', schedule: '0 2 * * *' },
    { table: 'hourly', type: 'delta', schedule: '15 * * * *' },
  ]);
  const first = h.make({ missedWindowMs: 2 * HOUR });
  first.start();
  await h.runUntil('2026-01-01T01:20:00Z', first);
  await first.stop();
  assert.deepEqual(h.controller.fired.map((f) => `${f.at} ${f.table}`), ['2026-01-01T00:15:00.000Z hourly', '2026-01-01T01:15:00.000Z hourly']);

  // down from 01:20 to 03:40: daily missed 02:00 (1h40 ago), hourly missed 02:15 and 03:15
  h.clock.advance(Date.parse('2026-01-01T03:40:00Z') - h.clock.now());
  const second = h.make({ missedWindowMs: 2 * HOUR });
  second.start();
  await second.whenIdle();
  assert.deepEqual(h.controller.fired.slice(2).map((f) => `${f.at} ${f.table}`), ['2026-01-01T03:40:00.000Z daily', '2026-01-01T03:40:00.000Z hourly']);
  await second.stop();

  // restarted again a minute later: nothing runs twice
  h.clock.advance(MIN);
  const third = h.make({ missedWindowMs: 2 * HOUR });
  third.start();
  await h.runUntil('2026-01-01T04:00:00Z', third);
  assert.equal(h.controller.fired.length, 4);
  await h.runUntil('2026-01-01T04:20:00Z', third);
  assert.deepEqual(h.controller.fired.slice(4).map((f) => `${f.at} ${f.table}`), ['2026-01-01T04:15:00.000Z hourly']);
});

test('a fire missed by more than the window does not run on start; the next occurrence does', async (t) => {
  const h = harness(t, [{ table: 'daily', type: 'delta', schedule: '0 2 * * *' }]);
  const first = h.make({ missedWindowMs: 30 * MIN });
  first.start();
  await h.runUntil('2026-01-01T01:00:00Z', first);
  await first.stop();

  h.clock.advance(Date.parse('2026-01-01T05:00:00Z') - h.clock.now());
  const second = h.make({ missedWindowMs: 30 * MIN });
  second.start();
  await second.whenIdle();
  assert.equal(h.controller.fired.length, 0);
  assert.equal(second.schedules()[0]?.lastOutcome, 'missed');
  await h.runUntil('2026-01-02T02:30:00Z', second);
  assert.deepEqual(h.controller.fired.map((f) => f.at), ['2026-01-02T02:00:00.000Z']);
});

test('a schedule first seen after its occurrence does not fire for it', () => {
  const at = Date.parse('2026-01-01T02:10:00Z');
  assert.deepEqual(decideScheduleFire('0 2 * * *', { firstSeen: at }, at, HOUR), { kind: 'none' });
  assert.deepEqual(decideScheduleFire('0 2 * * *', { firstSeen: T0 }, at, HOUR), { kind: 'fire', occurrence: Date.parse('2026-01-01T02:00:00Z') });
  assert.equal(decideScheduleFire('0 2 * * *', { firstSeen: T0 }, at + 2 * HOUR, HOUR).kind, 'missed');
  assert.equal(decideScheduleFire('0 2 * * *', { firstSeen: T0, lastOccurrence: Date.parse('2026-01-01T02:00:00Z') }, at, HOUR).kind, 'none');
});

test('the lock held by another replica means no fire; when its lease lapses this replica takes over', async (t) => {
  const h = harness(t, [{ table: 'a', type: 'delta', schedule: '0 * * * *' }]);
  const leaseFile = join(h.dataDir, 'backup-scheduler.lease');
  const other = new FileLeaseLock({ file: leaseFile, identity: 'replica-1', leaseMs: 30 * MIN, clock: h.clock });
  assert.equal(await other.tryAcquire(), true);
  const mine = new FileLeaseLock({ file: leaseFile, identity: 'replica-2', leaseMs: 30 * MIN, clock: h.clock });
  const s = h.make({ lock: mine });
  s.start();
  // the other replica keeps renewing (its own heartbeat) until 03:30
  while (h.clock.now() < Date.parse('2026-01-01T03:30:00Z')) {
    await other.tryAcquire();
    await h.runUntil(new Date(h.clock.now() + HEARTBEAT).toISOString(), s);
  }
  assert.equal(h.controller.fired.length, 0, 'the follower never fired');
  assert.equal(s.isLeader(), false);
  assert.equal(other.current()?.holder, 'replica-1');

  // replica-1 dies at 03:30: its lease expires at 04:00 and replica-2 fires from then on
  await h.runUntil('2026-01-01T05:05:00Z', s);
  assert.equal(s.isLeader(), true);
  assert.equal(mine.current()?.holder, 'replica-2');
  assert.deepEqual(h.controller.fired.map((f) => f.at), ['2026-01-01T04:00:00.000Z', '2026-01-01T05:00:00.000Z']);
  assert.equal(await other.tryAcquire(), false, 'the old holder is a follower now');
});

test('two replicas sharing a data dir: every occurrence fires exactly once', async (t) => {
  const h = harness(t, [{ table: 'a', type: 'delta', schedule: '*/20 * * * *' }]);
  const leaseFile = join(h.dataDir, 'backup-scheduler.lease');
  const r1 = h.make({ lock: new FileLeaseLock({ file: leaseFile, identity: 'r1', leaseMs: 30 * MIN, clock: h.clock }) });
  const r2 = h.make({ lock: new FileLeaseLock({ file: leaseFile, identity: 'r2', leaseMs: 30 * MIN, clock: h.clock }) });
  r1.start();
  r2.start();
  await h.runUntil('2026-01-01T02:00:00Z', r1, r2);
  assert.equal([r1, r2].filter((r) => r.isLeader()).length, 1);
  const times = h.controller.fired.map((f) => f.at);
  assert.equal(times.length, 6);
  assert.equal(new Set(times).size, 6, 'no occurrence fired twice');

  // the leader stops (SIGTERM): it releases the lock and the other replica continues
  const leader = r1.isLeader() ? r1 : r2;
  const follower = leader === r1 ? r2 : r1;
  await leader.stop();
  await h.runUntil('2026-01-01T03:00:00Z', follower);
  assert.equal(follower.isLeader(), true);
  assert.deepEqual(h.controller.fired.slice(6).map((f) => f.at), ['2026-01-01T02:20:00.000Z', '2026-01-01T02:40:00.000Z', '2026-01-01T03:00:00.000Z']);
});

test('stop() leaves no timer, releases the lock and fires nothing afterwards', async (t) => {
  const h = harness(t, [{ table: 'a', type: 'delta', schedule: '*/5 * * * *' }]);
  const leaseFile = join(h.dataDir, 'backup-scheduler.lease');
  const s = h.make({ lock: new FileLeaseLock({ file: leaseFile, identity: 'r1', clock: h.clock }) });
  s.start();
  await h.runUntil('2026-01-01T00:12:00Z', s);
  assert.equal(h.clock.pendingTimers(), 1);
  assert.ok(existsSync(leaseFile));
  const before = h.controller.fired.length;
  await s.stop();
  assert.equal(h.clock.pendingTimers(), 0);
  assert.ok(!existsSync(leaseFile), 'the lease is released for the next replica');
  h.clock.advance(DAY);
  await s.whenIdle();
  assert.equal(h.controller.fired.length, before);
  assert.equal(h.clock.pendingTimers(), 0);
});

test('retention runs after a successful scheduled backup, not after a failed one', async (t) => {
  const objects = new Map<string, StoredObject>();
  const put = (key: string, at: number): void => {
    objects.set(key, { key, size: 1, lastModified: new Date(at) });
    objects.set(`${key}.manifest.json`, { key: `${key}.manifest.json`, size: 1, lastModified: new Date(at) });
  };
  for (let d = 1; d <= 5; d++) put(`bk/a_delta-2025-12-${String(31 - d).padStart(2, '0')}T02-00-00Z.tar.gz`, T0 - d * DAY);
  put('bk/other_delta-2025-12-01T02-00-00Z.tar.gz', T0 - 31 * DAY);
  const store = {
    list: (prefix: string) => Promise.resolve([...objects.values()].filter((o) => o.key.startsWith(prefix))),
    delete: (key: string) => {
      objects.delete(key);
      return Promise.resolve();
    },
  };
  const h = harness(t, [{ table: 'a', type: 'delta', schedule: '0 2 * * *', keep: 3 }]);
  const s = h.make({ retention: { store, prefix: 'bk', operations: h.controller } });
  s.start();
  await h.runUntil('2026-01-01T02:10:00Z', s);
  assert.equal(h.controller.fired.length, 1);
  assert.equal(objects.size, 12, 'nothing deleted while the backup runs');

  // the first backup fails: no retention
  h.controller.finish('op-1', 'failed');
  await s.whenIdle();
  await h.runUntil('2026-01-01T02:30:00Z', s);
  assert.equal(objects.size, 12);

  // the next one succeeds (its archive lands), then retention keeps the newest 3 of a's archives
  await h.runUntil('2026-01-02T02:10:00Z', s);
  put('bk/a_delta-2026-01-02T02-00-00Z.tar.gz', h.clock.now());
  h.controller.finish('op-2', 'succeeded');
  await s.whenIdle();
  const archives = [...objects.keys()].filter((k) => k.endsWith('.tar.gz')).sort();
  assert.deepEqual(archives, [
    'bk/a_delta-2025-12-29T02-00-00Z.tar.gz',
    'bk/a_delta-2025-12-30T02-00-00Z.tar.gz',
    'bk/a_delta-2026-01-02T02-00-00Z.tar.gz',
    'bk/other_delta-2025-12-01T02-00-00Z.tar.gz',
  ]);
  assert.equal(objects.size, 8, 'the deleted archives took their manifests with them');
  const state = JSON.parse(readFileSync(join(h.dataDir, 'backup-schedules.json'), 'utf8')) as { pendingRetention: object };
  assert.deepEqual(state.pendingRetention, {});
});

test('a lock that throws is treated as not held', async (t) => {
  const h = harness(t, [{ table: 'a', type: 'delta', schedule: '*/5 * * * *' }]);
  const broken: LeaderLock = { identity: 'x', tryAcquire: () => Promise.reject(new Error('EIO')), release: () => Promise.resolve() };
  const s = h.make({ lock: broken });
  s.start();
  await h.runUntil('2026-01-01T00:30:00Z', s);
  assert.equal(h.controller.fired.length, 0);
});
