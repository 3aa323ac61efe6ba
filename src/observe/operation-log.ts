/**
 * One log line per operation event (issue 9, structured logs): an operation's request, every step that
 * starts or ends, and its end, each with `operationId`, `kind` and `key`, so `grep <operationId>` follows
 * an import, a backup or a recovery from the request to the finish whatever code path moved it.
 * Fed by the status store's operation events (every change of an operation record goes through it).
 */
import type { Logger } from '../lib/logger.js';
import type { OperationRecord, OperationStep, StatusReader } from '../status/types.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
/** Operations remembered for diffing; older ones are forgotten (a late event then logs its steps again). */
const MAX_TRACKED = 2_000;

function stepSig(s: OperationStep): string {
  return `${s.name}\u0000${s.state}\u0000${s.startedAt ?? ''}`;
}

/** Logs operation steps and ends from the status store's events; returns the unsubscribe function. */
export function logOperations(status: StatusReader, logger: Logger): () => void {
  const seen = new Map<string, { state: string; steps: string[] }>();
  // operations the store already holds (from a previous run): only their changes from now on are logged
  for (const op of status.operations()) seen.set(op.id, { state: op.state, steps: op.steps.map(stepSig) });

  const onOperation = (op: OperationRecord) => {
    const before = seen.get(op.id);
    if (before !== undefined && TERMINAL.has(before.state)) return;
    const base: Record<string, unknown> = { operationId: op.id, kind: op.kind, key: op.key };
    if (op.target !== undefined) base.target = op.target;
    if (before === undefined) logger.info('operation recorded', { ...base, state: op.state, requestedBy: op.requestedBy });
    const old = new Set(before?.steps ?? []);
    op.steps.forEach((s, i) => {
      if (old.has(stepSig(s))) return;
      const fields: Record<string, unknown> = { ...base, step: s.name, stepIndex: i, state: s.state };
      if (s.message !== undefined) fields.detail = s.message;
      if (s.startedAt !== undefined && s.finishedAt !== undefined) fields.durationMs = Math.max(0, Date.parse(s.finishedAt) - Date.parse(s.startedAt));
      const level = s.state === 'failed' ? 'warn' : 'info';
      logger.log(level, s.state === 'running' || s.state === 'pending' ? 'operation step started' : 'operation step ended', fields);
    });
    if (TERMINAL.has(op.state)) {
      const fields: Record<string, unknown> = { ...base, state: op.state };
      if (op.outcome !== undefined) fields.outcome = op.outcome;
      if (op.error !== undefined) fields.error = op.error;
      if (op.finishedAt !== undefined) fields.durationMs = Math.max(0, Date.parse(op.finishedAt) - Date.parse(op.requestedAt));
      if (op.figures !== undefined) fields.figures = op.figures;
      logger.log(op.state === 'failed' ? 'warn' : 'info', 'operation finished', fields);
    }
    if (seen.size >= MAX_TRACKED && before === undefined) {
      const oldest = seen.keys().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
    seen.set(op.id, { state: op.state, steps: op.steps.map(stepSig) });
  };

  return status.subscribe((event) => {
    if (event.type === 'operation') onOperation(event.operation);
  });
}
