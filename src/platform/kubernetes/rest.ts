/**
 * A small typed-by-caller REST client of the Kubernetes API over node:http(s). `@kubernetes/client-node`
 * supplies the configuration (in-cluster service account, a KUBECONFIG file, or explicit options) and
 * the authentication (bearer token, client certificates, CA, exec plugins) through
 * `KubeConfig.applyToHTTPSOptions`; requests, watches and patches are made here so the driver controls
 * content types (merge patch), resourceVersion handling and errors (409, 410) exactly.
 * `@kubernetes/client-node` is imported only when a Kubernetes configuration is loaded: it is a large
 * module, and every other platform's processes would pay for it at startup.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import { AppError } from '../../lib/errors.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** A Kubernetes API error: HTTP status plus the `Status` object's reason and message. */
export class KubeApiError extends AppError {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string, method: string, path: string) {
    super('KUBERNETES_API_ERROR', `${method} ${path}: ${status} ${reason}: ${message}`, {
      retryable: status === 409 || status === 429 || status >= 500,
      details: { status, reason },
    });
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export function isKubeStatus(err: unknown, status: number): boolean {
  return err instanceof KubeApiError && err.status === status;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface KubeList<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T> {
  type: WatchEventType;
  /** the object; for ERROR a `Status` ({code, reason, message}) */
  object: T;
}

export interface RequestInput {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** default application/json; patches name theirs (application/merge-patch+json) */
  contentType?: string;
  timeoutMs?: number;
}

export interface KubeRestOptions {
  /** the configuration, or how to load it (on the first request) */
  config: KubeConfig | (() => Promise<KubeConfig>);
  requestTimeoutMs?: number;
}

/** Loads the configuration: a KUBECONFIG file when named, else the in-cluster service account. */
export async function loadKubeConfig(input: { kubeconfig?: string; inCluster: boolean }): Promise<KubeConfig> {
  if (input.kubeconfig === undefined && !input.inCluster) {
    throw new AppError(
      'KUBERNETES_CONFIG_MISSING',
      'PLATFORM=kubernetes needs the API server: run in a pod (service account) or set KUBECONFIG to a kubeconfig file',
    );
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (input.kubeconfig !== undefined) kc.loadFromFile(input.kubeconfig);
  else kc.loadFromCluster();
  return kc;
}

function serverOf(kc: KubeConfig): string {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new AppError('KUBERNETES_CONFIG_MISSING', 'the kubeconfig has no current cluster: set its current-context');
  return cluster.server.replace(/\/+$/, '');
}

function queryString(query: RequestInput['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

export class KubeRest {
  private readonly source: KubeRestOptions['config'];
  private loaded: Promise<{ kc: KubeConfig; server: string }> | undefined;
  private readonly timeoutMs: number;

  constructor(options: KubeRestOptions) {
    this.source = options.config;
    if (typeof options.config !== 'function') {
      const kc = options.config;
      this.loaded = Promise.resolve({ kc, server: serverOf(kc) });
    }
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** The configuration and the API server URL (loaded once; a failed load is retried on the next request). */
  private config(): Promise<{ kc: KubeConfig; server: string }> {
    if (this.loaded === undefined) {
      const load = this.source as () => Promise<KubeConfig>;
      this.loaded = load().then((kc) => ({ kc, server: serverOf(kc) }));
      this.loaded.catch(() => {
        this.loaded = undefined;
      });
    }
    return this.loaded;
  }

  get<T>(path: string, query?: RequestInput['query']): Promise<T> {
    return this.request<T>('GET', path, query === undefined ? {} : { query });
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  /** JSON merge patch (RFC 7386): with metadata.resourceVersion in the body it fails with 409 on a stale version. */
  mergePatch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json' });
  }

  delete<T>(path: string, query?: RequestInput['query']): Promise<T> {
    return this.request<T>('DELETE', path, query === undefined ? {} : { query });
  }

  async request<T>(method: string, path: string, input: RequestInput = {}): Promise<T> {
    const payload = input.body === undefined ? undefined : Buffer.from(JSON.stringify(input.body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = input.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const res = await this.open(method, `${path}${queryString(input.query)}`, headers, input.timeoutMs ?? this.timeoutMs, payload);
    const text = await readBody(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(status, text, method, path);
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  /**
   * One watch request: calls `onEvent` per line until the server ends the stream (resolves), the
   * signal aborts (resolves) or the request fails (rejects; a non-2xx answer is a KubeApiError).
   */
  async watch<T>(path: string, query: RequestInput['query'], onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    const timeoutSeconds = Number(query?.timeoutSeconds ?? 300);
    const res = await this.open('GET', `${path}${queryString({ ...query, watch: true })}`, { accept: 'application/json' }, (timeoutSeconds + 30) * 1000, undefined, signal);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(status, await readBody(res), 'GET', path);
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      const onAbort = (): void => {
        res.destroy();
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      lines.on('line', (line) => {
        if (line.trim() === '') return;
        let event: WatchEvent<T>;
        try {
          event = JSON.parse(line) as WatchEvent<T>;
        } catch {
          return; // a torn line at the end of a closed stream
        }
        onEvent(event);
      });
      lines.on('close', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      res.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) resolve();
        else reject(err);
      });
    });
  }

  private async open(method: string, pathAndQuery: string, headers: Record<string, string>, timeoutMs: number, payload?: Buffer, signal?: AbortSignal): Promise<IncomingMessage> {
    const { kc, server } = await this.config();
    const url = new URL(`${server}${pathAndQuery}`);
    const options: RequestOptions & { headers: Record<string, string> } = { method, headers: {} };
    await kc.applyToHTTPSOptions(options);
    const auth = options.headers as Record<string, string>;
    const requestOptions: RequestOptions = {
      ...options,
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: { ...auth, ...headers },
      timeout: timeoutMs,
      ...(signal === undefined ? {} : { signal }),
    };
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(requestOptions, resolve);
      req.on('timeout', () => req.destroy(new AppError('KUBERNETES_TIMEOUT', `${method} ${url.pathname}: no answer within ${timeoutMs} ms`, { retryable: true })));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function apiError(status: number, text: string, method: string, path: string): KubeApiError {
  let reason = '';
  let message = text.slice(0, 300);
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    reason = s.reason ?? '';
    message = s.message ?? message;
  } catch {
    // not a Status object
  }
  return new KubeApiError(status, reason || String(status), message, method, path);
}
