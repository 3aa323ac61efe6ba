/** The import scheduler with a fake clock: fires, IMPORT_IN_PROGRESS skips, one leader, missed fires within the window. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AlwaysLeader, FileLeaseLock } from '../../../src/backup/schedule-lock.js';
import type { LoadedSpec } from '../../../src/domain/spec.js';
import { FakeClock } from '../../../src/lib/clock.js';
import { AppError, ValidationError } from '../../../src/lib/errors.js';
import { silentLogger, type Logger } from '../../../src/lib/logger.js';
import { IMPORT_SCHEDULE_STATE_FILE, ImportScheduler, planImportSchedules, type ImportSchedulerOptions } from '../../../src/reconcile/import-schedule.js';
import type { OperationRecord } from '../../../src/status/types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-01-01T00:00:00Z');

function spec(name: string, schedule: string | undefined): LoadedSpec {
  return {
    spec: {
      name,
      columns: [{ name: 'title', type: 'text' }],
      settings: {},
      clusterMain: false,
      distributed: { haStrategy: 'nodeads', agentRetryCount: 0 },
      backups: [],
      deletionPolicy: 'retain',
      ...(schedule === undefined ? {} : { import: { urls: ['/vol/x.csv'], format: 'csv', header: true, schedule } }),
    },
    origin: { kind: 'file', ref: `${name}.json` },
    generation: 1,
  } as LoadedSpec;
}

/** requestImport as the controller answers it: IMPORT_IN_PROGRESS while the table's import is active. */
class FakeController {
  readonly fired: string[] = [];
  readonly requestedBy: string[] = [];
  readonly active = new Set<string>();
  failWith: Error | undefined;
  constructor(private readonly clock: FakeClock) {}
  requestImport(input: { table: string; requestedBy: string }): Promise<OperationRecord> {
    if (this.failWith) return Promise.reject(this.failWith);
    if (this.active.has(input.table)) return Promise.reject(new AppError('IMPORT_IN_PROGRESS', `an import of ${input.table} is running`));
    const at = new Date(this.clock.now()).toISOString();
    this.fired.push(`${at} ${input.table}`);
    this.requestedBy.push(input.requestedBy);
    return Promise.resolve({ id: `op-${this.fired.length}`, kind: 'import', key: `table/c/${input.table}`, requestedBy: input.requestedBy, requestedAt: at, state: 'running', steps: [] });
  }
}

function recordingLogger(lines: string[]): Logger {
  const l = silentLogger();
  const wrap = (level: string) => (msg: string, meta?: Record<string, unknown>) => {
    lines.push(`${level} ${msg} ${JSON.stringify(meta ?? {})}`);
  };
  return Object.assign(Object.create(l) as Logger, { info: wrap('info'), warn: wrap('warn'), error: wrap('error'), child: () => recordingLogger(lines) });
}

function harness(t: { after: (fn: () => void) => void }, specs: LoadedSpec[]) {
  const clock = new FakeClock(T0);
  const controller = new FakeController(clock);
  const dataDir = mkdtempSync(join(tmpdir(), 'import-schedule-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const logs: string[] = [];
  const make = (overrides: Partial<ImportSchedulerOptions> = {}): ImportScheduler => {
    const s = new ImportScheduler({ specs: { specs: () => specs }, imports: controller, lock: new AlwaysLeader(), dataDir, logger: recordingLogger(logs), clock, heartbeatMs: 10 * MIN, missedWindowMs: HOUR, ...overrides });
    t.after(() => s.stop());
    return s;
  };
  const runUntil = async (iso: string, ...schedulers: ImportScheduler[]) => {
    const target = Date.parse(iso);
    for (const s of schedulers) await s.whenIdle();
    while (clock.now() < target) {
      clock.advance(Math.min(MIN, target - clock.now()));
      for (const s of schedulers) await s.whenIdle();
    }
  };
  return { clock, controller, dataDir, logs, make, runUntil };
}

test('planImportSchedules: one entry per spec with a usable import.schedule', () => {
  const entries = planImportSchedules([spec('a', '0 2 * * *'), spec('b', undefined), spec('c', '61 * * * *'), spec('d', '@hourly')]);
  assert.deepEqual(entries, [
    { id: 'import/a/0 2 * * *', table: 'a', schedule: '0 2 * * *' },
    { id: 'import/d/@hourly', table: 'd', schedule: '@hourly' },
  ]);
});

test('fires requestImport at every occurrence (UTC), requestedBy schedule', async (t) => {
  const h = harness(t, [spec('products', '30 */6 * * *'), spec('orders', '0 2 * * *'), spec('plain', undefined)]);
  const s = h.make();
  s.start();
  await h.runUntil('2026-01-02T03:00:00Z', s);
  assert.deepEqual(h.controller.fired, [
    '2026-01-01T00:30:00.000Z products',
    '2026-01-01T02:00:00.000Z orders',
    '2026-01-01T06:30:00.000Z products',
    '2026-01-01T12:30:00.000Z products',
    '2026-01-01T18:30:00.000Z products',
    '2026-01-02T00:30:00.000Z products',
    '2026-01-02T02:00:00.000Z orders',
  ]);
  assert.ok(h.controller.requestedBy.every((r) => r === 'schedule'));
  const view = s.schedules().find((v) => v.table === 'orders');
  assert.equal(view?.nextAt, '2026-01-03T02:00:00.000Z');
  assert.equal(view?.lastFiredAt, '2026-01-02T02:00:00.000Z');
  await s.stop();
  assert.equal(h.clock.pendingTimers(), 0, 'no timer left after stop');
});

test('a fire while an import of the table runs is skipped and logged; the next occurrence runs', async (t) => {
  const h = harness(t, [spec('products', '0 * * * *')]);
  const s = h.make();
  s.start();
  h.controller.active.add('products');
  await h.runUntil('2026-01-01T01:30:00Z', s);
  assert.deepEqual(h.controller.fired, []);
  assert.ok(h.logs.some((l) => l.startsWith('info scheduled import skipped') && l.includes('IMPORT_IN_PROGRESS')), h.logs.join('\n'));
  assert.match(s.schedules()[0]?.lastOutcome ?? '', /skipped.*IMPORT_IN_PROGRESS/);
  h.controller.active.clear();
  await h.runUntil('2026-01-01T02:30:00Z', s);
  assert.deepEqual(h.controller.fired, ['2026-01-01T02:00:00.000Z products']);
});

test('another refusal (no source in the spec) is logged with its code and not retried', async (t) => {
  const h = harness(t, [spec('products', '0 * * * *')]);
  const s = h.make();
  h.controller.failWith = new ValidationError('source', 'products has no import source in its spec');
  s.start();
  await h.runUntil('2026-01-01T01:30:00Z', s);
  assert.equal(h.logs.filter((l) => l.startsWith('error scheduled import failed')).length, 1);
  assert.match(s.schedules()[0]?.lastOutcome ?? '', /^failed: .*no import source/);
});

test('missed fires within the window run once on start; older ones are recorded as missed', async (t) => {
  const h = harness(t, [spec('products', '0 * * * *')]);
  const first = h.make();
  first.start();
  await h.runUntil('2026-01-01T01:10:00Z', first);
  assert.deepEqual(h.controller.fired, ['2026-01-01T01:00:00.000Z products']);
  await first.stop();
  // down across 02:00 and 03:00; back at 03:40: the latest occurrence (03:00, 40 min late) fires once
  h.clock.advance(2 * HOUR + 30 * MIN);
  const second = h.make();
  second.start();
  await second.whenIdle();
  assert.deepEqual(h.controller.fired, ['2026-01-01T01:00:00.000Z products', '2026-01-01T03:40:00.000Z products']);
  await second.stop();
  // down 3 h across 04:00..06:00; back at 06:40 with a 20 min window: 06:00 is 40 min late and is recorded as missed
  h.clock.advance(3 * HOUR);
  const third = h.make({ missedWindowMs: 20 * MIN });
  third.start();
  await third.whenIdle();
  assert.equal(h.controller.fired.length, 2, 'the 06:00 occurrence is 40 min late: outside a 20 min window');
  assert.ok(h.logs.some((l) => l.startsWith('warn scheduled import missed')));
  const state = JSON.parse(readFileSync(join(h.dataDir, IMPORT_SCHEDULE_STATE_FILE), 'utf8')) as { entries: Record<string, { lastOutcome?: string }> };
  assert.equal(state.entries['import/products/0 * * * *']?.lastOutcome, 'missed');
  await h.runUntil('2026-01-01T07:10:00Z', third);
  assert.equal(h.controller.fired.at(-1), '2026-01-01T07:00:00.000Z products', 'the next occurrence runs');
});

test('a schedule added later does not fire its past occurrences; a changed cron starts afresh', async (t) => {
  const specs = [spec('products', undefined)];
  const h = harness(t, specs);
  const s = h.make();
  s.start();
  await h.runUntil('2026-01-01T05:00:00Z', s);
  specs[0] = spec('products', '0 3 * * *');
  s.wake();
  await h.runUntil('2026-01-01T05:30:00Z', s);
  assert.deepEqual(h.controller.fired, [], '03:00 happened before the schedule existed');
  specs[0] = spec('products', '0 6 * * *');
  await h.runUntil('2026-01-01T06:10:00Z', s);
  assert.deepEqual(h.controller.fired, ['2026-01-01T06:00:00.000Z products']);
});

test('two controllers sharing the lease: exactly one fires each occurrence; the other takes over after stop', async (t) => {
  const h = harness(t, [spec('products', '*/15 * * * *')]);
  const leaseFile = join(h.dataDir, 'import-scheduler.lease');
  const r1 = h.make({ lock: new FileLeaseLock({ file: leaseFile, identity: 'r1', leaseMs: 30 * MIN, clock: h.clock }) });
  const r2 = h.make({ lock: new FileLeaseLock({ file: leaseFile, identity: 'r2', leaseMs: 30 * MIN, clock: h.clock }) });
  r1.start();
  await r1.whenIdle();
  r2.start();
  await h.runUntil('2026-01-01T01:05:00Z', r1, r2);
  assert.deepEqual(h.controller.fired, ['00:15', '00:30', '00:45', '01:00'].map((x) => `2026-01-01T${x}:00.000Z products`));
  assert.equal(r1.isLeader(), true);
  assert.equal(r2.isLeader(), false);
  await r1.stop();
  await h.runUntil('2026-01-01T01:35:00Z', r2);
  assert.equal(r2.isLeader(), true);
  assert.deepEqual(h.controller.fired.slice(4), ['01:15', '01:30'].map((x) => `2026-01-01T${x}:00.000Z products`));
});
