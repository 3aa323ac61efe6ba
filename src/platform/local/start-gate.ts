/**
 * The local platform's side of the start gate (DESIGN.md section 5), spoken over the agent's fixed
 * protocol (src/agent/protocol.ts): before every start of searchd, ask the node's agent how to
 * start (GET /v1/start), holding while it answers `hold`; after starting, report it
 * (POST /v1/start/started) so the decision is not used twice.
 */
import { AppError, errorMessage } from '../../lib/errors.js';
import { AgentRoutes, type Envelope, type StartGate, type StartMode } from '../../agent/protocol.js';

export interface GateAnswer {
  mode: Exclude<StartMode, 'hold'>;
  /** searchd flags the mode means */
  flags: string[];
  decisionId?: string;
  reason: string;
}

/** searchd flags of a start mode. */
export function flagsForMode(mode: Exclude<StartMode, 'hold'>): string[] {
  if (mode === 'new-cluster') return ['--new-cluster'];
  if (mode === 'new-cluster-force') return ['--new-cluster-force'];
  return [];
}

export interface GateClientOptions {
  agentUrl: string;
  token: string;
  /** one request's limit */
  requestTimeoutMs?: number;
}

async function call<T>(o: GateClientOptions, method: 'GET' | 'POST', route: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(o.requestTimeoutMs ?? 5000);
  const res = await fetch(`${o.agentUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${o.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  const text = await res.text();
  let env: Envelope<T> | undefined;
  try {
    env = JSON.parse(text) as Envelope<T>;
  } catch {
    env = undefined;
  }
  if (!res.ok || !env || !('data' in env)) {
    const msg = env && 'error' in env ? `${env.error.code}: ${env.error.message}` : `HTTP ${res.status} ${text.slice(0, 200)}`;
    throw new AppError('AGENT_REQUEST_FAILED', `${method} ${route} on ${o.agentUrl} failed: ${msg}`, { retryable: true, details: { status: res.status } });
  }
  return env.data;
}

export function getGate(o: GateClientOptions, signal?: AbortSignal): Promise<StartGate> {
  return call<StartGate>(o, 'GET', AgentRoutes.start, undefined, signal);
}

export interface AskOptions {
  /** pause between asks while holding or while the agent does not answer */
  pollMs: number;
  signal: AbortSignal;
  /** called on every `hold` answer and every failed ask (to show the node's phase) */
  onWait?: (why: { holding: boolean; reason: string }) => void;
}

/** Asks until the answer is not `hold`; rejects only when the signal aborts. */
export async function askHowToStart(o: GateClientOptions, opts: AskOptions): Promise<GateAnswer> {
  for (;;) {
    opts.signal.throwIfAborted();
    try {
      const gate = await getGate(o, opts.signal);
      if (gate.mode !== 'hold') {
        return { mode: gate.mode, flags: flagsForMode(gate.mode), reason: gate.reason, ...(gate.decisionId ? { decisionId: gate.decisionId } : {}) };
      }
      opts.onWait?.({ holding: true, reason: gate.reason });
    } catch (err) {
      opts.signal.throwIfAborted();
      opts.onWait?.({ holding: false, reason: errorMessage(err) });
    }
    await abortableSleep(opts.pollMs, opts.signal);
  }
}

/** Tells the agent searchd was started with the decision (body: decisionId, mode, pid). */
export async function reportStarted(o: GateClientOptions, started: { decisionId?: string; mode: StartMode; pid?: number }): Promise<void> {
  await call<unknown>(o, 'POST', AgentRoutes.startStarted, started);
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
