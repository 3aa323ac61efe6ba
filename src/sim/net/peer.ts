/**
 * Node-to-node transport of the simulator, served on the node's binary API listener
 * (the `listen = host:port` line without a protocol, 9312-style). Real Manticore speaks its
 * binary protocol there; simulated nodes only ever talk to each other, so they use one JSON
 * request per TCP connection: the client writes one line `{"type","from","payload"}`, the
 * server answers one line `{"ok":true,"data"}` or `{"ok":false,"error"}` and closes.
 *
 * Distributed-table agents and replication both address peers by this API address, which is
 * what Manticore shows in `cluster_<n>_nodes_set` and expects in `agent=` and `JOIN ... AT`.
 */
import net from 'node:net';
import type { FaultState } from './faults.js';

export type PeerHandler = (payload: unknown, from: string) => Promise<unknown> | unknown;

export class PeerError extends Error {
  constructor(
    readonly peer: string,
    message: string,
    readonly kind: 'unreachable' | 'timeout' | 'remote',
  ) {
    super(message);
    this.name = 'PeerError';
  }
}

const MAX_FRAME = 256 * 1024 * 1024;

export class PeerTransport {
  private readonly handlers = new Map<string, PeerHandler>();
  private server: net.Server | undefined;

  /** @param self this node's API address as peers know it ("127.0.0.1:9312") */
  constructor(
    readonly self: string,
    private readonly faults: FaultState,
  ) {}

  handle(type: string, handler: PeerHandler): void {
    this.handlers.set(type, handler);
  }

  listen(host: string, port: number): Promise<void> {
    this.server = net.createServer({ noDelay: true }, (sock) => this.onConnection(sock));
    const server = this.server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private onConnection(sock: net.Socket): void {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_FRAME) {
        sock.destroy();
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      sock.pause();
      void this.dispatch(line).then(
        (reply) => {
          if (reply === undefined) sock.destroy();
          else sock.end(reply + '\n');
        },
        () => sock.destroy(),
      );
    });
  }

  /** Returns the reply line, or undefined to drop the connection (blocked or unknown sender). */
  private async dispatch(line: string): Promise<string | undefined> {
    let msg: { type?: unknown; from?: unknown; payload?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return JSON.stringify({ ok: false, error: 'malformed request' });
    }
    const from = typeof msg.from === 'string' ? msg.from : '';
    await this.faults.whenRunning();
    if (from && this.faults.isBlocked(from)) return undefined;
    const handler = typeof msg.type === 'string' ? this.handlers.get(msg.type) : undefined;
    if (!handler) return JSON.stringify({ ok: false, error: `unknown request '${String(msg.type)}'` });
    try {
      const data = await handler(msg.payload, from);
      // a node paused or partitioned while handling never answers
      await this.faults.whenRunning();
      if (from && this.faults.isBlocked(from)) return undefined;
      return JSON.stringify({ ok: true, data: data ?? null });
    } catch (err) {
      return JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Sends one request to a peer's API address; rejects with PeerError. */
  async request<T = unknown>(peer: string, type: string, payload: unknown, timeoutMs = 3000): Promise<T> {
    await this.faults.whenRunning();
    if (this.faults.isBlocked(peer)) {
      // like a dropped packet: the caller only learns of it by timing out, so fail the same way, but fast
      throw new PeerError(peer, `connection to ${peer} timed out`, 'timeout');
    }
    const [host, portText] = splitHostPort(peer);
    const port = Number(portText);
    return new Promise<T>((resolve, reject) => {
      const sock = net.connect({ host, port, noDelay: true });
      let buf = '';
      let settled = false;
      const done = (err: PeerError | undefined, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(value as T);
      };
      const timer = setTimeout(() => done(new PeerError(peer, `request '${type}' to ${peer} timed out after ${timeoutMs}ms`, 'timeout')), timeoutMs);
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(JSON.stringify({ type, from: this.self, payload }) + '\n'));
      sock.on('data', (chunk: string) => {
        buf += chunk;
      });
      sock.on('end', () => {
        const line = buf.trim();
        if (!line) return done(new PeerError(peer, `${peer} closed the connection`, 'unreachable'));
        try {
          const reply = JSON.parse(line) as { ok: boolean; data?: T; error?: string };
          if (reply.ok) done(undefined, reply.data as T);
          else done(new PeerError(peer, reply.error ?? 'remote error', 'remote'));
        } catch {
          done(new PeerError(peer, `malformed reply from ${peer}`, 'remote'));
        }
      });
      sock.on('close', () => done(new PeerError(peer, `${peer} closed the connection`, 'unreachable')));
      sock.on('error', (e) => done(new PeerError(peer, `connection to ${peer} failed: ${e.message}`, 'unreachable')));
    });
  }
}

export function splitHostPort(addr: string): [string, string] {
  const i = addr.lastIndexOf(':');
  if (i <= 0) return [addr, ''];
  return [addr.slice(0, i), addr.slice(i + 1)];
}
