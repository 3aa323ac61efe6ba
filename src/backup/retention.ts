/**
 * Retention of backup archives (issue 5 item 5): per schedule keep the last N archives and/or those
 * younger than a maximum age, and delete the rest from the bucket. Run by the scheduler after each
 * successful scheduled backup.
 *
 * Rules (planRetention is pure; applyRetention executes a plan and returns per-key results):
 * - only archives of the schedule's own table and type are considered: `<t>_delta-<ts>.tar.gz` for
 *   delta, `<t>_main_a-<ts>.tar.gz` / `<t>_main_b-<ts>.tar.gz` for main, parsed strictly, so another
 *   table whose name merely starts the same (`<t>_delta_x`, `<t>_main_archive`) is never touched;
 * - archives are ranked newest first by the timestamp in their name (the object's lastModified only
 *   when the name carries none);
 * - an archive is deleted when its rank is >= keep, or when it is older than maxAge;
 * - the newest good archive (one whose manifest `<archive>.manifest.json` is in the bucket) is never
 *   deleted, whatever the policy says; when no archive has a manifest (for example archives written
 *   by the original system, which wrote none), nothing is deleted, because none is known to be good;
 * - an archive's manifest is deleted with it.
 */
import type { BackupType } from '../domain/spec.js';
import { errorMessage, ValidationError } from '../lib/errors.js';
import { MANIFEST_SUFFIX } from './names.js';

/** One object in the bucket, as the object store lists it. */
export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date | string | number;
}

/** What retention needs of the object store (src/storage). */
export interface RetentionStore {
  list(prefix: string): Promise<StoredObject[]>;
  delete(key: string): Promise<void>;
}

export interface RetentionPolicy {
  /** keep at most this many archives (>= 1) */
  keep?: number;
  /** delete archives older than this many milliseconds */
  maxAgeMs?: number;
}

/** Which archives a schedule owns. */
export interface RetentionTarget {
  /** BACKUP_PREFIX ('' for none; no trailing slash needed) */
  prefix: string;
  /** base table name `<t>` */
  table: string;
  type: BackupType;
}

export interface RetentionDecision {
  key: string;
  /** the archive's table as named in the file: `<t>_delta`, `<t>_main_a`, `<t>_main_b` */
  archiveTable: string;
  takenAt: number;
  good: boolean;
  action: 'keep' | 'delete';
  reason: string;
  /** keys removed with this archive (its manifest) */
  alsoDelete: string[];
}

export interface RetentionPlan {
  target: RetentionTarget;
  decisions: RetentionDecision[];
  /** every key to delete, archives and their manifests */
  deleteKeys: string[];
  /** why nothing could be deleted, when that is the case */
  note?: string;
}

export { MANIFEST_SUFFIX };

const ARCHIVE_RE = /^([A-Za-z0-9_]+)-(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})Z\.tar\.gz$/;

/** `<table>-YYYY-MM-DDTHH-MM-SSZ.tar.gz` → table and time (epoch ms); undefined for anything else. */
export function parseArchiveFileName(name: string): { table: string; takenAt: number } | undefined {
  const m = ARCHIVE_RE.exec(name);
  if (!m) return undefined;
  const [, table, y, mo, d, h, mi, s] = m;
  const takenAt = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (table === undefined || Number.isNaN(takenAt)) return undefined;
  return { table, takenAt };
}

/** The listing prefix of a target: `<prefix>/<t>_delta-` or `<prefix>/<t>_main_`. */
export function retentionListPrefix(target: RetentionTarget): string {
  const p = normalizePrefix(target.prefix);
  return target.type === 'delta' ? `${p}${target.table}_delta-` : `${p}${target.table}_main_`;
}

function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

function ownsTable(target: RetentionTarget, archiveTable: string): boolean {
  if (target.type === 'delta') return archiveTable === `${target.table}_delta`;
  return archiveTable === `${target.table}_main_a` || archiveTable === `${target.table}_main_b`;
}

function timeOf(value: Date | string | number): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  const t = Date.parse(value);
  return Number.isNaN(t) ? 0 : t;
}

/** Pure: which of `objects` (a listing under the target's prefix, or wider) to delete under `policy` at `now`. */
export function planRetention(objects: readonly StoredObject[], target: RetentionTarget, policy: RetentionPolicy, now: number): RetentionPlan {
  const dir = normalizePrefix(target.prefix);
  const keys = new Set(objects.map((o) => o.key));
  const archives: Omit<RetentionDecision, 'action' | 'reason'>[] = [];
  for (const o of objects) {
    if (!o.key.startsWith(dir)) continue;
    const name = o.key.slice(dir.length);
    if (name.includes('/')) continue;
    const parsed = parseArchiveFileName(name);
    if (!parsed || !ownsTable(target, parsed.table)) continue;
    const manifest = `${o.key}${MANIFEST_SUFFIX}`;
    const good = keys.has(manifest);
    archives.push({ key: o.key, archiveTable: parsed.table, takenAt: parsed.takenAt || timeOf(o.lastModified), good, alsoDelete: good ? [manifest] : [] });
  }
  archives.sort((a, b) => b.takenAt - a.takenAt || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
  const newestGood = archives.find((a) => a.good);
  const decisions: RetentionDecision[] = [];
  archives.forEach((a, rank) => {
    const over: string[] = [];
    if (policy.keep !== undefined && rank >= policy.keep) over.push(`beyond the newest ${policy.keep}`);
    if (policy.maxAgeMs !== undefined && now - a.takenAt > policy.maxAgeMs) over.push(`older than ${formatAge(policy.maxAgeMs)}`);
    if (over.length === 0) {
      decisions.push({ ...a, action: 'keep', reason: 'within the policy' });
    } else if (newestGood === undefined) {
      decisions.push({ ...a, action: 'keep', reason: `${over.join(' and ')}, but no archive of the table has a manifest: none is known to be good` });
    } else if (a === newestGood) {
      decisions.push({ ...a, action: 'keep', reason: `${over.join(' and ')}, but it is the newest good archive` });
    } else {
      decisions.push({ ...a, action: 'delete', reason: over.join(' and ') });
    }
  });
  const deleteKeys = decisions.filter((d) => d.action === 'delete').flatMap((d) => [d.key, ...d.alsoDelete]);
  const plan: RetentionPlan = { target, decisions, deleteKeys };
  if (newestGood === undefined && archives.length > 0) plan.note = 'no archive has a manifest: nothing is deleted';
  return plan;
}

export interface RetentionResult {
  key: string;
  ok: boolean;
  error?: string;
}

/** Deletes the plan's keys one by one (archive before its manifest); a failure is a result, not an exception. */
export async function applyRetention(store: Pick<RetentionStore, 'delete'>, plan: RetentionPlan): Promise<RetentionResult[]> {
  const results: RetentionResult[] = [];
  for (const key of plan.deleteKeys) {
    try {
      await store.delete(key);
      results.push({ key, ok: true });
    } catch (err) {
      results.push({ key, ok: false, error: errorMessage(err) });
    }
  }
  return results;
}

/** Lists the target's archives, plans and applies retention. */
export async function reconcileRetention(
  store: RetentionStore,
  target: RetentionTarget,
  policy: RetentionPolicy,
  now: number,
): Promise<{ plan: RetentionPlan; results: RetentionResult[] }> {
  const objects = await store.list(retentionListPrefix(target));
  const plan = planRetention(objects, target, policy, now);
  const results = await applyRetention(store, plan);
  return { plan, results };
}

/** True when the policy deletes anything at all. */
export function hasRetention(policy: RetentionPolicy): boolean {
  return policy.keep !== undefined || policy.maxAgeMs !== undefined;
}

const AGE_UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A maximum age: `90m`, `36h`, `30d`, `2w`; throws ValidationError naming `field`. */
export function parseMaxAge(text: string, field: string): number {
  const m = /^(\d+)\s*([mhdw])$/i.exec(text.trim());
  const n = m?.[1] === undefined ? NaN : Number(m[1]);
  const unit = AGE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (unit === undefined || !(n >= 1)) {
    throw new ValidationError(field, `'${text}' is not an age: write a whole number and a unit m, h, d or w, e.g. '30d'`);
  }
  return n * unit;
}

function formatAge(ms: number): string {
  for (const [u, f] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms % f === 0) return `${ms / f}${u}`;
  }
  return `${ms} ms`;
}
