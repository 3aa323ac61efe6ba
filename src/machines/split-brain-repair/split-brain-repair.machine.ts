/**
 * Split-brain repair as an xstate v5 machine (issue 6; README.md beside this file has the states).
 *
 * The plan (which side survives, whether it needs pc.bootstrap, which nodes rejoin it) is decided
 * once, purely, by src/reconcile/repair-decide.ts and is the machine's input; the context keeps
 * decisions only. Observations arrive as `observed` events from every cluster pass; waits compare
 * the event's timestamp with deadlines (no timers), so a snapshot restored after a controller
 * SIGKILL resumes where it was. Every effect is a named promise actor (split-brain-repair.actors.ts)
 * that reads the node before acting, so repeating it after a restart is harmless.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { NodeRole } from '../../reconcile/cluster-decide.js';

export const SPLIT_BRAIN_REPAIR_MACHINE = 'split-brain-repair';
/** Bump when states or context change shape: persisted snapshots of another version are dropped. */
export const SPLIT_BRAIN_REPAIR_VERSION = 1;

export interface RepairInput {
  operationId: string;
  clusterName: string;
  /** the node whose data wins (a member of the survivor group) */
  survivor: string;
  /** every node of the survivor's component */
  survivorGroup: string[];
  /** the survivor side is not primary: SET CLUSTER ... 'pc.bootstrap' = 1 on the survivor (that side only) */
  bootstrap: boolean;
  /** every other node: leaves its side and rejoins the survivor by SST */
  losers: string[];
  reason: string;
  /** epoch ms */
  now: number;
  timeoutMs: number;
  maxAttempts?: number;
}

export interface RepairContext extends Omit<RepairInput, 'now' | 'timeoutMs' | 'maxAttempts'> {
  startedAt: number;
  deadlineAt: number;
  attempts: number;
  maxAttempts: number;
  lastError?: string;
  /** rows per table on every node, as verified (set by the verify step) */
  verified?: Record<string, number>;
  /** nodes a JOIN was sent to (for the outcome) */
  rejoined: string[];
}

/** One node as a pass saw it (carried by the event, not kept). */
export interface RepairObservedNode {
  name: string;
  apiAddress: string;
  role: NodeRole;
  primary: boolean;
  synced: boolean;
  uuid?: string;
  /** API addresses of its component (nodes_view) */
  view: string[];
}

/**
 * `fresh: false` when a node's observation is missing or stale (the guard): the machine then retries
 * no effect and starts no new one (the deadline still counts).
 */
export type RepairEvent = { type: 'observed'; at: number; nodes: RepairObservedNode[]; fresh?: boolean } | { type: 'cancel'; reason: string };

export interface RepairEffectInput {
  operationId: string;
  clusterName: string;
  survivor: string;
}
export interface RepairNodesInput extends RepairEffectInput {
  nodes: string[];
}
export interface RepairEffectResult {
  changed: string[];
  skipped: string[];
}
export interface VerifyResult {
  /** the survivor's rows per table at the position every node was compared at */
  rows: Record<string, number>;
  /** per table, the highest replication position (last_committed) the counts were compared at */
  positions?: Record<string, number>;
}

const notProvided = <T>(name: string) =>
  fromPromise<T, never>(async () => {
    throw new Error(`actor '${name}' was not provided: bind the actors with splitBrainRepairMachine.provide({ actors })`);
  });

/** Every node of the plan is primary + synced in the survivor's component. */
export function allInSurvivor(context: Pick<RepairContext, 'survivor' | 'survivorGroup' | 'losers'>, nodes: readonly RepairObservedNode[]): boolean {
  const s = nodes.find((n) => n.name === context.survivor);
  if (!s || !s.synced || s.uuid === undefined) return false;
  return [...context.survivorGroup, ...context.losers].every((name) => {
    const n = nodes.find((x) => x.name === name);
    return n !== undefined && n.synced && n.uuid === s.uuid && (n.name === s.name || s.view.includes(n.apiAddress));
  });
}

export const splitBrainRepairMachine = setup({
  types: {
    context: {} as RepairContext,
    events: {} as RepairEvent,
    input: {} as RepairInput,
  },
  actors: {
    bootstrapSurvivor: notProvided<RepairEffectResult>('bootstrapSurvivor') as unknown as ReturnType<typeof fromPromise<RepairEffectResult, RepairEffectInput>>,
    detachLosers: notProvided<RepairEffectResult>('detachLosers') as unknown as ReturnType<typeof fromPromise<RepairEffectResult, RepairNodesInput>>,
    rejoinLosers: notProvided<RepairEffectResult>('rejoinLosers') as unknown as ReturnType<typeof fromPromise<RepairEffectResult, RepairNodesInput>>,
    verifyRows: notProvided<VerifyResult>('verifyRows') as unknown as ReturnType<typeof fromPromise<VerifyResult, RepairNodesInput>>,
    updateNodes: notProvided<RepairEffectResult>('updateNodes') as unknown as ReturnType<typeof fromPromise<RepairEffectResult, RepairEffectInput>>,
  },
  guards: {
    needsBootstrap: ({ context }) => context.bootstrap,
    canRetry: ({ context }) => context.attempts + 1 < context.maxAttempts,
    pastDeadline: ({ context, event }) => event.type === 'observed' && event.at > context.deadlineAt,
    fresh: ({ event }) => event.type === 'observed' && event.fresh !== false,
    survivorPrimary: ({ context, event }) => event.type === 'observed' && event.fresh !== false && event.nodes.some((n) => n.name === context.survivor && n.synced),
    allRejoined: ({ context, event }) => event.type === 'observed' && allInSurvivor(context, event.nodes),
    losersOutside: ({ context, event }) => event.type === 'observed' && event.fresh !== false && event.nodes.some((n) => context.losers.includes(n.name) && n.role === 'standalone'),
  },
  actions: {
    noteError: assign({
      attempts: ({ context }) => context.attempts + 1,
      lastError: ({ event }) => {
        const err = (event as { error?: unknown }).error;
        return err instanceof Error ? err.message : String(err);
      },
    }),
    resetAttempts: assign({ attempts: 0 }),
    noteDeadline: assign({ lastError: ({ context }) => `deadline ${new Date(context.deadlineAt).toISOString()} passed` }),
    noteCancel: assign({ lastError: ({ event }) => (event.type === 'cancel' ? `cancelled: ${event.reason}` : 'cancelled') }),
  },
}).createMachine({
  id: SPLIT_BRAIN_REPAIR_MACHINE,
  context: ({ input }) => ({
    operationId: input.operationId,
    clusterName: input.clusterName,
    survivor: input.survivor,
    survivorGroup: input.survivorGroup,
    bootstrap: input.bootstrap,
    losers: input.losers,
    reason: input.reason,
    startedAt: input.now,
    deadlineAt: input.now + input.timeoutMs,
    attempts: 0,
    maxAttempts: input.maxAttempts ?? 5,
    rejoined: [],
  }),
  initial: 'choosing',
  on: {
    cancel: { target: '.cancelled', actions: 'noteCancel' },
  },
  states: {
    choosing: {
      always: [{ guard: 'needsBootstrap', target: 'bootstrapping' }, { target: 'awaitingSurvivor' }],
    },
    // pc.bootstrap on the survivor only (skipped when it is primary already)
    bootstrapping: {
      invoke: {
        src: 'bootstrapSurvivor',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, survivor: context.survivor }),
        onDone: { target: 'awaitingSurvivor', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'bootstrappingRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    bootstrappingRetry: { on: { observed: [{ guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' }, { guard: 'fresh', target: 'bootstrapping' }] } },
    awaitingSurvivor: {
      on: {
        observed: [
          { guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' },
          { guard: 'survivorPrimary', target: 'detaching' },
        ],
      },
    },
    // DELETE CLUSTER on each losing primary component (its members keep their tables as local ones)
    detaching: {
      invoke: {
        src: 'detachLosers',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, survivor: context.survivor, nodes: context.losers }),
        onDone: { target: 'rejoining', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'detachingRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    detachingRetry: { on: { observed: [{ guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' }, { guard: 'fresh', target: 'detaching' }] } },
    // JOIN CLUSTER ... AT <survivor> for each loser outside the cluster (SST replaces its tables)
    rejoining: {
      invoke: {
        src: 'rejoinLosers',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, survivor: context.survivor, nodes: context.losers }),
        onDone: {
          target: 'settling',
          actions: [
            'resetAttempts',
            assign({ rejoined: ({ context, event }) => [...new Set([...context.rejoined, ...event.output.changed])] }),
          ],
        },
        // a loser still in another component (its DELETE did not take): detach again
        onError: [{ guard: 'canRetry', target: 'detachingRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    // every node primary + synced in the survivor's component
    settling: {
      on: {
        observed: [
          { guard: 'allRejoined', target: 'verifying' },
          { guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' },
          { guard: 'losersOutside', target: 'rejoining' },
        ],
      },
    },
    // rows of every clustered table on every node equal the survivor's
    verifying: {
      invoke: {
        src: 'verifyRows',
        input: ({ context }) => ({
          operationId: context.operationId,
          clusterName: context.clusterName,
          survivor: context.survivor,
          nodes: [...context.survivorGroup, ...context.losers],
        }),
        onDone: { target: 'updatingNodes', actions: ['resetAttempts', assign({ verified: ({ event }) => event.output.rows })] },
        onError: [{ guard: 'canRetry', target: 'verifyingRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    verifyingRetry: { on: { observed: [{ guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' }, { guard: 'fresh', target: 'settling' }] } },
    // ALTER CLUSTER ... UPDATE nodes so the rejoin list names every node
    updatingNodes: {
      invoke: {
        src: 'updateNodes',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, survivor: context.survivor }),
        onDone: { target: 'done' },
        onError: [{ guard: 'canRetry', target: 'updatingNodesRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    updatingNodesRetry: { on: { observed: [{ guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' }, { guard: 'fresh', target: 'updatingNodes' }] } },
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: { type: 'final' },
  },
});

export type SplitBrainRepairMachine = typeof splitBrainRepairMachine;

/** Human step names of the states, for the operation record. */
export const REPAIR_STEPS: Record<string, string> = {
  choosing: 'plan',
  bootstrapping: 'pc.bootstrap survivor',
  bootstrappingRetry: 'pc.bootstrap survivor',
  awaitingSurvivor: 'wait for survivor primary',
  detaching: 'detach losing side',
  detachingRetry: 'detach losing side',
  rejoining: 'rejoin survivor (SST)',
  settling: 'wait for every node synced',
  verifying: 'verify rows',
  verifyingRetry: 'verify rows',
  updatingNodes: 'update nodes_set',
  updatingNodesRetry: 'update nodes_set',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** Progress (0-100) of a state, for the operation record. */
export const REPAIR_PROGRESS: Record<string, number> = {
  choosing: 0,
  bootstrapping: 10,
  bootstrappingRetry: 10,
  awaitingSurvivor: 20,
  detaching: 30,
  detachingRetry: 30,
  rejoining: 45,
  settling: 70,
  verifying: 85,
  verifyingRetry: 85,
  updatingNodes: 95,
  updatingNodesRetry: 95,
  done: 100,
  failed: 100,
  cancelled: 100,
};
