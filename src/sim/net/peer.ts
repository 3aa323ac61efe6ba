/**
 * Node-to-node transport of the simulator, served on the node's binary API listener
 * (the `listen = host:port` line without a protocol, 9312-style). Real Manticore speaks its
 * binary protocol there; simulated nodes only ever talk to each other, so they use JSON lines over
 * kept-alive TCP connections: the client writes one line `{"type","from","payload"}`, the server
 * answers one line `{"ok":true,"data"}`, `{"ok":false,"error"}` or `{"drop":true}` (a blocked or
 * paused-then-blocked sender: the client sees the connection as lost), and the connection goes
 * back to the client's idle list for the next request to that peer. One request at a time per
 * connection, so a large state transfer never holds up a heartbeat; a connection that failed or
 * timed out is never reused. (A connection per request cost most of a busy simulator's CPU in
 * connects and closes, as group communication keeps its connections open.)
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
/** idle connections kept per peer (more are opened while requests overlap, and closed after) */
const MAX_IDLE_PER_PEER = 4;

interface Reply {
  ok?: boolean;
  data?: unknown;
  error?: string;
  drop?: boolean;
}

/** One client connection: carries one request at a time. */
class PeerConnection {
  readonly sock: net.Socket;
  private buf = '';
  private waiting: ((err: Error | undefined, line?: string) => void) | undefined;
  broken = false;

  constructor(host: string, port: number) {
    this.sock = net.connect({ host, port, noDelay: true });
    this.sock.setEncoding('utf8');
    this.sock.on('data', (chunk: string) => {
      this.buf += chunk;
      const nl = this.buf.indexOf('\n');
      if (nl < 0) return;
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      this.settle(undefined, line);
    });
    this.sock.on('error', (e) => {
      this.broken = true;
      this.settle(new Error(`failed: ${e.message}`));
    });
    this.sock.on('close', () => {
      this.broken = true;
      this.settle(new Error('closed the connection'));
    });
  }

  private settle(err: Error | undefined, line?: string): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.(err, line);
  }

  /** Sends one line and resolves with the reply line (rejects when the connection fails first). */
  exchange(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting = (err, reply) => (err ? reject(err) : resolve(reply ?? ''));
      this.sock.write(line);
    });
  }

  destroy(): void {
    this.broken = true;
    this.waiting = undefined;
    this.sock.destroy();
  }
}

export class PeerTransport {
  private readonly handlers = new Map<string, PeerHandler>();
  private server: net.Server | undefined;
  private readonly serverSockets = new Set<net.Socket>();
  private readonly idle = new Map<string, PeerConnection[]>();
  private readonly open = new Set<PeerConnection>();
  private closed = false;

  /** @param self this node's API address as peers know it ("127.0.0.1:9312") */
  constructor(
    readonly self: string,
    private readonly faults: FaultState,
  ) {}

  handle(type: string, handler: PeerHandler): void {
    this.handlers.set(type, handler);
  }

  listen(host: string, port: number): Promise<void> {
    this.closed = false;
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

  /** Stops serving and drops every connection, served and opened. */
  close(): Promise<void> {
    this.closed = true;
    for (const c of this.open) c.destroy();
    this.open.clear();
    this.idle.clear();
    for (const s of this.serverSockets) s.destroy();
    this.serverSockets.clear();
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private onConnection(sock: net.Socket): void {
    this.serverSockets.add(sock);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.serverSockets.delete(sock));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_FRAME) {
        sock.destroy();
        return;
      }
      // one request at a time per connection: the client sends the next one after the reply
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      void this.dispatch(line).then(
        (reply) => {
          if (!sock.destroyed) sock.write((reply ?? JSON.stringify({ drop: true })) + '\n');
        },
        () => sock.destroy(),
      );
    });
  }

  /** Returns the reply line, or undefined to drop the request (blocked or unknown sender). */
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

  private connection(peer: string): PeerConnection {
    const list = this.idle.get(peer);
    while (list !== undefined && list.length > 0) {
      const c = list.pop()!;
      if (!c.broken) return c;
      this.open.delete(c);
    }
    const [host, portText] = splitHostPort(peer);
    const c = new PeerConnection(host, Number(portText));
    this.open.add(c);
    return c;
  }

  private release(peer: string, c: PeerConnection): void {
    let list = this.idle.get(peer);
    if (list === undefined) this.idle.set(peer, (list = []));
    if (this.closed || c.broken || list.length >= MAX_IDLE_PER_PEER) {
      c.destroy();
      this.open.delete(c);
      return;
    }
    list.push(c);
  }

  /** Sends one request to a peer's API address; rejects with PeerError. */
  async request<T = unknown>(peer: string, type: string, payload: unknown, timeoutMs = 3000): Promise<T> {
    await this.faults.whenRunning();
    if (this.faults.isBlocked(peer)) {
      // like a dropped packet: the caller only learns of it by timing out, so fail the same way, but fast
      throw new PeerError(peer, `connection to ${peer} timed out`, 'timeout');
    }
    if (this.closed) throw new PeerError(peer, `connection to ${peer} failed: transport closed`, 'unreachable');
    const conn = this.connection(peer);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PeerError(peer, `request '${type}' to ${peer} timed out after ${timeoutMs}ms`, 'timeout')), timeoutMs);
    });
    let line: string;
    try {
      line = await Promise.race([conn.exchange(JSON.stringify({ type, from: this.self, payload }) + '\n'), timedOut]);
    } catch (err) {
      // timed out or lost: never reused (a late reply would answer the next request)
      conn.destroy();
      this.open.delete(conn);
      if (err instanceof PeerError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new PeerError(peer, message === 'closed the connection' ? `${peer} closed the connection` : `connection to ${peer} ${message}`, 'unreachable');
    } finally {
      clearTimeout(timer);
    }
    let reply: Reply;
    try {
      reply = JSON.parse(line) as Reply;
    } catch {
      conn.destroy();
      this.open.delete(conn);
      throw new PeerError(peer, `malformed reply from ${peer}`, 'remote');
    }
    if (reply.drop === true) {
      conn.destroy();
      this.open.delete(conn);
      throw new PeerError(peer, `${peer} closed the connection`, 'unreachable');
    }
    this.release(peer, conn);
    if (reply.ok === true) return reply.data as T;
    throw new PeerError(peer, reply.error ?? 'remote error', 'remote');
  }
}

export function splitHostPort(addr: string): [string, string] {
  const i = addr.lastIndexOf(':');
  if (i <= 0) return [addr, ''];
  return [addr.slice(0, i), addr.slice(i + 1)];
}
