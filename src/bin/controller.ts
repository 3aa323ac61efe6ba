#!/usr/bin/env node
/**
 * `controller`: the controller process (DESIGN.md section 2) for any platform the configuration names
 * (static node list, or local nodes on loopback): spec store (watched), platform, work queue,
 * reconcile passes, status store and the API. `npm start` (src/bin/start.ts) is the same stack with
 * local defaults and example specs.
 *
 *   controller [--port P] [--host H] [--data-dir DIR] [--specs-dir DIR] [--cluster NAME] [--platform local|static] [--nodes N]
 *
 * Settings and env vars: src/config/settings.ts. SIGINT/SIGTERM stop the controller, then the
 * platform (local nodes stop cleanly), then exit.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AgentClient } from '../agent/client.js';
import { createApiApp } from '../api/app.js';
import { backupScheduleProblems, createControllerScheduler, withScheduleProblems } from '../backup/schedule.js';
import { createControllerImportScheduler } from '../reconcile/import-schedule.js';
import { controllerUsage, loadControllerConfig, loadControllerToken, loadViewerTokens, type ControllerConfig } from '../config/controller.js';
import { loadRepairConfig } from '../config/repair.js';
import { errorMessage, ValidationError } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { controllerBackupOptions } from '../reconcile/backup-store.js';
import { MachineRuntime } from '../machines/runtime/machine-runtime.js';
import { ManticorePools } from '../manticore/client.js';
import { ControllerMetrics } from '../observe/metrics.js';
import { logOperations } from '../observe/operation-log.js';
import { backupJobLauncher, createPlatform, KubernetesPlatform } from '../platform/index.js';
import { createLeaseElector, runWithLeaderElection } from '../platform/kubernetes/index.js';
import type { KubernetesConfig } from '../config/kubernetes.js';
import type { NodeRef, Platform } from '../platform/types.js';
import { Controller, type ControllerOptions } from '../reconcile/controller.js';
import { LOOPBACK_OPTIONS, repoRoot } from '../sim/launcher.js';
import { SpecStore } from '../spec/loader.js';
import { FileStatusStore } from '../status/store.js';

export interface StackOptions {
  config: ControllerConfig;
  token: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** a platform built by the caller (tests); default: the one the config names */
  platform?: Platform;
  /** serve the API (default true) */
  api?: boolean;
  /** overrides of the controller's timings */
  controller?: Partial<Pick<ControllerOptions, 'resyncMs' | 'fastResyncMs' | 'observeTimeoutMs' | 'clusterOptions' | 'backup'>>;
}

export interface RunningStack {
  config: ControllerConfig;
  controller: Controller;
  platform: Platform;
  specs: SpecStore;
  status: FileStatusStore;
  pools: ManticorePools;
  /** base URL of the API, when served */
  url?: string;
  /** stops the API, the controller, the platform (local nodes stop cleanly) and closes the pools */
  stop(): Promise<void>;
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts everything the controller process runs; the caller owns signals and exit. */
export async function startStack(o: StackOptions): Promise<RunningStack> {
  const { config, logger } = o;
  const status = FileStatusStore.open({ dataDir: config.dataDir, logger: logger.child({ component: 'status' }) });
  const specs = new SpecStore({
    dir: config.specsDir,
    ...(config.tablesConfig === undefined ? {} : { tablesConfig: config.tablesConfig }),
    logger: logger.child({ component: 'specs' }),
  });
  await specs.load();
  specs.watch();
  const platform =
    o.platform ??
    createPlatform(config.platform, {
      dataDir: config.dataDir,
      token: o.token,
      clusterName: config.clusterName,
      env: o.env,
      logger,
      logLevel: config.logLevel,
    });
  // Kubernetes: ManticoreTable objects join the file/TABLES_CONFIG specs; their /status is written back
  const kube = platform instanceof KubernetesPlatform ? platform : undefined;
  const specSource = kube === undefined ? specs : kube.specSource(specs);
  const pools = new ManticorePools({ logger: logger.child({ component: 'manticore' }) });
  const agents = new Map<string, AgentClient>();
  const agentFor = (node: NodeRef): AgentClient => {
    let a = agents.get(node.agentUrl);
    if (a === undefined) {
      a = new AgentClient({ baseUrl: node.agentUrl, token: o.token });
      agents.set(node.agentUrl, a);
    }
    return a;
  };
  const runtime = new MachineRuntime(config.dataDir, logger.child({ component: 'machines' }));
  // Prometheus series (GET /metrics) and one log line per operation step, both from the status store
  const metrics = new ControllerMetrics();
  const unbindMetrics = metrics.bindStatus(status);
  const unlogOperations = logOperations(status, logger.child({ component: 'operations' }));
  const controllerOptions: ControllerOptions = {
    clusterName: config.clusterName,
    platform,
    specs: withScheduleProblems(specSource, () => backupScheduleProblems(config.backupSchedules)), // BACKUP_SCHEDULES problems reach the status
    status,
    pools,
    agentFor,
    runtime,
    logger: logger.child({ component: 'controller' }),
    resyncMs: config.resyncIntervalMs,
    backup: { ...controllerBackupOptions(config.backup, config.dataDir), ...backupJobLauncher(platform) }, // BACKUP_WORKLOAD: backups as platform jobs
    metrics,
    repair: loadRepairConfig(o.env), // REPAIR_POLICY, REPAIR_OBSERVATION_GUARD, REPAIR_AUTO_DEBOUNCE
    ...o.controller,
  };
  // on loopback the Galera listener must bind 127.0.0.1 (manticore-facts section 7)
  if (controllerOptions.clusterOptions === undefined && platform.kind === 'local') controllerOptions.clusterOptions = LOOPBACK_OPTIONS;
  const controller = new Controller(controllerOptions);
  metrics.bindQueue(controller);
  // scheduled backups (BACKUP_SCHEDULES + spec `backups`): one replica fires (lease in the data dir), retention after each success
  const scheduler = createControllerScheduler({ dataDir: config.dataDir, envEntries: config.backupSchedules, missedWindowMs: config.backupMissedWindowMs, specs: specSource, backups: controller, operations: status, logger: logger.child({ component: 'backup-schedule' }), ...(controllerOptions.backup ? { backup: controllerOptions.backup } : {}) });
  // scheduled imports (spec `import.schedule`): one replica fires (its own lease in the data dir)
  const importScheduler = createControllerImportScheduler({ dataDir: config.dataDir, specs: specSource, imports: controller, logger: logger.child({ component: 'import-schedule' }) });

  let server: Server | undefined;
  let url: string | undefined;
  const stop = async (): Promise<void> => {
    if (server !== undefined) {
      const s = server;
      server = undefined;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await scheduler.stop();
    await importScheduler.stop();
    await controller.stop();
    unbindMetrics();
    unlogOperations();
    runtime.stopAll();
    specs.close();
    await platform.stop();
    await pools.closeAll();
  };

  try {
    await platform.start();
    controller.start();
    kube?.startStatusWriter(status);
    scheduler.start();
    importScheduler.start();
    if (o.api !== false) {
      const app = createApiApp({
        status,
        requests: controller,
        nodes: () => platform.listNodes(),
        pools,
        token: o.token,
        viewerTokens: loadViewerTokens(o.env),
        audit: status,
        logger: logger.child({ component: 'api' }),
        clusterName: config.clusterName,
        version: packageVersion(),
        ready: () => controller.isReady(),
        metrics,
        metricsRequireToken: config.metricsRequireToken,
      });
      server = createServer(app);
      await listen(server, config.listen.host, config.listen.port);
      const addr = server.address() as AddressInfo;
      url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  const running: RunningStack = { config, controller, platform, specs, status, pools, stop };
  if (url !== undefined) running.url = url;
  return running;
}

/** Stops the stack once on SIGINT/SIGTERM, then exits (a second signal exits at once). */
export function stopOnSignals(stack: RunningStack, logger: Logger, say: (line: string) => void): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      say(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = true;
    say(`${signal}: stopping the controller, then the nodes (clean stop)...`);
    stack.stop().then(
      () => {
        say('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error('stop failed', { err: errorMessage(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const config = loadControllerConfig({ env: process.env, argv });
  if (config.help) {
    process.stdout.write(`${controllerUsage('controller')}\n`);
    return;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, defaultMeta: { process: 'controller' } });
  const token = loadControllerToken(process.env, config.dataDir);
  if (config.platform.kind === 'kubernetes') {
    // two replicas and every agent must share one token: a generated one would differ per replica
    if (token.source !== 'env') throw new ValidationError('ORCHESTRATOR_TOKEN', 'PLATFORM=kubernetes needs the shared admin token: set ORCHESTRATOR_TOKEN from the Secret manticore-orchestrator-token (manifests/kubernetes/controller.yaml)');
    return runKubernetesController(config, config.platform.kubernetes, token.token, logger);
  }
  const stack = await startStack({ config, token: token.token, env: process.env, logger });
  logger.info('controller started', { url: stack.url, platform: stack.platform.kind, cluster: config.clusterName, dataDir: config.dataDir });
  stopOnSignals(stack, logger, (line) => logger.info(line));
}

/**
 * PLATFORM=kubernetes: only the replica holding the Lease runs the stack; the other stands by and
 * forwards API requests to the leader (src/platform/kubernetes/leadership.ts). Losing the Lease exits.
 */
function runKubernetesController(config: ControllerConfig, kube: KubernetesConfig, token: string, logger: Logger): void {
  const leadership = runWithLeaderElection({
    elector: createLeaseElector(kube, logger),
    identity: kube.identity,
    listen: config.listen,
    logger: logger.child({ component: 'leadership' }),
    startLeader: async () => {
      const stack = await startStack({ config, token, env: process.env, logger });
      logger.info('controller started (leader)', { url: stack.url, platform: 'kubernetes', cluster: config.clusterName, identity: kube.identity });
      return stack;
    },
    onLost: (reason) => {
      logger.error('exiting: this replica is no longer the leader', { reason });
      process.exit(1);
    },
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info(`${signal}: stopping the controller and releasing the leader Lease`);
    leadership.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('stop failed', { err: errorMessage(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function isMain(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(path.resolve(entry)).href;
}

if (isMain()) {
  main().catch((err: unknown) => {
    process.stderr.write(`controller: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
