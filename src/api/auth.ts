/**
 * Authentication and the one authorization rule of the API.
 *
 * - Tokens: the admin token (ORCHESTRATOR_TOKEN) and any number of viewer tokens
 *   (ORCHESTRATOR_VIEWER_TOKEN, comma-separated). A presented token is compared with EVERY configured
 *   token in constant time (SHA-256 digests, timingSafeEqual, no early exit), so neither the answer
 *   time nor the order of the list tells which token was close.
 * - 401 UNAUTHORIZED: no token, a malformed header or an unknown token (the original messages:
 *   "missing Authorization header", "invalid Authorization header format", "invalid token").
 * - 403 FORBIDDEN: a known token whose role may not do this. The rule (authorizeRole) is central:
 *   viewers may use GET/HEAD on every route and POST /api/query without `write: true`; every other
 *   request under /api needs admin. New routes are covered without doing anything.
 * - 429 RATE_LIMITED with Retry-After: more than `maxFailures` failed authentications from one client
 *   address within `windowMs` (in memory, fixed window); while blocked, even a right token is refused.
 * Tokens are never logged: nothing here logs the header, and the request log (app.ts) writes method,
 * path and address only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { AppError } from '../lib/errors.js';

export type Role = 'admin' | 'viewer';

export const ROLES: readonly Role[] = ['admin', 'viewer'];

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time equality of two strings (hashing first makes the lengths equal). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = digest(given);
  const b = digest(expected);
  return timingSafeEqual(a, b) && given.length === expected.length && expected !== '';
}

/** The token of a `Bearer <token>` header, or why there is none. */
export function parseAuthorization(header: string | undefined): { token: string } | { problem: string } {
  if (header === undefined || header === '') return { problem: 'missing Authorization header' };
  const match = /^(\S+)\s+(.+)$/.exec(header.trim());
  if (!match || match[1]?.toLowerCase() !== 'bearer') return { problem: 'invalid Authorization header format' };
  return { token: match[2] ?? '' };
}

/** Why a request's Authorization header does not carry `token`, or undefined when it does. */
export function authProblem(header: string | undefined, token: string): string | undefined {
  const parsed = parseAuthorization(header);
  if ('problem' in parsed) return parsed.problem;
  return tokensEqual(parsed.token, token) ? undefined : 'invalid token';
}

export interface ApiTokens {
  admin: string;
  viewers?: readonly string[];
}

/**
 * The role a presented token carries, or undefined. Every configured token is compared (no early
 * exit); admin wins if a token were configured in both lists.
 */
export function roleOfToken(presented: string, tokens: ApiTokens): Role | undefined {
  const admin = tokensEqual(presented, tokens.admin);
  let viewer = false;
  for (const v of tokens.viewers ?? []) {
    // the comparison comes first so that every token is compared, whatever matched before
    viewer = tokensEqual(presented, v) || viewer;
  }
  if (admin) return 'admin';
  return viewer ? 'viewer' : undefined;
}

// -------------------------------------------------------------------------------------------------
// failed-auth rate limit

export interface FailedAuthLimitOptions {
  /** failures allowed per address and window (default 20) */
  maxFailures?: number;
  /** window length (default 60 s) */
  windowMs?: number;
  /** addresses tracked at most; the oldest windows are dropped beyond it (default 10 000) */
  maxAddresses?: number;
  now?: () => number;
}

export const DEFAULT_FAILED_AUTH_LIMIT = { maxFailures: 20, windowMs: 60_000 } as const;

/** Failed authentications per client address in fixed windows, in memory. */
export class FailedAuthLimiter {
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(options: FailedAuthLimitOptions = {}) {
    this.maxFailures = options.maxFailures ?? DEFAULT_FAILED_AUTH_LIMIT.maxFailures;
    this.windowMs = options.windowMs ?? DEFAULT_FAILED_AUTH_LIMIT.windowMs;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  private current(address: string): { start: number; failures: number } | undefined {
    const w = this.windows.get(address);
    if (w === undefined) return undefined;
    if (this.now() - w.start >= this.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
    return w;
  }

  /** Seconds until `address` may try again, or undefined when it is not blocked. */
  blockedFor(address: string): number | undefined {
    const w = this.current(address);
    if (w === undefined || w.failures < this.maxFailures) return undefined;
    return Math.max(1, Math.ceil((w.start + this.windowMs - this.now()) / 1000));
  }

  /** Counts one failed authentication of `address`. */
  fail(address: string): void {
    const w = this.current(address);
    if (w !== undefined) {
      w.failures += 1;
      return;
    }
    if (this.windows.size >= this.maxAddresses) {
      const oldest = this.windows.keys().next();
      if (oldest.done !== true) this.windows.delete(oldest.value);
    }
    this.windows.set(address, { start: this.now(), failures: 1 });
  }
}

export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

// -------------------------------------------------------------------------------------------------
// middleware

/** The role the authenticated request carries (set by `authenticate`). */
export function roleOf(res: Response): Role | undefined {
  const role: unknown = res.locals['role'];
  return role === 'admin' || role === 'viewer' ? role : undefined;
}

/**
 * Authenticates every request it sees: sets `res.locals.role`, or fails with 401 UNAUTHORIZED
 * (counting the failure against the client address) or 429 RATE_LIMITED.
 */
export function authenticate(tokens: ApiTokens, limiter: FailedAuthLimiter = new FailedAuthLimiter()): RequestHandler {
  if (tokens.admin === '') {
    throw new AppError('VALIDATION_FAILED', 'token: the API token is empty; set ORCHESTRATOR_TOKEN or let the controller generate one');
  }
  return (req, res, next) => {
    const address = clientAddress(req);
    const wait = limiter.blockedFor(address);
    if (wait !== undefined) {
      res.setHeader('Retry-After', String(wait));
      next(new AppError('RATE_LIMITED', `too many failed authentications from this address: retry in ${wait} s with a valid token`, { retryable: true }));
      return;
    }
    const parsed = parseAuthorization(req.get('authorization'));
    const role = 'token' in parsed ? roleOfToken(parsed.token, tokens) : undefined;
    if (role !== undefined) {
      res.locals['role'] = role;
      next();
      return;
    }
    limiter.fail(address);
    res.setHeader('WWW-Authenticate', 'Bearer');
    next(new AppError('UNAUTHORIZED', 'problem' in parsed ? parsed.problem : 'invalid token'));
  };
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when `method` only reads. */
export function isReadMethod(method: string): boolean {
  return READ_METHODS.has(method.toUpperCase());
}

/**
 * The one authorization rule (paths relative to /api): reads are open to every role; a viewer may
 * POST /query unless the body asks for `write: true`; everything else needs admin. Returns the
 * refusal message, or undefined when allowed.
 */
export function authorizeRole(role: Role, method: string, path: string, body: unknown): string | undefined {
  if (role === 'admin' || isReadMethod(method)) return undefined;
  const p = path.replace(/\/+$/, '');
  if (method.toUpperCase() === 'POST' && p === '/query') {
    const write = typeof body === 'object' && body !== null ? (body as { write?: unknown }).write : undefined;
    if (write === undefined || write === false || write === null) return undefined;
    return 'write mode of the query console needs the admin role; this token has the viewer role (send a read-only statement without "write", or use an admin token)';
  }
  return `${method.toUpperCase()} /api${p} needs the admin role; this token has the viewer role`;
}

/** Express middleware applying authorizeRole after `authenticate` and the body parser. */
export const authorize: RequestHandler = (req, res, next) => {
  const role = roleOf(res);
  if (role === undefined) {
    next(new AppError('UNAUTHORIZED', 'missing Authorization header'));
    return;
  }
  const refusal = authorizeRole(role, req.method, req.path, req.body);
  if (refusal === undefined) next();
  else next(new AppError('FORBIDDEN', refusal, { details: { field: 'authorization' } }));
};

/** GET /api/whoami → {data:{role}}. */
export const whoami: RequestHandler = (req, res, next) => {
  if (!isReadMethod(req.method)) {
    next(new AppError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on /api/whoami`));
    return;
  }
  res.json({ data: { role: roleOf(res) } });
};

/** Kept for callers of the single-token check (the admin token only). */
export function requireBearer(token: string): RequestHandler {
  return authenticate({ admin: token });
}
