/**
 * /api/health, /api/cluster, /api/cluster/discover (original shapes), /api/cluster?view=full,
 * /api/nodes, /api/conditions (ours), POST /api/cluster/bootstrap (forced bootstrap request),
 * POST /api/reconcile (read every node and table again now).
 */
import { Router } from 'express';
import type { Request } from 'express';
import { AppError, ValidationError } from '../../lib/errors.js';
import type { NodeRef } from '../../platform/types.js';
import type { Condition, NodeStatusView } from '../../status/types.js';
import type { ApiDeps } from '../deps.js';
import { sendData } from '../errors.js';
import { UNHEALTHY_MESSAGE, decideOriginalHealth, planOriginalCluster, planOriginalDiscover } from '../original.js';
import { selectNode } from '../query-run.js';
import { methodNotAllowed } from './util.js';

export interface NodeView extends Partial<Omit<NodeStatusView, 'name' | 'ordinal' | 'apiAddress'>> {
  name: string;
  ordinal: number;
  apiAddress: string;
  mysql: string;
  agentUrl: string;
  httpAddress?: string;
  /** primary + synced */
  ready: boolean;
  /** the node has a status view (it was observed at least once) */
  observed: boolean;
}

export function planNodeViews(nodes: readonly NodeRef[], views: readonly NodeStatusView[]): NodeView[] {
  return [...nodes]
    .sort((a, b) => a.ordinal - b.ordinal)
    .map((ref) => {
      const view = views.find((v) => v.name === ref.name);
      const out: NodeView = {
        ...(view ?? { reachable: false, tables: [] }),
        name: ref.name,
        ordinal: ref.ordinal,
        apiAddress: ref.apiAddress,
        mysql: `${ref.mysql.host}:${ref.mysql.port}`,
        agentUrl: ref.agentUrl,
        ready: view?.reachable === true && view.clusterStatus === 'primary' && view.nodeState === 'synced',
        observed: view !== undefined,
      };
      if (ref.httpAddress !== undefined) out.httpAddress = ref.httpAddress;
      return out;
    });
}

export interface ScopedCondition extends Condition {
  /** "cluster" or "table/<name>" */
  scope: string;
}

function requestedBy(req: Request): string {
  const who = req.get('x-requested-by');
  const clean = who ? who.replace(/[^\w@.:() -]/g, '').slice(0, 100) : 'api';
  return `${clean || 'api'} from ${req.ip ?? 'unknown address'}`;
}

export function clusterRouter(deps: ApiDeps): Router {
  const router = Router();

  router
    .route('/health')
    .get(async (_req, res) => {
      const healthy = decideOriginalHealth(await deps.nodes(), deps.status.cluster());
      if (healthy) res.json({ status: 'ok', message: 'health check completed' });
      else res.status(500).json({ error: UNHEALTHY_MESSAGE });
    })
    .all(methodNotAllowed);

  router
    .route('/cluster')
    .get(async (req, res) => {
      const view = req.query.view;
      if (view === undefined || view === 'original') {
        res.json(planOriginalCluster(await deps.nodes(), deps.status.cluster()));
        return;
      }
      if (view !== 'full') throw new ValidationError('view', `unknown view ${JSON.stringify(view)}: use 'full' (ours) or leave it out (the original shape)`);
      const cluster = deps.status.cluster();
      sendData(res, {
        ...cluster,
        name: cluster.name || deps.clusterName,
        nodes: planNodeViews(await deps.nodes(), cluster.nodes),
        specProblems: deps.status.specProblems(),
        version: deps.version,
      });
    })
    .all(methodNotAllowed);

  router
    .route('/cluster/discover')
    .get(async (_req, res) => {
      res.json(planOriginalDiscover(await deps.nodes(), deps.status.cluster()));
    })
    .all(methodNotAllowed);

  router
    .route('/cluster/bootstrap')
    .post(async (req, res) => {
      const body: unknown = req.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ValidationError('body', 'send a JSON object {"node": "<name or index>", "force": true}');
      }
      const { node, force } = body as { node?: unknown; force?: unknown };
      if (node === undefined) throw new ValidationError('node', 'is required: name the node whose data must win (a name or an index)');
      const target = selectNode(await deps.nodes(), node, 'node');
      if (force !== true) {
        throw new ValidationError(
          'force',
          `must be true: a forced bootstrap starts the cluster from ${target.name} and discards newer writes held only by other nodes; send "force": true to confirm`,
        );
      }
      const by = requestedBy(req);
      deps.logger.warn('forced bootstrap requested', { node: target.name, requestedBy: by });
      const operation = await deps.requests.requestBootstrap({ node: target.name, force: true, requestedBy: by });
      sendData(res, operation, 202);
    })
    .all(methodNotAllowed);

  router
    .route('/reconcile')
    .post((req, res) => {
      const body: unknown = req.body;
      const sent = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
      if ((body === undefined && sent) || (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length > 0))) {
        throw new ValidationError('body', 'takes no fields: send no body, or {} as application/json');
      }
      if (deps.requests.reconcileNow === undefined) throw new AppError('UNAVAILABLE', 'this server runs no controller to reconcile', { retryable: false });
      const queued = deps.requests.reconcileNow();
      deps.logger.info('full reconcile requested', { requestedBy: requestedBy(req), keys: queued });
      sendData(res, { queued }, 202);
    })
    .all(methodNotAllowed);

  router
    .route('/nodes')
    .get(async (_req, res) => {
      sendData(res, planNodeViews(await deps.nodes(), deps.status.cluster().nodes));
    })
    .all(methodNotAllowed);

  router
    .route('/conditions')
    .get((_req, res) => {
      const out: ScopedCondition[] = deps.status.cluster().conditions.map((c) => ({ scope: 'cluster', ...c }));
      for (const t of deps.status.tables()) out.push(...t.conditions.map((c) => ({ scope: `table/${t.name}`, ...c })));
      sendData(res, out);
    })
    .all(methodNotAllowed);

  return router;
}
