/**
 * The controller's REST API (Express 5): one router per resource, one error middleware, the
 * envelope `{data}` / `{error:{code,message}}`, and the original system's endpoints in their
 * original shapes. Routes and shapes: src/api/README.md.
 */
import express from 'express';
import type { Express } from 'express';
import type { ApiDeps } from './deps.js';
import { auditRequests, auditRouter, MemoryAuditLog } from './audit.js';
import { authenticate, authorize, FailedAuthLimiter, whoami } from './auth.js';
import { errorMiddleware, notFoundHandler } from './errors.js';
import { clusterRouter } from './routes/cluster.js';
import { eventsRouter } from './routes/events.js';
import { importsRouter } from './routes/imports.js';
import { backupsRouter } from './routes/backups.js';
import { repairRouter } from './routes/repair.js';
import { operationsRouter } from './routes/operations.js';
import { queryRouter } from './routes/query.js';
import { tablesRouter } from './routes/tables.js';
import { methodNotAllowed } from './routes/util.js';
import { uiStatic } from './ui-static.js';

export type { ApiDeps } from './deps.js';

export const API_BODY_LIMIT = '1mb';

export function createApiApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Prometheus: every request counted by route template; GET /metrics outside /api (open unless METRICS_REQUIRE_TOKEN)
  if (deps.metrics !== undefined) {
    app.use(deps.metrics.requestMiddleware());
    // METRICS_REQUIRE_TOKEN: the admin or a viewer token (scraping is reading)
    if (deps.metricsRequireToken === true) app.get('/metrics', authenticate({ admin: deps.token, viewers: deps.viewerTokens ?? [] }, new FailedAuthLimiter(deps.authRateLimit)), deps.metrics.handler());
    else app.get('/metrics', deps.metrics.handler());
  }

  app.use('/api', (req, _res, next) => {
    deps.logger.debug('api request', { method: req.method, path: req.path, remote: req.ip });
    next();
  });

  // unauthenticated readiness probe (original shape {status:"ok"} plus `ready`)
  app
    .route('/api/status')
    .get((_req, res) => {
      const ready = deps.ready?.() ?? true;
      if (ready) res.json({ status: 'ok', ready: true });
      else res.status(503).json({ status: 'starting', ready: false });
    })
    .all(methodNotAllowed);

  // Every other /api request, whoever mounts it (auth.ts): mutating ones audited (refused ones too),
  // then authenticated (401, 429 after repeated failures), then authorized by role (403): viewers
  // read and run read-only queries, everything else needs admin. Checked before the body is parsed
  // and again after it (POST /api/query's `write`).
  const audit = deps.audit ?? new MemoryAuditLog();
  app.use('/api', auditRequests(audit, deps.logger));
  app.use('/api', authenticate({ admin: deps.token, viewers: deps.viewerTokens ?? [] }, new FailedAuthLimiter(deps.authRateLimit)));
  app.use('/api', authorize);
  app.use('/api', express.json({ limit: API_BODY_LIMIT }));
  app.use('/api', authorize);
  app.all('/api/whoami', whoami);

  const api = express.Router();
  api.use(auditRouter(audit));
  api.use(clusterRouter(deps));
  api.use(tablesRouter(deps));
  api.use(operationsRouter(deps));
  api.use(importsRouter(deps));
  api.use(backupsRouter(deps));
  api.use(repairRouter(deps));
  api.use(eventsRouter(deps));
  api.use(queryRouter(deps));
  api.use(notFoundHandler);
  app.use('/api', api);
  // the web UI (dist/ui) at / and its paths; static files need no token, the data behind them does
  app.use(uiStatic());

  app.use(errorMiddleware(deps.logger));
  return app;
}
