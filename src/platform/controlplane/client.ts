/**
 * A small client of the Control Plane REST API (deployment.md §2): fetch, `Authorization: Bearer
 * <token>` (or the raw token), JSON bodies, a timeout per attempt, and retries of 429 and 5xx (and
 * network failures) with exponential backoff + jitter that honours `Retry-After`. A POST is retried only
 * when the API cannot have acted on it (429, 503, a refused connection) unless the caller says it is
 * safe. Every error is an AppError whose message names the request (`GET /org/acme/gvc/prod/...`).
 */
import { AppError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';

export interface CplnClientOptions {
  /** base URL, e.g. http://api.cpln.io */
  endpoint: string;
  token: string;
  /** default `bearer` */
  authHeader?: 'bearer' | 'raw';
  /** per attempt (default 30 s) */
  timeoutMs?: number;
  /** attempts in all, the first included (default 5) */
  attempts?: number;
  /** first backoff (default 500 ms), doubled each retry */
  baseDelayMs?: number;
  /** cap of one wait, Retry-After included (default 30 s) */
  maxDelayMs?: number;
  logger?: Logger;
  /** tests: replaces the wait between attempts */
  sleep?: (ms: number) => Promise<void>;
  /** tests: the jitter source (default Math.random) */
  random?: () => number;
}

export interface CplnResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** parsed JSON body, or undefined when the body is empty or not JSON */
  body: T | undefined;
  text: string;
}

export interface CplnRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /** a POST that is safe to send twice (a query): retried like a GET */
  idempotent?: boolean;
  signal?: AbortSignal;
}

export const DEFAULT_CPLN_TIMEOUT_MS = 30_000;

/** `Bearer <token>` unless the token already carries the scheme (case-insensitive), or the raw token. */
export function authorizationHeader(token: string, form: 'bearer' | 'raw' = 'bearer'): string {
  const t = token.trim();
  if (form === 'raw') return t;
  return /^bearer\s+/i.test(t) ? `Bearer ${t.replace(/^bearer\s+/i, '')}` : `Bearer ${t}`;
}

/** Retry-After in ms (delta seconds or an HTTP date), undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function codeFor(status: number): string {
  if (status === 401 || status === 403) return 'CPLN_UNAUTHORIZED';
  if (status === 404) return 'CPLN_NOT_FOUND';
  if (status === 409) return 'CPLN_CONFLICT';
  if (status === 429) return 'CPLN_RATE_LIMITED';
  if (status >= 500) return 'CPLN_UNAVAILABLE';
  return 'CPLN_REQUEST_FAILED';
}

function hintFor(status: number): string {
  if (status === 401) return ': the token was refused (CPLN_TOKEN is only valid inside its workload, through CPLN_ENDPOINT)';
  if (status === 403) return ": the workload's identity lacks a policy granting this (see manifests/controlplane)";
  if (status === 404) return ': no such object (check CPLN_ORG, CPLN_GVC and the workload names)';
  return '';
}

/** A refused or reset connection never reached the API: safe to resend anything. */
function neverArrived(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

export class CplnClient {
  private readonly o: Required<Omit<CplnClientOptions, 'logger'>> & { logger?: Logger };

  constructor(options: CplnClientOptions) {
    this.o = {
      endpoint: options.endpoint.replace(/\/+$/, ''),
      token: options.token,
      authHeader: options.authHeader ?? 'bearer',
      timeoutMs: options.timeoutMs ?? DEFAULT_CPLN_TIMEOUT_MS,
      attempts: Math.max(1, options.attempts ?? 5),
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms).unref())),
      random: options.random ?? Math.random,
      ...(options.logger ? { logger: options.logger } : {}),
    };
  }

  get endpoint(): string {
    return this.o.endpoint;
  }

  /** GET and parse JSON; throws CPLN_BAD_RESPONSE when the body is not a JSON object. */
  async getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await this.request<T>({ method: 'GET', path, ...(signal ? { signal } : {}) });
    return this.jsonOf(res, 'GET', path);
  }

  jsonOf<T>(res: CplnResponse<T>, method: string, path: string): T {
    if (res.body === undefined || res.body === null || typeof res.body !== 'object') {
      throw new AppError('CPLN_BAD_RESPONSE', `${method} ${path}: the answer (HTTP ${res.status}) is not a JSON object: ${JSON.stringify(res.text.slice(0, 200))}`, {
        retryable: true,
        details: { method, path, status: res.status },
      });
    }
    return res.body;
  }

  /** One request with retries; resolves with any status below 400, throws an AppError otherwise. */
  async request<T = unknown>(req: CplnRequest): Promise<CplnResponse<T>> {
    const what = `${req.method} ${req.path}`;
    const retriesAnything = req.method === 'GET' || req.idempotent === true;
    let lastError: AppError | undefined;
    for (let attempt = 1; attempt <= this.o.attempts; attempt++) {
      if (req.signal?.aborted) throw new AppError('CPLN_ABORTED', `${what}: aborted`, { cause: req.signal.reason });
      let retryAfter: number | undefined;
      try {
        const res = await this.once<T>(req);
        if (res.status < 400) return res;
        const err = new AppError(codeFor(res.status), `${what}: HTTP ${res.status}${hintFor(res.status)}${res.text ? ` (${res.text.slice(0, 300)})` : ''}`, {
          retryable: res.status === 429 || res.status >= 500,
          details: { method: req.method, path: req.path, status: res.status },
        });
        const again = res.status === 429 || (res.status >= 500 && (retriesAnything || res.status === 503));
        if (!again) throw err;
        lastError = err;
        retryAfter = retryAfterMs(res.headers.get('retry-after'));
      } catch (err) {
        if (err instanceof AppError && err !== lastError) throw err;
        if (!(err instanceof AppError)) {
          const timedOut = (err as { name?: string }).name === 'TimeoutError';
          const e = new AppError(timedOut ? 'CPLN_TIMEOUT' : 'CPLN_UNREACHABLE', `${what}: ${timedOut ? `no answer within ${this.o.timeoutMs} ms` : errorMessage(err)}`, {
            retryable: true,
            cause: err,
            details: { method: req.method, path: req.path },
          });
          if (req.signal?.aborted) throw new AppError('CPLN_ABORTED', `${what}: aborted`, { cause: req.signal.reason });
          if (!retriesAnything && !neverArrived(err)) throw e;
          lastError = e;
        }
      }
      if (attempt === this.o.attempts) break;
      const backoff = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1));
      const jittered = backoff / 2 + (backoff / 2) * this.o.random();
      const wait = Math.min(this.o.maxDelayMs, Math.max(jittered, retryAfter ?? 0));
      this.o.logger?.debug('cpln request retried', { request: what, attempt, waitMs: Math.round(wait), err: lastError?.message });
      await this.o.sleep(wait);
    }
    throw lastError ?? new AppError('CPLN_UNAVAILABLE', `${what}: failed`, { retryable: true });
  }

  private async once<T>(req: CplnRequest): Promise<CplnResponse<T>> {
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = { authorization: authorizationHeader(this.o.token, this.o.authHeader), accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.o.endpoint}${req.path}`, {
      method: req.method,
      headers,
      signal,
      redirect: 'manual',
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    });
    const text = await res.text();
    let body: T | undefined;
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text) as T;
      } catch {
        body = undefined; // "Created" on 201, or a malformed answer: the caller decides
      }
    }
    return { status: res.status, headers: res.headers, body, text };
  }
}
