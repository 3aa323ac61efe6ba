/**
 * Recovery figures of the fault scenarios. A scenario calls `recordRecovery` with what it measured;
 * the figure goes to the test's diagnostics and, when the runner (test/faults/run.ts) set
 * FAULTS_RESULTS_FILE, one JSON line is appended there. The runner turns the lines of all its runs
 * into bench/faults-results.md (medians). A figure over its target is reported, never asserted:
 * timing assertions make tests flaky on a loaded CI.
 */
import { appendFileSync } from 'node:fs';
import type { TestContext } from 'node:test';

/** The recovery targets of issue 6, seconds. */
export const TARGETS = {
  /** a restarted node synced and serving, after its searchd answers */
  nodeRejoin: 10,
  /** a partition healed, after the network heals (auto policy) */
  partitionHeal: 15,
  /** every node crashed: the cluster back with every acknowledged write */
  fullCrash: 60,
} as const;

export interface RecoveryFigure {
  /** scenario name, e.g. `sigkill-one-node` */
  scenario: string;
  /** what was timed, e.g. `searchd answers → synced with every acked write`: a fixed text (the runner groups runs by it; put per-run details in `note`) */
  metric: string;
  seconds: number;
  /** undefined when the issue sets no target for it */
  targetSeconds?: number;
  /** writes acked/refused/unknown and other context */
  note?: string;
}

export const RESULTS_ENV = 'FAULTS_RESULTS_FILE';

export function recordRecovery(t: TestContext, f: RecoveryFigure): void {
  const verdict = f.targetSeconds === undefined ? '' : f.seconds <= f.targetSeconds ? ` (target ${f.targetSeconds} s: met)` : ` (target ${f.targetSeconds} s: MISSED)`;
  t.diagnostic(`${f.scenario}: ${f.metric}: ${f.seconds.toFixed(2)} s${verdict}${f.note ? `; ${f.note}` : ''}`);
  const file = process.env[RESULTS_ENV];
  if (file) appendFileSync(file, `${JSON.stringify({ ...f, at: new Date().toISOString() })}\n`);
}

/** Seconds between two Date.now() values. */
export const secondsBetween = (from: number, to: number) => (to - from) / 1000;
