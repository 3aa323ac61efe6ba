/**
 * ManticoreTable objects as table specs: the spec of each object goes through the same validation as a
 * spec file (src/spec validateTableDocument: schemas/table.schema.json plus the checks JSON Schema
 * cannot express) and joins the specs of the file store (SPECS_DIR, TABLES_CONFIG) the controller
 * already reads. Rules, as for files:
 * - `spec.name` defaults to metadata.name with '-' replaced by '_' (object names cannot hold '_');
 * - an invalid object never stops the others; it gets problems (pointer + fix-it) that reach its
 *   SpecInvalid condition, in the status store and on the object's own status;
 * - an object that turns invalid keeps its last valid spec until fixed (a half-edited object must not
 *   look like a removed table);
 * - a table declared by two objects (or by an object and a file) is applied from the first declaration
 *   only (files first, then objects by creation time) and the others get a problem naming it.
 * ManticoreBackupSchedule objects (backup-schedules.ts) add entries to the `backups` of the table they
 * name (declared by a file or an object); a schedule whose table is not declared, or whose name clashes
 * with a backup of the spec, gets a problem. The generation of a table increases whenever its content
 * (spec plus schedules) changes; each object's status reports its own metadata.generation.
 */
import type { LoadedSpec, SpecOrigin, SpecProblem } from '../../domain/spec.js';
import { planBackupSchedule, type BackupScheduleObject } from './backup-schedules.js';
import type { Logger } from '../../lib/logger.js';
import { validateTableDocument } from '../../spec/validate.js';
import type { Informer } from './informer.js';
import type { KubeObject } from './rest.js';

export interface ManticoreTableObject extends KubeObject {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** What the controller reads of a spec store (src/reconcile/controller.ts SpecSource, plus lookups). */
export interface InnerSpecSource {
  specs(): LoadedSpec[];
  problems(): SpecProblem[];
  onChange(listener: () => void): () => void;
}

export interface ObjectSpecState {
  /** the table the object declares (also when invalid, as far as it can be told) */
  table: string;
  /** the spec in effect for this object, if any (its current one, or its last valid one) */
  loaded?: LoadedSpec;
  /** the object's own problems (validation, duplicates, kept last version) */
  problems: SpecProblem[];
  /** metadata.generation of the object version in effect (status.observedGeneration) */
  objectGeneration?: number;
}

export interface ScheduleState {
  table?: string;
  /** the entry was added to its table's backups */
  applied: boolean;
  problems: SpecProblem[];
  objectGeneration?: number;
}

/** Key order-independent JSON, to compare specs by content. */
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

/** The table an object declares: spec.name, else metadata.name with '-' → '_'. */
export function tableNameOf(obj: ManticoreTableObject): string {
  const n = obj.spec?.name;
  return typeof n === 'string' && n !== '' ? n : obj.metadata.name.replace(/-/g, '_');
}

export class CrdSpecSource {
  private readonly objects = new Map<string, ObjectSpecState>();
  private readonly schedules = new Map<string, ScheduleState>();
  private readonly lastValid = new Map<string, { loaded: LoadedSpec; objectGeneration: number }>();
  /** per table: content last handed out and its generation (generations never go back) */
  private readonly generations = new Map<string, { canon: string; generation: number }>();
  private readonly listeners = new Set<() => void>();
  private merged: LoadedSpec[] = [];
  private mergedProblems: SpecProblem[] = [];
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly informer: Informer<ManticoreTableObject>,
    private readonly namespace: string,
    private readonly inner: InnerSpecSource | undefined,
    private readonly logger: Logger,
    private readonly scheduleInformer?: Informer<BackupScheduleObject>,
  ) {
    this.unsubscribe.push(informer.onChange(() => this.recompute()));
    if (scheduleInformer !== undefined) this.unsubscribe.push(scheduleInformer.onChange(() => this.recompute()));
    if (inner !== undefined) this.unsubscribe.push(inner.onChange(() => this.recompute()));
    this.recompute();
  }

  specs(): LoadedSpec[] {
    return this.merged.slice();
  }

  get(name: string): LoadedSpec | undefined {
    return this.merged.find((s) => s.spec.name === name);
  }

  problems(): SpecProblem[] {
    return [...(this.inner?.problems() ?? []), ...this.mergedProblems];
  }

  problemsFor(table: string): SpecProblem[] {
    return this.problems().filter((p) => p.table === table);
  }

  /** The state of one ManticoreBackupSchedule object (for its status). */
  scheduleState(objectName: string): ScheduleState | undefined {
    return this.schedules.get(objectName);
  }

  /** The state of one ManticoreTable object (for its status). */
  objectState(objectName: string): ObjectSpecState | undefined {
    return this.objects.get(objectName);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.listeners.clear();
  }

  private origin(obj: ManticoreTableObject): SpecOrigin {
    return { kind: 'crd', ref: `${this.namespace}/${obj.metadata.name}` };
  }

  /** Adds each valid ManticoreBackupSchedule to the backups of the table it names. */
  private withSchedules(specs: LoadedSpec[]): LoadedSpec[] {
    this.schedules.clear();
    const byTable = new Map(specs.map((s) => [s.spec.name, s]));
    const added = new Map<string, LoadedSpec>();
    for (const obj of this.scheduleInformer?.list() ?? []) {
      const origin: SpecOrigin = { kind: 'crd', ref: `${this.namespace}/backupschedule/${obj.metadata.name}` };
      const { entry, problems } = planBackupSchedule(obj, origin);
      const state: ScheduleState = { applied: false, problems, ...(obj.metadata.generation === undefined ? {} : { objectGeneration: obj.metadata.generation }) };
      this.schedules.set(obj.metadata.name, state);
      if (entry === undefined) continue;
      state.table = entry.table;
      const target = added.get(entry.table) ?? byTable.get(entry.table);
      if (target === undefined) {
        problems.push({ origin, pointer: '/spec/table', table: entry.table, message: `no table '${entry.table}' is declared (by a ManticoreTable or a spec file): create it, or name a declared table` });
        continue;
      }
      if (target.spec.backups.some((b) => b.name === entry.backup.name)) {
        problems.push({ origin, pointer: '', table: entry.table, message: `table '${entry.table}' already has a backup schedule named '${entry.backup.name}': rename this object` });
        continue;
      }
      added.set(entry.table, { ...target, spec: { ...target.spec, backups: [...target.spec.backups, entry.backup] } });
      state.applied = true;
    }
    return specs.map((s) => added.get(s.spec.name) ?? s);
  }

  private recompute(): void {
    const before = JSON.stringify([this.merged.map((s) => [s.spec.name, s.generation, s.origin.ref]), this.mergedProblems]);
    const innerSpecs = this.inner?.specs() ?? [];
    const claimed = new Map<string, string>(innerSpecs.map((s) => [s.spec.name, s.origin.ref]));
    const objects = this.informer
      .list()
      .slice()
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name));
    const present = new Set<string>();
    this.objects.clear();
    const crdSpecs: LoadedSpec[] = [];
    for (const obj of objects) {
      const objName = obj.metadata.name;
      present.add(objName);
      const origin = this.origin(obj);
      const table = tableNameOf(obj);
      const doc = { ...(obj.spec ?? {}), name: table };
      const { spec, problems } = validateTableDocument(doc, origin);
      const state: ObjectSpecState = { table, problems: problems.map((p) => ({ ...p, pointer: `/spec${p.pointer}`, table: p.table ?? table })) };
      if (spec !== undefined) {
        const loaded: LoadedSpec = { spec, origin, generation: 0 };
        this.lastValid.set(objName, { loaded, objectGeneration: obj.metadata.generation ?? 1 });
        state.loaded = loaded;
        state.objectGeneration = obj.metadata.generation ?? 1;
      } else {
        const kept = this.lastValid.get(objName);
        if (kept !== undefined) {
          state.loaded = kept.loaded;
          state.objectGeneration = kept.objectGeneration;
          state.problems.push({ origin, pointer: '', table: kept.loaded.spec.name, message: `table '${kept.loaded.spec.name}' keeps its last valid version (object generation ${kept.objectGeneration}) until the problems above are fixed` });
        }
      }
      if (state.loaded !== undefined) {
        const owner = claimed.get(state.loaded.spec.name);
        if (owner !== undefined) {
          state.problems.push({
            origin,
            pointer: '/spec/name',
            table: state.loaded.spec.name,
            message: `table '${state.loaded.spec.name}' is already declared by ${owner}: remove one of the declarations, or give this object another spec.name`,
          });
          delete state.loaded;
        } else {
          claimed.set(state.loaded.spec.name, `ManticoreTable ${origin.ref}`);
          crdSpecs.push(state.loaded);
        }
      }
      this.objects.set(objName, state);
    }
    for (const name of [...this.lastValid.keys()]) if (!present.has(name)) this.lastValid.delete(name);
    const merged = this.withSchedules([...innerSpecs, ...crdSpecs]);
    // a generation per table that increases whenever its content changes
    this.merged = merged
      .map((s) => {
        const canon = canonical(s.spec);
        const before = this.generations.get(s.spec.name);
        const generation = before === undefined ? 1 : before.canon === canon ? before.generation : before.generation + 1;
        this.generations.set(s.spec.name, { canon, generation });
        return s.origin.kind === 'crd' ? { ...s, generation } : s;
      })
      .sort((a, b) => a.spec.name.localeCompare(b.spec.name));
    this.mergedProblems = [...this.objects.values(), ...this.schedules.values()].flatMap((s) => s.problems);
    const after = JSON.stringify([this.merged.map((s) => [s.spec.name, s.generation, s.origin.ref]), this.mergedProblems]);
    if (after === before) return;
    this.logger.info('ManticoreTable specs changed', { tables: this.merged.map((s) => s.spec.name), problems: this.mergedProblems.length });
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch (err) {
        this.logger.error('spec change listener failed', { err: String(err) });
      }
    }
  }
}
