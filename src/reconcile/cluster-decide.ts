/**
 * Pure decisions of cluster formation and self-healing (DESIGN.md sections 4-5, manticore-facts.md
 * 1.3, 3.1 and 7). Every function here takes observations and recorded positions and returns a
 * decision with a human reason; nothing here talks to a node.
 *
 * Rules:
 * - never CREATE CLUSTER over existing history (a grastate uuid or a cluster saved in manticore.json
 *   makes a node a former member: it rejoins or is the recovery source), unless a forced bootstrap
 *   names it;
 * - a running primary component is joined; held nodes are released with a plain start;
 * - with no primary, wait until every node reports, then recover from the highest position
 *   (grastate seqno when >= 0, else the last_committed recorded while the cluster ran), ties to the
 *   safe_to_bootstrap node, then to the lowest ordinal;
 * - unknown positions make the choice ambiguous (RecoveryPending) unless a forced bootstrap names a node;
 * - several primaries or uuid groups, or a non-primary majority, are split brain: detected here with
 *   each group's nodes, seqno and rows (repaired by the split-brain-repair machine, src/reconcile/repair.ts).
 */
import type { ClusterComponentStatus, ClusterNodeState } from '../manticore/parse.js';
import type { Grastate, StartGate, StartMode } from '../agent/protocol.js';
import type { ClusterObservation, NodeObservation } from '../observe/types.js';
import type { ConditionInput } from '../status/types.js';

/** Where a node stands in this pass. */
export type NodeRole =
  /** searchd answers and reports the cluster */
  | 'member'
  /** searchd answers and is not in the cluster */
  | 'standalone'
  /** searchd is down and its start script is waiting at the gate (it asked and got `hold`) */
  | 'held'
  /**
   * searchd is down (or not answering yet) and nobody waits at the gate: a start under way, or a node being
   * stopped. No start decision is given to it: a decision nobody asked for would outlive a full stop and let
   * the node start plainly later, dropping its cluster.
   */
  | 'starting'
  /** neither searchd nor the agent answer */
  | 'unknown';

export type PositionSource = 'live' | 'grastate' | 'recorded' | 'none';

export interface RecordedSeqno {
  uuid: string;
  seqno: number;
  at?: string;
}

/** One node as the decisions see it (derived from its observation; pure data). */
export interface NodeFacts {
  name: string;
  ordinal: number;
  apiAddress: string;
  role: NodeRole;
  status?: ClusterComponentStatus;
  nodeState?: ClusterNodeState;
  uuid?: string;
  nodesSet: string[];
  nodesView: string[];
  frozen: string[];
  agentOk: boolean;
  grastate?: Grastate;
  savedCluster: boolean;
  /** has this node been a member of the cluster before (unknown when the agent does not answer) */
  history: 'none' | 'yes' | 'unknown';
  /** the uuid of the history it holds (live uuid, else grastate uuid, else recorded uuid) */
  historyUuid?: string;
  position?: number;
  positionSource: PositionSource;
  safeToBootstrap: boolean;
  gate?: StartGate;
  /** row counts of managed tables this pass counted (observation `rows`), by table */
  rows: Record<string, number>;
}

export type RecoveryMode = 'new-cluster' | 'new-cluster-force' | 'pc-bootstrap' | 'create-from-local';

export interface ForcedBootstrapRequest {
  operationId: string;
  node: string;
  requestedBy: string;
}

export type FormationDecision =
  /** nothing to change; `updateNodesOn` names a member where `ALTER CLUSTER ... UPDATE nodes` should run */
  | { kind: 'steady'; reason: string; updateNodesOn?: string }
  /** nothing to do now; `code` is the CamelCase reason for conditions */
  | { kind: 'wait'; code: string; reason: string }
  /** fresh nodes, nobody has history: create on `node`, the others join it */
  | { kind: 'create'; node: string; joiners: string[]; reason: string }
  /** a primary component runs: `nodes` (up, not in it) join it through `donor` */
  | { kind: 'join'; nodes: string[]; donor: string; reason: string }
  /** held nodes start (a primary runs, they rejoin by themselves) */
  | { kind: 'start'; nodes: string[]; mode: Extract<StartMode, 'normal'>; reason: string }
  /** no primary: bring the cluster back on `source`, then release / join `others` */
  | { kind: 'recover'; source: string; mode: RecoveryMode; others: string[]; reason: string; forced?: ForcedBootstrapRequest }
  /** no safe choice: wait and say why (RecoveryPending) */
  | { kind: 'ambiguous'; reason: string; missing: string[] }
  /** several primaries or uuid groups, or a non-primary majority: refuse to act (a repair does) */
  | SplitBrainDecision;

/** One side of a split brain: a component (members sharing a view) or a node outside any. */
export interface SplitBrainGroup {
  nodes: string[];
  /** cluster uuid of the side (a standalone node: the uuid of the history it holds) */
  uuid?: string;
  /** member of a primary component */
  primary: boolean;
  /** its nodes run outside the cluster (they dropped it) */
  standalone: boolean;
  /** highest position among its nodes (live last_committed, else grastate / recorded) */
  seqno?: number;
  /** lowest ordinal of its nodes */
  ordinal: number;
  /** rows of managed tables per node, from this pass's observations: {node: {table: rows}} */
  rows: Record<string, Record<string, number>>;
}

export type SplitBrainCause = 'uuids' | 'primaries' | 'non-primary-majority';

export interface SplitBrainDecision {
  kind: 'split-brain';
  reason: string;
  /** node names per group (ordinal order) */
  groups: string[][];
  cause: SplitBrainCause;
  /** every group with its uuid, seqno and rows */
  detail: SplitBrainGroup[];
}

export interface DecideInput {
  clusterName: string;
  observations: ClusterObservation;
  /** recorded last_committed per node (StatusWriter.recordedSeqnos()) */
  recorded: Record<string, RecordedSeqno>;
  /** a pending forced bootstrap request, if any */
  forced?: ForcedBootstrapRequest;
}

// ---------------------------------------------------------------------------------------------
// facts

function sortedUnique(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort();
}

/** Derives one node's facts from its observation (pure). */
export function nodeFacts(clusterName: string, o: NodeObservation, recorded: RecordedSeqno | undefined): NodeFacts {
  const agent = o.agent.ok ? o.agent.value : undefined;
  const searchd = o.searchd.ok ? o.searchd.value : undefined;
  const cluster = searchd?.clusters.find((c) => c.name === clusterName);
  const grastate = agent?.grastate.exists ? agent.grastate : undefined;
  const savedCluster = agent?.savedClusters.includes(clusterName) ?? false;
  let role: NodeRole;
  if (searchd) role = cluster ? 'member' : 'standalone';
  else if (!agent) role = 'unknown';
  else if (!agent.searchd.running && agent.gate.mode === 'hold' && agent.gate.holdingSince !== undefined) role = 'held';
  else role = 'starting';

  const gUuid = grastate?.uuid !== undefined && grastate.uuid !== '' && !/^0{8}-/.test(grastate.uuid) ? grastate.uuid : undefined;
  let history: NodeFacts['history'];
  if (cluster) history = 'yes';
  else if (!agent) history = recorded ? 'yes' : 'unknown';
  else history = gUuid !== undefined || savedCluster || recorded !== undefined ? 'yes' : 'none';
  const historyUuid = cluster?.stateUuid ?? gUuid ?? recorded?.uuid;

  let position: number | undefined;
  let positionSource: PositionSource = 'none';
  const live = cluster?.lastCommitted ?? cluster?.seqno;
  if (cluster && live !== undefined && live >= 0) {
    position = live;
    positionSource = 'live';
  } else if (grastate?.seqno !== undefined && grastate.seqno >= 0) {
    position = grastate.seqno;
    positionSource = 'grastate';
  } else if (recorded && (historyUuid === undefined || recorded.uuid === historyUuid)) {
    position = recorded.seqno;
    positionSource = 'recorded';
  }
  return {
    name: o.node.name,
    ordinal: o.node.ordinal,
    apiAddress: o.node.apiAddress,
    role,
    status: cluster?.status,
    nodeState: cluster?.nodeState,
    uuid: cluster?.stateUuid,
    nodesSet: cluster?.nodesSet ?? [],
    nodesView: cluster?.nodesView ?? [],
    frozen: searchd?.frozen ?? [],
    agentOk: agent !== undefined,
    grastate,
    savedCluster,
    history,
    historyUuid,
    position,
    positionSource,
    safeToBootstrap: grastate?.safeToBootstrap === true,
    gate: agent?.gate,
    rows: { ...(searchd?.rows ?? {}) },
  };
}

export function clusterFacts(input: Pick<DecideInput, 'clusterName' | 'observations' | 'recorded'>): NodeFacts[] {
  return [...input.observations]
    .sort((a, b) => a.node.ordinal - b.node.ordinal)
    .map((o) => nodeFacts(input.clusterName, o, input.recorded[o.node.name]));
}

/** Primary + synced: the readiness of a node as a cluster member. */
export function isSynced(f: NodeFacts): boolean {
  return f.role === 'member' && f.status === 'primary' && f.nodeState === 'synced';
}

function names(fs: readonly NodeFacts[]): string[] {
  return fs.map((f) => f.name);
}

function list(xs: readonly string[]): string {
  return xs.length === 0 ? '(none)' : xs.join(', ');
}

// ---------------------------------------------------------------------------------------------
// split brain

/**
 * Split brain (issue 6): several primaries with different uuids, nodes holding different histories
 * next to a running primary, two primary components of one uuid that do not see each other, or a
 * non-primary majority (most nodes answer as members without quorum, while another component is
 * primary or they form several components). Only nodes that answer count.
 */
export function decideSplitBrain(facts: readonly NodeFacts[]): SplitBrainDecision | undefined {
  const primaries = facts.filter((f) => f.role === 'member' && f.status === 'primary');
  const byUuid = new Map<string, string[]>();
  for (const f of facts) {
    if (f.role !== 'member' && f.role !== 'standalone') continue;
    const uuid = f.role === 'member' ? f.uuid : f.historyUuid;
    if (uuid === undefined) continue;
    byUuid.set(uuid, [...(byUuid.get(uuid) ?? []), f.name]);
  }
  const found = (cause: SplitBrainCause, reason: string, groups: string[][]): SplitBrainDecision => {
    const detail = splitBrainGroups(facts);
    return { kind: 'split-brain', cause, reason: `${reason}: ${describeGroups(detail)}`, groups, detail };
  };
  // a standalone node with a different uuid matters only next to a running primary of another uuid
  const primaryUuids = new Set(primaries.map((p) => p.uuid).filter((u): u is string => u !== undefined));
  if (primaryUuids.size > 1) {
    const groups = [...primaryUuids].map((u) => primaries.filter((p) => p.uuid === u).map((p) => p.name));
    return found('uuids', `primaries with different cluster uuids: ${groups.map((g) => `[${g.join(', ')}]`).join(' vs ')}`, groups);
  }
  if (primaryUuids.size === 1 && byUuid.size > 1) {
    const groups = [...byUuid.values()];
    return found('uuids', `nodes hold different histories of the cluster (uuid groups ${groups.map((g) => `[${g.join(', ')}]`).join(' vs ')}); joining would discard one side`, groups);
  }
  // two primary components of the same uuid that do not see each other (pc.bootstrap on both sides)
  for (let i = 0; i < primaries.length; i++) {
    for (let j = i + 1; j < primaries.length; j++) {
      const a = primaries[i];
      const b = primaries[j];
      if (!a || !b || a.nodesView.length === 0 || b.nodesView.length === 0) continue;
      if (!a.nodesView.includes(b.apiAddress) && !b.nodesView.includes(a.apiAddress)) {
        const groups = sortedGroups(primaries);
        return found('primaries', `two primary components do not see each other: ${groups.map((g) => `[${g.join(', ')}]`).join(' vs ')}`, groups);
      }
    }
  }
  // a non-primary majority: most nodes answer as members that lost quorum (not nodes still starting or
  // joining, which show `disconnected` / `joining` for a moment on every restart)
  const nonPrimary = facts.filter((f) => f.role === 'member' && f.status === 'non-primary' && f.nodeState !== 'joining');
  if (facts.length > 1 && nonPrimary.length * 2 > facts.length) {
    const components = new Set(nonPrimary.map((m) => componentKey(m)));
    if (primaries.length > 0 || components.size > 1) {
      const detail = splitBrainGroups(facts);
      return found(
        'non-primary-majority',
        `a majority of the nodes (${list(names(nonPrimary))}) are members without quorum` + (primaries.length > 0 ? ` while ${list(names(primaries))} run a primary component` : ` in ${components.size} components`),
        detail.map((g) => g.nodes),
      );
    }
  }
  return undefined;
}

function componentKey(f: NodeFacts): string {
  return `${f.uuid ?? ''}|${sortedUnique([f.apiAddress, ...f.nodesView]).join(',')}`;
}

/** The sides of a split brain among the nodes that answer: components of members, and each standalone node with history. */
export function splitBrainGroups(facts: readonly NodeFacts[]): SplitBrainGroup[] {
  const groups = new Map<string, NodeFacts[]>();
  for (const f of facts) {
    let key: string | undefined;
    if (f.role === 'member') key = `m|${componentKey(f)}`;
    else if (f.role === 'standalone' && f.history === 'yes') key = `s|${f.name}`;
    if (key === undefined) continue;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.values()]
    .map((fs) => {
      const positions = fs.map((f) => f.position).filter((p): p is number => p !== undefined);
      const first = fs[0] as NodeFacts;
      const g: SplitBrainGroup = {
        nodes: names(fs),
        primary: first.role === 'member' && first.status === 'primary',
        standalone: first.role === 'standalone',
        ordinal: Math.min(...fs.map((f) => f.ordinal)),
        rows: Object.fromEntries(fs.map((f) => [f.name, { ...f.rows }])),
      };
      const uuid = first.role === 'member' ? first.uuid : first.historyUuid;
      if (uuid !== undefined) g.uuid = uuid;
      if (positions.length > 0) g.seqno = Math.max(...positions);
      return g;
    })
    .sort((a, b) => a.ordinal - b.ordinal);
}

/** "[node0, node1] primary uuid 1234abcd seqno 7 rows items_delta=5 | [node2] ..." */
export function describeGroups(groups: readonly SplitBrainGroup[]): string {
  return groups
    .map((g) => {
      const state = g.standalone ? 'outside the cluster' : g.primary ? 'primary' : 'non-primary';
      const rows = g.nodes
        .map((n) => {
          const r = g.rows[n] ?? {};
          const parts = Object.keys(r)
            .sort()
            .map((t) => `${t}=${r[t]}`);
          return parts.length > 0 ? `${n}: ${parts.join(' ')}` : undefined;
        })
        .filter((x): x is string => x !== undefined);
      return `[${g.nodes.join(', ')}] ${state}, uuid ${g.uuid ?? '?'}, seqno ${g.seqno ?? '?'}${rows.length > 0 ? `, rows ${rows.join('; ')}` : ''}`;
    })
    .join(' | ');
}

function sortedGroups(primaries: readonly NodeFacts[]): string[][] {
  const seen = new Map<string, string[]>();
  for (const p of primaries) {
    const key = sortedUnique(p.nodesView).join(',');
    seen.set(key, [...(seen.get(key) ?? []), p.name]);
  }
  return [...seen.values()];
}

// ---------------------------------------------------------------------------------------------
// recovery source

export interface SourceChoice {
  source: NodeFacts;
  reason: string;
}

/**
 * Highest position; ties to a running member (its live position is exact and it needs no restart),
 * then to safe_to_bootstrap, then to the lowest ordinal. Candidates must have positions.
 */
export function decideRecoverySource(candidates: readonly NodeFacts[]): SourceChoice | undefined {
  const live = (f: NodeFacts) => Number(f.positionSource === 'live');
  const ranked = candidates
    .filter((c) => c.position !== undefined)
    .sort(
      (a, b) =>
        (b.position ?? -1) - (a.position ?? -1) || live(b) - live(a) || Number(b.safeToBootstrap) - Number(a.safeToBootstrap) || a.ordinal - b.ordinal,
    );
  const best = ranked[0];
  if (!best) return undefined;
  const positions = ranked.map((c) => `${c.name}=${c.position} (${c.positionSource})`).join(', ');
  const tied = ranked.filter((c) => c.position === best.position);
  let why: string;
  if (tied.length === 1) why = `${best.name} has the highest position`;
  else if (best.positionSource === 'live' && tied.filter((t) => t.positionSource === 'live').length === 1) why = `${best.name} ties on the highest position and still runs`;
  else if (best.safeToBootstrap && tied.filter((t) => t.safeToBootstrap).length === 1) why = `${best.name} ties on the highest position and is the one marked safe_to_bootstrap`;
  else why = `${tied.map((t) => t.name).join(', ')} tie on the highest position; ${best.name} has the lowest ordinal`;
  return { source: best, reason: `${why} (${positions})` };
}

function recoveryMode(source: NodeFacts): RecoveryMode | undefined {
  if (source.role === 'member') return 'pc-bootstrap';
  if (source.role === 'held') return source.safeToBootstrap ? 'new-cluster' : 'new-cluster-force';
  if (source.role === 'standalone') return 'create-from-local';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// formation

/** The one decision of a pass for a cluster with no operation running. */
export function decideFormation(input: DecideInput): FormationDecision {
  const facts = clusterFacts(input);
  if (facts.length === 0) return { kind: 'wait', code: 'NoNodes', reason: 'the platform lists no nodes yet' };
  const split = decideSplitBrain(facts);
  if (split) return split;

  const primaries = facts.filter((f) => f.role === 'member' && f.status === 'primary');
  if (primaries.length > 0) return decideWithPrimary(input, facts);
  return decideWithoutPrimary(input, facts);
}

function decideWithPrimary(input: DecideInput, facts: readonly NodeFacts[]): FormationDecision {
  const c = input.clusterName;
  const synced = facts.filter(isSynced);
  const held = facts.filter((f) => f.role === 'held');
  if (held.length > 0) {
    return {
      kind: 'start',
      nodes: names(held),
      mode: 'normal',
      reason: `a primary component of '${c}' runs on ${list(names(facts.filter((f) => f.role === 'member' && f.status === 'primary')))}; ${list(names(held))} start normally and rejoin by themselves`,
    };
  }
  const donor = synced[0];
  const busy = facts.filter((f) => f.role === 'member' && (f.nodeState === 'joining' || f.nodeState === 'donor'));
  const uuid = synced[0]?.uuid ?? facts.find((f) => f.role === 'member' && f.status === 'primary')?.uuid;
  const outside = facts.filter((f) => f.role === 'standalone' && (f.history !== 'yes' || f.historyUuid === undefined || f.historyUuid === uuid));
  if (outside.length > 0) {
    const unknownHistory = outside.filter((f) => f.history === 'unknown');
    if (unknownHistory.length > 0 && unknownHistory.length === outside.length) {
      return { kind: 'wait', code: 'WaitingForAgents', reason: `${list(names(unknownHistory))} answer SQL but their agents do not: their history is unknown, so they are not joined yet` };
    }
    if (!donor) return { kind: 'wait', code: 'WaitingForDonor', reason: `no member of '${c}' is primary and synced yet to serve ${list(names(outside))} as donor` };
    if (donor.frozen.length > 0) {
      return {
        kind: 'wait',
        code: 'DonorFrozen',
        reason: `tables ${list(donor.frozen)} are frozen on the donor ${donor.name}: a node joining now would miss every row written since the freeze`,
      };
    }
    if (busy.length > 0) return { kind: 'wait', code: 'StateTransferRunning', reason: `${list(names(busy))} are joining or donating: one state transfer at a time` };
    const joiners = outside.filter((f) => f.history !== 'unknown');
    const former = joiners.filter((f) => f.history === 'yes');
    return {
      kind: 'join',
      nodes: names(joiners),
      donor: donor.name,
      reason:
        `${list(names(joiners))} ${joiners.length === 1 ? 'is' : 'are'} up outside the running cluster '${c}' and join it through ${donor.name}` +
        (former.length > 0 ? ` (${list(names(former))} had dropped the cluster: their copies of its tables are replaced by SST)` : ''),
    };
  }
  const notSynced = facts.filter((f) => !isSynced(f));
  if (notSynced.length > 0) {
    const detail = notSynced.map((f) => `${f.name}: ${describeRole(f)}`).join('; ');
    return { kind: 'wait', code: 'NodesNotSynced', reason: `waiting for ${list(names(notSynced))} to be primary and synced (${detail})` };
  }
  const expected = sortedUnique(facts.map((f) => f.apiAddress));
  const stale = donor && busy.length === 0 && sortedUnique(donor.nodesSet).join(',') !== expected.join(',') ? donor.name : undefined;
  return {
    kind: 'steady',
    reason: `every node of '${c}' is primary and synced with uuid ${uuid ?? '?'}`,
    ...(stale ? { updateNodesOn: stale } : {}),
  };
}

export function describeRole(f: NodeFacts): string {
  switch (f.role) {
    case 'member':
      return `${f.status ?? 'unknown'}/${f.nodeState ?? 'unknown'}`;
    case 'standalone':
      return f.history === 'yes' ? 'up, outside the cluster (former member)' : f.history === 'none' ? 'up, fresh' : 'up, history unknown';
    case 'held':
      return 'holding at the start gate';
    case 'starting':
      return 'starting';
    case 'unknown':
      return 'not answering (searchd and agent)';
  }
}

function decideWithoutPrimary(input: DecideInput, facts: readonly NodeFacts[]): FormationDecision {
  const c = input.clusterName;
  const forced = input.forced ? facts.find((f) => f.name === input.forced?.node) : undefined;
  if (input.forced && !forced) {
    return { kind: 'wait', code: 'ForcedNodeUnknown', reason: `the forced bootstrap names ${input.forced.node}, which the platform does not list` };
  }
  const withHistory = facts.filter((f) => f.history === 'yes');
  if (forced) return decideForced(input, facts, forced);

  const silent = facts.filter((f) => f.role === 'unknown' || f.role === 'starting');
  if (withHistory.length === 0 && !facts.some((f) => f.history === 'unknown')) {
    // fresh cluster: every node must be up before the deterministic choice
    const notUp = facts.filter((f) => f.role !== 'standalone');
    if (notUp.length > 0) return { kind: 'wait', code: 'WaitingForNodes', reason: `fresh cluster '${c}': waiting for ${list(names(notUp))} to start before choosing the first node` };
    const [first, ...rest] = facts;
    if (!first) return { kind: 'wait', code: 'NoNodes', reason: 'the platform lists no nodes yet' };
    return {
      kind: 'create',
      node: first.name,
      joiners: names(rest),
      reason: `no node has history of '${c}': ${first.name} (lowest ordinal) creates it, ${list(names(rest))} join`,
    };
  }
  if (silent.length > 0) {
    return {
      kind: 'wait',
      code: 'WaitingForNodes',
      reason: `no primary component of '${c}': waiting for every node to report before choosing a recovery source (${silent.map((f) => `${f.name}: ${describeRole(f)}`).join('; ')})`,
    };
  }
  if (facts.some((f) => f.history === 'unknown')) {
    const u = facts.filter((f) => f.history === 'unknown');
    return { kind: 'wait', code: 'WaitingForAgents', reason: `the agents of ${list(names(u))} do not answer: their history is unknown` };
  }
  const members = withHistory.filter((f) => f.role === 'member');
  const components = new Set(members.map((m) => sortedUnique([m.apiAddress, ...m.nodesView]).join(',')));
  if (members.length > 1 && components.size > 1 && !overlapping(members)) {
    return { kind: 'ambiguous', reason: `several non-primary components of '${c}' (${list(names(members))}): bootstrapping one side needs a forced request`, missing: [] };
  }
  const missing = withHistory.filter((f) => f.position === undefined);
  if (missing.length > 0) {
    return {
      kind: 'ambiguous',
      reason:
        `no primary component of '${c}' and the positions of ${list(names(missing))} are unknown (grastate seqno -1 and no recorded last_committed): ` +
        `bootstrapping from another node could discard their newer writes; request a forced bootstrap naming the node whose data should win`,
      missing: names(missing),
    };
  }
  const choice = decideRecoverySource(withHistory);
  if (!choice) return { kind: 'ambiguous', reason: `no node of '${c}' has a known position`, missing: names(withHistory) };
  const mode = recoveryMode(choice.source);
  if (mode === undefined) return { kind: 'wait', code: 'WaitingForNodes', reason: `${choice.source.name} is ${describeRole(choice.source)}` };
  if (mode === 'create-from-local') {
    return {
      kind: 'ambiguous',
      reason:
        `${choice.source.name} should be the recovery source of '${c}' (${choice.reason}) but it runs outside the cluster (it dropped the cluster): ` +
        `recreating the cluster from its local tables starts a new history; request a forced bootstrap naming it`,
      missing: [],
    };
  }
  return {
    kind: 'recover',
    source: choice.source.name,
    mode,
    others: names(facts.filter((f) => f.name !== choice.source.name)),
    reason: `no primary component of '${c}': ${choice.reason}; ${recoveryWords(mode)} on ${choice.source.name}, then the others start normally and rejoin`,
  };
}

function overlapping(members: readonly NodeFacts[]): boolean {
  // every pair shares at least one address of its view
  for (const a of members) {
    for (const b of members) {
      if (a === b) continue;
      const av = new Set([a.apiAddress, ...a.nodesView]);
      if (![b.apiAddress, ...b.nodesView].some((x) => av.has(x))) return false;
    }
  }
  return true;
}

function recoveryWords(mode: RecoveryMode): string {
  switch (mode) {
    case 'new-cluster':
      return 'searchd --new-cluster (clean stop: the uuid is kept)';
    case 'new-cluster-force':
      return 'searchd --new-cluster-force (crash: seqno -1 everywhere)';
    case 'pc-bootstrap':
      return "SET CLUSTER ... GLOBAL 'pc.bootstrap' = 1";
    case 'create-from-local':
      return 'CREATE CLUSTER from the local tables';
  }
}

function decideForced(input: DecideInput, facts: readonly NodeFacts[], forced: NodeFacts): FormationDecision {
  const c = input.clusterName;
  const req = input.forced as ForcedBootstrapRequest;
  const others = names(facts.filter((f) => f.name !== forced.name));
  if (forced.role === 'standalone' && forced.history !== 'yes') {
    return {
      kind: 'recover',
      source: forced.name,
      mode: 'create-from-local',
      others,
      reason: `forced bootstrap by ${req.requestedBy}: ${forced.name} creates '${c}' from its local tables; the others join it`,
      forced: req,
    };
  }
  const mode = recoveryMode(forced);
  if (mode === undefined) {
    return { kind: 'wait', code: 'ForcedNodeNotReporting', reason: `the forced bootstrap names ${forced.name}, which is ${describeRole(forced)}` };
  }
  const finalMode = mode;
  return {
    kind: 'recover',
    source: forced.name,
    mode: finalMode,
    others,
    reason: `forced bootstrap by ${req.requestedBy}: ${recoveryWords(finalMode)} on ${forced.name} (its data wins), then the others rejoin`,
    forced: req,
  };
}

// ---------------------------------------------------------------------------------------------
// conditions

export interface ConditionsInput {
  clusterName: string;
  facts: readonly NodeFacts[];
  decision: FormationDecision;
  /** the running operation, if any (kind and current step) */
  operation?: { id: string; kind: string; step: string };
  /** the SplitBrain condition as the repair module states it (guard, repair running); default: from the decision */
  splitBrain?: ConditionInput;
}

/** The cluster conditions of a pass (pure). */
export function decideClusterConditions(input: ConditionsInput): ConditionInput[] {
  const { facts, decision, clusterName: c } = input;
  const members = facts.filter((f) => f.role === 'member');
  const uuids = sortedUnique(members.map((m) => m.uuid ?? ''));
  const primary = members.some((m) => m.status === 'primary');
  const allSynced = facts.length > 0 && facts.every(isSynced) && uuids.length === 1;
  const out: ConditionInput[] = [];
  out.push(
    primary
      ? { type: 'ClusterFormed', status: 'True', reason: 'PrimaryComponent', message: `'${c}' has a primary component on ${list(names(members.filter((m) => m.status === 'primary')))}` }
      : { type: 'ClusterFormed', status: 'False', reason: input.operation ? 'OperationRunning' : 'NoPrimaryComponent', message: input.operation ? `${input.operation.kind} ${input.operation.id} at step ${input.operation.step}` : `no node of '${c}' is primary: ${decision.reason}` },
  );
  out.push(
    allSynced
      ? { type: 'Ready', status: 'True', reason: 'AllNodesSynced', message: `every node (${facts.length}) is primary and synced with uuid ${uuids[0]}` }
      : { type: 'Ready', status: 'False', reason: readyReason(decision), message: notReadyMessage(facts) },
  );
  const down = facts.filter((f) => !isSynced(f));
  out.push(
    primary && down.length > 0
      ? { type: 'Degraded', status: 'True', reason: 'NodesNotSynced', message: `${list(down.map((f) => `${f.name} (${describeRole(f)})`))} not primary+synced` }
      : { type: 'Degraded', status: 'False', reason: primary ? 'AllNodesSynced' : 'NoPrimaryComponent', message: primary ? 'every node is primary and synced' : 'no primary component to be degraded from' },
  );
  out.push(
    input.splitBrain ??
      (decision.kind === 'split-brain'
        ? { type: 'SplitBrain', status: 'True', reason: 'SeveralComponents', message: `${decision.reason}; the controller does not act until it is repaired`, details: { cause: decision.cause, groups: decision.detail } }
        : { type: 'SplitBrain', status: 'False', reason: 'OneComponent', message: 'one cluster history' }),
  );
  if (decision.kind === 'ambiguous') {
    out.push({ type: 'RecoveryPending', status: 'True', reason: decision.missing.length > 0 ? 'UnknownPositions' : 'NeedsForcedBootstrap', message: decision.reason });
  } else if (decision.kind === 'wait' && !primary && facts.some((f) => f.history === 'yes')) {
    out.push({ type: 'RecoveryPending', status: 'True', reason: decision.code, message: decision.reason });
  } else if (input.operation && (input.operation.kind === 'full-stop-recovery' || input.operation.kind === 'forced-bootstrap')) {
    out.push({ type: 'RecoveryPending', status: 'True', reason: 'Recovering', message: `${input.operation.kind} ${input.operation.id} at step ${input.operation.step}` });
  } else {
    out.push({ type: 'RecoveryPending', status: 'False', reason: 'NothingToRecover', message: primary ? 'a primary component runs' : 'no recovery needed' });
  }
  return out;
}

function readyReason(decision: FormationDecision): string {
  switch (decision.kind) {
    case 'wait':
      return decision.code;
    case 'ambiguous':
      return 'RecoveryPending';
    case 'split-brain':
      return 'SplitBrain';
    case 'create':
    case 'join':
    case 'recover':
      return 'Forming';
    case 'start':
      return 'NodesStarting';
    case 'steady':
      return 'UuidMismatch';
  }
}

function notReadyMessage(facts: readonly NodeFacts[]): string {
  const bad = facts.filter((f) => !isSynced(f));
  if (bad.length === 0) {
    const uuids = sortedUnique(facts.map((f) => f.uuid ?? ''));
    return `nodes report different cluster uuids: ${uuids.join(', ')}`;
  }
  if (facts.length === 0) return 'no nodes';
  return bad.map((f) => `${f.name}: ${describeRole(f)}`).join('; ');
}

/** A short phase for the cluster view. */
export function decidePhase(decision: FormationDecision, operation?: { kind: string }): string {
  if (operation) {
    if (operation.kind === 'repair') return 'Repairing a split brain';
    return operation.kind === 'full-stop-recovery' ? 'Recovering from a full stop' : operation.kind === 'forced-bootstrap' ? 'Forced bootstrap' : 'Forming';
  }
  switch (decision.kind) {
    case 'steady':
      return 'Ready';
    case 'split-brain':
      return 'Split brain';
    case 'ambiguous':
      return 'Recovery pending';
    case 'start':
      return 'Nodes rejoining';
    case 'wait':
      return decision.code === 'NodesNotSynced' ? 'Degraded' : 'Waiting';
    default:
      return 'Forming';
  }
}
