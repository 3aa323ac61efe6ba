/**
 * A small shape shared by the `backup` and `restore` machines: a sequence of named steps, each an
 * invoked promise actor (provided later with machine.provide({ actors })) that receives the context
 * and returns a patch of it. A failed step is re-entered (a fresh invoke) while it may be retried
 * (attempts < maxAttempts and the error is not final), then the machine goes to the step's failure
 * target. Context holds decisions and figures only (JSON), so the runtime's persisted snapshot
 * resumes at the active step, whose actor is idempotent.
 *
 * Retry waits are done by the actor itself (attempts × retryDelayMs before it acts): no timers in
 * the machine, so a restored snapshot needs no pending delayed event.
 */
import { assign, createMachine, fromPromise } from 'xstate';
import { AppError, errorMessage } from '../../lib/errors.js';

export interface StepContext {
  operationId: string;
  attempts: number;
  maxAttempts: number;
  lastError?: string;
  /** why the operation ended early */
  failure?: string;
  startedAt: number;
  /** duration of each finished step, ms */
  durations: Record<string, number>;
  /** when the current step was entered (epoch ms) */
  stepStartedAt?: number;
}

export interface StepDef<C> {
  /** state name = actor name */
  name: string;
  /** next state after success; a function picks among states by the patched context */
  next: string | ((c: C) => string);
  /** where a final failure goes (default 'failed') */
  onFail?: string;
  /** targets `next` can return (for the machine definition) */
  targets?: string[];
  /** failures here do not set `failure` (clean-up steps keep the first reason) */
  keepFailure?: boolean;
}

/** Codes that are not retried: bad input, refused archives, guards. */
export const FINAL_CODES: ReadonlySet<string> = new Set([
  'VALIDATION_FAILED',
  'NOT_FOUND',
  'ARCHIVE_CORRUPTED',
  'ARCHIVE_INVALID',
  'MANIFEST_MISMATCH',
  'MANIFEST_INVALID',
  'SLOT_SERVING',
  'BACKUP_JOB_FAILED',
  'MIXED_SLOTS',
  'STORAGE_NOT_FOUND',
]);

export function isFinal(err: unknown): boolean {
  return err instanceof AppError && FINAL_CODES.has(err.code);
}

/** Serialisable form of an actor error (xstate keeps the thrown value in the event). */
function reason(err: unknown): string {
  return errorMessage(err);
}

/** Builds the machine: steps in order, then `done`; `failed` is final. */
export function createStepMachine<C extends StepContext, I>(id: string, init: (input: I) => C, steps: readonly StepDef<C>[]) {
  const states: Record<string, unknown> = {};
  for (const s of steps) {
    const nextTargets = typeof s.next === 'string' ? [s.next] : (s.targets ?? []);
    const pick = s.next;
    const onDone =
      typeof pick === 'string'
        ? [{ target: pick, actions: 'applyPatch' }]
        : nextTargets.map((t) => ({ target: t, guard: ({ context, event }: { context: C; event: { output: Partial<C> } }) => pick({ ...context, ...event.output }) === t, actions: 'applyPatch' }));
    states[s.name] = {
      entry: 'markStart',
      invoke: {
        src: s.name,
        input: ({ context }: { context: C }) => context,
        onDone,
        onError: [
          { guard: 'canRetry', target: s.name, reenter: true, actions: 'noteError' },
          { target: s.onFail ?? 'failed', actions: s.keepFailure ? 'noteError' : ['noteError', 'noteFailure'] },
        ],
      },
    };
  }
  states['done'] = { type: 'final' };
  states['failed'] = { type: 'final' };
  const first = steps[0]?.name ?? 'done';
  return createMachine(
    {
      id,
      types: {} as { context: C; input: I },
      context: ({ input }: { input: I }) => init(input),
      initial: first,
      states: states as never,
    },
    {
      guards: {
        canRetry: ({ context, event }: { context: C; event: { error?: unknown } }) => !isFinal(event.error) && context.attempts + 1 < context.maxAttempts,
      } as never,
      actions: {
        markStart: assign({ stepStartedAt: () => Date.now() } as never) as never,
        applyPatch: assign((({ event }: { event: { output?: Partial<C> } }) => ({ ...(event.output ?? {}), attempts: 0, lastError: undefined })) as never) as never,
        noteError: assign((({ context, event }: { context: C; event: { error?: unknown } }) => ({ attempts: context.attempts + 1, lastError: reason(event.error) })) as never) as never,
        noteFailure: assign((({ context, event }: { context: C; event: { error?: unknown } }) => ({ failure: context.failure ?? reason(event.error) })) as never) as never,
      },
    },
  );
}

/** An actor for a step: waits attempts × retryDelayMs, then runs fn. */
export function stepActor<C extends StepContext>(fn: (c: C, signal: AbortSignal) => Promise<Partial<C>>, retryDelayMs: number) {
  return fromPromise<Partial<C>, C>(async ({ input, signal }) => {
    if (input.attempts > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, input.attempts * retryDelayMs);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
    if (signal.aborted) throw new AppError('ABORTED', 'step aborted');
    return fn(input, signal);
  });
}

/** Registers fn under each step name, labelling durations with the name. */
export function stepActors<C extends StepContext>(impl: Record<string, (c: C, signal: AbortSignal) => Promise<Partial<C>>>, retryDelayMs: number) {
  const out: Record<string, ReturnType<typeof stepActor<C>>> = {};
  for (const [name, fn] of Object.entries(impl)) {
    out[name] = stepActor<C>(async (c, signal) => {
      const started = Date.now();
      const patch = await fn(c, signal);
      return { ...patch, durations: { ...c.durations, ...(patch.durations ?? {}), [name]: Date.now() - started } };
    }, retryDelayMs);
  }
  return out;
}
