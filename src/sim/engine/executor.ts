/**
 * Executes parsed SphinxQL statements against the engine with Manticore's result shapes and
 * error texts. Cluster statements and writes to clustered tables go through the ClusterService.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ClusterService, ClusterStatement, JsonDoc, ReplicatedWrite, SqlResult } from '../contract.js';
import { SqlError } from '../contract.js';
import type { ColumnDef, Expr, Literal, Statement, TableOption } from '../sql/ast.js';
import type { PeerTransport } from '../net/peer.js';
import { Engine } from './engine.js';
import type { DistDefinition } from './engine.js';
import { LocalTable, compareIds, readJsonLines } from './local-table.js';
import { coerceValue, createType, defaultValue, describeType, isTextField, normalizeColumn, parseId, valueKind } from './schema.js';
import { Evaluator, exprName, filterDocs, findMatch, keywordStats, runSelect } from './query.js';
import type { SelectStatement } from './query.js';
import { AgentPool, parseAgent } from './distributed.js';
import type { Mirror, SearchReply, SearchRequest } from './distributed.js';

/** The version string a real 15.1.0 daemon reports (handshake, SHOW STATUS, SHOW VERSION). */
export const DAEMON_VERSION = '15.1.0 60a44d1f0@25120503';
export const SIM_MARKER = 'manticore-orchestrator simulator';

export interface Session {
  id: number;
  /** warnings of the last statement (SHOW WARNINGS) */
  warnings: string[];
  /** SHOW META of the last SELECT */
  meta: [string, string][];
}

export function newSession(id: number): Session {
  return { id, warnings: [], meta: [] };
}

export interface NodeStats {
  startedAt: number;
  connections: number;
  queries: number;
  commands: Record<string, number>;
}

export function newStats(): NodeStats {
  return { startedAt: Date.now(), connections: 0, queries: 0, commands: {} };
}

export interface ExecutorOptions {
  engine: Engine;
  cluster?: ClusterService;
  /** the node's peer transport, for distributed tables' agents */
  transport?: PeerTransport;
  /** Buddy available (buddy_path not set to empty) */
  buddy?: boolean;
  serverId?: number;
  stats?: NodeStats;
  agentTimeoutMs?: number;
  /** the node's injected faults (only `diskFull` is read here) */
  faults?: { readonly diskFull: boolean };
}

const STATUS_COMMANDS = [
  'search',
  'excerpt',
  'update',
  'keywords',
  'persist',
  'status',
  'flushattrs',
  'sphinxql',
  'ping',
  'delete',
  'set',
  'insert',
  'replace',
  'commit',
  'suggest',
  'json',
  'callpq',
  'cluster',
  'getfield',
];

function likeToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '%') re += '.*';
    else if (ch === '_') re += '.';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'is');
}

function rows(columns: [string, 'string' | 'long' | 'longlong' | 'float'][], data: (string | number | null)[][]): SqlResult {
  return { kind: 'rows', columns: columns.map(([name, type]) => ({ name, type })), rows: data };
}

function ok(affectedRows = 0, warnings?: string[]): SqlResult {
  return warnings && warnings.length ? { kind: 'ok', affectedRows, warnings } : { kind: 'ok', affectedRows };
}

function optionValues(options: TableOption[], key: string): string[] {
  return options.filter((o) => o.key === key).map((o) => o.value);
}

function lastOption(options: TableOption[], key: string): string | undefined {
  const v = optionValues(options, key);
  return v[v.length - 1];
}

/** `SELECT COUNT(*) [AS x] FROM t [WHERE ...]`: one count(*), no grouping, ordering or full-text match. */
function isPlainCount(stmt: SelectStatement): boolean {
  const only = stmt.items.length === 1 ? stmt.items[0] : undefined;
  return (
    only !== undefined &&
    only.expr.type === 'func' &&
    only.expr.name.toLowerCase() === 'count' &&
    only.expr.star &&
    (stmt.groupBy?.length ?? 0) === 0 &&
    stmt.orderBy.length === 0 &&
    (stmt.offset ?? 0) === 0 &&
    findMatch(stmt.where) === undefined
  );
}

/** Auto ids like Manticore's: server id in the top byte, start time, then a counter. */
class IdGenerator {
  private counter: bigint;
  constructor(serverId: number) {
    const base = (BigInt(serverId & 0x7f) << 56n) | ((BigInt(Math.floor(Date.now() / 1000)) & 0xffffffffn) << 24n);
    this.counter = base;
  }
  next(): string {
    this.counter += 1n;
    return this.counter.toString();
  }
}

export class Executor {
  readonly engine: Engine;
  readonly agents: AgentPool;
  private readonly ids: IdGenerator;
  readonly stats: NodeStats;

  constructor(private readonly opts: ExecutorOptions) {
    this.engine = opts.engine;
    this.agents = new AgentPool(opts.transport, opts.agentTimeoutMs ?? 3000);
    this.ids = new IdGenerator(opts.serverId ?? 0);
    this.stats = opts.stats ?? newStats();
  }

  get cluster(): ClusterService | undefined {
    return this.opts.cluster;
  }

  set cluster(c: ClusterService | undefined) {
    this.opts.cluster = c;
  }

  /** Registers the `search` handler distributed tables on other nodes call. */
  registerHandlers(transport: PeerTransport): void {
    transport.handle('search', (payload) => this.handleSearch(payload as SearchRequest));
    transport.handle('ping', () => ({ ok: true }));
  }

  /** Every mirror of every distributed table's agents (what ha_ping_interval pings). */
  agentMirrors(): Mirror[] {
    const out: Mirror[] = [];
    for (const d of this.engine.dists.values()) for (const a of d.agents) out.push(...parseAgent(a));
    return out;
  }

  private count(cmd: string): void {
    this.stats.commands[cmd] = (this.stats.commands[cmd] ?? 0) + 1;
  }

  async execute(stmt: Statement, session: Session): Promise<SqlResult> {
    this.count('sphinxql');
    if (stmt.kind !== 'show_warnings' && stmt.kind !== 'show_meta') session.warnings = [];
    switch (stmt.kind) {
      case 'create_table':
        return this.createTable(stmt);
      case 'drop_table':
        return this.dropTable(stmt);
      case 'alter_table_options':
        return this.alterOptions(stmt);
      case 'alter_table_rename':
        return this.alterRename(stmt);
      case 'alter_table_add_column':
        return this.alterAddColumn(stmt);
      case 'alter_table_drop_column':
        return this.alterDropColumn(stmt);
      case 'truncate_table':
        return this.truncate(stmt);
      case 'show_tables':
        return this.showTables(stmt.like);
      case 'describe':
        return this.describe(stmt.name, stmt.like);
      case 'show_create_table':
        return this.showCreate(stmt.name);
      case 'show_status':
        this.count('status');
        return this.showStatus(stmt.like);
      case 'show_version':
        return this.showVersion();
      case 'show_variables':
        return this.showVariables(stmt.like);
      case 'show_warnings':
        return rows(
          [
            ['Level', 'string'],
            ['Code', 'long'],
            ['Message', 'string'],
          ],
          session.warnings.map((w) => ['warning', 1000, w]),
        );
      case 'show_meta':
        return rows(
          [
            ['Variable_name', 'string'],
            ['Value', 'string'],
          ],
          session.meta.map(([k, v]) => [k, v]),
        );
      case 'show_locks':
        return rows(
          [
            ['Type', 'string'],
            ['Name', 'string'],
            ['Lock Type', 'string'],
            ['Additional Info', 'string'],
          ],
          [...this.engine.locals.values()]
            .filter((t) => t.frozen)
            .sort((a, b) => (a.name < b.name ? -1 : 1))
            .map((t) => [t.kind, t.name, 'freeze', `Count: ${t.freezes}`]),
        );
      case 'show_agent_status':
        return rows(
          [
            ['Key', 'string'],
            ['Value', 'string'],
          ],
          this.agents.statusRows(),
        );
      case 'insert':
        this.count(stmt.replace ? 'replace' : 'insert');
        return this.insert(stmt);
      case 'delete':
        this.count('delete');
        return this.delete(stmt);
      case 'update':
        this.count('update');
        return this.update(stmt);
      case 'select':
        this.count('search');
        this.stats.queries++;
        return this.select(stmt, session);
      case 'set':
        this.count('set');
        return ok();
      case 'import_table':
        return this.importTable(stmt.name, stmt.path);
      case 'attach_table':
        return this.attach(stmt.source, stmt.target, stmt.truncate);
      case 'freeze':
        return this.freeze(stmt.tables);
      case 'unfreeze':
        for (const n of stmt.tables) this.requireLocal(n).unfreeze();
        return ok();
      case 'flush_ramchunk':
      case 'flush_rtindex': {
        const t = this.requireLocal(stmt.name);
        t.compact();
        return ok();
      }
      case 'create_cluster':
      case 'join_cluster':
      case 'delete_cluster':
      case 'alter_cluster_add':
      case 'alter_cluster_drop':
      case 'alter_cluster_update_nodes':
      case 'set_cluster':
        this.count('cluster');
        return this.clusterStatement(stmt);
    }
  }

  private async clusterStatement(stmt: ClusterStatement): Promise<SqlResult> {
    const c = this.opts.cluster;
    if (!c) throw new SqlError('replication is disabled');
    return c.execute(stmt);
  }

  // ---------------------------------------------------------------- DDL

  private requireRtMode(what: string): void {
    if (!this.engine.rtMode) throw new SqlError(`${what} requires data_dir to be set in the config file`);
  }

  private requireLocal(name: string): LocalTable {
    const t = this.engine.local(name);
    if (!t) throw new SqlError(`unknown table '${name}'`);
    return t;
  }

  private createTable(stmt: Extract<Statement, { kind: 'create_table' }>): SqlResult {
    this.requireRtMode('CREATE TABLE');
    const name = Engine.normalizeName(stmt.name);
    if (this.engine.has(name)) {
      if (stmt.ifNotExists) return ok();
      throw new SqlError(`table '${name}' already exists`);
    }
    const type = (lastOption(stmt.options, 'type') ?? 'rt').toLowerCase();
    if (type === 'distributed') {
      const locals = optionValues(stmt.options, 'local').flatMap((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
      const agents = [...optionValues(stmt.options, 'agent'), ...optionValues(stmt.options, 'agent_persistent')];
      for (const a of agents) {
        if (parseAgent(a).length === 0) throw new SqlError(`table '${name}': invalid agent line '${a}'`);
      }
      const ha = (lastOption(stmt.options, 'ha_strategy') ?? 'random').toLowerCase();
      if (!['random', 'roundrobin', 'nodeads', 'noerrors'].includes(ha)) throw new SqlError(`table '${name}': unknown ha_strategy '${ha}'`);
      const retry = Number(lastOption(stmt.options, 'agent_retry_count') ?? '0');
      if (locals.length === 0 && agents.length === 0) throw new SqlError(`table '${name}': no valid local/remote tables in distributed table`);
      this.engine.createDistributed(name, { locals, agents, ha_strategy: ha, agent_retry_count: Number.isFinite(retry) ? retry : 0 });
      return ok();
    }
    if (type !== 'rt' && type !== 'pq' && type !== 'percolate') throw new SqlError(`table '${name}': unknown table type '${type}'`);
    const seen = new Set<string>(['id']);
    const columns: ColumnDef[] = [];
    for (const c of stmt.columns) {
      const col = normalizeColumn(c);
      if (col.name === 'id') continue;
      if (seen.has(col.name)) throw new SqlError(`table '${name}': duplicate attribute name '${col.name}'`);
      seen.add(col.name);
      valueKind(col.type);
      columns.push(col);
    }
    const settings: Record<string, string> = {};
    for (const o of stmt.options) if (o.key !== 'type') settings[o.key] = o.value;
    this.engine.createLocal(name, type === 'rt' ? 'rt' : 'percolate', { columns, settings });
    return ok();
  }

  private dropTable(stmt: Extract<Statement, { kind: 'drop_table' }>): SqlResult {
    this.requireRtMode('DROP TABLE');
    const name = Engine.normalizeName(stmt.name);
    if (!this.engine.has(name)) {
      if (stmt.ifExists) return ok();
      throw new SqlError(`DROP TABLE failed: unknown table '${name}'`);
    }
    if (this.opts.cluster?.clusterOfTable(name)) throw new SqlError(`DROP TABLE failed: unable to drop a cluster table '${name}'`);
    this.engine.drop(name);
    return ok();
  }

  private alterOptions(stmt: Extract<Statement, { kind: 'alter_table_options' }>): SqlResult {
    const name = Engine.normalizeName(stmt.name);
    const dist = this.engine.dist(name);
    if (dist) {
      if (!this.opts.buddy) throw new SqlError(`table '${name}' is not found, or not real-time`);
      const locals = optionValues(stmt.options, 'local').flatMap((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
      const agents = [...optionValues(stmt.options, 'agent'), ...optionValues(stmt.options, 'agent_persistent')];
      const next: DistDefinition = {
        locals: locals.length || agents.length ? locals : dist.locals,
        agents: locals.length || agents.length ? agents : dist.agents,
        ha_strategy: (lastOption(stmt.options, 'ha_strategy') ?? dist.ha_strategy).toLowerCase(),
        agent_retry_count: Number(lastOption(stmt.options, 'agent_retry_count') ?? dist.agent_retry_count),
      };
      this.engine.createDistributed(name, next);
      return ok();
    }
    const t = this.engine.local(name);
    if (!t || t.kind === 'plain') throw new SqlError(`table '${name}' is not found, or not real-time`);
    for (const o of stmt.options) t.settings[o.key] = o.value;
    t.persistAll();
    return ok();
  }

  private alterRename(stmt: Extract<Statement, { kind: 'alter_table_rename' }>): SqlResult {
    if (!this.opts.buddy) throw new SqlError(`P01: syntax error, unexpected identifier near 'RENAME ${stmt.newName}'`);
    const name = Engine.normalizeName(stmt.name);
    const t = this.engine.local(name);
    if (!t || t.kind === 'plain') throw new SqlError(`table '${name}' is not found, or not real-time`);
    if (this.engine.has(stmt.newName)) throw new SqlError(`table '${Engine.normalizeName(stmt.newName)}' already exists`);
    if (this.opts.cluster?.clusterOfTable(name)) throw new SqlError(`table '${name}' is a part of cluster '${this.opts.cluster.clusterOfTable(name) ?? ''}'`);
    this.engine.rename(name, stmt.newName);
    return ok();
  }

  /*
   * ALTER TABLE t ADD COLUMN / DROP COLUMN, as real Manticore 15.x does them. Sources (manticoresoftware/manticoresearch):
   * - manual/english/Updating_table_schema_and_settings.md: `ALTER TABLE table ADD COLUMN column_name
   *   [{INTEGER|INT|BIGINT|FLOAT|BOOL|MULTI|MULTI64|JSON|STRING|TEXT [INDEXED [ATTRIBUTE]]|TIMESTAMP|FLOAT_VECTOR ...}]
   *   [engine='columnar']`, `ALTER TABLE table DROP COLUMN column_name`; one column per statement, RT tables only;
   *   new scalar attributes read 0 in existing rows; full-text fields can be added/dropped in RT mode; "ALTER will not
   *   work for distributed tables"; "You can't delete the id column".
   * - src/ddl.y + src/ddl.l: the table name is `tablename` = a plain (or back-quoted) identifier — there is NO
   *   `cluster:table` form in any ALTER TABLE rule, so `ALTER TABLE c:t ADD COLUMN ...` is a syntax error (this
   *   simulator's parser refuses it the same way).
   * - src/sphinx_alter.cpp AddAttrToIndex: "'%s' attribute already in schema", "'%s' field already in schema",
   *   "cannot add attribute that shadows '%s' field".
   * - issue #2250 (6.3.1): for a table in a replication cluster `alter table t add column a int` answers
   *   "table t: is part of cluster c, ALTER is not supported for tables in cluster"; issue #3360 (2025, maintainer):
   *   a clustered table cannot be altered — ALTER CLUSTER c DROP t, ALTER the table, then ALTER CLUSTER c ADD t
   *   from the node where it was changed (which sends the table to the other members). The manual's replication
   *   pages list only INSERT, REPLACE, DELETE, TRUNCATE, UPDATE, COMMIT as replicated writes. So nothing is
   *   replicated here: a clustered table is refused.
   * Not verified against a real daemon (texts chosen here, not found in the sources): dropping an unknown column
   * ("attribute '%s' does not exist", the wording sphinx_alter.cpp uses for MODIFY) and dropping `id`.
   * Not simulated: MODIFY COLUMN, BIT(n) columns, a full-text field and a string attribute sharing one name
   * (refused with an explicit error), "tables without any attributes".
   */
  private alterTarget(name: string): LocalTable {
    const t = this.engine.local(name);
    if (!t || t.kind !== 'rt') throw new SqlError(`table '${name}' is not found, or not real-time`);
    const cluster = this.opts.cluster?.clusterOfTable(name);
    if (cluster !== undefined) throw new SqlError(`table ${name}: is part of cluster ${cluster}, ALTER is not supported for tables in cluster`);
    return t;
  }

  private alterAddColumn(stmt: Extract<Statement, { kind: 'alter_table_add_column' }>): SqlResult {
    this.requireRtMode('ALTER TABLE ... ADD COLUMN');
    const name = Engine.normalizeName(stmt.name);
    const t = this.alterTarget(name);
    const col = normalizeColumn(stmt.column);
    const kind = valueKind(col.type);
    // `text` alone was normalized to `indexed stored`; `text attribute` / `string` are attributes only
    const indexed = col.options.includes('indexed');
    const existing = col.name === 'id' ? { name: 'id', type: 'bigint', options: [] } : t.column(col.name);
    if (existing) {
      const existingIsField = isTextField(existing) || existing.options.includes('indexed');
      if (indexed && existingIsField) throw new SqlError(`'${col.name}' field already in schema`);
      if (!indexed && !existingIsField) throw new SqlError(`'${col.name}' attribute already in schema`);
      if (!indexed && existingIsField && kind !== 'string' && kind !== 'text') throw new SqlError(`cannot add attribute that shadows '${col.name}' field`);
      throw new SqlError(`'${col.name}': a full-text field and an attribute of the same name are not supported by the simulator`);
    }
    const fill = defaultValue(col);
    for (const [id, d] of t.docs) t.docs.set(id, { ...d, [col.name]: Array.isArray(fill) ? [] : fill });
    t.columns = [...t.columns, col];
    t.persistAll();
    return ok();
  }

  private alterDropColumn(stmt: Extract<Statement, { kind: 'alter_table_drop_column' }>): SqlResult {
    this.requireRtMode('ALTER TABLE ... DROP COLUMN');
    const name = Engine.normalizeName(stmt.name);
    const t = this.alterTarget(name);
    const colName = stmt.column.toLowerCase();
    if (colName === 'id') throw new SqlError(`unable to remove built-in attribute 'id'`);
    const col = t.column(colName);
    if (!col) throw new SqlError(`attribute '${colName}' does not exist`);
    t.columns = t.columns.filter((c) => c.name !== colName);
    for (const [id, d] of t.docs) {
      if (!(colName in d)) continue;
      const rest: JsonDoc = { ...d };
      delete (rest as Record<string, unknown>)[colName];
      t.docs.set(id, rest);
    }
    t.persistAll();
    return ok();
  }

  private async truncate(stmt: Extract<Statement, { kind: 'truncate_table' }>): Promise<SqlResult> {
    const name = Engine.normalizeName(stmt.name);
    const t = this.engine.local(name);
    if (!t || t.kind === 'plain') throw new SqlError(`table '${name}' is not found, or not real-time`);
    await this.write(stmt.cluster, name, { action: 'truncate', table: name });
    return ok();
  }

  // ---------------------------------------------------------------- SHOW

  private showTables(like: string | undefined): SqlResult {
    const re = like !== undefined ? likeToRegExp(like) : undefined;
    const data: (string | number | null)[][] = [];
    for (const name of this.engine.tableNames()) {
      if (re && !re.test(name)) continue;
      const kind = this.engine.tableKind(name);
      data.push([name, kind === 'plain' ? 'local' : (kind ?? '')]);
    }
    return rows(
      [
        ['Table', 'string'],
        ['Type', 'string'],
      ],
      data,
    );
  }

  private describe(name: string, like: string | undefined): SqlResult {
    const re = like !== undefined ? likeToRegExp(like) : undefined;
    const dist = this.engine.dist(name);
    if (dist) {
      const data: (string | number | null)[][] = [];
      for (const l of dist.locals) data.push([l, 'local']);
      for (const a of dist.agents) data.push([a, 'remote']);
      return rows(
        [
          ['Agent', 'string'],
          ['Type', 'string'],
        ],
        data.filter((r) => !re || re.test(String(r[0]))),
      );
    }
    const t = this.engine.local(name);
    if (!t) throw new SqlError(`no such table '${name}'`);
    const data: (string | number | null)[][] = [['id', 'bigint', '']];
    for (const c of t.columns) {
      const props = isTextField(c) ? c.options.filter((o) => o === 'indexed' || o === 'stored').join(' ') : c.options.filter((o) => o !== 'attribute').join(' ');
      data.push([c.name, describeType(c), props]);
    }
    return rows(
      [
        ['Field', 'string'],
        ['Type', 'string'],
        ['Properties', 'string'],
      ],
      data.filter((r) => !re || re.test(String(r[0]))),
    );
  }

  private showCreate(name: string): SqlResult {
    const n = Engine.normalizeName(name);
    const dist = this.engine.dist(n);
    let text: string;
    if (dist) {
      const parts = [`CREATE TABLE ${n} type='distributed'`];
      for (const l of dist.locals) parts.push(`local='${l}'`);
      for (const a of dist.agents) parts.push(`agent='${a}'`);
      if (dist.agent_retry_count) parts.push(`agent_retry_count='${dist.agent_retry_count}'`);
      if (dist.ha_strategy !== 'random') parts.push(`ha_strategy='${dist.ha_strategy}'`);
      text = parts.join(' ');
    } else {
      const t = this.engine.local(n);
      if (!t) throw new SqlError(`no such table '${name}'`);
      const cols = ['id bigint'];
      for (const c of t.columns) {
        let def = `${c.name} ${createType(c)}`;
        if (isTextField(c)) {
          const idx = c.options.includes('indexed');
          const st = c.options.includes('stored');
          if (idx && !st) def += ' indexed';
          else if (!idx && st) def += ' stored';
        } else if (c.options.length) {
          const extra = c.options.filter((o) => o !== 'attribute');
          if (extra.length) def += ' ' + extra.join(' ');
        }
        cols.push(def);
      }
      text = `CREATE TABLE ${n} (\n${cols.join(',\n')}\n)`;
      const settings = Object.entries(t.settings);
      if (t.kind === 'percolate') settings.unshift(['type', 'percolate']);
      if (settings.length) text += ' ' + settings.map(([k, v]) => `${k}='${v}'`).join(' ');
    }
    return rows(
      [
        ['Table', 'string'],
        ['Create Table', 'string'],
      ],
      [[n, text]],
    );
  }

  statusRows(): [string, string][] {
    const s = this.stats;
    const out: [string, string][] = [
      ['uptime', String(Math.floor((Date.now() - s.startedAt) / 1000))],
      ['connections', String(s.connections)],
      ['maxed_out', '0'],
      ['version', DAEMON_VERSION],
      ['mysql_version', DAEMON_VERSION],
    ];
    for (const c of STATUS_COMMANDS) out.push([`command_${c}`, String(s.commands[c] ?? 0)]);
    out.push(
      ['agent_connect', '0'],
      ['agent_tfo', '0'],
      ['agent_retry', '0'],
      ['queries', String(s.queries)],
      ['dist_queries', String(s.commands.dist ?? 0)],
      ['workers_total', '2'],
      ['workers_active', '1'],
      ['workers_clients', '1'],
      ['work_queue_length', '0'],
      ['query_wall', '0.000'],
      ['query_cpu', 'OFF'],
      ['dist_wall', '0.000'],
      ['dist_local', '0.000'],
      ['dist_wait', '0.000'],
      ['query_reads', 'OFF'],
      ['query_readkb', 'OFF'],
      ['query_readtime', 'OFF'],
      ['avg_query_wall', '0.000'],
      ['avg_query_cpu', 'OFF'],
      ['avg_dist_wall', '0.000'],
      ['avg_dist_local', '0.000'],
      ['avg_dist_wait', '0.000'],
      ['avg_query_reads', 'OFF'],
      ['avg_query_readkb', 'OFF'],
      ['avg_query_readtime', 'OFF'],
      ['qcache_max_bytes', '16777216'],
      ['qcache_thresh_msec', '3000'],
      ['qcache_ttl_sec', '60'],
      ['qcache_cached_queries', '0'],
      ['qcache_used_bytes', '0'],
      ['qcache_hits', '0'],
    );
    if (this.opts.cluster) out.push(...this.opts.cluster.statusRows());
    out.push(['sim', SIM_MARKER]);
    return out;
  }

  private showStatus(like: string | undefined): SqlResult {
    const re = like !== undefined ? likeToRegExp(like) : undefined;
    return rows(
      [
        ['Counter', 'string'],
        ['Value', 'string'],
      ],
      this.statusRows().filter(([k]) => !re || re.test(k)),
    );
  }

  private showVersion(): SqlResult {
    if (!this.opts.buddy) throw new SqlError("P01: syntax error, unexpected identifier near 'VERSION'");
    return rows(
      [
        ['Component', 'string'],
        ['Version', 'string'],
      ],
      [
        ['Daemon', DAEMON_VERSION],
        ['Columnar', 'columnar 8.1.0 e1522a2@25112603'],
        ['Secondary', 'secondary 8.1.0 e1522a2@25112603'],
        ['Knn', 'knn 8.1.0 e1522a2@25112603'],
        ['Embeddings', 'embeddings 1.0.1'],
        ['Buddy', 'buddy v3.36.1+25111709-6c8a7a44'],
      ],
    );
  }

  private showVariables(like: string | undefined): SqlResult {
    const re = like !== undefined ? likeToRegExp(like) : undefined;
    const vars: [string, string][] = [
      ['autocommit', '1'],
      ['auto_optimize', '1'],
      ['optimize_cutoff', '2'],
      ['collation_connection', 'libc_ci'],
      ['query_log_format', 'sphinxql'],
      ['session_read_only', '0'],
      ['log_level', 'info'],
      ['max_allowed_packet', '134217728'],
      ['character_set_client', 'utf8'],
      ['character_set_connection', 'utf8'],
      ['grouping_in_utc', '0'],
      ['timezone', 'UTC'],
      ['last_insert_id', '0'],
      ['pseudo_sharding', '1'],
      ['secondary_indexes', '1'],
      ['accurate_aggregation', '0'],
      ['distinct_precision_threshold', '3500'],
      ['threads_ex_effective', ''],
      ['threads_ex', ''],
    ];
    return rows(
      [
        ['Variable_name', 'string'],
        ['Value', 'string'],
      ],
      vars.filter(([k]) => !re || re.test(k)),
    );
  }

  // -------------------------------------------------------------- writes

  /**
   * Enforces the `cluster:table` rule (Manticore's ValidateClusterStatement); returns the cluster
   * to replicate through, if any.
   */
  private checkPrefix(prefix: string | undefined, table: string): string | undefined {
    const c = this.opts.cluster?.clusterOfTable(table);
    if (c === prefix) return prefix;
    if (c === undefined) throw new SqlError(`table '${table}' is not in any cluster, use just '${table}'`);
    throw new SqlError(`table '${table}' is a part of cluster '${c}', use '${c}:${table}'`);
  }

  /** Applies a write locally or through the table's cluster. */
  private async write(prefix: string | undefined, table: string, w: ReplicatedWrite): Promise<void> {
    const cluster = this.checkPrefix(prefix, table);
    if (cluster === undefined || !this.opts.cluster) {
      this.engine.applyWrite(w);
      return;
    }
    await this.opts.cluster.replicateWrite(cluster, w);
  }

  private writableTable(name: string, op: string): LocalTable {
    const t = this.engine.local(name);
    if (!t || t.kind === 'plain') throw new SqlError(`table '${Engine.normalizeName(name)}' absent, or does not support ${op}`);
    return t;
  }

  private async insert(stmt: Extract<Statement, { kind: 'insert' }>): Promise<SqlResult> {
    const op = stmt.replace ? 'REPLACE' : 'INSERT';
    const t = this.writableTable(stmt.table, op);
    this.checkPrefix(stmt.cluster, t.name);
    const names = stmt.columns ? stmt.columns.map((c) => c.toLowerCase()) : ['id', ...t.columns.map((c) => c.name)];
    const cols = names.map((n) => {
      if (n === 'id') return undefined;
      const c = t.column(n);
      if (!c) throw new SqlError(`unknown column: '${n}'`);
      return c;
    });
    const docs: JsonDoc[] = [];
    const seen = new Set<string>();
    for (const row of stmt.rows) {
      if (row.length !== names.length) {
        if (stmt.columns) throw new SqlError(`column count does not match value count (expected ${names.length}, got ${row.length})`);
        throw new SqlError(`column count does not match schema (expected ${names.length}, got ${row.length})`);
      }
      const doc: JsonDoc = { id: '' };
      for (const c of t.columns) doc[c.name] = defaultValue(c);
      row.forEach((lit: Literal, i) => {
        const col = cols[i];
        if (col === undefined) {
          const id = parseId(lit);
          doc.id = id === 0n ? '' : id.toString();
        } else {
          doc[col.name] = coerceValue(col, lit);
        }
      });
      if (!doc.id) doc.id = this.ids.next();
      if (!stmt.replace && (t.docs.has(doc.id) || seen.has(doc.id))) throw new SqlError(`duplicate id '${doc.id}'`);
      seen.add(doc.id);
      docs.push(doc);
    }
    await this.write(stmt.cluster, t.name, { action: stmt.replace ? 'replace' : 'insert', table: t.name, docs });
    return ok(docs.length);
  }

  private async delete(stmt: Extract<Statement, { kind: 'delete' }>): Promise<SqlResult> {
    const t = this.writableTable(stmt.table, 'DELETE');
    this.checkPrefix(stmt.cluster, t.name);
    const ev = new Evaluator(t.columns, t.name);
    const ids = filterDocs(t.docs.values(), stmt.where, ev)
      .map((d) => d.id)
      .sort(compareIds);
    if (ids.length === 0) return ok(0);
    await this.write(stmt.cluster, t.name, { action: 'delete', table: t.name, ids });
    return ok(ids.length);
  }

  private async update(stmt: Extract<Statement, { kind: 'update' }>): Promise<SqlResult> {
    const t = this.engine.local(stmt.table);
    if (!t) throw new SqlError(`table '${Engine.normalizeName(stmt.table)}' absent, or does not support UPDATE`);
    this.checkPrefix(stmt.cluster, t.name);
    const set: Record<string, unknown> = {};
    for (const s of stmt.set) {
      const n = s.column.toLowerCase();
      if (n === 'id') throw new SqlError("'id' attribute can't be updated");
      const c = t.column(n);
      if (!c) throw new SqlError(`attribute '${n}' not found`);
      if (isTextField(c)) throw new SqlError(`attribute '${n}' is a full-text field; can't update`);
      set[c.name] = coerceValue(c, s.value);
    }
    const ev = new Evaluator(t.columns, t.name);
    const ids = filterDocs(t.docs.values(), stmt.where, ev)
      .map((d) => d.id)
      .sort(compareIds);
    if (ids.length === 0) return ok(0);
    await this.write(stmt.cluster, t.name, { action: 'update', table: t.name, ids, set });
    return ok(ids.length);
  }

  // -------------------------------------------------------------- SELECT

  private async select(stmt: SelectStatement, session: Session): Promise<SqlResult> {
    const started = Date.now();
    if (stmt.from.length === 0) return this.selectConstants(stmt);
    const columns: ColumnDef[] = [];
    const docs: JsonDoc[] = [];
    const missing: string[] = [];
    const warnings: string[] = [];
    const addColumns = (cs: ColumnDef[]) => {
      for (const c of cs) if (!columns.some((x) => x.name === c.name)) columns.push(c);
    };
    const only = stmt.from.length === 1 ? this.engine.local(stmt.from[0] as string) : undefined;
    if (only && stmt.where === undefined && isPlainCount(stmt)) {
      // COUNT(*) of one local table without a filter: the document count (no rows materialised)
      const item = stmt.items[0] as SelectStatement['items'][number];
      session.warnings = [];
      session.meta = [
        ['total', '1'],
        ['total_found', String(only.docs.size)],
        ['total_relation', 'eq'],
        ['time', ((Date.now() - started) / 1000).toFixed(3)],
      ];
      return { kind: 'rows', columns: [{ name: item.alias ?? exprName(item.expr), type: 'longlong' }], rows: [[only.docs.size]] };
    }
    for (const name of stmt.from) {
      const local = this.engine.local(name);
      if (local) {
        addColumns(local.columns);
        for (const d of local.docs.values()) docs.push(d);
        continue;
      }
      const dist = this.engine.dist(name);
      if (!dist) {
        missing.push(Engine.normalizeName(name));
        continue;
      }
      this.count('dist');
      const n = Engine.normalizeName(name);
      if (stmt.from.length === 1 && dist.locals.length === 0 && isPlainCount(stmt)) return this.distributedCount(stmt, n, dist, session, started);
      for (const l of dist.locals) {
        const lt = this.engine.local(l);
        if (!lt) {
          warnings.push(`table ${n}: local table '${l}' is not found`);
          continue;
        }
        addColumns(lt.columns);
        for (const d of lt.docs.values()) docs.push(d);
      }
      const replies = await Promise.all(
        dist.agents.map((a, i) => this.agents.query(`${n}#${i}`, parseAgent(a), dist.ha_strategy, dist.agent_retry_count, stmt.where)),
      );
      for (const r of replies) {
        if (r.reply) {
          addColumns(r.reply.columns);
          for (const d of r.reply.docs) docs.push(d);
        } else {
          const last = r.errors[r.errors.length - 1];
          if (last) warnings.push(`table ${n}: agent ${last.mirror.addr}: ${last.message}`);
        }
      }
    }
    if (missing.length) throw new SqlError(`unknown local table(s) '${missing.join(',')}' in search request`);
    // the same document from two sources (a local and a mirror of the same data) is counted once
    const unique = new Map<string, JsonDoc>();
    for (const d of docs) if (!unique.has(d.id)) unique.set(d.id, d);
    const out = runSelect(stmt, columns, stmt.from.length === 1 && !this.engine.dist(stmt.from[0] as string) ? docs : unique.values(), stmt.from.join(','));
    session.warnings = warnings;
    session.meta = [
      ['total', String(out.result.rows.length)],
      ['total_found', String(out.totalFound)],
      ['total_relation', 'eq'],
      ['time', ((Date.now() - started) / 1000).toFixed(3)],
    ];
    const matchQuery = findMatch(stmt.where);
    if (matchQuery !== undefined) {
      keywordStats(matchQuery, unique.values(), columns).forEach(([w, d, h], i) => {
        session.meta.push([`keyword[${i}]`, w], [`docs[${i}]`, String(d)], [`hits[${i}]`, String(h)]);
      });
    }
    return out.result;
  }

  /**
   * `SELECT COUNT(*) FROM dist [WHERE ...]` over agents only: every agent answers with its partial
   * count and the counts are summed, as real Manticore merges aggregates (no documents shipped).
   * Agents that hold the same documents are therefore counted once each, like a real daemon does.
   */
  private async distributedCount(stmt: SelectStatement, n: string, dist: DistDefinition, session: Session, started: number): Promise<SqlResult> {
    const replies = await Promise.all(
      dist.agents.map((a, i) => this.agents.query(`${n}#${i}`, parseAgent(a), dist.ha_strategy, dist.agent_retry_count, stmt.where, 'count')),
    );
    const warnings: string[] = [];
    let total = 0;
    for (const r of replies) {
      if (r.reply) total += r.reply.count ?? r.reply.docs.length;
      else {
        const last = r.errors[r.errors.length - 1];
        if (last) warnings.push(`table ${n}: agent ${last.mirror.addr}: ${last.message}`);
      }
    }
    const item = stmt.items[0] as SelectStatement['items'][number];
    session.warnings = warnings;
    session.meta = [
      ['total', '1'],
      ['total_found', String(total)],
      ['total_relation', 'eq'],
      ['time', ((Date.now() - started) / 1000).toFixed(3)],
    ];
    return { kind: 'rows', columns: [{ name: item.alias ?? exprName(item.expr), type: 'longlong' }], rows: [[total]] };
  }

  private selectConstants(stmt: SelectStatement): SqlResult {
    const cols: { name: string; type: 'string' | 'long' | 'longlong' | 'float' }[] = [];
    const row: (string | number | null)[] = [];
    for (const it of stmt.items) {
      const e = it.expr;
      if (e.type === 'literal') {
        const v = e.value;
        cols.push({ name: it.alias ?? (v.type === 'string' ? v.value : v.type === 'int' ? v.value : String((v as { value?: unknown }).value ?? 'NULL')), type: v.type === 'int' ? 'longlong' : v.type === 'float' ? 'float' : 'string' });
        row.push(v.type === 'int' ? v.value : v.type === 'float' ? v.value : v.type === 'string' ? v.value : null);
      } else if (e.type === 'column' && e.name.startsWith('@@')) {
        const n = e.name.slice(2).toLowerCase();
        cols.push({ name: it.alias ?? e.name, type: 'string' });
        row.push(n.includes('version') ? DAEMON_VERSION : n === 'session.auto_increment_increment' || n === 'auto_increment_increment' ? '1' : '');
      } else {
        throw new SqlError('unsupported expression without a table');
      }
    }
    return { kind: 'rows', columns: cols, rows: [row] };
  }

  /** The `search` request of a remote coordinator: filtered documents of local tables. */
  handleSearch(req: SearchRequest): SearchReply {
    const names = String(req?.table ?? '')
      .split(',')
      .map((n) => Engine.normalizeName(n.trim()))
      .filter(Boolean);
    const name = names.join(',');
    const tables: LocalTable[] = [];
    const missing: string[] = [];
    for (const n of names) {
      const local = this.engine.local(n);
      if (local) {
        tables.push(local);
        continue;
      }
      const dist = this.engine.dist(n);
      if (!dist) {
        missing.push(n);
        continue;
      }
      // a remote distributed table answers with its locals only (no agent chains)
      for (const l of dist.locals) {
        const lt = this.engine.local(l);
        if (lt) tables.push(lt);
      }
    }
    if (missing.length || names.length === 0) throw new Error(`unknown local table(s) '${missing.join(',')}' in search request`);
    const columns: ColumnDef[] = [];
    const docs: JsonDoc[] = [];
    for (const t of tables) {
      for (const c of t.columns) if (!columns.some((x) => x.name === c.name)) columns.push(c);
    }
    const ev = new Evaluator(columns, name);
    if (req.aggregate === 'count') {
      // the partial aggregate only: the master sums the agents' counts (no documents shipped)
      let count = 0;
      for (const t of tables) count += req.where === undefined ? t.docs.size : filterDocs(t.docs.values(), req.where as Expr, ev).length;
      return { columns, docs, count };
    }
    // spread arguments overflow the stack for large tables: push one by one
    for (const t of tables) for (const d of filterDocs(t.docs.values(), req.where as Expr | undefined, ev)) docs.push(d);
    return { columns, docs };
  }

  // ---------------------------------------------------- IMPORT / ATTACH

  private importTable(name: string, from: string): SqlResult {
    this.requireRtMode('IMPORT TABLE');
    const n = Engine.normalizeName(name);
    if (this.engine.has(n)) throw new SqlError(`table '${n}' already exists`);
    const src = from.replace(/\/+$/, '');
    if (!fs.existsSync(`${src}.meta`)) {
      const dir = path.dirname(src);
      const base = path.basename(src);
      const any = fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith(`${base}.`));
      throw new SqlError(`unable to import table '${n}': ${any ? `missing ${src}.meta table file` : 'no table files found'}`);
    }
    let meta: { kind?: string; columns?: ColumnDef[]; settings?: Record<string, string> };
    try {
      meta = JSON.parse(fs.readFileSync(`${src}.meta`, 'utf8')) as typeof meta;
    } catch (err) {
      throw new SqlError(`unable to import table '${n}': ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.opts.faults?.diskFull) {
      // real searchd copies the files into its data dir first; a full disk fails the copy and nothing is created
      const dst = path.join(this.engine.dataDir ?? '.', n, `${n}.0.spa`);
      throw new SqlError(`unable to import table '${n}': error writing file '${dst}': No space left on device`);
    }
    // only the table's own files travel: writes a frozen source made since FREEZE live in its frozen wal
    const docs = readSnapshotOnly(src);
    this.engine.createLocal(n, meta.kind === 'percolate' ? 'percolate' : 'rt', { columns: meta.columns ?? [], settings: meta.settings ?? {} }, docs);
    return ok();
  }

  private async attach(source: string, target: string, truncate: boolean): Promise<SqlResult> {
    const src = this.engine.local(source);
    if (!src) throw new SqlError(`unknown table '${Engine.normalizeName(source)}'`);
    const dst = this.engine.local(target);
    if (!dst) throw new SqlError(`unknown table '${Engine.normalizeName(target)}'`);
    if (dst.kind !== 'rt') throw new SqlError(`table '${dst.name}' is not real-time`);
    if (src === dst) throw new SqlError('source and destination tables are the same');
    if (this.opts.cluster?.clusterOfTable(dst.name)) throw new SqlError(`table '${dst.name}' is a part of cluster '${this.opts.cluster.clusterOfTable(dst.name) ?? ''}'`);
    const sig = (cs: ColumnDef[]) => cs.map((c) => `${c.name}:${valueKind(c.type)}`).join(',');
    // an empty target takes the source's schema and settings; a non-empty one must match it
    const empty = truncate || dst.docs.size === 0;
    if (!empty && sig(src.columns) !== sig(dst.columns)) {
      throw new SqlError(`ATTACH currently requires empty target table or the same schema: '${src.name}' and '${dst.name}' differ`);
    }
    const docs = src.sortedDocs();
    if (truncate) dst.apply({ action: 'truncate', table: dst.name });
    if (empty) {
      dst.columns = src.columns.map((c) => ({ ...c, options: [...c.options] }));
      dst.settings = { ...src.settings };
    }
    // the attached data is the newest: documents with the same ids replace the target's
    dst.apply({ action: 'replace', table: dst.name, docs });
    dst.persistAll();
    if (src.kind === 'plain') {
      // its files became part of the target: the plain table is unavailable until the next rebuild
      src.removeFiles();
      this.engine.locals.delete(src.name);
    } else {
      src.apply({ action: 'truncate', table: src.name });
    }
    return ok();
  }

  private freeze(names: string[]): SqlResult {
    const tables = names.map((n) => this.requireLocal(n));
    const data: (string | number | null)[][] = [];
    for (const t of tables) {
      t.freeze();
      for (const f of t.files()) data.push([f, path.resolve(f)]);
    }
    return rows(
      [
        ['file', 'string'],
        ['normalized', 'string'],
      ],
      data,
    );
  }
}

/** Documents in a table's .ram + .wal (not its .wal.frozen). */
function readSnapshotOnly(prefix: string): JsonDoc[] {
  const tmp = new LocalTable('tmp', 'rt', { columns: [], settings: {} }, undefined);
  const read = readJsonLines;
  for (const d of read(`${prefix}.ram`)) {
    const doc = d as JsonDoc;
    if (doc && typeof doc.id === 'string') tmp.docs.set(doc.id, doc);
  }
  for (const w of read(`${prefix}.wal`)) tmp.applyInMemory(w as ReplicatedWrite);
  return tmp.sortedDocs();
}
