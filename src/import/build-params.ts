/**
 * Params of the agent job `build-main` (the contract with the controller's import machine):
 *
 *   { table, slot: 'a'|'b', columns: ColumnDecl[], settings, format: 'csv'|'tsv', header: boolean,
 *     sources: string[] (absolute paths, https:// URLs, s3://bucket/key or gs://bucket/object), memLimit?: string, outDir: string (absolute) }
 *
 * Result: { rows, bytes, rtPrefix (for IMPORT TABLE <t>_main_<slot> FROM '<rtPrefix>'), durationMs }.
 */
import path from 'node:path';
import type { ColumnDecl, SourceFormat } from '../domain/spec.js';
import { baseNameProblem, isSlot, type Slot } from '../domain/names.js';
import { validateIdentifier } from '../manticore/identifiers.js';
import { ValidationError } from '../lib/errors.js';
import { COLUMN_TYPES } from './feed-args.js';
import { configValue, parseMemLimit } from './indexer-config.js';
import { parseSource } from './sources.js';

export interface BuildMainParams {
  table: string;
  slot: Slot;
  columns: ColumnDecl[];
  settings: Record<string, string | number>;
  format: SourceFormat;
  header: boolean;
  sources: string[];
  memLimit?: string;
  outDir: string;
}

export interface BuildMainResult {
  rows: number;
  bytes: number;
  rtPrefix: string;
  durationMs: number;
}

/** At most this many source segments in one build. */
export const MAX_SOURCES = 10_000;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateBuildMainParams(p: Record<string, unknown>): BuildMainParams {
  const { table, slot, columns, settings, format, header, sources, memLimit, outDir } = p;
  if (typeof table !== 'string') throw new ValidationError('params.table', 'give the table base name, e.g. "products"');
  const why = baseNameProblem(table);
  if (why !== undefined) throw new ValidationError('params.table', why);
  if (!isSlot(slot)) throw new ValidationError('params.slot', `must be 'a' or 'b' (got ${JSON.stringify(slot)})`);
  if (!Array.isArray(columns) || columns.length === 0) throw new ValidationError('params.columns', 'give the table spec columns: [{name, type}, ...]');
  const cols: ColumnDecl[] = columns.map((c: unknown, i) => {
    if (!isObject(c)) throw new ValidationError(`params.columns[${i}]`, 'must be {name, type[, indexed, stored]}');
    const name = validateIdentifier(c['name'], 'column', `params.columns[${i}].name`);
    if (name.toLowerCase() === 'id') throw new ValidationError(`params.columns[${i}].name`, "'id' is implicit (the first source column); do not declare it");
    const type = c['type'];
    if (typeof type !== 'string' || !(COLUMN_TYPES as readonly string[]).includes(type)) {
      throw new ValidationError(`params.columns[${i}].type`, `must be one of ${COLUMN_TYPES.join(', ')} (got ${JSON.stringify(type)})`);
    }
    const out: ColumnDecl = { name, type: type as ColumnDecl['type'] };
    for (const flag of ['indexed', 'stored'] as const) {
      const v = c[flag];
      if (v === undefined) continue;
      if (typeof v !== 'boolean') throw new ValidationError(`params.columns[${i}].${flag}`, 'must be true or false');
      out[flag] = v;
    }
    return out;
  });
  const seen = new Set<string>();
  cols.forEach((c, i) => {
    if (seen.has(c.name.toLowerCase())) throw new ValidationError(`params.columns[${i}].name`, `column '${c.name}' is declared twice`);
    seen.add(c.name.toLowerCase());
  });
  const sets: Record<string, string | number> = {};
  if (settings !== undefined) {
    if (!isObject(settings)) throw new ValidationError('params.settings', 'must be an object of table settings, e.g. {"morphology": "stem_en"}');
    for (const [k, v] of Object.entries(settings)) {
      validateIdentifier(k, 'setting', `params.settings.${k}`);
      if (typeof v !== 'string' && (typeof v !== 'number' || !Number.isFinite(v))) throw new ValidationError(`params.settings.${k}`, 'must be a string or a finite number');
      configValue(String(v), `params.settings.${k}`);
      sets[k] = v;
    }
  }
  if (format !== 'csv' && format !== 'tsv') throw new ValidationError('params.format', `must be 'csv' or 'tsv' (got ${JSON.stringify(format)})`);
  if (typeof header !== 'boolean') throw new ValidationError('params.header', 'must be true (the first line of every source is a header) or false');
  if (!Array.isArray(sources) || sources.length === 0) throw new ValidationError('params.sources', 'give at least one source: an absolute path, an https:// URL, s3://bucket/key or gs://bucket/object');
  if (sources.length > MAX_SOURCES) throw new ValidationError('params.sources', `at most ${MAX_SOURCES} sources`);
  const srcs = sources.map((s: unknown, i) => {
    parseSource(s, `params.sources[${i}]`);
    return s as string;
  });
  if (typeof outDir !== 'string' || !path.isAbsolute(outDir) || /[\0\r\n]/.test(outDir)) {
    throw new ValidationError('params.outDir', 'must be an absolute directory every node\'s searchd can read (the shared volume)');
  }
  configValue(outDir, 'params.outDir');
  const out: BuildMainParams = { table, slot, columns: cols, settings: sets, format, header, sources: srcs, outDir: path.normalize(outDir) };
  if (memLimit !== undefined) out.memLimit = parseMemLimit(memLimit, 'params.memLimit');
  return out;
}
