/**
 * The API's one error middleware and the envelope (DESIGN.md section 8): success `{ data }`,
 * failure `{ error: { code, message } }`. AppError codes map to HTTP statuses here and nowhere else.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { AppError, errorMessage, isAppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** AppError code → HTTP status. Anything not listed is a 500. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  IMPORT_IN_PROGRESS: 409,
  BACKUP_IN_PROGRESS: 409,
  RESTORE_IN_PROGRESS: 409,
  REPAIR_IN_PROGRESS: 409,
  OBSERVATIONS_STALE: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  NOT_READY: 503,
  MANTICORE_UNREACHABLE: 502,
  MANTICORE_TIMEOUT: 504,
  MANTICORE_SQL_ERROR: 400,
};

export function httpStatusOf(code: string): number {
  return HTTP_STATUS_BY_CODE[code] ?? 500;
}

export function notFound(what: string): AppError {
  return new AppError('NOT_FOUND', what);
}

export function sendData(res: Response, data: unknown, status = 200): void {
  res.status(status).json({ data });
}

/** 404 in the envelope for any /api path no router answered. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('NOT_FOUND', `no route ${req.method} ${req.path}: see src/api/README.md for the routes`));
};

interface HttpishError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
}

/** Errors Express' own body parser raises (invalid JSON, body too large) become AppErrors. */
function normalise(err: unknown): AppError {
  if (isAppError(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as HttpishError;
  if (e.type === 'entity.parse.failed') {
    return new AppError('VALIDATION_FAILED', 'body: invalid JSON; send a JSON object with Content-Type: application/json', { cause: err, details: { field: 'body' } });
  }
  if (e.type === 'entity.too.large') {
    return new AppError('PAYLOAD_TOO_LARGE', 'body: too large (the limit is 1 MB); send a smaller request', { cause: err, details: { field: 'body' } });
  }
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) return new AppError('VALIDATION_FAILED', `request: ${errorMessage(err)}`, { cause: err });
  return new AppError('INTERNAL', 'internal error; see the controller log', { cause: err });
}

/** The one error middleware. */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const appErr = normalise(err);
    const status = httpStatusOf(appErr.code);
    if (status >= 500) {
      logger.error('api request failed', { method: req.method, path: req.path, code: appErr.code, err: errorMessage(err) });
    } else {
      logger.debug('api request rejected', { method: req.method, path: req.path, code: appErr.code, err: appErr.message });
    }
    const body: ErrorBody = { error: { code: appErr.code, message: appErr.message } };
    const field = appErr.details.field;
    if (typeof field === 'string') body.error.field = field;
    res.status(status).json(body);
  };
}
