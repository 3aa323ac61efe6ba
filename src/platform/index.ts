/** Platform drivers behind one interface, chosen by the configuration (src/config). */
import type { ConfiguredPlatform, LogLevel } from '../config/controller.js';
import type { Logger } from '../lib/logger.js';
import { LocalPlatform } from './local/local-platform.js';
import { StaticPlatform } from './static/static-platform.js';
import type { Platform } from './types.js';

export { LocalPlatform, MAX_LOCAL_NODES, type LocalPlatformOptions } from './local/local-platform.js';
export { StaticPlatform } from './static/static-platform.js';
export type { NodeStatus, NodePhase, SupervisorTimings } from './local/node-supervisor.js';
export type { NodeRef, Platform, PlatformKind } from './types.js';

export interface PlatformDeps {
  dataDir: string;
  token: string;
  clusterName: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  logLevel?: LogLevel;
}

/** The platform the configuration names. */
export function createPlatform(config: ConfiguredPlatform, deps: PlatformDeps): Platform {
  if (config.kind === 'static') return new StaticPlatform(config.nodes);
  return new LocalPlatform({
    dataDir: deps.dataDir,
    nodes: config.nodes,
    binaries: config.binaries,
    token: deps.token,
    clusterName: deps.clusterName,
    env: deps.env,
    logger: deps.logger.child({ component: 'platform' }),
    ...(deps.logLevel ? { logLevel: deps.logLevel } : {}),
  });
}
