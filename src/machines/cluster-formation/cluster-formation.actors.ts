/**
 * The effects of the cluster-formation machine: named promise actors, each keyed by operation id +
 * node and safe to repeat (a restored snapshot re-runs the active one). Every actor checks the
 * world before acting: no CREATE when the node already has the cluster, no JOIN when it is already
 * a member, no start decision when searchd already runs, no pc.bootstrap on a primary.
 */
import { fromPromise } from 'xstate';
import type { NodeDiskState, StartDecision } from '../../agent/protocol.js';
import { AppError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { Row } from '../../manticore/parse.js';
import { parseClusterStatuses, parseShowLocks } from '../../manticore/parse.js';
import type { ClusterStatus } from '../../manticore/parse.js';
import { alterClusterUpdateNodes, createCluster, joinCluster, setClusterBootstrap, showLocks, showStatus } from '../../manticore/sql.js';
import type { NodeRef } from '../../platform/types.js';
import type {
  EffectResult,
  JoinNodesInput,
  NodeEffectInput,
  NodesEffectInput,
  StartDecisionInput,
} from './cluster-formation.machine.js';

/** What the actors need of a node's agent (the real AgentClient satisfies it). */
export interface StartGateAgent {
  /** GET /v1/state */
  state(options?: { signal?: AbortSignal }): Promise<NodeDiskState>;
  /** PUT /v1/start */
  decideStart(decision: StartDecision, options?: { signal?: AbortSignal }): Promise<unknown>;
}

/** What the actors need of a SQL client (ManticoreClient satisfies it). */
export interface SqlRunner {
  query(sql: string, options?: { timeoutMs?: number }): Promise<Row[]>;
  exec(sql: string, options?: { timeoutMs?: number }): Promise<number>;
}

export interface ClusterFormationDeps {
  /** the node of that name in the platform's current list */
  node(name: string): NodeRef | undefined;
  sql(node: NodeRef): SqlRunner;
  agent(node: NodeRef): StartGateAgent;
  /** Galera options given on CREATE and JOIN (e.g. 'gmcast.listen_addr=tcp://127.0.0.1') */
  clusterOptions?: string;
  logger: Logger;
  /** how long one JOIN may take until the joiner is synced (default 120 s) */
  joinTimeoutMs?: number;
  /** poll interval of waits inside an effect (default 250 ms) */
  pollMs?: number;
  /** timeout of one JOIN statement (default 60 s) */
  statementTimeoutMs?: number;
}

/** The idempotency key of an effect on a node. */
export function effectKey(operationId: string, node: string, what: string): string {
  return `${operationId}:${node}:${what}`;
}

function ref(deps: ClusterFormationDeps, name: string): NodeRef {
  const n = deps.node(name);
  if (!n) throw new AppError('NODE_NOT_LISTED', `node ${name} is not in the platform's node list`, { retryable: true, details: { node: name } });
  return n;
}

/** The node's view of the cluster, undefined when it is not a member; throws when searchd does not answer. */
export async function readClusterStatus(deps: ClusterFormationDeps, node: NodeRef, cluster: string): Promise<ClusterStatus | undefined> {
  const rows = await deps.sql(node).query(showStatus('cluster%'), { timeoutMs: 5_000 });
  return parseClusterStatuses(rows).find((c) => c.name === cluster);
}

async function tryClusterStatus(deps: ClusterFormationDeps, node: NodeRef, cluster: string): Promise<{ ok: true; status?: ClusterStatus } | { ok: false; error: string }> {
  try {
    return { ok: true, status: await readClusterStatus(deps, node, cluster) };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new AppError('ABORTED', 'effect aborted'));
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AppError('ABORTED', 'effect aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const synced = (s: ClusterStatus | undefined) => s !== undefined && s.status === 'primary' && s.nodeState === 'synced';

/** CREATE CLUSTER on one node, unless it already has the cluster. */
export async function applyCreateCluster(deps: ClusterFormationDeps, input: NodeEffectInput): Promise<EffectResult> {
  const node = ref(deps, input.node);
  const key = effectKey(input.operationId, input.node, 'create');
  const before = await readClusterStatus(deps, node, input.clusterName);
  if (before) {
    deps.logger.info('create cluster skipped: node already has the cluster', { operationId: input.operationId, node: input.node, effectKey: key, status: before.status });
    return { changed: [], skipped: [input.node] };
  }
  const sql = createCluster(input.clusterName, deps.clusterOptions ? { options: deps.clusterOptions } : {});
  try {
    await deps.sql(node).exec(sql, { timeoutMs: deps.statementTimeoutMs ?? 60_000 });
  } catch (err) {
    if (/already exists/i.test(errorMessage(err))) return { changed: [], skipped: [input.node] };
    throw err;
  }
  deps.logger.info('cluster created', { operationId: input.operationId, node: input.node, effectKey: key });
  return { changed: [input.node], skipped: [] };
}

/** PUT a start decision on a node's gate, unless searchd already runs or the same decision is in place. */
export async function applyStartDecision(
  deps: ClusterFormationDeps,
  input: StartDecisionInput,
  signal?: AbortSignal,
): Promise<EffectResult> {
  const node = ref(deps, input.node);
  const agent = deps.agent(node);
  const decisionId = effectKey(input.operationId, input.node, input.mode);
  const state = await agent.state({ signal });
  if (state.searchd.running) return { changed: [], skipped: [input.node] };
  if (state.gate.decisionId === decisionId && state.gate.mode === input.mode) return { changed: [], skipped: [input.node] };
  await agent.decideStart({ mode: input.mode, reason: input.reason, decisionId }, { signal });
  deps.logger.info('start decision given', { operationId: input.operationId, node: input.node, mode: input.mode, decisionId });
  return { changed: [input.node], skipped: [] };
}

/** SET CLUSTER ... 'pc.bootstrap' = 1 on a non-primary member (skipped when it is primary already). */
export async function applyPcBootstrap(deps: ClusterFormationDeps, input: NodeEffectInput): Promise<EffectResult> {
  const node = ref(deps, input.node);
  const st = await readClusterStatus(deps, node, input.clusterName);
  if (!st) throw new AppError('NOT_A_MEMBER', `${input.node} is not a member of '${input.clusterName}': pc.bootstrap is impossible`, { details: { node: input.node } });
  if (st.status === 'primary') return { changed: [], skipped: [input.node] };
  await deps.sql(node).exec(setClusterBootstrap(input.clusterName));
  deps.logger.warn('pc.bootstrap set', { operationId: input.operationId, node: input.node, effectKey: effectKey(input.operationId, input.node, 'pc-bootstrap') });
  return { changed: [input.node], skipped: [] };
}

/** PUT `normal` on every listed node holding at the gate (the others are skipped). */
export async function applyReleaseNodes(deps: ClusterFormationDeps, input: NodesEffectInput, signal?: AbortSignal): Promise<EffectResult> {
  const changed: string[] = [];
  const skipped: string[] = [];
  for (const name of input.nodes) {
    const node = deps.node(name);
    if (!node) {
      skipped.push(name);
      continue;
    }
    let state: NodeDiskState;
    try {
      state = await deps.agent(node).state({ signal });
    } catch (err) {
      deps.logger.warn('release skipped: agent does not answer', { operationId: input.operationId, node: name, err: errorMessage(err) });
      skipped.push(name);
      continue;
    }
    // only a start script waiting at the gate gets a decision: one nobody asked for would outlive a stop
    if (state.searchd.running || state.gate.mode !== 'hold' || state.gate.holdingSince === undefined) {
      skipped.push(name);
      continue;
    }
    const decisionId = effectKey(input.operationId, name, 'normal');
    await deps.agent(node).decideStart({ mode: 'normal', reason: input.reason, decisionId }, { signal });
    deps.logger.info('held node released', { operationId: input.operationId, node: name, decisionId });
    changed.push(name);
  }
  return { changed, skipped };
}

/**
 * JOIN the listed nodes to the cluster through the donor, one at a time, each followed by a wait
 * until it is synced. Skips members and nodes whose searchd does not answer (the machine comes back
 * when they do). Guards: the donor is primary + synced and has no frozen table.
 */
export async function applyJoinNodes(deps: ClusterFormationDeps, input: JoinNodesInput, signal: AbortSignal): Promise<EffectResult> {
  const donor = ref(deps, input.donor);
  const changed: string[] = [];
  const skipped: string[] = [];
  for (const name of input.nodes) {
    const node = deps.node(name);
    if (!node) {
      skipped.push(name);
      continue;
    }
    const before = await tryClusterStatus(deps, node, input.clusterName);
    if (!before.ok || before.status) {
      skipped.push(name);
      continue;
    }
    const donorStatus = await readClusterStatus(deps, donor, input.clusterName);
    if (!synced(donorStatus)) {
      throw new AppError('DONOR_NOT_SYNCED', `donor ${input.donor} is not primary and synced (${donorStatus?.status ?? 'no cluster'}/${donorStatus?.nodeState ?? '-'})`, { retryable: true });
    }
    const frozen = parseShowLocks(await deps.sql(donor).query(showLocks()));
    if (frozen.length > 0) {
      throw new AppError('DONOR_FROZEN', `tables ${frozen.map((l) => l.name).join(', ')} are frozen on donor ${input.donor}: a joiner would miss rows written since the freeze`, {
        retryable: true,
      });
    }
    const key = effectKey(input.operationId, name, 'join');
    const sql = joinCluster(input.clusterName, { at: donor.apiAddress }, deps.clusterOptions ? { options: deps.clusterOptions } : {});
    deps.logger.info('joining node', { operationId: input.operationId, node: name, donor: input.donor, effectKey: key });
    try {
      await deps.sql(node).exec(sql, { timeoutMs: deps.statementTimeoutMs ?? 60_000 });
    } catch (err) {
      // a JOIN that timed out on our side may still have happened: the status check below decides
      const again = await tryClusterStatus(deps, node, input.clusterName);
      if (!(again.ok && again.status)) throw err;
    }
    const limit = Date.now() + (deps.joinTimeoutMs ?? 120_000);
    for (;;) {
      const st = await tryClusterStatus(deps, node, input.clusterName);
      if (st.ok && synced(st.status)) break;
      if (Date.now() > limit) throw new AppError('JOIN_TIMEOUT', `${name} did not become primary + synced after JOIN`, { retryable: true, details: { node: name } });
      await sleep(deps.pollMs ?? 250, signal);
    }
    deps.logger.info('node joined', { operationId: input.operationId, node: name, effectKey: key });
    changed.push(name);
  }
  return { changed, skipped };
}

/** ALTER CLUSTER ... UPDATE nodes on a member, unless nodes_set already equals nodes_view; never while a node is joining or donating. */
export async function applyUpdateNodes(deps: ClusterFormationDeps, input: NodeEffectInput): Promise<EffectResult> {
  const node = ref(deps, input.node);
  const st = await readClusterStatus(deps, node, input.clusterName);
  if (!st) throw new AppError('NOT_A_MEMBER', `${input.node} is not a member of '${input.clusterName}'`, { retryable: true });
  if (st.nodeState === 'joining' || st.nodeState === 'donor') {
    throw new AppError('STATE_TRANSFER_RUNNING', `${input.node} is ${st.nodeState}: no cluster DDL during a state transfer`, { retryable: true });
  }
  const set = [...st.nodesSet].sort().join(',');
  const view = [...st.nodesView].sort().join(',');
  if (set === view && set !== '') return { changed: [], skipped: [input.node] };
  await deps.sql(node).exec(alterClusterUpdateNodes(input.clusterName));
  deps.logger.info('nodes_set updated', { operationId: input.operationId, node: input.node, nodesView: view });
  return { changed: [input.node], skipped: [] };
}

/** The machine's actors bound to deps (pass to clusterFormationMachine.provide({ actors })). */
export function createClusterFormationActors(deps: ClusterFormationDeps) {
  return {
    createCluster: fromPromise<EffectResult, NodeEffectInput>(({ input }) => applyCreateCluster(deps, input)),
    putStartDecision: fromPromise<EffectResult, StartDecisionInput>(({ input, signal }) => applyStartDecision(deps, input, signal)),
    pcBootstrap: fromPromise<EffectResult, NodeEffectInput>(({ input }) => applyPcBootstrap(deps, input)),
    releaseNodes: fromPromise<EffectResult, NodesEffectInput>(({ input, signal }) => applyReleaseNodes(deps, input, signal)),
    joinNodes: fromPromise<EffectResult, JoinNodesInput>(({ input, signal }) => applyJoinNodes(deps, input, signal)),
    updateNodes: fromPromise<EffectResult, NodeEffectInput>(({ input }) => applyUpdateNodes(deps, input)),
  };
}
