/**
 * Turns ajv errors on a table document into problems with a JSON pointer and a fix-it message.
 * Values with a dedicated check (names, sources, sizes) get the same message as the semantic checks
 * in native.ts, so a value that fails several keywords yields one problem.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import {
  backupNameMessage,
  closest,
  columnNameMessage,
  memLimitMessage,
  sizeMessage,
  sourceMessage,
  tableNameMessage,
} from './checks.js';
import { joinPointer, jsonType, show, valueAt } from './json-text.js';
import { columnTypeNames, knownSettings } from './schema.js';

export interface PointedMessage {
  pointer: string;
  message: string;
}

/** The shape of a pointer, for choosing a message: array indexes become '*' (columns, 2, type gives columns, *, type). */
function shapeOf(pointer: string): string {
  return pointer.replace(/\/\d+(?=\/|$)/g, '/*');
}

const SOURCE_FIX = "a path on the shared volume, s3://bucket/key, gs://bucket/key or https://host/path (one string, or an array for several segment files)";

const REQUIRED_HINTS: Record<string, string> = {
  '/name': 'name the table, e.g. "name": "products"',
  '/columns': 'declare at least one column, e.g. "columns": [{"name": "title", "type": "text"}]',
  '/columns/*/name': 'name the column, e.g. "name": "title"',
  '/import/source': `give ${SOURCE_FIX}`,
  '/backups/*/name': 'name the schedule, e.g. "name": "nightly-delta"',
  '/backups/*/type': 'use "delta" or "main"',
  '/backups/*/schedule': 'give a cron expression (5 fields, UTC), e.g. "0 2 * * *"',
};

/** Dedicated checks by pointer shape: they explain names, sources and sizes better than a pattern can. */
const VALUE_CHECKS: Record<string, (value: unknown) => string | undefined> = {
  '/name': tableNameMessage,
  '/columns/*/name': columnNameMessage,
  '/import/source': sourceMessage,
  '/import/source/*': sourceMessage,
  '/import/memLimit': memLimitMessage,
  '/settings/rt_mem_limit': sizeMessage,
  '/settings/docstore_block_size': sizeMessage,
  '/backups/*/name': backupNameMessage,
};

const ENUM_NOUNS: Record<string, string> = {
  '/import/format': 'an import format',
  '/distributed/haStrategy': 'an ha_strategy',
  '/deletionPolicy': 'a deletion policy',
  '/backups/*/type': 'a backup type',
  '/kind': 'a kind of this document',
};

/** Column type names people try, and what to write instead. */
const TYPE_HINTS: Record<string, string> = {
  varchar: "'string' for an attribute or 'text' for full-text search",
  char: "'string' for an attribute or 'text' for full-text search",
  str: "'string'",
  int: "'integer'",
  uint: "'integer'",
  int32: "'integer'",
  smallint: "'integer'",
  tinyint: "'integer'",
  long: "'bigint'",
  int64: "'bigint'",
  double: "'float'",
  decimal: "'float'",
  real: "'float'",
  boolean: "'bool'",
  date: "'timestamp'",
  datetime: "'timestamp'",
  time: "'timestamp'",
  mva: "'multi'",
  mva64: "'multi64'",
  object: "'json'",
  field: "'text' (field is the original schema format's name)",
  field_string: "'text' (field_string is the original schema format's name)",
  attr_string: "'string'",
  attr_uint: "'integer'",
  attr_bigint: "'bigint'",
  attr_float: "'float'",
  attr_bool: "'bool'",
  attr_timestamp: "'timestamp'",
  attr_multi: "'multi'",
  attr_multi_64: "'multi64'",
  attr_json: "'json'",
};

const DISTRIBUTED_SETTING_HINTS: Record<string, string> = {
  ha_strategy: 'is an option of the distributed table: write it as "distributed": {"haStrategy": "..."}',
  agent_retry_count: 'is an option of the distributed table: write it as "distributed": {"agentRetryCount": N}',
  type: 'is decided by the controller (RT for delta and main, distributed for the query table): remove it',
  local: 'is decided by the controller (the distributed table lists the active main slot and the delta): remove it',
  agent: 'is decided by the controller (the distributed table lists every other node as a mirror): remove it',
};

const ROOT_KEY_HINTS: Record<string, string> = {
  haStrategy: 'belongs under "distributed": {"haStrategy": "..."}',
  agentRetryCount: 'belongs under "distributed": {"agentRetryCount": N}',
  schema: "looks like the original system's schema format, which is keyed by table name: write {\"<table>\": {\"schema\": ..., \"config\": ...}} or a native spec with name and columns",
  config: "looks like the original system's schema format, which is keyed by table name: write {\"<table>\": {\"schema\": ..., \"config\": ...}} or a native spec with name and columns",
  table: 'use "name" for the table name',
  fields: 'use "columns": [{"name": ..., "type": ...}]',
  source: 'belongs under "import": {"source": ...}',
  schedules: 'use "backups": [{"name", "type", "schedule"}]',
};

function typeMessage(expected: string | string[], value: unknown): string {
  const exp = Array.isArray(expected) ? expected : [expected];
  if (exp.includes('string') && exp.includes('array')) {
    return `expected a string or an array of strings, got ${jsonType(value)} ${show(value)}`;
  }
  const want = exp.join(' or ');
  const got = `got ${jsonType(value)} ${show(value)}`;
  if ((want === 'integer' || want === 'number') && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return `expected ${want}, ${got}: write the number without quotes: ${value.trim()}`;
  }
  if (want === 'integer' && typeof value === 'number') return `expected a whole number, ${got}`;
  if (want === 'boolean') {
    const hint = typeof value === 'string' || typeof value === 'number' ? ': write true or false without quotes' : ': use true or false';
    return `expected boolean, ${got}${hint}`;
  }
  if (want === 'object') return `expected an object {...}, ${got}`;
  if (want === 'array') return `expected an array [...], ${got}`;
  return `expected ${want}, ${got}`;
}

function additionalMessage(parentPointer: string, rawKey: string, parentSchema: Record<string, unknown> | undefined): string {
  const known = Object.keys((parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
  // a hostile key can be megabytes long: quote the start of it, and look for a near name only when it could be one
  const long = rawKey.length > 64;
  const key = long ? `${rawKey.slice(0, 60)}…` : rawKey;
  const nearest = (candidates: readonly string[]): string | undefined => (long ? undefined : closest(rawKey, candidates));
  if (parentPointer === '/settings') {
    const hint = DISTRIBUTED_SETTING_HINTS[key.toLowerCase()];
    if (hint !== undefined) return `'${key}' ${hint}`;
    const near = nearest(knownSettings());
    const dym = near !== undefined ? ` (did you mean '${near}'?)` : '';
    return `unknown setting '${key}'${dym}: known settings are ${knownSettings().join(', ')}; a setting missing from the list needs an addition to schemas/table.schema.json`;
  }
  if (parentPointer === '') {
    const hint = ROOT_KEY_HINTS[key];
    if (hint !== undefined) return `unknown key '${key}': it ${hint}`;
  }
  const near = nearest(known);
  const dym = near !== undefined ? ` (did you mean '${near}'?)` : '';
  return `unknown key '${key}'${dym}: remove it; the keys allowed here are ${known.join(', ')}`;
}

function rangeMessage(value: unknown, parentSchema: Record<string, unknown> | undefined): string {
  const min = parentSchema?.minimum as number | undefined;
  const max = parentSchema?.maximum as number | undefined;
  if (min !== undefined && max !== undefined) return `${show(value)} is out of range: use a value from ${min} to ${max}`;
  if (min !== undefined) return `${show(value)} is too small: use ${min} or more`;
  if (max !== undefined) return `${show(value)} is too large: use ${max} or less`;
  return `${show(value)} is out of range`;
}

function enumMessage(shape: string, pointer: string, value: unknown, allowed: unknown[]): string {
  const list = allowed.map(String).join(', ');
  if (shape === '/columns/*/type') {
    const hint = typeof value === 'string' ? TYPE_HINTS[value.toLowerCase()] : undefined;
    const suffix = hint !== undefined ? ` (for ${show(value)} write ${hint})` : '';
    return `${show(value)} is not a Manticore column type; use one of ${columnTypeNames().join(', ')}${suffix}`;
  }
  const settingKey = /^\/settings\/([^/]+)$/.exec(pointer)?.[1];
  const noun = ENUM_NOUNS[shape] ?? (settingKey !== undefined ? `a value of ${settingKey}` : 'allowed here');
  const near = typeof value === 'string' ? closest(value, allowed.map(String)) : undefined;
  const dym = near !== undefined ? ` (did you mean '${near}'?)` : '';
  return `${show(value)} is not ${noun}${dym}; use one of ${list}`;
}

/** One problem per ajv error (before de-duplication). */
export function schemaMessages(errors: readonly ErrorObject[], doc: unknown): PointedMessage[] {
  const out: PointedMessage[] = [];
  for (const err of errors) {
    const at = err.instancePath;
    const shape = shapeOf(at);
    const value = valueAt(doc, at);
    const parentSchema = err.parentSchema as Record<string, unknown> | undefined;
    switch (err.keyword) {
      case 'required': {
        const prop = String((err.params as { missingProperty?: unknown }).missingProperty);
        const pointer = joinPointer(at, prop);
        const hint = REQUIRED_HINTS[shapeOf(pointer)];
        const fallback = shapeOf(pointer) === '/columns/*/type' ? `use one of ${columnTypeNames().join(', ')}` : `add "${prop}"`;
        out.push({ pointer, message: `missing: ${hint ?? fallback}` });
        break;
      }
      case 'additionalProperties': {
        const key = String((err.params as { additionalProperty?: unknown }).additionalProperty);
        out.push({ pointer: joinPointer(at, key), message: additionalMessage(at, key, parentSchema) });
        break;
      }
      case 'type': {
        const custom = shape === '/name' || shape === '/columns/*/name' ? VALUE_CHECKS[shape]?.(value) : undefined;
        out.push({ pointer: at, message: custom ?? typeMessage((err.params as { type: string | string[] }).type, value) });
        break;
      }
      case 'enum':
        out.push({ pointer: at, message: enumMessage(shape, at, value, (parentSchema?.enum as unknown[] | undefined) ?? []) });
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        out.push({ pointer: at, message: rangeMessage(value, parentSchema) });
        break;
      case 'minItems':
        if (shape === '/columns') out.push({ pointer: at, message: `no columns: ${REQUIRED_HINTS['/columns'] ?? ''}` });
        else if (shape === '/import/source') out.push({ pointer: at, message: `no files: give ${SOURCE_FIX}` });
        else out.push({ pointer: at, message: `the list is empty: add at least ${String((err.params as { limit?: unknown }).limit)} item(s)` });
        break;
      case 'not':
      case 'pattern':
      case 'minLength':
      case 'maxLength': {
        const custom = VALUE_CHECKS[shape]?.(value);
        out.push({ pointer: at, message: custom ?? `${show(value)}: ${err.message ?? 'is not allowed'}` });
        break;
      }
      default:
        out.push({ pointer: at, message: `${show(value)}: ${err.message ?? 'is not allowed here'}` });
    }
  }
  return out;
}
