/**
 * The start gate (DESIGN.md section 5): the start script asks the agent how to start searchd, and
 * the controller tells the agent. Until the controller decides, a node with a cluster saved in
 * manticore.json holds (starting alone would make it drop the cluster); a node with none starts
 * normally. A decision is used once: when the script reports it started searchd with it, the gate
 * falls back to the default, so a later restart asks again. Persisted in the jobs dir.
 */
import path from 'node:path';
import type { StartDecision, StartGate, StartMode } from '../protocol.js';
import { ValidationError } from '../../lib/errors.js';
import { readJsonOptional, writeJsonAtomic } from './json-file.js';
import { AgentHttpError } from './envelope.js';

export const START_GATE_FILE = 'start-gate.json';
export const START_MODES: readonly StartMode[] = ['normal', 'new-cluster', 'new-cluster-force', 'hold'];
const MAX_ID_LENGTH = 200;

interface GateRecord {
  decision?: StartDecision & { decidedAt: string };
  holdingSince?: string;
  startedAt?: string;
  startedDecisionId?: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a PUT /v1/start body; errors name the field and the fix. */
export function validateStartDecision(body: unknown): StartDecision {
  if (!isObject(body)) throw new ValidationError('body', 'send a JSON object {mode, reason, decisionId}');
  const { mode, reason, decisionId } = body;
  if (typeof mode !== 'string' || !START_MODES.includes(mode as StartMode)) {
    throw new ValidationError('mode', `must be one of ${START_MODES.join(', ')} (got ${JSON.stringify(mode)})`);
  }
  if (typeof reason !== 'string' || reason.trim() === '') throw new ValidationError('reason', 'must be a non-empty string saying why');
  if (typeof decisionId !== 'string' || decisionId.trim() === '' || decisionId.length > MAX_ID_LENGTH) {
    throw new ValidationError('decisionId', `must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return { mode: mode as StartMode, reason, decisionId };
}

/** Validates a POST /v1/start/started body: `{decisionId?}`. */
export function validateStarted(body: unknown): { decisionId?: string } {
  if (body === undefined) return {};
  if (!isObject(body)) throw new ValidationError('body', 'send a JSON object {decisionId} (decisionId may be omitted for a default start)');
  const { decisionId } = body;
  if (decisionId === undefined || decisionId === null) return {};
  if (typeof decisionId !== 'string' || decisionId.trim() === '' || decisionId.length > MAX_ID_LENGTH) {
    throw new ValidationError('decisionId', `must be the decisionId the gate answered (a non-empty string), or be omitted`);
  }
  return { decisionId };
}

function parseRecord(v: unknown): GateRecord {
  if (!isObject(v)) return {};
  const out: GateRecord = {};
  const d = v['decision'];
  if (isObject(d) && typeof d['decidedAt'] === 'string') {
    try {
      out.decision = { ...validateStartDecision(d), decidedAt: d['decidedAt'] };
    } catch {
      // an unreadable decision is dropped: the gate falls back to its default, which is safe
    }
  }
  for (const key of ['holdingSince', 'startedAt', 'startedDecisionId'] as const) {
    const value = v[key];
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}

export class StartGateStore {
  private record: GateRecord;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    record: GateRecord,
    private readonly now: () => Date,
  ) {
    this.record = record;
  }

  static async open(dir: string, now: () => Date = () => new Date()): Promise<StartGateStore> {
    const file = path.join(dir, START_GATE_FILE);
    return new StartGateStore(file, parseRecord(await readJsonOptional(file)), now);
  }

  /**
   * The gate's answer given the clusters saved in manticore.json. `asking` is true when the start
   * script asks (a hold answer then records `holdingSince`); false for a read-only view (/v1/state).
   */
  async answer(saved: { clusters: readonly string[]; unreadable?: string }, asking: boolean): Promise<StartGate> {
    const savedClusters = saved.clusters;
    const r = this.record;
    const history: Pick<StartGate, 'startedAt' | 'startedDecisionId'> = {};
    if (r.startedAt !== undefined) history.startedAt = r.startedAt;
    if (r.startedDecisionId !== undefined) history.startedDecisionId = r.startedDecisionId;
    let gate: StartGate;
    if (r.decision) {
      const { mode, reason, decisionId, decidedAt } = r.decision;
      gate = { mode, reason, decisionId, decidedAt, ...history };
    } else if (saved.unreadable !== undefined) {
      gate = {
        mode: 'hold',
        reason: `waiting for the controller to decide how to start: manticore.json is unreadable (${saved.unreadable}), so this node may hold a saved cluster`,
        ...history,
      };
    } else if (savedClusters.length === 0) {
      gate = { mode: 'normal', reason: 'no cluster saved in manticore.json: nothing to lose by starting normally', ...history };
    } else {
      const names = savedClusters.map((c) => `'${c}'`).join(', ');
      gate = {
        mode: 'hold',
        reason: `waiting for the controller to decide how to start: this node has cluster ${names} saved and may not start alone`,
        ...history,
      };
    }
    if (gate.mode === 'hold') {
      if (asking && r.holdingSince === undefined) await this.update({ ...r, holdingSince: this.now().toISOString() });
      if (this.record.holdingSince !== undefined) gate.holdingSince = this.record.holdingSince;
    }
    return gate;
  }

  /** Stores the controller's decision (replacing an earlier one that was not used yet). */
  async decide(decision: StartDecision): Promise<StartGate> {
    const decidedAt = this.now().toISOString();
    const next: GateRecord = { ...this.record, decision: { ...decision, decidedAt } };
    // a hold keeps its start time; any other decision ends the hold
    if (decision.mode !== 'hold') delete next.holdingSince;
    await this.update(next);
    const gate: StartGate = { mode: decision.mode, reason: decision.reason, decisionId: decision.decisionId, decidedAt };
    if (next.holdingSince !== undefined) gate.holdingSince = next.holdingSince;
    return gate;
  }

  /**
   * Records that searchd was started. With the pending decision's id the decision is used up; with no
   * id the script started on the default answer. Repeating the last report is accepted (idempotent).
   */
  async started(decisionId: string | undefined): Promise<{ startedAt: string; startedDecisionId?: string }> {
    const r = this.record;
    if (decisionId !== undefined && r.decision?.decisionId !== decisionId) {
      if (r.startedDecisionId === decisionId && r.startedAt !== undefined) return { startedAt: r.startedAt, startedDecisionId: decisionId };
      const current = r.decision ? `the pending decision is '${r.decision.decisionId}'` : 'no decision is pending';
      throw new AgentHttpError(409, 'CONFLICT', `decisionId '${decisionId}' is not the gate's current decision (${current})`);
    }
    if (decisionId === undefined && r.decision !== undefined && r.decision.mode !== 'normal') {
      throw new AgentHttpError(
        409,
        'CONFLICT',
        `decisionId: the controller decided '${r.decision.mode}' (decision '${r.decision.decisionId}'); report the start with that decisionId`,
      );
    }
    const startedAt = this.now().toISOString();
    const next: GateRecord = { startedAt };
    if (decisionId !== undefined) next.startedDecisionId = decisionId;
    await this.update(next);
    return decisionId === undefined ? { startedAt } : { startedAt, startedDecisionId: decisionId };
  }

  private async update(next: GateRecord): Promise<void> {
    this.record = next;
    const write = this.writing.then(() => writeJsonAtomic(this.file, next));
    this.writing = write.catch(() => undefined);
    await write;
  }
}
