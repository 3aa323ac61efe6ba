/**
 * The controller's client of an agent: one typed method per route of src/agent/protocol.ts, the
 * bearer token on every request, a per-request timeout, and AppErrors carrying the envelope's code.
 * Network failures, timeouts and 5xx answers are retryable; 4xx are not. /v1/health and /v1/ready
 * answer 503 with data, which is returned as data (a down searchd is an answer, not an error).
 */
import {
  AgentRoutes,
  type AgentHealth,
  type AgentReady,
  type DeclaredTables,
  type Envelope,
  type Grastate,
  type JobRequest,
  type JobStatus,
  type NodeDiskState,
  type StartDecision,
  type StartGate,
} from './protocol.js';
import { AppError, errorMessage } from '../lib/errors.js';

export const DEFAULT_AGENT_TIMEOUT_MS = 5_000;

export interface AgentClientOptions {
  /** e.g. http://127.0.0.1:19500 */
  baseUrl: string;
  token: string;
  /** per request (default DEFAULT_AGENT_TIMEOUT_MS) */
  timeoutMs?: number;
}

export interface RequestOptions {
  /** overrides the client's timeout for this request */
  timeoutMs?: number;
  /** the caller's cancellation */
  signal?: AbortSignal;
}

/** A failed agent request: code from the envelope, or AGENT_UNREACHABLE / AGENT_TIMEOUT / AGENT_BAD_RESPONSE. */
export class AgentError extends AppError {
  readonly status: number | undefined;
  readonly url: string;
  constructor(code: string, message: string, options: { status?: number; url: string; retryable: boolean; cause?: unknown }) {
    super(code, message, { retryable: options.retryable, cause: options.cause, details: { status: options.status, url: options.url } });
    this.name = 'AgentError';
    this.status = options.status;
    this.url = options.url;
  }
}

interface Call {
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  body?: unknown;
  /** statuses whose `{data}` is an answer rather than an error */
  dataOn?: readonly number[];
}

export class AgentClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor(options: AgentClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS;
  }

  health(o?: RequestOptions): Promise<AgentHealth> {
    return this.call({ method: 'GET', path: AgentRoutes.health, dataOn: [503] }, o);
  }

  ready(o?: RequestOptions): Promise<AgentReady> {
    return this.call({ method: 'GET', path: AgentRoutes.ready, dataOn: [503] }, o);
  }

  grastate(o?: RequestOptions): Promise<Grastate> {
    return this.call({ method: 'GET', path: AgentRoutes.grastate }, o);
  }

  state(o?: RequestOptions): Promise<NodeDiskState> {
    return this.call({ method: 'GET', path: AgentRoutes.state }, o);
  }

  /** The start gate's answer, as the start script sees it (asking records `holdingSince` on a hold). */
  startGate(o?: RequestOptions): Promise<StartGate> {
    return this.call({ method: 'GET', path: AgentRoutes.start }, o);
  }

  /** The controller's decision of how this node must start. */
  decideStart(decision: StartDecision, o?: RequestOptions): Promise<StartGate> {
    return this.call({ method: 'PUT', path: AgentRoutes.start, body: decision }, o);
  }

  /** The start script's report that searchd was started (with the decision it got, if any). */
  startStarted(decisionId: string | undefined, o?: RequestOptions): Promise<{ startedAt: string; startedDecisionId?: string }> {
    return this.call({ method: 'POST', path: AgentRoutes.startStarted, body: decisionId === undefined ? {} : { decisionId } }, o);
  }

  declaredTables(o?: RequestOptions): Promise<DeclaredTables> {
    return this.call({ method: 'GET', path: AgentRoutes.declaredTables }, o);
  }

  setDeclaredTables(value: DeclaredTables, o?: RequestOptions): Promise<DeclaredTables> {
    return this.call({ method: 'PUT', path: AgentRoutes.declaredTables, body: value }, o);
  }

  /** Starts a job (idempotent by id: the same request returns the existing job). */
  startJob(req: JobRequest, o?: RequestOptions): Promise<JobStatus> {
    return this.call({ method: 'POST', path: AgentRoutes.jobs, body: req }, o);
  }

  listJobs(o?: RequestOptions): Promise<JobStatus[]> {
    return this.call({ method: 'GET', path: AgentRoutes.jobs }, o);
  }

  job(id: string, o?: RequestOptions): Promise<JobStatus> {
    return this.call({ method: 'GET', path: AgentRoutes.job(id) }, o);
  }

  cancelJob(id: string, o?: RequestOptions): Promise<JobStatus> {
    return this.call({ method: 'POST', path: AgentRoutes.jobCancel(id) }, { timeoutMs: Math.max(this.timeoutMs, 15_000), ...o });
  }

  private async call<T>(c: Call, o: RequestOptions = {}): Promise<T> {
    const url = `${this.baseUrl}${c.path}`;
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (c.body !== undefined) headers['content-type'] = 'application/json';
    let res: globalThis.Response;
    let text: string;
    try {
      res = await fetch(url, { method: c.method, headers, body: c.body === undefined ? undefined : JSON.stringify(c.body), signal });
      text = await res.text();
    } catch (err) {
      if (o.signal?.aborted) {
        throw new AgentError('AGENT_CANCELLED', `${c.method} ${url}: cancelled by the caller`, { url, retryable: false, cause: err });
      }
      if (timeout.aborted) {
        throw new AgentError('AGENT_TIMEOUT', `${c.method} ${url}: no answer within ${timeoutMs} ms`, { url, retryable: true, cause: err });
      }
      const cause = (err as { cause?: unknown }).cause;
      const detail = cause instanceof Error ? cause.message : errorMessage(err);
      throw new AgentError('AGENT_UNREACHABLE', `${c.method} ${url}: ${detail}`, { url, retryable: true, cause: err });
    }
    let body: Envelope<T> | undefined;
    try {
      body = JSON.parse(text) as Envelope<T>;
    } catch {
      body = undefined;
    }
    if (body && 'data' in body && (res.ok || c.dataOn?.includes(res.status))) return body.data;
    const retryable = res.status >= 500 || res.status === 429;
    if (body && 'error' in body && typeof body.error === 'object' && body.error !== null) {
      throw new AgentError(body.error.code, `${c.method} ${url}: ${body.error.message}`, { status: res.status, url, retryable });
    }
    throw new AgentError('AGENT_BAD_RESPONSE', `${c.method} ${url}: HTTP ${res.status} without the agent envelope: ${text.slice(0, 200)}`, {
      status: res.status,
      url,
      retryable,
    });
  }
}
