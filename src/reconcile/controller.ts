/**
 * The controller (DESIGN.md section 3): wires the spec store, the platform, the work queue,
 * observation and the status store, and runs one reconcile pass per key.
 *
 * Triggers: spec change (SpecSource.onChange), platform change, the resync timer (a pass asks for its
 * next run: every resyncMs when Ready, every fastResyncMs while not), API request records
 * (requestBootstrap), and operation events (the status store's operation events re-queue their key).
 *
 * Keys:
 *   cluster/<name>        observe every node, reconcileCluster (src/reconcile/cluster.ts: formation,
 *                         recorded last_committed per node, cluster view and conditions), keep the
 *                         agents' declared tables current, and queue every table key once formed
 *   table/<name>/<table>  observe, the table's blue/green import (src/reconcile/import.ts: resume,
 *                         tick, operation record), planTables (told to leave the distributed table
 *                         to a running import), applyTables, table status and conditions
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import type { AgentClient } from '../agent/client.js';
import type { DeclaredTables } from '../agent/protocol.js';
import { managedTableNames } from '../domain/names.js';
import type { LoadedSpec, SpecProblem, TableSpec } from '../domain/spec.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { errorMessage, ValidationError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { perObject } from '../lib/memo.js';
import type { ManticorePools } from '../manticore/client.js';
import type { ControllerMetrics } from '../observe/metrics.js';
import { observeCluster, type KnownLists, type NodeWideFacts } from '../observe/observe.js';
import type { ClusterObservation, Observed, SearchdObservation } from '../observe/types.js';
import type { NodeDiskState } from '../agent/protocol.js';
import type { ClusterStatus, TableInfo } from '../manticore/parse.js';
import type { NodeRef, Platform } from '../platform/types.js';
import type { FileStatusStore } from '../status/store.js';
import type { OperationRecord, RequestSink } from '../status/types.js';

export { clusterKey };
import type { MachineRuntime } from '../machines/runtime/machine-runtime.js';
import { defaultSharedDir, reconcileImport, requestCancel, requestImport, type ImportEnv, type ImportPassResult, type ImportRequest } from './import.js';
import { clusterKey, forcedBootstrapRequest, reconcileCluster, type ClusterReconcileContext, type ClusterReconcileResult } from './cluster.js';
import { WorkQueue, type PassResult } from './queue.js';
import { listBackupFiles, reconcileBackups, requestBackup, requestRestore, rotateMain, type BackupEnv, type BackupFile, type BackupRequest, type RestoreRequest, type RotateMainRequest } from './backup.js';
import { controllerBackupOptions, type ControllerBackupOptions } from './backup-store.js';
import { applyTables, planTables, tableConditions, tableNodeViews } from './tables.js';
import { DEFAULT_REPAIR_SETTINGS, RepairCoordinator, type RepairRequest, type RepairSettings } from './repair.js';

export const DEFAULT_RESYNC_MS = 2_000;
export const DEFAULT_FAST_RESYNC_MS = 500;
/** a converged table is re-read at least this often per table managed (see enqueueTablesDue) */
export const TABLE_RESYNC_PER_TABLE_MS = 150;
export const MAX_TABLE_RESYNC_MS = 60_000;

/** a quiet table (converged, nothing changed since) is still re-read in full at least this often */
export const MIN_TABLE_DEEP_RESYNC_MS = 60_000;
export const TABLE_DEEP_RESYNC_PER_TABLE_MS = 3_000;
export const MAX_TABLE_DEEP_RESYNC_MS = 30 * 60_000;

/** While the cluster is Ready and a node's searchd answers, its agent's state is read again at least this often. */
export const AGENT_REREAD_AT_REST_MS = 30_000;

/**
 * At rest, a node's SHOW TABLES and SHOW LOCKS are read again at least this often (hand-made DDL outside
 * any cluster, a FREEZE run over a direct connection).
 */
export const TABLES_REREAD_AT_REST_MS = 10_000;

/** Per node, the type of every table it has (SHOW TABLES as a map), or undefined when searchd did not answer. */
export type TableTypesByNode = { node: string; types: Map<string, string> | undefined }[];

/** SHOW TABLES lists as maps, built once per list (the cluster pass keeps a node's list while nothing changed). */
export const tableTypesOf = perObject((tables: readonly { name: string; type: string }[]): Map<string, string> => new Map(tables.map((t) => [t.name, t.type])));

export function tableTypesByNode(observations: ClusterObservation): TableTypesByNode {
  return observations.map((o) => ({ node: o.node.name, types: o.searchd.ok ? tableTypesOf(o.searchd.value.tables) : undefined }));
}

/** What a cluster pass sees of one managed table: per node, reachable and its tables' types. */
export function tablePresenceSignature(table: string, byNode: TableTypesByNode): string {
  const n = managedTableNames(table);
  const wanted = [n.distributed, n.delta, n.main.a, n.main.b];
  return byNode.map(({ node, types }) => (types === undefined ? `${node}:down` : `${node}:${wanted.map((w) => types.get(w) ?? '-').join(',')}`)).join('|');
}

/**
 * What can change a converged table's state without changing its tables' presence: per node, the
 * replication cluster's status and last committed write (every write to a delta and every ALTER of
 * a cluster table moves it, and so do joins and leaves) and the tables under FREEZE.
 */
export function clusterStateSignature(clusterName: string, observations: ClusterObservation): string {
  return observations
    .map((o) => {
      if (!o.searchd.ok) return `${o.node.name}:down`;
      return `${o.node.name}:${nodeClusterSignature(clusterName, o.searchd.value.clusters)}:${[...o.searchd.value.frozen].sort().join(',')}`;
    })
    .join('|');
}

/** A cluster's table list sorted and joined, once per list (the parser shares a list while its text stays the same). */
const indexesKey = perObject((indexes: readonly string[]): string => [...indexes].sort().join(','));

/** One node's replication state as far as its tables go (see clusterStateSignature, Controller.reusableLists). */
function nodeClusterSignature(clusterName: string, clusters: readonly ClusterStatus[]): string {
  const c = clusters.find((x) => x.name === clusterName);
  if (c === undefined) return `none:${clusters.length}`;
  return `${c.status}/${c.nodeState}/${c.stateUuid ?? ''}/${c.lastCommitted ?? c.seqno ?? ''}/${indexesKey(c.indexes)}/${clusters.length}`;
}

/** A node's SHOW TABLES and SHOW LOCKS as a cluster pass read them (see Controller.reusableLists). */
interface KeptLists {
  tables: TableInfo[];
  tablesAt: number;
  frozen: string[];
  frozenAt: number;
  /** read while the cluster was Ready and no operation ran */
  frozenAtRest: boolean;
  /** ManticorePools.mutations() when the pass that read them began */
  mutations: number;
  /** nodeClusterSignature then */
  cluster: string;
}

/** A table whose last pass converged: skipped by the periodic resync while nothing it depends on moved. */
interface QuietTable {
  presence: string;
  clusterState: string;
  generation: number;
  at: number;
}

export const DEFAULT_OBSERVE_TIMEOUT_MS = 3_000;

/** What the controller needs of the spec store (src/spec). */
export interface SpecSource {
  specs(): LoadedSpec[];
  problems(): SpecProblem[];
  onChange(listener: () => void): () => void;
}

/** One cluster pass (src/reconcile/cluster.ts reconcileCluster; injectable for tests). */
export type ClusterReconciler = (ctx: ClusterReconcileContext) => Promise<Pick<ClusterReconcileResult, 'formed' | 'ready' | 'requeueAfterMs'>>;

export interface ControllerOptions {
  clusterName: string;
  platform: Platform;
  specs: SpecSource;
  status: FileStatusStore;
  pools: ManticorePools;
  /** the agent of a node (cached by the caller or here) */
  agentFor: (node: NodeRef) => AgentClient;
  /** persisted operation machines (`<data-dir>/machines/`) */
  runtime: MachineRuntime;
  /** Galera options for CREATE/JOIN CLUSTER (e.g. 'gmcast.listen_addr=tcp://127.0.0.1' on loopback) */
  clusterOptions?: string;
  /** default: reconcileCluster from src/reconcile/cluster.ts */
  reconcileCluster?: ClusterReconciler;
  logger: Logger;
  clock?: Clock;
  resyncMs?: number;
  fastResyncMs?: number;
  observeTimeoutMs?: number;
  concurrency?: number;
  /** imports: the shared volume every node's searchd reads (default `<data-dir>/shared`, the local platform's) */
  sharedDir?: string;
  /** imports: whole-import budget in ms (default 12 h) */
  importTimeoutMs?: number;
  /** backups: store, archive tools, prefix (default: a local directory store under `<data-dir>/backups`) */
  backup?: ControllerBackupOptions;
  /** Prometheus metrics (src/observe/metrics.ts): reconcile passes are counted and timed here */
  metrics?: ControllerMetrics;
  /** split-brain repair: REPAIR_POLICY, observation guard, auto debounce (src/reconcile/repair.ts) */
  repair?: Partial<RepairSettings>;
}

export function tableKey(cluster: string, table: string): string {
  return `table/${cluster}/${table}`;
}

export class Controller implements RequestSink {
  private readonly o: ControllerOptions;
  private readonly clock: Clock;
  private readonly queue: WorkQueue;
  private readonly abort = new AbortController();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly declared = new Map<string, string>();
  private readonly opStates = new Map<string, string>();
  private started = false;
  private firstPassDone = false;
  private lastReady = false;
  /** the last cluster pass reported a split brain: the next one counts rows for its condition */
  private countRowsInClusterPass = false;
  private lastTableResyncAt = 0;
  private readonly tableSignatures = new Map<string, string>();
  /** the table-type maps of the last cluster pass, per node in order (see enqueueTablesDue) */
  private lastTypeMaps: (Map<string, string> | undefined)[] | undefined;
  /** converged tables and what they were seen with (see enqueueTablesDue) */
  private readonly quiet = new Map<string, QuietTable>();
  /** the last agent state read of each node (by name) while its searchd answered (see knownAgent) */
  private readonly lastAgent = new Map<string, { state: Observed<NodeDiskState>; at: number }>();
  /** the last SHOW TABLES and SHOW LOCKS of each node (MySQL address) read by a cluster pass (see reusableLists) */
  private readonly lastLists = new Map<string, KeptLists>();
  /** node-wide facts of the last cluster pass, by MySQL address (see nodeFactsFor) */
  private nodeFacts: { at: number; mutations: number; byAddress: Map<string, NodeWideFacts> } | undefined;
  private readonly repair: RepairCoordinator;

  constructor(options: ControllerOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.repair = new RepairCoordinator({
      clusterName: options.clusterName,
      status: options.status,
      runtime: options.runtime,
      pools: options.pools,
      logger: options.logger.child({ component: 'repair' }),
      now: () => this.clock.now(),
      listNodes: () => options.platform.listNodes(),
      ...(options.clusterOptions !== undefined ? { clusterOptions: options.clusterOptions } : {}),
      settings: { ...DEFAULT_REPAIR_SETTINGS, ...options.repair },
    });
    // every concurrent observation query listens to this one signal for the length of the query
    setMaxListeners(1_000, this.abort.signal);
    this.queue = new WorkQueue({
      handler: (key) => this.reconcile(key),
      clock: this.clock,
      logger: options.logger,
      concurrency: options.concurrency ?? 4,
    });
  }

  get clusterName(): string {
    return this.o.clusterName;
  }

  /** The controller has finished its first cluster pass (GET /api/status readiness). */
  isReady(): boolean {
    return this.firstPassDone;
  }

  /** The cluster was Ready (every node primary + synced) at the last pass. */
  clusterReady(): boolean {
    return this.lastReady;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const ck = clusterKey(this.o.clusterName);
    this.unsubscribe.push(
      this.o.specs.onChange(() => {
        this.o.status.setSpecProblems(this.o.specs.problems());
        this.queue.add(ck);
        this.enqueueTables();
      }),
      this.o.platform.onChange(() => this.queue.add(ck)),
      this.o.status.subscribe((event) => {
        // an operation that changed state (a new request, a step done elsewhere) re-queues its key;
        // a record rewritten in the same state (every pass of a running operation) does not
        if (event.type !== 'operation') return;
        const op = event.operation;
        if (this.opStates.get(op.id) === op.state) return;
        if (this.opStates.size > 5_000) this.opStates.clear();
        this.opStates.set(op.id, op.state);
        // a finished one too, once: its table's view (active slot, rows) is read again at once
        this.queue.add(op.key);
      }),
    );
    this.o.status.setSpecProblems(this.o.specs.problems());
    this.queue.add(ck);
  }

  /** Stops taking work and waits for passes in flight (their SQL is aborted at the next await). */
  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    this.abort.abort();
    await this.queue.shutdown();
  }

  /** Queues a key now (tests and the API use it to nudge a pass). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  whenIdle(): Promise<void> {
    return this.queue.whenIdle();
  }

  /** Keys waiting and running (the queue_depth metric). */
  queueStats(): { ready: number; inFlight: number } {
    return { ready: this.queue.length(), inFlight: this.queue.inFlight().length };
  }

  async requestBootstrap(input: { node: string; force: boolean; requestedBy: string }): Promise<OperationRecord> {
    if (input.force !== true) {
      throw new ValidationError('force', 'a forced bootstrap makes this node\'s data win over every other node: send force: true to confirm');
    }
    const nodes = await this.o.platform.listNodes();
    if (!nodes.some((n) => n.name === input.node)) {
      throw new ValidationError('node', `no node named '${input.node}': use one of ${nodes.map((n) => n.name).join(', ') || '(none listed)'}`);
    }
    const op = forcedBootstrapRequest({ clusterName: this.o.clusterName, node: input.node, requestedBy: input.requestedBy, now: this.clock.now() });
    this.o.status.upsertOperation(op);
    this.o.logger.warn('forced bootstrap requested', { operationId: op.id, node: input.node, requestedBy: input.requestedBy });
    this.queue.add(op.key);
    return op;
  }

  /** POST /api/repair, mctl repair: a split-brain repair (CONFLICT / OBSERVATIONS_STALE: 409; a bad source: 400). */
  async requestRepair(input: RepairRequest): Promise<OperationRecord> {
    const op = await this.repair.request(input);
    this.queue.add(op.key);
    return op;
  }

  /** GET /api/repairs: repair operations, newest first. */
  repairs(): OperationRecord[] {
    return this.repair.repairs();
  }

  /** POST /api/import: starts a blue/green import of one table (IMPORT_IN_PROGRESS when one runs). */
  async requestImport(input: ImportRequest): Promise<OperationRecord> {
    this.repair.assertNoRepair('an import');
    const op = await requestImport(this.importEnv(), input);
    this.queue.add(op.key);
    return op;
  }

  /** DELETE /api/imports/:id: cancels an import before its flip. */
  cancelImport(operationId: string, requestedBy: string): OperationRecord {
    const op = requestCancel(this.importEnv(), operationId, requestedBy);
    this.queue.add(op.key);
    return op;
  }

  /** POST /api/backup and the scheduler: one backup of a table (BACKUP_IN_PROGRESS when one runs). */
  async requestBackup(input: BackupRequest): Promise<OperationRecord> {
    this.repair.assertNoRepair('a backup');
    const op = await requestBackup(this.backupEnv(), input);
    this.queue.add(op.key);
    return op;
  }

  /** POST /api/restore: restores a table from an archive of THIS table. */
  async requestRestore(input: RestoreRequest): Promise<OperationRecord> {
    const op = await requestRestore(this.backupEnv(), input);
    this.queue.add(op.key);
    return op;
  }

  /** GET /api/backups/files: the table's archives, newest first. */
  listBackupFiles(table: unknown, type?: unknown): Promise<BackupFile[]> {
    return listBackupFiles(this.backupEnv(), table, type);
  }

  /** POST /api/rotate-main: the safe flip between main slots. */
  rotateMain(input: RotateMainRequest): Promise<{ message: string; reachableReplicas: number; totalReplicas: number }> {
    return rotateMain(this.backupEnv(), input);
  }

  private backupOptions: ControllerBackupOptions | undefined;

  private backupEnv(): BackupEnv {
    const sharedDir = this.o.sharedDir ?? defaultSharedDir(this.o.runtime);
    this.backupOptions ??= this.o.backup ?? controllerBackupOptions({ prefix: 'backups' }, path.dirname(this.o.runtime.store.dir));
    const b = this.backupOptions;
    return {
      clusterName: this.o.clusterName,
      status: this.o.status,
      runtime: this.o.runtime,
      pools: this.o.pools,
      agentFor: (n) => this.o.agentFor(n),
      logger: this.o.logger,
      now: () => this.clock.now(),
      spec: (table) => this.o.specs.specs().find((s) => s.spec.name === table)?.spec,
      listNodes: () => this.o.platform.listNodes(),
      sharedDir,
      store: () => b.store(),
      archive: b.archive,
      prefix: b.prefix,
      ...(b.jobs ? { jobs: b.jobs } : {}),
    };
  }

  private importEnv(): ImportEnv {
    const sharedDir = this.o.sharedDir ?? defaultSharedDir(this.o.runtime);
    const env: ImportEnv = {
      clusterName: this.o.clusterName,
      status: this.o.status,
      runtime: this.o.runtime,
      pools: this.o.pools,
      agentFor: (n) => this.o.agentFor(n),
      logger: this.o.logger,
      now: () => this.clock.now(),
      spec: (table) => this.o.specs.specs().find((s) => s.spec.name === table)?.spec,
      listNodes: () => this.o.platform.listNodes(),
      outDir: (operationId) => path.join(sharedDir, 'imports', operationId),
      sharedDir,
    };
    if (this.o.importTimeoutMs !== undefined) env.timeoutMs = this.o.importTimeoutMs;
    return env;
  }

  // ---------------------------------------------------------------------------------------------

  private enqueueTables(): void {
    for (const name of this.tableNames()) this.queue.add(tableKey(this.o.clusterName, name));
  }

  /**
   * After a cluster pass: a table whose tables appeared, went or changed type on some node (seen in
   * the pass's SHOW TABLES), or whose node answered or stopped answering, is queued at once.
   *
   * The periodic resync comes once per table resync period, which grows with the number of tables
   * (the resync period up to ~13 tables, then TABLE_RESYNC_PER_TABLE_MS each, at most
   * MAX_TABLE_RESYNC_MS). It skips a quiet table: one whose last pass converged, with the same spec
   * generation, the same presence and the same cluster state (status, last committed write, frozen
   * tables on every node: see clusterStateSignature) as now, unless its deep resync period has
   * passed (TABLE_DEEP_RESYNC_PER_TABLE_MS per table, between MIN_ and MAX_TABLE_DEEP_RESYNC_MS),
   * which catches what no node-wide signal shows (a hand-made ALTER of a distributed table). At
   * rest, a controller with hundreds of tables thus reads little more than the cluster pass does
   * (bench/scale). Everything else (spec changes, requests, operation events, console writes)
   * queues the table at once, which always reads it in full.
   */
  private enqueueTablesDue(observations: ClusterObservation): void {
    const names = this.tableNames();
    const now = this.clock.now();
    const period = Math.min(MAX_TABLE_RESYNC_MS, Math.max(this.o.resyncMs ?? DEFAULT_RESYNC_MS, names.length * TABLE_RESYNC_PER_TABLE_MS));
    const deep = Math.min(MAX_TABLE_DEEP_RESYNC_MS, Math.max(MIN_TABLE_DEEP_RESYNC_MS, names.length * TABLE_DEEP_RESYNC_PER_TABLE_MS));
    const full = now - this.lastTableResyncAt >= period;
    const byNode = tableTypesByNode(observations);
    const clusterState = clusterStateSignature(this.o.clusterName, observations);
    const generations = new Map(this.o.specs.specs().map((s) => [s.spec.name, s.generation]));
    // the same table lists as the last pass (each node's SHOW TABLES kept) and the same tables: every
    // presence signature is what it was, so none is built again
    const lists = byNode.map((b) => b.types);
    const sameLists =
      this.lastTypeMaps !== undefined && this.lastTypeMaps.length === lists.length && lists.every((l, i) => l !== undefined && l === this.lastTypeMaps?.[i]) && names.every((n) => this.tableSignatures.has(n));
    this.lastTypeMaps = lists;
    let due = 0;
    const seen = new Set<string>();
    for (const name of names) {
      seen.add(name);
      const signature = sameLists ? (this.tableSignatures.get(name) as string) : tablePresenceSignature(name, byNode);
      const changed = this.tableSignatures.get(name) !== signature;
      this.tableSignatures.set(name, signature);
      if (changed) {
        this.queue.add(tableKey(this.o.clusterName, name));
        continue;
      }
      if (!full) continue;
      const q = this.quiet.get(name);
      const quiet = q !== undefined && q.presence === signature && q.clusterState === clusterState && q.generation === generations.get(name) && now - q.at < deep;
      if (quiet) continue;
      due += 1;
      this.queue.add(tableKey(this.o.clusterName, name));
    }
    if (full) {
      this.lastTableResyncAt = now;
      this.o.logger.debug('table resync queued', { tables: names.length, due, periodMs: period, deepMs: deep });
    }
    for (const name of [...this.tableSignatures.keys()]) if (!seen.has(name)) this.tableSignatures.delete(name);
    for (const name of [...this.quiet.keys()]) if (!seen.has(name)) this.quiet.delete(name);
  }

  /**
   * Something outside the controller's own actions may have changed managed tables (a write run
   * through the query console): every table is read again in full at once.
   */
  tablesTouched(): void {
    this.quiet.clear();
    this.enqueueTables();
  }

  /** POST /api/reconcile, mctl reconcile: the cluster key and every table key, read in full now. */
  reconcileNow(): number {
    this.queue.add(clusterKey(this.o.clusterName));
    this.tablesTouched();
    return 1 + this.tableNames().length;
  }

  /**
   * The node-wide facts (clusters, tables, locks, version) a table pass may take from the last
   * cluster pass instead of reading them again on every node: only while no statement that changes
   * anything went through the pools since that pass began, the pass is younger than one resync
   * period, and no operation is under way (agents' jobs run SQL of their own: a backup's FREEZE must
   * reach every table pass's guardNoFrozenTables at once, not one cluster pass later). With
   * hundreds of tables, SHOW TABLES and the cluster status (whose index list names every table) read
   * per table pass made a full pass grow with the square of the tables.
   */
  private nodeFactsFor(): ((address: string) => NodeWideFacts | undefined) | undefined {
    const f = this.nodeFacts;
    if (f === undefined || this.o.pools.mutations() !== f.mutations) return undefined;
    if (this.clock.now() - f.at > (this.o.resyncMs ?? DEFAULT_RESYNC_MS)) return undefined;
    if (this.o.status.hasActiveOperation()) return undefined;
    return (address) => f.byAddress.get(address);
  }

  /**
   * A node's agent state from an earlier cluster pass, standing in while the cluster is Ready, the
   * node's searchd answers (observeNode asks the agent at once when it does not) and the state is
   * younger than AGENT_REREAD_AT_REST_MS. The agent's disk state (grastate, start gate) matters when
   * searchd is down; read from every node every pass, it was the largest part of a pass at rest.
   */
  private knownAgent(node: string, now: number): Observed<NodeDiskState> | undefined {
    if (!this.lastReady) return undefined;
    const kept = this.lastAgent.get(node);
    if (kept === undefined || now - kept.at >= AGENT_REREAD_AT_REST_MS) return undefined;
    return kept.state;
  }

  /**
   * The cluster pass's SHOW TABLES and SHOW LOCKS of a node, kept from an earlier pass while nothing can
   * have changed them: no statement that changes anything went through the pools since, the node's
   * replication state (status, uuid, last committed, clustered tables: every replicated DDL moves it)
   * is the same, and the list is younger than TABLES_REREAD_AT_REST_MS (which bounds how long a
   * hand-made change outside the controller goes unseen). With 200 tables a node answers SHOW TABLES
   * with 800 rows: read from 10 nodes every pass, it was most of the controller's work at rest.
   *
   * The frozen tables are kept only while the cluster is Ready and no operation is under way, now and
   * when they were read: a backup's FREEZE comes from an agent's job (not through these pools), and a
   * node joins only when the cluster is not Ready (the join effects read the donor's locks again right
   * before JOIN CLUSTER in any case).
   */
  private reusableLists(address: string, clusters: readonly ClusterStatus[], mutations: number, now: number): KnownLists | undefined {
    const kept = this.lastLists.get(address);
    if (kept === undefined || kept.mutations !== mutations || this.o.pools.mutations() !== mutations) return undefined;
    if (kept.cluster !== nodeClusterSignature(this.o.clusterName, clusters)) return undefined;
    const lists: KnownLists = {};
    if (now - kept.tablesAt < TABLES_REREAD_AT_REST_MS) lists.tables = kept.tables;
    if (kept.frozenAtRest && this.frozenAtRest() && now - kept.frozenAt < TABLES_REREAD_AT_REST_MS) lists.frozen = kept.frozen;
    return lists;
  }

  /** Whether SHOW LOCKS read now may be kept (see reusableLists). */
  private frozenAtRest(): boolean {
    return this.lastReady && !this.o.status.hasActiveOperation();
  }

  /** Records what a cluster pass read of a node's lists: a list handed back by reusableLists keeps its time. */
  private keepLists(address: string, v: SearchdObservation, mutations: number, at: number, atRest: boolean): void {
    const kept = this.lastLists.get(address);
    const cluster = nodeClusterSignature(this.o.clusterName, v.clusters);
    // a list read again is a new array: the same one is the kept one, handed back by reusableLists
    this.lastLists.set(address, {
      tables: v.tables,
      tablesAt: kept !== undefined && kept.tables === v.tables ? kept.tablesAt : at,
      frozen: v.frozen,
      frozenAt: kept !== undefined && kept.frozen === v.frozen ? kept.frozenAt : at,
      frozenAtRest: atRest,
      mutations,
      cluster,
    });
  }

  /** Every table the controller manages: in the specs, or retired but still known to the status store. */
  private tableNames(): string[] {
    const names = new Set(this.o.specs.specs().map((s) => s.spec.name));
    for (const t of this.o.status.tableSlots()) names.add(t.name);
    return [...names].sort();
  }

  private async reconcile(key: string): Promise<PassResult> {
    const reconcileId = randomBytes(4).toString('hex');
    const started = Date.now();
    const logger = this.o.logger.child({ reconcileId, key });
    let outcome: 'ok' | 'error' = 'error';
    try {
      const parts = key.split('/');
      let result: PassResult = undefined;
      if (parts[0] === 'cluster' && parts[1] === this.o.clusterName) result = await this.reconcileClusterKey(reconcileId, logger);
      else if (parts[0] === 'table' && parts[1] === this.o.clusterName && parts[2] !== undefined) result = await this.reconcileTableKey(parts[2], logger);
      else logger.warn('unknown reconcile key, dropped');
      outcome = 'ok';
      return result;
    } finally {
      const ms = Date.now() - started;
      this.o.metrics?.observeReconcilePass(key, outcome, ms / 1000);
      logger.debug('reconcile pass done', { durationMs: ms, outcome });
    }
  }

  private observeTimeout(): number {
    return this.o.observeTimeoutMs ?? DEFAULT_OBSERVE_TIMEOUT_MS;
  }

  private async reconcileClusterKey(reconcileId: string, logger: Logger): Promise<PassResult> {
    const nodes = await this.o.platform.listNodes();
    const specs = this.o.specs.specs();
    const factsAt = this.clock.now();
    const mutations = this.o.pools.mutations();
    const atRestBefore = this.frozenAtRest();
    const observations = await observeCluster(nodes, {
      pools: this.o.pools,
      agentFor: (n) => this.o.agentFor(n),
      knownLists: (address, clusters) => this.reusableLists(address, clusters, mutations, factsAt),
      knownAgent: (n) => this.knownAgent(n.name, factsAt),
      // rows per managed table only while a split brain is reported (its condition shows each side's
      // rows): counting and describing every table on every node each pass cost most of a pass with
      // many tables, and table passes observe their own tables anyway
      ...(this.countRowsInClusterPass
        ? {
            countTables: specs.flatMap((s) => {
              const n = managedTableNames(s.spec.name);
              return [n.delta, n.main.a, n.main.b];
            }),
          }
        : {}),
      timeoutMs: this.observeTimeout(),
      signal: this.abort.signal,
      logger,
    });
    const byAddress = new Map<string, NodeWideFacts>();
    // locks read while an operation ran (at any moment of the observation) are not kept
    const atRest = atRestBefore && this.frozenAtRest();
    for (const o of observations) {
      const address = `${o.node.mysql.host}:${o.node.mysql.port}`;
      if (!o.searchd.ok || !o.agent.ok) this.lastAgent.delete(o.node.name);
      else if (this.lastAgent.get(o.node.name)?.state !== o.agent) this.lastAgent.set(o.node.name, { state: o.agent, at: factsAt });
      if (!o.searchd.ok) {
        this.lastLists.delete(address);
        continue;
      }
      const v = o.searchd.value;
      this.keepLists(address, v, mutations, factsAt, atRest);
      const facts: NodeWideFacts = { buddy: v.buddy, clusters: v.clusters, tables: v.tables, frozen: v.frozen, tableTypes: tableTypesOf(v.tables) };
      if (v.version !== undefined) facts.version = v.version;
      byAddress.set(address, facts);
    }
    this.nodeFacts = { at: factsAt, mutations, byAddress };
    // a split-brain repair runs first: it may hold the cluster (formation does not act meanwhile)
    const repair = this.repair.reconcile(observations, logger);
    const ctx: ClusterReconcileContext = {
      clusterName: this.o.clusterName,
      observations,
      pools: this.o.pools,
      agentFor: (n) => this.o.agentFor(n),
      status: this.o.status,
      runtime: this.o.runtime,
      logger,
      now: () => this.clock.now(),
      reconcileId,
    };
    if (this.o.clusterOptions !== undefined) ctx.clusterOptions = this.o.clusterOptions;
    if (repair.hold) ctx.heldBy = repair.hold;
    if (repair.condition) ctx.splitBrainCondition = repair.condition;
    this.countRowsInClusterPass = repair.condition?.status === 'True';
    const outcome = await (this.o.reconcileCluster ?? reconcileCluster)(ctx);
    await this.declareTables(nodes, specs, logger);
    this.firstPassDone = true;
    this.lastReady = outcome.ready;
    if (outcome.formed) this.enqueueTablesDue(observations);
    const resync = outcome.ready ? (this.o.resyncMs ?? DEFAULT_RESYNC_MS) : (this.o.fastResyncMs ?? DEFAULT_FAST_RESYNC_MS);
    return { requeueAfterMs: Math.min(resync, outcome.requeueAfterMs ?? resync) };
  }

  /** Keeps every agent's declared tables (what /v1/ready checks) equal to the managed tables. */
  private async declareTables(nodes: readonly NodeRef[], specs: readonly LoadedSpec[], logger: Logger): Promise<void> {
    const slots = new Map(this.o.status.tableSlots().map((t) => [t.name, t.activeSlot ?? 'a']));
    const tables = specs
      .flatMap((s) => {
        const names = managedTableNames(s.spec.name);
        return [names.distributed, names.delta, names.main[slots.get(s.spec.name) ?? 'a']];
      })
      .sort();
    const value: DeclaredTables = { tables, cluster: this.o.clusterName };
    const text = JSON.stringify(value);
    await Promise.all(
      nodes.map(async (n) => {
        if (this.declared.get(n.name) === text) return;
        try {
          await this.o.agentFor(n).setDeclaredTables(value, { timeoutMs: this.observeTimeout() });
          this.declared.set(n.name, text);
        } catch (err) {
          logger.debug('declared tables not sent', { node: n.name, err: errorMessage(err) });
        }
      }),
    );
  }

  private async reconcileTableKey(table: string, logger: Logger): Promise<PassResult> {
    const loaded = this.o.specs.specs().find((s) => s.spec.name === table);
    const known = this.o.status.table(table);
    const retired: TableSpec | undefined = loaded === undefined ? known?.spec : undefined;
    if (loaded === undefined && retired === undefined) return undefined;
    if (retired !== undefined && retired.deletionPolicy !== 'delete') {
      logger.info('table removed from the specs is kept (deletionPolicy retain)', { table });
      this.o.status.removeTable(table);
      return undefined;
    }
    const spec = loaded?.spec ?? (retired as TableSpec);
    const names = managedTableNames(spec.name);
    this.quiet.delete(table);
    const nodes = await this.o.platform.listNodes();
    // searchd only: a table pass reads no agent state (the cluster pass does), and with many tables
    // an agent request per node per table pass was most of the agents' and the controller's work
    const nodeFacts = this.nodeFactsFor();
    const observations = await observeCluster(nodes, {
      pools: this.o.pools,
      ...(nodeFacts !== undefined ? { nodeFacts } : {}),
      managedTables: [spec.name],
      countTables: [names.delta, names.main.a, names.main.b],
      describeTables: [names.delta],
      timeoutMs: this.observeTimeout(),
      signal: this.abort.signal,
      logger,
    });
    const imported: ImportPassResult = loaded === undefined ? { running: false, holdDistributed: false } : reconcileImport(this.importEnv(), table, nodes, observations);
    // a running restore owns the table's tables (it drops, imports and flips them): no convergence meanwhile
    const backups = loaded === undefined ? undefined : reconcileBackups(this.backupEnv(), table, nodes);
    if (backups?.restoring) return { requeueAfterMs: backups.requeueAfterMs ?? DEFAULT_FAST_RESYNC_MS };
    const plan = planTables({
      specs: loaded === undefined ? [] : [loaded],
      retired: retired === undefined ? [] : [retired],
      observations,
      clusterName: this.o.clusterName,
      nodes,
      ...(imported.running && imported.operationId !== undefined
        ? { imports: { [table]: { operationId: imported.operationId, ...(imported.activeSlot !== undefined ? { activeSlot: imported.activeSlot } : {}) } } }
        : {}),
    });
    for (const b of plan.blocked) logger.info('table step waits', { table, node: b.node, guard: b.guard, reason: b.reason });
    for (const g of plan.gaps) logger.warn('table convergence gap', { table, gap: g });
    const results = plan.actions.length > 0 ? await applyTables(plan, { pools: this.o.pools, nodes, logger, signal: this.abort.signal }) : undefined;

    if (retired !== undefined) {
      const leftovers = observations.some((o) => o.searchd.ok && o.searchd.value.tables.some((t) => [names.distributed, names.delta, names.main.a, names.main.b].includes(t.name)));
      const unreachable = observations.some((o) => !o.searchd.ok);
      if (!leftovers && !unreachable) {
        logger.info('table removed from every node (deletionPolicy delete)', { table });
        this.o.status.removeTable(table);
        return undefined;
      }
      return { requeueAfterMs: this.o.fastResyncMs ?? DEFAULT_FAST_RESYNC_MS };
    }

    const summary = plan.tables[table];
    const activeSlot = summary?.activeSlot ?? 'a';
    const view = {
      name: table,
      spec,
      origin: loaded!.origin,
      generation: loaded!.generation,
      activeSlot,
      nodes: tableNodeViews(spec, observations, this.o.clusterName, activeSlot),
    };
    this.o.status.setTable(view);
    const conditionOptions: Parameters<typeof tableConditions>[2] = { problems: this.o.specs.problems(), generation: loaded!.generation };
    if (results !== undefined) conditionOptions.results = results;
    this.o.status.setConditions(`table/${table}`, tableConditions(plan, table, conditionOptions));
    const failed = results?.filter((r) => !r.ok) ?? [];
    if (failed.length > 0) throw new Error(`${failed.length} table action(s) failed: ${failed.map((f) => `${f.action.kind} on ${f.action.node}: ${f.error}`).join('; ')}`);
    if (imported.running) return { requeueAfterMs: Math.min(imported.requeueAfterMs ?? DEFAULT_FAST_RESYNC_MS, this.o.fastResyncMs ?? DEFAULT_FAST_RESYNC_MS) };
    if (plan.actions.length > 0 || plan.blocked.length > 0) return { requeueAfterMs: this.o.fastResyncMs ?? DEFAULT_FAST_RESYNC_MS };
    if (plan.gaps.length === 0 && observations.every((o) => o.searchd.ok)) {
      this.quiet.set(table, {
        presence: tablePresenceSignature(table, tableTypesByNode(observations)),
        clusterState: clusterStateSignature(this.o.clusterName, observations),
        generation: loaded!.generation,
        at: this.clock.now(),
      });
    }
    return undefined;
  }
}
