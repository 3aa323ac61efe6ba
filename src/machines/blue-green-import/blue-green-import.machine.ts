/**
 * A blue/green import of one table as ONE xstate v5 machine (issue 4, DESIGN.md sections 4-5).
 *
 *   choosing → droppingStale → building → importing → verifying → flipping → verifyingServe
 *            → droppingOld → done
 *
 * Context holds decisions only (operation id, table, old and new slot, build node, expected rows,
 * the nodes already flipped, deadlines as timestamps). Waits between retries compare the `tick`
 * event's timestamp (sent by every reconcile pass) with the deadline: no `after` timers, so a
 * restored snapshot resumes. Every effect is a named promise actor (blue-green-import.actors.ts)
 * keyed by operation id + node and safe to repeat.
 *
 * Failures before the flip drop the partial new slot (`cleaningUp`) and end `failed`: the old slot
 * never stopped serving. A flip that keeps failing on a node after the retries rolls the flipped
 * nodes back (`rollingBack`) so that no node points at a table that is then dropped. `cancel` is
 * taken until the flip starts; from then on the import rolls forward.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { Slot } from '../../domain/names.js';
import type { BulkCheckpoint } from '../../import/bulk-load.js';

export const BLUE_GREEN_IMPORT_MACHINE = 'blue-green-import';
/** Bump when states or context change shape: persisted snapshots of another version are dropped. */
export const BLUE_GREEN_IMPORT_VERSION = 4;

/** What the agent's `build-main` job needs (besides table, slot and outDir). */
export interface BuildSource {
  format: 'csv' | 'tsv';
  header: boolean;
  /** absolute paths or https:// URLs */
  sources: string[];
  memLimit?: string;
  /** absolute, readable by every node's searchd */
  outDir: string;
}

/** The bulk method's options (importMethod "bulk"); sources and format come from `build`. */
export interface BulkOptions {
  /** true/false: declared; 'auto': detected per segment */
  header: boolean | 'auto';
  /** the first field is the document id (else ids are the data rows' positions) */
  idColumn: boolean;
  workers: number;
  batchSize: number;
}

export interface ImportInput {
  operationId: string;
  /** how the new slot is filled (default indexer) */
  method?: 'indexer' | 'bulk';
  /** with method 'bulk' */
  bulk?: BulkOptions;
  clusterName: string;
  table: string;
  clusterMain: boolean;
  /** the nodes taking part (platform list at the start) */
  nodes: string[];
  /** the node that runs the build job */
  buildNode: string;
  build: BuildSource;
  /** epoch ms */
  now: number;
  /** whole-operation budget */
  timeoutMs: number;
  /** repeated failures of one effect before the step gives up */
  maxAttempts?: number;
  /** how long a flip is retried (rolled forward) before the flipped nodes are rolled back (default 120 s) */
  flipTimeoutMs?: number;
  /** first wait before a failed effect runs again; doubled per attempt up to RETRY_MAX_MS (default 1 s) */
  retryBaseMs?: number;
}

/** Longest wait between two attempts of an effect. */
export const RETRY_MAX_MS = 30_000;

export interface ImportContext {
  operationId: string;
  method: 'indexer' | 'bulk';
  bulk?: BulkOptions;
  /** bulk: what is loaded so far (persisted: a restarted controller resumes from it) */
  bulkCheckpoint?: BulkCheckpoint;
  clusterName: string;
  table: string;
  clusterMain: boolean;
  nodes: string[];
  buildNode: string;
  build: BuildSource;
  oldSlot?: Slot;
  newSlot?: Slot;
  /** rows the build produced: every node must count exactly these */
  rowsExpected?: number;
  bytes?: number;
  rtPrefix?: string;
  buildMs?: number;
  /** nodes whose distributed table points at the new slot */
  flipped: string[];
  /** longest DROP + CREATE gap of the flip (0 when every node altered in place) */
  flipGapMs?: number;
  flipDoneAt?: number;
  flipTimeoutMs: number;
  /** set at the first retry of the flip: rolled back only after it and maxAttempts */
  flipDeadlineAt?: number;
  retryBaseMs: number;
  /** when the failed effect runs again (set by the first tick in a retry state) */
  retryAt?: number;
  startedAt: number;
  deadlineAt: number;
  attempts: number;
  maxAttempts: number;
  lastError?: string;
  /** why the import ended early (failed or cancelled) */
  failure?: string;
}

export type ImportEvent = { type: 'tick'; at: number } | { type: 'cancel'; reason: string };

// ---- actor contracts (implemented in blue-green-import.actors.ts) ------------------------------

export interface ImportEffectBase {
  operationId: string;
  clusterName: string;
  table: string;
}

export interface ChooseSlotsInput extends ImportEffectBase {
  nodes: string[];
}
/** The slot every node's distributed table points at; `mixed` lists them when they differ. */
export interface ChooseSlotsResult {
  active?: Slot;
  byNode: Record<string, Slot | 'none'>;
}

export interface DropSlotInput extends ImportEffectBase {
  slot: Slot;
  nodes: string[];
  clusterMain: boolean;
}
export interface BuildInput extends ImportEffectBase {
  node: string;
  slot: Slot;
  build: BuildSource;
}
export interface BuildResult {
  rows: number;
  bytes: number;
  rtPrefix: string;
  durationMs: number;
}
export interface ImportSlotInput extends ImportEffectBase {
  slot: Slot;
  nodes: string[];
  rtPrefix: string;
  rows: number;
  clusterMain: boolean;
}
export interface VerifyInput extends ImportEffectBase {
  slot: Slot;
  nodes: string[];
  rows: number;
}
export interface FlipInput extends ImportEffectBase {
  to: Slot;
  nodes: string[];
}
export interface FlipResult {
  /** nodes pointing at `to` now (changed or already so) */
  flipped: string[];
  failed: { node: string; error: string }[];
  /** DROP + CREATE gap per node that has no Buddy */
  gapsMs: Record<string, number>;
}
export interface CreateSlotInput extends ImportEffectBase {
  slot: Slot;
  nodes: string[];
  clusterMain: boolean;
}
export interface BulkLoadActorInput extends ImportEffectBase {
  slot: Slot;
  nodes: string[];
  clusterMain: boolean;
  build: BuildSource;
  bulk: BulkOptions;
  checkpoint?: BulkCheckpoint;
}
export interface CancelBuildInput extends ImportEffectBase {
  node: string;
}
export interface NodesResult {
  changed: string[];
  skipped: string[];
}

const notProvided = (name: string) =>
  fromPromise<never, never>(async () => {
    throw new Error(`actor '${name}' was not provided: bind the actors with blueGreenImportMachine.provide({ actors })`);
  });

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const blueGreenImportMachine = setup({
  types: {
    context: {} as ImportContext,
    events: {} as ImportEvent,
    input: {} as ImportInput,
  },
  actors: {
    chooseSlots: notProvided('chooseSlots') as unknown as ReturnType<typeof fromPromise<ChooseSlotsResult, ChooseSlotsInput>>,
    dropSlot: notProvided('dropSlot') as unknown as ReturnType<typeof fromPromise<NodesResult, DropSlotInput>>,
    buildMain: notProvided('buildMain') as unknown as ReturnType<typeof fromPromise<BuildResult, BuildInput>>,
    importSlot: notProvided('importSlot') as unknown as ReturnType<typeof fromPromise<NodesResult, ImportSlotInput>>,
    verifyCounts: notProvided('verifyCounts') as unknown as ReturnType<typeof fromPromise<NodesResult, VerifyInput>>,
    flipDistributed: notProvided('flipDistributed') as unknown as ReturnType<typeof fromPromise<FlipResult, FlipInput>>,
    verifyServing: notProvided('verifyServing') as unknown as ReturnType<typeof fromPromise<NodesResult, VerifyInput>>,
    cancelBuild: notProvided('cancelBuild') as unknown as ReturnType<typeof fromPromise<NodesResult, CancelBuildInput>>,
    createSlot: notProvided('createSlot') as unknown as ReturnType<typeof fromPromise<NodesResult, CreateSlotInput>>,
    bulkLoad: notProvided('bulkLoad') as unknown as ReturnType<typeof fromPromise<BulkCheckpoint, BulkLoadActorInput>>,
  },
  guards: {
    canRetry: ({ context }) => context.attempts + 1 < context.maxAttempts,
    /** a retryable error (an AppError says so) and attempts left: a bad source is not read again */
    canRetryRetryable: ({ context, event }) => {
      const err = (event as { error?: { retryable?: unknown } }).error;
      return context.attempts + 1 < context.maxAttempts && (err === undefined || err.retryable !== false);
    },
    isBulk: ({ context }) => context.method === 'bulk',
    bulkFailedBatches: ({ event }) => {
      const out = (event as unknown as { output?: BulkCheckpoint }).output;
      return out !== undefined && out.done && out.failedBatches > 0;
    },
    bulkDone: ({ event }) => (event as unknown as { output?: BulkCheckpoint }).output?.done === true,
    pastDeadline: ({ context, event }) => event.type === 'tick' && event.at > context.deadlineAt,
    retryDue: ({ context, event }) => event.type === 'tick' && context.retryAt !== undefined && event.at >= context.retryAt,
    retryUnscheduled: ({ context }) => context.retryAt === undefined,
    /** every node's distributed table points at the same slot */
    slotsAgree: ({ event }) => {
      const out = (event as unknown as { output?: ChooseSlotsResult }).output;
      if (!out) return false;
      const slots = Object.values(out.byNode);
      return slots.length > 0 && !slots.includes('none') && new Set(slots).size === 1;
    },
    /** some node has no distributed table for the table yet (convergence has not finished) */
    notConverged: ({ event }) => {
      const out = (event as unknown as { output?: ChooseSlotsResult }).output;
      return out !== undefined && Object.values(out.byNode).includes('none');
    },
    /** never drop the slot that serves */
    newSlotIsInactive: ({ context }) => context.newSlot !== undefined && context.oldSlot !== undefined && context.newSlot !== context.oldSlot,
    flipComplete: ({ context, event }) => {
      const out = (event as unknown as { output?: FlipResult }).output;
      return out !== undefined && out.failed.length === 0 && context.nodes.every((n) => out.flipped.includes(n));
    },
    flipGiveUp: ({ context, event }) =>
      event.type === 'tick' && context.attempts >= context.maxAttempts && context.flipDeadlineAt !== undefined && event.at > context.flipDeadlineAt,
  },
  actions: {
    noteError: assign({
      attempts: ({ context }) => context.attempts + 1,
      lastError: ({ event }) => message((event as { error?: unknown }).error),
    }),
    noteFailure: assign({
      failure: ({ context, event }) => {
        const err = (event as { error?: unknown }).error;
        return err !== undefined ? message(err) : (context.lastError ?? 'failed');
      },
      lastError: ({ context, event }) => {
        const err = (event as { error?: unknown }).error;
        return err !== undefined ? message(err) : context.lastError;
      },
    }),
    resetAttempts: assign({ attempts: 0, lastError: undefined, retryAt: undefined }),
    scheduleRetry: assign({
      retryAt: ({ context, event }) =>
        context.retryAt ?? (event.type === 'tick' ? event.at : 0) + Math.min(context.retryBaseMs * 2 ** Math.max(0, context.attempts - 1), RETRY_MAX_MS),
    }),
    clearRetry: assign({ retryAt: undefined }),
    noteDeadline: assign({
      failure: ({ context }) => `deadline ${new Date(context.deadlineAt).toISOString()} passed${context.lastError ? ` (last error: ${context.lastError})` : ''}`,
    }),
    noteCancel: assign({ failure: ({ event }) => (event.type === 'cancel' ? `cancelled: ${event.reason}` : 'cancelled') }),
  },
}).createMachine({
  id: BLUE_GREEN_IMPORT_MACHINE,
  context: ({ input }) => ({
    operationId: input.operationId,
    method: input.method ?? 'indexer',
    ...(input.bulk !== undefined ? { bulk: input.bulk } : {}),
    clusterName: input.clusterName,
    table: input.table,
    clusterMain: input.clusterMain,
    nodes: input.nodes,
    buildNode: input.buildNode,
    build: input.build,
    flipped: [],
    startedAt: input.now,
    deadlineAt: input.now + input.timeoutMs,
    attempts: 0,
    maxAttempts: input.maxAttempts ?? 5,
    flipTimeoutMs: input.flipTimeoutMs ?? 120_000,
    retryBaseMs: input.retryBaseMs ?? 1_000,
  }),
  initial: 'choosing',
  states: {
    // read the slot every node serves; refuse when they differ (MixedSlots: repair first)
    choosing: {
      on: { cancel: { target: 'cancelled', actions: 'noteCancel' } },
      invoke: {
        src: 'chooseSlots',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, nodes: context.nodes }),
        onDone: [
          {
            guard: 'slotsAgree',
            target: 'droppingStale',
            actions: [
              assign(({ event }) => {
                const seen = Object.values(event.output.byNode).find((s): s is Slot => s !== 'none');
                const old: Slot = seen ?? event.output.active ?? 'a';
                return { oldSlot: old, newSlot: old === 'a' ? ('b' as const) : ('a' as const) };
              }),
              'resetAttempts',
            ],
          },
          {
            guard: 'notConverged',
            target: 'failed',
            actions: assign({
              failure: ({ event }) =>
                `the table is not set up on every node yet (no distributed table on ${Object.entries(event.output.byNode)
                  .filter(([, s]) => s === 'none')
                  .map(([n]) => n)
                  .join(', ')}): wait until TablesConverged is True, then import`,
            }),
          },
          {
            target: 'failed',
            actions: assign({
              failure: ({ event }) =>
                `nodes serve different slots (${Object.entries(event.output.byNode)
                  .map(([n, s]) => `${n}=${s}`)
                  .join(', ')}): the table must serve one slot before an import (MixedSlots)`,
            }),
          },
        ],
        onError: [{ guard: 'canRetry', target: 'choosingRetry', actions: 'noteError' }, { target: 'failed', actions: ['noteError', 'noteFailure'] }],
      },
    },
    choosingRetry: {
      on: {
        cancel: { target: 'cancelled', actions: 'noteCancel' },
        tick: [
          { guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' },
          { guard: 'retryDue', target: 'choosing', actions: 'clearRetry' },
          { guard: 'retryUnscheduled', actions: 'scheduleRetry' },
        ],
      },
    },
    // DROP any leftover <t>_main_<new> (a past failed import) — never the serving slot
    droppingStale: {
      on: { cancel: { target: 'cancelling', actions: 'noteCancel' } },
      always: { guard: ({ context }) => context.newSlot === undefined || context.newSlot === context.oldSlot, target: 'failed' },
      invoke: {
        src: 'dropSlot',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, slot: context.newSlot!, nodes: context.nodes, clusterMain: context.clusterMain }),
        onDone: [
          { guard: 'isBulk', target: 'creatingSlot', actions: 'resetAttempts' },
          { target: 'building', actions: 'resetAttempts' },
        ],
        onError: [{ guard: 'canRetry', target: 'droppingStaleRetry', actions: 'noteError' }, { target: 'failed', actions: ['noteError', 'noteFailure'] }],
      },
    },
    droppingStaleRetry: {
      on: {
        cancel: { target: 'cancelling', actions: 'noteCancel' },
        tick: [
          { guard: 'pastDeadline', target: 'failed', actions: 'noteDeadline' },
          { guard: 'retryDue', target: 'droppingStale', actions: 'clearRetry' },
          { guard: 'retryUnscheduled', actions: 'scheduleRetry' },
        ],
      },
    },
    // bulk: CREATE TABLE <t>_main_<new> (the spec's columns) on every node, or on one + ALTER CLUSTER ADD
    // (a cancel here or while loading drops the partial slot: there is no build job to stop)
    creatingSlot: {
      on: { cancel: { target: 'cancelDropping', actions: 'noteCancel' } },
      invoke: {
        src: 'createSlot',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, slot: context.newSlot!, nodes: context.nodes, clusterMain: context.clusterMain }),
        onDone: { target: 'loading', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'creatingSlotRetry', actions: 'noteError' }, { target: 'cleaningUp', actions: ['noteError', 'noteFailure'] }],
      },
    },
    creatingSlotRetry: {
      on: {
        cancel: { target: 'cancelDropping', actions: 'noteCancel' },
        tick: [
          { guard: 'pastDeadline', target: 'cleaningUp', actions: 'noteDeadline' },
          { guard: 'retryDue', target: 'creatingSlot', actions: 'clearRetry' },
          { guard: 'retryUnscheduled', actions: 'scheduleRetry' },
        ],
      },
    },
    // bulk: one chunk of batches per entry (about 2 s), its checkpoint persisted before the next
    loading: {
      on: { cancel: { target: 'cancelDropping', actions: 'noteCancel' } },
      invoke: {
        src: 'bulkLoad',
        input: ({ context }) => ({
          operationId: context.operationId,
          clusterName: context.clusterName,
          table: context.table,
          slot: context.newSlot!,
          nodes: context.nodes,
          clusterMain: context.clusterMain,
          build: context.build,
          bulk: context.bulk!,
          ...(context.bulkCheckpoint !== undefined ? { checkpoint: context.bulkCheckpoint } : {}),
        }),
        onDone: [
          {
            guard: 'bulkFailedBatches',
            target: 'cleaningUp',
            actions: assign(({ event }) => ({
              bulkCheckpoint: event.output,
              failure: `bulk load: ${event.output.failedBatches} of ${event.output.batches} batches failed (${event.output.failedRows} rows not loaded, ${event.output.rows} loaded); first failure: ${event.output.firstError ?? 'unknown'}`,
            })),
          },
          {
            guard: 'bulkDone',
            target: 'verifying',
            actions: [
              assign(({ context, event }) => ({ bulkCheckpoint: event.output, rowsExpected: event.output.rows, bytes: event.output.bytes, buildMs: Date.now() - context.startedAt })),
              'resetAttempts',
            ],
          },
          { target: 'loading', reenter: true, actions: [assign(({ event }) => ({ bulkCheckpoint: event.output })), 'resetAttempts'] },
        ],
        onError: [{ guard: 'canRetryRetryable', target: 'loadingRetry', actions: 'noteError' }, { target: 'cleaningUp', actions: ['noteError', 'noteFailure'] }],
      },
    },
    loadingRetry: {
      on: {
        cancel: { target: 'cancelDropping', actions: 'noteCancel' },
        tick: [
          { guard: 'pastDeadline', target: 'cleaningUp', actions: 'noteDeadline' },
          { guard: 'retryDue', target: 'loading', actions: 'clearRetry' },
          { guard: 'retryUnscheduled', actions: 'scheduleRetry' },
        ],
      },
    },
    // the agent's build-main job on one node (idempotent by job id: a repeat returns the same job)
    building: {
      on: { cancel: { target: 'cancelling', actions: 'noteCancel' } },
      invoke: {
        src: 'buildMain',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, node: context.buildNode, slot: context.newSlot!, build: context.build }),
        onDone: {
          target: 'importing',
          actions: [
            assign(({ event }) => ({ rowsExpected: event.output.rows, bytes: event.output.bytes, rtPrefix: event.output.rtPrefix, buildMs: event.output.durationMs })),
            'resetAttempts',
          ],
        },
        // a failed build is not retried here: its error names the file, line and reason
        onError: { target: 'cleaningUp', actions: ['noteError', 'noteFailure'] },
      },
    },
    // IMPORT TABLE <t>_main_<new> on every node (or one node + ALTER CLUSTER ADD when clusterMain)
    importing: {
      on: { cancel: { target: 'cancelling', actions: 'noteCancel' } },
      invoke: {
        src: 'importSlot',
        input: ({ context }) => ({
          operationId: context.operationId,
          clusterName: context.clusterName,
          table: context.table,
          slot: context.newSlot!,
          nodes: context.nodes,
          rtPrefix: context.rtPrefix!,
          rows: context.rowsExpected!,
          clusterMain: context.clusterMain,
        }),
        onDone: { target: 'verifying', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'importingRetry', actions: 'noteError' }, { target: 'cleaningUp', actions: ['noteError', 'noteFailure'] }],
      },
    },
    importingRetry: {
      on: {
        cancel: { target: 'cancelling', actions: 'noteCancel' },
        tick: [
          { guard: 'pastDeadline', target: 'cleaningUp', actions: 'noteDeadline' },
          { guard: 'retryDue', target: 'importing', actions: 'clearRetry' },
          { guard: 'retryUnscheduled', actions: 'scheduleRetry' },
        ],
      },
    },
    // SELECT COUNT(*) FROM <t>_main_<new> on every node == rows
    verifying: {
      on: { cancel: { target: 'cancelling', actions: 'noteCancel' } },
      invoke: {
        src: 'verifyCounts',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, slot: context.newSlot!, nodes: context.nodes, rows: context.rowsExpected! }),
        onDone: { target: 'flipping', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'verifyingRetry', actions: 'noteError' }, { target: 'cleaningUp', actions: ['noteError', 'noteFailure'] }],
      },
    },
    verifyingRetry: {
      on: {
        cancel: { target: 'cancelling', actions: 'noteCancel' },
        tick: [
          { guard: 'pastDeadline', target: 'cleaningUp', actions: 'noteDeadline' },
          { guard: 'retryDue', target: 'verifying', actions: 'clearRetry' },
          { guard: 'retryUnscheduled', actions: 'scheduleRetry' },
        ],
      },
    },
    // every node's distributed table → the new slot (ALTER with Buddy, else DROP + CREATE); roll forward
    flipping: {
      invoke: {
        src: 'flipDistributed',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, to: context.newSlot!, nodes: context.nodes }),
        onDone: [
          {
            guard: 'flipComplete',
            target: 'verifyingServe',
            actions: [
              assign(({ context, event }) => ({
                flipped: [...event.output.flipped],
                flipGapMs: Math.max(context.flipGapMs ?? 0, ...Object.values(event.output.gapsMs)),
              })),
              'resetAttempts',
            ],
          },
          {
            target: 'flippingRetry',
            actions: assign(({ context, event }) => ({
              flipped: [...event.output.flipped],
              flipGapMs: Math.max(context.flipGapMs ?? 0, ...Object.values(event.output.gapsMs)),
              attempts: context.attempts + 1,
              lastError: event.output.failed.map((f) => `${f.node}: ${f.error}`).join('; ') || 'a node did not flip',
            })),
          },
        ],
        onError: { target: 'flippingRetry', actions: 'noteError' },
      },
    },
    // roll forward: retried until maxAttempts AND the flip deadline have passed, then roll back
    flippingRetry: {
      on: {
        tick: [
          {
            guard: 'flipGiveUp',
            target: 'rollingBack',
            actions: assign(({ context }) => ({ failure: `flip failed after ${context.attempts} attempts: ${context.lastError ?? 'a node did not flip'}`, attempts: 0 })),
          },
          { guard: 'pastDeadline', target: 'rollingBack', actions: ['noteDeadline', assign({ attempts: 0 })] },
          { target: 'flipping', actions: assign({ flipDeadlineAt: ({ context, event }) => context.flipDeadlineAt ?? (event.type === 'tick' ? event.at : 0) + context.flipTimeoutMs }) },
        ],
      },
    },
    // the flipped nodes point back at the old slot: no node may point at a table that is then dropped
    rollingBack: {
      invoke: {
        src: 'flipDistributed',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, to: context.oldSlot!, nodes: context.flipped }),
        onDone: [
          {
            guard: ({ context, event }) => event.output.failed.length === 0 && context.flipped.every((n) => event.output.flipped.includes(n)),
            target: 'cleaningUp',
            actions: assign({ flipped: [] }),
          },
          {
            guard: 'canRetry',
            target: 'rollingBackRetry',
            actions: assign(({ context, event }) => ({
              flipped: context.flipped.filter((n) => !event.output.flipped.includes(n)),
              attempts: context.attempts + 1,
              lastError: event.output.failed.map((f) => `${f.node}: ${f.error}`).join('; '),
            })),
          },
          // neither forward nor back: both slots stay (MixedSlots), nothing is dropped
          { target: 'failed', actions: assign(({ context, event }) => ({ flipped: context.flipped.filter((n) => !event.output.flipped.includes(n)) })) },
        ],
        onError: [{ guard: 'canRetry', target: 'rollingBackRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    rollingBackRetry: {
      on: { tick: [{ guard: 'retryDue', target: 'rollingBack', actions: 'clearRetry' }, { guard: 'retryUnscheduled', actions: 'scheduleRetry' }] },
    },
    // SELECT through the distributed table on every node: it points at the new slot and answers
    verifyingServe: {
      entry: assign({ flipDoneAt: ({ context }) => context.flipDoneAt ?? Date.now() }),
      invoke: {
        src: 'verifyServing',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, slot: context.newSlot!, nodes: context.nodes, rows: context.rowsExpected! }),
        onDone: { target: 'droppingOld', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'verifyingServeRetry', actions: 'noteError' }, { target: 'flipping', actions: ['noteError', 'resetAttempts'] }],
      },
    },
    verifyingServeRetry: {
      on: { tick: [{ guard: 'retryDue', target: 'verifyingServe', actions: 'clearRetry' }, { guard: 'retryUnscheduled', actions: 'scheduleRetry' }] },
    },
    // DROP <t>_main_<old> on every node (the flip is done: queries already use the new slot)
    droppingOld: {
      invoke: {
        src: 'dropSlot',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, slot: context.oldSlot!, nodes: context.nodes, clusterMain: context.clusterMain }),
        onDone: { target: 'done', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'droppingOldRetry', actions: 'noteError' }, { target: 'done', actions: 'noteError' }],
      },
    },
    droppingOldRetry: {
      on: { tick: [{ guard: 'retryDue', target: 'droppingOld', actions: 'clearRetry' }, { guard: 'retryUnscheduled', actions: 'scheduleRetry' }] },
    },
    // cancel: stop the build job, then drop the partial new slot
    cancelling: {
      invoke: {
        src: 'cancelBuild',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, node: context.buildNode }),
        onDone: { target: 'cancelDropping' },
        onError: { target: 'cancelDropping', actions: 'noteError' },
      },
    },
    cancelDropping: {
      always: { guard: ({ context }) => !(context.newSlot !== undefined && context.newSlot !== context.oldSlot), target: 'cancelled' },
      invoke: {
        src: 'dropSlot',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, slot: context.newSlot!, nodes: context.nodes, clusterMain: context.clusterMain }),
        onDone: { target: 'cancelled', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'cancelDroppingRetry', actions: 'noteError' }, { target: 'cancelled', actions: 'noteError' }],
      },
    },
    cancelDroppingRetry: {
      on: { tick: [{ guard: 'retryDue', target: 'cancelDropping', actions: 'clearRetry' }, { guard: 'retryUnscheduled', actions: 'scheduleRetry' }] },
    },
    // a failure before the flip: drop the partial new slot, the old slot keeps serving
    cleaningUp: {
      always: { guard: ({ context }) => !(context.newSlot !== undefined && context.newSlot !== context.oldSlot), target: 'failed' },
      invoke: {
        src: 'dropSlot',
        input: ({ context }) => ({ operationId: context.operationId, clusterName: context.clusterName, table: context.table, slot: context.newSlot!, nodes: context.nodes, clusterMain: context.clusterMain }),
        onDone: { target: 'failed', actions: 'resetAttempts' },
        onError: [{ guard: 'canRetry', target: 'cleaningUpRetry', actions: 'noteError' }, { target: 'failed', actions: 'noteError' }],
      },
    },
    cleaningUpRetry: {
      on: { tick: [{ guard: 'retryDue', target: 'cleaningUp', actions: 'clearRetry' }, { guard: 'retryUnscheduled', actions: 'scheduleRetry' }] },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: { type: 'final' },
  },
});

export type BlueGreenImportMachine = typeof blueGreenImportMachine;

/** Human step names of the states, for the operation record. */
export const IMPORT_STEPS: Record<string, string> = {
  choosing: 'choose slot',
  choosingRetry: 'choose slot',
  droppingStale: 'drop stale slot',
  droppingStaleRetry: 'drop stale slot',
  creatingSlot: 'create slot',
  creatingSlotRetry: 'create slot',
  loading: 'bulk load',
  loadingRetry: 'bulk load',
  building: 'build',
  importing: 'import on every node',
  importingRetry: 'import on every node',
  verifying: 'verify rows',
  verifyingRetry: 'verify rows',
  flipping: 'flip',
  flippingRetry: 'flip',
  rollingBack: 'roll back flip',
  rollingBackRetry: 'roll back flip',
  verifyingServe: 'verify serving',
  verifyingServeRetry: 'verify serving',
  droppingOld: 'drop old slot',
  droppingOldRetry: 'drop old slot',
  cancelling: 'cancel build',
  cancelDropping: 'drop partial slot',
  cancelDroppingRetry: 'drop partial slot',
  cleaningUp: 'drop partial slot',
  cleaningUpRetry: 'drop partial slot',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** States in which a cancel is still taken (before the flip). */
export const CANCELLABLE_STATES: readonly string[] = [
  'choosing',
  'choosingRetry',
  'droppingStale',
  'droppingStaleRetry',
  'creatingSlot',
  'creatingSlotRetry',
  'loading',
  'loadingRetry',
  'building',
  'importing',
  'importingRetry',
  'verifying',
  'verifyingRetry',
];
