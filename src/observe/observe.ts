/**
 * Observation of nodes (DESIGN.md section 3, step 2): SQL through src/manticore and the agent's
 * `/v1/state`, each part with its own timeout. A node or agent that does not answer becomes
 * `{ ok: false, error }` in the observation; these functions never throw for node failures.
 *
 * SQL parts of one node (run in parallel):
 *   SHOW STATUS LIKE 'cluster%'   → clusters (parseClusterStatuses)   } required: if any fails,
 *   SHOW TABLES                   → tables                            } searchd is { ok: false };
 *   SHOW LOCKS                    → frozen tables                     } the last two may be kept (knownLists)
 *   SHOW CREATE TABLE <t>         → managed distributed tables present on the node (required too)
 *   SHOW STATUS LIKE 'version'    → version (optional)
 *   SELECT COUNT(*) FROM <t>      → rows of the tables asked for, when present (optional, per table)
 *   SHOW VERSION                  → Buddy answers? Cached per node per process once searchd answered.
 *
 * `nodeFacts` may hand over the node-wide parts (clusters, tables, locks, version, Buddy) of a recent
 * observation instead: a table pass then reads only its own table's statements (the controller's
 * choice of when that is safe: see Controller.nodeFactsFor).
 */
import type { NodeDiskState } from '../agent/protocol.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { ManticorePools } from '../manticore/client.js';
import { type ClusterStatus, type TableInfo, parseClusterStatuses, parseCount, parseDescribe, parseFrozenTables, parseShowCreateTable, parseShowStatus, parseShowTables } from '../manticore/parse.js';
import { describe, selectCount, showAllClusterStatus, showCreateTable, showLocks, showStatusVersion, showTables, showVersion } from '../manticore/sql.js';
import type { NodeRef } from '../platform/types.js';
import type { ClusterObservation, NodeObservation, Observed, SearchdObservation } from './types.js';

export const DEFAULT_OBSERVE_TIMEOUT_MS = 3_000;

/** The part of the agent client observation needs (src/agent/client.ts AgentClient has it). */
export interface AgentStateSource {
  state(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<NodeDiskState>;
}

/** How long "no Buddy" is believed: Buddy starts a little after searchd, so a negative answer is re-checked. */
export const BUDDY_NEGATIVE_TTL_MS = 30_000;

/** How long a node's version is believed while it keeps answering (a restart that fails an observation forgets it). */
export const VERSION_TTL_MS = 60_000;

/** Per-process memory of which nodes run Buddy and which version they run (keyed by the node's MySQL address). */
export class CapabilityCache {
  private readonly buddy = new Map<string, { value: boolean; at: number }>();
  private readonly versions = new Map<string, { value: string; at: number }>();
  constructor(private readonly now: () => number = Date.now) {}
  get(node: string): boolean | undefined {
    const entry = this.buddy.get(node);
    if (entry === undefined) return undefined;
    if (!entry.value && this.now() - entry.at > BUDDY_NEGATIVE_TTL_MS) return undefined;
    return entry.value;
  }
  set(node: string, value: boolean): void {
    this.buddy.set(node, { value, at: this.now() });
  }
  /** Forget a node (e.g. after it restarted with another binary). */
  forget(node: string): void {
    this.buddy.delete(node);
    this.versions.delete(node);
  }

  /** searchd's version as last read, for VERSION_TTL_MS while the node keeps answering. */
  version(node: string): string | undefined {
    const entry = this.versions.get(node);
    if (entry === undefined || this.now() - entry.at > VERSION_TTL_MS) return undefined;
    return entry.value;
  }

  setVersion(node: string, value: string): void {
    this.versions.set(node, { value, at: this.now() });
  }

  /** The node did not answer: it may come back as another binary. */
  forgetVersion(node: string): void {
    this.versions.delete(node);
  }
}

const defaultCapabilities = new CapabilityCache();

export interface ObserveNodeDeps {
  pools: ManticorePools;
  /** the agent of this node; omit when there is none (observation then says so) */
  agent?: AgentStateSource;
  /** base names of managed tables: `SHOW CREATE TABLE` is read for those present as distributed tables */
  managedTables?: readonly string[];
  /** tables (full names, e.g. `products_delta`) whose `SELECT COUNT(*)` to read, when present */
  countTables?: readonly string[];
  /** RT tables (full names) whose `DESCRIBE` to read, when present */
  describeTables?: readonly string[];
  /** a recent agent state of this node that may stand in while its searchd answers */
  knownAgent?: (node: NodeRef) => Observed<NodeDiskState> | undefined;
  /** node-wide facts already known for this node (by MySQL address): their statements are not sent */
  nodeFacts?: (address: string) => NodeWideFacts | undefined;
  /**
   * Asked with the node's clusters (just read): the table list and the frozen tables still known to be
   * current, so that SHOW TABLES and SHOW LOCKS are not sent for what it returns (the caller decides
   * when that holds: see Controller.reusableLists). With it, the cluster status is read first.
   */
  knownLists?: (address: string, clusters: readonly ClusterStatus[]) => KnownLists | undefined;
  /** timeout of each part */
  timeoutMs?: number;
  signal?: AbortSignal;
  capabilities?: CapabilityCache;
  logger?: Logger;
  now?: () => number;
}

/** Node lists kept from an earlier observation (ObserveNodeDeps.knownLists): each one given is not read. */
export interface KnownLists {
  tables?: TableInfo[];
  /** handed on as is (not copied): the holder can tell a kept list from one read again by identity */
  frozen?: string[];
}

/** What one node's searchd says about itself as a whole (not about one table). */
export type NodeWideFacts = Pick<SearchdObservation, 'buddy' | 'clusters' | 'tables' | 'frozen' | 'version'> & {
  /** `tables` as name → type, when the holder keeps one (saves rebuilding it per table pass) */
  tableTypes?: ReadonlyMap<string, string>;
};

export interface ObserveClusterDeps extends Omit<ObserveNodeDeps, 'agent'> {
  /** the agent of a node, if it has one */
  agentFor?: (node: NodeRef) => AgentStateSource | undefined;
}

/** Races `work` against a timeout and the abort signal (the listener is removed afterwards). */
async function bounded<T>(work: Promise<T>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
    if (signal !== undefined) {
      onAbort = () => reject(new Error('observation aborted'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([work, stop]);
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    work.catch(() => undefined);
  }
}

async function observed<T>(fn: () => Promise<T>): Promise<Observed<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}

async function observeSearchd(node: NodeRef, deps: ObserveNodeDeps, timeoutMs: number): Promise<SearchdObservation> {
  const address = `${node.mysql.host}:${node.mysql.port}`;
  const client = deps.pools.get(address);
  const q = (sql: string) => bounded(client.query(sql, { timeoutMs }), timeoutMs + 200, sql, deps.signal);

  const known = deps.nodeFacts?.(address);
  let obs: SearchdObservation;
  if (known !== undefined) {
    obs = { buddy: known.buddy, clusters: known.clusters, tables: known.tables, distributed: {}, rows: {}, frozen: [...known.frozen] };
    if (known.version !== undefined) obs.version = known.version;
  } else {
    let clusters: ClusterStatus[];
    let tables: TableInfo[];
    let frozen: string[];
    if (deps.knownLists === undefined) {
      const [statusRows, tableRows, lockRows] = await Promise.all([q(showAllClusterStatus()), q(showTables()), q(showLocks())]);
      clusters = parseClusterStatuses(statusRows);
      tables = parseShowTables(tableRows);
      frozen = parseFrozenTables(lockRows);
    } else {
      clusters = parseClusterStatuses(await q(showAllClusterStatus()));
      const kept = deps.knownLists(address, clusters);
      [tables, frozen] = await Promise.all([kept?.tables ?? q(showTables()).then(parseShowTables), kept?.frozen ?? q(showLocks()).then(parseFrozenTables)]);
    }
    obs = { buddy: false, clusters, tables, distributed: {}, rows: {}, frozen };
  }
  const present: ReadonlyMap<string, string> = known?.tableTypes ?? new Map(obs.tables.map((t) => [t.name, t.type]));

  const managedDistributed = (deps.managedTables ?? []).filter((t) => present.get(t) === 'distributed');
  const counted = (deps.countTables ?? []).filter((t) => present.has(t));
  const described = (deps.describeTables ?? []).filter((t) => present.has(t));
  const capabilities = deps.capabilities ?? defaultCapabilities;
  const knownBuddy = known !== undefined ? known.buddy : capabilities.get(address);
  const knownVersion = capabilities.version(address);

  const [defs, version, counts, buddy, schemas] = await Promise.all([
    Promise.all(managedDistributed.map(async (t) => [t, parseShowCreateTable(await q(showCreateTable(t)))] as const)),
    known !== undefined || knownVersion !== undefined
      ? Promise.resolve(known !== undefined ? known.version : knownVersion)
      : q(showStatusVersion()).then(
          (rows) => {
            const v = parseShowStatus(rows)['version'];
            if (v !== undefined) capabilities.setVersion(address, v);
            return v;
          },
          () => undefined,
        ),
    Promise.all(
      counted.map(async (t) => {
        try {
          return [t, parseCount(await q(selectCount(t)))] as const;
        } catch (err) {
          deps.logger?.debug('row count failed', { node: node.name, table: t, err: errorMessage(err) });
          return [t, undefined] as const;
        }
      }),
    ),
    knownBuddy !== undefined
      ? Promise.resolve(knownBuddy)
      : q(showVersion()).then(
          () => true,
          () => false,
        ),
    Promise.all(described.map(async (t) => [t, parseDescribe(await q(describe(t)))] as const)),
  ]);
  if (described.length > 0) obs.columns = Object.fromEntries(schemas);
  for (const [t, stmt] of defs) {
    if (stmt !== undefined) obs.distributed[t] = stmt;
  }
  for (const [t, n] of counts) {
    if (n !== undefined) obs.rows[t] = n;
  }
  if (version !== undefined) obs.version = version;
  obs.buddy = buddy;
  if (known === undefined && knownBuddy === undefined) capabilities.set(address, buddy);
  return obs;
}

/** Observes one node: searchd over SQL and its agent, in parallel; failures are data. */
export async function observeNode(node: NodeRef, deps: ObserveNodeDeps): Promise<NodeObservation> {
  const now = deps.now ?? Date.now;
  const started = now();
  const timeoutMs = deps.timeoutMs ?? DEFAULT_OBSERVE_TIMEOUT_MS;
  const agent = deps.agent;
  // the long-lived pass signal is not handed to the client (each request would add a listener to it);
  // bounded() enforces both the timeout and the abort
  const askAgent = (): Promise<Observed<NodeDiskState>> =>
    agent === undefined
      ? Promise.resolve({ ok: false, error: 'no agent configured for this node' })
      : observed(() => bounded(agent.state({ timeoutMs }), timeoutMs + 200, 'agent state', deps.signal));
  const known = agent === undefined ? undefined : deps.knownAgent?.(node);
  let searchd: Observed<SearchdObservation>;
  let agentState: Observed<NodeDiskState>;
  if (known !== undefined) {
    // a recent agent state stands in while searchd answers; a node whose searchd does not answer
    // has its agent asked now (its gate and grastate then decide what happens to it)
    searchd = await observed(() => observeSearchd(node, deps, timeoutMs));
    agentState = searchd.ok ? known : await askAgent();
  } else {
    [searchd, agentState] = await Promise.all([observed(() => observeSearchd(node, deps, timeoutMs)), askAgent()]);
  }
  if (!searchd.ok) (deps.capabilities ?? defaultCapabilities).forgetVersion(`${node.mysql.host}:${node.mysql.port}`);
  const at = now();
  return { node, at, durationMs: at - started, searchd, agent: agentState };
}

/** Observes every node in parallel, in ordinal order. */
export async function observeCluster(nodes: readonly NodeRef[], deps: ObserveClusterDeps): Promise<ClusterObservation> {
  const sorted = [...nodes].sort((a, b) => a.ordinal - b.ordinal);
  return Promise.all(sorted.map((node) => observeNode(node, { ...deps, agent: deps.agentFor?.(node) })));
}
