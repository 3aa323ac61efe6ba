/**
 * Every SQL statement the orchestrator sends to Manticore is built here (DESIGN.md section 8).
 * Identifiers go through identifiers.ts (validated, backtick-quoted where Manticore's grammar allows a
 * quoted name), values through `sqlLiteral`. Builders throw ValidationError on bad input and never
 * concatenate unchecked text.
 *
 * Where Manticore's grammar differs from a naive reading it is noted at the builder:
 * - table options of CREATE/ALTER TABLE are `key='value'` only (the DDL grammar takes a quoted string),
 *   so numeric settings such as agent_retry_count are sent quoted;
 * - `cluster:table` and the comma-separated table lists of ALTER CLUSTER and FREEZE are sent bare:
 *   Manticore takes that text verbatim; a validated name cannot break out of it.
 */
import { ValidationError } from '../lib/errors.js';
import { sqlLiteral, type SqlValue } from './escape.js';
import {
  bareIdent,
  qualifiedTable,
  quoteIdent,
  showValue,
  validateIdentifier,
  validateNodeAddress,
} from './identifiers.js';

// ---------------------------------------------------------------------------------------------
// tables

export const COLUMN_TYPES = [
  'text',
  'string',
  'integer',
  'int',
  'uint',
  'bigint',
  'float',
  'bool',
  'timestamp',
  'json',
  'multi',
  'multi64',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** Flags Manticore accepts after `text` / `string`. */
export const COLUMN_FLAGS = ['indexed', 'stored', 'attribute'] as const;
export type ColumnFlag = (typeof COLUMN_FLAGS)[number];

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** Only for text/string: e.g. ['indexed', 'stored'] or ['attribute']. */
  flags?: readonly ColumnFlag[];
}

/** Table settings rendered as `key='value'` (min_infix_len, morphology, charset_table, ...). */
export type TableSettings = Readonly<Record<string, string | number | boolean>>;

/** Options that only distributed tables take; createTable refuses them. */
const DISTRIBUTED_ONLY_OPTIONS = new Set(['type', 'local', 'agent', 'ha_strategy', 'agent_retry_count']);

function settingList(settings: TableSettings | undefined, field: string): string[] {
  if (settings === undefined) return [];
  return Object.entries(settings).map(([key, value]) => {
    const k = validateIdentifier(key, 'setting', `${field}.${key}`).toLowerCase();
    if (DISTRIBUTED_ONLY_OPTIONS.has(k)) {
      throw new ValidationError(`${field}.${key}`, `'${k}' belongs to distributed tables: use createDistributed`);
    }
    const v = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ValidationError(`${field}.${key}`, `${String(value)} is not a finite number`);
    }
    return `${k}=${sqlLiteral(v, `${field}.${key}`)}`;
  });
}

function columnDef(col: ColumnSpec, field: string): string {
  if (typeof col !== 'object' || col === null) throw new ValidationError(field, 'expected {name, type}');
  const name = quoteIdent(col.name, 'column', `${field}.name`);
  if (!(COLUMN_TYPES as readonly string[]).includes(col.type)) {
    throw new ValidationError(`${field}.type`, `column type ${showValue(col.type)}: use one of ${COLUMN_TYPES.join(', ')}`);
  }
  const flags = col.flags ?? [];
  if (flags.length > 0 && col.type !== 'text' && col.type !== 'string') {
    throw new ValidationError(`${field}.flags`, `flags apply only to text and string columns, not ${col.type}`);
  }
  for (const f of flags) {
    if (!(COLUMN_FLAGS as readonly string[]).includes(f)) {
      throw new ValidationError(`${field}.flags`, `column flag ${showValue(f)}: use ${COLUMN_FLAGS.join(', ')}`);
    }
  }
  return [name, col.type, ...new Set(flags)].join(' ');
}

/**
 * `CREATE TABLE [IF NOT EXISTS] `t` (`title` text indexed stored, `price` float) min_infix_len='2'`
 * — an RT table (the default type in RT mode).
 */
export function createTable(
  name: string,
  columns: readonly ColumnSpec[],
  settings?: TableSettings,
  options: { ifNotExists?: boolean } = {},
): string {
  const parts = ['CREATE TABLE'];
  if (options.ifNotExists) parts.push('IF NOT EXISTS');
  parts.push(quoteIdent(name, 'table', 'name'));
  const seen = new Set<string>();
  columns.forEach((c, i) => {
    const lower = String(c.name).toLowerCase();
    if (seen.has(lower)) throw new ValidationError(`columns[${i}].name`, `column '${c.name}' is declared twice`);
    seen.add(lower);
  });
  if (columns.length > 0) parts.push(`(${columns.map((c, i) => columnDef(c, `columns[${i}]`)).join(', ')})`);
  parts.push(...settingList(settings, 'settings'));
  return parts.join(' ');
}

export const HA_STRATEGIES = ['random', 'nodeads', 'noerrors', 'roundrobin'] as const;
export type HaStrategy = (typeof HA_STRATEGIES)[number];

export interface DistributedAgent {
  /** API addresses (`host:port`, the 9312-style binary port) that mirror one another. */
  mirrors: readonly string[];
  /** The table on every mirror. */
  table: string;
}

export interface DistributedSpec {
  locals?: readonly string[];
  agents?: readonly DistributedAgent[];
  haStrategy?: HaStrategy;
  agentRetryCount?: number;
}

/** `h1:9312|h2:9312:t` — one agent with its mirrors. */
export function agentValue(agent: DistributedAgent, field = 'agent'): string {
  if (typeof agent !== 'object' || agent === null || !Array.isArray(agent.mirrors) || agent.mirrors.length === 0) {
    throw new ValidationError(`${field}.mirrors`, 'an agent needs at least one mirror address host:port');
  }
  const mirrors = agent.mirrors.map((m, i) => validateNodeAddress(m, `${field}.mirrors[${i}]`));
  const table = validateIdentifier(agent.table, 'table', `${field}.table`);
  return `${mirrors.join('|')}:${table}`;
}

function distributedOptions(spec: DistributedSpec): string[] {
  const locals = spec.locals ?? [];
  const agents = spec.agents ?? [];
  if (locals.length === 0 && agents.length === 0) {
    throw new ValidationError('locals', 'a distributed table needs at least one local table or agent');
  }
  const parts: string[] = [];
  locals.forEach((l, i) => parts.push(`local=${sqlLiteral(validateIdentifier(l, 'table', `locals[${i}]`))}`));
  agents.forEach((a, i) => parts.push(`agent=${sqlLiteral(agentValue(a, `agents[${i}]`))}`));
  if (spec.haStrategy !== undefined) {
    if (!(HA_STRATEGIES as readonly string[]).includes(spec.haStrategy)) {
      throw new ValidationError('haStrategy', `ha_strategy ${showValue(spec.haStrategy)}: use one of ${HA_STRATEGIES.join(', ')}`);
    }
    parts.push(`ha_strategy=${sqlLiteral(spec.haStrategy)}`);
  }
  if (spec.agentRetryCount !== undefined) {
    const n = spec.agentRetryCount;
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new ValidationError('agentRetryCount', `agent_retry_count ${showValue(n)}: use a whole number >= 0`);
    }
    // DDL table options are `ident '=' quoted string` in Manticore's grammar
    parts.push(`agent_retry_count=${sqlLiteral(String(n))}`);
  }
  return parts;
}

/** `CREATE TABLE `d` type='distributed' local='a' agent='h1:9312|h2:9312:t' ha_strategy='nodeads' agent_retry_count='2'` */
export function createDistributed(name: string, spec: DistributedSpec, options: { ifNotExists?: boolean } = {}): string {
  const head = options.ifNotExists ? 'CREATE TABLE IF NOT EXISTS' : 'CREATE TABLE';
  return [head, quoteIdent(name, 'table', 'name'), "type='distributed'", ...distributedOptions(spec)].join(' ');
}

/** `ALTER TABLE `d` local='a' agent='...'` — re-points a distributed table in place (needs Buddy). */
export function alterDistributed(name: string, spec: DistributedSpec): string {
  return ['ALTER TABLE', quoteIdent(name, 'table', 'name'), ...distributedOptions(spec)].join(' ');
}

/*
 * ALTER TABLE ... ADD/DROP COLUMN (manual: Updating_table_schema_and_settings.md; grammar: src/ddl.y `alter`).
 * One column per statement, RT tables only. Real Manticore (6.3 to 15.x) refuses both for a table in a
 * replication cluster: the bare name answers "table t: is part of cluster c, ALTER is not supported for tables
 * in cluster" (manticoresearch#2250) and the `c:t` form is a syntax error (ddl.y's table name has no cluster
 * prefix). Changing a clustered table's schema takes ALTER CLUSTER c DROP t, the ALTER on that node, then
 * ALTER CLUSTER c ADD t from the same node (manticoresearch#3360); src/reconcile/tables.ts does exactly that.
 */

/** `ALTER TABLE `t` ADD COLUMN `price` float` (or `... `title` text indexed` for a full-text field). */
export function addColumn(table: string, column: ColumnSpec): string {
  return ['ALTER TABLE', quoteIdent(table, 'table', 'table'), 'ADD COLUMN', columnDef(column, 'column')].join(' ');
}

/** `ALTER TABLE `t` DROP COLUMN `price`` — `id` cannot be dropped. */
export function dropColumn(table: string, column: string): string {
  const name = quoteIdent(column, 'column', 'column');
  if (String(column).toLowerCase() === 'id') throw new ValidationError('column', "'id' is built in and cannot be dropped");
  return `ALTER TABLE ${quoteIdent(table, 'table', 'table')} DROP COLUMN ${name}`;
}

export function dropTable(name: string, ifExists = false): string {
  return `DROP TABLE ${ifExists ? 'IF EXISTS ' : ''}${quoteIdent(name, 'table', 'name')}`;
}

/** `TRUNCATE TABLE `t`` or, for a clustered table, `TRUNCATE TABLE c:t`. */
export function truncate(table: string, cluster?: string): string {
  return `TRUNCATE TABLE ${qualifiedTable(table, cluster)}`;
}

/** `ATTACH TABLE `src` TO TABLE `dst` [WITH TRUNCATE]` */
export function attachTable(source: string, target: string, withTruncate = false): string {
  const s = quoteIdent(source, 'table', 'source');
  const t = quoteIdent(target, 'table', 'target');
  return `ATTACH TABLE ${s} TO TABLE ${t}${withTruncate ? ' WITH TRUNCATE' : ''}`;
}

/** `IMPORT TABLE `t` FROM '/path'` — the path must be absolute (Manticore resolves it on the node). */
export function importTable(name: string, path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) {
    throw new ValidationError('path', `import path ${showValue(path)}: use an absolute path without NUL bytes`);
  }
  return `IMPORT TABLE ${quoteIdent(name, 'table', 'name')} FROM ${sqlLiteral(path, 'path')}`;
}

function tableList(tables: readonly string[], field: string): string {
  if (!Array.isArray(tables) || tables.length === 0) throw new ValidationError(field, 'name at least one table');
  return tables.map((t, i) => bareIdent(t, 'table', `${field}[${i}]`)).join(', ');
}

/** `FREEZE t1, t2` */
export function freeze(tables: readonly string[]): string {
  return `FREEZE ${tableList(tables, 'tables')}`;
}

/** `UNFREEZE t1, t2` */
export function unfreeze(tables: readonly string[]): string {
  return `UNFREEZE ${tableList(tables, 'tables')}`;
}

// ---------------------------------------------------------------------------------------------
// introspection

export function showTables(): string {
  return 'SHOW TABLES';
}

export function describe(table: string): string {
  return `DESCRIBE ${quoteIdent(table, 'table', 'table')}`;
}

export function showCreateTable(table: string): string {
  return `SHOW CREATE TABLE ${quoteIdent(table, 'table', 'table')}`;
}

/** `SHOW STATUS` or `SHOW STATUS LIKE 'pattern'` (`%` and `_` are LIKE wildcards). */
export function showStatus(like?: string): string {
  if (like === undefined) return 'SHOW STATUS';
  if (typeof like !== 'string' || !/^[A-Za-z0-9_%]+$/.test(like)) {
    throw new ValidationError('like', `pattern ${showValue(like)}: use letters, digits, '_' and '%'`);
  }
  return `SHOW STATUS LIKE ${sqlLiteral(like)}`;
}

/** `SHOW STATUS LIKE 'cluster_<name>_%'` — one cluster's variables. */
export function showClusterStatus(cluster: string): string {
  return showStatus(`cluster_${validateIdentifier(cluster, 'cluster', 'cluster')}_%`);
}

/** `SHOW STATUS LIKE 'cluster%'` — every cluster's variables (no rows when the node is in none). */
export function showAllClusterStatus(): string {
  return showStatus('cluster%');
}

/** `SHOW STATUS LIKE 'version'` — works with or without Buddy. */
export function showStatusVersion(): string {
  return showStatus('version');
}

/** `SHOW VERSION` — routed through Buddy; fails with a syntax error on a daemon without it. */
export function showVersion(): string {
  return 'SHOW VERSION';
}

export function showLocks(): string {
  return 'SHOW LOCKS';
}

export function selectCount(table: string): string {
  return `SELECT COUNT(*) FROM ${quoteIdent(table, 'table', 'table')}`;
}

// ---------------------------------------------------------------------------------------------
// writes

export interface WriteOptions {
  /** Cluster of a replicated table: writes then go to `cluster:table`, as Manticore requires. */
  cluster?: string;
}

function writeRows(
  verb: 'INSERT' | 'REPLACE',
  table: string,
  columns: readonly string[],
  rows: readonly (readonly SqlValue[])[],
  options: WriteOptions,
): string {
  if (!Array.isArray(columns) || columns.length === 0) throw new ValidationError('columns', 'name at least one column');
  if (!Array.isArray(rows) || rows.length === 0) throw new ValidationError('rows', 'give at least one row');
  const cols = columns.map((c, i) => quoteIdent(c, 'column', `columns[${i}]`));
  const values = rows.map((row, r) => {
    if (!Array.isArray(row) || row.length !== columns.length) {
      throw new ValidationError(`rows[${r}]`, `row has ${Array.isArray(row) ? row.length : 0} values for ${columns.length} columns`);
    }
    return `(${row.map((v, c) => sqlLiteral(v, `rows[${r}][${c}]`)).join(', ')})`;
  });
  return `${verb} INTO ${qualifiedTable(table, options.cluster)} (${cols.join(', ')}) VALUES ${values.join(', ')}`;
}

/** `INSERT INTO `t` (`id`, `title`) VALUES (1, 'a'), (2, 'b')`; with a cluster `INSERT INTO c:t ...`. */
export function insert(
  table: string,
  columns: readonly string[],
  rows: readonly (readonly SqlValue[])[],
  options: WriteOptions = {},
): string {
  return writeRows('INSERT', table, columns, rows, options);
}

/** Same as insert, with REPLACE. */
export function replace(
  table: string,
  columns: readonly string[],
  rows: readonly (readonly SqlValue[])[],
  options: WriteOptions = {},
): string {
  return writeRows('REPLACE', table, columns, rows, options);
}

/** A document id: uint64 as bigint, safe integer, or decimal string. */
export type DocId = bigint | number | string;

function docIdLiteral(id: DocId, field: string): string {
  if (typeof id === 'bigint' && id >= 0n && id < 2n ** 64n) return id.toString();
  if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) return String(id);
  if (typeof id === 'string' && /^\d{1,20}$/.test(id) && BigInt(id) < 2n ** 64n) return BigInt(id).toString();
  throw new ValidationError(field, `document id ${showValue(id)}: use an unsigned 64-bit integer`);
}

/** `DELETE FROM `t` WHERE id IN (1, 2)`; with a cluster `DELETE FROM c:t WHERE id IN (...)`. */
export function deleteByIds(table: string, ids: readonly DocId[], options: WriteOptions = {}): string {
  if (!Array.isArray(ids) || ids.length === 0) throw new ValidationError('ids', 'give at least one document id');
  const list = ids.map((id, i) => docIdLiteral(id, `ids[${i}]`)).join(', ');
  return `DELETE FROM ${qualifiedTable(table, options.cluster)} WHERE id IN (${list})`;
}

// ---------------------------------------------------------------------------------------------
// replication clusters

/** Galera provider options: a `k=v;k=v` string or an object (e.g. {'gmcast.listen_addr': 'tcp://127.0.0.1'}). */
export type ClusterOptions = string | Readonly<Record<string, string | number>>;

function clusterOptionsText(options: ClusterOptions, field: string): string {
  if (typeof options === 'string') {
    if (options.length === 0) throw new ValidationError(field, 'options are empty: omit them instead');
    return options;
  }
  const entries = Object.entries(options);
  if (entries.length === 0) throw new ValidationError(field, 'options are empty: omit them instead');
  return entries
    .map(([k, v]) => {
      if (!/^[A-Za-z0-9_.]+$/.test(k)) {
        throw new ValidationError(`${field}.${k}`, `option name ${showValue(k)}: use letters, digits, '_' and '.'`);
      }
      const value = String(v);
      if (/[;\0]/.test(value)) throw new ValidationError(`${field}.${k}`, `option value ${showValue(value)} may not contain ';'`);
      return `${k}=${value}`;
    })
    .join(';');
}

function nodeList(nodes: readonly string[], separator: string, field: string): string {
  if (!Array.isArray(nodes) || nodes.length === 0) throw new ValidationError(field, 'give at least one node address host:port');
  return nodes.map((n, i) => validateNodeAddress(n, `${field}[${i}]`)).join(separator);
}

export interface CreateClusterOptions {
  /** Cluster directory, relative to data_dir. */
  path?: string;
  /** API addresses of the members (the rejoin list, `nodes_set`). */
  nodes?: readonly string[];
  options?: ClusterOptions;
}

function clusterItems(opts: { path?: string; nodes?: string; options?: ClusterOptions }): string[] {
  const items: string[] = [];
  if (opts.path !== undefined) {
    if (typeof opts.path !== 'string' || opts.path.length === 0 || opts.path.includes('\0')) {
      throw new ValidationError('path', `cluster path ${showValue(opts.path)}: use a non-empty directory name`);
    }
    items.push(`${sqlLiteral(opts.path, 'path')} AS path`);
  }
  if (opts.nodes !== undefined) items.push(`${sqlLiteral(opts.nodes, 'nodes')} AS nodes`);
  if (opts.options !== undefined) items.push(`${sqlLiteral(clusterOptionsText(opts.options, 'options'), 'options')} AS options`);
  return items;
}

/** `CREATE CLUSTER `c` '/p' AS path, 'h1:9312,h2:9312' AS nodes, 'k=v' AS options` */
export function createCluster(name: string, opts: CreateClusterOptions = {}): string {
  const items = clusterItems({
    path: opts.path,
    nodes: opts.nodes === undefined ? undefined : nodeList(opts.nodes, ',', 'nodes'),
    options: opts.options,
  });
  const head = `CREATE CLUSTER ${quoteIdent(name, 'cluster', 'name')}`;
  return items.length === 0 ? head : `${head} ${items.join(', ')}`;
}

/** Where to join: any member's API address, or a list of members (this form does not update nodes_set). */
export type JoinTarget = { at: string } | { nodes: readonly string[] };

export interface JoinClusterOptions {
  path?: string;
  options?: ClusterOptions;
}

/**
 * `JOIN CLUSTER `c` AT '127.0.0.1:9312' 'gmcast.listen_addr=tcp://127.0.0.1' AS options` or
 * `JOIN CLUSTER `c` 'h1:9312;h2:9312' AS nodes`.
 */
export function joinCluster(name: string, target: JoinTarget, opts: JoinClusterOptions = {}): string {
  const head = `JOIN CLUSTER ${quoteIdent(name, 'cluster', 'name')}`;
  if (typeof target === 'object' && target !== null && 'at' in target) {
    const at = sqlLiteral(validateNodeAddress(target.at, 'at'));
    const items = clusterItems({ path: opts.path, options: opts.options });
    return [`${head} AT ${at}`, items.join(', ')].filter((s) => s.length > 0).join(' ');
  }
  if (typeof target === 'object' && target !== null && 'nodes' in target) {
    const items = clusterItems({ path: opts.path, nodes: nodeList(target.nodes, ';', 'nodes'), options: opts.options });
    return `${head} ${items.join(', ')}`;
  }
  throw new ValidationError('target', "give {at: 'host:port'} or {nodes: ['host:port', ...]}");
}

/** `DELETE CLUSTER `c`` — removes the cluster everywhere; its tables stay as local tables. */
export function deleteCluster(name: string): string {
  return `DELETE CLUSTER ${quoteIdent(name, 'cluster', 'name')}`;
}

/** `ALTER CLUSTER `c` ADD t1, t2` */
export function alterClusterAdd(name: string, tables: readonly string[]): string {
  return `ALTER CLUSTER ${quoteIdent(name, 'cluster', 'name')} ADD ${tableList(tables, 'tables')}`;
}

/** `ALTER CLUSTER `c` DROP t1, t2` */
export function alterClusterDrop(name: string, tables: readonly string[]): string {
  return `ALTER CLUSTER ${quoteIdent(name, 'cluster', 'name')} DROP ${tableList(tables, 'tables')}`;
}

/** `ALTER CLUSTER `c` UPDATE nodes` — copies nodes_view into nodes_set. */
export function alterClusterUpdateNodes(name: string): string {
  return `ALTER CLUSTER ${quoteIdent(name, 'cluster', 'name')} UPDATE nodes`;
}

/** `SET CLUSTER `c` GLOBAL 'pc.bootstrap' = 1` — forces a primary component on this side only. */
export function setClusterBootstrap(name: string): string {
  return `SET CLUSTER ${quoteIdent(name, 'cluster', 'name')} GLOBAL 'pc.bootstrap' = 1`;
}
