/**
 * Helpers to build conditions (src/status/types.ts) and to merge them with the previous ones so that
 * lastTransitionTime only moves when a condition's status changes (Kubernetes semantics).
 */
import type { Condition, ConditionInput, ConditionStatus, ConditionType } from './types.js';

export function condition(type: ConditionType, status: ConditionStatus, reason: string, message: string, observedGeneration?: number): ConditionInput {
  const c: ConditionInput = { type, status, reason, message };
  if (observedGeneration !== undefined) c.observedGeneration = observedGeneration;
  return c;
}

export const conditionTrue = (type: ConditionType, reason: string, message: string, generation?: number): ConditionInput =>
  condition(type, 'True', reason, message, generation);

export const conditionFalse = (type: ConditionType, reason: string, message: string, generation?: number): ConditionInput =>
  condition(type, 'False', reason, message, generation);

export const conditionUnknown = (type: ConditionType, reason: string, message: string, generation?: number): ConditionInput =>
  condition(type, 'Unknown', reason, message, generation);

/**
 * Stamps `next` with transition times: a condition whose status equals the previous one of its type
 * keeps the previous lastTransitionTime; a new or changed one gets `now`. Returns the merged list and
 * the conditions that changed in any field (for events).
 */
export function mergeConditions(previous: readonly Condition[], next: readonly ConditionInput[], now: string): { conditions: Condition[]; changed: Condition[] } {
  const byType = new Map(previous.map((c) => [c.type, c]));
  const conditions: Condition[] = [];
  const changed: Condition[] = [];
  for (const input of next) {
    const prev = byType.get(input.type);
    const lastTransitionTime = prev !== undefined && prev.status === input.status ? prev.lastTransitionTime : now;
    const c: Condition = { ...input, lastTransitionTime };
    conditions.push(c);
    if (
      prev === undefined ||
      prev.status !== c.status ||
      prev.reason !== c.reason ||
      prev.message !== c.message ||
      prev.observedGeneration !== c.observedGeneration
    ) {
      changed.push(c);
    }
  }
  return { conditions, changed };
}

/** The condition of `type`, if present. */
export function findCondition<C extends { type: ConditionType }>(conditions: readonly C[], type: ConditionType): C | undefined {
  return conditions.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly { type: ConditionType; status: ConditionStatus }[], type: ConditionType): boolean {
  return conditions.some((c) => c.type === type && c.status === 'True');
}
