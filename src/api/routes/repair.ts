/**
 * Split-brain repair (issue 6):
 *   POST /api/repair    ours {source?: node name | ordinal} or the original {sourceReplica?: int}; the body is optional
 *                       → 202 {status:"accepted", message:"repair started", commandId, operationId}
 *                       409 CONFLICT naming the running operation (import, backup, repair, cluster formation);
 *                       409 OBSERVATIONS_STALE while a node's observation is missing or stale; 400 naming the field
 *   GET  /api/repairs   the original {repairs:[{commandId, sourceReplica?, lifecycleStage}]} (pending and running),
 *                       plus `operations`: every repair operation, newest first
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { AppError, isAppError, ValidationError } from '../../lib/errors.js';
import type { OperationRecord } from '../../status/types.js';
import type { ApiDeps } from '../deps.js';
import { methodNotAllowed } from './util.js';

export const REPAIR_OPERATION_KIND = 'repair';

/** What the routes need of the controller (the Controller implements it). */
export interface RepairRequestSink {
  requestRepair(input: { source?: unknown; sourceField?: string; requestedBy: string }): Promise<OperationRecord>;
}

function requestedBy(req: Request): string {
  const who = req.get('x-requested-by');
  const clean = who ? who.replace(/[^\w@.:() -]/g, '').slice(0, 100) : 'api';
  return `${clean || 'api'} from ${req.ip ?? 'unknown address'}`;
}

function sinkOf(deps: ApiDeps): RepairRequestSink {
  const s = deps.requests as unknown as Partial<RepairRequestSink>;
  if (typeof s.requestRepair !== 'function') throw new AppError('UNAVAILABLE', 'this controller does not take repair requests');
  return s as RepairRequestSink;
}

/** The source the body names: ours `source` (name or ordinal) or the original `sourceReplica` (an ordinal). */
export function parseRepairBody(body: unknown): { source?: unknown; sourceField?: string } {
  if (body === undefined || body === null || (typeof body === 'string' && body === '')) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('body', 'send a JSON object: {} or {"source": "<node name or ordinal>"} (or the original {"sourceReplica": <int>})');
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => k !== 'source' && k !== 'sourceReplica');
  if (unknown.length > 0) throw new ValidationError(unknown[0] as string, 'unknown field: a repair takes only "source" (or the original "sourceReplica")');
  if (b.source !== undefined && b.source !== null && b.sourceReplica !== undefined && b.sourceReplica !== null) {
    throw new ValidationError('source', 'give "source" or "sourceReplica", not both');
  }
  if (b.sourceReplica !== undefined && b.sourceReplica !== null) {
    if (typeof b.sourceReplica !== 'number' || !Number.isInteger(b.sourceReplica) || b.sourceReplica < 0) {
      throw new ValidationError('sourceReplica', 'must be a replica index, a whole number from 0 (e.g. {"sourceReplica": 1})');
    }
    return { source: b.sourceReplica, sourceField: 'sourceReplica' };
  }
  if (b.source !== undefined && b.source !== null) {
    const ok = (typeof b.source === 'string' && b.source.trim() !== '') || (typeof b.source === 'number' && Number.isInteger(b.source) && b.source >= 0);
    if (!ok) throw new ValidationError('source', 'must be a node name (e.g. "node1") or an ordinal (e.g. 1)');
    return { source: b.source, sourceField: 'source' };
  }
  return {};
}

function sendConflict(res: Response, err: AppError): void {
  res.status(409).json({ error: { code: err.code, message: err.message, ...(typeof err.details.operationId === 'string' ? { operationId: err.details.operationId } : {}) } });
}

export function repairRouter(deps: ApiDeps): Router {
  const router = Router();

  router
    .route('/repair')
    .post(async (req, res) => {
      const parsed = parseRepairBody(req.body);
      let op: OperationRecord;
      try {
        op = await sinkOf(deps).requestRepair({ ...parsed, requestedBy: requestedBy(req) });
      } catch (err) {
        if (isAppError(err) && (err.code === 'CONFLICT' || err.code === 'OBSERVATIONS_STALE')) {
          sendConflict(res, err);
          return;
        }
        throw err;
      }
      res.status(202).json({ status: 'accepted', message: 'repair started', commandId: op.id, operationId: op.id });
    })
    .all(methodNotAllowed);

  router
    .route('/repairs')
    .get(async (_req, res) => {
      const ops = deps.status
        .operations()
        .filter((o) => o.kind === REPAIR_OPERATION_KIND)
        .sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
      const nodes = await deps.nodes().catch(() => []);
      const repairs = ops
        .filter((o) => o.state === 'pending' || o.state === 'running')
        .map((o) => {
          const ordinal = nodes.find((n) => n.name === o.target)?.ordinal;
          return { commandId: o.id, ...(ordinal !== undefined ? { sourceReplica: ordinal } : {}), lifecycleStage: o.state };
        });
      res.json({ repairs, operations: ops });
    })
    .all(methodNotAllowed);

  return router;
}
