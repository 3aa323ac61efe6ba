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
  /** how long the row check waits for counts to agree (writes in flight; default 15 s) */
  verifyTimeoutMs?: number;
}

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

/**
 * Rows of every table in the survivor's cluster on every node equal the survivor's count. Counts are
 * read survivor first, then every node, until two rounds agree (writes may be in flight) or the
 * verify timeout passes.
 */
export async function applyVerifyRows(deps: RepairDeps, input: RepairNodesInput, signal?: AbortSignal): Promise<VerifyResult> {
  const limit = Date.now() + (deps.verifyTimeoutMs ?? 15_000);
  for (;;) {
    const { node: survivor, status: s } = await survivorStatus(deps, input);
    const rows: Record<string, number> = {};
    const mismatches: string[] = [];
    for (const table of s.indexes) {
      const want = parseCount(await deps.sql(survivor).query(selectCount(table)));
      if (want === undefined) throw new AppError('COUNT_FAILED', `no row count of ${table} on ${input.survivor}`, { retryable: true });
      rows[table] = want;
      for (const name of input.nodes) {
        if (name === input.survivor) continue;
        const node = ref(deps, name);
        let got: string;
        try {
          got = String(parseCount(await deps.sql(node).query(selectCount(table))) ?? '?');
        } catch (err) {
          got = `? (${errorMessage(err)})`;
        }
        if (got !== String(want)) mismatches.push(`${name} ${table}=${got}`);
      }
    }
    if (mismatches.length === 0) return { rows };
    const last = `rows differ from survivor ${input.survivor} (${Object.entries(rows).map(([t, n]) => `${t}=${n}`).join(' ')}): ${mismatches.join(', ')}`;
    if (Date.now() > limit) throw new AppError('ROWS_DIFFER', last, { retryable: true });
    await sleep(deps.pollMs ?? 250, signal);
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
