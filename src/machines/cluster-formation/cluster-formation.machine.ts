/**
 * Cluster formation, rejoin, full-stop recovery and forced bootstrap as ONE xstate v5 machine
 * (DESIGN.md section 4). See README.md beside this file for the states.
 *
 * Context holds decisions only (operation id, source, mode, the nodes to release/join, deadlines as
 * timestamps). Observations arrive as `observed` events from every reconcile pass; waits compare
 * the event's timestamp with the deadlines (no `after` timers, so a restored snapshot resumes).
 * Every effect is a named promise actor (cluster-formation.actors.ts) keyed by operation id + node
 * and safe to repeat.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { RecoveryMode, NodeRole } from '../../reconcile/cluster-decide.js';

export const CLUSTER_FORMATION_MACHINE = 'cluster-formation';
/** Bump when states or context change shape: persisted snapshots of another version are dropped. */
export const CLUSTER_FORMATION_VERSION = 1;

/** How the operation starts. */
export type FormationMode = 'create' | 'join' | RecoveryMode;

export type FormationKind = 'cluster-formation' | 'cluster-join' | 'full-stop-recovery' | 'forced-bootstrap';

export interface FormationInput {
  operationId: string;
  kind: FormationKind;
  clusterName: string;
  /** creator, donor, or recovery source */
  source: string;
  mode: FormationMode;
  /** nodes to release from the gate and/or join (every node but the source) */
  others: string[];
  reason: string;
  /** epoch ms */
  now: number;
  /** whole-operation budget */
  timeoutMs: number;
  /** repeated failures of one effect before the operation fails */
  maxAttempts?: number;
}

export interface FormationContext {
  operationId: string;
  kind: FormationKind;
  clusterName: string;
  source: string;
  mode: FormationMode;
  others: string[];
  reason: string;
  startedAt: number;
  deadlineAt: number;
  attempts: number;
  maxAttempts: number;
  lastError?: string;
  /** last time a step made progress (epoch ms of the event that moved it) */
  stepStartedAt: number;
}

/** One node's state as a reconcile pass saw it (what the waits need; carried by the event, not kept). */
export interface ObservedNode {
  name: string;
  role: NodeRole;
  /** member and primary */
  primary: boolean;
  /** member, primary and synced */
  synced: boolean;
  uuid?: string;
}

export type FormationEvent =
  | { type: 'observed'; at: number; nodes: ObservedNode[] }
  | { type: 'cancel'; reason: string };

// ---- actor contracts (implemented in cluster-formation.actors.ts) ------------------------------

export interface EffectBase {
  operationId: string;
  clusterName: string;
}
export interface NodeEffectInput extends EffectBase {
  node: string;
}
export interface StartDecisionInput extends NodeEffectInput {
  mode: 'new-cluster' | 'new-cluster-force' | 'normal';
  reason: string;
}
export interface NodesEffectInput extends EffectBase {
  nodes: string[];
  reason: string;
}
export interface JoinNodesInput extends EffectBase {
  nodes: string[];
  donor: string;
}

/** Effect results: what was done now (false: it was already so). */
export interface EffectResult {
  changed: string[];
  skipped: string[];
}

const notProvided = (name: string) =>
  fromPromise<EffectResult, never>(async () => {
    throw new Error(`actor '${name}' was not provided: bind the actors with clusterFormationMachine.provide({ actors })`);
  });

export const clusterFormationMachine = setup({
  types: {
    context: {} as FormationContext,
    events: {} as FormationEvent,
    input: {} as FormationInput,
  },
  actors: {
    createCluster: notProvided('createCluster') as unknown as ReturnType<typeof fromPromise<EffectResult, NodeEffectInput>>,
    putStartDecision: notProvided('putStartDecision') as unknown as ReturnType<typeof fromPromise<EffectResult, StartDecisionInput>>,
    pcBootstrap: notProvided('pcBootstrap') as unknown as ReturnType<typeof fromPromise<EffectResult, NodeEffectInput>>,
    releaseNodes: notProvided('releaseNodes') as unknown as ReturnType<typeof fromPromise<EffectResult, NodesEffectInput>>,
    joinNodes: notProvided('joinNodes') as unknown as ReturnType<typeof fromPromise<EffectResult, JoinNodesInput>>,
    updateNodes: notProvided('updateNodes') as unknown as ReturnType<typeof fromPromise<EffectResult, NodeEffectInput>>,
  },
  guards: {
    modeCreate: ({ context }) => context.mode === 'create' || context.mode === 'create-from-local',
    modeJoin: ({ context }) => context.mode === 'join',
    modeStart: ({ context }) => context.mode === 'new-cluster' || context.mode === 'new-cluster-force',
    modePcBootstrap: ({ context }) => context.mode === 'pc-bootstrap',
    isRecovery: ({ context }) => context.mode !== 'create' && context.mode !== 'join',
    canRetry: ({ context }) => context.attempts + 1 < context.maxAttempts,
    pastDeadline: ({ context, event }) => event.type === 'observed' && event.at > context.deadlineAt,
    sourcePrimary: ({ context, event }) => event.type === 'observed' && event.nodes.some((n) => n.name === context.source && n.synced),
    // a node the platform no longer lists (scaled away) is not waited for
    allSynced: ({ context, event }) => {
      if (event.type !== 'observed') return false;
      const wanted = [context.source, ...context.others].filter((w) => event.nodes.some((n) => n.name === w));
      return wanted.length > 0 && wanted.every((w) => event.nodes.some((n) => n.name === w && n.synced));
    },
    // the source went down and waits at its gate, or is gone: nothing this operation does can finish it
    sourceLost: ({ context, event }) => event.type === 'observed' && !event.nodes.some((n) => n.name === context.source && n.role !== 'held'),
    othersHeld: ({ context, event }) => event.type === 'observed' && event.nodes.some((n) => context.others.includes(n.name) && n.role === 'held'),
    othersOutside: ({ context, event }) => event.type === 'observed' && event.nodes.some((n) => context.others.includes(n.name) && n.role === 'standalone'),
    isObserved: ({ event }) => event.type === 'observed',
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
    noteSourceLost: assign({
      lastError: ({ context }) => `${context.source} went down (or was removed) before every node was synced: the next pass decides again from what the nodes say`,
    }),
    noteCancel: assign({ lastError: ({ event }) => (event.type === 'cancel' ? `cancelled: ${event.reason}` : 'cancelled') }),
    stampStep: assign({ stepStartedAt: ({ context, event }) => (event.type === 'observed' ? event.at : context.stepStartedAt) }),
  },
}).createMachine({
  id: CLUSTER_FORMATION_MACHINE,
  context: ({ input }) => ({
    operationId: input.operationId,
    kind: input.kind,
    clusterName: input.clusterName,
    source: input.source,
    mode: input.mode,
    others: input.others,
    reason: input.reason,
    startedAt: input.now,
    deadlineAt: input.now + input.timeoutMs,
    attempts: 0,
    maxAttempts: input.maxAttempts ?? 5,
    stepStartedAt: input.now,
  }),
  initial: 'choosing',
  on: {
    cancel: { target: '.cancelled', actions: 'noteCancel' },
  },
  states: {
    choosing: {
      always: [
        { guard: 'modeCreate', target: 'creating' },
        { guard: 'modeJoin', target: 'joining' },
        { guard: 'modeStart', target: 'startingSource' },
        { guard: 'modePcBootstrap', target: 'bootstrappingSource' },
        { target: 'failed' },
      ],
    },
    // CREATE CLUSTER on the source (skipped when it already has the cluster)
    creating: {
      invoke: {
        src: 'createCluster',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, node: context.source }),
        onDone: { target: 'awaitingSource', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'creatingRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    creatingRetry: { on: { observed: [{ guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' }, { target: 'creating' }] } },
    // PUT the start decision (--new-cluster / --new-cluster-force) on the held source
    startingSource: {
      invoke: {
        src: 'putStartDecision',
        input: ({ context }) => ({
          operationId: context.operationId,
          clusterName: context.clusterName,
          node: context.source,
          mode: context.mode === 'new-cluster-force' ? ('new-cluster-force' as const) : ('new-cluster' as const),
          reason: context.reason,
        }),
        onDone: { target: 'awaitingSource', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'startingSourceRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    startingSourceRetry: { on: { observed: [{ guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' }, { target: 'startingSource' }] } },
    // SET CLUSTER ... 'pc.bootstrap' = 1 on the non-primary source
    bootstrappingSource: {
      invoke: {
        src: 'pcBootstrap',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, node: context.source }),
        onDone: { target: 'awaitingSource', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'bootstrappingSourceRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    bootstrappingSourceRetry: { on: { observed: [{ guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' }, { target: 'bootstrappingSource' }] } },
    // wait until the source is primary + synced
    awaitingSource: {
      on: {
        observed: [
          { guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' },
          { guard: 'sourcePrimary', target: 'afterSource', actions: 'stampStep' },
        ],
      },
    },
    afterSource: {
      always: [{ guard: 'isRecovery', target: 'releasing' }, { target: 'joining' }],
    },
    // PUT normal on every other node that holds at the gate
    releasing: {
      invoke: {
        src: 'releaseNodes',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, nodes: context.others, reason: `rejoin '${context.clusterName}' on ${context.source}` }),
        onDone: { target: 'settling', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'releasingRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    releasingRetry: { on: { observed: [{ guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' }, { target: 'releasing' }] } },
    // JOIN CLUSTER the nodes still outside, one by one (skips members)
    joining: {
      invoke: {
        src: 'joinNodes',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, nodes: context.others, donor: context.source }),
        onDone: { target: 'settling', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'joiningRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    joiningRetry: { on: { observed: [{ guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' }, { target: 'joining' }] } },
    // wait for every node primary + synced; release late held nodes, join leftovers
    settling: {
      on: {
        observed: [
          { guard: 'allSynced', target: 'updatingNodes', actions: 'stampStep' },
          { guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' },
          { guard: 'sourceLost', target: 'failed', actions: 'noteSourceLost' },
          { guard: 'othersHeld', target: 'releasing' },
          { guard: 'othersOutside', target: 'joining' },
        ],
      },
    },
    // ALTER CLUSTER ... UPDATE nodes so nodes_set matches the membership
    updatingNodes: {
      invoke: {
        src: 'updateNodes',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, node: context.source }),
        onDone: { target: 'done' },
        onError: [{ guard: 'canRetry', target: 'updatingNodesRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    updatingNodesRetry: { on: { observed: [{ guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' }, { target: 'updatingNodes' }] } },
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: { type: 'final' },
  },
});

export type ClusterFormationMachine = typeof clusterFormationMachine;

/** Human step names of the states, for the operation history. */
export const FORMATION_STEPS: Record<string, string> = {
  choosing: 'choose',
  creating: 'create cluster',
  creatingRetry: 'create cluster',
  startingSource: 'start source',
  startingSourceRetry: 'start source',
  bootstrappingSource: 'pc.bootstrap source',
  bootstrappingSourceRetry: 'pc.bootstrap source',
  awaitingSource: 'wait for source primary',
  afterSource: 'wait for source primary',
  releasing: 'release held nodes',
  releasingRetry: 'release held nodes',
  joining: 'join nodes',
  joiningRetry: 'join nodes',
  settling: 'wait for all synced',
  updatingNodes: 'update nodes_set',
  updatingNodesRetry: 'update nodes_set',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
};
