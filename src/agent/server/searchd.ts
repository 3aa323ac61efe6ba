/**
 * What the agent learns from its searchd over SQL: health (SHOW STATUS) and readiness (cluster
 * status + node state + SHOW TABLES against the declared tables). A down searchd is an answer.
 */
import type { AgentHealth, AgentReady } from '../protocol.js';
import type { ManticoreClient } from '../../manticore/client.js';
import { parseClusterStatuses, parseShowStatus, parseShowTables, type ClusterStatus } from '../../manticore/parse.js';
import { showStatus, showTables } from '../../manticore/sql.js';
import { errorMessage } from '../../lib/errors.js';

/** Per-statement timeout of the probes: they answer health checks and must stay quick. */
export const PROBE_TIMEOUT_MS = 5_000;

export interface SearchdView {
  reachable: boolean;
  error?: string;
  version?: string;
  clusters: ClusterStatus[];
}

export async function observeSearchd(client: ManticoreClient): Promise<SearchdView> {
  try {
    const rows = await client.query(showStatus(), { timeoutMs: PROBE_TIMEOUT_MS });
    const raw = parseShowStatus(rows);
    const view: SearchdView = { reachable: true, clusters: parseClusterStatuses(rows) };
    if (raw['version'] !== undefined) view.version = raw['version'];
    return view;
  } catch (err) {
    return { reachable: false, error: errorMessage(err), clusters: [] };
  }
}

/** The cluster to report: the named one, else the only one the node is in. */
function pickCluster(view: SearchdView, cluster: string | undefined): ClusterStatus | undefined {
  if (cluster !== undefined) return view.clusters.find((c) => c.name === cluster);
  return view.clusters.length === 1 ? view.clusters[0] : undefined;
}

export function decideHealth(view: SearchdView, cluster: string | undefined): AgentHealth {
  const searchd: AgentHealth['searchd'] = { reachable: view.reachable };
  if (view.error !== undefined) searchd.error = view.error;
  if (view.version !== undefined) searchd.version = view.version;
  const health: AgentHealth = { searchd };
  const c = pickCluster(view, cluster);
  const name = cluster ?? c?.name;
  if (name !== undefined) health.cluster = name;
  if (view.reachable) {
    health.clusterStatus = c ? (c.rawStatus ?? c.status) : 'none';
    health.nodeState = c ? (c.rawNodeState ?? c.nodeState) : 'none';
  }
  return health;
}

/** Readiness: primary + synced + every declared table present; the reason says what is missing. */
export function decideReady(view: SearchdView, cluster: string | undefined, declared: readonly string[], present: readonly string[] | undefined): AgentReady {
  if (!view.reachable) return { ready: false, reason: `searchd not reachable: ${view.error ?? 'no answer'}` };
  if (cluster === undefined) {
    return { ready: false, reason: 'no cluster name: configure the agent with a cluster or PUT /v1/declared-tables with a cluster' };
  }
  const c = view.clusters.find((x) => x.name === cluster);
  if (!c) return { ready: false, reason: `node is not in cluster '${cluster}'` };
  if (c.status !== 'primary') return { ready: false, reason: `cluster '${cluster}' status is ${c.rawStatus ?? c.status}, not primary` };
  if (c.nodeState !== 'synced') return { ready: false, reason: `node state in cluster '${cluster}' is ${c.rawNodeState ?? c.nodeState}, not synced` };
  if (present === undefined) return { ready: false, reason: 'SHOW TABLES failed' };
  const missing = declared.filter((t) => !present.includes(t));
  if (missing.length > 0) return { ready: false, reason: `declared tables missing: ${missing.join(', ')}` };
  return { ready: true, reason: `cluster '${cluster}' primary, node synced, ${declared.length} declared table(s) present` };
}

export async function observeTables(client: ManticoreClient): Promise<string[] | undefined> {
  try {
    return parseShowTables(await client.query(showTables(), { timeoutMs: PROBE_TIMEOUT_MS })).map((t) => t.name);
  } catch {
    return undefined;
  }
}

/** Answers the MySQL port? (used when no pid file tells whether searchd runs) */
export async function searchdAnswers(client: ManticoreClient): Promise<boolean> {
  return (await observeSearchd(client)).reachable;
}
