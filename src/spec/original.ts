/**
 * The original orchestrator's schema registry (reference/original-system.md 4.1 and 4.2), converted
 * into native table documents and validated by the same code:
 *
 *   { "<table>": { "schema": { "columns": [{ "name": "street", "type": "field" }, ...] },
 *                  "config": { "importMethod", "clusterMain", "haStrategy", "agentRetryCount", "memLimit", "hasHeader" } } }
 *
 * Differences from the original, on purpose: unknown column types and an `id` column are refused
 * (the original turned the first into text and sent the second to CREATE TABLE); `clusterMain`
 * keeps the original default `true`; `importMethod: "bulk"` selects the bulk method (absent means indexer
 * here, where the original defaulted to bulk), with the header detected unless `hasHeader` is given; a memLimit above indexer's 2047M maximum (the original default was 2G)
 * becomes 2047M, the value indexer itself would use; `hasHeader: false` or absent means no header
 * (the original guessed).
 */
import type { SpecColumnType, SpecOrigin, SpecProblem } from '../domain/spec.js';
import { MAX_MEM_LIMIT_BYTES, closest, sizeBytes, sizeMessage } from './checks.js';
import { isPlainObject, joinPointer, jsonType, show } from './json-text.js';
import { validateNativeTable } from './native.js';
import { columnTypeNames } from './schema.js';
import type { TableContribution } from './types.js';

/** Original schema type → native column type (original-system.md 4.2, RT `CREATE TABLE` column). */
export const ORIGINAL_TYPE_MAP: Readonly<Record<string, SpecColumnType>> = {
  field: 'text',
  field_string: 'text',
  attr_string: 'string',
  attr_uint: 'integer',
  attr_bigint: 'bigint',
  attr_float: 'float',
  attr_bool: 'bool',
  attr_timestamp: 'timestamp',
  attr_multi: 'multi',
  attr_multi_64: 'multi64',
  attr_json: 'json',
};

export const ORIGINAL_CONFIG_KEYS = ['importMethod', 'clusterMain', 'haStrategy', 'agentRetryCount', 'memLimit', 'hasHeader'] as const;
const ENTRY_KEYS = ['schema', 'config'];

/** True when `value` looks like one registry entry: an object with only `schema` and/or `config`. */
export function isRegistryEntry(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => ENTRY_KEYS.includes(k));
}

function pointerMapFor(base: string): (p: string) => string {
  return (p) => {
    if (p === '' || p === '/name') return base;
    if (p.startsWith('/columns')) return `${base}/schema${p}`;
    if (p === '/clusterMain') return `${base}/config/clusterMain`;
    if (p === '/distributed') return `${base}/config`;
    if (p.startsWith('/distributed/')) return `${base}/config${p.slice('/distributed'.length)}`;
    return `${base}${p}`;
  };
}

function convertEntry(table: string, entry: unknown, origin: SpecOrigin): { contribution?: TableContribution; problems: SpecProblem[] } {
  const base = joinPointer('', table);
  const problems: SpecProblem[] = [];
  const problem = (pointer: string, message: string): void => {
    problems.push({ origin, pointer, message, table });
  };
  if (!isPlainObject(entry)) {
    problem(base, `expected {"schema": {"columns": [...]}, "config": {...}} for table '${table}', got ${jsonType(entry)}`);
    return { problems };
  }
  for (const key of Object.keys(entry)) {
    if (!ENTRY_KEYS.includes(key)) {
      problem(joinPointer(base, key), `unknown key '${key}': an entry of the original schema format has only "schema" and "config"`);
    }
  }

  // schema.columns (the registry also kept the schema as a JSON string; both are accepted)
  let schema: unknown = entry.schema;
  if (typeof schema === 'string') {
    try {
      schema = JSON.parse(schema) as unknown;
    } catch {
      problem(`${base}/schema`, 'the schema string is not valid JSON: write {"columns": [{"name": ..., "type": ...}]}');
      return { problems };
    }
  }
  const columnsFix = `add "schema": {"columns": [{"name": "title", "type": "field"}, ...]} (types: ${Object.keys(ORIGINAL_TYPE_MAP).join(', ')})`;
  if (schema === undefined) {
    problem(`${base}/schema`, `missing: table '${table}' has no columns: ${columnsFix}`);
    return { problems };
  }
  if (!isPlainObject(schema) || !Array.isArray(schema.columns)) {
    problem(`${base}/schema`, `expected an object with a "columns" array: ${columnsFix}`);
    return { problems };
  }
  for (const key of Object.keys(schema)) {
    if (key !== 'columns') problem(joinPointer(`${base}/schema`, key), `unknown key '${key}': the schema has only "columns"`);
  }
  const columns = schema.columns.map((col: unknown, i: number) => {
    if (!isPlainObject(col) || typeof col.type !== 'string') return col;
    const mapped = ORIGINAL_TYPE_MAP[col.type] ?? (columnTypeNames().includes(col.type) ? (col.type as SpecColumnType) : undefined);
    if (mapped === undefined) {
      const known = Object.keys(ORIGINAL_TYPE_MAP);
      const near = closest(col.type, known);
      const dym = near !== undefined ? ` (did you mean '${near}'?)` : '';
      problem(
        joinPointer(`${base}/schema/columns`, i, 'type'),
        `${show(col.type)} is not a column type of the original schema format${dym}; use one of ${known.join(', ')}`,
      );
      // reported here in the original's terms; a stand-in type keeps the native checks from repeating it
      return { ...col, type: 'text' };
    }
    return { ...col, type: mapped };
  });

  // config
  const config = entry.config ?? {};
  const cfgAt = `${base}/config`;
  if (!isPlainObject(config)) {
    problem(cfgAt, `expected an object with any of ${ORIGINAL_CONFIG_KEYS.join(', ')}, got ${jsonType(config)}`);
    return { problems };
  }
  for (const key of Object.keys(config)) {
    if (!(ORIGINAL_CONFIG_KEYS as readonly string[]).includes(key)) {
      const near = closest(key, ORIGINAL_CONFIG_KEYS);
      const dym = near !== undefined ? ` (did you mean '${near}'?)` : '';
      problem(joinPointer(cfgAt, key), `unknown key '${key}'${dym}: the config of the original schema format takes ${ORIGINAL_CONFIG_KEYS.join(', ')}`);
    }
  }
  if (config.importMethod !== undefined && config.importMethod !== 'bulk' && config.importMethod !== 'indexer') {
    problem(`${cfgAt}/importMethod`, `${show(config.importMethod)} is not an import method; use bulk or indexer`);
  }
  if (config.hasHeader !== undefined && typeof config.hasHeader !== 'boolean') {
    problem(`${cfgAt}/hasHeader`, `expected boolean, got ${jsonType(config.hasHeader)} ${show(config.hasHeader)}: use true or false`);
  }
  let memLimit: string | undefined;
  if (config.memLimit !== undefined) {
    const msg = sizeMessage(config.memLimit);
    if (msg !== undefined) problem(`${cfgAt}/memLimit`, msg);
    else memLimit = (sizeBytes(config.memLimit as string) ?? 0) > MAX_MEM_LIMIT_BYTES ? '2047M' : (config.memLimit as string);
  }

  const distributed: Record<string, unknown> = {};
  if (config.haStrategy !== undefined) distributed.haStrategy = config.haStrategy;
  if (config.agentRetryCount !== undefined) distributed.agentRetryCount = config.agentRetryCount;
  const native = {
    name: table,
    columns,
    clusterMain: config.clusterMain ?? true,
    distributed,
    ...(config.importMethod === 'bulk' ? { importMethod: 'bulk' } : {}),
  };
  const result = validateNativeTable(native, origin, pointerMapFor(base));
  for (const p of result.problems) problems.push({ ...p, table });
  if (result.spec === undefined || problems.length > 0) return { problems };
  const importOptions: TableContribution['importOptions'] = { header: config.hasHeader === true };
  if (memLimit !== undefined) importOptions.memLimit = memLimit;
  // the bulk method guessed the header when hasHeader was not given; so does ours
  if (config.importMethod === 'bulk' && config.hasHeader === undefined) importOptions.detectHeader = true;
  return { contribution: { table, origin, pointer: base, spec: result.spec, importOptions }, problems };
}

/** Converts a whole registry document: one contribution per valid entry, problems for the others. */
export function convertOriginalRegistry(doc: Record<string, unknown>, origin: SpecOrigin): { contributions: TableContribution[]; problems: SpecProblem[] } {
  const contributions: TableContribution[] = [];
  const problems: SpecProblem[] = [];
  for (const [table, entry] of Object.entries(doc)) {
    const r = convertEntry(table, entry, origin);
    problems.push(...r.problems);
    if (r.contribution !== undefined) contributions.push(r.contribution);
  }
  return { contributions, problems };
}
