/**
 * /api/tables (ours), /api/tables/status (original shape; `?view=table` is our view of a table
 * that happens to be named "status"), /api/tables/:name (ours).
 */
import { Router } from 'express';
import type { Response } from 'express';
import { baseNameProblem } from '../../domain/names.js';
import { ValidationError } from '../../lib/errors.js';
import type { ApiDeps } from '../deps.js';
import { notFound, sendData } from '../errors.js';
import { planOriginalTablesStatus } from '../original.js';
import { methodNotAllowed } from './util.js';

export function tablesRouter(deps: ApiDeps): Router {
  const router = Router();

  const sendTable = (res: Response, name: string): void => {
    const problem = baseNameProblem(name);
    if (problem !== undefined) throw new ValidationError('name', problem);
    const table = deps.status.table(name);
    if (table === undefined) throw notFound(`table ${JSON.stringify(name)} is not managed: see GET /api/tables for the managed tables`);
    sendData(res, table);
  };

  router
    .route('/tables')
    .get((_req, res) => {
      const cached = deps.status.tablesEnvelopeJson?.();
      if (cached !== undefined) {
        res.type('application/json').send(cached);
        return;
      }
      sendData(res, [...deps.status.tables()].sort((a, b) => a.name.localeCompare(b.name)));
    })
    .all(methodNotAllowed);

  router
    .route('/tables/status')
    .get(async (req, res) => {
      if (req.query.view === 'table') {
        sendTable(res, 'status');
        return;
      }
      res.json(planOriginalTablesStatus(await deps.nodes(), deps.status.tables()));
    })
    .all(methodNotAllowed);

  router
    .route('/tables/:name')
    .get((req, res) => {
      sendTable(res, req.params.name);
    })
    .all(methodNotAllowed);

  return router;
}
