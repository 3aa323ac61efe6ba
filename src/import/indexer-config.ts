/**
 * Config generation for an import build (pure): the `indexer` config that builds the plain table from
 * the sources through `source-feed`, and the temporary plain-mode searchd config that declares that
 * plain table next to an empty RT table `<t>_main_<slot>` (same schema) so `ATTACH TABLE` can turn one
 * into the other (manticore-facts.md 1.4 and 7).
 *
 * Column mapping (spec type → csvpipe_/tsvpipe_ declaration → RT directive):
 *   text → field → rt_field                   string → attr_string → rt_attr_string
 *   string + indexed → field_string → rt_field + rt_attr_string
 *   integer → attr_uint → rt_attr_uint        bigint → attr_bigint → rt_attr_bigint
 *   float → attr_float → rt_attr_float        bool → attr_bool → rt_attr_bool
 *   timestamp → attr_timestamp → rt_attr_timestamp   json → attr_json → rt_attr_json
 *   multi → attr_multi → rt_attr_multi        multi64 → attr_multi_64 → rt_attr_multi_64
 * A text column with `stored: false` is left out of `stored_fields`; with `indexed: false` it is listed
 * in `stored_only_fields`. Table settings go to both tables (rt_mem_limit only to the RT one).
 *
 * Values are written for Manticore's config parser: `#` starts a comment unless written `\#`, a `\` at
 * the end of a line continues it, lines are at most 8 KiB. The pipe command runs under /bin/sh, so
 * every argument is single-quoted where needed.
 */
import type { ColumnDecl } from '../domain/spec.js';
import { mainTableName, type Slot } from '../domain/names.js';
import { validateIdentifier } from '../manticore/identifiers.js';
import { ValidationError } from '../lib/errors.js';
import { formatColumnsArg } from './feed-args.js';

/** Manticore's config parser reads lines of at most 8192 bytes; keep a margin. */
export const MAX_CONFIG_LINE = 8000;
/** mem_limit when the spec names none (Manticore advises 256M-1024M; the maximum is 2047M). */
export const DEFAULT_MEM_LIMIT = '256M';
export const MAX_MEM_LIMIT_BYTES = 2047 * 1024 * 1024;

/** Settings that only RT tables take. */
const RT_ONLY_SETTINGS = new Set(['rt_mem_limit']);
/** Settings this module writes itself. */
const RESERVED_SETTINGS = new Set(['type', 'path', 'source', 'stored_fields', 'stored_only_fields']);

const SHELL_SAFE = /^[A-Za-z0-9_/.:,=@%+-]+$/;

/** One argument for /bin/sh: unchanged when it holds only safe characters, else single-quoted. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new ValidationError('argument', 'must not contain NUL');
  if (arg !== '' && SHELL_SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A value as Manticore's config parser must see it (`#` escaped); refuses what it cannot carry. */
export function configValue(value: string, field: string): string {
  if (/[\0\r\n]/.test(value)) throw new ValidationError(field, 'must not contain NUL, CR or LF (a config value is one line)');
  if (value.endsWith('\\')) throw new ValidationError(field, 'must not end with a backslash (it would continue the config line)');
  return value.replace(/#/g, '\\#');
}

/** `256M`, `1G`, `524288K`, bytes; more than 0 and at most 2047M (indexer's maximum). Returns the canonical text or throws. */
export function parseMemLimit(value: unknown, field = 'memLimit'): string {
  const m = typeof value === 'string' ? /^\s*(\d+)\s*([kKmMgG]?)\s*$/.exec(value) : null;
  if (m === null) throw new ValidationError(field, `${JSON.stringify(value)}: use a size like 256M (K, M or G; at most 2047M)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const bytes = n * (unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1);
  if (bytes > MAX_MEM_LIMIT_BYTES) throw new ValidationError(field, `${value} is above indexer's maximum of 2047M`);
  if (bytes === 0) throw new ValidationError(field, 'must be more than 0; use 256M-1024M');
  return `${n}${unit}`;
}

export interface BuildNames {
  source: string;
  plain: string;
  rt: string;
}

export function buildNames(table: string, slot: Slot): BuildNames {
  return { source: `${table}_src`, plain: `${table}_plain`, rt: mainTableName(table, slot) };
}

export interface FeedCommandInput {
  /** the node binary running source-feed */
  node: string;
  /** dist/src/bin/source-feed.js */
  feedScript: string;
  format: 'csv' | 'tsv';
  header: boolean;
  columns: readonly ColumnDecl[];
  sources: readonly string[];
  /** progress/error report file the build job polls */
  reportFile: string;
  /** where the source list goes when it does not fit on one config line */
  sourcesFile: string;
}

export interface FeedCommand {
  /** the shell command (not yet escaped for the config) */
  command: string;
  /** set when the sources went to a file: its content (a JSON array) */
  sourcesFileContent?: string;
}

/** The pipe command; sources move to `sourcesFile` when the line would be too long. */
export function feedCommand(i: FeedCommandInput): FeedCommand {
  const head = [
    i.node,
    i.feedScript,
    '--format',
    i.format,
    '--header',
    i.header ? '1' : '0',
    '--columns',
    formatColumnsArg(i.columns),
    '--report',
    i.reportFile,
  ];
  const inline = [...head, '--', ...i.sources].map(shellQuote).join(' ');
  if (configValue(inline, 'sources').length + 32 <= MAX_CONFIG_LINE) return { command: inline };
  return { command: [...head, '--sources-file', i.sourcesFile].map(shellQuote).join(' '), sourcesFileContent: JSON.stringify(i.sources) };
}

export interface BuildConfigInput extends FeedCommandInput {
  table: string;
  slot: Slot;
  settings: Readonly<Record<string, string | number>>;
  memLimit?: string;
  /** path prefix of the plain table the indexer writes */
  plainPath: string;
  /** path prefix of the RT table (what IMPORT TABLE takes) */
  rtPath: string;
}

export interface SearchdRuntime {
  mysqlPort: number;
  apiPort: number;
  log: string;
  queryLog: string;
  pidFile: string;
  binlogPath: string;
}

function section(kind: string, name: string | undefined, lines: readonly [string, string][]): string {
  const body = lines.map(([k, v]) => `    ${k} = ${v}`).join('\n');
  return `${kind}${name === undefined ? '' : ` ${name}`} {\n${body}\n}\n`;
}

function settingLines(settings: Readonly<Record<string, string | number>>, rt: boolean): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(settings)) {
    const k = validateIdentifier(key, 'setting', `settings.${key}`).toLowerCase();
    if (RESERVED_SETTINGS.has(k)) throw new ValidationError(`settings.${key}`, `'${k}' is set by the import itself; remove it from the spec's settings`);
    if (!rt && RT_ONLY_SETTINGS.has(k)) continue;
    if (typeof value === 'number' && !Number.isFinite(value)) throw new ValidationError(`settings.${key}`, 'must be a finite number');
    out.push([k, configValue(String(value), `settings.${key}`)]);
  }
  return out;
}

function storageLines(columns: readonly ColumnDecl[]): [string, string][] {
  const texts = columns.filter((c) => c.type === 'text');
  const out: [string, string][] = [];
  if (texts.some((c) => c.stored === false)) {
    out.push(['stored_fields', texts.filter((c) => c.stored !== false && c.indexed !== false).map((c) => c.name).join(', ')]);
  }
  const storedOnly = texts.filter((c) => c.indexed === false && c.stored !== false);
  if (storedOnly.length > 0) out.push(['stored_only_fields', storedOnly.map((c) => c.name).join(', ')]);
  return out;
}

function pipeDirective(c: ColumnDecl): string {
  switch (c.type) {
    case 'text':
      return 'field';
    case 'string':
      return c.indexed === true ? 'field_string' : 'attr_string';
    case 'integer':
      return 'attr_uint';
    case 'multi64':
      return 'attr_multi_64';
    default:
      return `attr_${c.type}`;
  }
}

function rtDirectives(c: ColumnDecl): string[] {
  switch (c.type) {
    case 'text':
      return ['rt_field'];
    case 'string':
      return c.indexed === true ? ['rt_field', 'rt_attr_string'] : ['rt_attr_string'];
    case 'integer':
      return ['rt_attr_uint'];
    case 'multi64':
      return ['rt_attr_multi_64'];
    default:
      return [`rt_attr_${c.type}`];
  }
}

function checkColumns(columns: readonly ColumnDecl[]): void {
  if (columns.length === 0) throw new ValidationError('columns', 'declare at least one column');
  const seen = new Set<string>();
  columns.forEach((c, i) => {
    validateIdentifier(c.name, 'column', `columns[${i}].name`);
    const lower = c.name.toLowerCase();
    if (lower === 'id') throw new ValidationError(`columns[${i}].name`, "'id' is implicit (the first source column); rename the column");
    if (seen.has(lower)) throw new ValidationError(`columns[${i}].name`, `column '${c.name}' is declared twice`);
    seen.add(lower);
  });
}

/** The source section (also repeated in the searchd config, which declares the same plain table). */
export function renderSourceSection(i: BuildConfigInput): { text: string; sourcesFileContent?: string } {
  checkColumns(i.columns);
  const kind = i.format === 'csv' ? 'csvpipe' : 'tsvpipe';
  const names = buildNames(i.table, i.slot);
  const cmd = feedCommand(i);
  const lines: [string, string][] = [
    ['type', kind],
    [`${kind}_command`, configValue(cmd.command, 'sources')],
    ...i.columns.map((c): [string, string] => [`${kind}_${pipeDirective(c)}`, c.name]),
  ];
  const out: { text: string; sourcesFileContent?: string } = { text: section('source', names.source, lines) };
  if (cmd.sourcesFileContent !== undefined) out.sourcesFileContent = cmd.sourcesFileContent;
  return out;
}

function plainSection(i: BuildConfigInput): string {
  const names = buildNames(i.table, i.slot);
  return section('table', names.plain, [
    ['type', 'plain'],
    ['source', names.source],
    ['path', configValue(i.plainPath, 'plainPath')],
    ...storageLines(i.columns),
    ...settingLines(i.settings, false),
  ]);
}

function rtSection(i: BuildConfigInput): string {
  const names = buildNames(i.table, i.slot);
  const schema: [string, string][] = [];
  for (const c of i.columns) for (const d of rtDirectives(c)) schema.push([d, c.name]);
  return section('table', names.rt, [
    ['type', 'rt'],
    ['path', configValue(i.rtPath, 'rtPath')],
    ...schema,
    ...storageLines(i.columns),
    ...settingLines(i.settings, true),
  ]);
}

export interface IndexerConfig {
  text: string;
  /** content of the sources file, when the list did not fit on the command line */
  sourcesFileContent?: string;
}

/** The indexer config: source, plain table, indexer section (mem_limit). */
export function renderIndexerConfig(i: BuildConfigInput): IndexerConfig {
  const src = renderSourceSection(i);
  const mem = i.memLimit === undefined ? DEFAULT_MEM_LIMIT : parseMemLimit(i.memLimit);
  const text = [src.text, plainSection(i), section('indexer', undefined, [['mem_limit', mem]])].join('\n');
  const out: IndexerConfig = { text };
  if (src.sourcesFileContent !== undefined) out.sourcesFileContent = src.sourcesFileContent;
  return out;
}

/** The temporary plain-mode searchd: the plain table, the empty RT table, loopback listeners, no Buddy. */
export function renderSearchdConfig(i: BuildConfigInput, rt: SearchdRuntime): string {
  const searchd = section('searchd', undefined, [
    ['listen', `127.0.0.1:${rt.mysqlPort}:mysql41`],
    ['listen', `127.0.0.1:${rt.apiPort}`],
    ['log', configValue(rt.log, 'log')],
    ['query_log', configValue(rt.queryLog, 'queryLog')],
    ['pid_file', configValue(rt.pidFile, 'pidFile')],
    ['binlog_path', configValue(rt.binlogPath, 'binlogPath')],
    ['buddy_path', ''],
  ]);
  return [renderSourceSection(i).text, plainSection(i), rtSection(i), searchd].join('\n');
}
