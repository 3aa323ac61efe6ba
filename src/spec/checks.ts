/**
 * Value checks shared by the schema messages and the semantic checks: each returns a fix-it message
 * or undefined, so both paths say the same thing and duplicates collapse.
 */
import { baseNameProblem } from '../domain/names.js';
import type { SourceFormat } from '../domain/spec.js';
import { RESERVED_WORDS } from '../manticore/identifiers.js';
import { show } from './json-text.js';

const COLUMN_RE = /^[a-z_][a-z0-9_]*$/;
export const MAX_COLUMN_NAME_LENGTH = 64;

/** A lower-case identifier suggestion for a bad name ('My Table' → 'my_table'). */
export function suggestName(value: string): string | undefined {
  const s = value
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (s.length === 0) return undefined;
  return /^[0-9]/.test(s) ? `t_${s}` : s;
}

/** Why `value` cannot name a managed table (src/domain/names.ts rules), with a suggestion. */
export function tableNameMessage(value: unknown): string | undefined {
  if (typeof value !== 'string') return `the table name must be a string, got ${show(value)}: e.g. "name": "products"`;
  const problem = baseNameProblem(value);
  if (problem === undefined) return undefined;
  const suggestion = suggestName(value);
  const hint = suggestion !== undefined && suggestion !== value && baseNameProblem(suggestion) === undefined ? ` (e.g. '${suggestion}')` : '';
  return `${show(value)} cannot name a table: ${problem}${hint}`;
}

/** Why `value` cannot name a column, or undefined. */
export function columnNameMessage(value: unknown): string | undefined {
  if (typeof value !== 'string') return `the column name must be a string, got ${show(value)}`;
  if (value.length === 0) return 'the column name is empty: use lower-case letters, digits and underscores';
  if (value.toLowerCase() === 'id') {
    return `'${value}' is the implicit document id that every Manticore table has: remove this column, or rename it (e.g. 'external_id')`;
  }
  if (value.length > MAX_COLUMN_NAME_LENGTH) {
    return `column name ${show(value, 20)} is ${value.length} characters long: use at most ${MAX_COLUMN_NAME_LENGTH}`;
  }
  if (!COLUMN_RE.test(value)) {
    const suggestion = suggestName(value);
    const hint = suggestion !== undefined && suggestion !== value && COLUMN_RE.test(suggestion) ? ` (e.g. '${suggestion}')` : '';
    return `${show(value)} cannot name a column: use lower-case letters, digits and underscores, starting with a letter or underscore${hint}`;
  }
  if (RESERVED_WORDS.has(value)) return `'${value}' is a reserved word in Manticore SQL: choose another column name`;
  return undefined;
}

const SOURCE_FIX = 'use a path on the shared volume (without \':\'), s3://bucket/key, gs://bucket/key or https://host/path';
const SOURCE_RE = /^(?:(?:s3|gs):\/\/[^/\s]+\/.+|https:\/\/[^/\s]+\/.+|[^:]+)$/;

/** Why `value` is not an import source, or undefined. */
export function sourceMessage(value: unknown): string | undefined {
  if (typeof value !== 'string') return `an import source must be a string, got ${show(value)}: ${SOURCE_FIX}`;
  if (value.trim().length === 0) return `the import source is empty: ${SOURCE_FIX}`;
  if (value.includes('\0')) return `the import source holds a NUL character: ${SOURCE_FIX}`;
  if (!/^(?:s3|gs|https):\/\//i.test(value) && value.split(/[\\/]/).includes('..')) {
    return `${show(value)} has a '..' segment: name a path inside the shared volume without '..' (or an absolute path, s3://, gs:// or https://)`;
  }
  if (SOURCE_RE.test(value)) return undefined;
  if (/^http:\/\//i.test(value)) return `${show(value)} uses plain http: use https:// (or copy the file to s3://, gs:// or the shared volume)`;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  if (scheme !== undefined && ['s3', 'gs', 'https'].includes(scheme.toLowerCase())) {
    return `${show(value)} names no object: ${scheme}:// sources need a bucket or host and a path, e.g. ${scheme}://bucket/data/products.csv`;
  }
  if (scheme !== undefined) return `${show(value)}: the scheme '${scheme}://' is not supported: ${SOURCE_FIX}`;
  return `${show(value)} is not a supported source: ${SOURCE_FIX}`;
}

/** The import format a source's extension implies (query strings of URLs are ignored). */
export function formatFromExtension(source: string): SourceFormat | undefined {
  let path = source;
  if (/^https:\/\//i.test(source)) {
    try {
      path = new URL(source).pathname;
    } catch {
      path = source;
    }
  }
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.tsv') || lower.endsWith('.tab')) return 'tsv';
  return undefined;
}

/** Largest indexer mem_limit Manticore takes. */
export const MAX_MEM_LIMIT_BYTES = 2047 * 1024 * 1024;
const SIZE_RE = /^([1-9][0-9]*)([KkMmGg]?)$/;

/** Bytes of a Manticore size ("256M", "64k", "1G", "1048576"), or undefined when it is not one. */
export function sizeBytes(value: string): number | undefined {
  const m = SIZE_RE.exec(value);
  if (m?.[1] === undefined) return undefined;
  const unit = (m[2] ?? '').toUpperCase();
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}

export function sizeMessage(value: unknown): string | undefined {
  if (typeof value !== 'string') return `a size must be a string such as "256M", got ${show(value)}`;
  if (sizeBytes(value) === undefined) return `${show(value)} is not a size: use a whole number with an optional K, M or G suffix, e.g. 256M`;
  return undefined;
}

/** Why `value` is not a usable indexer mem_limit, or undefined. */
export function memLimitMessage(value: unknown): string | undefined {
  const sizeProblem = sizeMessage(value);
  if (sizeProblem !== undefined) return sizeProblem;
  const bytes = sizeBytes(value as string) ?? 0;
  if (bytes > MAX_MEM_LIMIT_BYTES) return `${show(value)} is more than indexer's maximum mem_limit: use at most 2047M (256M to 1024M is advised)`;
  return undefined;
}

const BACKUP_NAME_RE = /^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$/;
export function backupNameMessage(value: unknown): string | undefined {
  if (typeof value !== 'string') return `the backup schedule name must be a string, got ${show(value)}`;
  if (value.length === 0 || value.length > 63 || !BACKUP_NAME_RE.test(value)) {
    return `${show(value)} cannot name a backup schedule: use 1 to 63 lower-case letters, digits, '-' and '_', starting and ending with a letter or digit (e.g. 'nightly-delta')`;
  }
  return undefined;
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** The closest of `candidates` to `word` when it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[_-]/g, '');
  const w = norm(word);
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(w, norm(c));
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(w.length / 3)));
  if (bestD <= limit) return best;
  // a truncated name ('min_infix' for 'min_infix_len')
  if (w.length >= 4) return candidates.find((c) => norm(c).startsWith(w));
  return undefined;
}
