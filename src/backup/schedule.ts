/**
 * The backup scheduler (issue 5 item 5): fires scheduled backups through the controller's
 * requestBackup, on exactly one controller replica, and applies each schedule's retention after
 * its backup succeeds.
 *
 * Entries come from `BACKUP_SCHEDULES` (the original JSON form `[{table, type, schedule}]`, plus
 * optional `keep` and `maxAge`) and from the table specs (`backups: [{name, type, schedule, keep?}]`).
 * Schedules are five-field cron expressions (or @daily-style macros) in UTC (src/spec/cron.ts). An
 * entry that is not usable (bad expression, type, table) is reported as a problem (origin
 * BACKUP_SCHEDULES, for the status' spec problems) and logged once, and the others run.
 *
 * One pass (tick), on a timer at the next due occurrence and at least every heartbeat:
 * 1. take or renew the leader lock (LeaderLock; not the leader → nothing more);
 * 2. read the persisted state `<data-dir>/backup-schedules.json` (last handled occurrence per entry);
 * 3. per entry decideScheduleFire: the latest occurrence <= now is due when it is newer than both the
 *    entry's last handled occurrence and the moment the entry was first seen; it fires when it is at
 *    most `max(missedWindowMs, 1 min)` old (so an occurrence missed while no controller ran fires
 *    once on start when within the window — several missed occurrences fire once), else it is
 *    recorded as missed and logged;
 * 4. the state is written before requestBackup is called (at most one request per occurrence, even
 *    across a crash or a change of leader);
 * 5. a requestBackup rejected with BACKUP_IN_PROGRESS (a backup of the table is active) is skipped
 *    and logged; any other error is logged; neither is retried (the next occurrence runs);
 * 6. backups requested by a schedule with a retention policy are remembered (persisted); when the
 *    operation has succeeded, retention runs for that schedule's table and type.
 * stop() cancels the timer, waits for a pass in flight and releases the lock: no timer is left.
 * The timer, state file, lock and decision loop (steps 1-4) are the cron loop shared with the import
 * scheduler (src/backup/cron-loop.ts); this module adds the entries, the requests and retention.
 */
import path from 'node:path';
import { baseNameProblem } from '../domain/names.js';
import type { BackupType, LoadedSpec, SpecProblem } from '../domain/spec.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { errorMessage, isAppError, ValidationError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { cronProblem } from '../spec/cron.js';
import type { OperationRecord, StatusEvent } from '../status/types.js';
import { CronLoop, type EntryState } from './cron-loop.js';
import { hasRetention, parseMaxAge, reconcileRetention, type RetentionPolicy, type RetentionStore } from './retention.js';
import { FileLeaseLock, type LeaderLock } from './schedule-lock.js';

// the pure cron parts moved to the shared cron loop; they stay importable from here
export { decideScheduleFire, latestOccurrence, MIN_LATE_TOLERANCE_MS, nextOccurrence, type EntryState, type FireDecision } from './cron-loop.js';

export const BACKUP_SCHEDULES_VAR = 'BACKUP_SCHEDULES';
export const DEFAULT_MISSED_WINDOW_MS = 3_600_000;
export const DEFAULT_HEARTBEAT_MS = 10_000;
export const SCHEDULE_STATE_FILE = 'backup-schedules.json';

export interface ScheduleEntry {
  /** stable across restarts: `env/<table>/<type>/<schedule>` or `spec/<table>/<name>` */
  id: string;
  source: 'env' | 'spec';
  /** for logs and messages: `BACKUP_SCHEDULES[1]`, `products/nightly-delta` */
  label: string;
  table: string;
  type: BackupType;
  schedule: string;
  retention: RetentionPolicy;
}

export interface ScheduleEntries {
  entries: ScheduleEntry[];
  problems: SpecProblem[];
}

const ENV_ORIGIN = { kind: 'env', ref: BACKUP_SCHEDULES_VAR } as const;

/** Pure: usable entries of BACKUP_SCHEDULES (parsed JSON array) and of the specs, and a problem per unusable env entry. */
export function planScheduleEntries(envEntries: readonly unknown[], specs: readonly LoadedSpec[]): ScheduleEntries {
  const entries: ScheduleEntry[] = [];
  const problems: SpecProblem[] = [];
  const seen = new Set<string>();
  envEntries.forEach((raw, i) => {
    const label = `${BACKUP_SCHEDULES_VAR}[${i}]`;
    const problem = (field: string, message: string, table?: string): void => {
      const p: SpecProblem = { origin: ENV_ORIGIN, pointer: `/${i}${field === '' ? '' : `/${field}`}`, message: `${label}${field === '' ? '' : `.${field}`}: ${message}` };
      if (table !== undefined) p.table = table;
      problems.push(p);
    };
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problem('', 'each entry is an object {"table": "<name>", "type": "delta"|"main", "schedule": "<cron>"}');
      return;
    }
    const e = raw as Record<string, unknown>;
    const tableProblem = typeof e.table === 'string' ? baseNameProblem(e.table) : 'give the base table name, e.g. "table": "products"';
    if (tableProblem !== undefined) return problem('table', tableProblem);
    const table = e.table as string;
    if (e.type !== 'delta' && e.type !== 'main') return problem('type', `${JSON.stringify(e.type ?? null)} is not a backup type: use "delta" or "main"`, table);
    if (typeof e.schedule !== 'string') return problem('schedule', 'give a cron expression (5 fields, UTC), e.g. "0 2 * * *"', table);
    const cron = cronProblem(e.schedule);
    if (cron !== undefined) return problem('schedule', cron, table);
    const retention: RetentionPolicy = {};
    if (e.keep !== undefined) {
      if (typeof e.keep !== 'number' || !Number.isInteger(e.keep) || e.keep < 1) return problem('keep', `${JSON.stringify(e.keep)} is not a whole number >= 1: write e.g. "keep": 7`, table);
      retention.keep = e.keep;
    }
    if (e.maxAge !== undefined) {
      try {
        retention.maxAgeMs = parseMaxAge(String(e.maxAge), `${label}.maxAge`);
      } catch (err) {
        return problem('maxAge', errorMessage(err).replace(`${label}.maxAge: `, ''), table);
      }
    }
    const id = `env/${table}/${e.type}/${e.schedule.trim()}`;
    if (seen.has(id)) return problem('', `the same table, type and schedule as an earlier entry: remove one of them`, table);
    seen.add(id);
    entries.push({ id, source: 'env', label, table, type: e.type, schedule: e.schedule.trim(), retention });
  });
  for (const { spec } of specs) {
    for (const b of spec.backups) {
      // spec problems (bad expressions) are reported by the spec store, which keeps such a spec out
      if (cronProblem(b.schedule) !== undefined) continue;
      const id = `spec/${spec.name}/${b.name}`;
      if (seen.has(id)) continue;
      seen.add(id);
      entries.push({
        id,
        source: 'spec',
        label: `${spec.name}/${b.name}`,
        table: spec.name,
        type: b.type,
        schedule: b.schedule.trim(),
        retention: b.keep === undefined ? {} : { keep: b.keep },
      });
    }
  }
  return { entries, problems };
}

export interface PendingRetention {
  entryId: string;
  table: string;
  type: BackupType;
  policy: RetentionPolicy;
}

export interface ScheduleState {
  version: 1;
  entries: Record<string, EntryState>;
  /** operation id → the retention to run when it succeeds */
  pendingRetention: Record<string, PendingRetention>;
}

/** What the scheduler needs of the controller. */
export interface BackupRequester {
  requestBackup(input: { table: string; type: BackupType; requestedBy: string }): Promise<OperationRecord>;
}

/** What the scheduler needs of the status store, to run retention after a backup succeeds. */
export interface OperationSource {
  operation(id: string): OperationRecord | undefined;
  subscribe(listener: (event: StatusEvent) => void): () => void;
}

export interface ScheduleSpecSource {
  specs(): LoadedSpec[];
  onChange?(listener: () => void): () => void;
}

export interface BackupSchedulerOptions {
  /** BACKUP_SCHEDULES as parsed by src/config (a JSON array) */
  envEntries: readonly unknown[];
  specs: ScheduleSpecSource;
  backups: BackupRequester;
  lock: LeaderLock;
  /** the state file lives here (the controller's data dir) */
  dataDir: string;
  logger: Logger;
  /** how late a missed occurrence may still run on start (default 1 h) */
  missedWindowMs?: number;
  /** retention after successful scheduled backups: the bucket and the BACKUP_PREFIX */
  retention?: { store: RetentionStore; prefix: string; operations: OperationSource };
  clock?: Clock;
  /** at least one pass this often (lock renewal), default 10 s */
  heartbeatMs?: number;
}

export interface ScheduleView {
  id: string;
  source: 'env' | 'spec';
  label: string;
  table: string;
  type: BackupType;
  schedule: string;
  retention: RetentionPolicy;
  nextAt?: string;
  lastFiredAt?: string;
  lastOutcome?: string;
}

export class BackupScheduler {
  private readonly o: BackupSchedulerOptions;
  private readonly clock: Clock;
  private readonly loop: CronLoop<ScheduleEntry, ScheduleState>;
  private reported = new Set<string>();
  private current: ScheduleEntries = { entries: [], problems: [] };

  constructor(options: BackupSchedulerOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.current = planScheduleEntries(options.envEntries, options.specs.specs());
    this.loop = new CronLoop<ScheduleEntry, ScheduleState>({
      name: 'backup',
      lockWord: 'lock',
      lock: options.lock,
      logger: options.logger,
      clock: this.clock,
      stateFile: path.join(options.dataDir, SCHEDULE_STATE_FILE),
      missedWindowMs: options.missedWindowMs ?? DEFAULT_MISSED_WINDOW_MS,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      plan: () => {
        this.refresh();
        return this.current.entries;
      },
      state: (v) => ({ version: 1, entries: v?.entries ?? {}, pendingRetention: v?.pendingRetention ?? {} }),
      announce: (e, next) => {
        this.o.logger.info('backup schedule', { schedule: e.label, table: e.table, type: e.type, cron: e.schedule, nextAt: next === undefined ? undefined : new Date(next).toISOString() });
      },
      subscribe: (wake) => {
        const unsubscribe: (() => void)[] = [];
        if (this.o.specs.onChange) unsubscribe.push(this.o.specs.onChange(wake));
        if (this.o.retention) {
          unsubscribe.push(
            this.o.retention.operations.subscribe((event) => {
              if (event.type !== 'operation' || event.operation.state !== 'succeeded') return;
              if (this.loop.readState().pendingRetention[event.operation.id] !== undefined) wake();
            }),
          );
        }
        return unsubscribe;
      },
      // with retention still to run, keep the lock although no schedule is left
      idle: (entries) => entries.length === 0 && Object.keys(this.loop.readState().pendingRetention).length === 0,
      onMissed: (entry, occurrence, lateMs, windowMs) => {
        this.o.logger.warn('scheduled backup missed: outside the window', {
          schedule: entry.label,
          table: entry.table,
          occurrence: new Date(occurrence).toISOString(),
          lateMs,
          windowMs,
        });
      },
      fire: (entry, occurrence, state) => this.fire(entry, occurrence, state),
      afterFires: (state) => this.runRetention(state),
    });
  }

  /** Unusable BACKUP_SCHEDULES entries (spec problems with origin BACKUP_SCHEDULES). */
  problems(): SpecProblem[] {
    return this.current.problems;
  }

  /** Whether this replica held the lock at its last pass. */
  isLeader(): boolean {
    return this.loop.isLeader();
  }

  /** Every usable schedule with its next run and last outcome. */
  schedules(): ScheduleView[] {
    return this.loop.views(this.current.entries, (e): ScheduleView => ({ id: e.id, source: e.source, label: e.label, table: e.table, type: e.type, schedule: e.schedule, retention: e.retention }));
  }

  start(): void {
    this.loop.start();
  }

  /** Stops: no timer is left, a pass in flight is awaited, the lock is released. */
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

  private refresh(): void {
    this.current = planScheduleEntries(this.o.envEntries, this.o.specs.specs());
    for (const p of this.current.problems) {
      if (this.reported.has(p.message)) continue;
      this.reported.add(p.message);
      this.o.logger.error('backup schedule skipped', { schedule: p.pointer, table: p.table, err: p.message });
    }
  }

  /** Requests the backup of a due occurrence and records the outcome (the loop writes the state after). */
  private async fire(entry: ScheduleEntry, occurrence: number, state: ScheduleState): Promise<void> {
    const st = state.entries[entry.id];
    const fields = { schedule: entry.label, table: entry.table, type: entry.type, occurrence: new Date(occurrence).toISOString() };
    try {
      const op = await this.o.backups.requestBackup({ table: entry.table, type: entry.type, requestedBy: `schedule ${entry.label}` });
      this.o.logger.info('scheduled backup requested', { ...fields, operationId: op.id });
      if (st) {
        st.lastOperationId = op.id;
        st.lastOutcome = 'requested';
      }
      if (this.o.retention && hasRetention(entry.retention)) {
        state.pendingRetention[op.id] = { entryId: entry.id, table: entry.table, type: entry.type, policy: entry.retention };
      }
    } catch (err) {
      if (isAppError(err) && err.code === 'BACKUP_IN_PROGRESS') {
        this.o.logger.info('scheduled backup skipped: a backup of the table is running', { ...fields, err: err.message });
        if (st) st.lastOutcome = 'skipped: a backup of the table was running';
      } else {
        this.o.logger.error('scheduled backup failed', { ...fields, err: errorMessage(err) });
        if (st) st.lastOutcome = `failed: ${errorMessage(err)}`;
      }
    }
  }

  private async runRetention(state: ScheduleState): Promise<void> {
    const r = this.o.retention;
    if (!r) return;
    for (const [opId, pending] of Object.entries(state.pendingRetention)) {
      if (this.loop.stopped) return;
      const op = r.operations.operation(opId);
      if (op !== undefined && (op.state === 'pending' || op.state === 'running')) continue;
      delete state.pendingRetention[opId];
      this.loop.writeState(state);
      if (op === undefined || op.state !== 'succeeded') continue; // failed, cancelled or gone from the history: nothing new to keep
      try {
        const { plan, results } = await reconcileRetention(r.store, { prefix: r.prefix, table: pending.table, type: pending.type }, pending.policy, this.clock.now());
        const failed = results.filter((x) => !x.ok);
        this.o.logger.info('backup retention applied', {
          table: pending.table,
          type: pending.type,
          operationId: opId,
          kept: plan.decisions.filter((d) => d.action === 'keep').map((d) => d.key),
          deleted: results.filter((x) => x.ok).map((x) => x.key),
          note: plan.note,
        });
        for (const f of failed) this.o.logger.warn('backup retention delete failed', { archiveKey: f.key, err: f.error });
      } catch (err) {
        this.o.logger.error('backup retention failed', { table: pending.table, type: pending.type, operationId: opId, err: errorMessage(err) });
      }
    }
  }
}

/** A spec source whose problems include the scheduler's (so BACKUP_SCHEDULES problems reach the status' spec problems). */
export function withScheduleProblems<T extends { problems(): SpecProblem[] }>(source: T, extra: () => SpecProblem[]): T {
  return new Proxy(source, {
    get(target, prop, receiver) {
      if (prop === 'problems') return () => [...target.problems(), ...extra()];
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Parses BACKUP_SCHEDULES text: a JSON array (empty or absent: none). Throws ValidationError naming `from`. */
export function parseBackupSchedulesText(text: string | undefined, from = BACKUP_SCHEDULES_VAR): unknown[] {
  if (text === undefined || text.trim() === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(from, `is not valid JSON (${errorMessage(err)}): write a JSON array, e.g. [{"table":"products","type":"delta","schedule":"0 2 * * *"}]`);
  }
  if (!Array.isArray(v)) throw new ValidationError(from, 'is not a JSON array: write [{"table":"products","type":"delta","schedule":"0 2 * * *"}]');
  return v;
}

export const SCHEDULER_LEASE_FILE = 'backup-scheduler.lease';

export interface ControllerSchedulerOptions {
  dataDir: string;
  /** BACKUP_SCHEDULES (parsed) */
  envEntries: readonly unknown[];
  missedWindowMs: number;
  specs: ScheduleSpecSource;
  /** the controller (requestBackup) */
  backups: BackupRequester;
  /** the status store (operations and their events) */
  operations: OperationSource;
  /** the controller's backup store and prefix (retention); the store is created on first use */
  backup?: { store(): RetentionStore; prefix: string };
  logger: Logger;
  /** default: the lease file `<data-dir>/backup-scheduler.lease` (replicas sharing the data dir) */
  lock?: LeaderLock;
}

/** The scheduler as the controller process runs it (src/bin/controller.ts): file lease in the data dir, retention on the controller's store. */
export function createControllerScheduler(o: ControllerSchedulerOptions): BackupScheduler {
  const b = o.backup;
  const options: BackupSchedulerOptions = {
    envEntries: o.envEntries,
    specs: o.specs,
    backups: o.backups,
    lock: o.lock ?? new FileLeaseLock({ file: path.join(o.dataDir, SCHEDULER_LEASE_FILE) }),
    dataDir: o.dataDir,
    logger: o.logger,
    missedWindowMs: o.missedWindowMs,
  };
  if (b !== undefined) {
    options.retention = {
      store: { list: (prefix) => b.store().list(prefix), delete: (key) => b.store().delete(key) },
      prefix: b.prefix,
      operations: o.operations,
    };
  }
  return new BackupScheduler(options);
}

/** BACKUP_SCHEDULES problems alone (for the spec source the controller reads, before the scheduler exists). */
export function backupScheduleProblems(envEntries: readonly unknown[]): SpecProblem[] {
  return planScheduleEntries(envEntries, []).problems;
}
