/**
 * Starts and controls searchd processes on loopback: the simulator's by default, a real
 * Manticore's when SEARCHD_BIN / INDEXER_BIN / MANTICORE_BACKUP_BIN name real binaries.
 * Used by the conformance suite (test/conformance) and by `npm run sim:cluster`.
 *
 * Everything binds to 127.0.0.1. Each node gets a contiguous block of free ports (mysql41,
 * http, binary API, a replication range), its own directory (config, data_dir, logs, pid file,
 * binlog) and is started in the foreground (`--nodetach`) so that signals reach searchd itself.
 * Children inherit the environment: a real searchd finds its Galera library via GALERA_SONAME.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';

// ---------------------------------------------------------------------------------------------
// binaries

export interface Binaries {
  searchd: string;
  indexer: string;
  backup: string;
  /** true when searchd is the simulator (it has the /sim/* admin endpoints) */
  isSimulator: boolean;
}

/** The repository root: the nearest ancestor of this file holding package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('launcher: cannot find the repository root (no package.json above this file)');
    dir = up;
  }
}

/** Binaries from SEARCHD_BIN / INDEXER_BIN / MANTICORE_BACKUP_BIN, defaulting to the compiled simulator. */
export function resolveBinaries(env: NodeJS.ProcessEnv = process.env): Binaries {
  const simDir = path.join(repoRoot(), 'dist', 'src', 'sim', 'bin');
  const pick = (value: string | undefined, fallback: string) => (value && value.trim() !== '' ? value.trim() : path.join(simDir, fallback));
  const searchd = pick(env.SEARCHD_BIN, 'searchd-sim.js');
  return {
    searchd,
    indexer: pick(env.INDEXER_BIN, 'indexer-sim.js'),
    backup: pick(env.MANTICORE_BACKUP_BIN, 'manticore-backup-sim.js'),
    isSimulator: /searchd-sim(\.[cm]?js)?$/.test(path.basename(searchd)),
  };
}

/** How to execute a binary: compiled JavaScript files run under this node. */
export function commandFor(bin: string, args: string[]): { cmd: string; args: string[] } {
  if (/\.[cm]?js$/.test(bin)) return { cmd: process.execPath, args: [bin, ...args] };
  return { cmd: bin, args };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a binary to completion (indexer, backup tool, `searchd --stopwait`). */
export function runBinary(bin: string, args: string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<RunResult> {
  const { cmd, args: argv } = commandFor(bin, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(bin)} ${args.join(' ')} did not finish within ${options.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// timeouts

/** Base values (ms) of the named waits, sized for the simulator; multiplied by the time factor. */
export const BASE_TIMEOUTS = {
  /** process started until its mysql port answers SHOW STATUS */
  start: 15_000,
  /** CREATE + JOIN until every node is primary + synced */
  form: 15_000,
  /** a replicated write visible on every node */
  replicate: 10_000,
  /** survivors drop a SIGKILLed peer from cluster size (real 15.1.0: ~6.5 s) */
  evict: 10_000,
  /** a restarted node back to synced with the rows (real: ~7 s) */
  rejoin: 15_000,
  /** `searchd --stopwait` of a clustered node (real: ~5.5 s) */
  stop: 15_000,
  /** a node started alone gives up its cluster */
  dropCluster: 15_000,
  /** a partitioned minority turns non-primary */
  partition: 10_000,
  /** a healed node merges back and catches up */
  heal: 15_000,
  /** Buddy answers (real Buddy starts a few seconds after searchd) */
  buddy: 20_000,
  /** a distributed table answers from the surviving mirror */
  mirror: 10_000,
  /** indexer run, IMPORT / ATTACH */
  tool: 30_000,
} as const;

export type TimeoutName = keyof typeof BASE_TIMEOUTS;

/** CONFORMANCE_TIME_FACTOR (default 1). Real Manticore needs about 4. */
export function timeFactor(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CONFORMANCE_TIME_FACTOR;
  const n = raw === undefined || raw === '' ? 1 : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

export function timeoutMs(name: TimeoutName, factor = timeFactor()): number {
  return Math.round(BASE_TIMEOUTS[name] * factor);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns a value other than `false`/`undefined` (returned), or the
 * named timeout passes; the error names the wait and carries the last probe result or error.
 */
export async function waitFor<T>(
  probe: () => Promise<T | false | undefined> | T | false | undefined,
  name: TimeoutName,
  what: string,
  options: { factor?: number; intervalMs?: number } = {},
): Promise<T> {
  const limit = timeoutMs(name, options.factor);
  const deadline = Date.now() + limit;
  let last: string;
  for (;;) {
    try {
      const v = await probe();
      if (v !== false && v !== undefined) return v;
      last = 'condition not met';
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) throw new Error(`timeout '${name}' (${limit} ms) waiting for ${what}; last: ${last}`);
    await sleep(options.intervalMs ?? 100);
  }
}

// ---------------------------------------------------------------------------------------------
// ports

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

const reservedBases = new Set<number>();

/**
 * A block of `size` consecutive free ports on 127.0.0.1. Bases are random (below Linux's
 * ephemeral range) so that test files running in parallel processes rarely probe the same block.
 */
export async function allocatePortBlock(size: number): Promise<number> {
  const low = 20_000;
  const high = 32_000 - size;
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = low + Math.floor(Math.random() * ((high - low) / size)) * size;
    if (reservedBases.has(base)) continue;
    let ok = true;
    for (let p = base; p < base + size && ok; p++) ok = await portFree(p);
    if (ok) {
      reservedBases.add(base);
      return base;
    }
  }
  throw new Error(`launcher: no block of ${size} free ports found on 127.0.0.1`);
}

export interface NodePorts {
  mysql: number;
  http: number;
  api: number;
  replicationFrom: number;
  replicationTo: number;
}

/** Ports per node: mysql41, http, binary API and a replication range of 4. */
export const PORTS_PER_NODE = 8;

export async function allocateNodePorts(): Promise<NodePorts> {
  const base = await allocatePortBlock(PORTS_PER_NODE);
  return { mysql: base, http: base + 1, api: base + 2, replicationFrom: base + 3, replicationTo: base + 6 };
}

// ---------------------------------------------------------------------------------------------
// config

export interface NodeLayout {
  /** node directory; everything of the node lives under it */
  dir: string;
  config: string;
  dataDir: string;
  log: string;
  queryLog: string;
  console: string;
  pidFile: string;
  binlog: string;
}

export function nodeLayout(dir: string): NodeLayout {
  return {
    dir,
    config: path.join(dir, 'manticore.conf'),
    dataDir: path.join(dir, 'data'),
    log: path.join(dir, 'searchd.log'),
    queryLog: path.join(dir, 'query.log'),
    console: path.join(dir, 'console.log'),
    pidFile: path.join(dir, 'searchd.pid'),
    binlog: path.join(dir, 'binlog'),
  };
}

export interface ConfigOptions {
  ports: NodePorts;
  layout: NodeLayout;
  /** 1..127, unique within a cluster */
  serverId: number;
  /** 'rt' (data_dir, tables by SQL) or 'plain' (tables declared in the config) */
  mode: 'rt' | 'plain';
  /** false writes `buddy_path =` (Buddy disabled) */
  buddy: boolean;
  /** raw `source`/`table` sections for plain mode */
  sections?: string;
  /** more `key = value` lines for the searchd section */
  searchdExtra?: string[];
}

/** searchd config text, Manticore's format. */
export function renderSearchdConfig(o: ConfigOptions): string {
  const lines = [
    `listen = 127.0.0.1:${o.ports.mysql}:mysql41`,
    `listen = 127.0.0.1:${o.ports.http}:http`,
    `listen = 127.0.0.1:${o.ports.api}`,
    `listen = 127.0.0.1:${o.ports.replicationFrom}-${o.ports.replicationTo}:replication`,
  ];
  if (o.mode === 'rt') lines.push(`data_dir = ${o.layout.dataDir}`);
  lines.push(
    `log = ${o.layout.log}`,
    `query_log = ${o.layout.queryLog}`,
    `pid_file = ${o.layout.pidFile}`,
    `binlog_path = ${o.layout.binlog}`,
    `server_id = ${o.serverId}`,
  );
  // replication addresses the node by this; the listeners already say 127.0.0.1, this makes it explicit
  if (o.mode === 'rt') lines.push('node_address = 127.0.0.1');
  if (!o.buddy) lines.push('buddy_path =');
  lines.push(...(o.searchdExtra ?? []));
  const searchd = `searchd {\n${lines.map((l) => `    ${l}`).join('\n')}\n}\n`;
  return (o.sections ? `${o.sections.trim()}\n\n` : '') + searchd;
}

// ---------------------------------------------------------------------------------------------
// one node

export type Row = Record<string, string | null>;

export interface SqlResultSet {
  /** values as text (null for SQL NULL), whatever the column type */
  rows: Row[];
  columns: string[];
  affectedRows: number;
}

export interface SearchdNodeOptions {
  name: string;
  dir: string;
  serverId: number;
  binaries?: Binaries;
  mode?: 'rt' | 'plain';
  buddy?: boolean;
  sections?: string;
  searchdExtra?: string[];
  ports?: NodePorts;
  env?: NodeJS.ProcessEnv;
  factor?: number;
  /** own process group, so a terminal's Ctrl-C reaches only the parent (which then stops nodes in order) */
  detached?: boolean;
}

export class SearchdNode {
  readonly name: string;
  readonly layout: NodeLayout;
  readonly binaries: Binaries;
  readonly serverId: number;
  readonly factor: number;
  private portsValue: NodePorts | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(private readonly options: SearchdNodeOptions) {
    this.name = options.name;
    this.layout = nodeLayout(options.dir);
    this.binaries = options.binaries ?? resolveBinaries(options.env);
    this.serverId = options.serverId;
    this.factor = options.factor ?? timeFactor(options.env);
    this.portsValue = options.ports;
  }

  get ports(): NodePorts {
    if (!this.portsValue) throw new Error(`${this.name}: ports not allocated yet (call prepare() or start())`);
    return this.portsValue;
  }

  /** `127.0.0.1:<api>`: what JOIN ... AT, agent= and nodes_set use */
  get apiAddress(): string {
    return `127.0.0.1:${this.ports.api}`;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** Allocates ports (once) and writes the config file. */
  async prepare(): Promise<void> {
    if (!this.portsValue) this.portsValue = await allocateNodePorts();
    for (const d of [this.layout.dir, this.layout.binlog, ...(this.mode === 'rt' ? [this.layout.dataDir] : [])]) mkdirSync(d, { recursive: true });
    writeFileSync(
      this.layout.config,
      renderSearchdConfig({
        ports: this.ports,
        layout: this.layout,
        serverId: this.serverId,
        mode: this.mode,
        buddy: this.options.buddy ?? true,
        sections: this.options.sections,
        searchdExtra: this.options.searchdExtra,
      }),
    );
  }

  get mode(): 'rt' | 'plain' {
    return this.options.mode ?? 'rt';
  }

  /** Spawns searchd in the foreground with extra flags (--new-cluster, ...) and waits until SHOW STATUS answers. */
  async start(flags: string[] = []): Promise<void> {
    if (this.running) throw new Error(`${this.name}: already running (pid ${this.child?.pid})`);
    await this.prepare();
    const out = openSync(this.layout.console, 'a');
    const { cmd, args } = commandFor(this.binaries.searchd, ['--config', this.layout.config, '--nodetach', ...flags]);
    writeFileSync(this.layout.console, `\n=== start ${new Date().toISOString()} ${[cmd, ...args].join(' ')}\n`, { flag: 'a' });
    const child = spawn(cmd, args, { env: this.options.env ?? process.env, stdio: ['ignore', out, out], detached: this.options.detached ?? false });
    closeSync(out);
    this.child = child;
    this.exitInfo = undefined;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      child.on('error', () => {
        this.exitInfo = { code: -1, signal: null };
        resolve(this.exitInfo);
      });
    });
    await this.waitReady();
  }

  /** Waits until the mysql port answers SHOW STATUS; fails at once if the process exits. */
  async waitReady(): Promise<void> {
    await waitFor(
      async () => {
        if (this.exitInfo) {
          throw new ProcessExitedError(`${this.name}: searchd exited (code ${this.exitInfo.code}, signal ${this.exitInfo.signal}) before answering\n${this.logTail(20)}`);
        }
        await this.sql('SHOW STATUS', { timeoutMs: 2000 });
        return true;
      },
      'start',
      `${this.name} to answer SHOW STATUS on 127.0.0.1:${this.ports.mysql}`,
      { factor: this.factor, intervalMs: 100 },
    ).catch((err: unknown) => {
      if (this.exitInfo) throw new Error(`${this.name}: searchd exited (code ${this.exitInfo.code}, signal ${this.exitInfo.signal}) before answering\n${this.logTail(20)}`);
      throw err;
    });
  }

  /** Restarts the node on the same ports and data, with optional flags. */
  async restart(flags: string[] = []): Promise<void> {
    if (this.running) await this.stopWait();
    await this.start(flags);
  }

  /** Sends a signal to the searchd process and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running || !this.child) return;
    this.child.kill(signal);
    await this.waitExit('stop');
  }

  /** `<searchd> --config <conf> --stopwait`, then waits for the process to be gone. */
  async stopWait(): Promise<RunResult> {
    const res = await runBinary(this.binaries.searchd, ['--config', this.layout.config, '--stopwait'], {
      timeoutMs: timeoutMs('stop', this.factor),
      env: this.options.env ?? process.env,
    });
    if (this.running) await this.waitExit('stop');
    if (res.code !== 0) throw new Error(`${this.name}: --stopwait exited ${res.code}: ${res.stdout}${res.stderr}`);
    return res;
  }

  private async waitExit(name: TimeoutName): Promise<void> {
    if (!this.exited) return;
    const limit = timeoutMs(name, this.factor);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), limit)));
    const res = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (res === 'timeout') throw new Error(`timeout '${name}' (${limit} ms) waiting for ${this.name} (pid ${this.child?.pid}) to exit`);
  }

  /** Exit status of the last run (undefined while running or never started). */
  get lastExit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /** One statement over a fresh mysql connection; rejects with the server's error (err.message is Manticore's text). */
  async sql(query: string, options: { timeoutMs?: number } = {}): Promise<SqlResultSet> {
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: this.ports.mysql,
      connectTimeout: options.timeoutMs ?? 5000,
      typeCast: (field: { string(): string | null }) => field.string(),
    });
    try {
      const [result, fields] = await conn.query({ sql: query, timeout: options.timeoutMs ?? 10_000 * this.factor });
      if (Array.isArray(result)) {
        return {
          rows: (result as unknown as Record<string, unknown>[]).map((r) => normaliseRow(r)),
          columns: (fields ?? []).map((f) => f.name),
          affectedRows: 0,
        };
      }
      return { rows: [], columns: [], affectedRows: (result as { affectedRows?: number }).affectedRows ?? 0 };
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }

  /** POST JSON to this node's HTTP port (the simulator's /sim/* admin endpoints). */
  async httpPost(urlPath: string, body: unknown): Promise<{ status: number; text: string }> {
    const res = await fetch(`http://127.0.0.1:${this.ports.http}${urlPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  /** Last lines of searchd.log and of the console output. */
  logTail(lines = 40): string {
    const tail = (file: string) => {
      if (!existsSync(file)) return '(none)';
      const all = readFileSync(file, 'utf8').split('\n');
      return all.slice(-lines).join('\n');
    };
    return `--- ${this.name} searchd.log (${this.layout.log})\n${tail(this.layout.log)}\n--- ${this.name} console\n${tail(this.layout.console)}`;
  }

  /** `manticore.json` of data_dir, parsed (undefined when absent). */
  manticoreJson(): Record<string, unknown> | undefined {
    const file = path.join(this.layout.dataDir, 'manticore.json');
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  }

  /** Names of the clusters saved in manticore.json (none when the key is absent or empty). */
  savedClusters(): string[] {
    const json = this.manticoreJson();
    const clusters = json?.clusters;
    if (!clusters || typeof clusters !== 'object') return [];
    return Object.keys(clusters);
  }

  /** grastate.dat found under data_dir (the cluster path), parsed into key/value pairs. */
  grastate(): Grastate | undefined {
    const file = findFile(this.layout.dataDir, 'grastate.dat', 3);
    if (!file) return undefined;
    return parseGrastate(readFileSync(file, 'utf8'));
  }
}

export class ProcessExitedError extends Error {}

function normaliseRow(r: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) out[k] = v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  return out;
}

export interface Grastate {
  uuid: string;
  seqno: number;
  safeToBootstrap: number;
  raw: Record<string, string>;
}

export function parseGrastate(text: string): Grastate {
  const raw: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_.]+)\s*:\s*(.*?)\s*$/.exec(line);
    if (m && m[1] && m[2] !== undefined && !line.trimStart().startsWith('#')) raw[m[1]] = m[2];
  }
  return { uuid: raw.uuid ?? '', seqno: Number(raw.seqno ?? NaN), safeToBootstrap: Number(raw.safe_to_bootstrap ?? NaN), raw };
}

function findFile(dir: string, name: string, depth: number): string | undefined {
  if (!existsSync(dir)) return undefined;
  const direct = path.join(dir, name);
  if (existsSync(direct)) return direct;
  if (depth <= 0) return undefined;
  for (const entry of readdirSync(dir).sort()) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) {
      const found = findFile(p, name, depth - 1);
      if (found) return found;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// cluster status

export interface ClusterStatus {
  /** every `cluster_<c>_*` variable, keyed by the part after the prefix (status, size, ...) */
  vars: Record<string, string>;
  status?: string;
  nodeState?: string;
  size?: number;
  stateUuid?: string;
  stateSeqno?: number;
  lastCommitted?: number;
  nodesSet?: string;
  nodesView?: string;
  indexes?: string;
}

/** `SHOW STATUS LIKE 'cluster_<c>_%'`, parsed; undefined when the node has no such rows. */
export async function clusterStatus(node: SearchdNode, cluster: string): Promise<ClusterStatus | undefined> {
  const res = await node.sql(`SHOW STATUS LIKE 'cluster_${cluster}_%'`);
  if (res.rows.length === 0) return undefined;
  const prefix = `cluster_${cluster}_`;
  const vars: Record<string, string> = {};
  for (const row of res.rows) {
    const counter = row.Counter ?? Object.values(row)[0] ?? '';
    const value = row.Value ?? Object.values(row)[1] ?? '';
    if (counter?.startsWith(prefix)) vars[counter.slice(prefix.length)] = value ?? '';
  }
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  return {
    vars,
    status: vars.status,
    nodeState: vars.node_state,
    size: num(vars.size),
    stateUuid: vars.state_uuid,
    stateSeqno: num(vars.state_seqno),
    lastCommitted: num(vars.last_committed),
    nodesSet: vars.nodes_set,
    nodesView: vars.nodes_view,
    indexes: vars.indexes,
  };
}

/** True when the node is primary + synced in the cluster (optionally with the given size). */
export async function isReady(node: SearchdNode, cluster: string, size?: number): Promise<boolean> {
  const st = await clusterStatus(node, cluster);
  return st !== undefined && st.status === 'primary' && st.nodeState === 'synced' && (size === undefined || st.size === size);
}

// ---------------------------------------------------------------------------------------------
// a local cluster of N nodes

export interface LocalClusterOptions {
  /** parent directory; node i lives in <dir>/node<i> */
  dir: string;
  size: number;
  binaries?: Binaries;
  env?: NodeJS.ProcessEnv;
  factor?: number;
  buddy?: boolean;
  detached?: boolean;
}

/** Replication stays on loopback when this is passed on CREATE and JOIN (real Galera binds 0.0.0.0 otherwise). */
export const LOOPBACK_OPTIONS = 'gmcast.listen_addr=tcp://127.0.0.1';

export class LocalCluster {
  readonly nodes: SearchdNode[];
  readonly factor: number;

  constructor(readonly options: LocalClusterOptions) {
    this.factor = options.factor ?? timeFactor(options.env);
    const binaries = options.binaries ?? resolveBinaries(options.env);
    this.nodes = Array.from(
      { length: options.size },
      (_, i) =>
        new SearchdNode({
          name: `node${i}`,
          dir: path.join(options.dir, `node${i}`),
          serverId: i + 1,
          binaries,
          env: options.env,
          factor: this.factor,
          buddy: options.buddy,
          detached: options.detached,
        }),
    );
  }

  node(i: number): SearchdNode {
    const n = this.nodes[i];
    if (!n) throw new Error(`no node ${i} in a cluster of ${this.nodes.length}`);
    return n;
  }

  /** Starts every node (plainly, in parallel). */
  async startAll(flags: string[] = []): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.start(flags)));
  }

  /** CREATE CLUSTER on node 0, JOIN on the others (one by one), then waits until all are primary + synced. */
  async form(cluster: string): Promise<void> {
    const first = this.node(0);
    await first.sql(`CREATE CLUSTER ${cluster} '${LOOPBACK_OPTIONS}' AS options`);
    await this.waitFor(() => isReady(first, cluster), 'form', `${first.name} primary+synced in '${cluster}'`);
    for (const n of this.nodes.slice(1)) {
      await n.sql(`JOIN CLUSTER ${cluster} AT '${first.apiAddress}' '${LOOPBACK_OPTIONS}' AS options`, { timeoutMs: timeoutMs('form', this.factor) });
    }
    await this.waitFor(
      async () => (await Promise.all(this.nodes.map((n) => isReady(n, cluster, this.nodes.length)))).every(Boolean),
      'form',
      `every node primary+synced in '${cluster}' with size ${this.nodes.length}`,
    );
  }

  status(i: number, cluster: string): Promise<ClusterStatus | undefined> {
    return clusterStatus(this.node(i), cluster);
  }

  waitFor<T>(probe: () => Promise<T | false | undefined> | T | false | undefined, name: TimeoutName, what: string): Promise<T> {
    return waitFor(probe, name, what, { factor: this.factor });
  }

  /** Clean stop of every running node, one by one in order. */
  async stopAll(): Promise<void> {
    for (const n of this.nodes) if (n.running) await n.stopWait();
  }

  /** SIGKILL of every running node. */
  async killAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill('SIGKILL')));
  }

  logTails(lines = 40): string {
    return this.nodes.map((n) => n.logTail(lines)).join('\n');
  }
}
