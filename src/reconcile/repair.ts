/**
 * Split-brain repair (issue 6), run by the controller at every cluster pass, before reconcileCluster:
 *
 *   1. remember when each node last answered (the observation guard) and the split brain seen
 *      (decideSplitBrain, with each group's nodes, seqno and rows); a split brain stays reported while
 *      a node is missing, since a partial view cannot prove it is gone;
 *   2. a running (or persisted) split-brain-repair machine gets the pass's observations; its
 *      operation record (kind `repair`) follows its steps; when it ends, the record is closed;
 *   3. otherwise a pending repair request (POST /api/repair, mctl repair), or with REPAIR_POLICY=auto
 *      a split brain stable for the debounce, is planned (repair-decide.ts) and the machine started,
 *      never while an observation is missing or stale, never while another cluster operation runs;
 *   4. tell the cluster pass the SplitBrain condition and whether a repair holds the cluster (the
 *      formation logic decides and reports but does not act meanwhile).
 */
import { randomUUID } from 'node:crypto';
import { AppError, ValidationError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SqlRunner } from '../machines/cluster-formation/cluster-formation.actors.js';
import type { MachineDefinition, MachineRuntime, RunningMachine } from '../machines/runtime/machine-runtime.js';
import { createSplitBrainRepairActors, type RepairDeps } from '../machines/split-brain-repair/split-brain-repair.actors.js';
import {
  REPAIR_PROGRESS,
  REPAIR_STEPS,
  SPLIT_BRAIN_REPAIR_MACHINE,
  SPLIT_BRAIN_REPAIR_VERSION,
  splitBrainRepairMachine,
  type RepairContext,
  type RepairObservedNode,
} from '../machines/split-brain-repair/split-brain-repair.machine.js';
import type { ClusterObservation } from '../observe/types.js';
import type { NodeRef } from '../platform/types.js';
import type { ConditionInput, OperationRecord, OperationStep, StatusReader, StatusWriter } from '../status/types.js';
import { clusterFacts, decideSplitBrain, isSynced, type NodeFacts, type SplitBrainDecision } from './cluster-decide.js';
import { decideRepairPlan, decideStaleObservations, type StaleNode } from './repair-decide.js';

export const REPAIR_OPERATION_KIND = 'repair';
/** Operations a repair cannot run alongside (a restore may: original-system.md conflict matrix). */
export const REPAIR_CONFLICTING_KINDS: readonly string[] = ['import', 'backup', 'repair', 'cluster-formation', 'cluster-join', 'full-stop-recovery', 'forced-bootstrap'];

export type RepairPolicy = 'manual' | 'auto';

export interface RepairSettings {
  /** REPAIR_POLICY */
  policy: RepairPolicy;
  /** REPAIR_OBSERVATION_GUARD: no action while a node's observation is missing or older */
  guardMs: number;
  /** REPAIR_AUTO_DEBOUNCE: auto policy waits until the split brain is this stable */
  debounceMs: number;
  /** whole-repair budget */
  timeoutMs: number;
}

export const DEFAULT_REPAIR_SETTINGS: RepairSettings = { policy: 'manual', guardMs: 10_000, debounceMs: 3_000, timeoutMs: 10 * 60_000 };
/** After a failed automatic repair, the next automatic one waits this long. */
const AUTO_RETRY_AFTER_FAILURE_MS = 60_000;

export interface RepairEnv {
  clusterName: string;
  status: StatusReader & StatusWriter;
  runtime: MachineRuntime;
  pools: { get(address: string): SqlRunner };
  logger: Logger;
  now(): number;
  listNodes(): Promise<NodeRef[]>;
  /** Galera options for JOIN (loopback: gmcast.listen_addr) */
  clusterOptions?: string;
  settings: RepairSettings;
  /** for tests: the effects' waits */
  joinTimeoutMs?: number;
  pollMs?: number;
}

export interface RepairRequest {
  /** ours: a node name or ordinal; the original's `sourceReplica` is an ordinal */
  source?: unknown;
  /** which field the source came in (for error messages): `source` or `sourceReplica` */
  sourceField?: string;
  requestedBy: string;
}

export interface RepairPassResult {
  /** a repair owns the cluster: formation decides and reports but does not act */
  hold?: { id: string; kind: string; step: string };
  /** the SplitBrain condition (undefined: the formation decision's default) */
  condition?: ConditionInput;
}

type RepairEntry = RunningMachine<typeof splitBrainRepairMachine>;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function stateName(entry: RepairEntry): string {
  const v = entry.actor.getSnapshot().value;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function observedNodes(facts: readonly NodeFacts[]): RepairObservedNode[] {
  return facts.map((f) => ({
    name: f.name,
    apiAddress: f.apiAddress,
    role: f.role,
    primary: f.role === 'member' && f.status === 'primary',
    synced: isSynced(f),
    ...(f.uuid !== undefined ? { uuid: f.uuid } : {}),
    view: [...f.nodesView],
  }));
}

function signature(sb: SplitBrainDecision): string {
  return JSON.stringify(sb.groups.map((g) => [...g].sort()).sort());
}

export class RepairCoordinator {
  private readonly lastGood: Record<string, number> = {};
  private split: { decision: SplitBrainDecision; signature: string; since: number } | undefined;
  private stale: StaleNode[] = [];
  private facts: NodeFacts[] = [];
  private nodes: NodeRef[] = [];
  private lastAutoFailureAt = 0;
  /** the actor whose transitions are written to its operation record as they happen */
  private followed: unknown;

  constructor(private readonly env: RepairEnv) {}

  get key(): string {
    return `repair/${this.env.clusterName}`;
  }

  private get clusterKey(): string {
    return `cluster/${this.env.clusterName}`;
  }

  private definition(): MachineDefinition<typeof splitBrainRepairMachine> {
    const deps: RepairDeps = {
      node: (name) => this.nodes.find((n) => n.name === name),
      sql: (node) => this.env.pools.get(`${node.mysql.host}:${node.mysql.port}`),
      logger: this.env.logger,
      ...(this.env.clusterOptions !== undefined ? { clusterOptions: this.env.clusterOptions } : {}),
      ...(this.env.joinTimeoutMs !== undefined ? { joinTimeoutMs: this.env.joinTimeoutMs } : {}),
      ...(this.env.pollMs !== undefined ? { pollMs: this.env.pollMs } : {}),
    };
    return { name: SPLIT_BRAIN_REPAIR_MACHINE, version: SPLIT_BRAIN_REPAIR_VERSION, machine: splitBrainRepairMachine.provide({ actors: createSplitBrainRepairActors(deps) }) };
  }

  /** Repair operations, newest first (GET /api/repairs). */
  repairs(): OperationRecord[] {
    return this.env.status.operations().filter((o) => o.kind === REPAIR_OPERATION_KIND && o.key === this.clusterKey);
  }

  /** The pending or running repair, if any. */
  activeRepair(): OperationRecord | undefined {
    return this.repairs().find((o) => o.state === 'pending' || o.state === 'running');
  }

  /** Throws REPAIR_IN_PROGRESS (409) naming the repair when one is pending or running (imports and backups call it). */
  assertNoRepair(what: string): void {
    const op = this.activeRepair();
    if (op) {
      throw new AppError('REPAIR_IN_PROGRESS', `${what} cannot start while a split-brain repair runs: operation ${op.id} (follow it with GET /api/operations/${op.id})`, {
        retryable: true,
        details: { operationId: op.id },
      });
    }
  }

  /** POST /api/repair: validates, checks conflicts and the guard, records a pending repair. */
  async request(input: RepairRequest): Promise<OperationRecord> {
    const field = input.sourceField ?? 'source';
    const nodes = await this.env.listNodes();
    let source: string | undefined;
    if (input.source !== undefined && input.source !== null) {
      const raw = input.source;
      const byOrdinal = typeof raw === 'number' || (typeof raw === 'string' && /^\d+$/.test(raw.trim()));
      if (byOrdinal) {
        const n = Number(raw);
        const node = Number.isInteger(n) ? nodes.find((x) => x.ordinal === n) : undefined;
        if (!node) throw new ValidationError(field, `no node with ordinal ${String(raw)}: use 0..${Math.max(0, nodes.length - 1)} or a node name (${nodes.map((x) => x.name).join(', ')})`);
        source = node.name;
      } else if (typeof raw === 'string' && raw.trim() !== '') {
        const node = nodes.find((x) => x.name === raw.trim());
        if (!node) throw new ValidationError(field, `no node named '${raw.trim().slice(0, 100)}': use one of ${nodes.map((x) => x.name).join(', ') || '(none listed)'} or an ordinal`);
        source = node.name;
      } else {
        throw new ValidationError(field, 'give a node name (e.g. "node1") or an ordinal (e.g. 1), or leave it out to let the controller choose the survivor');
      }
    }
    const busy = this.env.status.operations().find((o) => (o.state === 'pending' || o.state === 'running') && REPAIR_CONFLICTING_KINDS.includes(o.kind));
    if (busy) {
      throw new AppError('CONFLICT', `a ${busy.kind} operation is ${busy.state}: ${busy.id}${busy.target ? ` (${busy.target})` : ''}; a repair cannot run alongside it (follow it with GET /api/operations/${busy.id})`, {
        details: { operationId: busy.id },
      });
    }
    if (this.stale.length > 0) {
      throw new AppError('OBSERVATIONS_STALE', `not repairing on partial information: ${this.stale.map((s) => s.reason).join('; ')}; retry when every node answers`, {
        retryable: true,
        details: { nodes: this.stale.map((s) => s.node) },
      });
    }
    if (source !== undefined && this.split) {
      const plan = decideRepairPlan({ facts: this.facts, splitBrain: this.split.decision, source });
      if (plan.kind === 'refuse') throw new ValidationError(plan.field ?? field, plan.reason);
    }
    const now = this.env.now();
    const at = iso(now);
    const op: OperationRecord = {
      id: `repair-${randomUUID().slice(0, 8)}`,
      kind: REPAIR_OPERATION_KIND,
      key: this.clusterKey,
      ...(source !== undefined ? { target: source } : {}),
      requestedBy: input.requestedBy,
      requestedAt: at,
      state: 'pending',
      steps: [{ name: 'requested', state: 'succeeded', startedAt: at, finishedAt: at, message: source !== undefined ? `repair the split brain keeping ${source}'s side` : 'repair the split brain; the controller chooses the survivor' }],
    };
    this.env.status.upsertOperation(op);
    this.env.logger.warn('split-brain repair requested', { operationId: op.id, source, requestedBy: input.requestedBy });
    return op;
  }

  /** One pass (see the file comment). Never throws for node failures. */
  reconcile(observations: ClusterObservation, logger: Logger = this.env.logger): RepairPassResult {
    const now = this.env.now();
    this.nodes = observations.map((o) => o.node);
    for (const o of observations) if (o.searchd.ok) this.lastGood[o.node.name] = o.at;
    const facts = clusterFacts({ clusterName: this.env.clusterName, observations, recorded: this.env.status.recordedSeqnos() });
    this.facts = facts;
    const stale = decideStaleObservations(observations, now, this.env.settings.guardMs, this.lastGood);
    this.stale = stale;
    const current = decideSplitBrain(facts);
    if (current) {
      const sig = signature(current);
      this.split = { decision: current, signature: sig, since: this.split?.signature === sig ? this.split.since : now };
    } else if (stale.length === 0) {
      this.split = undefined;
    }

    // 1. a running or persisted repair gets this pass's observations
    let entry = this.env.runtime.get<typeof splitBrainRepairMachine>(this.key) ?? this.env.runtime.restore(this.key, this.definition());
    if (entry) this.follow(entry);
    if (entry) {
      // with a node missing or stale the machine waits (no effect is retried or started); the deadline still counts
      if (entry.actor.getSnapshot().status === 'active') entry.actor.send({ type: 'observed', at: now, nodes: observedNodes(facts), fresh: stale.length === 0 });
      const op = this.syncOperation(entry);
      if (entry.actor.getSnapshot().status !== 'active') {
        logger.info('split-brain repair finished', { operationId: op.id, state: op.state, error: op.error });
        this.env.runtime.stop(this.key, { remove: true });
        entry = undefined;
        if (op.state === 'succeeded') this.split = undefined;
        else if (op.requestedBy.startsWith('controller')) this.lastAutoFailureAt = now;
      }
    }

    // 2. no repair runs: a pending request, or the auto policy, starts one when it is safe
    if (!entry) {
      // a record left running without its machine (a snapshot of another version was dropped): close it
      for (const orphan of this.repairs().filter((o) => o.state === 'running')) {
        const rec = structuredClone(orphan);
        for (const st of rec.steps) if (st.state === 'running') Object.assign(st, { state: 'failed', finishedAt: iso(now) });
        Object.assign(rec, { state: 'failed', finishedAt: iso(now), error: 'the controller restarted without this repair\'s saved state; request the repair again' });
        this.env.status.upsertOperation(rec);
      }
      let pending = this.repairs()
        .filter((o) => o.state === 'pending')
        .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt))[0];
      if (!pending && this.autoRepairDue(now, current, stale)) {
        pending = this.autoRequest(now, current as SplitBrainDecision);
      }
      if (pending) entry = this.tryStart(pending, facts, current, stale, now, logger);
    }

    // 3. what the cluster pass reports
    if (entry) {
      const c = entry.actor.getSnapshot().context;
      const step = REPAIR_STEPS[stateName(entry)] ?? stateName(entry);
      return {
        hold: { id: c.operationId, kind: REPAIR_OPERATION_KIND, step },
        condition: {
          type: 'SplitBrain',
          status: 'True',
          reason: 'Repairing',
          message: `repair ${c.operationId} at step '${step}': ${c.reason}`,
          details: { operationId: c.operationId, survivor: c.survivor, losers: c.losers, groups: this.split?.decision.detail ?? [] },
        },
      };
    }
    return { condition: this.condition(current, stale) };
  }

  private condition(current: SplitBrainDecision | undefined, stale: readonly StaleNode[]): ConditionInput | undefined {
    const s = this.env.settings;
    if (stale.length > 0 && this.split) {
      return {
        type: 'SplitBrain',
        status: 'True',
        reason: 'ObservationsStale',
        message: `${this.split.decision.reason}; the controller does not act while observations are missing or stale: ${stale.map((x) => x.reason).join('; ')}`,
        details: { cause: this.split.decision.cause, groups: this.split.decision.detail, stale: stale.map((x) => x.node), policy: s.policy },
      };
    }
    if (current) {
      const how =
        s.policy === 'auto'
          ? `REPAIR_POLICY=auto: a repair starts once it is stable for ${Math.round(s.debounceMs / 1000)} s`
          : 'REPAIR_POLICY=manual: repair it with POST /api/repair or mctl repair [--source NODE]';
      return {
        type: 'SplitBrain',
        status: 'True',
        reason: 'SeveralComponents',
        message: `${current.reason}; ${how}`,
        details: { cause: current.cause, groups: current.detail, policy: s.policy },
      };
    }
    if (stale.length > 0) {
      return { type: 'SplitBrain', status: 'False', reason: 'ObservationsStale', message: `no split brain among the nodes that answer; ${stale.map((x) => x.reason).join('; ')}` };
    }
    return undefined;
  }

  private autoRepairDue(now: number, current: SplitBrainDecision | undefined, stale: readonly StaleNode[]): boolean {
    const s = this.env.settings;
    if (s.policy !== 'auto' || !current || stale.length > 0 || !this.split) return false;
    if (now - this.split.since < s.debounceMs) return false;
    if (now - this.lastAutoFailureAt < AUTO_RETRY_AFTER_FAILURE_MS) return false;
    return !this.env.status.operations().some((o) => (o.state === 'pending' || o.state === 'running') && REPAIR_CONFLICTING_KINDS.includes(o.kind));
  }

  private autoRequest(now: number, current: SplitBrainDecision): OperationRecord {
    const at = iso(now);
    const op: OperationRecord = {
      id: `repair-${randomUUID().slice(0, 8)}`,
      kind: REPAIR_OPERATION_KIND,
      key: this.clusterKey,
      requestedBy: 'controller (REPAIR_POLICY=auto)',
      requestedAt: at,
      state: 'pending',
      steps: [{ name: 'requested', state: 'succeeded', startedAt: at, finishedAt: at, message: `split brain stable for ${Math.round((now - (this.split?.since ?? now)) / 1000)} s: ${current.reason}` }],
    };
    this.env.status.upsertOperation(op);
    this.env.logger.warn('split-brain repair started by the auto policy', { operationId: op.id });
    return op;
  }

  /** Plans a pending repair and starts its machine, or notes why it waits / ends it. */
  private tryStart(op: OperationRecord, facts: readonly NodeFacts[], current: SplitBrainDecision | undefined, stale: readonly StaleNode[], now: number, logger: Logger): RepairEntry | undefined {
    const wait = (message: string): undefined => {
      const rec = structuredClone(op);
      const last = rec.steps[rec.steps.length - 1];
      if (last?.name === 'waiting' && last.message === message) return undefined;
      if (last?.name === 'waiting') last.message = message;
      else rec.steps.push({ name: 'waiting', state: 'running', startedAt: iso(now), message });
      this.env.status.upsertOperation(rec);
      return undefined;
    };
    if (stale.length > 0) return wait(`not acting on partial information: ${stale.map((s) => s.reason).join('; ')}`);
    const formation = this.env.runtime.get(this.clusterKey);
    if (formation && formation.actor.getSnapshot().status === 'active') return wait('a cluster formation operation runs; the repair starts after it');
    const busy = this.env.status.operations().find((o) => o.id !== op.id && (o.state === 'running' || o.state === 'pending') && REPAIR_CONFLICTING_KINDS.includes(o.kind) && o.kind !== REPAIR_OPERATION_KIND);
    if (busy) return wait(`${busy.kind} ${busy.id} is ${busy.state}; the repair starts after it`);
    const plan = decideRepairPlan({ facts, splitBrain: current, ...(op.target !== undefined ? { source: op.target } : {}) });
    const rec = structuredClone(op);
    const at = iso(now);
    for (const s of rec.steps) if (s.state === 'running') Object.assign(s, { state: 'succeeded', finishedAt: at });
    if (plan.kind !== 'repair') {
      rec.steps.push({ name: 'plan', state: plan.kind === 'nothing' ? 'succeeded' : 'failed', startedAt: at, finishedAt: at, message: plan.reason });
      rec.state = plan.kind === 'nothing' ? 'succeeded' : 'failed';
      rec.finishedAt = at;
      if (plan.kind === 'nothing') rec.outcome = plan.reason;
      else rec.error = plan.reason;
      this.env.status.upsertOperation(rec);
      logger.info('split-brain repair not needed or refused', { operationId: op.id, decision: plan.kind, reason: plan.reason });
      return undefined;
    }
    // the machine's snapshot is on disk before the record says "running" (a SIGKILL in between resumes the machine)
    const entry = this.env.runtime.start(this.key, this.definition(), {
      operationId: op.id,
      clusterName: this.env.clusterName,
      survivor: plan.survivor,
      survivorGroup: plan.survivorGroup,
      bootstrap: plan.bootstrap,
      losers: plan.losers,
      reason: plan.reason,
      now,
      timeoutMs: this.env.settings.timeoutMs,
    });
    rec.steps.push({ name: 'plan', state: 'succeeded', startedAt: at, finishedAt: at, message: plan.reason });
    rec.state = 'running';
    rec.target = plan.survivor;
    rec.figures = { ...(rec.figures ?? {}), progressPercent: 0, groups: plan.groups.length, losers: plan.losers.length };
    this.env.status.upsertOperation(rec);
    logger.warn('split-brain repair started', { operationId: op.id, survivor: plan.survivor, bootstrap: plan.bootstrap, losers: plan.losers, reason: plan.reason });
    this.syncOperation(entry);
    this.follow(entry);
    return entry;
  }

  /** Writes every step of the actor to its record when it is entered (several may pass between two passes). */
  private follow(entry: RepairEntry): void {
    if (this.followed === entry.actor) return;
    this.followed = entry.actor;
    entry.actor.subscribe(() => {
      if (entry.actor.getSnapshot().status === 'active') this.syncOperation(entry);
    });
  }

  /** Advances the operation record to the machine's current step; closes it when the machine is final. */
  private syncOperation(entry: RepairEntry): OperationRecord {
    const snap = entry.actor.getSnapshot();
    const c: RepairContext = snap.context;
    const now = this.env.now();
    const at = iso(now);
    const existing = this.env.status.operation(c.operationId);
    const op: OperationRecord = existing
      ? structuredClone(existing)
      : { id: c.operationId, kind: REPAIR_OPERATION_KIND, key: this.clusterKey, requestedBy: 'controller', requestedAt: iso(c.startedAt), state: 'running', steps: [] };
    op.target = c.survivor;
    const value = stateName(entry);
    const name = REPAIR_STEPS[value] ?? value;
    const last: OperationStep | undefined = op.steps[op.steps.length - 1];
    op.figures = { ...(op.figures ?? {}), progressPercent: REPAIR_PROGRESS[value] ?? 0 };
    if (snap.status === 'active') {
      if (!last || last.name !== name || last.state !== 'running') {
        if (last && last.state === 'running') Object.assign(last, { state: 'succeeded', finishedAt: at });
        op.steps.push({ name, state: 'running', startedAt: at, ...(c.lastError ? { message: `retrying after: ${c.lastError}` } : {}) });
      } else if (c.lastError && c.attempts > 0 && last.message !== `retrying after: ${c.lastError}`) {
        last.message = `retrying after: ${c.lastError}`;
      }
      op.state = 'running';
    } else {
      const ok = value === 'done';
      if (last && last.state === 'running') {
        Object.assign(last, { state: ok ? 'succeeded' : value === 'cancelled' ? 'cancelled' : 'failed', finishedAt: at });
        if (!ok && c.lastError) last.message = c.lastError;
      }
      op.state = ok ? 'succeeded' : value === 'cancelled' ? 'cancelled' : 'failed';
      op.finishedAt = at;
      const nodes = c.survivorGroup.length + c.losers.length;
      op.figures = { ...op.figures, durationMs: now - c.startedAt, nodes, rejoined: c.rejoined.length };
      for (const [t, n] of Object.entries(c.verified ?? {})) op.figures[`rows.${t}`] = n;
      if (ok) {
        const rows = Object.entries(c.verified ?? {})
          .map(([t, n]) => `${t}=${n}`)
          .join(', ');
        op.outcome = `${c.survivor}'s side kept its data; ${c.losers.length === 0 ? 'no other node' : c.losers.join(', ')} rejoined it; rows equal on all ${nodes} nodes${rows ? ` (${rows})` : ''}`;
      } else {
        op.error = c.lastError ?? value;
      }
    }
    this.env.status.upsertOperation(op);
    return op;
  }
}
