/**
 * One simulated searchd node in-process: engine + executor + cluster module + the three
 * listeners (binary API / peer transport, mysql41, http). `searchd.ts` builds its options from a
 * config file; tests can start nodes directly.
 */
import fs from 'node:fs';
import type { Logger } from '../lib/logger.js';
import { silentLogger } from '../lib/logger.js';
import type { SqlResult } from './contract.js';
import { SqlError } from './contract.js';
import type { ColumnDef } from './sql/ast.js';
import { parseSql } from './sql/parser.js';
import { Engine } from './engine/engine.js';
import type { DistDefinition } from './engine/engine.js';
import { LocalTable } from './engine/local-table.js';
import { DAEMON_VERSION, Executor, newSession, newStats } from './engine/executor.js';
import type { Session } from './engine/executor.js';
import { FaultState } from './net/faults.js';
import { PeerTransport } from './net/peer.js';
import { MysqlServer } from './net/mysql-server.js';
import { HttpServer } from './net/http-server.js';
import { executeBulk } from './engine/bulk.js';
import { ClusterManager } from './cluster/cluster-manager.js';
import type { ClusterTiming } from './cluster/cluster-manager.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Manticore's log timestamp: `Wed Nov 25 12:34:56.789 2026`. */
export function manticoreTimestamp(d = new Date()): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')} ${d.getFullYear()}`;
}

export interface ListenAddr {
  host: string;
  port: number;
}

/** A table declared in the config file (plain mode). */
export type ConfigTable =
  | { name: string; type: 'plain'; path: string }
  | { name: string; type: 'rt' | 'percolate'; path?: string; columns: ColumnDef[] }
  | ({ name: string; type: 'distributed' } & DistDefinition);

export interface SimNodeOptions {
  mysql?: ListenAddr;
  http?: ListenAddr;
  /** binary API listener: peers, agents and replication requests */
  api?: ListenAddr;
  replication?: ListenAddr;
  /** host peers use to reach this node (node_address); defaults to the API listener's host */
  nodeAddress?: string;
  dataDir?: string;
  serverId?: number;
  /** Buddy available (false for `buddy_path =`) */
  buddy?: boolean;
  tables?: ConfigTable[];
  newCluster?: boolean;
  newClusterForce?: boolean;
  logger?: Logger;
  clusterTiming?: Partial<ClusterTiming>;
  /** query_log file: SELECTs are logged in the sphinxql format */
  queryLog?: string;
  /** ha_ping_interval: how often distributed tables ping their mirrors (0 disables) */
  haPingIntervalMs?: number;
}

function connectHost(host: string): string {
  return host === '0.0.0.0' || host === '' ? '127.0.0.1' : host;
}

export class SimNode {
  readonly faults = new FaultState();
  readonly engine: Engine;
  readonly executor: Executor;
  readonly transport: PeerTransport;
  readonly cluster: ClusterManager | undefined;
  readonly logger: Logger;
  readonly apiAddress: string;
  private readonly stats = newStats();
  private readonly sessions = new Map<number, Session>();
  private mysql: MysqlServer | undefined;
  private http: HttpServer | undefined;
  private loadedClusters: ReturnType<Engine['loadRtMode']> = {};
  private clusterReady = false;
  private stopped = false;

  constructor(readonly opts: SimNodeOptions) {
    this.logger = opts.logger ?? silentLogger();
    const api = opts.api;
    const host = opts.nodeAddress ?? connectHost(api?.host ?? '127.0.0.1');
    this.apiAddress = `${host}:${api?.port ?? 9312}`;
    this.transport = new PeerTransport(this.apiAddress, this.faults);
    this.engine = new Engine(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {});
    this.executor = new Executor({
      engine: this.engine,
      transport: this.transport,
      buddy: opts.buddy ?? true,
      serverId: opts.serverId ?? 0,
      stats: this.stats,
      faults: this.faults,
    });
    this.executor.registerHandlers(this.transport);
    if (opts.dataDir !== undefined) {
      const repl = opts.replication;
      this.cluster = new ClusterManager({
        dataDir: opts.dataDir,
        apiAddress: this.apiAddress,
        replicationAddress: `${host}:${repl?.port ?? (api?.port ?? 9312) + 1}`,
        serverId: opts.serverId ?? 0,
        transport: this.transport,
        engine: this.engine,
        faults: this.faults,
        logger: this.logger,
        onPersist: () => {
          this.clusterReady = true;
          this.engine.saveManifest();
        },
        ...(opts.clusterTiming ? { timing: opts.clusterTiming } : {}),
      });
      this.executor.cluster = this.cluster;
      // until the cluster module has taken over, manticore.json keeps the clusters it had
      this.engine.clusterSource = () => (this.clusterReady && this.cluster ? this.cluster.persistedClusters() : this.loadedClusters);
    }
  }

  /** Loads tables, opens the listeners and starts the cluster module in the background. */
  async start(): Promise<void> {
    const t0 = Date.now();
    if (this.engine.rtMode) {
      this.loadedClusters = this.engine.loadRtMode((table, err) => this.logger.warn(`table '${table}': failed to load: ${err instanceof Error ? err.message : String(err)}; NOT SERVING`));
    } else {
      this.loadConfigTables();
    }
    const api = this.opts.api;
    if (api) await this.transport.listen(api.host, api.port);
    if (this.opts.mysql) {
      this.mysql = new MysqlServer({
        serverVersion: DAEMON_VERSION,
        faults: this.faults,
        handler: (sql, id) => this.runSql(sql, this.session(id)),
        onConnect: (id) => {
          this.stats.connections++;
          this.sessions.set(id, newSession(id));
        },
        onClose: (id) => this.sessions.delete(id),
      });
      await this.mysql.listen(this.opts.mysql.host, this.opts.mysql.port);
    }
    if (this.opts.http) {
      this.http = new HttpServer({
        faults: this.faults,
        handler: (sql) => this.runSql(sql, newSession(0)),
        statusRows: () => this.executor.statusRows(),
        tableDocs: () => [...this.engine.locals.values()].map((t) => [t.name, t.docs.size] as [string, number]),
        state: () => this.state(),
        buddy: this.opts.buddy ?? true,
        bulk: (body) => executeBulk(this.executor, body, newSession(0)),
      });
      await this.http.listen(this.opts.http.host, this.opts.http.port);
    }
    const listens = [
      this.opts.mysql ? `${this.opts.mysql.host}:${this.opts.mysql.port}:mysql41` : undefined,
      this.opts.http ? `${this.opts.http.host}:${this.opts.http.port}:http` : undefined,
      api ? `${api.host}:${api.port}` : undefined,
    ].filter(Boolean);
    this.executor.agents.startPinging(() => this.executor.agentMirrors(), this.opts.haPingIntervalMs ?? 1000);
    this.logger.info(`listening on ${listens.join(', ')}`);
    this.logger.info(`accepting connections (prereaded ${this.engine.locals.size + this.engine.dists.size} tables in ${Date.now() - t0} ms)`);
    if (this.cluster) {
      const cluster = this.cluster;
      void cluster
        .start(this.loadedClusters, { newCluster: this.opts.newCluster ?? false, newClusterForce: this.opts.newClusterForce ?? false })
        .then(
          () => {
            this.clusterReady = true;
          },
          (err: unknown) => this.logger.error(`replication: ${err instanceof Error ? err.message : String(err)}`),
        );
    }
  }

  private session(id: number): Session {
    let s = this.sessions.get(id);
    if (!s) {
      s = newSession(id);
      this.sessions.set(id, s);
    }
    return s;
  }

  /** Parses and executes one statement. */
  async runSql(sql: string, session: Session): Promise<SqlResult> {
    if (this.stopped) throw new SqlError('server is shutting down');
    const stmt = parseSql(sql);
    if (stmt.kind !== 'select' || !this.opts.queryLog) return this.executor.execute(stmt, session);
    const started = Date.now();
    const result = await this.executor.execute(stmt, session);
    // query_log in the sphinxql format: `/* <time> conn <id> real <s> wall <s> found <n> */ <query>;`
    const secs = ((Date.now() - started) / 1000).toFixed(3);
    const found = session.meta.find(([k]) => k === 'total_found')?.[1] ?? '0';
    const text = sql.trim().replace(/;+\s*$/, '').replace(/\s*\n\s*/g, ' ');
    try {
      fs.appendFileSync(this.opts.queryLog, `/* ${manticoreTimestamp()} conn ${session.id} real ${secs} wall ${secs} found ${found} */ ${text};\n`);
    } catch {
      // the query log is best effort
    }
    return result;
  }

  private loadConfigTables(): void {
    for (const t of this.opts.tables ?? []) {
      try {
        if (t.type === 'distributed') {
          this.engine.addConfigTable(t.name, { locals: t.locals, agents: t.agents, ha_strategy: t.ha_strategy, agent_retry_count: t.agent_retry_count });
        } else if (t.type === 'plain') {
          this.engine.addConfigTable(t.name, LocalTable.load(t.path, t.name.toLowerCase()));
        } else if (t.path && (fs.existsSync(`${t.path}.meta`) || fs.existsSync(`${t.path}.ram`))) {
          this.engine.addConfigTable(t.name, LocalTable.load(t.path, t.name.toLowerCase()));
        } else {
          const table = new LocalTable(t.name.toLowerCase(), t.type, { columns: t.columns, settings: {} }, t.path);
          table.persistAll();
          this.engine.addConfigTable(t.name, table);
        }
      } catch (err) {
        this.logger.warn(`table '${t.name}': prealloc: ${err instanceof Error ? err.message : String(err)}; NOT SERVING`);
      }
    }
  }

  /**
   * SIGHUP: rotate the config's plain tables that have `.new.` files (indexer --rotate), and serve
   * again a plain table that was rebuilt after ATTACH made it unavailable.
   */
  rotate(): void {
    for (const t of this.opts.tables ?? []) {
      if (t.type !== 'plain') continue;
      const p = t.path;
      const name = t.name.toLowerCase();
      const served = this.engine.local(name);
      try {
        let changed = false;
        if (fs.existsSync(`${p}.new.sph`)) {
          if (fs.existsSync(`${p}.new.spd`)) fs.renameSync(`${p}.new.spd`, `${p}.spd`);
          fs.renameSync(`${p}.new.sph`, `${p}.sph`);
          changed = true;
        }
        if ((changed || !served) && fs.existsSync(`${p}.sph`)) {
          this.engine.addConfigTable(name, LocalTable.load(p, name));
          this.logger.info(`rotating table '${name}': success`);
        }
      } catch (err) {
        this.logger.warn(`rotating table '${name}': ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  state(): Record<string, unknown> {
    return {
      apiAddress: this.apiAddress,
      tables: Object.fromEntries(this.engine.tableNames().map((n) => [n, { kind: this.engine.tableKind(n), docs: this.engine.docCount(n) }])),
      frozen: this.engine.frozenTables(),
      cluster: Object.fromEntries(this.cluster?.statusRows() ?? []),
    };
  }

  /** Clean stop: close client listeners, leave the clusters, flush tables, close the API port. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.faults.resume();
    this.executor.agents.stopPinging();
    await this.mysql?.close();
    await this.http?.close();
    if (this.cluster) {
      try {
        // a peer that never answers must not keep the process alive forever
        let timer: NodeJS.Timeout | undefined;
        const cap = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            this.logger.warn('replication: leaving the cluster timed out');
            resolve();
          }, 10_000);
        });
        await Promise.race([this.cluster.stop(), cap]);
        clearTimeout(timer);
      } catch (err) {
        this.logger.warn(`replication: stop failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await this.transport.close();
    this.engine.flush();
    this.logger.info('shutdown complete');
  }
}
