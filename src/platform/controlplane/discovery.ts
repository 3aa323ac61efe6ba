/**
 * Replica discovery on Control Plane (deployment.md §2.3, §2.6).
 *
 *   expected count   REPLICA_COUNT, else the workload's `spec.defaultOptions.autoscaling.minScale`, else
 *                    `status.currentReplicaCount`, else 1 (the original took maxScale: not what the
 *                    cluster spans)
 *   names            `{workload}-{i}`, reached as `{workload}-{i}.{workload}` through the headless
 *                    service (resolves before readiness with the `cpln/publishNotReadyAddresses` tag)
 *   probing          each replica's agent `GET /v1/health`: answered → online (or searchd-down on 503),
 *                    "no such host" → not scheduled, anything else → offline
 *   deployments      `GET {W}/deployment` only for readiness messages. Its `versions[]` are workload
 *                    VERSIONS being rolled out, never replicas: the original counted them as replicas
 *                    and waited forever for a 4th.
 */
import { AppError, errorMessage } from '../../lib/errors.js';
import type { ControlPlaneConfig } from '../../config/controlplane.js';
import type { NodeRef } from '../types.js';
import type { CplnClient } from './client.js';
import type { CplnDeploymentList, CplnWorkload } from './types.js';

export type ReplicaState = 'online' | 'searchd-down' | 'not-scheduled' | 'offline';

export interface ReplicaProbe {
  name: string;
  ordinal: number;
  state: ReplicaState;
  clusterStatus?: string;
  nodeState?: string;
  error?: string;
}

export interface WorkloadFacts {
  expected: number;
  /** where the expected count came from */
  source: 'REPLICA_COUNT' | 'minScale' | 'currentReplicaCount' | 'default';
  minScale?: number;
  maxScale?: number;
  type?: string;
  suspended: boolean;
}

export interface DiscoveryReport extends WorkloadFacts {
  workload: string;
  nodes: NodeRef[];
  replicas: ReplicaProbe[];
  /** per location: ready flag and message (for people; never a replica count) */
  deployments: { location: string; ready?: boolean; message?: string }[];
  /** human summary lines */
  messages: string[];
}

export function workloadPath(c: Pick<ControlPlaneConfig, 'org' | 'gvc'>, workload: string): string {
  return `/org/${encodeURIComponent(c.org)}/gvc/${encodeURIComponent(c.gvc)}/workload/${encodeURIComponent(workload)}`;
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** The expected replica count and scale facts of a workload object. */
export function planReplicaCount(workload: CplnWorkload, explicit?: number): WorkloadFacts {
  const auto = workload.spec?.defaultOptions?.autoscaling;
  const minScale = count(auto?.minScale);
  const maxScale = count(auto?.maxScale);
  const current = count(workload.status?.currentReplicaCount);
  const base = {
    ...(minScale !== undefined ? { minScale } : {}),
    ...(maxScale !== undefined ? { maxScale } : {}),
    ...(workload.spec?.type ? { type: workload.spec.type } : {}),
    suspended: workload.spec?.defaultOptions?.suspend === true,
  };
  if (explicit !== undefined) return { expected: explicit, source: 'REPLICA_COUNT', ...base };
  if (minScale !== undefined && minScale > 0) return { expected: minScale, source: 'minScale', ...base };
  if (current !== undefined && current > 0) return { expected: current, source: 'currentReplicaCount', ...base };
  return { expected: 1, source: 'default', ...base };
}

/** The NodeRef of replica i: `{workload}-{i}.{workload}` on the configured ports. */
export function replicaNode(c: Pick<ControlPlaneConfig, 'workload' | 'ports'>, ordinal: number): NodeRef {
  const name = `${c.workload}-${ordinal}`;
  const host = `${name}.${c.workload}`;
  return {
    name,
    ordinal,
    mysql: { host, port: c.ports.mysql },
    apiAddress: `${host}:${c.ports.api}`,
    httpAddress: `${host}:${c.ports.http}`,
    agentUrl: `http://${host}:${c.ports.agent}`,
  };
}

export function replicaNodes(c: Pick<ControlPlaneConfig, 'workload' | 'ports'>, expected: number): NodeRef[] {
  return Array.from({ length: expected }, (_, i) => replicaNode(c, i));
}

/** Reads the stateful workload (GET {W}) and checks it is an object. */
export async function observeWorkload(client: CplnClient, c: ControlPlaneConfig, signal?: AbortSignal): Promise<CplnWorkload> {
  const path = workloadPath(c, c.workload);
  const w = await client.getJson<CplnWorkload>(path, signal);
  if (Array.isArray(w)) throw new AppError('CPLN_BAD_RESPONSE', `GET ${path}: expected a workload object, got an array`, { retryable: true });
  return w;
}

/** Probes one replica's agent (no token: /v1/health is open). */
export async function probeReplica(node: NodeRef, timeoutMs = 3_000): Promise<ReplicaProbe> {
  const base = { name: node.name, ordinal: node.ordinal };
  try {
    const res = await fetch(`${node.agentUrl}/v1/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => undefined)) as { data?: { clusterStatus?: string; nodeState?: string; searchd?: { reachable?: boolean; error?: string } } } | undefined;
    const d = body?.data;
    const facts = { ...(d?.clusterStatus ? { clusterStatus: d.clusterStatus } : {}), ...(d?.nodeState ? { nodeState: d.nodeState } : {}) };
    if (res.status === 200 && d?.searchd?.reachable !== false) return { ...base, state: 'online', ...facts };
    if (res.status === 200 || res.status === 503) return { ...base, state: 'searchd-down', ...facts, ...(d?.searchd?.error ? { error: d.searchd.error } : {}) };
    return { ...base, state: 'offline', error: `agent answered HTTP ${res.status}` };
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code === 'ENOTFOUND' || code === 'EAI_NONAME') return { ...base, state: 'not-scheduled', error: `${node.agentUrl}: no such host (replica not scheduled)` };
    return { ...base, state: 'offline', error: errorMessage((err as { cause?: unknown }).cause ?? err) };
  }
}

/** Per-location readiness messages from GET {W}/deployment (never counts replicas). */
export async function observeDeployments(client: CplnClient, c: ControlPlaneConfig, signal?: AbortSignal): Promise<DiscoveryReport['deployments']> {
  const list = await client.getJson<CplnDeploymentList>(`${workloadPath(c, c.workload)}/deployment`, signal);
  const items = Array.isArray(list.items) ? list.items : [];
  return items.map((d) => {
    const msgs: string[] = [];
    if (d.status?.message) msgs.push(d.status.message);
    for (const v of d.status?.versions ?? []) {
      if (v.message && !msgs.includes(v.message)) msgs.push(v.message);
      for (const [cname, cs] of Object.entries(v.containers ?? {})) {
        const r = cs.resources;
        if (cs.message) msgs.push(`${cname}: ${cs.message}`);
        else if (r && r.replicas !== undefined && r.replicasReady !== undefined && r.replicasReady < r.replicas) msgs.push(`${cname}: ${r.replicasReady}/${r.replicas} replicas ready`);
      }
    }
    return { location: d.name ?? '?', ...(d.status?.ready !== undefined ? { ready: d.status.ready } : {}), ...(msgs.length ? { message: msgs.join('; ') } : {}) };
  });
}

/** The full picture: expected nodes, every replica probed (beyond the expected count up to maxScale), deployment messages. */
export async function discoverReplicas(
  client: CplnClient,
  c: ControlPlaneConfig,
  probe: (node: NodeRef) => Promise<ReplicaProbe> = (n) => probeReplica(n),
): Promise<DiscoveryReport> {
  const workload = await observeWorkload(client, c);
  const facts = planReplicaCount(workload, c.replicaCount);
  const nodes = replicaNodes(c, facts.expected);
  const upTo = Math.max(facts.expected, facts.maxScale ?? 0);
  const [replicas, deployments] = await Promise.all([
    Promise.all(Array.from({ length: upTo }, (_, i) => probe(replicaNode(c, i)))),
    observeDeployments(client, c).catch((err: unknown): DiscoveryReport['deployments'] => [{ location: c.location, message: `deployment status unavailable: ${errorMessage(err)}` }]),
  ]);
  const messages: string[] = [`${c.workload}: ${facts.expected} replicas expected (from ${facts.source})`];
  if (workload.spec?.type && workload.spec.type !== 'stateful') messages.push(`${c.workload} is a ${workload.spec.type} workload: replicas need a stateful workload for stable names and volumes`);
  if (facts.suspended) messages.push(`${c.workload} is suspended`);
  for (const r of replicas) {
    if (r.ordinal >= facts.expected) {
      if (r.state !== 'not-scheduled') messages.push(`${r.name} runs beyond the expected count and is not managed: raise minScale or REPLICA_COUNT to include it`);
    } else if (r.state !== 'online') messages.push(`${r.name}: ${r.state}${r.error ? ` (${r.error})` : ''}`);
  }
  for (const d of deployments) if (d.ready === false || (d.message && d.ready !== true)) messages.push(`deployment ${d.location}: ${d.ready === false ? 'not ready' : ''}${d.message ? ` ${d.message}` : ''}`.trim());
  return { workload: c.workload, ...facts, nodes, replicas, deployments, messages };
}
