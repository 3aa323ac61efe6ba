/**
 * The original orchestrator's response shapes (original-system.md 2.1, 2.1.1-2.1.3), computed from
 * our status model and node list. Pure: no I/O. Replica indexes are node ordinals.
 */
import type { Slot } from '../domain/names.js';
import type { NodeRef } from '../platform/types.js';
import type { ClusterStatusView, NodeStatusView, TableStatusView } from '../status/types.js';
import type { NodeQueryResult, OverallQueryStatus } from './query-run.js';

export type OriginalReplicaStatus = 'online' | 'offline' | 'not_in_use' | 'error';

export interface OriginalReplica {
  index: number;
  endpoint: string;
  status: OriginalReplicaStatus;
  clusterStatus: string | null;
  nodeState: string | null;
  error: string | null;
}

export interface OriginalCluster {
  status: 'healthy' | 'degraded' | 'uninitialized';
  replicas: OriginalReplica[];
}

export interface OriginalDiscover {
  cluster: { uuid: string; sourceAddr: string; sourceIdx: number; nodeCount: number } | null;
  splitBrain: boolean;
  groups?: { uuid: string; replicas: number[]; nodeCount: number }[];
}

export interface OriginalTablePresence {
  present: boolean;
  inCluster: boolean;
}

export interface OriginalTableReplica {
  index: number;
  online: boolean;
  mainTable: OriginalTablePresence;
  deltaTable: OriginalTablePresence;
  distributedTable: OriginalTablePresence;
  error?: string;
}

export interface OriginalTablesStatus {
  tableSlots: Record<string, Slot | ''>;
  tables: { name: string; csvPath: string; clusterMain: boolean; replicas: OriginalTableReplica[] }[];
}

export interface OriginalQueryResult {
  status: 'success' | 'error';
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
  rowCount: number;
  executionTimeMs: number;
  replicaIndex: number;
  /** ours: more rows existed than the console returns */
  truncated: boolean;
  error?: string;
}

export interface OriginalBroadcast {
  status: OverallQueryStatus;
  results: OriginalQueryResult[];
}

export const UNHEALTHY_MESSAGE = 'one or more replicas are unhealthy';
export const ALL_REPLICAS_FAILED_MESSAGE = 'query failed on all replicas';

function byOrdinal<T extends { ordinal: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.ordinal - b.ordinal);
}

function viewOf(cluster: ClusterStatusView, node: NodeRef): NodeStatusView | undefined {
  return cluster.nodes.find((n) => n.name === node.name);
}

const HEALTHY_CLUSTER_STATUSES = new Set(['primary', 'synced']);

/** `/api/health`: every desired node's searchd answered its last observation. */
export function decideOriginalHealth(nodes: readonly NodeRef[], cluster: ClusterStatusView): boolean {
  return nodes.every((n) => viewOf(cluster, n)?.reachable === true);
}

/** `/api/cluster` (2.1.1). Unlike the original, nodeState is filled. */
export function planOriginalCluster(nodes: readonly NodeRef[], cluster: ClusterStatusView): OriginalCluster {
  const replicas = byOrdinal(nodes).map((node): OriginalReplica => {
    const view = viewOf(cluster, node);
    if (view === undefined) {
      return { index: node.ordinal, endpoint: node.agentUrl, status: 'offline', clusterStatus: null, nodeState: null, error: 'replica is offline: not observed yet' };
    }
    if (!view.reachable) {
      const error = view.error ? `replica is offline: ${view.error}` : 'replica is offline';
      return { index: node.ordinal, endpoint: node.agentUrl, status: 'offline', clusterStatus: null, nodeState: null, error };
    }
    return {
      index: node.ordinal,
      endpoint: node.agentUrl,
      status: 'online',
      clusterStatus: view.clusterStatus || 'unknown',
      nodeState: view.nodeState || 'unknown',
      error: null,
    };
  });
  const online = replicas.filter((r) => r.status === 'online');
  let status: OriginalCluster['status'] = 'uninitialized';
  if (online.length > 0) {
    const healthy = online.length === replicas.length && online.every((r) => HEALTHY_CLUSTER_STATUSES.has(r.clusterStatus ?? ''));
    status = healthy ? 'healthy' : 'degraded';
  }
  return { status, replicas };
}

/**
 * `/api/cluster/discover` (6.1): reachable primaries grouped by cluster UUID. The winner is the
 * largest group; a tie goes to the group holding the lowest ordinal. `groups` is left out when no
 * node is a primary (as the original's omitempty did). `splitBrain` is also true while the
 * controller's SplitBrain condition is.
 */
export function planOriginalDiscover(nodes: readonly NodeRef[], cluster: ClusterStatusView): OriginalDiscover {
  const groups = new Map<string, NodeRef[]>();
  for (const node of byOrdinal(nodes)) {
    const view = viewOf(cluster, node);
    if (!view?.reachable || view.clusterStatus !== 'primary' || !view.clusterUuid) continue;
    const members = groups.get(view.clusterUuid) ?? [];
    members.push(node);
    groups.set(view.clusterUuid, members);
  }
  const list = [...groups.entries()].map(([uuid, members]) => ({ uuid, members }));
  // the controller also sees split brains that share one UUID (pc.bootstrap on both sides) or leave a
  // non-primary majority: its SplitBrain condition counts as well as the UUID groups
  const detected = cluster.conditions.some((c) => c.type === 'SplitBrain' && c.status === 'True');
  if (list.length === 0) return { cluster: null, splitBrain: detected };
  const winner = [...list].sort((a, b) => b.members.length - a.members.length || (a.members[0]?.ordinal ?? 0) - (b.members[0]?.ordinal ?? 0))[0];
  const source = winner?.members[0];
  return {
    cluster: winner && source ? { uuid: winner.uuid, sourceAddr: source.apiAddress, sourceIdx: source.ordinal, nodeCount: winner.members.length } : null,
    splitBrain: list.length > 1 || detected,
    groups: list.map((g) => ({ uuid: g.uuid, replicas: g.members.map((m) => m.ordinal), nodeCount: g.members.length })),
  };
}

const ABSENT: OriginalTablePresence = { present: false, inCluster: false };

/** `/api/tables/status` (2.1.2). */
export function planOriginalTablesStatus(nodes: readonly NodeRef[], tables: readonly TableStatusView[]): OriginalTablesStatus {
  const tableSlots: Record<string, Slot | ''> = {};
  const sorted = [...tables].sort((a, b) => a.name.localeCompare(b.name));
  for (const t of sorted) tableSlots[t.name] = t.activeSlot ?? '';
  return {
    tableSlots,
    tables: sorted.map((t) => ({
      name: t.name,
      csvPath: t.spec.import?.urls[0] ?? '',
      clusterMain: t.spec.clusterMain,
      replicas: byOrdinal(nodes).map((node): OriginalTableReplica => {
        const view = t.nodes.find((n) => n.node === node.name);
        if (view === undefined || !view.reachable) {
          return {
            index: node.ordinal,
            online: false,
            mainTable: { ...ABSENT },
            deltaTable: { ...ABSENT },
            distributedTable: { ...ABSENT },
            error: view === undefined ? 'not observed yet' : 'replica is offline',
          };
        }
        return {
          index: node.ordinal,
          online: true,
          mainTable: { present: view.main?.present ?? false, inCluster: view.main?.inCluster ?? false },
          deltaTable: { present: view.delta?.present ?? false, inCluster: view.delta?.inCluster ?? false },
          distributedTable: { present: view.distributed?.present ?? false, inCluster: false },
        };
      }),
    })),
  };
}

function jsType(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? 'BIGINT' : 'DOUBLE';
  return 'VARCHAR';
}

/**
 * One node's answer in the original `/api/query` shape. Column types are guessed from the first
 * row's values (the SQL client does not hand out field metadata): BIGINT, DOUBLE or VARCHAR.
 */
export function toOriginalQueryResult(result: NodeQueryResult): OriginalQueryResult {
  const first = result.rows[0];
  const out: OriginalQueryResult = {
    status: result.ok ? 'success' : 'error',
    columns: result.columns.map((name) => ({ name, type: jsType(first?.[name]) })),
    rows: result.rows.map((r) => ({ ...r })),
    rowCount: result.rowCount,
    executionTimeMs: result.durationMs,
    replicaIndex: result.ordinal,
    truncated: result.truncated,
  };
  if (result.error) out.error = result.error.message;
  return out;
}
