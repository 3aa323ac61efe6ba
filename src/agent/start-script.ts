/**
 * The start script's side of the start gate (DESIGN.md section 5): before starting searchd, ask the
 * agent how, hold while it says `hold`, and afterwards report that searchd was started. The local
 * platform calls these; the Control Plane/Kubernetes shell start script does the same over curl.
 */
import type { AgentClient } from './client.js';
import type { StartGate, StartMode } from './protocol.js';
import { isAppError } from '../lib/errors.js';

export const DEFAULT_START_POLL_MS = 1_000;

/** searchd flags for each start mode that starts. */
export const START_FLAGS: Readonly<Record<Exclude<StartMode, 'hold'>, readonly string[]>> = {
  normal: [],
  'new-cluster': ['--new-cluster'],
  'new-cluster-force': ['--new-cluster-force'],
};

export interface AskHowToStartOptions {
  pollMs?: number;
  signal?: AbortSignal;
  /** told about every answer (hold reasons, errors reaching the agent) for logs */
  onAnswer?: (answer: { gate?: StartGate; error?: unknown }) => void;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Polls GET /v1/start until the answer is not `hold` and maps it to searchd flags. An agent that
 * does not answer yet (network error, timeout, 5xx) is waited for too: the script never starts searchd
 * without an answer. A 4xx (wrong token, bad request) is thrown: it will not fix itself.
 */
export async function askHowToStart(client: AgentClient, options: AskHowToStartOptions = {}): Promise<{ flags: string[]; decisionId?: string }> {
  const pollMs = options.pollMs ?? DEFAULT_START_POLL_MS;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted');
    try {
      const gate = await client.startGate(options.signal ? { signal: options.signal } : {});
      options.onAnswer?.({ gate });
      if (gate.mode !== 'hold') {
        const flags = [...START_FLAGS[gate.mode]];
        return gate.decisionId === undefined ? { flags } : { flags, decisionId: gate.decisionId };
      }
    } catch (err) {
      if (options.signal?.aborted) throw err;
      // a wrong token or a bad request will not fix itself: fail loudly instead of holding forever
      if (isAppError(err) && !err.retryable && err.code !== 'AGENT_UNREACHABLE') throw err;
      options.onAnswer?.({ error: err });
    }
    await sleep(pollMs, options.signal);
  }
}

/** Tells the agent searchd was started with `decisionId` (undefined for a default start). */
export async function reportStarted(client: AgentClient, decisionId: string | undefined): Promise<void> {
  await client.startStarted(decisionId);
}
