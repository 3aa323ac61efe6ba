/**
 * Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * - acquire: create the Lease (404) or take it over when its holder has not renewed it for
 *   leaseDurationSeconds, judged by this process's own clock from the moment it last saw the record
 *   change (so clock skew between nodes does not matter); every write carries the resourceVersion it
 *   read, so of two candidates racing only one wins (the other gets 409 and stays standby);
 * - renew every third of the duration; a leader that cannot renew for two thirds of it stops leading
 *   (onStoppedLeading: the controller process exits and restarts as a standby);
 * - release on stop: the holder is cleared so a standby takes over at its next try, not after expiry.
 * The leader's API URL is kept in an annotation, so a standby can forward API requests to it.
 */
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { isKubeStatus, type KubeObject, type KubeRest } from './rest.js';

export const LEADER_URL_ANNOTATION = 'manticore.orchestrator.dev/leader-url';

export interface LeaseObject extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

export interface LeaderInfo {
  identity: string;
  url?: string;
}

export interface LeaseElectorOptions {
  rest: KubeRest;
  namespace: string;
  name: string;
  identity: string;
  durationMs: number;
  /** this replica's API URL (recorded for standby proxying) */
  url?: string;
  logger: Logger;
  now?: () => number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
  onNewLeader?(leader: LeaderInfo | undefined): void;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaseElector {
  private readonly o: LeaseElectorOptions;
  private readonly now: () => number;
  private leading = false;
  private observed: { key: string; at: number } | undefined;
  private lastRenew = 0;
  private current: LeaderInfo | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private tick: Promise<void> | undefined;
  private callbacks: LeaderCallbacks | undefined;

  constructor(options: LeaseElectorOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder as last read (undefined when nobody holds the Lease). */
  leader(): LeaderInfo | undefined {
    return this.current;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`;
  }

  private get retryMs(): number {
    return Math.max(200, Math.floor(this.o.durationMs / 3));
  }

  /** Starts trying to acquire, then renewing; callbacks say when leadership starts and ends. */
  run(callbacks: LeaderCallbacks): void {
    if (this.running) return;
    this.running = true;
    this.callbacks = callbacks;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.tick = this.once().finally(() => {
        this.tick = undefined;
        this.schedule(this.retryMs);
      });
    }, ms);
  }

  private async once(): Promise<void> {
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.o.logger.warn('lease acquire/renew failed', { lease: this.o.name, err: errorMessage(err) });
    }
    if (!this.running) return;
    if (ok) {
      this.lastRenew = this.now();
      if (!this.leading) {
        this.leading = true;
        this.o.logger.info('became the leader', { lease: this.o.name, identity: this.o.identity });
        this.callbacks?.onStartedLeading();
      }
    } else if (this.leading && this.now() - this.lastRenew > (this.o.durationMs * 2) / 3) {
      this.leading = false;
      this.o.logger.error('lost the leader lease: could not renew it in time', { lease: this.o.name, identity: this.o.identity });
      this.callbacks?.onStoppedLeading();
    }
  }

  private setLeader(lease: LeaseObject | undefined): void {
    const holder = lease?.spec?.holderIdentity ?? '';
    const next: LeaderInfo | undefined = holder === '' ? undefined : { identity: holder, ...(lease?.metadata.annotations?.[LEADER_URL_ANNOTATION] ? { url: lease.metadata.annotations[LEADER_URL_ANNOTATION] } : {}) };
    if (JSON.stringify(next) !== JSON.stringify(this.current)) {
      this.current = next;
      this.callbacks?.onNewLeader?.(next);
    }
  }

  /** One attempt; true when this replica holds the Lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    let lease: LeaseObject | undefined;
    try {
      lease = await this.o.rest.get<LeaseObject>(`${this.path}/${this.o.name}`);
    } catch (err) {
      if (!isKubeStatus(err, 404)) throw err;
    }
    const durationSeconds = Math.max(1, Math.round(this.o.durationMs / 1000));
    const annotations = this.o.url === undefined ? undefined : { [LEADER_URL_ANNOTATION]: this.o.url };
    if (lease === undefined) {
      const body: LeaseObject = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace, ...(annotations ? { annotations } : {}) },
        spec: { holderIdentity: this.o.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      try {
        const created = await this.o.rest.post<LeaseObject>(this.path, body);
        this.observe(created, now);
        this.setLeader(created);
        return true;
      } catch (err) {
        if (isKubeStatus(err, 409)) return false; // another replica created it first
        throw err;
      }
    }
    this.observe(lease, now);
    const holder = lease.spec?.holderIdentity ?? '';
    const mine = holder === this.o.identity;
    const leaseMs = (lease.spec?.leaseDurationSeconds ?? durationSeconds) * 1000;
    const expired = holder === '' || now - (this.observed?.at ?? now) > leaseMs;
    if (!mine && !expired) {
      this.setLeader(lease);
      return false;
    }
    const next: LeaseObject = {
      ...lease,
      metadata: { ...lease.metadata, annotations: { ...(lease.metadata.annotations ?? {}), ...(annotations ?? {}) } },
      spec: {
        ...lease.spec,
        holderIdentity: this.o.identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine ? (lease.spec?.acquireTime ?? microTime(now)) : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    try {
      const updated = await this.o.rest.put<LeaseObject>(`${this.path}/${this.o.name}`, next);
      this.observe(updated, now);
      this.setLeader(updated);
      if (!mine) this.o.logger.info('took the leader lease over', { lease: this.o.name, from: holder || '(released)', identity: this.o.identity });
      return true;
    } catch (err) {
      if (isKubeStatus(err, 409)) return false; // someone wrote it since we read it
      throw err;
    }
  }

  private observe(lease: LeaseObject, now: number): void {
    const key = `${lease.spec?.holderIdentity ?? ''}|${lease.spec?.renewTime ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, at: now };
  }

  /**
   * Stops the loop; a leader clears the holder so a standby takes over without waiting for expiry
   * (`release: false` just stops renewing, as a crashed process would: the Lease then expires).
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.tick;
    if (!this.leading) return;
    this.leading = false;
    if (options.release === false) return;
    try {
      const lease = await this.o.rest.get<LeaseObject>(`${this.path}/${this.o.name}`);
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      await this.o.rest.put(`${this.path}/${this.o.name}`, { ...lease, spec: { ...lease.spec, holderIdentity: null, renewTime: null, acquireTime: null, leaseDurationSeconds: 1 } });
      this.o.logger.info('released the leader lease', { lease: this.o.name, identity: this.o.identity });
    } catch (err) {
      this.o.logger.warn('could not release the leader lease (it expires by itself)', { lease: this.o.name, err: errorMessage(err) });
    }
  }
}
