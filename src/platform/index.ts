/** Platform drivers behind one interface, chosen by the configuration (src/config). */
import type { ConfiguredPlatform, LogLevel } from '../config/controller.js';
import type { Logger } from '../lib/logger.js';
import { ControlPlanePlatform } from './controlplane/controlplane-platform.js';
import { createKubernetesPlatform } from './kubernetes/index.js';
import { KubernetesPlatform } from './kubernetes/kubernetes-platform.js';
import { LocalPlatform } from './local/local-platform.js';
import { StaticPlatform } from './static/static-platform.js';
import type { BackupJobLauncher } from '../reconcile/backup-job.js';
import type { Platform } from './types.js';

export { LocalPlatform, MAX_LOCAL_NODES, type LocalPlatformOptions } from './local/local-platform.js';
export { StaticPlatform } from './static/static-platform.js';
export { ControlPlanePlatform } from './controlplane/controlplane-platform.js';
export { KubernetesPlatform } from './kubernetes/kubernetes-platform.js';
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

/** `{jobs}` when the platform runs backups as jobs (Control Plane with BACKUP_WORKLOAD), else `{}`. */
export function backupJobLauncher(platform: Platform): { jobs?: BackupJobLauncher } {
  if (platform instanceof KubernetesPlatform && platform.backupJobs) {
    const k8s = platform.jobs; // K8S_BACKUP_JOBS=true
    return { jobs: { description: 'Kubernetes Jobs', start: (s) => k8s.start(s), get: (id) => k8s.get(id) } };
  }
  if (!(platform instanceof ControlPlanePlatform) || !platform.jobs.supports('backup')) return {};
  const jobs = platform.jobs;
  return { jobs: { description: `cron workload ${platform.config.backupWorkload ?? '?'}`, start: (s) => jobs.start(s), get: (id) => jobs.get(id) } };
}

/** The platform the configuration names. */
export function createPlatform(config: ConfiguredPlatform, deps: PlatformDeps): Platform {
  if (config.kind === 'static') return new StaticPlatform(config.nodes);
  if (config.kind === 'kubernetes') return createKubernetesPlatform(config.kubernetes, deps.logger.child({ component: 'platform' }));
  if (config.kind === 'controlplane') return new ControlPlanePlatform({ config: config.controlplane, logger: deps.logger.child({ component: 'platform' }) });
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
