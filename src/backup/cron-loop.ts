/**
 * The cron loop shared by the backup scheduler (src/backup/schedule.ts) and the import scheduler
 * (src/reconcile/import-schedule.ts): what is the same in both, with the parts that differ as hooks.
 *
 * One pass (plan the entries → take/renew the lease → decideScheduleFire per entry → write the state →
 * fire each due entry, writing the state after each → afterFires), on a timer at the next due occurrence
 * and at least every heartbeat:
 * - with nothing to do (`idle`, default: no entries) no lease is held (a held one is released);
 * - the lease is taken or renewed through the LeaderLock seam (src/backup/schedule-lock.ts, FileLeaseLock
 *   in the controller); a follower does nothing more;
 * - an occurrence fires when decideScheduleFire says so; one outside the missed-fire window is recorded as
 *   missed (`onMissed` logs it); so an occurrence missed while no controller ran fires once on start when
 *   within the window;
 * - the persisted state (`stateFile`: per entry EntryState, plus whatever the scheduler keeps) is written
 *   (temp file, fsync, rename) before `fire` is called: at most one request per occurrence, even across a
 *   crash or a change of leader.
 * stop() cancels the timer, drops the subscriptions, waits for a pass in flight and releases the lease: no
 * timer is left. Time comes from the injectable Clock (src/lib/clock.ts).
 *
 * The pure cron parts (latestOccurrence, nextOccurrence, decideScheduleFire, EntryState) live here too;
 * src/backup/schedule.ts re-exports them. The module is in backup/ (not lib/) because it uses the
 * LeaderLock of src/backup/schedule-lock.ts, and lib/ imports nothing outside lib/.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { LeaderLock } from './schedule-lock.js';

/** an occurrence at most this late always fires (timer lateness, a leader change) */
export const MIN_LATE_TOLERANCE_MS = 60_000;

/** The latest occurrence of `expr` at or before `now` (UTC), undefined when there is none. */
export function latestOccurrence(expr: string, now: number): number | undefined {
  try {
    return CronExpressionParser.parse(expr, { tz: 'UTC', currentDate: new Date(now + 1) }).prev().getTime();
  } catch {
    return undefined;
  }
}

/** The first occurrence of `expr` after `now` (UTC). */
export function nextOccurrence(expr: string, now: number): number | undefined {
  try {
    return CronExpressionParser.parse(expr, { tz: 'UTC', currentDate: new Date(now) }).next().getTime();
  } catch {
    return undefined;
  }
}

export interface EntryState {
  /** when this controller (any replica) first saw the entry: earlier occurrences are not due */
  firstSeen: number;
  /** the latest occurrence handled (fired, skipped or recorded as missed) */
  lastOccurrence?: number;
  lastFiredAt?: number;
  lastOutcome?: string;
  lastOperationId?: string;
}

export type FireDecision = { kind: 'none' } | { kind: 'fire'; occurrence: number } | { kind: 'missed'; occurrence: number; lateMs: number };

/** Pure: whether the entry's latest occurrence is due now, and whether it is still within the window. */
export function decideScheduleFire(schedule: string, state: EntryState, now: number, missedWindowMs: number): FireDecision {
  const occurrence = latestOccurrence(schedule, now);
  if (occurrence === undefined) return { kind: 'none' };
  const handled = Math.max(state.firstSeen, state.lastOccurrence ?? Number.NEGATIVE_INFINITY);
  if (occurrence <= handled) return { kind: 'none' };
  const lateMs = now - occurrence;
  if (lateMs > Math.max(missedWindowMs, MIN_LATE_TOLERANCE_MS)) return { kind: 'missed', occurrence, lateMs };
  return { kind: 'fire', occurrence };
}

/** What the loop needs of a scheduled entry. */
export interface CronEntry {
  /** stable across restarts: the key of its EntryState */
  id: string;
  /** cron expression (UTC) */
  schedule: string;
}

/** The persisted state: at least the per-entry fire state. */
export interface CronState {
  version: 1;
  entries: Record<string, EntryState>;
}

/** What a scheduler's schedules() adds to each entry's own fields. */
export interface CronView {
  nextAt?: string;
  lastFiredAt?: string;
  lastOutcome?: string;
}

export interface CronLoopOptions<E extends CronEntry, S extends CronState> {
  /** `backup` / `import`: log messages read `<name> scheduler ...`, `<name> schedule state unreadable ...` */
  name: string;
  /** how log messages name the lock: `lock` / `lease` */
  lockWord: string;
  lock: LeaderLock;
  logger: Logger;
  clock: Clock;
  /** the persisted state file */
  stateFile: string;
  /** how late a missed occurrence may still run */
  missedWindowMs: number;
  /** at least one pass this often (lease renewal) */
  heartbeatMs: number;
  /** the current entries, planned afresh on start and at each pass */
  plan(): readonly E[];
  /** the state from the file's parsed content (undefined: no file or unreadable) */
  state(parsed: Partial<S> | undefined): S;
  /** on start, once per entry (logs the schedule) */
  announce(entry: E, nextAt: number | undefined): void;
  /** on start: what wakes a pass (spec changes, ...); returns the unsubscribers, called on stop */
  subscribe(wake: () => void): (() => void)[];
  /** true: hold no lease this pass (default: no entries) */
  idle?(entries: readonly E[]): boolean;
  /** forget the state of entries no longer planned (default false) */
  forgetRemoved?: boolean;
  /** an occurrence outside the window, recorded as missed (logs it) */
  onMissed(entry: E, occurrence: number, lateMs: number, windowMs: number): void;
  /** requests the work of a due occurrence and records its outcome in `state`; the loop writes the state after */
  fire(entry: E, occurrence: number, state: S): Promise<void>;
  /** after the fires of a leader's pass */
  afterFires?(state: S): Promise<void>;
}

export class CronLoop<E extends CronEntry, S extends CronState> {
  private readonly o: CronLoopOptions<E, S>;
  private readonly unsubscribe: (() => void)[] = [];
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private stopping = false;
  private leader = false;
  private entries: readonly E[] = [];

  constructor(options: CronLoopOptions<E, S>) {
    this.o = options;
  }

  /** Whether this replica held the lease at its last pass. */
  isLeader(): boolean {
    return this.leader;
  }

  /** Whether stop() was called. */
  get stopped(): boolean {
    return this.stopping;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.entries = this.o.plan();
    const now = this.o.clock.now();
    for (const e of this.entries) this.o.announce(e, nextOccurrence(e.schedule, now));
    this.unsubscribe.push(...this.o.subscribe(() => this.wake()));
    this.wake();
  }

  /** Stops: no timer is left, a pass in flight is awaited, the lease is released. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const u of this.unsubscribe.splice(0)) u();
    while (this.running !== undefined) await this.running;
    if (this.leader) {
      this.leader = false;
      await this.o.lock.release().catch((err: unknown) => this.o.logger.warn(`${this.o.name} scheduler ${this.o.lockWord} release failed`, { err: errorMessage(err) }));
    }
  }

  /** Resolves when no pass is in flight (tests drive the clock, then wait for this). */
  async whenIdle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Runs a pass now (or right after the one in flight). */
  wake(): void {
    if (this.stopping) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.timer = undefined;
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.stopping) return;
      if (this.again) {
        this.again = false;
        this.wake();
      } else {
        this.arm();
      }
    });
  }

  /** Each entry's view: `base(entry)` then its next run and last fire and outcome (from the state file). */
  views<V extends CronView>(entries: readonly E[], base: (entry: E) => V): V[] {
    const state = this.readState();
    const now = this.o.clock.now();
    return entries.map((e) => {
      const s = state.entries[e.id];
      const v = base(e);
      const next = nextOccurrence(e.schedule, now);
      if (next !== undefined) v.nextAt = new Date(next).toISOString();
      if (s?.lastFiredAt !== undefined) v.lastFiredAt = new Date(s.lastFiredAt).toISOString();
      if (s?.lastOutcome !== undefined) v.lastOutcome = s.lastOutcome;
      return v;
    });
  }

  readState(): S {
    let text: string;
    try {
      text = readFileSync(this.o.stateFile, 'utf8');
    } catch {
      return this.o.state(undefined);
    }
    try {
      return this.o.state(JSON.parse(text) as Partial<S>);
    } catch (err) {
      this.o.logger.warn(`${this.o.name} schedule state unreadable: starting afresh`, { file: this.o.stateFile, err: errorMessage(err) });
      return this.o.state(undefined);
    }
  }

  /** Atomically (temp file, fsync, rename). */
  writeState(state: S): void {
    const file = this.o.stateFile;
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(state, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }

  private arm(): void {
    const now = this.o.clock.now();
    let at = now + this.o.heartbeatMs;
    for (const e of this.entries) {
      const next = nextOccurrence(e.schedule, now);
      if (next !== undefined && next < at) at = next;
    }
    this.timer?.cancel();
    this.timer = this.o.clock.setTimer(at - now, () => {
      this.timer = undefined;
      this.wake();
    });
  }

  private async pass(): Promise<void> {
    const o = this.o;
    const now = o.clock.now();
    try {
      this.entries = o.plan();
      if (o.idle ? o.idle(this.entries) : this.entries.length === 0) {
        // nothing to do: hold no lease (a replica with schedules, or a later spec, takes it)
        if (this.leader) {
          this.leader = false;
          await o.lock.release();
        }
        return;
      }
      let leader: boolean;
      try {
        leader = await o.lock.tryAcquire();
      } catch (err) {
        o.logger.warn(`${o.name} scheduler ${o.lockWord} failed`, { err: errorMessage(err) });
        leader = false;
      }
      if (leader !== this.leader) o.logger.info(leader ? `${o.name} scheduler leading` : `${o.name} scheduler following`, { identity: o.lock.identity });
      this.leader = leader;
      if (!leader || this.stopping) return;
      const state = this.readState();
      const due: { entry: E; occurrence: number }[] = [];
      for (const entry of this.entries) {
        const st = (state.entries[entry.id] ??= { firstSeen: now });
        const d = decideScheduleFire(entry.schedule, st, now, o.missedWindowMs);
        if (d.kind === 'none') continue;
        st.lastOccurrence = d.occurrence;
        if (d.kind === 'missed') {
          st.lastOutcome = 'missed';
          o.onMissed(entry, d.occurrence, d.lateMs, o.missedWindowMs);
        } else {
          st.lastFiredAt = now;
          st.lastOutcome = 'requested';
          due.push({ entry, occurrence: d.occurrence });
        }
      }
      if (o.forgetRemoved === true) {
        // entries that left the plan are forgotten
        const live = new Set(this.entries.map((e) => e.id));
        for (const id of Object.keys(state.entries)) if (!live.has(id)) delete state.entries[id];
      }
      this.writeState(state);
      for (const { entry, occurrence } of due) {
        if (this.stopping) break;
        await o.fire(entry, occurrence, state);
        this.writeState(state);
      }
      if (o.afterFires) await o.afterFires(state);
    } catch (err) {
      o.logger.error(`${o.name} scheduler pass failed`, { err: errorMessage(err) });
    }
  }
}
