/** The Kubernetes platform driver (README.md here): nodes, ManticoreTable specs and status, Jobs, leader election. */
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesConfig } from '../../config/kubernetes.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { KubernetesPlatform } from './kubernetes-platform.js';
import { LeaseElector } from './lease.js';
import { KubeRest, loadKubeConfig } from './rest.js';

export { CrdSpecSource, tableNameOf, type ManticoreTableObject } from './crd-specs.js';
export { Informer } from './informer.js';
export { KubernetesJobs, LABEL_ACTION, LABEL_TABLE, toPlatformJob } from './jobs.js';
export { CRD_GROUP, CRD_VERSION, KubernetesPlatform, type KubernetesPlatformOptions } from './kubernetes-platform.js';
export { runWithLeaderElection, type Leadership } from './leadership.js';
export { LEADER_URL_ANNOTATION, LeaseElector } from './lease.js';
export { KubeApiError, KubeRest, loadKubeConfig } from './rest.js';
export { CrdStatusWriter } from './status-writer.js';

/** The REST client for a configuration: KUBECONFIG when set, else the in-cluster service account (loaded on first use). */
export function kubeRestFor(config: KubernetesConfig, kubeConfig?: KubeConfig): KubeRest {
  if (config.kubeconfig === undefined && !config.inCluster && kubeConfig === undefined) {
    // fail at startup, not at the first request
    throw new AppError('KUBERNETES_CONFIG_MISSING', 'PLATFORM=kubernetes needs the API server: run in a pod (service account) or set KUBECONFIG to a kubeconfig file');
  }
  return new KubeRest({ config: kubeConfig ?? (() => loadKubeConfig({ inCluster: config.inCluster, ...(config.kubeconfig === undefined ? {} : { kubeconfig: config.kubeconfig }) })) });
}

export function createKubernetesPlatform(config: KubernetesConfig, logger: Logger, rest: KubeRest = kubeRestFor(config)): KubernetesPlatform {
  return new KubernetesPlatform({ config, rest, logger });
}

export function createLeaseElector(config: KubernetesConfig, logger: Logger, rest: KubeRest = kubeRestFor(config)): LeaseElector {
  return new LeaseElector({
    rest,
    namespace: config.namespace,
    name: config.lease,
    identity: config.identity,
    durationMs: config.leaseDurationMs,
    ...(config.selfUrl === undefined ? {} : { url: config.selfUrl }),
    logger: logger.child({ component: 'leader-election' }),
  });
}
