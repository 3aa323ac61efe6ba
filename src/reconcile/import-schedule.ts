/**
 * The import scheduler (issue 4 item 1): a table spec's `import.schedule` (five-field cron or @daily-style
 * macro, UTC, src/spec/cron.ts) fires `requestImport({table, requestedBy: 'schedule'})` on exactly one
 * controller replica.
 *
 * It reuses the backup scheduler's parts (src/backup/schedule.ts, schedule-lock.ts): the pure
 * decideScheduleFire / nextOccurrence, the persisted per-entry state (EntryState: first seen, last
 * handled occurrence), and the LeaderLock seam with FileLeaseLock (its own lease file
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
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { decideScheduleFire, DEFAULT_HEARTBEAT_MS, DEFAULT_MISSED_WINDOW_MS, nextOccurrence, type EntryState, type ScheduleSpecSource } from '../backup/schedule.js';
import { FileLeaseLock, type LeaderLock } from '../backup/schedule-lock.js';
import type { LoadedSpec } from '../domain/spec.js';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';
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
  private readonly clock: Clock;
  private readonly stateFile: string;
  private readonly windowMs: number;
  private readonly heartbeatMs: number;
  private readonly unsubscribe: (() => void)[] = [];
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private stopped = false;
  private leader = false;
  private entries: ImportScheduleEntry[];

  constructor(options: ImportSchedulerOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.stateFile = path.join(options.dataDir, IMPORT_SCHEDULE_STATE_FILE);
    this.windowMs = options.missedWindowMs ?? DEFAULT_MISSED_WINDOW_MS;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.entries = planImportSchedules(options.specs.specs());
  }

  /** Whether this replica held the lease at its last pass. */
  isLeader(): boolean {
    return this.leader;
  }

  /** Every scheduled import with its next run and last outcome. */
  schedules(): ImportScheduleView[] {
    const state = this.readState();
    const now = this.clock.now();
    return this.entries.map((e) => {
      const s = state.entries[e.id];
      const v: ImportScheduleView = { table: e.table, schedule: e.schedule };
      const next = nextOccurrence(e.schedule, now);
      if (next !== undefined) v.nextAt = new Date(next).toISOString();
      if (s?.lastFiredAt !== undefined) v.lastFiredAt = new Date(s.lastFiredAt).toISOString();
      if (s?.lastOutcome !== undefined) v.lastOutcome = s.lastOutcome;
      return v;
    });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.entries = planImportSchedules(this.o.specs.specs());
    const now = this.clock.now();
    for (const e of this.entries) {
      const next = nextOccurrence(e.schedule, now);
      this.o.logger.info('import schedule', { table: e.table, cron: e.schedule, nextAt: next === undefined ? undefined : new Date(next).toISOString() });
    }
    if (this.o.specs.onChange) this.unsubscribe.push(this.o.specs.onChange(() => this.wake()));
    this.wake();
  }

  /** Stops: no timer is left, a pass in flight is awaited, the lease is released. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const u of this.unsubscribe.splice(0)) u();
    while (this.running !== undefined) await this.running;
    if (this.leader) {
      this.leader = false;
      await this.o.lock.release().catch((err: unknown) => this.o.logger.warn('import scheduler lease release failed', { err: errorMessage(err) }));
    }
  }

  /** Resolves when no pass is in flight (tests drive the clock, then wait for this). */
  async whenIdle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Runs a pass now (or right after the one in flight). */
  wake(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.timer = undefined;
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.wake();
      } else {
        this.arm();
      }
    });
  }

  private arm(): void {
    const now = this.clock.now();
    let at = now + this.heartbeatMs;
    for (const e of this.entries) {
      const next = nextOccurrence(e.schedule, now);
      if (next !== undefined && next < at) at = next;
    }
    this.timer?.cancel();
    this.timer = this.clock.setTimer(at - now, () => {
      this.timer = undefined;
      this.wake();
    });
  }

  private async pass(): Promise<void> {
    const now = this.clock.now();
    try {
      this.entries = planImportSchedules(this.o.specs.specs());
      if (this.entries.length === 0) {
        // nothing scheduled: hold no lease (a replica with schedules, or a later spec, takes it)
        if (this.leader) {
          this.leader = false;
          await this.o.lock.release();
        }
        return;
      }
      let leader: boolean;
      try {
        leader = await this.o.lock.tryAcquire();
      } catch (err) {
        this.o.logger.warn('import scheduler lease failed', { err: errorMessage(err) });
        leader = false;
      }
      if (leader !== this.leader) this.o.logger.info(leader ? 'import scheduler leading' : 'import scheduler following', { identity: this.o.lock.identity });
      this.leader = leader;
      if (!leader || this.stopped) return;
      const state = this.readState();
      const due: { entry: ImportScheduleEntry; occurrence: number }[] = [];
      for (const entry of this.entries) {
        const st = (state.entries[entry.id] ??= { firstSeen: now });
        const d = decideScheduleFire(entry.schedule, st, now, this.windowMs);
        if (d.kind === 'none') continue;
        st.lastOccurrence = d.occurrence;
        if (d.kind === 'missed') {
          st.lastOutcome = 'missed';
          this.o.logger.warn('scheduled import missed: outside the window', { table: entry.table, cron: entry.schedule, occurrence: new Date(d.occurrence).toISOString(), lateMs: d.lateMs, windowMs: this.windowMs });
        } else {
          st.lastFiredAt = now;
          st.lastOutcome = 'requested';
          due.push({ entry, occurrence: d.occurrence });
        }
      }
      // entries whose table or cron left the specs are forgotten
      const live = new Set(this.entries.map((e) => e.id));
      for (const id of Object.keys(state.entries)) if (!live.has(id)) delete state.entries[id];
      this.writeState(state);
      for (const { entry, occurrence } of due) {
        if (this.stopped) break;
        await this.fire(entry, occurrence, state);
      }
    } catch (err) {
      this.o.logger.error('import scheduler pass failed', { err: errorMessage(err) });
    }
  }

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
    this.writeState(state);
  }

  private readState(): ImportScheduleState {
    let text: string;
    try {
      text = readFileSync(this.stateFile, 'utf8');
    } catch {
      return { version: 1, entries: {} };
    }
    try {
      const v = JSON.parse(text) as Partial<ImportScheduleState>;
      return { version: 1, entries: v.entries ?? {} };
    } catch (err) {
      this.o.logger.warn('import schedule state unreadable: starting afresh', { file: this.stateFile, err: errorMessage(err) });
      return { version: 1, entries: {} };
    }
  }

  private writeState(state: ImportScheduleState): void {
    mkdirSync(path.dirname(this.stateFile), { recursive: true });
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(state, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.stateFile);
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
