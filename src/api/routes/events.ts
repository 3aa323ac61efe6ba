/**
 * GET /api/events: server-sent events of status changes (`event: condition|operation|node`, the
 * StatusEvent as JSON data), a heartbeat comment every `sseHeartbeatMs`, and the subscription
 * dropped when the client goes away.
 */
import { Router } from 'express';
import type { StatusEvent } from '../../status/types.js';
import type { ApiDeps } from '../deps.js';
import { DEFAULT_SSE_HEARTBEAT_MS } from '../deps.js';
import { methodNotAllowed } from './util.js';

/** One SSE frame. */
export function formatSseEvent(id: number, event: StatusEvent): string {
  return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

export function eventsRouter(deps: ApiDeps): Router {
  const router = Router();
  const heartbeatMs = deps.sseHeartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS;

  router
    .route('/events')
    .get((req, res) => {
      res.status(200);
      res.set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      res.flushHeaders();
      res.write(`retry: 2000\n: connected to cluster ${deps.clusterName}\n\n`);
      let nextId = 1;
      const unsubscribe = deps.status.subscribe((event) => {
        res.write(formatSseEvent(nextId++, event));
      });
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
      heartbeat.unref();
      let closed = false;
      const cleanup = (): void => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        deps.logger.debug('event stream closed', { remote: req.ip });
      };
      req.on('close', cleanup);
      res.on('close', cleanup);
      deps.logger.debug('event stream opened', { remote: req.ip });
    })
    .all(methodNotAllowed);

  return router;
}
