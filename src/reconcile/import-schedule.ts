/**
 * The import scheduler (issue 4 item 1): a table spec's `import.schedule` (five-field cron or @daily-style
 * macro, UTC, src/spec/cron.ts) fires `requestImport({table, requestedBy: 'schedule'})` on exactly one
 * controller replica.
 *
 * It runs on the cron loop it shares with the backup scheduler (src/backup/cron-loop.ts: timer, state file,
 * lease, pure decideScheduleFire / nextOccurrence, per-entry EntryState: first seen, last handled occurrence)
 * and the LeaderLock seam with FileLeaseLock (src/backup/schedule-lock.ts; its own lease file
 * `<data-dir>/import-scheduler.lease`, so the two schedulers never hand each other's lease back and forth).
 *
 * One pass (planImportSchedules → take/renew the lease → decideScheduleFire per entry → write the state →
 * fire), on a timer at the next due occurrence and at least every heartbeat:
 * - an occurrence fires when it is newer than both the entry's last handled occurrence and the moment the
 *   entry was first seen, and at most `max(missedWindowMs, 1 min)` old: an occurrence missed while no
 *   controller ran fires once on start when within the window (several missed ones fire once); older ones
 *   are recorded as missed and logged;
 * - the state `<data-dir>/import-schedules.json` is written before requestImport is called (at most one
 *   request per occurrence, even across a crash or a change of leader);
 * - a fire while an import of the table runs (IMPORT_IN_PROGRESS) is skipped and logged; any other error
 *   (no import source in the spec, ...) is logged; neither is retried: the next occurrence runs.
 * The entry id holds the cron text, so a changed schedule starts afresh (no fire of an old occurrence).
 * stop() cancels the timer, waits for a pass in flight and releases the lease: no timer is left.
 */
import path from 'node:path';
import { CronLoop, type EntryState } from '../backup/cron-loop.js';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_MISSED_WINDOW_MS, type ScheduleSpecSource } from '../backup/schedule.js';
import { FileLeaseLock, type LeaderLock } from '../backup/schedule-lock.js';
import type { LoadedSpec } from '../domain/spec.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { errorMessage, isAppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { cronProblem } from '../spec/cron.js';
import type { OperationRecord } from '../status/types.js';

export const IMPORT_SCHEDULE_STATE_FILE = 'import-schedules.json';
export const IMPORT_SCHEDULER_LEASE_FILE = 'import-scheduler.lease';
/** requestedBy of a scheduled import's operation */
export const IMPORT_SCHEDULE_REQUESTER = 'schedule';

export interface ImportScheduleEntry {
  /** `import/<table>/<cron>`: stable across restarts, new when the cron changes */
  id: string;
  table: string;
  schedule: string;
}

/** Pure: one entry per spec with a usable `import.schedule` (unusable ones are the spec store's problems). */
export function planImportSchedules(specs: readonly LoadedSpec[]): ImportScheduleEntry[] {
  const out: ImportScheduleEntry[] = [];
  for (const { spec } of specs) {
    const cron = spec.import?.schedule?.trim();
    if (cron === undefined || cron === '' || cronProblem(cron) !== undefined) continue;
    out.push({ id: `import/${spec.name}/${cron}`, table: spec.name, schedule: cron });
  }
  return out;
}

/** What the scheduler needs of the controller. */
export interface ImportRequester {
  requestImport(input: { table: string; requestedBy: string }): Promise<OperationRecord>;
}

export interface ImportSchedulerOptions {
  specs: ScheduleSpecSource;
  imports: ImportRequester;
  lock: LeaderLock;
  /** the state file lives here (the controller's data dir) */
  dataDir: string;
  logger: Logger;
  /** how late a missed occurrence may still run on start (default 1 h) */
  missedWindowMs?: number;
  clock?: Clock;
  /** at least one pass this often (lease renewal), default 10 s */
  heartbeatMs?: number;
}

export interface ImportScheduleState {
  version: 1;
  entries: Record<string, EntryState>;
}

export interface ImportScheduleView {
  table: string;
  schedule: string;
  nextAt?: string;
  lastFiredAt?: string;
  lastOutcome?: string;
}

export class ImportScheduler {
  private readonly o: ImportSchedulerOptions;
  private readonly loop: CronLoop<ImportScheduleEntry, ImportScheduleState>;
  private entries: ImportScheduleEntry[];

  constructor(options: ImportSchedulerOptions) {
    this.o = options;
    this.entries = planImportSchedules(options.specs.specs());
    this.loop = new CronLoop<ImportScheduleEntry, ImportScheduleState>({
      name: 'import',
      lockWord: 'lease',
      lock: options.lock,
      logger: options.logger,
      clock: options.clock ?? systemClock,
      stateFile: path.join(options.dataDir, IMPORT_SCHEDULE_STATE_FILE),
      missedWindowMs: options.missedWindowMs ?? DEFAULT_MISSED_WINDOW_MS,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      plan: () => (this.entries = planImportSchedules(this.o.specs.specs())),
      state: (v) => ({ version: 1, entries: v?.entries ?? {} }),
      announce: (e, next) => {
        this.o.logger.info('import schedule', { table: e.table, cron: e.schedule, nextAt: next === undefined ? undefined : new Date(next).toISOString() });
      },
      subscribe: (wake) => (this.o.specs.onChange ? [this.o.specs.onChange(wake)] : []),
      // entries whose table or cron left the specs are forgotten
      forgetRemoved: true,
      onMissed: (entry, occurrence, lateMs, windowMs) => {
        this.o.logger.warn('scheduled import missed: outside the window', { table: entry.table, cron: entry.schedule, occurrence: new Date(occurrence).toISOString(), lateMs, windowMs });
      },
      fire: (entry, occurrence, state) => this.fire(entry, occurrence, state),
    });
  }

  /** Whether this replica held the lease at its last pass. */
  isLeader(): boolean {
    return this.loop.isLeader();
  }

  /** Every scheduled import with its next run and last outcome. */
  schedules(): ImportScheduleView[] {
    return this.loop.views(this.entries, (e): ImportScheduleView => ({ table: e.table, schedule: e.schedule }));
  }

  start(): void {
    this.loop.start();
  }

  /** Stops: no timer is left, a pass in flight is awaited, the lease is released. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Resolves when no pass is in flight (tests drive the clock, then wait for this). */
  async whenIdle(): Promise<void> {
    await this.loop.whenIdle();
  }

  /** Runs a pass now (or right after the one in flight). */
  wake(): void {
    this.loop.wake();
  }

  /** Requests the import of a due occurrence and records the outcome (the loop writes the state after). */
  private async fire(entry: ImportScheduleEntry, occurrence: number, state: ImportScheduleState): Promise<void> {
    const st = state.entries[entry.id];
    const fields = { table: entry.table, cron: entry.schedule, occurrence: new Date(occurrence).toISOString() };
    try {
      const op = await this.o.imports.requestImport({ table: entry.table, requestedBy: IMPORT_SCHEDULE_REQUESTER });
      this.o.logger.info('scheduled import requested', { ...fields, operationId: op.id });
      if (st) {
        st.lastOperationId = op.id;
        st.lastOutcome = 'requested';
      }
    } catch (err) {
      if (isAppError(err) && err.code === 'IMPORT_IN_PROGRESS') {
        this.o.logger.info('scheduled import skipped: an import of the table is running', { ...fields, code: err.code, err: err.message });
        if (st) st.lastOutcome = 'skipped: an import of the table was running (IMPORT_IN_PROGRESS)';
      } else {
        this.o.logger.error('scheduled import failed', { ...fields, code: isAppError(err) ? err.code : undefined, err: errorMessage(err) });
        if (st) st.lastOutcome = `failed: ${errorMessage(err)}`;
      }
    }
  }
}

export interface ControllerImportSchedulerOptions {
  dataDir: string;
  specs: ScheduleSpecSource;
  /** the controller (requestImport) */
  imports: ImportRequester;
  logger: Logger;
  /** default 1 h */
  missedWindowMs?: number;
  /** default: the lease file `<data-dir>/import-scheduler.lease` (replicas sharing the data dir) */
  lock?: LeaderLock;
}

/** The scheduler as the controller process runs it (src/bin/controller.ts): a file lease in the data dir. */
export function createControllerImportScheduler(o: ControllerImportSchedulerOptions): ImportScheduler {
  return new ImportScheduler({
    specs: o.specs,
    imports: o.imports,
    lock: o.lock ?? new FileLeaseLock({ file: path.join(o.dataDir, IMPORT_SCHEDULER_LEASE_FILE) }),
    dataDir: o.dataDir,
    logger: o.logger,
    ...(o.missedWindowMs !== undefined ? { missedWindowMs: o.missedWindowMs } : {}),
  });
}
