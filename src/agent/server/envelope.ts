/**
 * The agent's response envelope (`{data}` / `{error:{code,message}}`) and its one error middleware.
 * Handlers throw AgentHttpError (or ValidationError for bad input); anything else is INTERNAL.
 */
import type { NextFunction, Request, Response } from 'express';
import type { AgentErrorCode, Envelope } from '../protocol.js';
import { AppError, ValidationError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';

/** An error that maps to an HTTP status and an agent error code. */
export class AgentHttpError extends AppError {
  readonly status: number;
  readonly agentCode: AgentErrorCode;
  constructor(status: number, code: AgentErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retryable: status >= 500, cause: options.cause });
    this.name = 'AgentHttpError';
    this.status = status;
    this.agentCode = code;
  }
}

export function sendData<T>(res: Response, data: T, status = 200): void {
  const body: Envelope<T> = { data };
  res.status(status).json(body);
}

export function sendError(res: Response, status: number, code: AgentErrorCode, message: string): void {
  const body: Envelope<never> = { error: { code, message } };
  res.status(status).json(body);
}

/** 404 for every path no route claimed. */
export function notFoundHandler(req: Request, res: Response): void {
  sendError(res, 404, 'NOT_FOUND', `no route ${req.method} ${req.path}`);
}

interface BodyParserError {
  type?: unknown;
  status?: unknown;
}

/** The one error middleware: envelope for every failure, logs only unexpected ones. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof AgentHttpError) {
      sendError(res, err.status, err.agentCode, err.message);
      return;
    }
    if (err instanceof ValidationError) {
      sendError(res, 400, 'BAD_REQUEST', err.message);
      return;
    }
    const parserError = err as BodyParserError;
    if (typeof parserError === 'object' && parserError !== null && parserError.type === 'entity.parse.failed') {
      sendError(res, 400, 'BAD_REQUEST', `body: not valid JSON (${errorMessage(err)}); send a JSON object with content-type application/json`);
      return;
    }
    if (typeof parserError === 'object' && parserError !== null && parserError.type === 'entity.too.large') {
      sendError(res, 400, 'BAD_REQUEST', 'body: too large; send at most 1 MB of JSON');
      return;
    }
    logger.error('agent request failed', { method: req.method, path: req.path, err: errorMessage(err) });
    sendError(res, 500, 'INTERNAL', errorMessage(err));
  };
}
