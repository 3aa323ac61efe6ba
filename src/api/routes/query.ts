/**
 * POST /api/query: the query console.
 *
 * Ours: `{sql, node?, broadcast?, write?}` → `{data: {status, kind, verb, mode, results: [...]}}`.
 * The original's: `{query, replicaIndex?, broadcast?, write?}` → its single / broadcast shapes
 * (original-system.md 2.1.3), with the partial-status bug fixed and no re-run of failing statements.
 * Both are read-only unless `write: true`.
 */
import { Router } from 'express';
import { AppError, ValidationError } from '../../lib/errors.js';
import type { NodeRef } from '../../platform/types.js';
import type { ApiDeps } from '../deps.js';
import { sendData } from '../errors.js';
import { ALL_REPLICAS_FAILED_MESSAGE, toOriginalQueryResult } from '../original.js';
import { classifyStatement } from '../query-classify.js';
import type { ClassifiedStatement } from '../query-classify.js';
import { DEFAULT_QUERY_LIMITS, overallStatus, runOnAll, runOnFirstAvailable, runOnNode, selectNode } from '../query-run.js';
import type { NodeQueryResult, QueryLimits } from '../query-run.js';
import { methodNotAllowed } from './util.js';

interface QueryBody {
  sql?: unknown;
  query?: unknown;
  node?: unknown;
  replicaIndex?: unknown;
  broadcast?: unknown;
  write?: unknown;
}

function optionalBoolean(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new ValidationError(field, 'must be true or false');
  return value;
}

function enforceMode(stmt: ClassifiedStatement, write: boolean): void {
  if (stmt.kind === 'write' && !write) {
    throw new ValidationError(
      'write',
      `${stmt.verb} is not read-only: the console runs SELECT, SHOW, DESCRIBE, EXPLAIN and CALL SNIPPETS/KEYWORDS/SUGGEST/QSUGGEST/PQ by default; send "write": true to run it`,
    );
  }
}

async function requireNodes(deps: ApiDeps): Promise<NodeRef[]> {
  const nodes = await deps.nodes();
  if (nodes.length === 0) throw new AppError('UNAVAILABLE', 'no nodes are configured yet: wait for the platform to list nodes', { retryable: true });
  return nodes;
}

export function queryRouter(deps: ApiDeps): Router {
  const router = Router();
  const limits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, ...deps.queryLimits };

  router
    .route('/query')
    .post(async (req, res) => {
      const raw: unknown = req.body;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw new ValidationError('body', 'send a JSON object {"sql": "...", "node"?: name|index, "broadcast"?: bool, "write"?: bool}');
      }
      const body = raw as QueryBody;
      if (body.sql !== undefined && body.query !== undefined) {
        throw new ValidationError('sql', "send either 'sql' (this API) or 'query' (the original API's field), not both");
      }
      const original = body.sql === undefined && body.query !== undefined;
      const field = original ? 'query' : 'sql';
      const stmt = classifyStatement(original ? body.query : body.sql, field);
      const broadcast = optionalBoolean(body.broadcast, 'broadcast');
      const write = optionalBoolean(body.write, 'write');
      enforceMode(stmt, write);
      const target = original ? body.replicaIndex : body.node;
      const targetField = original ? 'replicaIndex' : 'node';
      if (broadcast && target !== undefined && target !== null) {
        throw new ValidationError(targetField, "cannot be combined with 'broadcast': name one node or broadcast to all");
      }
      if (original && target !== undefined && target !== null && !(typeof target === 'number' && Number.isInteger(target))) {
        throw new ValidationError('replicaIndex', 'must be an integer replica index');
      }
      const nodes = await requireNodes(deps);
      deps.logger.info('console query', { verb: stmt.verb, kind: stmt.kind, broadcast, target, remote: req.ip });

      let mode: 'node' | 'first-available' | 'broadcast';
      let results: NodeQueryResult[];
      let attempts = 1;
      if (broadcast) {
        mode = 'broadcast';
        results = await runOnAll(deps.pools, nodes, stmt, limits);
      } else if (target !== undefined && target !== null) {
        mode = 'node';
        const node = selectNode(nodes, target, targetField);
        results = [await runOnNode(deps.pools, node, stmt, limits)];
      } else {
        mode = 'first-available';
        const tried = await runOnFirstAvailable(deps.pools, nodes, stmt, limits);
        attempts = tried.length;
        const last = tried[tried.length - 1];
        results = last ? [last] : [];
      }

      // a hand-made write may have altered a managed table: have the controller read them all again
      if (stmt.kind === 'write') deps.requests.tablesTouched?.();

      if (!original) {
        sendData(res, { status: overallStatus(results), kind: stmt.kind, verb: stmt.verb, mode, attempts, results });
        return;
      }
      if (mode === 'broadcast') {
        res.json({ status: overallStatus(results), results: results.map(toOriginalQueryResult) });
        return;
      }
      const answer = results[0];
      if (answer === undefined || (mode === 'first-available' && !answer.ok && answer.error?.kind === 'connect')) {
        res.status(503).json({ error: ALL_REPLICAS_FAILED_MESSAGE });
        return;
      }
      res.json(toOriginalQueryResult(answer));
    })
    .all(methodNotAllowed);

  return router;
}
