/**
 * Typed view of a config's `searchd { }` section: the settings the simulator (and the
 * backup tool) use, with listeners parsed the way Manticore reads `listen` lines.
 *
 *   listen = 9312                          binary API on all interfaces
 *   listen = 127.0.0.1:9306:mysql41        (also `mysql`)
 *   listen = 9308:http                     (also https)
 *   listen = 127.0.0.1:9350-9359:replication
 *   listen = /var/run/manticore.sock:mysql41   unix socket
 *   listen = 9306:mysql_vip, 9306:mysql_readonly, ...
 *
 * A listener with no protocol is the binary API (`sphinx`).
 */
import { ConfigError, getValue, getValues, type ConfigEntry, type ManticoreConfig } from './config-file.js';

export type ListenerProto = 'sphinx' | 'mysql' | 'http' | 'https' | 'replication';

export interface Listener {
  /** the `listen` value as written */
  raw: string;
  /** host or IP; `0.0.0.0` when only a port was given; undefined for a unix socket */
  host?: string;
  port?: number;
  /** last port of a `a-b` range (replication) */
  portEnd?: number;
  /** unix socket path */
  socket?: string;
  proto: ListenerProto;
  /** the protocol word as written (mysql41, sphinx_vip, ...) or '' when none */
  protoRaw: string;
  vip: boolean;
  readonly: boolean;
  line: number;
}

export interface SearchdConfig {
  listeners: Listener[];
  dataDir?: string;
  nodeAddress?: string;
  serverId?: number;
  binlogPath?: string;
  pidFile?: string;
  log?: string;
  queryLog?: string;
  /** the `buddy_path` value; undefined when the key is absent */
  buddyPath?: string;
  /** `buddy_path =` present and empty: Buddy is disabled */
  buddyDisabled: boolean;
  /** `seamless_rotate` (default 1) */
  seamlessRotate: boolean;
  /** every searchd entry, for settings not modelled here */
  entries: ConfigEntry[];
}

const PROTOS: Record<string, ListenerProto> = {
  sphinx: 'sphinx',
  mysql41: 'mysql',
  mysql: 'mysql',
  http: 'http',
  https: 'https',
  replication: 'replication',
};

/** What searchd listens on when the config has no `listen` line. */
export const DEFAULT_LISTENS = ['9312', '9306:mysql41', '9308:http'];

function parsePort(text: string, file: string, line: number): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(`invalid port '${text}' in listen`, file, line);
  const p = Number(text);
  if (p < 1 || p > 65535) throw new ConfigError(`port ${p} out of range in listen`, file, line);
  return p;
}

function parseProto(word: string, file: string, line: number): { proto: ListenerProto; vip: boolean; readonly: boolean } {
  const w = word.toLowerCase();
  let base = w;
  let vip = false;
  let readonly = false;
  if (base.endsWith('_vip')) {
    vip = true;
    base = base.slice(0, -4);
  }
  if (base.endsWith('_readonly')) {
    readonly = true;
    base = base.slice(0, -9);
  }
  if (base.endsWith('_vip')) {
    vip = true;
    base = base.slice(0, -4);
  }
  const proto = PROTOS[base];
  if (proto === undefined) throw new ConfigError(`unknown listen protocol '${word}'`, file, line);
  return { proto, vip, readonly };
}

/** Parses one `listen` value. */
export function parseListener(value: string, file = 'config', line = 0): Listener {
  const raw = value.trim();
  if (raw === '') throw new ConfigError('empty listen value', file, line);
  const base = { raw, line };
  if (raw.startsWith('/')) {
    const idx = raw.lastIndexOf(':');
    if (idx > 0) {
      const p = parseProto(raw.slice(idx + 1), file, line);
      return { ...base, socket: raw.slice(0, idx), protoRaw: raw.slice(idx + 1), ...p };
    }
    return { ...base, socket: raw, proto: 'sphinx', protoRaw: '', vip: false, readonly: false };
  }
  const parts = raw.split(':');
  let host = '0.0.0.0';
  let portText: string;
  let protoRaw = '';
  if (parts.length === 1) {
    portText = parts[0] ?? '';
  } else if (parts.length === 2) {
    const [a = '', b = ''] = parts;
    // `9306:mysql41` or `host:9312`
    if (/^\d+(-\d+)?$/.test(a) && !/^\d+(-\d+)?$/.test(b)) {
      portText = a;
      protoRaw = b;
    } else {
      host = a;
      portText = b;
    }
  } else if (parts.length === 3) {
    const [a = '', b = '', c = ''] = parts;
    host = a;
    portText = b;
    protoRaw = c;
  } else {
    throw new ConfigError(`invalid listen value '${raw}'`, file, line);
  }
  if (host === '') throw new ConfigError(`invalid listen value '${raw}'`, file, line);
  const range = /^(\d+)-(\d+)$/.exec(portText);
  let port: number;
  let portEnd: number | undefined;
  if (range !== null) {
    port = parsePort(range[1] ?? '', file, line);
    portEnd = parsePort(range[2] ?? '', file, line);
    if (portEnd < port) throw new ConfigError(`invalid port range '${portText}' in listen`, file, line);
  } else {
    port = parsePort(portText, file, line);
  }
  const p = protoRaw === '' ? { proto: 'sphinx' as const, vip: false, readonly: false } : parseProto(protoRaw, file, line);
  if (portEnd !== undefined && p.proto !== 'replication') {
    throw new ConfigError(`port range is only allowed for replication listeners ('${raw}')`, file, line);
  }
  const out: Listener = { ...base, host, port, protoRaw, ...p };
  if (portEnd !== undefined) out.portEnd = portEnd;
  return out;
}

/** Reads the `searchd` section. Throws ConfigError when there is none or a value is invalid. */
export function readSearchd(config: ManticoreConfig): SearchdConfig {
  const section = config.section('searchd');
  if (section === undefined) throw new ConfigError("no 'searchd' section", config.file);
  const entries = section.entries;
  let listeners = entries.filter((e) => e.key === 'listen').map((e) => parseListener(e.value, config.file, e.line));
  // without any `listen`, searchd listens on its defaults
  if (listeners.length === 0) listeners = DEFAULT_LISTENS.map((v) => parseListener(v, config.file, 0));
  const out: SearchdConfig = {
    listeners,
    buddyDisabled: false,
    seamlessRotate: true,
    entries,
  };
  const str = (key: string): string | undefined => {
    const v = getValue(entries, key);
    return v === undefined || v === '' ? undefined : v;
  };
  const dataDir = str('data_dir');
  if (dataDir !== undefined) out.dataDir = dataDir;
  const nodeAddress = str('node_address');
  if (nodeAddress !== undefined) out.nodeAddress = nodeAddress;
  const serverId = str('server_id');
  if (serverId !== undefined) {
    const line = entries.find((e) => e.key === 'server_id')?.line;
    if (!/^\d+$/.test(serverId)) throw new ConfigError(`server_id must be an integer, got '${serverId}'`, config.file, line);
    out.serverId = Number(serverId);
  }
  const binlogPath = getValue(entries, 'binlog_path');
  if (binlogPath !== undefined) out.binlogPath = binlogPath;
  const pidFile = str('pid_file');
  if (pidFile !== undefined) out.pidFile = pidFile;
  const log = str('log');
  if (log !== undefined) out.log = log;
  const queryLog = str('query_log');
  if (queryLog !== undefined) out.queryLog = queryLog;
  const buddy = getValues(entries, 'buddy_path');
  const lastBuddy = buddy[buddy.length - 1];
  if (lastBuddy !== undefined) {
    out.buddyPath = lastBuddy;
    out.buddyDisabled = lastBuddy === '';
  }
  const seamless = str('seamless_rotate');
  if (seamless !== undefined) out.seamlessRotate = seamless !== '0';
  return out;
}

/** The first listener of a protocol (plain, not VIP, preferred). */
export function findListener(sd: SearchdConfig, proto: ListenerProto): Listener | undefined {
  const all = sd.listeners.filter((l) => l.proto === proto && l.socket === undefined);
  return all.find((l) => !l.vip) ?? all[0];
}

/**
 * Where to send HTTP requests: an `http` listener, else the binary API one (Manticore's
 * binary listener also answers HTTP).
 */
export function httpEndpoint(sd: SearchdConfig): { host: string; port: number } | undefined {
  const l = findListener(sd, 'http') ?? findListener(sd, 'sphinx');
  if (l === undefined || l.port === undefined) return undefined;
  return { host: connectHost(l), port: l.port };
}

/** A connectable address for a listener: `0.0.0.0` becomes 127.0.0.1. */
export function connectHost(l: Listener): string {
  return l.host === undefined || l.host === '0.0.0.0' ? '127.0.0.1' : l.host;
}
