/**
 * The `searchd-sim` process: command line, config file, pid file, signals and searchd.log,
 * following real searchd's flags (`--config/-c`, `--new-cluster`, `--new-cluster-force`,
 * `--stop`, `--stopwait`, `--status`; `--nodetach`/`--console` are accepted, the simulator never
 * daemonizes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../lib/logger.js';
import type { ColumnDef } from './sql/ast.js';
import { parseConfig, getValue, getValues } from './config/config-file.js';
import type { ManticoreConfig } from './config/config-file.js';
import { readSearchd, findListener, connectHost } from './config/searchd-config.js';
import type { SearchdConfig } from './config/searchd-config.js';
import { SimNode, manticoreTimestamp } from './node.js';

export { manticoreTimestamp };
import type { ConfigTable, SimNodeOptions } from './node.js';
import { DAEMON_VERSION } from './engine/executor.js';

export interface SearchdArgs {
  config: string;
  newCluster: boolean;
  newClusterForce: boolean;
  stop: boolean;
  stopWait: boolean;
  status: boolean;
}

export const DEFAULT_CONFIG = '/etc/manticoresearch/manticore.conf';

export function parseArgs(argv: string[]): SearchdArgs {
  const a: SearchdArgs = { config: DEFAULT_CONFIG, newCluster: false, newClusterForce: false, stop: false, stopWait: false, status: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--config' || arg === '-c') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} requires a file name`);
      a.config = v;
    } else if (arg.startsWith('--config=')) a.config = arg.slice('--config='.length);
    else if (arg === '--new-cluster') a.newCluster = true;
    else if (arg === '--new-cluster-force') a.newClusterForce = true;
    else if (arg === '--stop') a.stop = true;
    else if (arg === '--stopwait') a.stopWait = true;
    else if (arg === '--status') a.status = true;
    else if (['--nodetach', '--console', '--iostats', '--cpustats', '--logdebug', '--logdebugv', '--logdebugvv', '--safetrace', '--coredump', '--strip-path'].includes(arg)) continue;
    else throw new Error(`unknown option '${arg}'`);
  }
  return a;
}

/** A logger writing `[timestamp] [pid] message` lines synchronously (they survive SIGKILL). */
export function searchdLogger(file: string | undefined): Logger {
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      try {
        if (file) fs.appendFileSync(file, chunk);
        else process.stdout.write(chunk);
      } catch {
        // the log is best effort
      }
      cb();
    },
  });
  const line = winston.format.printf((info) => {
    const { level, message, timestamp: _t, fatal, ...rest } = info as { level: string; message: unknown; timestamp?: unknown; fatal?: unknown } & Record<string, unknown>;
    // Manticore's levels: FATAL (the daemon stops), WARNING, plain info, DEBUG
    const prefix = fatal ? 'FATAL: ' : level === 'warn' || level === 'error' ? 'WARNING: ' : level === 'debug' ? 'DEBUG: ' : '';
    const fields = Object.entries(rest).filter(([k]) => typeof k === 'string' && !k.startsWith('Symbol('));
    const extra = fields.length ? ' ' + fields.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '';
    return `[${manticoreTimestamp()}] [${process.pid}] ${prefix}${String(message)}${extra}`;
  });
  return winston.createLogger({ level: 'info', format: line, transports: [new winston.transports.Stream({ stream: sink })] });
}

const ATTR_KEYS: [string, string][] = [
  ['rt_field', 'text'],
  ['rt_attr_uint', 'uint'],
  ['rt_attr_bigint', 'bigint'],
  ['rt_attr_float', 'float'],
  ['rt_attr_bool', 'bool'],
  ['rt_attr_timestamp', 'timestamp'],
  ['rt_attr_string', 'string'],
  ['rt_attr_json', 'json'],
  ['rt_attr_multi', 'multi'],
  ['rt_attr_multi_64', 'multi64'],
];

/** Tables declared in the config (plain mode). */
export function configTables(config: ManticoreConfig): ConfigTable[] {
  const out: ConfigTable[] = [];
  const dir = path.dirname(path.resolve(config.file));
  for (const name of config.names('table')) {
    const entries = config.resolved('table', name);
    const type = (getValue(entries, 'type') ?? 'plain').toLowerCase();
    const rawPath = getValue(entries, 'path');
    const p = rawPath ? path.resolve(dir, rawPath) : undefined;
    if (type === 'distributed') {
      out.push({
        name,
        type: 'distributed',
        locals: getValues(entries, 'local').flatMap((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
        agents: getValues(entries, 'agent'),
        ha_strategy: (getValue(entries, 'ha_strategy') ?? 'random').toLowerCase(),
        agent_retry_count: Number(getValue(entries, 'agent_retry_count') ?? '0') || 0,
      });
    } else if (type === 'rt' || type === 'percolate' || type === 'pq') {
      const columns: ColumnDef[] = [];
      // keep the config's order of declarations
      for (const e of entries) {
        const m = ATTR_KEYS.find(([k]) => k === e.key);
        if (!m) continue;
        for (const n of e.value.split(',').map((s) => s.trim()).filter(Boolean)) {
          columns.push({ name: n.toLowerCase(), type: m[1], options: m[1] === 'text' ? ['indexed', 'stored'] : [] });
        }
      }
      out.push({ name, type: type === 'rt' ? 'rt' : 'percolate', ...(p ? { path: p } : {}), columns });
    } else if (p) {
      out.push({ name, type: 'plain', path: p });
    }
  }
  return out;
}

export function nodeOptions(config: ManticoreConfig, sd: SearchdConfig, args: SearchdArgs, logger: Logger): SimNodeOptions {
  const addr = (proto: 'mysql' | 'http' | 'sphinx' | 'replication') => {
    const l = findListener(sd, proto);
    return l && l.port !== undefined ? { host: l.host ?? '0.0.0.0', port: l.port } : undefined;
  };
  const api = addr('sphinx');
  const opts: SimNodeOptions = {
    buddy: !sd.buddyDisabled,
    serverId: sd.serverId ?? 0,
    newCluster: args.newCluster,
    newClusterForce: args.newClusterForce,
    logger,
  };
  const ping = sd.entries.filter((e) => e.key === 'ha_ping_interval').pop()?.value;
  if (ping !== undefined && /^\d+$/.test(ping.trim())) opts.haPingIntervalMs = Number(ping.trim());
  const mysql = addr('mysql');
  const http = addr('http');
  const repl = addr('replication');
  if (mysql) opts.mysql = mysql;
  if (http) opts.http = http;
  if (api) opts.api = api;
  if (repl) opts.replication = repl;
  if (sd.queryLog) opts.queryLog = path.resolve(path.dirname(path.resolve(config.file)), sd.queryLog);
  if (sd.nodeAddress) opts.nodeAddress = sd.nodeAddress;
  else if (api) opts.nodeAddress = connectHost({ host: api.host } as Parameters<typeof connectHost>[0]);
  if (sd.dataDir) opts.dataDir = path.resolve(path.dirname(path.resolve(config.file)), sd.dataDir);
  else opts.tables = configTables(config);
  return opts;
}

function readPid(file: string | undefined): number | undefined {
  if (!file || !fs.existsSync(file)) return undefined;
  const n = Number(fs.readFileSync(file, 'utf8').trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Runs the process; resolves with the exit code for commands, or never for a running daemon. */
export async function runSearchd(argv: string[], io: Io): Promise<number> {
  let args: SearchdArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    io.err(`FATAL: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  io.out(`Manticore ${DAEMON_VERSION}\nCopyright (c) 2001-2016, Andrew Aksyonoff\nCopyright (c) 2008-2016, Sphinx Technologies Inc (http://sphinxsearch.com)\nCopyright (c) 2017-2025, Manticore Software LTD (https://manticoresearch.com)\n\n`);
  let config: ManticoreConfig;
  let sd: SearchdConfig;
  try {
    io.out(`using config file '${args.config}' (${fs.statSync(args.config).size} chars)...\n`);
    config = parseConfig(fs.readFileSync(args.config, 'utf8'), args.config);
    sd = readSearchd(config);
  } catch (err) {
    io.err(`FATAL: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const pidFile = sd.pidFile ? path.resolve(path.dirname(path.resolve(args.config)), sd.pidFile) : undefined;

  if (args.status || args.stop || args.stopWait) {
    const pid = readPid(pidFile);
    if (pid === undefined || !alive(pid)) {
      io.err(`FATAL: stop: failed to read valid pid from '${pidFile ?? ''}'\n`);
      return 1;
    }
    if (args.status) {
      io.out(`searchd is running (pid ${pid})\n`);
      return 0;
    }
    process.kill(pid, 'SIGTERM');
    if (args.stop) {
      io.out(`stop: successfully sent SIGTERM to pid ${pid}\n`);
      return 0;
    }
    while (alive(pid)) await sleep(50);
    io.out(`stop: successfully terminated pid ${pid}\n`);
    return 0;
  }

  if (sd.dataDir && config.names('table').length > 0) {
    io.err("FATAL: 'data_dir' cannot be mixed with table declarations in the config file\n");
    return 1;
  }
  const logFile = sd.log ? path.resolve(path.dirname(path.resolve(args.config)), sd.log) : undefined;
  if (logFile) fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const logger = searchdLogger(logFile);
  const existing = readPid(pidFile);
  if (existing !== undefined && existing !== process.pid && alive(existing)) {
    io.err(`FATAL: failed to lock pid file '${pidFile}': Resource temporarily unavailable (searchd already running?)\n`);
    return 1;
  }
  // a crash is a crash, but say why in searchd.log first
  const crash = (kind: string) => (err: unknown) => {
    // written directly: the process exits before winston's stream would flush
    const line = `[${manticoreTimestamp()}] [${process.pid}] FATAL: ${kind}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`;
    try {
      if (logFile) fs.appendFileSync(logFile, line);
    } catch {
      // nothing more to do
    }
    io.err(`FATAL: ${kind}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled rejection'));
  logger.info(`Manticore ${DAEMON_VERSION}`);
  logger.info(`using config file '${args.config}'`);
  const node = new SimNode(nodeOptions(config, sd, args, logger));
  try {
    await node.start();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    logger.error(msg, { fatal: true });
    io.err(`FATAL: ${msg}\n`);
    return 1;
  }
  if (pidFile) {
    fs.mkdirSync(path.dirname(pidFile), { recursive: true });
    fs.writeFileSync(pidFile, `${process.pid}\n`);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`caught ${signal}, shutting down`);
    void node
      .stop()
      .catch((err: unknown) => logger.error(`shutdown: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        if (pidFile && readPid(pidFile) === process.pid) fs.rmSync(pidFile, { force: true });
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    logger.info('caught SIGHUP (seamless rotate)');
    node.rotate();
  });
  return new Promise<number>(() => undefined);
}
