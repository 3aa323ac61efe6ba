/**
 * The reconcile work queue (DESIGN.md section 3), in the manner of controller-runtime's workqueue:
 *
 * - keys are strings (`cluster/<name>`, `table/<cluster>/<table>`, `backup/<cluster>/<schedule>`);
 * - dedupe: a key queued twice (and not yet started) runs once;
 * - one pass in flight per key: a key added while its pass runs is queued again when the pass ends;
 * - `addAfter(key, ms)`: an explicit delay; when a key has several pending delays the earliest wins;
 * - `addRateLimited(key)`: capped exponential backoff per key (base·2^failures, up to max);
 *   `forget(key)` resets it (the queue does so itself after a pass that did not throw);
 * - bounded concurrency across keys;
 * - `shutdown()` stops taking work, cancels delays and waits for the passes in flight.
 *
 * The queue runs the handler itself: a pass that throws is re-queued with backoff; a pass that returns
 * `{ requeueAfterMs }` is re-queued after that delay. Time comes from an injectable Clock.
 */
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export const DEFAULT_QUEUE_CONCURRENCY = 4;
export const DEFAULT_BACKOFF_BASE_MS = 200;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;

/** What a pass may ask for: run again after a delay (e.g. a faster resync while not Ready). */
export type PassResult = void | { requeueAfterMs?: number };

export type QueueHandler = (key: string) => Promise<PassResult>;

export interface WorkQueueOptions {
  handler: QueueHandler;
  concurrency?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Delayed {
  at: number;
  timer: TimerHandle;
}

export class WorkQueue {
  private readonly handler: QueueHandler;
  private readonly concurrency: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;

  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, Delayed>();
  private readonly failures = new Map<string, number>();
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(options: WorkQueueOptions) {
    this.handler = options.handler;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_QUEUE_CONCURRENCY);
    this.baseMs = options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.maxMs = options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
  }

  /** Queues `key` now (no-op when it is already queued; re-run after the pass when it is in flight). */
  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.pump();
  }

  /** Queues `key` after `ms`; if a delay for the key is already pending, the earlier of the two wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing !== undefined) {
      if (existing.at <= at) return;
      existing.timer.cancel();
    }
    const timer = this.clock.setTimer(ms, () => {
      const current = this.delayed.get(key);
      if (current?.timer === timer) this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { at, timer });
  }

  /** Queues `key` after its backoff delay (base·2^failures, capped) and counts a failure; returns the delay. */
  addRateLimited(key: string): number {
    const delay = this.backoffFor(key);
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    this.addAfter(key, delay);
    return delay;
  }

  /** The delay the next addRateLimited(key) would use. */
  backoffFor(key: string): number {
    const n = this.failures.get(key) ?? 0;
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n, 30));
  }

  /** Resets the key's backoff. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failures counted for `key` since its last success. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys waiting to run (not counting delayed ones or those in flight). */
  length(): number {
    return this.ready.length;
  }

  inFlight(): string[] {
    return [...this.processing.keys()];
  }

  /** When `key` is due to be added by a pending delay (epoch ms), if any. */
  delayedUntil(key: string): number | undefined {
    return this.delayed.get(key)?.at;
  }

  /** Resolves when nothing is queued or in flight (pending delays do not count). */
  whenIdle(): Promise<void> {
    if (this.ready.length === 0 && this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work, cancels pending delays, and waits for the passes in flight to end. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const d of this.delayed.values()) d.timer.cancel();
    this.delayed.clear();
    for (const key of this.ready) this.queued.delete(key);
    this.ready.length = 0;
    this.dirty.clear();
    await Promise.allSettled([...this.processing.values()]);
    this.notifyIdle();
  }

  isShutDown(): boolean {
    return this.stopped;
  }

  private pump(): void {
    while (!this.stopped && this.processing.size < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift();
      if (key === undefined) break;
      this.queued.delete(key);
      const pass = this.run(key);
      this.processing.set(key, pass);
    }
    this.notifyIdle();
  }

  private async run(key: string): Promise<void> {
    // yield once so processing.set() above happens before the handler can re-add the key
    await Promise.resolve();
    try {
      const result = await this.handler(key);
      this.forget(key);
      const after = result && typeof result === 'object' ? result.requeueAfterMs : undefined;
      if (after !== undefined && !this.stopped) this.addAfter(key, after);
    } catch (err) {
      if (!this.stopped) {
        const delay = this.addRateLimited(key);
        this.logger?.warn('reconcile pass failed', { key, err: errorMessage(err), retryInMs: delay, failures: this.numRequeues(key) });
      }
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key) && !this.stopped) {
        this.queued.add(key);
        this.ready.push(key);
      }
      this.pump();
    }
  }

  private notifyIdle(): void {
    if (this.ready.length > 0 || this.processing.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
