/**
 * The file-backed status store: implements StatusReader (API, UI, CLI) and StatusWriter (reconciler).
 *
 * State lives in memory and is persisted as JSON under `<dataDir>/status/` with an atomic write
 * (temp file + rename), one file per part so a frequent mutation rewrites only its own file:
 *   state.json       cluster view, conditions by scope, table views, spec problems
 *   seqnos.json      last_committed recorded per node while the cluster was up (the full-crash fallback)
 *   operations.json  operation history, newest first, bounded (DEFAULT_OPERATION_HISTORY)
 *   audit.json       the API's audit trail (one record per mutating request), newest first, bounded
 *                    (DEFAULT_AUDIT_HISTORY)
 * Everything is loaded back by `open()`, so a controller killed with SIGKILL and started again remembers
 * recorded seqnos and operations. Without a dataDir the store is memory-only (tests, dry runs).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SpecProblem } from '../domain/spec.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { AppError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { perObject } from '../lib/memo.js';
import { mergeConditions } from './conditions.js';
import type {
  AuditLog,
  AuditRecord,
  ClusterStatusView,
  Condition,
  ConditionInput,
  NodeStatusView,
  OperationRecord,
  StatusEvent,
  StatusReader,
  StatusWriter,
  TableStatusView,
} from './types.js';

export const DEFAULT_OPERATION_HISTORY = 500;
export const DEFAULT_AUDIT_HISTORY = 1000;
export const STATUS_DIR = 'status';
const FORMAT_VERSION = 1;

export interface StatusStoreOptions {
  /** the controller's data directory; files go to `<dataDir>/status/`. Omit for a memory-only store. */
  dataDir?: string;
  clock?: Clock;
  logger?: Logger;
  maxOperations?: number;
  maxAudit?: number;
}

interface StateFile {
  version: number;
  cluster: Omit<ClusterStatusView, 'conditions'>;
  conditions: Record<string, Condition[]>;
  tables: Record<string, Omit<TableStatusView, 'conditions'>>;
  specProblems: SpecProblem[];
}

type Seqnos = Record<string, { uuid: string; seqno: number; at: string }>;

const EMPTY_CLUSTER: Omit<ClusterStatusView, 'conditions'> = { name: '', phase: 'Unknown', size: 0, nodes: [] };

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** A node's table list as JSON, once per list (the reconciler hands the same list while a node's tables stay put). */
const tableListJson = perObject((tables: readonly string[]): string => JSON.stringify(tables));

function nodeSignature(node: NodeStatusView): string {
  const { observedAt: _observedAt, tables, ...rest } = node;
  return `${JSON.stringify(rest)}${tableListJson(tables)}`;
}

/** The cluster view without observation times (what is worth writing to disk again when it changes), and each node's. */
function clusterSignatures(view: Omit<ClusterStatusView, 'conditions'>): { signature: string; nodes: Map<string, string> } {
  const { nodes, conditions: _conditions, ...rest } = view as ClusterStatusView;
  const sigs = nodes.map(nodeSignature);
  return { signature: `${JSON.stringify(rest)}\n${sigs.join('\n')}`, nodes: new Map(nodes.map((n, i) => [n.name, sigs[i] as string])) };
}

export class FileStatusStore implements StatusReader, StatusWriter, AuditLog {
  private readonly dir: string | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly maxOperations: number;
  /** bumped by every change of a table view or of a table's conditions (GET /api/tables' cache) */
  private tablesRevision = 0;
  private tablesJson: { revision: number; json: string } | undefined;
  private state: StateFile = { version: FORMAT_VERSION, cluster: clone(EMPTY_CLUSTER), conditions: {}, tables: {}, specProblems: [] };
  private seqnos: Seqnos = {};
  private ops: OperationRecord[] = [];
  private readonly maxAudit: number;
  private audit: AuditRecord[] = [];
  private readonly listeners = new Set<(event: StatusEvent) => void>();
  /** the held cluster view's signature and its nodes' (see setCluster), once set */
  private clusterSig: { signature: string; nodes: Map<string, string> } | undefined;

  private constructor(options: StatusStoreOptions) {
    this.dir = options.dataDir === undefined ? undefined : join(options.dataDir, STATUS_DIR);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.maxOperations = options.maxOperations ?? DEFAULT_OPERATION_HISTORY;
    this.maxAudit = options.maxAudit ?? DEFAULT_AUDIT_HISTORY;
  }

  /** Opens the store, loading whatever an earlier run persisted. */
  static open(options: StatusStoreOptions = {}): FileStatusStore {
    const store = new FileStatusStore(options);
    store.load();
    return store;
  }

  // ---------------------------------------------------------------------------------------------
  // reader

  cluster(): ClusterStatusView {
    const view = clone(this.state.cluster);
    for (const node of view.nodes) {
      const rec = this.seqnos[node.name];
      if (node.recordedSeqno === undefined && rec !== undefined) node.recordedSeqno = rec.seqno;
    }
    return { ...view, conditions: clone(this.state.conditions['cluster'] ?? []) };
  }

  tables(): TableStatusView[] {
    return Object.keys(this.state.tables)
      .sort()
      .map((name) => this.table(name))
      .filter((t): t is TableStatusView => t !== undefined);
  }

  tablesEnvelopeJson(): string {
    if (this.tablesJson?.revision !== this.tablesRevision) {
      const sorted = this.tables().sort((a, b) => a.name.localeCompare(b.name));
      this.tablesJson = { revision: this.tablesRevision, json: JSON.stringify({ data: sorted }) };
    }
    return this.tablesJson.json;
  }

  /** Names of the tables with a view, sorted, and each one's active slot: no copy of the views. */
  tableSlots(): { name: string; activeSlot: TableStatusView['activeSlot'] }[] {
    return Object.keys(this.state.tables)
      .sort()
      .map((name) => ({ name, activeSlot: this.state.tables[name]?.activeSlot }));
  }

  table(name: string): TableStatusView | undefined {
    const view = this.state.tables[name];
    if (view === undefined) return undefined;
    return { ...clone(view), conditions: clone(this.state.conditions[`table/${name}`] ?? []) };
  }

  specProblems(): SpecProblem[] {
    return clone(this.state.specProblems);
  }

  operations(): OperationRecord[] {
    return clone(this.ops);
  }

  /** Whether an operation (of this reconcile key, or of any) is pending or running (no copy of the records). */
  hasActiveOperation(key?: string): boolean {
    return this.ops.some((o) => (key === undefined || o.key === key) && (o.state === 'pending' || o.state === 'running'));
  }

  operation(id: string): OperationRecord | undefined {
    const op = this.ops.find((o) => o.id === id);
    return op === undefined ? undefined : clone(op);
  }

  /** Conditions of any scope ("cluster", "table/<name>"). */
  conditions(scope: string): Condition[] {
    return clone(this.state.conditions[scope] ?? []);
  }

  subscribe(listener: (event: StatusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---------------------------------------------------------------------------------------------
  // writer (named mutations)

  setCluster(view: Omit<ClusterStatusView, 'conditions'>): void {
    const { conditions: _ignored, nodes, ...rest } = view as ClusterStatusView;
    const now = clusterSignatures(view);
    const before = (this.clusterSig ??= clusterSignatures(this.state.cluster));
    const current = this.state.cluster.nodes;
    if (now.signature === before.signature && current.length === nodes.length) {
      // every pass observes anew: when nothing but the observation times moved (the common case at
      // rest), only those are taken, with no copy of the view and nothing written or emitted
      nodes.forEach((n, i) => {
        const held = current[i];
        if (held !== undefined) held.observedAt = n.observedAt;
      });
      return;
    }
    this.state.cluster = clone({ ...rest, nodes });
    this.clusterSig = now;
    // only a change besides the observation times is written (state.json holds every table)
    this.persistState();
    const at = this.nowIso();
    for (const node of nodes) {
      if (before.nodes.get(node.name) !== now.nodes.get(node.name)) this.emit({ type: 'node', at, node: clone(node) });
    }
  }

  setConditions(scope: string, conditions: ConditionInput[]): void {
    const now = this.nowIso();
    const merged = mergeConditions(this.state.conditions[scope] ?? [], conditions, now);
    const before = JSON.stringify(this.state.conditions[scope] ?? []);
    this.state.conditions[scope] = merged.conditions;
    if (JSON.stringify(merged.conditions) !== before) {
      if (scope.startsWith('table/')) this.tablesRevision++;
      this.persistState();
    }
    for (const c of merged.changed) this.emit({ type: 'condition', at: now, scope, condition: clone(c) });
  }

  setTable(view: Omit<TableStatusView, 'conditions'>): void {
    const { conditions: _ignored, ...plain } = view as TableStatusView;
    const before = this.state.tables[view.name];
    const unchanged = before !== undefined && JSON.stringify(before) === JSON.stringify(plain);
    this.state.tables[view.name] = clone(plain);
    if (!unchanged) this.tablesRevision++;
    if (!unchanged) this.persistState();
  }

  removeTable(name: string): void {
    const had = name in this.state.tables || `table/${name}` in this.state.conditions;
    delete this.state.tables[name];
    delete this.state.conditions[`table/${name}`];
    this.tablesRevision++;
    if (had) this.persistState();
  }

  setSpecProblems(problems: SpecProblem[]): void {
    if (JSON.stringify(problems) === JSON.stringify(this.state.specProblems)) return;
    this.state.specProblems = clone(problems);
    this.persistState();
  }

  upsertOperation(operation: OperationRecord): void {
    const copy = clone(operation);
    const i = this.ops.findIndex((o) => o.id === operation.id);
    if (i >= 0) this.ops[i] = copy;
    else this.ops.unshift(copy);
    if (this.ops.length > this.maxOperations) this.ops.length = this.maxOperations;
    this.persist('operations.json', { version: FORMAT_VERSION, operations: this.ops });
    this.emit({ type: 'operation', at: this.nowIso(), operation: clone(copy) });
  }

  recordSeqno(node: string, uuid: string, seqno: number): void {
    const prev = this.seqnos[node];
    if (prev !== undefined && prev.uuid === uuid && prev.seqno === seqno) return;
    this.seqnos[node] = { uuid, seqno, at: this.nowIso() };
    this.persist('seqnos.json', { version: FORMAT_VERSION, seqnos: this.seqnos });
  }

  recordedSeqnos(): Record<string, { uuid: string; seqno: number; at: string }> {
    return clone(this.seqnos);
  }

  appendAudit(record: AuditRecord): void {
    this.audit.unshift(clone(record));
    if (this.audit.length > this.maxAudit) this.audit.length = this.maxAudit;
    this.persist('audit.json', { version: FORMAT_VERSION, records: this.audit });
  }

  auditRecords(): AuditRecord[] {
    return clone(this.audit);
  }

  // ---------------------------------------------------------------------------------------------
  // persistence

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  private emit(event: StatusEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.logger?.warn('status listener failed', { err: errorMessage(err) });
      }
    }
  }

  private persistState(): void {
    this.persist('state.json', this.state);
  }

  private persist(file: string, value: unknown): void {
    if (this.dir === undefined) return;
    const path = join(this.dir, file);
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(tmp, JSON.stringify(value, null, 2));
      renameSync(tmp, path);
    } catch (err) {
      // status must not stop reconciliation; the next mutation writes the whole part again
      this.logger?.error('status persist failed', { file: path, err: errorMessage(err) });
    }
  }

  private read(file: string): unknown {
    if (this.dir === undefined) return undefined;
    const path = join(this.dir, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new AppError('STATUS_LOAD_FAILED', `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      // a torn file cannot happen with rename, but a hand-edited one can: start that part empty
      this.logger?.error('status file is not valid JSON, starting that part empty', { file: path, err: errorMessage(err) });
      return undefined;
    }
  }

  private load(): void {
    const state = this.read('state.json') as Partial<StateFile> | undefined;
    if (state?.version === FORMAT_VERSION) {
      this.state = {
        version: FORMAT_VERSION,
        cluster: state.cluster ?? clone(EMPTY_CLUSTER),
        conditions: state.conditions ?? {},
        tables: state.tables ?? {},
        specProblems: state.specProblems ?? [],
      };
    }
    const seq = this.read('seqnos.json') as { version?: number; seqnos?: Seqnos } | undefined;
    if (seq?.version === FORMAT_VERSION && seq.seqnos) this.seqnos = seq.seqnos;
    const ops = this.read('operations.json') as { version?: number; operations?: OperationRecord[] } | undefined;
    if (ops?.version === FORMAT_VERSION && Array.isArray(ops.operations)) this.ops = ops.operations.slice(0, this.maxOperations);
    const audit = this.read('audit.json') as { version?: number; records?: AuditRecord[] } | undefined;
    if (audit?.version === FORMAT_VERSION && Array.isArray(audit.records)) this.audit = audit.records.slice(0, this.maxAudit);
  }
}
