/**
 * Leadership for the backup scheduler: exactly one controller replica fires schedules.
 *
 * `LeaderLock` is the seam: the scheduler calls tryAcquire() before every pass (it both takes and
 * renews the lock) and fires only while it returns true; release() on stop hands over at once
 * instead of waiting for the lease to expire. FileLeaseLock implements it for replicas that share a
 * filesystem (the data dir); the Kubernetes driver can implement it with a coordination.k8s.io Lease
 * (holderIdentity, renewTime, leaseDurationSeconds) with the same semantics.
 *
 * FileLeaseLock: `<file>` holds `{holder, acquiredAt, renewedAt, expiresAt}`.
 * - free: created with O_CREAT|O_EXCL ('wx'), so of two replicas racing only one creates it;
 * - held by us: renewed (temp file + rename) with a new expiry;
 * - held by another replica and not expired: we are not the leader;
 * - expired: taken over by renaming the stale file aside (rename is atomic: of two replicas racing
 *   only one moves it), checking that what was moved is the stale lease we read (if the holder
 *   renewed in between, the fresh lease is linked back and we stay a follower), then created with 'wx'.
 * The holder renews every scheduler pass (heartbeat, well under the lease duration). A replica
 * paused for longer than the lease can briefly believe it still leads; its next pass sees the other
 * holder and stops firing, and the persisted last-fire times plus the controller's
 * BACKUP_IN_PROGRESS check keep such an overlap from producing a second backup of a slot.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Clock } from '../lib/clock.js';
import { systemClock } from '../lib/clock.js';

export interface LeaderLock {
  /** who this replica is (logs, the lease file) */
  readonly identity: string;
  /** takes or renews the lock; true when this replica holds it now */
  tryAcquire(): Promise<boolean>;
  /** gives the lock up when held (no-op otherwise) */
  release(): Promise<void>;
}

export interface LeaseRecord {
  holder: string;
  acquiredAt: number;
  renewedAt: number;
  expiresAt: number;
}

export interface FileLeaseLockOptions {
  /** the lease file, e.g. `<data-dir>/backup-scheduler.lease` */
  file: string;
  /** default `<hostname>-<pid>-<random>` */
  identity?: string;
  /** how long a lease lasts without renewal (default 30 s) */
  leaseMs?: number;
  clock?: Clock;
}

export const DEFAULT_LEASE_MS = 30_000;

export function defaultIdentity(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export class FileLeaseLock implements LeaderLock {
  readonly identity: string;
  private readonly file: string;
  private readonly leaseMs: number;
  private readonly clock: Clock;

  constructor(options: FileLeaseLockOptions) {
    this.file = options.file;
    this.identity = options.identity ?? defaultIdentity();
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.clock = options.clock ?? systemClock;
  }

  /** The lease as on disk (undefined when free or unreadable). */
  current(): LeaseRecord | undefined {
    return readLease(this.file);
  }

  tryAcquire(): Promise<boolean> {
    return Promise.resolve(this.acquireSync());
  }

  release(): Promise<void> {
    const lease = readLease(this.file);
    if (lease?.holder === this.identity) rmSync(this.file, { force: true });
    return Promise.resolve();
  }

  private acquireSync(): boolean {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const now = this.clock.now();
    if (this.create(now)) return true;
    const lease = readLease(this.file);
    if (lease === undefined) {
      // vanished between our create and our read (released), or unreadable (a crash mid-write of a
      // create: 'wx' then write is not atomic): an unreadable lease older than a lease period is stale
      const mtime = this.mtime();
      if (mtime === undefined) return this.create(now);
      if (Date.now() - mtime < this.leaseMs) return false; // a create still writing, or a crash less than a lease ago
      return this.takeOver(undefined, now);
    }
    if (lease.holder === this.identity) {
      this.write({ ...lease, renewedAt: now, expiresAt: now + this.leaseMs });
      return true;
    }
    if (lease.expiresAt > now) return false;
    return this.takeOver(lease, now);
  }

  /** the lease file's modification time (wall clock, as the filesystem keeps it), undefined when absent */
  private mtime(): number | undefined {
    try {
      return statSync(this.file).mtimeMs;
    } catch {
      return undefined;
    }
  }

  private create(now: number): boolean {
    let fd: number;
    try {
      fd = openSync(this.file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    try {
      writeSync(fd, JSON.stringify({ holder: this.identity, acquiredAt: now, renewedAt: now, expiresAt: now + this.leaseMs } satisfies LeaseRecord));
    } finally {
      closeSync(fd);
    }
    return true;
  }

  private write(record: LeaseRecord): void {
    const tmp = `${this.file}.${this.identity}.tmp`;
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, JSON.stringify(record));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }

  private takeOver(stale: LeaseRecord | undefined, now: number): boolean {
    const aside = `${this.file}.stale.${this.identity}`;
    try {
      renameSync(this.file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // another replica moved it first
      throw err;
    }
    const moved = readLease(aside);
    const same = stale === undefined ? moved === undefined : moved !== undefined && moved.holder === stale.holder && moved.renewedAt === stale.renewedAt;
    if (!same && moved !== undefined && moved.expiresAt > now) {
      // the holder renewed between our read and our rename: put its lease back (link fails if a third replica created one)
      try {
        linkSync(aside, this.file);
      } catch {
        /* another lease exists now: it wins */
      }
      rmSync(aside, { force: true });
      return false;
    }
    rmSync(aside, { force: true });
    return this.create(now);
  }
}

function readLease(file: string): LeaseRecord | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LeaseRecord>;
    if (typeof v.holder !== 'string' || typeof v.expiresAt !== 'number') return undefined;
    return { holder: v.holder, acquiredAt: v.acquiredAt ?? 0, renewedAt: v.renewedAt ?? 0, expiresAt: v.expiresAt };
  } catch {
    return undefined;
  }
}

/** A lock that is always held: a single controller, or tests. */
export class AlwaysLeader implements LeaderLock {
  readonly identity = 'single';
  tryAcquire(): Promise<boolean> {
    return Promise.resolve(true);
  }
  release(): Promise<void> {
    return Promise.resolve();
  }
}
