/**
 * Writes each ManticoreTable's `/status` from the controller's status store: the table's conditions
 * (with SpecInvalid naming the field when the object is invalid), the active slot, a Ready summary and
 * the last import and backup operations. Passes are debounced after any status event or spec change,
 * and also run on a slow resync. A patch is sent only when the status differs from the object's; it
 * carries the resourceVersion it was computed from (merge patch), so a 409 conflict means the object
 * changed: it is read again and the patch retried (up to 3 times), never written blind.
 * ManticoreBackupSchedules get theirs too: SpecInvalid (naming the field) and the last backup they fired.
 */
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { Condition, OperationRecord, StatusReader } from '../../status/types.js';
import type { BackupScheduleObject } from './backup-schedules.js';
import type { CrdSpecSource, ManticoreTableObject } from './crd-specs.js';
import type { Informer } from './informer.js';
import { isKubeStatus, type KubeRest } from './rest.js';

export interface TableObjectStatus {
  observedGeneration?: number;
  table: string;
  activeSlot?: string;
  ready: 'True' | 'False' | 'Unknown';
  conditions: Condition[];
  lastImport?: OperationSummary;
  lastBackup?: OperationSummary;
}

export interface OperationSummary {
  operationId: string;
  state: string;
  requestedAt: string;
  finishedAt?: string;
  message?: string;
}

export interface StatusWriterOptions {
  rest: KubeRest;
  /** collection path of the ManticoreTables */
  path: string;
  informer: Informer<ManticoreTableObject>;
  /** ManticoreBackupSchedules and their collection path, when watched */
  schedules?: { informer: Informer<BackupScheduleObject>; path: string };
  specs: CrdSpecSource;
  status: Pick<StatusReader, 'table' | 'operations' | 'subscribe'>;
  logger: Logger;
  debounceMs?: number;
  resyncMs?: number;
  now?: () => number;
}

const MAX_CONFLICT_RETRIES = 3;

function summary(op: OperationRecord | undefined): OperationSummary | undefined {
  if (op === undefined) return undefined;
  const out: OperationSummary = { operationId: op.id, state: op.state, requestedAt: op.requestedAt };
  if (op.finishedAt !== undefined) out.finishedAt = op.finishedAt;
  const message = op.error ?? op.outcome;
  if (message !== undefined) out.message = message.slice(0, 1000);
  return out;
}

/** Key order-independent JSON, to compare a computed status with the object's. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export class CrdStatusWriter {
  private readonly o: StatusWriterOptions;
  private timer: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly unsubscribe: Array<() => void> = [];
  /** patches sent (tests, logs) */
  patches = 0;

  constructor(options: StatusWriterOptions) {
    this.o = options;
  }

  start(): void {
    this.unsubscribe.push(this.o.status.subscribe(() => this.trigger()));
    this.unsubscribe.push(this.o.specs.onChange(() => this.trigger()));
    this.unsubscribe.push(this.o.informer.onChange(() => this.trigger()));
    if (this.o.schedules !== undefined) this.unsubscribe.push(this.o.schedules.informer.onChange(() => this.trigger()));
    this.resync = setInterval(() => this.trigger(), this.o.resyncMs ?? 30_000);
    this.resync.unref();
    this.trigger();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.resync !== undefined) clearInterval(this.resync);
    await this.running;
  }

  /** Schedules a pass (debounced). */
  trigger(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pass();
    }, this.o.debounceMs ?? 200);
    this.timer.unref();
  }

  /** One pass over every object now (queued behind a pass in flight). */
  async pass(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        for (const obj of this.o.informer.list()) {
          if (this.stopped) return;
          try {
            await this.writeOne(this.o.informer, this.o.path, obj, (o) => this.desired(o));
          } catch (err) {
            this.o.logger.warn('ManticoreTable status patch failed', { object: obj.metadata.name, err: errorMessage(err) });
          }
        }
        const schedules = this.o.schedules;
        for (const obj of schedules?.informer.list() ?? []) {
          if (this.stopped || schedules === undefined) return;
          try {
            await this.writeOne(schedules.informer, schedules.path, obj, (o) => this.desiredSchedule(o));
          } catch (err) {
            this.o.logger.warn('ManticoreBackupSchedule status patch failed', { object: obj.metadata.name, err: errorMessage(err) });
          }
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private specInvalid(problems: readonly { pointer: string; message: string }[], previous: Condition[], generation: number | undefined): Condition {
    const invalid = problems.length > 0;
    const status = invalid ? ('True' as const) : ('False' as const);
    const prior = previous.find((c) => c.type === 'SpecInvalid');
    return {
      type: 'SpecInvalid',
      status,
      reason: invalid ? 'InvalidSpec' : 'Valid',
      message: invalid ? problems.map((p) => `${p.pointer === '' ? '/spec' : p.pointer}: ${p.message}`).join('; ').slice(0, 4000) : 'the spec is valid',
      lastTransitionTime: prior?.status === status ? prior.lastTransitionTime : new Date((this.o.now ?? Date.now)()).toISOString(),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    };
  }

  /** The status one ManticoreBackupSchedule should carry now. */
  desiredSchedule(obj: BackupScheduleObject): Record<string, unknown> {
    const state = this.o.specs.scheduleState(obj.metadata.name);
    const previous = (obj.status?.conditions as Condition[] | undefined) ?? [];
    const out: Record<string, unknown> = { conditions: [this.specInvalid(state?.problems ?? [], previous, obj.metadata.generation)] };
    if (state?.applied === true && state.objectGeneration !== undefined) out.observedGeneration = state.objectGeneration;
    if (state?.table !== undefined) {
      const by = `schedule ${state.table}/${obj.metadata.name}`;
      const last = this.o.status
        .operations()
        .filter((op) => op.kind === 'backup' && op.requestedBy === by)
        .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt))
        .at(-1);
      const lastBackup = summary(last);
      if (lastBackup !== undefined) out.lastBackup = lastBackup;
    }
    return out;
  }

  /** The status one object should carry now. */
  desired(obj: ManticoreTableObject): TableObjectStatus {
    const state = this.o.specs.objectState(obj.metadata.name);
    const table = state?.table ?? obj.metadata.name.replace(/-/g, '_');
    const view = state?.loaded === undefined ? undefined : this.o.status.table(table);
    const previous = (obj.status?.conditions as Condition[] | undefined) ?? [];
    // the store counts generations of the table's content; the object's status speaks of metadata.generation
    const contentGeneration = this.o.specs.get(table)?.generation;
    const conditions: Condition[] = (view?.conditions ?? [])
      .filter((c) => c.type !== 'SpecInvalid')
      .map(({ observedGeneration, ...c }) => (observedGeneration !== undefined && observedGeneration === contentGeneration && state?.objectGeneration !== undefined ? { ...c, observedGeneration: state.objectGeneration } : c));
    const problems = state?.problems ?? [];
    const invalid = problems.length > 0;
    conditions.push(this.specInvalid(problems, previous, obj.metadata.generation));
    const converged = conditions.find((c) => c.type === 'TablesConverged');
    const ready = invalid || state?.loaded === undefined ? 'False' : converged === undefined ? 'Unknown' : converged.status === 'True' ? 'True' : 'False';
    const ops = this.o.status.operations().filter((op) => op.target === table || op.key.endsWith(`/${table}`));
    const latest = (kind: string): OperationRecord | undefined =>
      ops.filter((op) => op.kind === kind).sort((a, b) => a.requestedAt.localeCompare(b.requestedAt)).at(-1);
    const out: TableObjectStatus = { table, ready, conditions };
    if (state?.objectGeneration !== undefined) out.observedGeneration = state.objectGeneration;
    if (view?.activeSlot !== undefined) out.activeSlot = view.activeSlot;
    const lastImport = summary(latest('import'));
    if (lastImport !== undefined) out.lastImport = lastImport;
    const lastBackup = summary(latest('backup'));
    if (lastBackup !== undefined) out.lastBackup = lastBackup;
    return out;
  }

  private async writeOne<T extends ManticoreTableObject | BackupScheduleObject>(informer: Informer<T>, path: string, initial: T, desired: (obj: T) => object): Promise<void> {
    let obj = initial;
    for (let attempt = 0; ; attempt++) {
      const status = desired(obj);
      if (canonical(status) === canonical(obj.status ?? {})) return;
      try {
        const updated = await this.o.rest.mergePatch<T>(`${path}/${encodeURIComponent(obj.metadata.name)}/status`, {
          metadata: { resourceVersion: obj.metadata.resourceVersion },
          // keys the status no longer has are removed (null in a merge patch)
          status: { ...Object.fromEntries(Object.keys(obj.status ?? {}).map((k) => [k, null])), ...status },
        });
        this.patches++;
        informer.update(updated);
        return;
      } catch (err) {
        if (isKubeStatus(err, 404)) return; // deleted meanwhile
        if (!isKubeStatus(err, 409) || attempt >= MAX_CONFLICT_RETRIES) throw err;
        this.o.logger.debug('ManticoreTable changed while its status was written: reading it again', { object: obj.metadata.name });
        obj = await this.o.rest.get<T>(`${path}/${encodeURIComponent(obj.metadata.name)}`);
      }
    }
  }
}
