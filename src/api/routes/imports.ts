/**
 * Blue/green imports (issue 4):
 *   POST   /api/import        our body {table, source?} → 202 {data: operation};
 *                             the original body {tableName} → 202 {status:"accepted", message}
 *   GET    /api/imports       the original shape {imports:[{tableName, commandId, lifecycleStage}]}
 *                             (running imports) plus `operations`: every import operation, newest first
 *   DELETE /api/imports/:id   cancels a running import before its flip → {data: operation}
 * A second import of a table answers 409 IMPORT_IN_PROGRESS naming the running operation.
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { AppError, isAppError, ValidationError } from '../../lib/errors.js';
import { validateIdentifier } from '../../manticore/identifiers.js';
import type { OperationRecord } from '../../status/types.js';
import type { ApiDeps } from '../deps.js';
import { notFound, sendData } from '../errors.js';
import { methodNotAllowed } from './util.js';

export const IMPORT_OPERATION_KIND = 'import';

/** What the routes need of the controller (the Controller implements it). */
export interface ImportRequestSink {
  requestImport(input: { table: string; source?: string | string[]; requestedBy: string }): Promise<OperationRecord>;
  cancelImport(operationId: string, requestedBy: string): OperationRecord;
}

function requestedBy(req: Request): string {
  const who = req.get('x-requested-by');
  const clean = who ? who.replace(/[^\w@.:() -]/g, '').slice(0, 100) : 'api';
  return `${clean || 'api'} from ${req.ip ?? 'unknown address'}`;
}

function sinkOf(deps: ApiDeps): ImportRequestSink {
  const s = deps.requests as unknown as Partial<ImportRequestSink>;
  if (typeof s.requestImport !== 'function' || typeof s.cancelImport !== 'function') {
    throw new AppError('UNAVAILABLE', 'this controller does not take import requests');
  }
  return s as ImportRequestSink;
}

/** IMPORT_IN_PROGRESS (and a running restore or backup) is a conflict: 409 in the envelope, naming the operation. */
function sendConflict(res: Response, err: AppError): void {
  res.status(409).json({ error: { code: err.code, message: err.message, ...(typeof err.details.operationId === 'string' ? { operationId: err.details.operationId } : {}) } });
}

function parseSource(body: Record<string, unknown>): string | string[] | undefined {
  const source = body.source;
  if (source === undefined || source === null) return undefined;
  if (typeof source === 'string' && source.trim() !== '') return source.trim();
  if (Array.isArray(source) && source.length > 0 && source.every((s) => typeof s === 'string' && s.trim() !== '')) return source.map((s: string) => s.trim());
  throw new ValidationError('source', 'use a path on the shared volume or an https:// URL (a string), or a non-empty array of them');
}

export function importsRouter(deps: ApiDeps): Router {
  const router = Router();

  router
    .route('/import')
    .post(async (req, res) => {
      const body: unknown = req.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ValidationError('body', 'send a JSON object: {"table": "<name>", "source": "<path or URL>"} (or the original {"tableName": "<name>"})');
      }
      const b = body as Record<string, unknown>;
      const original = b.table === undefined && b.tableName !== undefined;
      const table = original ? b.tableName : b.table;
      if (typeof table !== 'string' || table.trim() === '') {
        throw new ValidationError(original ? 'tableName' : 'table', 'name the table to import, e.g. {"table": "products"}');
      }
      validateIdentifier(table.trim(), 'table', original ? 'tableName' : 'table');
      const source = parseSource(b);
      const sink = sinkOf(deps);
      let op: OperationRecord;
      try {
        op = await sink.requestImport({ table: table.trim(), requestedBy: requestedBy(req), ...(source !== undefined ? { source } : {}) });
      } catch (err) {
        if (isAppError(err) && err.code.endsWith('_IN_PROGRESS')) {
          sendConflict(res, err);
          return;
        }
        throw err;
      }
      if (original) res.status(202).json({ status: 'accepted', message: `import of ${op.target ?? table} started: operation ${op.id}`, commandId: op.id });
      else sendData(res, op, 202);
    })
    .all(methodNotAllowed);

  router
    .route('/imports')
    .get((_req, res) => {
      const ops = deps.status
        .operations()
        .filter((o) => o.kind === IMPORT_OPERATION_KIND)
        .sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
      const imports = ops
        .filter((o) => o.state === 'pending' || o.state === 'running')
        .map((o) => ({ tableName: o.target ?? o.key.split('/')[2] ?? '', commandId: o.id, lifecycleStage: o.state }));
      res.json({ imports, operations: ops });
    })
    .all(methodNotAllowed);

  router
    .route('/imports/:id')
    .get((req, res) => {
      const op = deps.status.operation(req.params.id);
      if (op === undefined || op.kind !== IMPORT_OPERATION_KIND) throw notFound(`no import ${JSON.stringify(req.params.id)}: GET /api/imports lists them`);
      sendData(res, op);
    })
    .delete((req, res) => {
      const op = sinkOf(deps).cancelImport(req.params.id, requestedBy(req));
      sendData(res, op);
    })
    .all(methodNotAllowed);

  return router;
}
