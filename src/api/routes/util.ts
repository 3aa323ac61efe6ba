import type { RequestHandler } from 'express';
import { AppError } from '../../lib/errors.js';

/** 405 in the envelope for a known path with a method it does not take. */
export const methodNotAllowed: RequestHandler = (req, _res, next) => {
  next(new AppError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.baseUrl}${req.path}`));
};
