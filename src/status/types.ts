/**
 * The status model the controller writes and the API, UI and CLI read (DESIGN.md section 3).
 * Kubernetes-style conditions; operations with their steps for the history.
 */
import type { Slot } from '../domain/names.js';
import type { LoadedSpec, SpecProblem } from '../domain/spec.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Condition types the controller sets. */
export type ConditionType =
  | 'ClusterFormed'
  | 'Ready'
  | 'Degraded'
  | 'SplitBrain'
  | 'MixedSlots'
  | 'SpecInvalid'
  | 'RecoveryPending'
  | 'TablesConverged';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  /** CamelCase machine reason, e.g. "AllNodesSynced", "WaitingForNodes" */
  reason: string;
  /** a sentence for people */
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
  /** structured detail for UIs (e.g. SplitBrain: {cause, groups:[{nodes, uuid, primary, seqno, rows}]}) */
  details?: Record<string, unknown>;
}

export interface NodeStatusView {
  name: string;
  ordinal: number;
  apiAddress: string;
  /** searchd answered the last observation */
  reachable: boolean;
  error?: string;
  clusterStatus?: string;
  nodeState?: string;
  clusterUuid?: string;
  /** live state_seqno / last_committed */
  seqno?: number;
  /** last last_committed the controller recorded while the cluster was up (survives crashes) */
  recordedSeqno?: number;
  grastate?: { uuid?: string; seqno?: number; safeToBootstrap?: boolean };
  tables: string[];
  gate?: { mode: string; reason: string; holdingSince?: string };
  observedAt: string;
}

export interface ClusterStatusView {
  name: string;
  /** a sentence-like phase: "Ready", "Forming", "Recovering from a full stop", "Degraded" ... */
  phase: string;
  uuid?: string;
  size: number;
  nodes: NodeStatusView[];
  conditions: Condition[];
}

export interface TableNodeView {
  node: string;
  reachable: boolean;
  main?: { table: string; present: boolean; inCluster: boolean; rows?: number };
  delta?: { table: string; present: boolean; inCluster: boolean; rows?: number };
  distributed?: { present: boolean; locals: string[]; agents: string[]; haStrategy?: string; agentRetryCount?: number };
}

export interface TableStatusView {
  name: string;
  spec: LoadedSpec['spec'];
  origin: LoadedSpec['origin'];
  generation: number;
  activeSlot?: Slot;
  nodes: TableNodeView[];
  conditions: Condition[];
}

export type OperationState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface OperationStep {
  name: string;
  state: OperationState;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

export interface OperationRecord {
  id: string;
  /** "cluster-formation", "full-stop-recovery", "forced-bootstrap", "import", ... */
  kind: string;
  /** reconcile key it belongs to, e.g. cluster/main */
  key: string;
  /** what the operation acts on when it is not the whole key, e.g. the node a forced bootstrap names */
  target?: string;
  requestedBy: string;
  requestedAt: string;
  state: OperationState;
  steps: OperationStep[];
  outcome?: string;
  figures?: Record<string, number>;
  error?: string;
  finishedAt?: string;
}

export type StatusEvent =
  | { type: 'condition'; at: string; scope: string; condition: Condition }
  | { type: 'operation'; at: string; operation: OperationRecord }
  | { type: 'node'; at: string; node: NodeStatusView };

/** What the API, UI and CLI read. */
export interface StatusReader {
  cluster(): ClusterStatusView;
  tables(): TableStatusView[];
  /**
   * `{"data": [...tables sorted by name]}` serialized, when the reader can keep it between changes
   * (GET /api/tables with hundreds of tables, polled by many clients)
   */
  tablesEnvelopeJson?(): string;
  table(name: string): TableStatusView | undefined;
  specProblems(): SpecProblem[];
  operations(): OperationRecord[];
  operation(id: string): OperationRecord | undefined;
  /** live changes for server-sent events; returns the unsubscribe function */
  subscribe(listener: (event: StatusEvent) => void): () => void;
}

/** Requests the API writes for the reconciler to carry out (it never changes nodes itself). */
export interface RequestSink {
  /** an audited forced bootstrap of `node` (its data wins); returns the operation that will carry it out */
  requestBootstrap(input: { node: string; force: boolean; requestedBy: string }): Promise<OperationRecord>;
  /** a write ran through the query console: managed tables may have changed behind the controller's back */
  tablesTouched?(): void;
  /** POST /api/reconcile: every node and table read again in full now; the number of keys queued */
  reconcileNow?(): number;
}

/** A condition as a reconcile pass computes it; the store stamps lastTransitionTime when the status changes. */
export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** Named mutations of the status (the only way status changes); implemented by the status store. */
export interface StatusWriter {
  setCluster(view: Omit<ClusterStatusView, 'conditions'>): void;
  /** replaces every condition of a scope ("cluster" or "table/<name>"), keeping transition times of unchanged statuses */
  setConditions(scope: string, conditions: ConditionInput[]): void;
  setTable(view: Omit<TableStatusView, 'conditions'>): void;
  removeTable(name: string): void;
  setSpecProblems(problems: SpecProblem[]): void;
  upsertOperation(operation: OperationRecord): void;
  /** remembers a node's last_committed while its cluster is up: the fallback position after a full crash */
  recordSeqno(node: string, uuid: string, seqno: number): void;
  recordedSeqnos(): Record<string, { uuid: string; seqno: number; at: string }>;
}

/** Who did what to the API, when, and how it ended (one per mutating request, refused ones included). */
export interface AuditRecord {
  id: string;
  at: string;
  /** the X-Requested-By header (mctl sends `mctl (user@host)`), else "api" */
  requestedBy: string;
  /** the token's role; "none" when authentication failed */
  role: 'admin' | 'viewer' | 'none';
  /** client address */
  address: string;
  method: string;
  path: string;
  /** a summary of the JSON body: strings and lists shortened, secret-looking keys redacted */
  body?: string;
  /** HTTP status answered (0 when the client went away first) */
  status: number;
  errorCode?: string;
  /** the operation the request created, when it created one */
  operationId?: string;
}

/** The audit trail: bounded, newest first. */
export interface AuditLog {
  appendAudit(record: AuditRecord): void;
  auditRecords(): AuditRecord[];
}
