/**
 * The Kubernetes platform (deployment.md §4): the nodes are the desired replicas of the Manticore
 * StatefulSet (`spec.replicas`, not the pods that happen to exist: a down pod is still a node, seen as
 * down), named `<sts>-<ordinal>` and addressed through the headless Service as
 * `<pod>.<svc>.<ns>.svc` (published before the pod is ready: publishNotReadyAddresses). Informers keep
 * the StatefulSet, its pods, the ManticoreTables and ManticoreBackupSchedules; a change of any of them calls the onChange
 * listeners. Jobs run as batch/v1 Jobs (jobs.ts). The spec source (crd-specs.ts) and the status writer
 * (status-writer.ts) are built by the controller's startup when this platform is chosen.
 */
import type { KubernetesConfig } from '../../config/kubernetes.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { StatusReader } from '../../status/types.js';
import type { NodeRef, PlatformWithJobs } from '../types.js';
import type { BackupScheduleObject } from './backup-schedules.js';
import { CrdSpecSource, type InnerSpecSource, type ManticoreTableObject } from './crd-specs.js';
import { Informer } from './informer.js';
import { KubernetesJobs } from './jobs.js';
import type { KubeObject, KubeRest } from './rest.js';
import { CrdStatusWriter } from './status-writer.js';

export const CRD_GROUP = 'manticore.orchestrator.dev';
export const CRD_VERSION = 'v1alpha1';

export interface StatefulSetObject extends KubeObject {
  spec?: { replicas?: number; serviceName?: string; selector?: { matchLabels?: Record<string, string> } };
  status?: { replicas?: number; readyReplicas?: number; currentRevision?: string; updateRevision?: string };
}

export interface PodObject extends KubeObject {
  spec?: { containers?: Array<{ name: string; image?: string }> };
  status?: { phase?: string; podIP?: string; conditions?: Array<{ type: string; status: string }> };
}

export interface KubernetesPlatformOptions {
  config: KubernetesConfig;
  rest: KubeRest;
  logger: Logger;
  /** informer tuning (tests) */
  watchTimeoutSeconds?: number;
  backoffMs?: { initial: number; max: number };
  /** how long start() waits for the first lists (default 10 s) */
  syncWaitMs?: number;
  /** status writer timings (tests) */
  statusDebounceMs?: number;
}

export class KubernetesPlatform implements PlatformWithJobs {
  readonly kind = 'kubernetes' as const;
  readonly jobs: KubernetesJobs;
  readonly statefulSets: Informer<StatefulSetObject>;
  readonly pods: Informer<PodObject>;
  readonly tables: Informer<ManticoreTableObject>;
  readonly backupSchedules: Informer<BackupScheduleObject>;
  private readonly o: KubernetesPlatformOptions;
  private readonly listeners = new Set<() => void>();
  private signature = '';
  private specSourceInstance: CrdSpecSource | undefined;
  private statusWriter: CrdStatusWriter | undefined;
  private ownImage: string | undefined;

  constructor(options: KubernetesPlatformOptions) {
    this.o = options;
    const { config, rest, logger } = options;
    const ns = config.namespace;
    const common = {
      rest,
      logger: logger.child({ component: 'kubernetes' }),
      ...(options.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: options.watchTimeoutSeconds }),
      ...(options.backoffMs === undefined ? {} : { backoffMs: options.backoffMs }),
    };
    this.statefulSets = new Informer<StatefulSetObject>({ ...common, path: `/apis/apps/v1/namespaces/${ns}/statefulsets`, fieldSelector: `metadata.name=${config.statefulSet}` });
    this.pods = new Informer<PodObject>({ ...common, path: `/api/v1/namespaces/${ns}/pods` });
    this.tables = new Informer<ManticoreTableObject>({ ...common, path: this.tablesPath });
    this.backupSchedules = new Informer<BackupScheduleObject>({ ...common, path: this.schedulesPath });
    this.statefulSets.onChange(() => this.nodesMayHaveChanged());
    this.pods.onChange(() => this.nodesMayHaveChanged());
    this.jobs = new KubernetesJobs({
      rest,
      namespace: ns,
      instance: config.statefulSet,
      image: () => this.jobImage(),
      serviceAccount: config.jobServiceAccount,
      envSecret: config.jobSecret,
      ...(config.sharedClaim === undefined ? {} : { shared: { claim: config.sharedClaim, path: config.sharedPath } }),
    });
  }

  /** K8S_BACKUP_JOBS: the controller hands backups to Jobs (src/platform/index.ts backupJobLauncher) */
  get backupJobs(): boolean {
    return this.o.config.backupJobs;
  }

  get tablesPath(): string {
    return `/apis/${CRD_GROUP}/${CRD_VERSION}/namespaces/${this.o.config.namespace}/manticoretables`;
  }

  get schedulesPath(): string {
    return `/apis/${CRD_GROUP}/${CRD_VERSION}/namespaces/${this.o.config.namespace}/manticorebackupschedules`;
  }

  private statefulSet(): StatefulSetObject | undefined {
    return this.statefulSets.get(this.o.config.statefulSet);
  }

  private serviceName(): string {
    return this.o.config.service ?? this.statefulSet()?.spec?.serviceName ?? this.o.config.statefulSet;
  }

  /** Pods of the StatefulSet (`<sts>-<ordinal>`), by ordinal. */
  private ownPods(): Map<number, PodObject> {
    const re = new RegExp(`^${this.o.config.statefulSet.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`);
    const out = new Map<number, PodObject>();
    for (const pod of this.pods.list()) {
      const m = re.exec(pod.metadata.name);
      if (m?.[1] !== undefined) out.set(Number(m[1]), pod);
    }
    return out;
  }

  /** Desired replicas: the StatefulSet's spec.replicas (1 when unset, as Kubernetes defaults it); before it is seen, the pods that exist. */
  private desiredOrdinals(): number[] {
    const sts = this.statefulSet();
    if (sts !== undefined) return Array.from({ length: sts.spec?.replicas ?? 1 }, (_, i) => i);
    return [...this.ownPods().keys()].sort((a, b) => a - b);
  }

  nodeRef(ordinal: number): NodeRef {
    const { config } = this.o;
    const name = `${config.statefulSet}-${ordinal}`;
    const host = `${name}.${this.serviceName()}.${config.namespace}.svc`;
    return {
      name,
      ordinal,
      mysql: { host, port: config.ports.mysql },
      apiAddress: `${host}:${config.ports.api}`,
      httpAddress: `${host}:${config.ports.http}`,
      agentUrl: `http://${host}:${config.ports.agent}`,
    };
  }

  listNodes(): Promise<NodeRef[]> {
    return Promise.resolve(this.desiredOrdinals().map((i) => this.nodeRef(i)));
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private nodesMayHaveChanged(): void {
    const pods = this.ownPods();
    const sig = JSON.stringify([
      this.desiredOrdinals(),
      this.serviceName(),
      [...pods.entries()].map(([i, p]) => [i, p.metadata.uid, p.status?.phase, p.status?.conditions?.find((c) => c.type === 'Ready')?.status]),
    ]);
    if (sig === this.signature) return;
    this.signature = sig;
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch (err) {
        this.o.logger.error('platform change listener failed', { err: errorMessage(err) });
      }
    }
  }

  /** ManticoreTables as specs, merged with the file/TABLES_CONFIG store (crd-specs.ts). One per platform. */
  specSource(inner?: InnerSpecSource): CrdSpecSource {
    this.specSourceInstance ??= new CrdSpecSource(this.tables, this.o.config.namespace, inner, this.o.logger.child({ component: 'kubernetes-specs' }), this.backupSchedules);
    return this.specSourceInstance;
  }

  /** Starts writing ManticoreTable status from the status store. */
  startStatusWriter(status: Pick<StatusReader, 'table' | 'operations' | 'subscribe'>): CrdStatusWriter {
    if (this.statusWriter !== undefined) return this.statusWriter;
    this.statusWriter = new CrdStatusWriter({
      rest: this.o.rest,
      path: this.tablesPath,
      informer: this.tables,
      schedules: { informer: this.backupSchedules, path: this.schedulesPath },
      specs: this.specSource(),
      status,
      logger: this.o.logger.child({ component: 'kubernetes-status' }),
      ...(this.o.statusDebounceMs === undefined ? {} : { debounceMs: this.o.statusDebounceMs }),
    });
    this.statusWriter.start();
    return this.statusWriter;
  }

  /** The Jobs' image: K8S_JOB_IMAGE, else the image of this controller's own container (read from its pod). */
  private async jobImage(): Promise<string> {
    if (this.o.config.jobImage !== undefined) return this.o.config.jobImage;
    if (this.ownImage !== undefined) return this.ownImage;
    const pod = await this.o.rest.get<PodObject>(`/api/v1/namespaces/${this.o.config.namespace}/pods/${encodeURIComponent(this.o.config.identity)}`);
    const image = pod.spec?.containers?.find((c) => c.name === 'controller')?.image ?? pod.spec?.containers?.[0]?.image;
    if (image === undefined) throw new Error(`pod ${this.o.config.identity} names no container image: set K8S_JOB_IMAGE`);
    this.ownImage = image;
    return image;
  }

  async start(): Promise<void> {
    const wait = this.o.syncWaitMs ?? 10_000;
    await Promise.all([this.statefulSets.start(wait), this.pods.start(wait), this.tables.start(wait), this.backupSchedules.start(wait)]);
    if (this.statefulSet() === undefined) {
      this.o.logger.warn('the Manticore StatefulSet is not there (yet): no nodes until it is', { statefulSet: this.o.config.statefulSet, namespace: this.o.config.namespace });
    }
    this.nodesMayHaveChanged();
  }

  async stop(): Promise<void> {
    await this.statusWriter?.stop();
    this.specSourceInstance?.close();
    await Promise.all([this.statefulSets.stop(), this.pods.stop(), this.tables.stop(), this.backupSchedules.stop()]);
    this.listeners.clear();
  }
}
