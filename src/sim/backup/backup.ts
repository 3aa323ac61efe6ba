/**
 * manticore-backup-sim: backup, restore, list and unlock, following the real `manticore-backup`
 * (messages, preconditions, directory layout; see files.ts for the layout).
 *
 * Backup: FREEZE the tables over HTTP, copy each table's directory, UNFREEZE each table as soon
 * as it is copied, and UNFREEZE every table still frozen whatever happens (copy failure, abort
 * on SIGTERM/SIGINT). Known differences from the real tool: `--compress` uses gzip (`.gz`)
 * instead of zstd (`.zst`); no S3; no version compatibility check on restore (versions are printed).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ConfigError, parseConfig } from '../config/config-file.js';
import { httpEndpoint, readSearchd } from '../config/searchd-config.js';
import type { BackupArgs } from './args.js';
import { sqlRaw, SearchdRequestError, type Endpoint } from './client.js';
import {
  backupDate,
  backupName,
  copyFile,
  copyTree,
  dirSize,
  formatSize,
  GZ_SUFFIX,
  isEmptyDir,
  listBackups,
  listFiles,
  logStamp,
  originPathInBackup,
} from './files.js';

export const BACKUP_TOOL_VERSION = '1.9.6-sim';
export const BANNER = 'manticore-backup-sim (Manticore simulator stand-in for manticore-backup)';

export const UNREACHABLE_MESSAGE =
  "Failed to send query to the Manticore Search daemon. Ensure that it is set up to listen for HTTP or HTTPS connections and has the appropriate certificates in place. Additionally, check the 'max_connections' setting in the configuration file to ensure that it has not been exceeded.";

export interface BackupIo {
  stdout(text: string): void;
  stderr(text: string): void;
  now?: () => Date;
}

/** A failure reported as `[Error] <message>`. */
export class BackupFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupFailure';
  }
}

class Log {
  constructor(private readonly io: BackupIo) {}
  private stamp(): string {
    return logStamp(this.io.now?.() ?? new Date());
  }
  line(text: string): void {
    this.io.stdout(text + '\n');
  }
  info(msg: string): void {
    this.io.stdout(`${this.stamp()} [Info] ${msg}\n`);
  }
  error(msg: string): void {
    this.io.stderr(`${this.stamp()} [Error] ${msg}\n`);
  }
}

interface NodeConfig {
  configPath: string;
  dataDir: string;
  endpoint: Endpoint | undefined;
  pidFile: string | undefined;
}

function loadNodeConfig(file: string, text?: string): NodeConfig {
  let content = text;
  if (content === undefined) {
    try {
      content = fs.readFileSync(file, 'utf8');
    } catch {
      throw new BackupFailure(`Failed to find Manticore config file: ${file}`);
    }
  }
  let sd;
  try {
    sd = readSearchd(parseConfig(content, file));
  } catch (err) {
    if (err instanceof ConfigError) throw new BackupFailure(`Failed to parse config file: ${err.message}`);
    throw err;
  }
  if (sd.dataDir === undefined) {
    throw new BackupFailure(`Failed to find data_dir in config file ${file}: manticore-backup works only in RT mode`);
  }
  return { configPath: path.resolve(file), dataDir: path.resolve(sd.dataDir), endpoint: httpEndpoint(sd), pidFile: sd.pidFile };
}

interface ManifestIndex {
  type: string;
  path?: string;
}

function readManifest(dataDir: string): { file: string; indexes: Record<string, ManifestIndex> } {
  const file = path.join(dataDir, 'manticore.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new BackupFailure(`Failed to find manticore.json in data_dir: ${file}`);
  }
  let parsed: { indexes?: Record<string, ManifestIndex> };
  try {
    parsed = JSON.parse(text) as { indexes?: Record<string, ManifestIndex> };
  } catch {
    throw new BackupFailure(`Failed to parse ${file}`);
  }
  return { file, indexes: parsed.indexes ?? {} };
}

function tableDir(dataDir: string, name: string, ix: ManifestIndex | undefined): string {
  const rel = ix?.path ?? name;
  return path.isAbsolute(rel) ? rel : path.join(dataDir, rel);
}

const BACKUP_TYPES = new Set(['rt', 'percolate']);

async function searchdVersion(ep: Endpoint): Promise<string> {
  const res = await sqlRaw(ep, "SHOW STATUS LIKE 'version'");
  const row = res.data?.[0];
  if (row === undefined) return '';
  const v = row['Value'] ?? row['value'] ?? Object.values(row)[1];
  return typeof v === 'string' ? v : String(v ?? '');
}

function describeError(err: unknown): string {
  if (err instanceof SearchdRequestError && err.unreachable) return UNREACHABLE_MESSAGE;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Backup. Resolves with the exit code. `signal` aborts between files (SIGTERM/SIGINT). */
export async function runBackup(args: BackupArgs, io: BackupIo, signal?: AbortSignal): Promise<number> {
  const log = new Log(io);
  const started = Date.now();
  log.line(BANNER);
  const backupRoot = args.backupDir ?? '';
  if (backupRoot === '' || !fs.existsSync(backupRoot) || !fs.statSync(backupRoot).isDirectory()) {
    log.error(`Failed to find backup dir to store backup: ${backupRoot}`);
    return 1;
  }
  let node: NodeConfig;
  try {
    node = loadNodeConfig(args.config);
  } catch (err) {
    log.error(describeError(err));
    return 1;
  }
  log.line(`Manticore config file: ${args.config}`);
  log.line(`Tables to backup: ${args.tables === undefined ? 'all tables' : args.tables.join(', ')}`);
  log.line(`Backup dir: ${backupRoot}`);
  log.line('Manticore config');
  const ep = node.endpoint;
  log.line(`  endpoint =  ${ep === undefined ? '' : `http://${ep.host}:${ep.port}`}`);
  if (ep === undefined) {
    log.error(UNREACHABLE_MESSAGE);
    return 1;
  }
  let version: string;
  try {
    version = await searchdVersion(ep);
  } catch (err) {
    log.error(describeError(err));
    return 1;
  }
  log.line('Manticore versions:');
  log.line(`  manticore: ${version}`);
  log.info('Starting the backup...');

  const frozen = new Set<string>();
  const unfreeze = async (t: string): Promise<boolean> => {
    try {
      await sqlRaw(ep, `UNFREEZE ${t}`);
      frozen.delete(t);
      return true;
    } catch (err) {
      log.error(`Failed to unfreeze table ${t}: ${describeError(err)}`);
      return false;
    }
  };
  const checkpoint = () => {
    if (signal?.aborted) throw new BackupFailure('The backup was interrupted by a signal');
  };

  let dest: string | undefined;
  let code = 0;
  try {
    const manifest = readManifest(node.dataDir);
    let tables: { name: string; type: string }[];
    if (args.tables !== undefined) {
      const missing = args.tables.filter((t) => manifest.indexes[t] === undefined);
      if (missing.length > 0) throw new BackupFailure(`Can't find some of the tables: ${missing.join(', ')}`);
      tables = args.tables.map((t) => ({ name: t, type: manifest.indexes[t]?.type ?? 'rt' }));
    } else {
      tables = Object.entries(manifest.indexes)
        .map(([name, ix]) => ({ name, type: ix.type }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }

    dest = path.join(backupRoot, backupName(io.now?.() ?? new Date()));
    try {
      fs.mkdirSync(dest);
    } catch {
      dest = undefined;
      throw new BackupFailure(`Failed to create backup directory in ${backupRoot}`);
    }
    const copyOpts = { compress: args.compress, checkpoint };

    log.info('Backing up config files...');
    await copyFile(node.configPath, path.join(dest, originPathInBackup('config', node.configPath)), copyOpts);
    log.info('  config files - OK');

    log.info('Backing up global state files...');
    await copyFile(manifest.file, path.join(dest, originPathInBackup('state', manifest.file)), copyOpts);
    log.info('  global state files – OK');

    log.info('Backing up tables...');
    const toCopy = tables.filter((t) => BACKUP_TYPES.has(t.type));
    if (toCopy.length > 0) {
      checkpoint();
      const names = toCopy.map((t) => t.name);
      for (const n of names) frozen.add(n);
      await sqlRaw(ep, `FREEZE ${names.join(',')}`);
    }
    for (const t of tables) {
      checkpoint();
      if (!BACKUP_TYPES.has(t.type)) {
        log.info(`  ${t.name} (${t.type})...`);
        log.info('  SKIP');
        continue;
      }
      const src = tableDir(node.dataDir, t.name, manifest.indexes[t.name]);
      if (!fs.existsSync(src) || !fs.statSync(src).isDirectory()) {
        throw new BackupFailure(`Failed to find the files of table ${t.name}: ${src}`);
      }
      log.info(`  ${t.name} (${t.type}) [${formatSize(dirSize(src))}]...`);
      // writes made while the table is frozen (`*.wal.frozen`) are not part of the frozen state: a real
      // backup copies only the files FREEZE listed, so rows written meanwhile are not in it
      await copyTree(src, path.join(dest, 'data', t.name), { ...copyOpts, exclude: (rel) => rel.endsWith('.wal.frozen') });
      await unfreeze(t.name);
      log.info('   OK');
    }

    const versions = { backup: BACKUP_TOOL_VERSION, manticore: version, columnar: '', secondary: '', knn: '', buddy: '' };
    fs.writeFileSync(path.join(dest, 'versions.json'), JSON.stringify(versions));
    log.info('Running sync');
    log.info(' OK');
    log.info(`You can find backup here: ${dest}`);
    log.info(`Elapsed time: ${((Date.now() - started) / 1000).toFixed(2)}s`);
    log.info('Done');
  } catch (err) {
    log.error(describeError(err));
    code = 1;
  } finally {
    if (frozen.size > 0) {
      log.info('');
      log.line('Unfreezing all tables...');
      for (const t of [...frozen]) {
        log.info(`  ${t}...`);
        if (await unfreeze(t)) log.info('   OK');
        else code = 1;
      }
    }
    if (code !== 0 && dest !== undefined) fs.rmSync(dest, { recursive: true, force: true });
  }
  return code;
}

/** `--unlock`: UNFREEZE the given tables (default: every table of manticore.json). */
export async function runUnlock(args: BackupArgs, io: BackupIo): Promise<number> {
  const log = new Log(io);
  log.line(BANNER);
  try {
    const node = loadNodeConfig(args.config);
    const ep = node.endpoint;
    if (ep === undefined) throw new BackupFailure(UNREACHABLE_MESSAGE);
    const tables = args.tables ?? Object.keys(readManifest(node.dataDir).indexes).sort();
    log.line('Unfreezing all tables...');
    let code = 0;
    for (const t of tables) {
      log.info(`  ${t}...`);
      try {
        await sqlRaw(ep, `UNFREEZE ${t}`);
        log.info('   OK');
      } catch (err) {
        log.error(describeError(err));
        code = 1;
      }
    }
    return code;
  } catch (err) {
    log.error(describeError(err));
    return 1;
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `--restore` without a name: list the backups. */
export function runList(args: BackupArgs, io: BackupIo): number {
  const log = new Log(io);
  log.line(BANNER);
  const dir = args.backupDir ?? '';
  log.line('Manticore config file:');
  log.line(`Backup dir: ${dir}`);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    log.error(`Failed to find backup dir to restore from: ${dir}`);
    return 1;
  }
  const names = listBackups(dir);
  log.line(`Available backups: ${names.length}`);
  for (const n of names) {
    const d = backupDate(n);
    const p = (x: number) => String(x).padStart(2, '0');
    const when =
      d === undefined
        ? '?'
        : `${MONTHS[d.getMonth()] ?? ''} ${p(d.getDate())} ${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    log.line(`  ${n} (${when})`);
  }
  return 0;
}

/** Is the process in this pid file alive? */
export function pidFileAlive(pidFile: string | undefined): boolean {
  if (pidFile === undefined) return false;
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').trim(), 10);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Original absolute path of a file stored under `<backup>/<subdir>/`, without a `.gz` suffix. */
function originOf(subdirAbs: string, file: string, compressed: boolean): string {
  const rel = path.relative(subdirAbs, file);
  const abs = '/' + rel;
  return compressed && abs.endsWith(GZ_SUFFIX) ? abs.slice(0, -GZ_SUFFIX.length) : abs;
}

function readMaybeGz(file: string): string {
  const buf = fs.readFileSync(file);
  return (file.endsWith(GZ_SUFFIX) ? zlib.gunzipSync(buf) : buf).toString('utf8');
}

/** `--restore=NAME`: restores a whole node; searchd must be stopped and data_dir empty. */
export async function runRestore(args: BackupArgs, io: BackupIo): Promise<number> {
  const log = new Log(io);
  const started = Date.now();
  log.line(BANNER);
  const root = args.backupDir ?? '';
  log.line('Manticore config file:');
  log.line(`Backup dir: ${root}`);
  const backup = path.resolve(root, args.restore ?? '');
  try {
    if (!fs.existsSync(backup) || !fs.statSync(backup).isDirectory()) {
      throw new BackupFailure(`Failed to find backup to restore: ${backup}`);
    }
    let stored = '{}';
    try {
      stored = JSON.stringify(JSON.parse(fs.readFileSync(path.join(backup, 'versions.json'), 'utf8')) as unknown);
    } catch {
      throw new BackupFailure(`Failed to find versions.json in backup: ${backup}`);
    }
    log.info(`Stored versions: ${stored}`);
    log.info(`Current versions: ${JSON.stringify({ backup: BACKUP_TOOL_VERSION, manticore: '15.1.0 (simulator)' })}`);
    log.info('Starting to restore...');

    const configDir = path.join(backup, 'config');
    const stateDir = path.join(backup, 'state');
    const dataDirInBackup = path.join(backup, 'data');
    const configFiles = fs.existsSync(configDir) ? listFiles(configDir).map((f) => path.join(configDir, f)) : [];
    const stateFiles = fs.existsSync(stateDir) ? listFiles(stateDir).map((f) => path.join(stateDir, f)) : [];
    const confFile = configFiles.find((f) => path.basename(f) === 'manticore.conf' || path.basename(f) === `manticore.conf${GZ_SUFFIX}`);
    let node: NodeConfig | undefined;
    if (confFile !== undefined) node = loadNodeConfig(originOf(configDir, confFile, true), readMaybeGz(confFile));

    if (node !== undefined) {
      log.line('Manticore config');
      log.line(`  endpoint =  ${node.endpoint === undefined ? '' : `http://${node.endpoint.host}:${node.endpoint.port}`}`);
    }
    if (pidFileAlive(node?.pidFile)) {
      throw new BackupFailure('Cannot initiate the restore process due to searchd daemon is running.');
    }
    if (node === undefined) throw new BackupFailure('Failed to find config file in original backup');
    for (const f of configFiles) {
      const to = originOf(configDir, f, true);
      if (fs.existsSync(to)) throw new BackupFailure(`Destination file already exists: ${to}`);
    }
    for (const f of stateFiles) {
      const to = originOf(stateDir, f, true);
      if (fs.existsSync(to)) throw new BackupFailure(`Destination file already exists: ${to}`);
    }
    if (!fs.existsSync(node.dataDir) || !fs.statSync(node.dataDir).isDirectory()) {
      throw new BackupFailure(`Failed to find data dir, make sure that it exists: ${node.dataDir}`);
    }
    if (!isEmptyDir(node.dataDir)) throw new BackupFailure(`The data dir to restore is not empty: ${node.dataDir}`);

    log.info('Restoring config files...');
    for (const f of configFiles) await copyFile(f, originOf(configDir, f, false), { decompress: true });
    log.info('  config files - OK');
    log.info('Restoring state files...');
    for (const f of stateFiles) await copyFile(f, originOf(stateDir, f, false), { decompress: true });
    log.info('  state files - OK');
    log.info('Restoring data files...');
    let indexes: Record<string, ManifestIndex> = {};
    const manifestFile = stateFiles.find((f) => /manticore\.json(\.gz)?$/.test(f));
    if (manifestFile !== undefined) {
      try {
        indexes = (JSON.parse(readMaybeGz(manifestFile)) as { indexes?: Record<string, ManifestIndex> }).indexes ?? {};
      } catch {
        indexes = {};
      }
    }
    if (fs.existsSync(dataDirInBackup)) {
      for (const t of fs.readdirSync(dataDirInBackup).sort()) {
        await copyTree(path.join(dataDirInBackup, t), tableDir(node.dataDir, t, indexes[t]), { decompress: true });
      }
    }
    log.info("  tables' files - OK");
    log.info(`The backup '${backup}' was successfully restored.`);
    log.info(`Elapsed time: ${((Date.now() - started) / 1000).toFixed(2)}s`);
    log.info('Done');
    return 0;
  } catch (err) {
    log.error(describeError(err));
    return 1;
  }
}
