/**
 * Runs the controller only on the replica holding the Lease (lease.ts). Until it leads, a replica is a
 * standby: it does not reconcile, schedule or write status, and its API port forwards every request to
 * the leader (whose URL the Lease records) so a Service over both replicas keeps working; when the
 * leader is unknown or unreachable it answers 503 `NOT_LEADER` naming the leader. On acquiring the
 * Lease the standby server closes and the full controller starts on the same address. A leader that
 * loses the Lease (cannot renew) stops at once through `onLost` (the entry point exits; Kubernetes
 * restarts the pod as a standby), so two controllers never act together for longer than the renew
 * deadline. stop() stops the controller, then releases the Lease so the standby takes over at once.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { LeaderInfo, LeaseElector } from './lease.js';

export interface LeadershipOptions {
  elector: LeaseElector;
  identity: string;
  listen: { host: string; port: number };
  logger: Logger;
  /** starts the full controller (its API on the same listen address) */
  startLeader: () => Promise<{ stop(): Promise<void> }>;
  /** leadership was lost, or the controller failed to start as leader: the process should exit */
  onLost: (reason: string) => void;
  /** how long a forwarded request may take (default 60 s; server-sent events are not cut) */
  proxyTimeoutMs?: number;
}

export interface Leadership {
  /** true once this replica runs the controller */
  readonly leading: boolean;
  /** resolves when the standby server listens */
  ready: Promise<void>;
  stop(): Promise<void>;
}

function notLeader(res: ServerResponse, leader: LeaderInfo | undefined, identity: string, detail?: string): void {
  const who = leader === undefined ? 'no replica holds the leader Lease yet' : `the leader is ${leader.identity}${leader.url ? ` (${leader.url})` : ''}`;
  const body = JSON.stringify({
    error: { code: 'NOT_LEADER', message: `this controller replica (${identity}) is on standby: ${who}${detail ? `; ${detail}` : ''}. Retry, or reach the leader.` },
  });
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2', ...(leader ? { 'x-leader': leader.identity } : {}) });
  res.end(body);
}

function forward(req: IncomingMessage, res: ServerResponse, leader: LeaderInfo & { url: string }, identity: string, timeoutMs: number): void {
  const target = new URL(req.url ?? '/', leader.url);
  const headers = { ...req.headers, host: target.host, 'x-forwarded-by': identity };
  const upstream = httpRequest({ hostname: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  const sse = (req.headers.accept ?? '').includes('text/event-stream');
  if (!sse) upstream.setTimeout(timeoutMs, () => upstream.destroy(new Error(`no answer within ${timeoutMs} ms`)));
  upstream.on('error', (err) => {
    if (!res.headersSent) notLeader(res, leader, identity, `forwarding failed: ${errorMessage(err)}`);
    else res.destroy();
  });
  req.pipe(upstream);
}

export function runWithLeaderElection(o: LeadershipOptions): Leadership {
  let leading = false;
  let stack: { stop(): Promise<void> } | undefined;
  let stopping = false;
  let standby: Server | undefined = createServer((req, res) => {
    const leader = o.elector.leader();
    if (leader?.url !== undefined && leader.identity !== o.identity) forward(req, res, { ...leader, url: leader.url }, o.identity, o.proxyTimeoutMs ?? 60_000);
    else notLeader(res, leader, o.identity);
  });
  const ready = new Promise<void>((resolve, reject) => {
    standby!.once('error', reject);
    standby!.listen(o.listen.port, o.listen.host, () => {
      o.logger.info('standby: waiting for the leader Lease', { identity: o.identity, listen: `${o.listen.host}:${o.listen.port}` });
      resolve();
    });
  });

  const closeStandby = async (): Promise<void> => {
    const s = standby;
    standby = undefined;
    if (s === undefined || !s.listening) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  };

  o.elector.run({
    onStartedLeading: () => {
      void (async () => {
        try {
          await ready;
          await closeStandby();
          if (stopping) return;
          leading = true;
          stack = await o.startLeader();
        } catch (err) {
          o.logger.error('the controller failed to start as leader', { err: errorMessage(err) });
          o.onLost(`start failed: ${errorMessage(err)}`);
        }
      })();
    },
    onStoppedLeading: () => {
      o.onLost('the leader Lease could not be renewed in time');
    },
    onNewLeader: (leader) => {
      o.logger.info('leader observed', { leader: leader?.identity ?? '(none)', url: leader?.url });
    },
  });

  return {
    get leading() {
      return leading;
    },
    ready,
    async stop() {
      stopping = true;
      try {
        await stack?.stop();
      } finally {
        await closeStandby().catch(() => undefined);
        await o.elector.stop();
      }
    },
  };
}
