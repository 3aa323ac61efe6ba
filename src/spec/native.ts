/**
 * Validation of one native table document (schemas/table.schema.json): the schema through ajv, then
 * the checks a schema cannot make, then defaults applied into a TableSpec.
 */
import type {
  BackupScheduleSpec,
  ColumnDecl,
  ImportSourceSpec,
  SourceFormat,
  SpecOrigin,
  SpecProblem,
  TableSpec,
} from '../domain/spec.js';
import { DEFAULT_DISTRIBUTED } from '../domain/spec.js';
import {
  backupNameMessage,
  columnNameMessage,
  formatFromExtension,
  memLimitMessage,
  sourceMessage,
  tableNameMessage,
} from './checks.js';
import { cronProblem } from './cron.js';
import { isPlainObject, joinPointer, jsonType, show } from './json-text.js';
import { schemaMessages, type PointedMessage } from './messages.js';
import { tableValidator } from './schema.js';

export type PointerMap = (pointer: string) => string;
const identity: PointerMap = (p) => p;

function columnChecks(columns: unknown[]): PointedMessage[] {
  const out: PointedMessage[] = [];
  const seen = new Map<string, number>();
  columns.forEach((col, i) => {
    if (!isPlainObject(col)) return;
    const at = joinPointer('/columns', i);
    const name = col.name;
    if (typeof name === 'string') {
      const msg = columnNameMessage(name);
      if (msg !== undefined) out.push({ pointer: `${at}/name`, message: msg });
      const first = seen.get(name.toLowerCase());
      if (first !== undefined) {
        out.push({ pointer: `${at}/name`, message: `column '${name}' is declared twice (also at /columns/${first}): rename or remove one` });
      } else {
        seen.set(name.toLowerCase(), i);
      }
    }
    const type = col.type;
    if (typeof type !== 'string') return;
    if (col.indexed !== undefined && type !== 'text' && type !== 'string') {
      out.push({ pointer: `${at}/indexed`, message: `'indexed' applies only to text and string columns, not ${type}: remove it` });
    }
    if (col.stored !== undefined && type !== 'text') {
      out.push({
        pointer: `${at}/stored`,
        message:
          type === 'string'
            ? "a string attribute is always stored: remove 'stored' (or use type text for a stored full-text field)"
            : `'stored' applies only to text columns, not ${type}: remove it`,
      });
    }
    if (type === 'text' && col.indexed === false && col.stored === false) {
      out.push({ pointer: at, message: 'a text column that is neither indexed nor stored holds nothing: set indexed or stored to true, or remove the column' });
    }
  });
  return out;
}

function sourcesOf(source: unknown): { value: string; pointer: string }[] {
  if (typeof source === 'string') return [{ value: source, pointer: '/import/source' }];
  if (Array.isArray(source)) {
    return source.flatMap((s, i) => (typeof s === 'string' ? [{ value: s, pointer: joinPointer('/import/source', i) }] : []));
  }
  return [];
}

/** The format the sources imply, or a problem when they say nothing or disagree. */
function impliedFormat(sources: string[]): { format?: SourceFormat; problem?: string } {
  const formats = new Set<SourceFormat>();
  for (const s of sources) {
    const f = formatFromExtension(s);
    if (f === undefined) {
      return { problem: `cannot tell csv from tsv for ${show(s)} (no .csv or .tsv extension): set "format": "csv" or "tsv"` };
    }
    formats.add(f);
  }
  if (formats.size > 1) return { problem: 'the sources mix .csv and .tsv files: use one format for every segment, or set "format"' };
  const [only] = [...formats];
  return only === undefined ? {} : { format: only };
}

/** The bulk-only import options, refused for the indexer method. */
const BULK_ONLY: { key: string; applies: (v: unknown) => boolean; what: string }[] = [
  { key: 'detectHeader', applies: (v) => v === true, what: '"detectHeader": true (header detection)' },
  { key: 'idColumn', applies: (v) => v === false, what: '"idColumn": false (rows without an id column)' },
  { key: 'workers', applies: (v) => v !== undefined, what: '"workers"' },
  { key: 'batchSize', applies: (v) => v !== undefined, what: '"batchSize"' },
];

function importChecks(imp: Record<string, unknown>, method: unknown): PointedMessage[] {
  const out: PointedMessage[] = [];
  if (imp.detectHeader === true && imp.header === true) {
    out.push({ pointer: '/import/detectHeader', message: 'a header is either declared ("header": true) or detected ("detectHeader": true): remove one of them' });
  }
  if (method !== 'bulk') {
    for (const b of BULK_ONLY) {
      if (b.applies(imp[b.key])) {
        out.push({ pointer: `/import/${b.key}`, message: `${b.what} is an option of importMethod "bulk" (indexer builds need a declared header and an id column): set "importMethod": "bulk" or remove it` });
      }
    }
  }
  const sources = sourcesOf(imp.source);
  for (const s of sources) {
    const msg = sourceMessage(s.value);
    if (msg !== undefined) out.push({ pointer: s.pointer, message: msg });
  }
  if (imp.format === undefined && sources.length > 0) {
    const { problem } = impliedFormat(sources.map((s) => s.value));
    if (problem !== undefined) out.push({ pointer: '/import/format', message: problem });
  }
  if (typeof imp.memLimit === 'string') {
    const msg = memLimitMessage(imp.memLimit);
    if (msg !== undefined) out.push({ pointer: '/import/memLimit', message: msg });
  }
  if (typeof imp.schedule === 'string') {
    const msg = cronProblem(imp.schedule);
    if (msg !== undefined) out.push({ pointer: '/import/schedule', message: msg });
  }
  return out;
}

function backupChecks(backups: unknown[]): PointedMessage[] {
  const out: PointedMessage[] = [];
  const seen = new Map<string, number>();
  backups.forEach((b, i) => {
    if (!isPlainObject(b)) return;
    const at = joinPointer('/backups', i);
    if (typeof b.name === 'string') {
      const msg = backupNameMessage(b.name);
      if (msg !== undefined) out.push({ pointer: `${at}/name`, message: msg });
      const first = seen.get(b.name);
      if (first !== undefined) {
        out.push({ pointer: `${at}/name`, message: `backup schedule '${b.name}' is declared twice (also at /backups/${first}): give each schedule its own name` });
      } else {
        seen.set(b.name, i);
      }
    }
    if (typeof b.schedule === 'string') {
      const msg = cronProblem(b.schedule);
      if (msg !== undefined) out.push({ pointer: `${at}/schedule`, message: msg });
    }
  });
  return out;
}

/** Integer settings are 32-bit in Manticore: a larger number is refused here, not by CREATE TABLE on every node. */
export const MAX_SETTING_INTEGER = 2_147_483_647;

function settingChecks(settings: Record<string, unknown>): PointedMessage[] {
  const out: PointedMessage[] = [];
  for (const [key, value] of Object.entries(settings)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && Math.abs(value) <= MAX_SETTING_INTEGER)) {
      out.push({ pointer: joinPointer('/settings', key), message: `${value} is too large: Manticore takes at most ${MAX_SETTING_INTEGER}` });
    }
  }
  return out;
}

/** Checks JSON Schema cannot express. Each looks at types itself: the document may also have schema errors. */
function semanticChecks(doc: Record<string, unknown>): PointedMessage[] {
  const out: PointedMessage[] = [];
  if (typeof doc.name === 'string') {
    const msg = tableNameMessage(doc.name);
    if (msg !== undefined) out.push({ pointer: '/name', message: msg });
  }
  if (Array.isArray(doc.columns)) out.push(...columnChecks(doc.columns));
  if (isPlainObject(doc.settings)) out.push(...settingChecks(doc.settings));
  if (isPlainObject(doc.import)) out.push(...importChecks(doc.import, doc.importMethod));
  if (Array.isArray(doc.backups)) out.push(...backupChecks(doc.backups));
  return out;
}

function buildColumns(columns: Record<string, unknown>[]): ColumnDecl[] {
  return columns.map((c) => {
    const col: ColumnDecl = { name: c.name as string, type: c.type as ColumnDecl['type'] };
    if (typeof c.indexed === 'boolean') col.indexed = c.indexed;
    if (typeof c.stored === 'boolean') col.stored = c.stored;
    return col;
  });
}

function buildSettings(settings: Record<string, unknown> | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(settings ?? {})) {
    out[key] = typeof value === 'boolean' ? (value ? 1 : 0) : (value as string | number);
  }
  return out;
}

function buildImport(imp: Record<string, unknown>): ImportSourceSpec {
  const urls = typeof imp.source === 'string' ? [imp.source] : (imp.source as string[]).slice();
  const format = (imp.format as SourceFormat | undefined) ?? impliedFormat(urls).format ?? 'csv';
  const spec: ImportSourceSpec = { urls, format, header: imp.header === true };
  if (imp.detectHeader === true) spec.detectHeader = true;
  if (imp.idColumn === false) spec.idColumn = false;
  if (typeof imp.workers === 'number') spec.workers = imp.workers;
  if (typeof imp.batchSize === 'number') spec.batchSize = imp.batchSize;
  if (typeof imp.memLimit === 'string') spec.memLimit = imp.memLimit;
  if (typeof imp.schedule === 'string') spec.schedule = imp.schedule.trim();
  return spec;
}

function buildBackups(backups: Record<string, unknown>[]): BackupScheduleSpec[] {
  return backups.map((b) => {
    const out: BackupScheduleSpec = { name: b.name as string, type: b.type as BackupScheduleSpec['type'], schedule: (b.schedule as string).trim() };
    if (typeof b.keep === 'number') out.keep = b.keep;
    return out;
  });
}

/** Defaults applied into a TableSpec; only called on a document with no problems. */
function buildSpec(doc: Record<string, unknown>): TableSpec {
  const distributed = isPlainObject(doc.distributed) ? doc.distributed : {};
  const spec: TableSpec = {
    name: doc.name as string,
    columns: buildColumns(doc.columns as Record<string, unknown>[]),
    settings: buildSettings(doc.settings as Record<string, unknown> | undefined),
    clusterMain: doc.clusterMain === true,
    distributed: {
      haStrategy: (distributed.haStrategy as TableSpec['distributed']['haStrategy'] | undefined) ?? DEFAULT_DISTRIBUTED.haStrategy,
      agentRetryCount: (distributed.agentRetryCount as number | undefined) ?? DEFAULT_DISTRIBUTED.agentRetryCount,
    },
    backups: buildBackups((doc.backups as Record<string, unknown>[] | undefined) ?? []),
    deletionPolicy: doc.deletionPolicy === 'delete' ? 'delete' : 'retain',
  };
  if (isPlainObject(doc.import)) spec.import = buildImport(doc.import);
  if (doc.importMethod === 'bulk') spec.importMethod = 'bulk';
  return spec;
}

/**
 * Validates one native table document. `mapPointer` translates pointers when the document was
 * converted from another format, so problems point into what the user wrote.
 */
export function validateNativeTable(
  doc: unknown,
  origin: SpecOrigin,
  mapPointer: PointerMap = identity,
): { spec?: TableSpec; problems: SpecProblem[] } {
  if (!isPlainObject(doc)) {
    return {
      problems: [
        {
          origin,
          pointer: mapPointer(''),
          message: `a table spec must be a JSON object such as {"name": "products", "columns": [...]}, got ${jsonType(doc)}`,
        },
      ],
    };
  }
  const validate = tableValidator();
  const messages: PointedMessage[] = [];
  if (!validate(doc)) messages.push(...schemaMessages(validate.errors ?? [], doc));
  messages.push(...semanticChecks(doc));

  const table = typeof doc.name === 'string' && tableNameMessage(doc.name) === undefined ? doc.name : undefined;
  const seen = new Set<string>();
  const problems: SpecProblem[] = [];
  for (const m of messages) {
    const pointer = mapPointer(m.pointer);
    const key = `${pointer}\u0000${m.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(table === undefined ? { origin, pointer, message: m.message } : { origin, pointer, message: m.message, table });
  }
  if (problems.length > 0) return { problems };
  return { spec: buildSpec(doc), problems };
}
