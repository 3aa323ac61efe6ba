/**
 * An informer: a local cache of one kind of object kept by list + watch, the way client-go's reflector
 * does it:
 * 1. list (the cache becomes exactly the list) and remember the list's resourceVersion;
 * 2. watch from that resourceVersion with allowWatchBookmarks; ADDED/MODIFIED/DELETED update the cache,
 *    BOOKMARK only moves the resourceVersion;
 * 3. a watch the server ends (timeoutSeconds, a proxy) restarts from the last resourceVersion (at once,
 *    or after the backoff delay when it lasted under a second, so a proxy cutting streams cannot spin us);
 * 4. 410 Gone (as an HTTP answer or an ERROR event: the version is too old) relists;
 * 5. any other failure waits with exponential backoff (capped), then relists.
 * Listeners are called after every change of the cache (and after every relist).
 */
import type { Logger } from '../../lib/logger.js';
import { errorMessage } from '../../lib/errors.js';
import { KubeApiError, type KubeList, type KubeObject, type KubeRest, type WatchEvent } from './rest.js';

export interface InformerOptions {
  rest: KubeRest;
  /** collection path, e.g. /api/v1/namespaces/ns/pods */
  path: string;
  /** label or field selectors */
  labelSelector?: string;
  fieldSelector?: string;
  logger: Logger;
  /** server-side watch timeout (default 300 s) */
  watchTimeoutSeconds?: number;
  /** backoff after a failure: first and maximum delay (defaults 500 ms and 30 s) */
  backoffMs?: { initial: number; max: number };
}

export type InformerListener = () => void;

/** a watch that ends sooner than this without a 410 is retried after the backoff delay */
const SHORT_WATCH_MS = 1_000;

export class Informer<T extends KubeObject> {
  private readonly o: InformerOptions;
  private readonly cache = new Map<string, T>();
  private readonly listeners = new Set<InformerListener>();
  private resourceVersion: string | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private syncedOnce = false;
  private syncWaiters: Array<() => void> = [];
  /** counters for logs and tests */
  readonly stats = { lists: 0, watches: 0, gone: 0, failures: 0, bookmarks: 0 };

  constructor(options: InformerOptions) {
    this.o = options;
  }

  /** Objects in the cache, by name. */
  list(): T[] {
    return [...this.cache.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  get(name: string): T | undefined {
    return this.cache.get(name);
  }

  get synced(): boolean {
    return this.syncedOnce;
  }

  /** Replaces one cached object with a newer version the caller received (e.g. the answer to a status patch). */
  update(obj: T): void {
    const current = this.cache.get(obj.metadata.name);
    if (current !== undefined && Number(current.metadata.resourceVersion) > Number(obj.metadata.resourceVersion)) return;
    this.cache.set(obj.metadata.name, obj);
  }

  onChange(listener: InformerListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Starts the list/watch loop; resolves after the first list succeeded or `waitMs` passed. */
  async start(waitMs = 10_000): Promise<void> {
    if (this.loop !== undefined) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
    await this.waitForSync(waitMs);
  }

  waitForSync(waitMs: number): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      timer.unref();
      this.syncWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
    this.listeners.clear();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const backoff = this.o.backoffMs ?? { initial: 500, max: 30_000 };
    let delay = backoff.initial;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        this.stats.watches++;
        const startedAt = Date.now();
        const gone = await this.watchOnce(signal);
        if (gone) {
          this.stats.gone++;
          this.o.logger.info('watch resourceVersion expired (410 Gone): relisting', { path: this.o.path });
          needList = true;
        }
        if (!gone && Date.now() - startedAt < SHORT_WATCH_MS) {
          // a watch ended at once (a proxy cutting streams): back off rather than spin
          await sleep(delay, signal);
          delay = Math.min(delay * 2, backoff.max);
        } else {
          delay = backoff.initial;
        }
      } catch (err) {
        if (signal.aborted) break;
        this.stats.failures++;
        if (err instanceof KubeApiError && err.status === 410) {
          this.stats.gone++;
          needList = true;
          continue;
        }
        this.o.logger.warn('list/watch failed: retrying after a backoff', { path: this.o.path, err: errorMessage(err), delayMs: delay });
        needList = true;
        await sleep(delay, signal);
        delay = Math.min(delay * 2, backoff.max);
      }
    }
  }

  private selectors(): Record<string, string | undefined> {
    return { labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector };
  }

  private async relist(): Promise<void> {
    this.stats.lists++;
    const list = await this.o.rest.get<KubeList<T>>(this.o.path, this.selectors());
    this.cache.clear();
    for (const item of list.items ?? []) this.cache.set(item.metadata.name, item);
    this.resourceVersion = list.metadata?.resourceVersion;
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    this.emit();
  }

  /** One watch; true when the server said the resourceVersion is gone (relist). */
  private async watchOnce(signal: AbortSignal): Promise<boolean> {
    let gone = false;
    let failure: Error | undefined;
    const inner = new AbortController();
    const onAbort = (): void => inner.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.o.rest.watch<T>(
        this.o.path,
        { ...this.selectors(), resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: this.o.watchTimeoutSeconds ?? 300 },
        (event) => {
          if (gone || failure !== undefined) return;
          const outcome = this.apply(event);
          if (outcome === 'gone') {
            gone = true;
            inner.abort();
          } else if (outcome instanceof Error) {
            failure = outcome;
            inner.abort();
          }
        },
        inner.signal,
      );
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (failure !== undefined) throw failure;
    return gone;
  }

  private apply(event: WatchEvent<T>): 'ok' | 'gone' | Error {
    const obj = event.object;
    switch (event.type) {
      case 'BOOKMARK':
        this.stats.bookmarks++;
        if (obj?.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
        return 'ok';
      case 'ERROR': {
        const status = obj as unknown as { code?: number; message?: string; reason?: string };
        if (status.code === 410) return 'gone';
        return new KubeApiError(status.code ?? 500, status.reason ?? 'WatchError', status.message ?? 'watch error event', 'WATCH', this.o.path);
      }
      case 'ADDED':
      case 'MODIFIED':
        this.cache.set(obj.metadata.name, obj);
        break;
      case 'DELETED':
        this.cache.delete(obj.metadata.name);
        break;
      default:
        return 'ok';
    }
    if (obj.metadata.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    this.emit();
    return 'ok';
  }

  private emit(): void {
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch (err) {
        this.o.logger.error('informer listener failed', { path: this.o.path, err: errorMessage(err) });
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
