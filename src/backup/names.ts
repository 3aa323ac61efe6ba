/**
 * Archive names (the original's contract): `<table>-YYYY-MM-DDTHH-MM-SSZ.tar.gz`, where `<table>` is
 * `<base>_delta` or `<base>_main_<slot>`; object key `<prefix>/<name>`; manifest `<name>.manifest.json`.
 */
import { isSlot, managedTableNames, type Slot } from '../domain/names.js';
import { ValidationError } from '../lib/errors.js';
import type { BackupType } from './types.js';

export const ARCHIVE_SUFFIX = '.tar.gz';
export const MANIFEST_SUFFIX = '.manifest.json';
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/;

/** `YYYY-MM-DDTHH-MM-SSZ` (UTC, dashes instead of colons). */
export function backupTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

export function backupArchiveName(table: string, date: Date): string {
  return `${table}-${backupTimestamp(date)}${ARCHIVE_SUFFIX}`;
}

export function objectKey(prefix: string, name: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return p === '' ? name : `${p}/${name}`;
}

export function manifestKey(archiveKey: string): string {
  return `${archiveKey}${MANIFEST_SUFFIX}`;
}

export interface ParsedBackupFile {
  filename: string;
  /** full table name in the file name */
  table: string;
  type: BackupType;
  /** the slot the backup came from (main only) */
  slot?: Slot;
  timestamp: string;
}

/**
 * Validates a restore filename for base table `base`: a bare file name (no directory, no `..`), of
 * the form `<base>_delta-<ts>.tar.gz` or `<base>_main_<a|b>-<ts>.tar.gz`. Throws ValidationError
 * naming `field` otherwise (a file of another table is refused).
 */
export function parseBackupFilename(base: string, filename: unknown, field = 'filename'): ParsedBackupFile {
  if (typeof filename !== 'string' || filename.trim() === '') {
    throw new ValidationError(field, `name the archive to restore, e.g. "${base}_delta-2025-01-28T22-50-49Z.tar.gz" (GET /api/backups/files?tableName=${base} lists them)`);
  }
  if (filename.includes('/') || filename.includes('\\') || filename.includes('\0') || filename.includes('..')) {
    throw new ValidationError(field, `must be a bare archive name without directories or "..": got ${JSON.stringify(filename)}`);
  }
  if (!filename.endsWith(ARCHIVE_SUFFIX)) throw new ValidationError(field, `must end in ${ARCHIVE_SUFFIX}: got ${JSON.stringify(filename)}`);
  const stem = filename.slice(0, -ARCHIVE_SUFFIX.length);
  const dash = stem.length - 21; // "-YYYY-MM-DDTHH-MM-SSZ"
  const table = stem.slice(0, dash);
  const ts = stem.slice(dash + 1);
  if (dash <= 0 || stem[dash] !== '-' || !TS.test(ts)) {
    throw new ValidationError(field, `must be <table>-YYYY-MM-DDTHH-MM-SSZ${ARCHIVE_SUFFIX}: got ${JSON.stringify(filename)}`);
  }
  const names = managedTableNames(base);
  if (table === names.delta) return { filename, table, type: 'delta', timestamp: ts };
  const m = /^(.*)_main_([ab])$/.exec(table);
  if (m && m[1] === base && isSlot(m[2])) return { filename, table, type: 'main', slot: m[2], timestamp: ts };
  throw new ValidationError(field, `${JSON.stringify(filename)} is a backup of ${table}, not of ${base} (${names.delta} or ${base}_main_a/b): restore it into its own table`);
}

/** Object key prefixes of a table's archives (the original's listing: delta, or main of both slots). */
export function listingPrefixes(prefix: string, base: string, type?: BackupType): string[] {
  const names = managedTableNames(base);
  const out: string[] = [];
  if (type !== 'main') out.push(objectKey(prefix, `${names.delta}-`));
  if (type !== 'delta') out.push(objectKey(prefix, `${base}_main_`));
  return out;
}
