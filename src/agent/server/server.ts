/** Starts the agent: opens its stores, builds the app and listens; close() stops it cleanly. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import type { Express } from 'express';
import { ManticoreClient } from '../../manticore/client.js';
import { silentLogger, type Logger } from '../../lib/logger.js';
import { AgentMetrics } from '../../observe/metrics.js';
import { validateAgentConfig, type AgentServerConfig } from './config.js';
import { createAgentApp, type AgentDeps } from './app.js';
import { StartGateStore } from './start-gate.js';
import { JobManager, type JobKind } from './jobs.js';
import { DeclaredTablesStore } from './declared-tables.js';
import { indexerKind } from './job-kinds/indexer.js';
import { buildMainKind } from './job-kinds/build-main.js';
import { backupTableKind } from './job-kinds/backup-table.js';

/** Connect timeout to the local searchd: probes must answer quickly when it is down. */
export const SEARCHD_CONNECT_TIMEOUT_MS = 2_000;

export interface AgentServer {
  /** http://host:port */
  url: string;
  port: number;
  app: Express;
  deps: AgentDeps;
  close(): Promise<void>;
}

export interface StartAgentOptions {
  logger?: Logger;
  /** job kinds beyond the built-in ones (later issues: backup, restore) */
  extraKinds?: readonly JobKind[];
}

/** The built-in job kinds for a config. */
export function builtinKinds(config: AgentServerConfig): JobKind[] {
  return [indexerKind(config.binaries.indexer) as unknown as JobKind, buildMainKind(config.binaries) as unknown as JobKind,
    backupTableKind({ backupBin: config.binaries.backup, searchdConfig: config.searchdConfig, mysql: config.mysql }) as unknown as JobKind];
}

export async function createAgentDeps(config: AgentServerConfig, options: StartAgentOptions = {}): Promise<AgentDeps> {
  validateAgentConfig(config);
  const logger = options.logger ?? silentLogger();
  const metrics = new AgentMetrics();
  await mkdir(config.jobsDir, { recursive: true });
  const searchd = new ManticoreClient(`${config.mysql.host}:${config.mysql.port}`, {
    connectTimeoutMs: SEARCHD_CONNECT_TIMEOUT_MS,
    connectionLimit: 2,
    logger,
  });
  return {
    config,
    logger,
    searchd,
    gate: await StartGateStore.open(config.jobsDir),
    jobs: await JobManager.open({ dir: config.jobsDir, kinds: [...builtinKinds(config), ...(options.extraKinds ?? [])], logger, metrics }),
    declared: await DeclaredTablesStore.open(config.jobsDir),
    metrics,
  };
}

/** How long an idle client connection stays open (announced as `Keep-Alive: timeout=65`). */
export const AGENT_KEEP_ALIVE_MS = 65_000;

export async function startAgentServer(config: AgentServerConfig, options: StartAgentOptions = {}): Promise<AgentServer> {
  const deps = await createAgentDeps(config, options);
  const app = createAgentApp(deps);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  // the controller reads /v1/state every AGENT_REREAD_AT_REST_MS (30 s) at rest: with Node's default
  // of 5 s every read opened a new connection; its fetch keeps a socket for what Keep-Alive announces
  server.keepAliveTimeout = AGENT_KEEP_ALIVE_MS;
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  deps.logger.info('agent listening', { host: config.host, port, cluster: config.cluster });
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    app,
    deps,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await deps.jobs.close();
        server.closeAllConnections();
        await stopped;
        await deps.searchd.close();
        deps.logger.info('agent stopped', {});
      })();
      return closing;
    },
  };
}
