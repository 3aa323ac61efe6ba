/**
 * Typed parsers of Manticore's result sets. Input rows are plain objects keyed by column name (what
 * ManticoreClient.query returns). Parsers are lenient: unknown extra rows and columns are ignored,
 * column names are matched case-insensitively, and a missing variable yields `undefined`, not an error.
 */

/** One result row: column name → value (strings for text and 64-bit integers, numbers for 32-bit ints and floats). */
export type Row = Readonly<Record<string, unknown>>;

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

/** Value of the first column whose name matches one of `names` (case-insensitive). */
function col(row: Row, ...names: string[]): unknown {
  for (const name of names) {
    if (name in row) return row[name];
  }
  const lower = names.map((n) => n.toLowerCase());
  for (const [k, v] of Object.entries(row)) {
    if (lower.includes(k.toLowerCase())) return v;
  }
  return undefined;
}

function firstValues(row: Row): unknown[] {
  return Object.values(row);
}

function int(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = value.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

function list(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && s !== '-');
}

/**
 * cluster_<name>_indexes names every table in the cluster (hundreds of names): the controller reads it
 * from every node every pass, and it rarely changes, so each distinct text is split once. The arrays
 * are frozen and shared; a few hundred distinct texts are kept, then the memory starts over.
 */
const indexLists = new Map<string, readonly string[]>();
const MAX_INDEX_LISTS = 256;

function indexList(value: string | undefined): readonly string[] {
  if (value === undefined) return [];
  let parsed = indexLists.get(value);
  if (parsed === undefined) {
    if (indexLists.size >= MAX_INDEX_LISTS) indexLists.clear();
    parsed = Object.freeze(list(value));
    indexLists.set(value, parsed);
  }
  return parsed;
}

/** '-' (and the empty string) mean "nothing" in Manticore's SST variables. */
function dash(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const t = value.trim();
  return t === '' || t === '-' ? undefined : t;
}

// ---------------------------------------------------------------------------------------------
// SHOW STATUS

/** SHOW STATUS rows as [Counter, Value] pairs, in order (the same counter may repeat: `cluster_name`). */
export function statusPairs(rows: readonly Row[]): [string, string][] {
  const out: [string, string][] = [];
  for (const row of rows) {
    let counter = col(row, 'Counter', 'Variable_name');
    let value = col(row, 'Value');
    if (counter === undefined) {
      const vals = firstValues(row);
      counter = vals[0];
      value = vals[1];
    }
    if (counter === undefined || counter === null) continue;
    out.push([text(counter), text(value)]);
  }
  return out;
}

/** SHOW STATUS → {counter: value}. A repeated counter keeps its first value. */
export function parseShowStatus(rows: readonly Row[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of statusPairs(rows)) {
    if (!(k in out)) out[k] = v;
  }
  return out;
}

export interface VersionInfo {
  /** As reported, e.g. "15.1.0 60a44d1f0@25120503". */
  full: string;
  major: number;
  minor: number;
  patch: number;
}

/** Parses "15.1.0 60a44d1f0@25120503" (also "Manticore 15.1.0 ..."); undefined when there is no x.y.z. */
export function parseVersion(value: string | undefined): VersionInfo | undefined {
  if (value === undefined) return undefined;
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(value);
  if (!m) return undefined;
  return { full: value.trim(), major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export interface NodeStatus {
  uptimeSeconds?: number;
  version?: VersionInfo;
  connections?: number;
  queries?: number;
  workersTotal?: number;
  workersActive?: number;
  /** Every counter, as reported. */
  raw: Record<string, string>;
}

/** SHOW STATUS → the node-level counters the orchestrator uses. */
export function parseNodeStatus(rows: readonly Row[]): NodeStatus {
  const raw = parseShowStatus(rows);
  const status: NodeStatus = { raw };
  const set = <K extends keyof NodeStatus>(key: K, value: NodeStatus[K] | undefined): void => {
    if (value !== undefined) status[key] = value;
  };
  set('uptimeSeconds', int(raw['uptime']));
  set('version', parseVersion(raw['version']));
  set('connections', int(raw['connections']));
  set('queries', int(raw['queries']));
  set('workersTotal', int(raw['workers_total']));
  set('workersActive', int(raw['workers_active']));
  return status;
}

// ---------------------------------------------------------------------------------------------
// cluster_<name>_* variables

export type ClusterComponentStatus = 'primary' | 'non-primary' | 'disconnected' | 'recovery-required' | 'unknown';
export type ClusterNodeState = 'synced' | 'donor' | 'joining' | 'joined' | 'closed' | 'destroyed' | 'unknown';

export interface ClusterViewMember {
  /** API address (host:port), as in nodes_set and JOIN ... AT. */
  api: string;
  /** Galera replication address, when listed. */
  replication?: string;
}

export interface SstProgress {
  /** True while a state transfer runs (any SST variable other than '-'). */
  active: boolean;
  /** Overall progress 0-100. */
  total?: number;
  stage?: string;
  stageTotal?: number;
  /** The table being transferred, e.g. "3 (products)". */
  table?: string;
  tables?: number;
}

export interface ClusterStatus {
  name: string;
  status: ClusterComponentStatus;
  /** cluster_<n>_status as reported. */
  rawStatus?: string;
  nodeState: ClusterNodeState;
  rawNodeState?: string;
  stateUuid?: string;
  localStateUuid?: string;
  /** state_seqno, or last_committed when state_seqno is absent. */
  seqno?: number;
  lastCommitted?: number;
  confId?: number;
  size?: number;
  localIndex?: number;
  /** Persisted rejoin list (API addresses). */
  nodesSet: string[];
  /** Live membership: API addresses. */
  nodesView: string[];
  nodesViewMembers: ClusterViewMember[];
  /** shared between observations of the same list (indexList): never mutate it */
  indexes: readonly string[];
  indexesCount?: number;
  sst: SstProgress;
  lastError?: string;
  localStateComment?: string;
  /** Every variable of this cluster with the `cluster_<name>_` prefix removed. */
  vars: Record<string, string>;
}

const STATUS_VALUES: Record<string, ClusterComponentStatus> = {
  primary: 'primary',
  'non-primary': 'non-primary',
  non_primary: 'non-primary',
  nonprimary: 'non-primary',
  disconnected: 'disconnected',
  'recovery-required': 'recovery-required',
  recovery_required: 'recovery-required',
};

const NODE_STATES: ReadonlySet<string> = new Set(['synced', 'donor', 'joining', 'joined', 'closed', 'destroyed']);

/** Parses nodes_view: `<api>,<repl>:replication,<api>,<repl>:replication,...` (the repl part may be absent). */
export function parseNodesView(value: string | undefined): ClusterViewMember[] {
  const members: ClusterViewMember[] = [];
  for (const token of list(value)) {
    const m = /^(.*):replication$/i.exec(token);
    if (m) {
      const last = members[members.length - 1];
      if (last && last.replication === undefined) last.replication = m[1] ?? '';
      continue;
    }
    members.push({ api: token });
  }
  return members;
}

function buildCluster(name: string, vars: Record<string, string>): ClusterStatus {
  const rawStatus = vars['status'];
  const rawNodeState = vars['node_state'];
  const nodeStateLower = rawNodeState?.trim().toLowerCase();
  const lastCommitted = int(vars['last_committed']);
  const members = parseNodesView(vars['nodes_view']);
  const sstValues = ['sst_total', 'sst_stage', 'sst_stage_total', 'sst_table', 'sst_tables'].map((k) => dash(vars[k]));
  const [sstTotal, sstStage, sstStageTotal, sstTable, sstTables] = sstValues;
  const sst: SstProgress = { active: sstValues.some((v) => v !== undefined && v !== '0') };
  if (int(sstTotal) !== undefined) sst.total = int(sstTotal);
  if (sstStage !== undefined) sst.stage = sstStage;
  if (int(sstStageTotal) !== undefined) sst.stageTotal = int(sstStageTotal);
  if (sstTable !== undefined) sst.table = sstTable;
  if (int(sstTables) !== undefined) sst.tables = int(sstTables);

  const out: ClusterStatus = {
    name,
    status: rawStatus === undefined ? 'unknown' : (STATUS_VALUES[rawStatus.trim().toLowerCase()] ?? 'unknown'),
    nodeState: nodeStateLower !== undefined && NODE_STATES.has(nodeStateLower) ? (nodeStateLower as ClusterNodeState) : 'unknown',
    nodesSet: list(vars['nodes_set']),
    nodesView: members.map((m) => m.api),
    nodesViewMembers: members,
    indexes: indexList(vars['indexes']),
    sst,
    vars,
  };
  const opt = <K extends keyof ClusterStatus>(key: K, value: ClusterStatus[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  opt('rawStatus', rawStatus);
  opt('rawNodeState', rawNodeState);
  opt('stateUuid', dash(vars['state_uuid']));
  opt('localStateUuid', dash(vars['local_state_uuid']));
  opt('seqno', int(vars['state_seqno']) ?? lastCommitted);
  opt('lastCommitted', lastCommitted);
  opt('confId', int(vars['conf_id']));
  opt('size', int(vars['size']));
  opt('localIndex', int(vars['local_index']));
  opt('indexesCount', int(vars['indexes_count']));
  opt('lastError', dash(vars['last_error']));
  opt('localStateComment', dash(vars['local_state_comment']));
  return out;
}

/**
 * SHOW STATUS (whole, or LIKE 'cluster%') → one ClusterStatus per cluster this node is in; [] when none.
 * Cluster names come from the `cluster_name` rows; if those are missing they are inferred from
 * `cluster_<name>_node_state` / `cluster_<name>_status`. A variable goes to the longest matching name,
 * so clusters `c` and `c_x` do not mix.
 */
export function parseClusterStatuses(rows: readonly Row[]): ClusterStatus[] {
  const pairs = statusPairs(rows);
  const names: string[] = [];
  for (const [k, v] of pairs) {
    if (k === 'cluster_name' && v.trim() !== '' && !names.includes(v.trim())) names.push(v.trim());
  }
  if (names.length === 0) {
    for (const [k] of pairs) {
      const m = /^cluster_(.+)_(?:node_state|status)$/.exec(k);
      if (m?.[1] && !names.includes(m[1])) names.push(m[1]);
    }
  }
  if (names.length === 0) return [];
  const byLength = [...names].sort((a, b) => b.length - a.length);
  const vars = new Map<string, Record<string, string>>(names.map((n) => [n, {}]));
  for (const [k, v] of pairs) {
    const owner = byLength.find((n) => k.startsWith(`cluster_${n}_`));
    if (owner === undefined) continue;
    const bag = vars.get(owner);
    const key = k.slice(`cluster_${owner}_`.length);
    if (bag && !(key in bag)) bag[key] = v;
  }
  return names.map((n) => buildCluster(n, vars.get(n) ?? {}));
}

/** The one cluster named `name`, if this node reports it. */
export function parseClusterStatus(rows: readonly Row[], name: string): ClusterStatus | undefined {
  return parseClusterStatuses(rows).find((c) => c.name === name);
}

// ---------------------------------------------------------------------------------------------
// tables

export interface TableInfo {
  name: string;
  /** rt, distributed, percolate, local (plain), template, ... as reported */
  type: string;
}

/** SHOW TABLES (columns Table|Index, Type [, Engine...]) → [{name, type}] */
export function parseShowTables(rows: readonly Row[]): TableInfo[] {
  const out: TableInfo[] = [];
  for (const row of rows) {
    let name = col(row, 'Table', 'Index', 'Name');
    let type = col(row, 'Type');
    if (name === undefined) {
      const vals = firstValues(row);
      name = vals[0];
      type = vals[1];
    }
    const n = text(name);
    if (n === '') continue;
    out.push({ name: n, type: text(type).toLowerCase() });
  }
  return out;
}

export interface ColumnInfo {
  name: string;
  type: string;
  /** e.g. ['indexed', 'stored'], [] when none */
  properties: string[];
}

/** DESCRIBE (Field, Type, Properties) → columns. */
export function parseDescribe(rows: readonly Row[]): ColumnInfo[] {
  const out: ColumnInfo[] = [];
  for (const row of rows) {
    let name = col(row, 'Field');
    let type = col(row, 'Type');
    let props = col(row, 'Properties');
    if (name === undefined) {
      const vals = firstValues(row);
      [name, type, props] = vals;
    }
    const n = text(name);
    if (n === '') continue;
    out.push({
      name: n,
      type: text(type).toLowerCase(),
      properties: text(props)
        .split(/[\s,]+/)
        .filter((p) => p.length > 0),
    });
  }
  return out;
}

/** SHOW CREATE TABLE (Table, Create Table) → the statement, or undefined when there is no row. */
export function parseShowCreateTable(rows: readonly Row[]): string | undefined {
  const row = rows[0];
  if (row === undefined) return undefined;
  const stmt = col(row, 'Create Table', 'Create Index');
  if (stmt !== undefined) return text(stmt);
  const vals = firstValues(row);
  return vals.length >= 2 ? text(vals[1]) : undefined;
}

export interface ParsedAgent {
  mirrors: string[];
  table: string;
}

export interface DistributedDefinition {
  locals: string[];
  agents: ParsedAgent[];
  haStrategy?: string;
  agentRetryCount?: number;
  /** Every option as found (lower-case keys; repeated keys keep their last value). */
  options: Record<string, string>;
}

/** Splits `key='value'` / `key=value` pairs after `CREATE TABLE name`; understands `\'` and `\\` in values. */
export function parseTableOptions(statement: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s'"]+))/gs;
  // skip the column list of an RT table, if any, so `x='y'` inside column options is not mistaken
  let body = statement;
  const head = /^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:`[^`]*`|\S+)\s*/i.exec(statement);
  if (head) body = statement.slice(head[0].length);
  if (body.startsWith('(')) {
    let depth = 0;
    let i = 0;
    let quote: string | undefined;
    for (; i < body.length; i++) {
      const c = body[i];
      if (quote !== undefined) {
        if (c === '\\') i++;
        else if (c === quote) quote = undefined;
        continue;
      }
      if (c === "'" || c === '"') quote = c;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) break;
    }
    body = body.slice(i + 1);
  }
  for (const m of body.matchAll(re)) {
    const raw = m[2] ?? m[3] ?? m[4] ?? '';
    const value = m[4] !== undefined ? raw : raw.replace(/\\(.)/gs, '$1');
    out.push([(m[1] ?? '').toLowerCase(), value]);
  }
  return out;
}

/**
 * One agent value: `h1:9312|h2:9312:t` or `h1:9312:t|h2:9312:t` (mirrors may repeat the table).
 * Returns undefined when no part names a table.
 */
export function parseAgent(value: string): ParsedAgent | undefined {
  const mirrors: string[] = [];
  let table: string | undefined;
  for (const part of value.split('|').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^(\[[^\]]*\]|[^:]+):(\d+)(?::(.+))?$/.exec(part);
    if (!m) continue;
    mirrors.push(`${m[1]}:${m[2]}`);
    if (m[3] !== undefined) table = m[3].trim();
  }
  if (table === undefined || mirrors.length === 0) return undefined;
  return { mirrors, table };
}

/** A distributed table's SHOW CREATE TABLE statement → its locals, agents and balancing settings. */
export function parseDistributedDefinition(statement: string): DistributedDefinition {
  const def: DistributedDefinition = { locals: [], agents: [], options: {} };
  for (const [key, value] of parseTableOptions(statement)) {
    def.options[key] = value;
    if (key === 'local') {
      def.locals.push(...value.split(',').map((s) => s.trim()).filter((s) => s.length > 0));
    } else if (key === 'agent' || key === 'agent_persistent' || key === 'agent_blackhole') {
      const agent = parseAgent(value);
      if (agent && key === 'agent') def.agents.push(agent);
    } else if (key === 'ha_strategy') {
      def.haStrategy = value;
    } else if (key === 'agent_retry_count') {
      const n = int(value);
      if (n !== undefined) def.agentRetryCount = n;
    }
  }
  return def;
}

// ---------------------------------------------------------------------------------------------
// locks, freeze, counts, version

export interface LockInfo {
  /** table type (rt, ...) */
  type: string;
  name: string;
  /** e.g. 'freeze' */
  lockType: string;
  additionalInfo: string;
  /** Parsed from "Count: N" when present. */
  count?: number;
}

/** SHOW LOCKS (Type, Name, Lock Type, Additional Info) → locks. */
export function parseShowLocks(rows: readonly Row[]): LockInfo[] {
  const out: LockInfo[] = [];
  for (const row of rows) {
    const name = text(col(row, 'Name', 'Table', 'Index'));
    if (name === '') continue;
    const info = text(col(row, 'Additional Info', 'Info'));
    const lock: LockInfo = {
      type: text(col(row, 'Type')),
      name,
      lockType: text(col(row, 'Lock Type', 'Lock')).toLowerCase(),
      additionalInfo: info,
    };
    const m = /count\s*[:=]\s*(\d+)/i.exec(info);
    if (m) lock.count = Number(m[1]);
    out.push(lock);
  }
  return out;
}

/** SHOW LOCKS → the tables under FREEZE, each named once (however many freezes hold it). */
export function parseFrozenTables(rows: readonly Row[]): string[] {
  return [...new Set(parseShowLocks(rows).filter((l) => l.lockType.includes('freeze')).map((l) => l.name))];
}

/** FREEZE (file, normalized) → files to copy; `normalized` is the absolute path. */
export function parseFreezeFiles(rows: readonly Row[]): { file: string; normalized: string }[] {
  return rows
    .map((row) => ({ file: text(col(row, 'file')), normalized: text(col(row, 'normalized')) }))
    .filter((f) => f.file !== '' || f.normalized !== '');
}

/** SELECT COUNT(*) → the count (first column of the first row); undefined when absent. */
export function parseCount(rows: readonly Row[]): number | undefined {
  const row = rows[0];
  if (row === undefined) return undefined;
  const v = col(row, 'count(*)', 'COUNT(*)') ?? firstValues(row)[0];
  const n = typeof v === 'number' ? v : int(text(v));
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

/** SHOW VERSION (Component, Version) → {Daemon: '15.1.0 ...', Buddy: '...'}. */
export function parseShowVersion(rows: readonly Row[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const row of rows) {
    const comp = text(col(row, 'Component'));
    if (comp !== '') out[comp] = text(col(row, 'Version'));
  }
  return out;
}
