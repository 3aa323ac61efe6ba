/** /api/operations (newest first; `?state=` filters, `?limit=` caps) and /api/operations/:id. */
import { Router } from 'express';
import { ValidationError } from '../../lib/errors.js';
import type { OperationState } from '../../status/types.js';
import type { ApiDeps } from '../deps.js';
import { notFound, sendData } from '../errors.js';
import { methodNotAllowed } from './util.js';

const STATES: readonly OperationState[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];

export function operationsRouter(deps: ApiDeps): Router {
  const router = Router();

  router
    .route('/operations')
    .get((req, res) => {
      const { state, limit } = req.query;
      let ops = [...deps.status.operations()].sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
      if (state !== undefined) {
        if (typeof state !== 'string' || !STATES.includes(state as OperationState)) {
          throw new ValidationError('state', `use one of ${STATES.join(', ')}`);
        }
        ops = ops.filter((o) => o.state === state);
      }
      if (limit !== undefined) {
        const n = typeof limit === 'string' && /^\d+$/.test(limit) ? Number(limit) : NaN;
        if (!Number.isInteger(n) || n < 1) throw new ValidationError('limit', 'use a positive integer');
        ops = ops.slice(0, n);
      }
      sendData(res, ops);
    })
    .all(methodNotAllowed);

  router
    .route('/operations/:id')
    .get((req, res) => {
      const op = deps.status.operation(req.params.id);
      if (op === undefined) throw notFound(`no operation ${JSON.stringify(req.params.id)}: see GET /api/operations`);
      sendData(res, op);
    })
    .all(methodNotAllowed);

  return router;
}
