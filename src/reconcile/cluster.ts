/**
 * `reconcileCluster`: one pass for the key `cluster/<name>` (DESIGN.md sections 3-5).
 *
 *   1. record each live member's last_committed (the fallback position after a full crash);
 *   2. a running (or persisted) formation machine gets the pass's observations as an `observed`
 *      event; when it finishes, its operation record is closed and its snapshot removed;
 *   3. otherwise decide (cluster-decide.ts) and act: start the machine for create / join /
 *      recovery / forced bootstrap, release held nodes with a plain start when a primary runs,
 *      or `ALTER CLUSTER ... UPDATE nodes` when nodes_set lags behind the membership;
 *   4. write the cluster view and its conditions (ClusterFormed, Ready, Degraded, SplitBrain,
 *      RecoveryPending) through the StatusWriter;
 *   5. return when to come back.
 *
 * The caller (src/reconcile/controller.ts) observes the nodes (observeCluster) and passes the
 * observations in; it must call this for one key at a time (the work queue guarantees it).
 */
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { perObject } from '../lib/memo.js';
import type { ClusterObservation } from '../observe/types.js';
import type { NodeRef } from '../platform/types.js';
import type { ConditionInput, NodeStatusView, OperationRecord, OperationStep, StatusReader, StatusWriter } from '../status/types.js';
import {
  applyStartDecision,
  applyUpdateNodes,
  createClusterFormationActors,
  type ClusterFormationDeps,
  type SqlRunner,
  type StartGateAgent,
} from '../machines/cluster-formation/cluster-formation.actors.js';
import {
  CLUSTER_FORMATION_MACHINE,
  CLUSTER_FORMATION_VERSION,
  clusterFormationMachine,
  FORMATION_STEPS,
  type FormationContext,
  type FormationInput,
  type FormationKind,
  type ObservedNode,
} from '../machines/cluster-formation/cluster-formation.machine.js';
import type { MachineDefinition, MachineRuntime, RunningMachine } from '../machines/runtime/machine-runtime.js';
import {
  clusterFacts,
  decideClusterConditions,
  decideFormation,
  decidePhase,
  isSynced,
  type FormationDecision,
  type ForcedBootstrapRequest,
  type NodeFacts,
} from './cluster-decide.js';

/** Default budget of one formation / recovery operation. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 10 * 60_000;
/** Requeue delays. */
export const REQUEUE_ACTIVE_MS = 1_000;
export const REQUEUE_WAITING_MS = 2_000;
export const REQUEUE_STEADY_MS = 10_000;

/**
 * What one pass needs. Build it once per pass (observations change) around long-lived parts
 * (pools, agents, status store, runtime).
 */
export interface ClusterReconcileContext {
  clusterName: string;
  /** every node the platform lists, observed this pass (observeCluster) */
  observations: ClusterObservation;
  /** SQL clients by `host:port` of the MySQL listener (ManticorePools satisfies it) */
  pools: { get(address: string): SqlRunner };
  /** the agent of a node (AgentClient satisfies StartGateAgent: state() and decideStart()) */
  agentFor(node: NodeRef): StartGateAgent;
  status: StatusReader & StatusWriter;
  /** persisted machines under `<data-dir>/machines/` (one MachineRuntime per controller) */
  runtime: MachineRuntime;
  logger: Logger;
  now(): number;
  /** Galera options for CREATE/JOIN, e.g. 'gmcast.listen_addr=tcp://127.0.0.1' on loopback */
  clusterOptions?: string;
  operationTimeoutMs?: number;
  /** waits inside one JOIN effect */
  joinTimeoutMs?: number;
  pollMs?: number;
  /** for tests: operation ids */
  newId?: () => string;
  reconcileId?: string;
  /** another operation owns the cluster (a split-brain repair, src/reconcile/repair.ts): decide and report, do not act */
  heldBy?: { id: string; kind: string; step: string };
  /** the SplitBrain condition as the repair module states it (guard, policy, repair running) */
  splitBrainCondition?: ConditionInput;
}

export interface ClusterReconcileResult {
  requeueAfterMs: number;
  /** a primary component runs */
  formed: boolean;
  /** every node primary + synced with one uuid */
  ready: boolean;
  decision: FormationDecision;
  /** the running operation, if any */
  operationId?: string;
}

export function clusterKey(clusterName: string): string {
  return `cluster/${clusterName}`;
}

/** Live node list of each runtime+key, read by the bound actors (the list changes between passes). */
const liveNodes = new WeakMap<MachineRuntime, Map<string, NodeRef[]>>();

function nodesHolder(runtime: MachineRuntime, key: string): { get(): NodeRef[]; set(nodes: NodeRef[]): void } {
  let m = liveNodes.get(runtime);
  if (!m) {
    m = new Map();
    liveNodes.set(runtime, m);
  }
  const map = m;
  return { get: () => map.get(key) ?? [], set: (nodes) => map.set(key, nodes) };
}

function formationDeps(ctx: ClusterReconcileContext, key: string): ClusterFormationDeps {
  const holder = nodesHolder(ctx.runtime, key);
  return {
    node: (name) => holder.get().find((n) => n.name === name),
    sql: (node) => ctx.pools.get(`${node.mysql.host}:${node.mysql.port}`),
    agent: (node) => ctx.agentFor(node),
    logger: ctx.logger,
    ...(ctx.clusterOptions !== undefined ? { clusterOptions: ctx.clusterOptions } : {}),
    ...(ctx.joinTimeoutMs !== undefined ? { joinTimeoutMs: ctx.joinTimeoutMs } : {}),
    ...(ctx.pollMs !== undefined ? { pollMs: ctx.pollMs } : {}),
  };
}

/** The machine bound to this context's effects, with its persisted name and version. */
export function clusterFormationDefinition(deps: ClusterFormationDeps): MachineDefinition<typeof clusterFormationMachine> {
  return {
    name: CLUSTER_FORMATION_MACHINE,
    version: CLUSTER_FORMATION_VERSION,
    machine: clusterFormationMachine.provide({ actors: createClusterFormationActors(deps) }),
  };
}

type FormationActorEntry = RunningMachine<typeof clusterFormationMachine>;

function stateName(entry: FormationActorEntry): string {
  const v = entry.actor.getSnapshot().value;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The node a forced-bootstrap request names (OperationRecord.target). */
export function forcedBootstrapNode(op: OperationRecord): string | undefined {
  return op.target;
}

/** The operation record of a forced bootstrap request (what RequestSink.requestBootstrap stores). */
export function forcedBootstrapRequest(input: { clusterName: string; node: string; requestedBy: string; now: number; id?: string }): OperationRecord {
  const at = new Date(input.now).toISOString();
  return {
    id: input.id ?? `forced-bootstrap-${randomUUID().slice(0, 8)}`,
    kind: 'forced-bootstrap',
    key: clusterKey(input.clusterName),
    target: input.node,
    requestedBy: input.requestedBy,
    requestedAt: at,
    state: 'pending',
    steps: [{ name: 'requested', state: 'succeeded', startedAt: at, finishedAt: at, message: `bootstrap '${input.clusterName}' from ${input.node}; its data wins` }],
  };
}

function pendingForced(ctx: ClusterReconcileContext, key: string): { op: OperationRecord; request: ForcedBootstrapRequest } | undefined {
  const op = ctx.status
    .operations()
    .filter((o) => o.kind === 'forced-bootstrap' && o.state === 'pending' && (o.key === key || o.key === '') && forcedBootstrapNode(o) !== undefined)
    .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt))[0];
  if (!op) return undefined;
  return { op, request: { operationId: op.id, node: forcedBootstrapNode(op) as string, requestedBy: op.requestedBy } };
}

function observedEvent(at: number, facts: readonly NodeFacts[]): { type: 'observed'; at: number; nodes: ObservedNode[] } {
  return {
    type: 'observed',
    at,
    nodes: facts.map((f) => ({
      name: f.name,
      role: f.role,
      primary: f.role === 'member' && f.status === 'primary',
      synced: isSynced(f),
      ...(f.uuid !== undefined ? { uuid: f.uuid } : {}),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// operation records

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function operationFromContext(c: FormationContext, requestedBy: string, requestedAt: string): OperationRecord {
  return {
    id: c.operationId,
    kind: c.kind,
    key: '',
    requestedBy,
    requestedAt,
    state: 'running',
    steps: [{ name: 'decide', state: 'succeeded', startedAt: iso(c.startedAt), finishedAt: iso(c.startedAt), message: c.reason }],
  };
}

/** Advances the operation record to the machine's current step; closes it when the machine is final. */
function syncOperation(ctx: ClusterReconcileContext, key: string, entry: FormationActorEntry): OperationRecord {
  const snap = entry.actor.getSnapshot();
  const c = snap.context;
  const existing = ctx.status.operation(c.operationId);
  const op: OperationRecord = existing ? structuredClone(existing) : operationFromContext(c, 'controller', iso(c.startedAt));
  op.key = key;
  if (op.target === undefined && c.kind === 'forced-bootstrap') op.target = c.source;
  const now = iso(ctx.now());
  const name = FORMATION_STEPS[stateName(entry)] ?? stateName(entry);
  const last: OperationStep | undefined = op.steps[op.steps.length - 1];
  const final = snap.status === 'done';
  if (!final) {
    if (!last || last.name !== name || last.state !== 'running') {
      if (last && last.state === 'running') {
        last.state = 'succeeded';
        last.finishedAt = now;
      }
      op.steps.push({ name, state: 'running', startedAt: now, ...(c.lastError ? { message: `retrying after: ${c.lastError}` } : {}) });
    } else if (c.lastError && last.message !== `retrying after: ${c.lastError}` && c.attempts > 0) {
      last.message = `retrying after: ${c.lastError}`;
    }
    op.state = 'running';
  } else {
    const value = stateName(entry);
    const ok = value === 'done';
    if (last && last.state === 'running') {
      last.state = ok ? 'succeeded' : value === 'cancelled' ? 'cancelled' : 'failed';
      last.finishedAt = now;
      if (!ok && c.lastError) last.message = c.lastError;
    }
    op.state = ok ? 'succeeded' : value === 'cancelled' ? 'cancelled' : 'failed';
    op.finishedAt = now;
    op.figures = { ...(op.figures ?? {}), durationMs: ctx.now() - c.startedAt, nodes: 1 + c.others.length };
    if (ok) op.outcome = `'${c.clusterName}' formed on ${c.source} with ${c.others.length === 0 ? 'no other node' : c.others.join(', ')}`;
    else op.error = c.lastError ?? value;
  }
  ctx.status.upsertOperation(op);
  return op;
}

function startOperation(
  ctx: ClusterReconcileContext,
  key: string,
  def: MachineDefinition<typeof clusterFormationMachine>,
  input: FormationInput,
  requested: { by: string; at?: string },
): FormationActorEntry {
  const at = iso(input.now);
  const base = ctx.status.operation(input.operationId);
  const op: OperationRecord = {
    ...(base ?? {}),
    id: input.operationId,
    kind: input.kind,
    key,
    requestedBy: requested.by,
    requestedAt: requested.at ?? at,
    state: 'running',
    steps: [...(base?.steps ?? []), { name: 'decide', state: 'succeeded', startedAt: at, finishedAt: at, message: input.reason }],
  };
  if (input.kind === 'forced-bootstrap') op.target = input.source;
  // the machine's snapshot is on disk before the record says "running": a controller killed in
  // between finds the machine (and writes the record from it) instead of an orphan running record
  const entry = ctx.runtime.start(key, def, input);
  ctx.status.upsertOperation(op);
  ctx.logger.info('cluster operation started', { key, operationId: input.operationId, kind: input.kind, source: input.source, mode: input.mode, reconcileId: ctx.reconcileId });
  return entry;
}

// ---------------------------------------------------------------------------------------------
// the pass

/** Table names of a SHOW TABLES list, once per list (a node's list is kept from pass to pass at rest). */
const tableNames = perObject((tables: readonly { name: string }[]): string[] => tables.map((t) => t.name));

function nodeViews(facts: readonly NodeFacts[], observations: ClusterObservation, recorded: Record<string, { seqno: number }>): NodeStatusView[] {
  return facts.map((f) => {
    const o = observations.find((x) => x.node.name === f.name);
    const searchd = o?.searchd.ok ? o.searchd.value : undefined;
    const view: NodeStatusView = {
      name: f.name,
      ordinal: f.ordinal,
      apiAddress: f.apiAddress,
      reachable: o?.searchd.ok === true,
      tables: searchd === undefined ? [] : tableNames(searchd.tables),
      observedAt: iso(o?.at ?? 0),
    };
    if (o && !o.searchd.ok) view.error = o.searchd.error;
    if (f.status !== undefined) view.clusterStatus = f.status;
    if (f.nodeState !== undefined) view.nodeState = f.nodeState;
    if (f.uuid !== undefined) view.clusterUuid = f.uuid;
    if (f.positionSource === 'live' && f.position !== undefined) view.seqno = f.position;
    const rec = recorded[f.name];
    if (rec) view.recordedSeqno = rec.seqno;
    if (f.grastate) {
      view.grastate = {
        ...(f.grastate.uuid !== undefined ? { uuid: f.grastate.uuid } : {}),
        ...(f.grastate.seqno !== undefined ? { seqno: f.grastate.seqno } : {}),
        ...(f.grastate.safeToBootstrap !== undefined ? { safeToBootstrap: f.grastate.safeToBootstrap } : {}),
      };
    }
    if (f.gate) view.gate = { mode: f.gate.mode, reason: f.gate.reason, ...(f.gate.holdingSince ? { holdingSince: f.gate.holdingSince } : {}) };
    return view;
  });
}

function recordSeqnos(ctx: ClusterReconcileContext, facts: readonly NodeFacts[]): void {
  for (const f of facts) {
    if (f.role !== 'member' || f.status !== 'primary' || f.uuid === undefined || f.positionSource !== 'live' || f.position === undefined) continue;
    const prev = ctx.status.recordedSeqnos()[f.name];
    if (prev && prev.uuid === f.uuid && prev.seqno === f.position) continue;
    ctx.status.recordSeqno(f.name, f.uuid, f.position);
  }
}

/** One pass for `cluster/<name>`. Never throws for node failures (they are data); returns when to come back. */
export async function reconcileCluster(ctx: ClusterReconcileContext): Promise<ClusterReconcileResult> {
  const key = clusterKey(ctx.clusterName);
  const now = ctx.now();
  nodesHolder(ctx.runtime, key).set(ctx.observations.map((o) => o.node));
  const deps = formationDeps(ctx, key);
  const def = clusterFormationDefinition(deps);

  let facts = clusterFacts({ clusterName: ctx.clusterName, observations: ctx.observations, recorded: ctx.status.recordedSeqnos() });
  recordSeqnos(ctx, facts);
  const recorded = ctx.status.recordedSeqnos();
  facts = clusterFacts({ clusterName: ctx.clusterName, observations: ctx.observations, recorded });

  // 1. a running or persisted operation gets this pass's observations
  let entry = ctx.runtime.get<typeof clusterFormationMachine>(key) ?? ctx.runtime.restore(key, def);
  let operation: OperationRecord | undefined;
  if (entry) {
    if (entry.actor.getSnapshot().status === 'active') entry.actor.send(observedEvent(now, facts));
    operation = syncOperation(ctx, key, entry);
    if (entry.actor.getSnapshot().status !== 'active') {
      ctx.logger.info('cluster operation finished', { key, operationId: operation.id, state: operation.state, error: operation.error });
      ctx.runtime.stop(key, { remove: true });
      entry = undefined;
    }
  }

  const forced = pendingForced(ctx, key);
  const decision = decideFormation({ clusterName: ctx.clusterName, observations: ctx.observations, recorded, ...(forced ? { forced: forced.request } : {}) });

  // 2. no operation: act on the decision (not while a repair holds the cluster)
  if (!entry && !ctx.heldBy) {
    const timeoutMs = ctx.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    const newId = ctx.newId ?? (() => randomUUID().slice(0, 8));
    if (forced && facts.some((f) => f.role === 'member' && f.status === 'primary') && decision.kind !== 'split-brain') {
      const op = { ...forced.op, state: 'failed' as const, finishedAt: iso(now), error: `a primary component of '${ctx.clusterName}' runs: nothing to bootstrap` };
      ctx.status.upsertOperation(op);
      ctx.logger.warn('forced bootstrap refused: a primary runs', { key, operationId: op.id });
    }
    switch (decision.kind) {
      case 'create':
        entry = startOperation(
          ctx,
          key,
          def,
          { operationId: `form-${newId()}`, kind: 'cluster-formation', clusterName: ctx.clusterName, source: decision.node, mode: 'create', others: decision.joiners, reason: decision.reason, now, timeoutMs },
          { by: 'controller' },
        );
        break;
      case 'join':
        entry = startOperation(
          ctx,
          key,
          def,
          { operationId: `join-${newId()}`, kind: 'cluster-join', clusterName: ctx.clusterName, source: decision.donor, mode: 'join', others: decision.nodes, reason: decision.reason, now, timeoutMs },
          { by: 'controller' },
        );
        break;
      case 'recover': {
        const kind: FormationKind = decision.forced ? 'forced-bootstrap' : 'full-stop-recovery';
        const operationId = decision.forced?.operationId ?? `recover-${newId()}`;
        entry = startOperation(
          ctx,
          key,
          def,
          { operationId, kind, clusterName: ctx.clusterName, source: decision.source, mode: decision.mode, others: decision.others, reason: decision.reason, now, timeoutMs },
          decision.forced ? { by: decision.forced.requestedBy, ...(forced ? { at: forced.op.requestedAt } : {}) } : { by: 'controller' },
        );
        break;
      }
      case 'start':
        await releaseHeld(ctx, deps, facts, decision.nodes, decision.reason);
        break;
      case 'steady':
        if (decision.updateNodesOn !== undefined) {
          try {
            await applyUpdateNodes(deps, { operationId: `nodes-${now}`, clusterName: ctx.clusterName, node: decision.updateNodesOn });
          } catch (err) {
            ctx.logger.warn('nodes_set update failed', { key, node: decision.updateNodesOn, err: errorMessage(err) });
          }
        }
        break;
      default:
        break;
    }
    if (entry) operation = syncOperation(ctx, key, entry);
  }

  // 3. status
  const running = entry ? { id: entry.actor.getSnapshot().context.operationId, kind: entry.actor.getSnapshot().context.kind, step: FORMATION_STEPS[stateName(entry)] ?? stateName(entry) } : ctx.heldBy;
  const conditions = decideClusterConditions({
    clusterName: ctx.clusterName,
    facts,
    decision,
    ...(running ? { operation: running } : {}),
    ...(ctx.splitBrainCondition ? { splitBrain: ctx.splitBrainCondition } : {}),
  });
  const uuids = [...new Set(facts.filter((f) => f.role === 'member' && f.uuid !== undefined).map((f) => f.uuid as string))];
  ctx.status.setCluster({
    name: ctx.clusterName,
    phase: decidePhase(decision, running),
    ...(uuids.length === 1 ? { uuid: uuids[0] } : {}),
    size: facts.length,
    nodes: nodeViews(facts, ctx.observations, recorded),
  });
  ctx.status.setConditions('cluster', conditions);

  const formed = facts.some((f) => f.role === 'member' && f.status === 'primary');
  const ready = conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  const requeueAfterMs = entry ? REQUEUE_ACTIVE_MS : decision.kind === 'steady' && ready ? REQUEUE_STEADY_MS : REQUEUE_WAITING_MS;
  return { requeueAfterMs, formed, ready, decision, ...(running ? { operationId: running.id } : operation && operation.state === 'running' ? { operationId: operation.id } : {}) };
}

/** Plain start of held nodes while a primary runs: one effect each, keyed by the hold it answers. */
async function releaseHeld(ctx: ClusterReconcileContext, deps: ClusterFormationDeps, facts: readonly NodeFacts[], nodes: readonly string[], reason: string): Promise<void> {
  for (const name of nodes) {
    const f = facts.find((x) => x.name === name);
    const hold = f?.gate?.holdingSince ?? 'idle';
    const operationId = `rejoin-${name}-${hold}`;
    try {
      const res = await applyStartDecision(deps, { operationId, clusterName: ctx.clusterName, node: name, mode: 'normal', reason });
      if (res.changed.length > 0) {
        const at = iso(ctx.now());
        ctx.status.upsertOperation({
          id: operationId,
          kind: 'node-rejoin',
          key: clusterKey(ctx.clusterName),
          target: name,
          requestedBy: 'controller',
          requestedAt: at,
          state: 'succeeded',
          steps: [{ name: 'release held node', state: 'succeeded', startedAt: at, finishedAt: at, message: reason }],
          outcome: `${name} told to start normally and rejoin`,
          finishedAt: at,
        });
      }
    } catch (err) {
      ctx.logger.warn('held node not released', { node: name, err: errorMessage(err) });
    }
  }
}
