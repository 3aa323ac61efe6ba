/**
 * Pure decisions of split-brain repair (issue 6): is it safe to act (the observation guard), which
 * side survives, and what the machine must do. Nothing here talks to a node.
 *
 * - Guard: never act while a node's observation is missing or older than the guard allows.
 * - Survivor: the group named by the request (a node or ordinal of it), else the group with the
 *   highest seqno, ties to the larger group, then to the lowest ordinal. A group of nodes that run
 *   outside the cluster cannot survive (that would start a new history: a forced bootstrap does that).
 * - The survivor side is bootstrapped (pc.bootstrap) only when it is not primary, and only it.
 * - Every other node is a loser: it leaves its side and rejoins the survivor (SST).
 */
import type { ClusterObservation } from '../observe/types.js';
import type { NodeFacts, SplitBrainDecision, SplitBrainGroup } from './cluster-decide.js';

export interface StaleNode {
  node: string;
  /** epoch ms of its last good observation (undefined: never answered) */
  lastGoodAt?: number;
  reason: string;
}

/**
 * Nodes whose observation is missing (searchd did not answer this pass) or older than `guardMs`.
 * `lastGood` is the epoch ms of each node's last answered observation (kept by the caller).
 */
export function decideStaleObservations(observations: ClusterObservation, now: number, guardMs: number, lastGood: Readonly<Record<string, number>>): StaleNode[] {
  const out: StaleNode[] = [];
  for (const o of observations) {
    const last = lastGood[o.node.name];
    const since = last === undefined ? 'never answered' : `last answered ${Math.round((now - last) / 1000)} s ago`;
    if (!o.searchd.ok) out.push({ node: o.node.name, ...(last !== undefined ? { lastGoodAt: last } : {}), reason: `${o.node.name}: searchd does not answer (${o.searchd.error}; ${since})` });
    else if (now - o.at > guardMs) out.push({ node: o.node.name, lastGoodAt: o.at, reason: `${o.node.name}: observation is ${Math.round((now - o.at) / 1000)} s old (guard ${Math.round(guardMs / 1000)} s)` });
  }
  return out;
}

export interface RepairPlan {
  kind: 'repair';
  survivor: string;
  survivorGroup: string[];
  bootstrap: boolean;
  losers: string[];
  reason: string;
  groups: SplitBrainGroup[];
}

export type RepairDecision =
  | RepairPlan
  /** nothing to repair: one cluster history */
  | { kind: 'nothing'; reason: string }
  /** the request cannot be carried out as asked (field: the input to fix) */
  | { kind: 'refuse'; reason: string; field?: string };

export interface RepairDecideInput {
  facts: readonly NodeFacts[];
  splitBrain: SplitBrainDecision | undefined;
  /** node name the request names as the source (already resolved from an ordinal) */
  source?: string;
}

function rank(a: SplitBrainGroup, b: SplitBrainGroup): number {
  return (b.seqno ?? -1) - (a.seqno ?? -1) || b.nodes.length - a.nodes.length || a.ordinal - b.ordinal;
}

/** The survivor and the plan of a repair (pure). */
export function decideRepairPlan(input: RepairDecideInput): RepairDecision {
  const sb = input.splitBrain;
  if (!sb) return { kind: 'nothing', reason: 'no split brain: every node that answers holds one cluster history' };
  const groups = sb.detail;
  let survivorGroup: SplitBrainGroup | undefined;
  let why: string;
  if (input.source !== undefined) {
    const name = input.source;
    survivorGroup = groups.find((g) => g.nodes.includes(name));
    if (!survivorGroup) return { kind: 'refuse', field: 'source', reason: `${name} is in no group of the split brain (${groups.map((g) => `[${g.nodes.join(', ')}]`).join(' ')})` };
    if (survivorGroup.standalone) {
      return { kind: 'refuse', field: 'source', reason: `${name} runs outside the cluster: it cannot be the survivor (that starts a new history; use a forced bootstrap)` };
    }
    why = `the request names ${name}`;
  } else {
    const candidates = groups.filter((g) => !g.standalone).sort(rank);
    survivorGroup = candidates[0];
    if (!survivorGroup) return { kind: 'refuse', reason: 'no group of the split brain runs the cluster: nothing can survive; use a forced bootstrap' };
    const second = candidates[1];
    if (!second) why = `[${survivorGroup.nodes.join(', ')}] is the only side running the cluster`;
    else if ((survivorGroup.seqno ?? -1) !== (second.seqno ?? -1)) why = `[${survivorGroup.nodes.join(', ')}] has the highest seqno (${survivorGroup.seqno ?? '?'} vs ${second.seqno ?? '?'})`;
    else if (survivorGroup.nodes.length !== second.nodes.length) why = `seqnos tie at ${survivorGroup.seqno ?? '?'}; [${survivorGroup.nodes.join(', ')}] is the larger side`;
    else why = `seqnos and sizes tie; [${survivorGroup.nodes.join(', ')}] has the lowest ordinal`;
  }
  const g = survivorGroup;
  const facts = input.facts.filter((f) => g.nodes.includes(f.name));
  const survivor =
    input.source ??
    [...facts].sort(
      (a, b) =>
        Number(b.status === 'primary' && b.nodeState === 'synced') - Number(a.status === 'primary' && a.nodeState === 'synced') ||
        (b.position ?? -1) - (a.position ?? -1) ||
        a.ordinal - b.ordinal,
    )[0]?.name;
  if (survivor === undefined) return { kind: 'refuse', reason: 'the survivor group has no node' };
  const losers = input.facts.filter((f) => !g.nodes.includes(f.name)).map((f) => f.name);
  const bootstrap = !g.primary;
  return {
    kind: 'repair',
    survivor,
    survivorGroup: [...g.nodes],
    bootstrap,
    losers,
    groups,
    reason:
      `${why}: ${survivor} keeps its data` +
      (bootstrap ? ` (its side has no quorum: pc.bootstrap on ${survivor} only)` : '') +
      (losers.length > 0 ? `; ${losers.join(', ')} rejoin it by SST and lose what only their side had` : ''),
  };
}
