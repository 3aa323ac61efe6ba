/** Observation builders for the cluster formation tests. */
import type { Grastate, NodeDiskState, StartGate } from '../../../src/agent/protocol.js';
import type { ClusterStatus } from '../../../src/manticore/parse.js';
import type { NodeObservation, SearchdObservation } from '../../../src/observe/types.js';
import type { NodeRef } from '../../../src/platform/types.js';

export const CLUSTER = 'c';
export const UUID = '11111111-2222-3333-4444-555555555555';
export const OTHER_UUID = '99999999-2222-3333-4444-555555555555';

export function ref(ordinal: number): NodeRef {
  return {
    name: `node${ordinal}`,
    ordinal,
    mysql: { host: '127.0.0.1', port: 9306 + ordinal * 10 },
    apiAddress: `127.0.0.1:${9312 + ordinal * 10}`,
    agentUrl: `http://127.0.0.1:${19500 + ordinal}`,
  };
}

export function clusterStatus(ordinal: number, o: { status?: ClusterStatus['status']; nodeState?: ClusterStatus['nodeState']; uuid?: string; seqno?: number; view?: number[]; set?: number[] } = {}): ClusterStatus {
  const view = (o.view ?? [ordinal]).map((i) => ref(i).apiAddress);
  return {
    name: CLUSTER,
    status: o.status ?? 'primary',
    nodeState: o.nodeState ?? 'synced',
    stateUuid: o.uuid ?? UUID,
    localStateUuid: o.uuid ?? UUID,
    seqno: o.seqno ?? 5,
    lastCommitted: o.seqno ?? 5,
    nodesSet: (o.set ?? o.view ?? [ordinal]).map((i) => ref(i).apiAddress),
    nodesView: view,
    nodesViewMembers: view.map((api) => ({ api })),
    indexes: [],
    sst: { active: false },
    vars: {},
  };
}

function searchd(clusters: ClusterStatus[], frozen: string[] = []): SearchdObservation {
  return { buddy: true, clusters, tables: [], distributed: {}, rows: {}, frozen };
}

export function disk(o: { grastate?: Partial<Grastate>; saved?: boolean; running?: boolean; gate?: Partial<StartGate> } = {}): NodeDiskState {
  const grastate: Grastate = o.grastate ? { exists: true, ...o.grastate } : { exists: false };
  return {
    grastate,
    savedClusters: o.saved ? [CLUSTER] : [],
    savedTables: [],
    searchd: { running: o.running ?? true },
    gate: { mode: 'normal', reason: 'default', ...o.gate },
  };
}

export function member(ordinal: number, cs: Parameters<typeof clusterStatus>[1] = {}, extra: { frozen?: string[] } = {}): NodeObservation {
  return {
    node: ref(ordinal),
    at: 1000,
    durationMs: 1,
    searchd: { ok: true, value: searchd([clusterStatus(ordinal, cs)], extra.frozen) },
    agent: { ok: true, value: disk({ grastate: { uuid: cs.uuid ?? UUID, seqno: -1, safeToBootstrap: false }, saved: true }) },
  };
}

export function standalone(ordinal: number, d: Parameters<typeof disk>[0] = {}): NodeObservation {
  return { node: ref(ordinal), at: 1000, durationMs: 1, searchd: { ok: true, value: searchd([]) }, agent: { ok: true, value: disk(d) } };
}

/** searchd down, the start script holding at the gate */
export function held(ordinal: number, grastate?: Partial<Grastate>, saved = true): NodeObservation {
  return {
    node: ref(ordinal),
    at: 1000,
    durationMs: 1,
    searchd: { ok: false, error: 'connect ECONNREFUSED' },
    agent: { ok: true, value: disk({ grastate, saved, running: false, gate: { mode: 'hold', reason: 'saved cluster', holdingSince: '2026-01-01T00:00:00.000Z' } }) },
  };
}

/** neither searchd nor agent answer */
export function silent(ordinal: number): NodeObservation {
  return { node: ref(ordinal), at: 1000, durationMs: 1, searchd: { ok: false, error: 'connect ECONNREFUSED' }, agent: { ok: false, error: 'fetch failed' } };
}
