/**
 * The simulated node's mysql41 listener, on mysql2's server API. Every query goes through
 * `handler` (parse + execute); results are written as text result sets with Manticore's column
 * types, errors as error packets with Manticore's message (errno 1064 unless given).
 * While the node is paused (fault injection) queries wait until it is resumed.
 */
import mysql from 'mysql2';
import type net from 'node:net';
import type { SqlResult } from '../contract.js';
import { SqlError } from '../contract.js';
import type { FaultState } from './faults.js';

/** The parts of mysql2's server-side connection this module uses. */
interface ServerConnection {
  stream: net.Socket;
  serverHandshake(args: Record<string, unknown>): unknown;
  writeColumns(columns: Record<string, unknown>[]): void;
  writeTextRow(values: (string | number | null)[]): void;
  writeEof(warnings?: number, statusFlags?: number): void;
  writeOk(args?: { affectedRows?: number; warningCount?: number; insertId?: number }): void;
  writeError(args: { message: string; code: number }): void;
  on(event: string, fn: (...args: unknown[]) => void): void;
  close?: () => void;
  handlePacket(packet?: { sequenceId: number }): void;
  writePacket(packet: { _name?: string; buffer: Buffer; start: number }): void;
  sequenceId: number;
  compressedSequenceId: number;
}

interface Mysql2Server {
  on(event: 'connection', fn: (conn: ServerConnection) => void): void;
  listen(port: number, host: string, cb: () => void): void;
  close(cb?: () => void): void;
  _server: net.Server;
}

export interface MysqlSession {
  connectionId: number;
}

export type QueryHandler = (sql: string, connectionId: number) => Promise<SqlResult>;

export interface MysqlServerOptions {
  /** version string of the handshake */
  serverVersion: string;
  faults: FaultState;
  handler: QueryHandler;
  onConnect?: (connectionId: number) => void;
  onClose?: (connectionId: number) => void;
}

const TYPE_CODES = { string: 253, long: 3, longlong: 8, float: 4 } as const;

function columnDef(name: string, type: keyof typeof TYPE_CODES): Record<string, unknown> {
  return {
    catalog: 'def',
    schema: '',
    table: '',
    orgTable: '',
    name,
    orgName: name,
    characterSet: type === 'string' ? 33 : 63,
    columnLength: type === 'string' ? 255 : type === 'longlong' ? 20 : 11,
    columnType: TYPE_CODES[type],
    flags: 0,
    decimals: type === 'float' ? 31 : 0,
  };
}

export class MysqlServer {
  private server: Mysql2Server | undefined;
  private nextId = 1;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly opts: MysqlServerOptions) {}

  listen(host: string, port: number): Promise<void> {
    const server = (mysql as unknown as { createServer(): Mysql2Server }).createServer();
    this.server = server;
    server.on('connection', (conn) => this.onConnection(conn));
    return new Promise((resolve, reject) => {
      server._server.once('error', reject);
      server.listen(port, host, () => {
        server._server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private onConnection(conn: ServerConnection): void {
    const id = this.nextId++;
    const sock = conn.stream;
    // searchd sets TCP_NODELAY on its client sockets; without it every answer written in several
    // packets waited for the client's delayed ACK (~40 ms per query on loopback)
    sock.setNoDelay(true);
    this.sockets.add(sock);
    sock.on('close', () => {
      this.sockets.delete(sock);
      this.opts.onClose?.(id);
    });
    sock.on('error', () => sock.destroy());
    conn.on('error', () => sock.destroy());
    this.opts.onConnect?.(id);
    // mysql2's server side never resets the sequence id when a client starts a new command
    const handlePacket = conn.handlePacket.bind(conn);
    conn.handlePacket = (packet) => {
      if (packet && packet.sequenceId === 0) {
        conn.sequenceId = 0;
        conn.compressedSequenceId = 0;
      }
      handlePacket(packet);
    };
    // mysql2 writes SQLSTATE '_____'; Manticore answers errors with 42000
    const writePacket = conn.writePacket.bind(conn);
    conn.writePacket = (packet) => {
      if (packet._name === 'Error' && packet.buffer.length >= packet.start + 13) packet.buffer.write('42000', packet.start + 8, 'ascii');
      writePacket(packet);
    };
    const handshake = () =>
      conn.serverHandshake({
        protocolVersion: 10,
        serverVersion: this.opts.serverVersion,
        connectionId: id,
        statusFlags: 2,
        characterSet: 33,
        capabilityFlags: 0xffffff,
      });
    // a paused node (SIGSTOP-like) accepts the TCP connection but says nothing until resumed
    if (this.opts.faults.paused) {
      void this.opts.faults.whenRunning().then(() => {
        if (!sock.destroyed) handshake();
      });
    } else {
      handshake();
    }
    // queries of one connection run one after another, in order
    let chain: Promise<void> = Promise.resolve();
    const enqueue = (sql: string) => {
      chain = chain.then(() => this.run(conn, id, sql));
    };
    conn.on('query', (sql) => enqueue(String(sql)));
    // mysql2 routes queries starting with "SET " or "PREPARE " here
    conn.on('stmt_prepare', (sql) => {
      const text = String(sql);
      if (/^\s*set\s/i.test(text)) enqueue(text);
      else chain = chain.then(() => conn.writeError({ message: 'prepared statements are not supported', code: 1064 }));
    });
    conn.on('stmt_execute', () => {
      chain = chain.then(() => conn.writeError({ message: 'prepared statements are not supported', code: 1064 }));
    });
    conn.on('ping', () => {
      chain = chain.then(async () => {
        await this.opts.faults.whenRunning();
        conn.writeOk();
      });
    });
    conn.on('init_db', () => {
      chain = chain.then(() => conn.writeOk());
    });
    conn.on('quit', () => sock.end());
  }

  private async run(conn: ServerConnection, id: number, sql: string): Promise<void> {
    await this.opts.faults.whenRunning();
    let result: SqlResult;
    try {
      result = await this.opts.handler(sql, id);
    } catch (err) {
      await this.opts.faults.whenRunning();
      if (sock(conn).destroyed) return;
      if (err instanceof Error && err.name === 'OutcomeUnknownError') {
        // the node cannot tell whether the write committed (it lost its component mid-commit): the
        // client loses the connection instead of an error that would claim nothing was applied
        sock(conn).destroy();
        return;
      }
      if (err instanceof SqlError) conn.writeError({ message: err.message, code: err.errno });
      else conn.writeError({ message: err instanceof Error ? err.message : String(err), code: 1064 });
      return;
    }
    // a node paused while executing answers only once resumed
    await this.opts.faults.whenRunning();
    if (sock(conn).destroyed) return;
    if (result.kind === 'ok') {
      conn.writeOk({ affectedRows: result.affectedRows, warningCount: result.warnings?.length ?? 0 });
      return;
    }
    conn.writeColumns(result.columns.map((c) => columnDef(c.name, c.type)));
    for (const row of result.rows) conn.writeTextRow(row.map((v) => (v === null || v === undefined ? null : String(v))));
    conn.writeEof();
  }
}

function sock(conn: ServerConnection): net.Socket {
  return conn.stream;
}
