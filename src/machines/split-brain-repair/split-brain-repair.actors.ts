/**
 * The effects of the split-brain-repair machine: named promise actors, each reading the node before
 * acting, so a snapshot restored after a controller SIGKILL can run the active one again safely:
 * no pc.bootstrap on a primary (and never on any node but the survivor), no DELETE CLUSTER on a node
 * already outside or already in the survivor's component, no JOIN of a node already in it.
 */
import { fromPromise } from 'xstate';
import { AppError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { parseClusterStatuses, parseCount, parseShowLocks, type ClusterStatus } from '../../manticore/parse.js';
import { alterClusterUpdateNodes, deleteCluster, joinCluster, selectCount, setClusterBootstrap, showLocks, showStatus } from '../../manticore/sql.js';
import type { NodeRef } from '../../platform/types.js';
import type { SqlRunner } from '../cluster-formation/cluster-formation.actors.js';
import type { RepairEffectInput, RepairEffectResult, RepairNodesInput, VerifyResult } from './split-brain-repair.machine.js';

export interface RepairDeps {
  /** the node of that name in the platform's current list */
  node(name: string): NodeRef | undefined;
  sql(node: NodeRef): SqlRunner;
  logger: Logger;
  /** Galera options given on JOIN (e.g. 'gmcast.listen_addr=tcp://127.0.0.1') */
  clusterOptions?: string;
  /** how long one JOIN may take until the joiner is synced (default 120 s) */
  joinTimeoutMs?: number;
  /** poll interval of waits inside an effect (default 250 ms) */
  pollMs?: number;
  /** how long the row check may take to read every node at a position the survivor was read at (default 15 s) */
  verifyTimeoutMs?: number;
  /** pause between the row check's sampling rounds (default 20 ms: short, so positions coincide under writes) */
  verifySampleMs?: number;
}

/** Default pause between two sampling rounds of the row check. */
const VERIFY_SAMPLE_MS = 20;

function ref(deps: RepairDeps, name: string): NodeRef {
  const n = deps.node(name);
  if (!n) throw new AppError('NODE_NOT_LISTED', `node ${name} is not in the platform's node list`, { retryable: true, details: { node: name } });
  return n;
}

async function statusOf(deps: RepairDeps, node: NodeRef, cluster: string): Promise<ClusterStatus | undefined> {
  const rows = await deps.sql(node).query(showStatus('cluster%'), { timeoutMs: 5_000 });
  return parseClusterStatuses(rows).find((c) => c.name === cluster);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AppError('ABORTED', 'effect aborted'));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AppError('ABORTED', 'effect aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const synced = (s: ClusterStatus | undefined): boolean => s !== undefined && s.status === 'primary' && s.nodeState === 'synced';

/** The survivor's live status; throws unless it is primary + synced. */
async function survivorStatus(deps: RepairDeps, input: RepairEffectInput): Promise<{ node: NodeRef; status: ClusterStatus }> {
  const node = ref(deps, input.survivor);
  const status = await statusOf(deps, node, input.clusterName);
  if (status === undefined || !synced(status)) {
    const seen = status === undefined ? 'no cluster' : `${status.status}/${status.nodeState}`;
    throw new AppError('SURVIVOR_NOT_SYNCED', `survivor ${input.survivor} is not primary and synced (${seen})`, { retryable: true });
  }
  return { node, status };
}

/** The node is in the survivor's component: same uuid and each in the other's view. */
function inSurvivor(s: ClusterStatus, survivor: NodeRef, st: ClusterStatus | undefined, node: NodeRef): boolean {
  return st !== undefined && st.stateUuid === s.stateUuid && s.nodesView.includes(node.apiAddress) && st.nodesView.includes(survivor.apiAddress);
}

/** SET CLUSTER ... 'pc.bootstrap' = 1 on the survivor (only there), unless it is primary already. */
export async function applyBootstrapSurvivor(deps: RepairDeps, input: RepairEffectInput): Promise<RepairEffectResult> {
  const node = ref(deps, input.survivor);
  const st = await statusOf(deps, node, input.clusterName);
  if (!st) throw new AppError('NOT_A_MEMBER', `survivor ${input.survivor} is not a member of '${input.clusterName}': pc.bootstrap is impossible`, { details: { node: input.survivor } });
  if (st.status === 'primary') return { changed: [], skipped: [input.survivor] };
  await deps.sql(node).exec(setClusterBootstrap(input.clusterName));
  deps.logger.warn('pc.bootstrap set on the repair survivor', { operationId: input.operationId, node: input.survivor });
  return { changed: [input.survivor], skipped: [] };
}

/**
 * DELETE CLUSTER on each loser that is a member of a primary component other than the survivor's.
 * DELETE CLUSTER dissolves the whole component it runs in (every member keeps its tables as local
 * ones), which is what a losing side needs: every member of it rejoins the survivor. A non-primary
 * loser cannot run cluster DDL; it is left to merge into the survivor by itself (Galera admits a
 * non-primary member into the primary component once they reach each other).
 */
export async function applyDetachLosers(deps: RepairDeps, input: RepairNodesInput): Promise<RepairEffectResult> {
  const { node: survivor, status: s } = await survivorStatus(deps, input);
  const changed: string[] = [];
  const skipped: string[] = [];
  for (const name of input.nodes) {
    const node = ref(deps, name);
    const st = await statusOf(deps, node, input.clusterName);
    if (st === undefined || inSurvivor(s, survivor, st, node) || st.status !== 'primary') {
      skipped.push(name);
      continue;
    }
    deps.logger.warn('repair: dissolving the losing component', { operationId: input.operationId, node: name, uuid: st.stateUuid, view: st.nodesView.join(',') });
    await deps.sql(node).exec(deleteCluster(input.clusterName));
    changed.push(name);
  }
  return { changed, skipped };
}

/**
 * JOIN CLUSTER ... AT <survivor> for each loser outside the cluster, one at a time, each followed by a
 * wait until it is synced (its copies of the clustered tables are replaced by SST). Guards: the
 * survivor is primary + synced and has no frozen table (a joiner would miss rows written since the
 * freeze). A loser still in another primary component is an error (detach again).
 */
export async function applyRejoinLosers(deps: RepairDeps, input: RepairNodesInput, signal?: AbortSignal): Promise<RepairEffectResult> {
  const changed: string[] = [];
  const skipped: string[] = [];
  for (const name of input.nodes) {
    const { node: survivor, status: s } = await survivorStatus(deps, input);
    const node = ref(deps, name);
    const st = await statusOf(deps, node, input.clusterName);
    if (st !== undefined) {
      if (inSurvivor(s, survivor, st, node) || st.status !== 'primary') {
        skipped.push(name);
        continue;
      }
      throw new AppError('STILL_IN_OTHER_COMPONENT', `${name} is still a member of another primary component (uuid ${st.stateUuid ?? '?'}): detaching it again`, { retryable: true });
    }
    const frozen = parseShowLocks(await deps.sql(survivor).query(showLocks()));
    if (frozen.length > 0) {
      throw new AppError('DONOR_FROZEN', `tables ${frozen.map((l) => l.name).join(', ')} are frozen on survivor ${input.survivor}: a joiner would miss rows written since the freeze`, { retryable: true });
    }
    deps.logger.info('repair: joining node to the survivor', { operationId: input.operationId, node: name, survivor: input.survivor });
    try {
      await deps.sql(node).exec(joinCluster(input.clusterName, { at: survivor.apiAddress }, deps.clusterOptions ? { options: deps.clusterOptions } : {}), { timeoutMs: 60_000 });
    } catch (err) {
      // a JOIN that timed out on our side may still have happened: the status check below decides
      const again = await statusOf(deps, node, input.clusterName).catch(() => undefined);
      if (again === undefined) throw err;
    }
    const limit = Date.now() + (deps.joinTimeoutMs ?? 120_000);
    for (;;) {
      const now = await statusOf(deps, node, input.clusterName).catch(() => undefined);
      if (synced(now)) break;
      if (Date.now() > limit) throw new AppError('JOIN_TIMEOUT', `${name} did not become primary + synced after JOIN`, { retryable: true, details: { node: name } });
      await sleep(deps.pollMs ?? 250, signal);
    }
    deps.logger.info('repair: node rejoined the survivor', { operationId: input.operationId, node: name });
    changed.push(name);
  }
  return { changed, skipped };
}

/** One node's count of one table, read while its replication position stayed at `seqno`. */
interface PositionedCount {
  seqno: number;
  rows: number;
}

/** What one node answered in one sampling round: a positioned count per table, or why not. */
interface NodeSampling {
  counts: Map<string, PositionedCount>;
  problem?: string;
}

/** Readings kept per node and table (older ones are dropped first). */
const VERIFY_HISTORY_LIMIT = 2_000;

const positionOf = (s: ClusterStatus | undefined): number | undefined => s?.lastCommitted ?? s?.seqno;

/**
 * Reads one node's count of each table together with its position: for each table, its cluster
 * status, the count and its status again are sent at once (on separate connections of the node's
 * pool), so they run within a moment of each other rather than a round trip apart each, and the count
 * is kept only when both statuses show the same `last_committed` (and the node is in the survivor's
 * history: same state uuid, in sync). A reading whose position moved is dropped; the next round tries
 * again. Sent one after another, the three would span two round trips, which under steady writes
 * almost never pass without a commit.
 */
async function sampleCounts(deps: RepairDeps, node: NodeRef, cluster: string, uuid: string | undefined, tables: readonly string[]): Promise<NodeSampling> {
  const counts = new Map<string, PositionedCount>();
  const usable = (s: ClusterStatus | undefined): string | undefined => {
    if (s === undefined) return 'not in the cluster';
    if (s.stateUuid !== uuid) return `in another history (uuid ${s.stateUuid ?? '?'}, survivor ${uuid ?? '?'})`;
    if (s.localStateUuid !== undefined && s.localStateUuid !== s.stateUuid) return `not in sync (local uuid ${s.localStateUuid})`;
    if (positionOf(s) === undefined) return 'no last_committed';
    return undefined;
  };
  try {
    for (const table of tables) {
      const [before, rows, after] = await Promise.all([
        statusOf(deps, node, cluster),
        deps.sql(node).query(selectCount(table)).then(parseCount),
        statusOf(deps, node, cluster),
      ]);
      const problem = usable(before) ?? usable(after);
      if (problem !== undefined) return { counts, problem };
      const seqno = positionOf(before);
      if (rows !== undefined && seqno !== undefined && seqno === positionOf(after)) counts.set(table, { seqno, rows });
    }
    return { counts };
  } catch (err) {
    return { counts, problem: errorMessage(err) };
  }
}

/** How one node's table compares with the survivor's at their highest common position. */
type Comparison = { state: 'agrees' | 'differs'; seqno: number; rows: number; want: number } | { state: 'pending'; detail: string };

function compareAtCommonPosition(survivor: Map<number, number> | undefined, node: Map<number, number> | undefined): Comparison {
  let best: number | undefined;
  for (const seqno of node?.keys() ?? []) if (survivor?.has(seqno) && (best === undefined || seqno > best)) best = seqno;
  if (best === undefined || survivor === undefined || node === undefined) {
    const span = (m: Map<number, number> | undefined) => (m && m.size > 0 ? `${Math.min(...m.keys())}-${Math.max(...m.keys())}` : 'none');
    return { state: 'pending', detail: `no reading at a position the survivor was read at yet (seqnos read: ${span(node)}, survivor's: ${span(survivor)})` };
  }
  const rows = node.get(best) ?? -1;
  const want = survivor.get(best) ?? -1;
  return { state: rows === want ? 'agrees' : 'differs', seqno: best, rows, want };
}

/**
 * Rows of every table in the survivor's cluster on every node equal the survivor's, compared at one
 * replication position. Galera applies every write-set on every member in the same total order
 * (seqno), so two members of one history that have committed up to the same `last_committed` hold
 * the same rows, however fast an application keeps writing: counts read one node after another
 * never match while rows arrive, counts read at the same position must. So every node (the survivor
 * too) is sampled in parallel, each count read with the node's `last_committed` (sampleCounts: kept
 * only when the position did not move meanwhile), the readings are kept per position, and a node's
 * table is accepted when its count equals the survivor's at the highest position both were read at
 * (a later common position overrides an earlier one, so one misread reading cannot decide for good). A node that really lacks rows (e.g. an SST
 * from a frozen donor) differs at every common position and fails the step after the verify timeout
 * with the counts and the position; a node never read at a position in common is reported as such.
 */
export async function applyVerifyRows(deps: RepairDeps, input: RepairNodesInput, signal?: AbortSignal): Promise<VerifyResult> {
  const limit = Date.now() + (deps.verifyTimeoutMs ?? 15_000);
  const others = input.nodes.filter((n) => n !== input.survivor);
  /** table → node → seqno → rows */
  const history = new Map<string, Map<string, Map<number, number>>>();
  const remember = (table: string, node: string, c: PositionedCount) => {
    let byNode = history.get(table);
    if (!byNode) history.set(table, (byNode = new Map()));
    let bySeqno = byNode.get(node);
    if (!bySeqno) byNode.set(node, (bySeqno = new Map()));
    bySeqno.set(c.seqno, c.rows);
    if (bySeqno.size > VERIFY_HISTORY_LIMIT) bySeqno.delete(bySeqno.keys().next().value as number);
  };
  let historyUuid: string | undefined;
  let rounds = 0;
  for (;;) {
    rounds++;
    const { status: s } = await survivorStatus(deps, input);
    // positions compare only within one history
    if (s.stateUuid !== historyUuid) {
      history.clear();
      historyUuid = s.stateUuid;
    }
    const tables = s.indexes;
    const names = [input.survivor, ...others];
    const samplings = await Promise.all(names.map((name) => sampleCounts(deps, ref(deps, name), input.clusterName, s.stateUuid, tables)));
    const problems = new Map<string, string>();
    names.forEach((name, i) => {
      const sampling = samplings[i];
      if (!sampling) return;
      for (const [table, c] of sampling.counts) remember(table, name, c);
      if (sampling.problem !== undefined) problems.set(name, sampling.problem);
    });
    const rows: Record<string, number> = {};
    const positions: Record<string, number> = {};
    const differ: string[] = [];
    const pending: string[] = [];
    const why = (name: string) => {
      const problem = problems.get(name);
      return problem !== undefined ? `; last problem: ${problem}` : '';
    };
    for (const table of tables) {
      const byNode = history.get(table);
      const mine = byNode?.get(input.survivor);
      if (others.length === 0) {
        // a lone survivor: nothing to compare with, its own count at a stable position
        const last = mine && mine.size > 0 ? Math.max(...mine.keys()) : undefined;
        if (last === undefined) pending.push(`${input.survivor} ${table}: not read at a stable position yet${why(input.survivor)}`);
        else {
          positions[table] = last;
          rows[table] = mine?.get(last) ?? 0;
        }
        continue;
      }
      for (const name of others) {
        const cmp = compareAtCommonPosition(mine, byNode?.get(name));
        if (cmp.state === 'pending') {
          pending.push(`${name} ${table}: ${cmp.detail}${why(name) || why(input.survivor)}`);
        } else if (cmp.state === 'differs') {
          differ.push(`${name} ${table}=${cmp.rows} at seqno ${cmp.seqno} where ${input.survivor} has ${cmp.want}`);
        } else if (cmp.seqno >= (positions[table] ?? -1)) {
          positions[table] = cmp.seqno;
          rows[table] = cmp.want;
        }
      }
    }
    if (differ.length === 0 && pending.length === 0) {
      deps.logger.info('repair: rows verified at one replication position', { operationId: input.operationId, survivor: input.survivor, rows, positions, rounds });
      return { rows, positions };
    }
    if (Date.now() > limit) {
      if (differ.length > 0) {
        throw new AppError('ROWS_DIFFER', `rows differ from survivor ${input.survivor} at the same replication position: ${[...differ, ...pending].join(', ')}`, { retryable: true });
      }
      throw new AppError('ROWS_UNVERIFIED', `rows not compared with survivor ${input.survivor} at a common replication position within ${deps.verifyTimeoutMs ?? 15_000} ms: ${pending.join(', ')}`, { retryable: true });
    }
    await sleep(deps.verifySampleMs ?? VERIFY_SAMPLE_MS, signal);
  }
}

/** ALTER CLUSTER ... UPDATE nodes on the survivor, unless nodes_set already equals nodes_view. */
export async function applyUpdateSurvivorNodes(deps: RepairDeps, input: RepairEffectInput): Promise<RepairEffectResult> {
  const { node, status } = await survivorStatus(deps, input);
  const set = [...status.nodesSet].sort().join(',');
  const view = [...status.nodesView].sort().join(',');
  if (set === view && set !== '') return { changed: [], skipped: [input.survivor] };
  await deps.sql(node).exec(alterClusterUpdateNodes(input.clusterName));
  return { changed: [input.survivor], skipped: [] };
}

/** The machine's actors bound to deps (pass to splitBrainRepairMachine.provide({ actors })). */
export function createSplitBrainRepairActors(deps: RepairDeps) {
  return {
    bootstrapSurvivor: fromPromise<RepairEffectResult, RepairEffectInput>(({ input }) => applyBootstrapSurvivor(deps, input)),
    detachLosers: fromPromise<RepairEffectResult, RepairNodesInput>(({ input }) => applyDetachLosers(deps, input)),
    rejoinLosers: fromPromise<RepairEffectResult, RepairNodesInput>(({ input, signal }) => applyRejoinLosers(deps, input, signal)),
    verifyRows: fromPromise<VerifyResult, RepairNodesInput>(({ input, signal }) => applyVerifyRows(deps, input, signal)),
    updateNodes: fromPromise<RepairEffectResult, RepairEffectInput>(({ input }) => applyUpdateSurvivorNodes(deps, input)),
  };
}
