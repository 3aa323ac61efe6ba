/**
 * Bearer-token check with a constant-time compare (the original compared with `!=`,
 * original-system.md 11.4). Failures go to the error middleware as UNAUTHORIZED with the original
 * messages ("missing Authorization header", "invalid Authorization header format", "invalid token").
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../lib/errors.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time equality of two strings (hashing first makes the lengths equal). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = digest(given);
  const b = digest(expected);
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** Why a request's Authorization header does not carry `token`, or undefined when it does. */
export function authProblem(header: string | undefined, token: string): string | undefined {
  if (header === undefined || header === '') return 'missing Authorization header';
  const match = /^(\S+)\s+(.+)$/.exec(header.trim());
  if (!match || match[1]?.toLowerCase() !== 'bearer') return 'invalid Authorization header format';
  if (!tokensEqual(match[2] ?? '', token)) return 'invalid token';
  return undefined;
}

export function requireBearer(token: string): RequestHandler {
  if (token === '') throw new AppError('VALIDATION_FAILED', 'token: the API token is empty; set ORCHESTRATOR_TOKEN or let the controller generate one');
  return (req, _res, next) => {
    const problem = authProblem(req.get('authorization'), token);
    if (problem === undefined) {
      next();
      return;
    }
    next(new AppError('UNAUTHORIZED', problem));
  };
}
