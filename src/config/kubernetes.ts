/**
 * Kubernetes settings (PLATFORM=kubernetes): where the StatefulSet, its headless Service, the
 * ManticoreTables, Jobs and the leader Lease live, and how this replica identifies itself. The
 * in-cluster service account (KUBERNETES_SERVICE_HOST plus the mounted token) is used unless KUBECONFIG
 * names a file. Read only here; src/platform/kubernetes receives the result.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { ValidationError } from '../lib/errors.js';
import { showValue } from '../manticore/identifiers.js';
import { CONTROLLER_SETTINGS as S } from './settings.js';
import type { SettingSource } from './source.js';

export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface KubernetesConfig {
  namespace: string;
  statefulSet: string;
  /** headless Service; undefined: the StatefulSet's serviceName */
  service?: string;
  lease: string;
  leaseDurationMs: number;
  /** this replica's identity in the Lease */
  identity: string;
  /** this replica's API URL, recorded in the Lease for standby proxying */
  selfUrl?: string;
  /** undefined: the controller container's own image */
  jobImage?: string;
  jobServiceAccount: string;
  jobSecret: string;
  /** RWX claim Jobs mount at sharedPath (undefined: none) */
  sharedClaim?: string;
  /** `<data dir>/shared`: where the controller, the Manticore pods and the Jobs mount the shared volume */
  sharedPath: string;
  /** K8S_BACKUP_JOBS: backups run as Jobs */
  backupJobs: boolean;
  /** a kubeconfig file; undefined: in-cluster */
  kubeconfig?: string;
  /** KUBERNETES_SERVICE_HOST is set (running in a pod) */
  inCluster: boolean;
  ports: { mysql: number; api: number; http: number; agent: number };
}

/** DNS-1123 label (StatefulSet, Service, Lease and namespace names). */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain (Lease, Secret, ServiceAccount names). */
const DNS_SUBDOMAIN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

function name(src: SettingSource, doc: (typeof S)[keyof typeof S], fallback: string, pattern: RegExp): string {
  const raw = src.raw(doc);
  if (raw === undefined) return fallback;
  if (!pattern.test(raw.value)) {
    throw new ValidationError(raw.from, `${showValue(raw.value)} is not a Kubernetes object name: use lower-case letters, digits and '-', e.g. ${fallback}`);
  }
  return raw.value;
}

function defaultNamespace(): string {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

/** Reads the Kubernetes settings; throws ValidationError naming the variable. `listenPort` is the API's port, `dataDir` the controller's. */
export function loadKubernetesConfig(src: SettingSource, listenPort: number, dataDir: string): KubernetesConfig {
  const service = src.raw(S.k8sService);
  if (service !== undefined && !DNS_LABEL.test(service.value)) {
    throw new ValidationError(service.from, `${showValue(service.value)} is not a Service name: use lower-case letters, digits and '-'`);
  }
  const jobImage = src.string(S.k8sJobImage);
  const kubeconfig = src.string(S.kubeconfig);
  const podIp = src.string(S.podIp);
  const identity = src.string(S.podName) ?? hostname();
  const shared = src.env[S.k8sSharedClaim.env[0]!];
  const sharedClaim = shared === undefined ? 'manticore-shared' : shared.trim();
  if (sharedClaim !== '' && !DNS_SUBDOMAIN.test(sharedClaim)) {
    throw new ValidationError('K8S_SHARED_CLAIM', `${showValue(sharedClaim)} is not a claim name: use lower-case letters, digits and '-', or empty for none`);
  }
  return {
    namespace: name(src, S.k8sNamespace, defaultNamespace(), DNS_LABEL),
    statefulSet: name(src, S.k8sStatefulSet, 'manticore', DNS_LABEL),
    ...(service === undefined ? {} : { service: service.value }),
    lease: name(src, S.k8sLease, 'manticore-orchestrator', DNS_SUBDOMAIN),
    leaseDurationMs: src.durationMs(S.k8sLeaseDuration, 15_000, 3_000),
    identity,
    ...(podIp === undefined ? {} : { selfUrl: `http://${podIp.includes(':') ? `[${podIp}]` : podIp}:${listenPort}` }),
    ...(jobImage === undefined ? {} : { jobImage }),
    jobServiceAccount: name(src, S.k8sJobServiceAccount, 'manticore-orchestrator-job', DNS_SUBDOMAIN),
    jobSecret: name(src, S.k8sJobSecret, 'manticore-orchestrator-backup', DNS_SUBDOMAIN),
    ...(sharedClaim === '' ? {} : { sharedClaim }),
    sharedPath: path.join(dataDir, 'shared'),
    backupJobs: src.oneOf(S.k8sBackupJobs, ['true', 'false'] as const, 'false') === 'true',
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    inCluster: (src.env.KUBERNETES_SERVICE_HOST ?? '') !== '',
    ports: {
      mysql: src.port(S.mysqlPort, 9306),
      api: src.port(S.apiPort, 9312),
      http: src.port(S.httpPort, 9308),
      agent: src.port(S.agentPort, 8080),
    },
  };
}
