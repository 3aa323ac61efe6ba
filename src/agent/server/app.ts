/**
 * The agent's Express app: the routes of src/agent/protocol.ts over the node's searchd, disk, start
 * gate and jobs. It decides nothing: it reports, stores the controller's decisions and runs jobs.
 */
import express, { type Express, type Request, type Response } from 'express';
import { AgentRoutes, type AgentReady, type NodeDiskState } from '../protocol.js';
import type { ManticoreClient } from '../../manticore/client.js';
import type { Logger } from '../../lib/logger.js';
import type { AgentMetrics } from '../../observe/metrics.js';
import type { AgentServerConfig } from './config.js';
import { requireBearer } from './auth.js';
import { AgentHttpError, errorHandler, notFoundHandler, sendData } from './envelope.js';
import { validateStartDecision, validateStarted, type StartGateStore } from './start-gate.js';
import type { JobManager } from './jobs.js';
import { validateDeclaredTables, type DeclaredTablesStore } from './declared-tables.js';
import { livePid, readGrastate, readSavedState, readSearchdSection } from './node-files.js';
import { decideHealth, decideReady, observeSearchd, observeTables, searchdAnswers } from './searchd.js';

export interface AgentDeps {
  config: AgentServerConfig;
  logger: Logger;
  /** the local searchd over MySQL */
  searchd: ManticoreClient;
  gate: StartGateStore;
  jobs: JobManager;
  declared: DeclaredTablesStore;
  /** Prometheus series (GET /metrics, no token like the probes); none when absent */
  metrics?: AgentMetrics;
}

/** Max JSON body (config text of an indexer job fits). */
export const BODY_LIMIT = '2mb';

export function createAgentApp(deps: AgentDeps): Express {
  const { config, logger, searchd, gate, jobs, declared } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (deps.metrics !== undefined) {
    deps.metrics.bindSearchd(() => searchdAnswers(searchd));
    app.use(deps.metrics.requestMiddleware());
    app.get('/metrics', deps.metrics.handler());
  }
  const clusterName = (): string | undefined => declared.get().cluster ?? config.cluster;

  // --- probes (no token)
  app.get(AgentRoutes.health, async (_req: Request, res: Response) => {
    const view = await observeSearchd(searchd);
    sendData(res, decideHealth(view, clusterName()), view.reachable ? 200 : 503);
  });

  app.get(AgentRoutes.ready, async (_req: Request, res: Response) => {
    const view = await observeSearchd(searchd);
    const cluster = clusterName();
    const present = view.reachable ? await observeTables(searchd) : undefined;
    const ready: AgentReady = decideReady(view, cluster, declared.get().tables, present);
    sendData(res, ready, ready.ready ? 200 : 503);
  });

  // --- everything else needs the token
  app.use(requireBearer(config.token));
  // bodies are parsed only for authenticated callers (an anonymous caller cannot make us parse 1 MB)
  app.use(express.json({ limit: BODY_LIMIT }));

  app.get(AgentRoutes.grastate, async (_req: Request, res: Response) => {
    const saved = await readSavedState(config.dataDir);
    sendData(res, await readGrastate(config.dataDir, saved.clusterPaths));
  });

  app.get(AgentRoutes.state, async (_req: Request, res: Response) => {
    const saved = await readSavedState(config.dataDir);
    const grastate = await readGrastate(config.dataDir, saved.clusterPaths);
    const section = config.searchdConfig === undefined ? undefined : await readSearchdSection(config.searchdConfig);
    const pid = section?.pidFile === undefined ? undefined : await livePid(section.pidFile);
    const running = pid !== undefined || (await searchdAnswers(searchd));
    const state: NodeDiskState = {
      grastate,
      savedClusters: saved.clusters,
      savedTables: saved.tables,
      searchd: pid === undefined ? { running } : { running, pid },
      gate: await gate.answer(saved, false),
    };
    sendData(res, state);
  });

  app.get(AgentRoutes.start, async (_req: Request, res: Response) => {
    const saved = await readSavedState(config.dataDir);
    const answer = await gate.answer(saved, true);
    logger.info('agent start gate asked', { mode: answer.mode, decisionId: answer.decisionId, reason: answer.reason });
    sendData(res, answer);
  });

  app.put(AgentRoutes.start, async (req: Request, res: Response) => {
    const decision = validateStartDecision(req.body);
    const answer = await gate.decide(decision);
    logger.info('agent start decision stored', { mode: decision.mode, decisionId: decision.decisionId, reason: decision.reason });
    sendData(res, answer);
  });

  app.post(AgentRoutes.startStarted, async (req: Request, res: Response) => {
    const { decisionId } = validateStarted(req.body);
    const started = await gate.started(decisionId);
    logger.info('agent searchd started through the gate', { decisionId });
    sendData(res, started);
  });

  app.get(AgentRoutes.declaredTables, (_req: Request, res: Response) => {
    sendData(res, declared.get());
  });

  app.put(AgentRoutes.declaredTables, async (req: Request, res: Response) => {
    sendData(res, await declared.set(validateDeclaredTables(req.body)));
  });

  app.post(AgentRoutes.jobs, async (req: Request, res: Response) => {
    const { job, created } = await jobs.start(req.body);
    sendData(res, job, created ? 201 : 200);
  });

  app.get(AgentRoutes.jobs, (_req: Request, res: Response) => {
    sendData(res, jobs.list());
  });

  app.get('/v1/jobs/:id', (req: Request, res: Response) => {
    const id = String(req.params['id']);
    const job = jobs.get(id);
    if (!job) throw new AgentHttpError(404, 'NOT_FOUND', `no job '${id}'`);
    sendData(res, job);
  });

  app.post('/v1/jobs/:id/cancel', async (req: Request, res: Response) => {
    sendData(res, await jobs.cancel(String(req.params['id'])));
  });

  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
