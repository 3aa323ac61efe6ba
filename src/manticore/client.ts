/**
 * The orchestrator's only connection to Manticore: mysql2 (promise API), one small pool per node.
 *
 * - Plain text queries (`query`, never `execute`: Manticore has no prepared statements for our use),
 *   no `database`, no init statements: mysql2's defaults send nothing but the handshake.
 * - mysql2's callback API, wrapped here: its promise wrapper captures a stack trace for every query,
 *   which was a visible part of the controller's CPU at rest (bench/results.md, Scale).
 * - 64-bit integers come back as decimal strings (document ids are uint64).
 * - Every failure is a ManticoreError carrying the node, the (truncated) statement, Manticore's own
 *   message and a kind: 'connect' and 'timeout' are retryable, 'sql' is not.
 * - A connection whose query timed out is destroyed, never returned to the pool (its late answer
 *   would otherwise be read as the next query's result).
 * mysql2's types stay inside this module.
 */
import mysql from 'mysql2';
import type { Pool, PoolConnection, QueryError, ResultSetHeader, RowDataPacket } from 'mysql2';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { parseNodeAddress } from './identifiers.js';
import type { Row } from './parse.js';

export type { Row } from './parse.js';

/** Defaults, named so callers and tests can refer to them. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
export const DEFAULT_CONNECTION_LIMIT = 4;
/** How much of a statement an error keeps. */
export const ERROR_SQL_MAX_CHARS = 300;

export type ManticoreErrorKind = 'connect' | 'timeout' | 'sql';

export interface ManticoreErrorInit {
  node: string;
  sql: string;
  kind: ManticoreErrorKind;
  manticoreMessage: string;
  errno?: number;
  cause?: unknown;
}

function truncateSql(sql: string): string {
  return sql.length <= ERROR_SQL_MAX_CHARS ? sql : `${sql.slice(0, ERROR_SQL_MAX_CHARS)}... (${sql.length} chars)`;
}

/** A failed statement on one node. */
export class ManticoreError extends AppError {
  readonly node: string;
  /** The statement, truncated to ERROR_SQL_MAX_CHARS. */
  readonly sql: string;
  /** Manticore's error text (the part after `ERROR 1064 (42000):`), or the network error's message. */
  readonly manticoreMessage: string;
  readonly errno: number | undefined;
  readonly kind: ManticoreErrorKind;

  constructor(init: ManticoreErrorInit) {
    const code = init.kind === 'sql' ? 'MANTICORE_SQL_ERROR' : init.kind === 'timeout' ? 'MANTICORE_TIMEOUT' : 'MANTICORE_UNREACHABLE';
    const sql = truncateSql(init.sql);
    super(code, `${init.node}: ${init.manticoreMessage}`, {
      retryable: init.kind !== 'sql',
      cause: init.cause,
      details: { node: init.node, sql, kind: init.kind, errno: init.errno, manticoreMessage: init.manticoreMessage },
    });
    this.name = 'ManticoreError';
    this.node = init.node;
    this.sql = sql;
    this.manticoreMessage = init.manticoreMessage;
    this.errno = init.errno;
    this.kind = init.kind;
  }
}

export function isManticoreError(err: unknown): err is ManticoreError {
  return err instanceof ManticoreError;
}

interface DriverError {
  code?: unknown;
  errno?: unknown;
  sqlMessage?: unknown;
  message?: unknown;
  syscall?: unknown;
  fatal?: unknown;
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT_CONNECT',
  'ERR_SOCKET_CLOSED',
]);

/** Maps a mysql2 error to a ManticoreError. */
export function toManticoreError(err: unknown, node: string, sql: string): ManticoreError {
  if (err instanceof ManticoreError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as DriverError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  if (code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
    return new ManticoreError({ node, sql, kind: 'timeout', manticoreMessage: 'query timed out', cause: err });
  }
  if (typeof e.sqlMessage === 'string') {
    return new ManticoreError({
      node,
      sql,
      kind: 'sql',
      manticoreMessage: e.sqlMessage,
      errno: typeof e.errno === 'number' ? e.errno : undefined,
      cause: err,
    });
  }
  if ((code !== undefined && CONNECT_CODES.has(code)) || e.fatal === true) {
    const text = code === 'ETIMEDOUT' ? 'connect timed out' : message;
    return new ManticoreError({ node, sql, kind: 'connect', manticoreMessage: text, cause: err });
  }
  // anything else from the driver (protocol errors...) is treated as the node misbehaving: retryable
  return new ManticoreError({ node, sql, kind: 'connect', manticoreMessage: message, cause: err });
}

export interface ManticoreClientOptions {
  connectTimeoutMs?: number;
  /** Per-query timeout (the client's own timer; the connection is destroyed when it fires). */
  queryTimeoutMs?: number;
  connectionLimit?: number;
  user?: string;
  password?: string;
  logger?: Logger;
  /** called before and after every statement that may change something (not SELECT/SHOW/DESCRIBE/EXPLAIN) */
  onMutation?: () => void;
}

/** Statements that change nothing on the node: every other one counts as a mutation (ManticorePools.mutations). */
const READ_ONLY_STATEMENT = /^\s*(?:SELECT|SHOW|DESCRIBE|DESC|EXPLAIN)\b/i;

export interface QueryOptions {
  /** Overrides the client's per-query timeout for this statement. */
  timeoutMs?: number;
}

function normaliseValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** One Manticore node (`host:port` of its MySQL listener), with a small connection pool. */
export class ManticoreClient {
  readonly node: string;
  private readonly pool: Pool;
  private readonly queryTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private readonly onMutation: (() => void) | undefined;
  private closed = false;

  constructor(node: string, options: ManticoreClientOptions = {}) {
    const { host, port } = parseNodeAddress(node, 'node');
    this.node = `${host}:${port}`;
    this.queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    this.logger = options.logger;
    this.onMutation = options.onMutation;
    this.pool = mysql.createPool({
      host,
      port,
      user: options.user ?? 'root',
      password: options.password ?? '',
      connectionLimit: options.connectionLimit ?? DEFAULT_CONNECTION_LIMIT,
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      waitForConnections: true,
      queueLimit: 0,
      supportBigNumbers: true,
      bigNumberStrings: true,
      multipleStatements: false,
      dateStrings: true,
    });
  }

  /** Runs a statement that returns rows (SELECT, SHOW, DESCRIBE...). */
  async query(sql: string, options: QueryOptions = {}): Promise<Row[]> {
    const result = await this.run(sql, options);
    if (!Array.isArray(result)) return [];
    return (result as RowDataPacket[]).map((r) => {
      const row: Record<string, unknown> = {};
      for (const k of Object.keys(r)) row[k] = normaliseValue(r[k]);
      return row;
    });
  }

  /** Runs a statement that changes something; returns the affected row count. */
  async exec(sql: string, options: QueryOptions = {}): Promise<number> {
    const result = await this.run(sql, options);
    if (Array.isArray(result)) return 0;
    return (result as ResultSetHeader).affectedRows ?? 0;
  }

  private async run(sql: string, options: QueryOptions): Promise<unknown> {
    if (this.closed) {
      throw new ManticoreError({ node: this.node, sql, kind: 'connect', manticoreMessage: 'client is closed' });
    }
    if (this.onMutation === undefined || READ_ONLY_STATEMENT.test(sql)) return this.send(sql, options);
    // counted when sent and again when done: a read that overlapped the statement is not trusted after it
    this.onMutation();
    try {
      return await this.send(sql, options);
    } finally {
      this.onMutation();
    }
  }

  private async send(sql: string, options: QueryOptions): Promise<unknown> {
    const started = Date.now();
    let conn: PoolConnection;
    try {
      conn = await new Promise<PoolConnection>((resolve, reject) => this.pool.getConnection((err, c) => (err ? reject(err) : resolve(c))));
    } catch (err) {
      throw this.fail(err, sql, started);
    }
    let discard = false;
    // Our own timer rather than mysql2's `timeout`: mysql2 clears its timer only when the query ends
    // normally, so a connection that dies under a long statement (searchd killed during IMPORT TABLE)
    // left a timer armed for the whole timeout, keeping the process alive. Ours is cleared in every case,
    // unref'd, and destroys the connection when it fires.
    const timeoutMs = options.timeoutMs ?? this.queryTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        discard = true;
        conn.destroy();
        reject(new ManticoreError({ node: this.node, sql, kind: 'timeout', manticoreMessage: `query timed out after ${timeoutMs} ms` }));
      }, timeoutMs);
      timer.unref();
    });
    const running = new Promise<unknown>((resolve, reject) => conn.query({ sql }, (err: QueryError | null, result: unknown) => (err ? reject(err) : resolve(result))));
    running.catch(() => undefined); // the timeout may win the race; its rejection is handled there
    try {
      const result = await Promise.race([running, timedOut]);
      this.logger?.debug('manticore query', { node: this.node, sql: truncateSql(sql), durationMs: Date.now() - started });
      return result;
    } catch (err) {
      const e = toManticoreError(err, this.node, sql);
      discard = discard || e.kind !== 'sql';
      throw this.fail(e, sql, started);
    } finally {
      clearTimeout(timer);
      if (discard) conn.destroy();
      else conn.release();
    }
  }

  private fail(err: unknown, sql: string, started: number): ManticoreError {
    const e = toManticoreError(err, this.node, sql);
    this.logger?.debug('manticore query failed', {
      node: this.node,
      sql: e.sql,
      kind: e.kind,
      err: e.manticoreMessage,
      durationMs: Date.now() - started,
    });
    return e;
  }

  /** Closes every pooled connection. Further queries fail with kind 'connect'. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.pool.end(() => resolve()));
  }
}

/** One ManticoreClient per node address, created on first use. */
export class ManticorePools {
  private readonly clients = new Map<string, ManticoreClient>();
  private mutationCount = 0;
  private readonly options: ManticoreClientOptions;

  constructor(options: ManticoreClientOptions = {}) {
    this.options = { ...options, onMutation: () => (this.mutationCount += 1) };
  }

  /**
   * How many times a statement that may change something was sent or finished, through any client of
   * these pools: facts read while the count stayed the same are still what this process left them.
   */
  mutations(): number {
    return this.mutationCount;
  }

  get(node: string): ManticoreClient {
    const { host, port } = parseNodeAddress(node, 'node');
    const key = `${host}:${port}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new ManticoreClient(key, this.options);
      this.clients.set(key, client);
    }
    return client;
  }

  /** Nodes with an open client. */
  nodes(): string[] {
    return [...this.clients.keys()];
  }

  /** Closes and forgets one node's client (e.g. when the node leaves the spec). */
  async close(node: string): Promise<void> {
    const { host, port } = parseNodeAddress(node, 'node');
    const key = `${host}:${port}`;
    const client = this.clients.get(key);
    this.clients.delete(key);
    await client?.close();
  }

  async closeAll(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(clients.map((c) => c.close()));
  }
}
