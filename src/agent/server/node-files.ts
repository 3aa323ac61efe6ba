/**
 * What the agent reads from the node's disk: `grastate.dat`, `manticore.json` and the searchd
 * config's `searchd` section (pid_file, data_dir, the mysql41 listener). Pure parsers plus thin
 * readers; a missing file is an answer, not an error.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Grastate } from '../protocol.js';

export const GRASTATE_FILE = 'grastate.dat';
export const MANTICORE_JSON = 'manticore.json';

/**
 * Parses Galera's grastate.dat (`key: value` lines, `#` comments). Fields that are absent or malformed
 * are left out; the file existing is reported by `exists: true`.
 */
export function parseGrastate(text: string): Grastate {
  const out: Grastate = { exists: true };
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_.]+)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1];
    const value = (m[2] ?? '').trim();
    if (key === 'uuid' && value !== '') out.uuid = value;
    else if (key === 'seqno' && /^-?\d+$/.test(value)) out.seqno = Number(value);
    else if (key === 'safe_to_bootstrap' && /^[01]$/.test(value)) out.safeToBootstrap = value === '1';
  }
  return out;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

export interface SavedState {
  /** `clusters` keys of manticore.json */
  clusters: string[];
  /** each saved cluster's `path` (relative to data_dir unless absolute; '' means data_dir) */
  clusterPaths: string[];
  /** `indexes` keys of manticore.json */
  tables: string[];
  /** manticore.json exists */
  exists: boolean;
  /** set when manticore.json exists but is not a JSON object: what is wrong */
  unreadable?: string;
}

/** Parses manticore.json text; a file that is not a JSON object counts as holding nothing. */
export function parseManticoreJson(text: string): SavedState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { clusters: [], clusterPaths: [], tables: [], exists: true, unreadable: `not valid JSON (${(err as Error).message})` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { clusters: [], clusterPaths: [], tables: [], exists: true, unreadable: 'not a JSON object' };
  }
  const obj = json as Record<string, unknown>;
  const clustersRaw = obj['clusters'];
  const clusters = typeof clustersRaw === 'object' && clustersRaw !== null ? (clustersRaw as Record<string, unknown>) : {};
  const indexesRaw = obj['indexes'];
  const indexes = typeof indexesRaw === 'object' && indexesRaw !== null ? Object.keys(indexesRaw as Record<string, unknown>) : [];
  const clusterPaths = Object.values(clusters).map((c) => {
    const p = typeof c === 'object' && c !== null ? (c as Record<string, unknown>)['path'] : undefined;
    return typeof p === 'string' ? p : '';
  });
  return { clusters: Object.keys(clusters).sort(), clusterPaths, tables: indexes.sort(), exists: true };
}

export async function readSavedState(dataDir: string): Promise<SavedState> {
  const text = await readOptional(path.join(dataDir, MANTICORE_JSON));
  if (text === undefined) return { clusters: [], clusterPaths: [], tables: [], exists: false };
  return parseManticoreJson(text);
}

/**
 * grastate.dat of the node: the first found in data_dir itself, then in each saved cluster's path
 * (Manticore keeps it in the cluster's path, data_dir by default). `{exists:false}` when none is found.
 */
export async function readGrastate(dataDir: string, clusterPaths: readonly string[] = []): Promise<Grastate> {
  const dirs = [dataDir];
  for (const p of clusterPaths) {
    const dir = p === '' ? dataDir : path.isAbsolute(p) ? p : path.join(dataDir, p);
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  for (const dir of dirs) {
    const text = await readOptional(path.join(dir, GRASTATE_FILE));
    if (text !== undefined) return parseGrastate(text);
  }
  return { exists: false };
}

export interface SearchdSection {
  pidFile?: string;
  dataDir?: string;
  /** host:port of the first mysql41 listener */
  mysql?: { host: string; port: number };
}

/**
 * The agent's needs from a Manticore config file: the `searchd { ... }` section's pid_file, data_dir
 * and mysql41 listener. Comments (`#`) and `\` line continuations are handled; relative paths are
 * resolved against the config file's directory.
 */
export function parseSearchdSection(text: string, configFile: string): SearchdSection {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const m = /(?:^|\n)\s*searchd\s*\{([^}]*)\}/.exec(joined);
  const out: SearchdSection = {};
  if (!m) return out;
  const base = path.dirname(path.resolve(configFile));
  const resolve = (p: string) => (path.isAbsolute(p) ? p : path.resolve(base, p));
  for (const rawLine of (m[1] ?? '').split('\n')) {
    const line = rawLine.replace(/#.*$/, '').trim();
    const kv = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    const key = (kv[1] ?? '').toLowerCase();
    const value = (kv[2] ?? '').trim();
    if (key === 'pid_file' && value !== '') out.pidFile = resolve(value);
    else if (key === 'data_dir' && value !== '') out.dataDir = resolve(value);
    else if (key === 'listen' && out.mysql === undefined) {
      const listen = /^(?:([^:]+):)?(\d+)(?:-\d+)?:mysql(?:41)?(?:_vip)?$/i.exec(value);
      if (listen) {
        const host = listen[1] === undefined || listen[1] === '0.0.0.0' ? '127.0.0.1' : listen[1];
        out.mysql = { host, port: Number(listen[2]) };
      }
    }
  }
  return out;
}

export async function readSearchdSection(configFile: string): Promise<SearchdSection | undefined> {
  const text = await readOptional(configFile);
  return text === undefined ? undefined : parseSearchdSection(text, configFile);
}

/** The pid in a pid file when that process is alive (signal 0 succeeds or is refused), else undefined. */
export async function livePid(pidFile: string): Promise<number | undefined> {
  const text = await readOptional(pidFile);
  if (text === undefined) return undefined;
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}
