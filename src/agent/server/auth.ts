/**
 * Bearer-token authentication. The comparison is constant-time over equal-length buffers: both the
 * presented and the expected token are hashed with SHA-256 first, so the work done (and the answer
 * time) does not depend on where they differ or on the presented token's length. Failed
 * authentications are counted per client address (the API's FailedAuthLimiter: 20 a minute by
 * default); beyond that every request from the address is 429 RATE_LIMITED with Retry-After until
 * the window ends.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { FailedAuthLimiter } from '../../api/auth.js';
import { sendError } from './envelope.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** True when `presented` equals `expected`, compared in constant time. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = digest(presented);
  const b = digest(expected);
  // both digests are 32 bytes; the length check is kept in case digest() ever changes
  return a.length === b.length && timingSafeEqual(a, b) && expected !== '';
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

/** Express middleware: 401 with the envelope unless the request carries the right bearer token. */
export function requireBearer(expected: string, limiter: FailedAuthLimiter = new FailedAuthLimiter()) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const wait = limiter.blockedFor(address);
    if (wait !== undefined) {
      res.setHeader('Retry-After', String(wait));
      sendError(res, 429, 'RATE_LIMITED', `too many failed authentications from this address: retry in ${wait} s with the right token`);
      return;
    }
    const header = req.headers.authorization;
    const presented = bearerToken(header);
    // always run one comparison, so a missing header costs the same as a wrong token
    const ok = tokenMatches(presented ?? '', expected) && presented !== undefined;
    if (ok) {
      next();
      return;
    }
    limiter.fail(address);
    res.setHeader('WWW-Authenticate', 'Bearer');
    const message =
      header === undefined
        ? 'missing Authorization header: send "Authorization: Bearer <token>"'
        : presented === undefined
          ? 'Authorization header must use the Bearer scheme: "Authorization: Bearer <token>"'
          : 'invalid token';
    sendError(res, 401, 'UNAUTHORIZED', message);
  };
}
