/**
 * Restore steps (issue 5 item 2), plain async functions shared by the `restore` machine's actors and
 * the `job` subcommand.
 *
 *   fetchArchive    validates the file name (bare `<table>-<ts>.tar.gz` of THIS table), reads the
 *                   manifest, downloads the archive to the shared volume, checks its sha256 against
 *                   the manifest and reads it whole (`inspectArchive`) BEFORE anything is dropped, then
 *                   unpacks it and finds `<source table>.meta` (the IMPORT TABLE path)
 *   replaceDelta    all nodes reachable, then `ALTER CLUSTER c DROP t_delta`, `DROP TABLE t_delta` on
 *                   every node, `IMPORT TABLE t_delta FROM '<path>'` on one node, `ALTER CLUSTER c ADD
 *                   t_delta` (replication gives it to every member)
 *   verifyRows      COUNT(*) of a table on every node == the manifest's rows (polls while replicating)
 * Main restores reuse the blue/green import's effects (src/machines/blue-green-import: import into a
 * slot, verify, flip with rollback, verify serving, drop a slot) from the restore machine.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { managedTableNames } from '../domain/names.js';
import { AppError, errorMessage } from '../lib/errors.js';
import { parseClusterStatuses, parseCount, parseShowTables } from '../manticore/parse.js';
import { alterClusterAdd, alterClusterDrop, dropTable, importTable, selectCount, showStatus, showTables } from '../manticore/sql.js';
import type { NodeRef } from '../platform/types.js';
import { HashingStream, sleep } from './backup.js';
import { manifestKey, objectKey, parseBackupFilename, type ParsedBackupFile } from './names.js';
import type { BackupDeps, BackupManifest, BackupType } from './types.js';

/** How long a restored table may take to reach every node. */
export const REPLICATE_TIMEOUT_MS = 120_000;
const UNPACKED_MARKER = '.unpacked';

export interface RestoreParams {
  operationId: string;
  /** base table name */
  table: string;
  filename: string;
  /** when given it must match the file name's type */
  type?: BackupType;
}

export interface FetchResult {
  file: ParsedBackupFile;
  restoreDir: string;
  /** `<dir>/<source table>` without `.meta`: what IMPORT TABLE reads */
  importPath: string;
  /** manifest rows; undefined for archives without a manifest (the original's) */
  rows?: number;
  sha256?: string;
  archiveBytes: number;
  unpackedBytes: number;
}

export function restoreDir(sharedDir: string, base: string, operationId: string): string {
  return path.join(sharedDir, 'backups', base, `restore-${operationId}`);
}

/** Validates the request's file name and type for `base`. */
export function validateRestoreFile(base: string, filename: unknown, type?: unknown): ParsedBackupFile {
  const file = parseBackupFilename(base, filename);
  if (type !== undefined && type !== file.type) {
    throw new AppError('VALIDATION_FAILED', `type: ${JSON.stringify(filename)} is a ${file.type} backup, but type ${JSON.stringify(type)} was asked; leave type out or send "${file.type}"`, { details: { field: 'type' } });
  }
  return file;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString('utf8');
}

/** The manifest next to `archiveKey`, undefined when there is none. */
export async function readManifest(deps: BackupDeps, archiveKey: string): Promise<BackupManifest | undefined> {
  const key = manifestKey(archiveKey);
  if ((await deps.store.head(key)) === undefined) return undefined;
  const text = await readAll(await deps.store.get(key));
  try {
    return JSON.parse(text) as BackupManifest;
  } catch (err) {
    throw new AppError('MANIFEST_INVALID', `the manifest ${key} is not JSON: ${errorMessage(err)}`);
  }
}

/** First file named `<name>.meta` under dir (breadth-first), as its path without `.meta`. */
export async function findTableFiles(dir: string, name: string): Promise<string | undefined> {
  const queue = [dir];
  while (queue.length > 0) {
    const d = queue.shift()!;
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) if (e.isFile() && e.name === `${name}.meta`) return path.join(d, name);
    for (const e of entries) if (e.isDirectory()) queue.push(path.join(d, e.name));
  }
  return undefined;
}

/** Download, check (sha256 + whole-archive read), unpack; nothing is dropped here. */
export async function fetchArchive(deps: BackupDeps, params: RestoreParams): Promise<FetchResult> {
  const file = validateRestoreFile(params.table, params.filename, params.type);
  const key = objectKey(deps.prefix, file.filename);
  const head = await deps.store.head(key);
  if (head === undefined) throw new AppError('NOT_FOUND', `no archive ${key} in ${deps.store.description}: GET /api/backups/files?tableName=${params.table} lists them`);
  const manifest = await readManifest(deps, key);
  if (manifest && manifest.table !== file.table) {
    throw new AppError('MANIFEST_MISMATCH', `the manifest of ${file.filename} describes ${manifest.table}, not ${file.table}: refusing to restore`);
  }
  const dir = restoreDir(deps.sharedDir, params.table, params.operationId);
  const unpacked = path.join(dir, 'unpacked');
  const download = path.join(dir, file.filename);
  await mkdir(dir, { recursive: true });
  let done = false;
  try {
    await stat(path.join(dir, UNPACKED_MARKER));
    done = true;
  } catch {
    /* not yet */
  }
  let archiveBytes = head.size;
  let unpackedBytes = 0;
  if (!done) {
    await rm(unpacked, { recursive: true, force: true });
    const hasher = new HashingStream();
    await pipeline(await deps.store.get(key), hasher, createWriteStream(download));
    archiveBytes = hasher.bytes;
    const sha = hasher.digest();
    if (manifest && (manifest.sha256 !== sha || manifest.archiveBytes !== hasher.bytes)) {
      await rm(dir, { recursive: true, force: true });
      throw new AppError('ARCHIVE_CORRUPTED', `${file.filename} does not match its manifest (sha256 ${sha}, ${hasher.bytes} bytes; expected ${manifest.sha256}, ${manifest.archiveBytes} bytes): refused, nothing was changed`);
    }
    try {
      await deps.archive.inspectArchive(createReadStream(download));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw new AppError('ARCHIVE_CORRUPTED', `${file.filename} is corrupted or truncated (${errorMessage(err)}): refused, nothing was changed`);
    }
    const r = await deps.archive.unpackArchive(createReadStream(download), unpacked);
    unpackedBytes = r.bytes;
    await rm(download, { force: true });
    await writeFile(path.join(dir, UNPACKED_MARKER), JSON.stringify({ files: r.files, bytes: r.bytes, archiveBytes }));
  }
  const importPath = await findTableFiles(unpacked, file.table);
  if (importPath === undefined) throw new AppError('ARCHIVE_INVALID', `${file.filename} holds no ${file.table}.meta: it is not a manticore-backup of ${file.table}`);
  deps.logger.info('restore: archive fetched', { operationId: params.operationId, archiveKey: key, importPath, archiveBytes });
  const out: FetchResult = { file, restoreDir: dir, importPath, archiveBytes, unpackedBytes };
  // a count that moved while the backup ran is not a check: the nodes must then agree with each other
  if (manifest && manifest.rowsExact !== false) out.rows = manifest.rows;
  if (manifest) {
    out.sha256 = manifest.sha256;
  }
  return out;
}

function nodesSorted(deps: BackupDeps): NodeRef[] {
  return [...deps.nodes()].sort((a, b) => a.ordinal - b.ordinal);
}

async function tablesOf(deps: BackupDeps, node: NodeRef): Promise<Set<string>> {
  return new Set(parseShowTables(await deps.sql(node).query(showTables(), { timeoutMs: 5_000 })).map((t) => t.name));
}

export interface ReplaceDeltaInput {
  operationId: string;
  table: string;
  importPath: string;
}

/** Replaces `<t>_delta` on every node with the backup (see the module comment). */
export async function replaceDelta(deps: BackupDeps, input: ReplaceDeltaInput): Promise<{ importer: string }> {
  const delta = managedTableNames(input.table).delta;
  const nodes = nodesSorted(deps);
  if (nodes.length === 0) throw new AppError('NO_NODES', 'the platform lists no node', { retryable: true });
  // every node must answer before anything is dropped, and the importer must be primary + synced
  let importer: NodeRef | undefined;
  const down: string[] = [];
  for (const n of nodes) {
    try {
      const c = parseClusterStatuses(await deps.sql(n).query(showStatus('cluster%'), { timeoutMs: 5_000 })).find((x) => x.name === deps.clusterName);
      if (importer === undefined && c?.status === 'primary' && c.nodeState === 'synced') importer = n;
    } catch (err) {
      down.push(`${n.name}: ${errorMessage(err)}`);
    }
  }
  if (down.length > 0) throw new AppError('NODES_UNREACHABLE', `every node must answer before ${delta} is replaced: ${down.join('; ')}`, { retryable: true });
  if (importer === undefined) throw new AppError('NO_HEALTHY_NODE', `no node is primary + synced in cluster '${deps.clusterName}'`, { retryable: true });
  const sql = deps.sql(importer);
  const clusters = parseClusterStatuses(await sql.query(showStatus('cluster%'), { timeoutMs: 5_000 }));
  if (clusters.find((c) => c.name === deps.clusterName)?.indexes.includes(delta)) {
    await sql.exec(alterClusterDrop(deps.clusterName, [delta]), { timeoutMs: 60_000 });
  }
  for (const n of nodes) {
    if ((await tablesOf(deps, n)).has(delta)) await deps.sql(n).exec(dropTable(delta, true), { timeoutMs: 60_000 });
  }
  await sql.exec(importTable(delta, input.importPath), { timeoutMs: 30 * 60_000 });
  await sql.exec(alterClusterAdd(deps.clusterName, [delta]), { timeoutMs: 10 * 60_000 });
  deps.logger.info('restore: delta replaced', { operationId: input.operationId, table: delta, importer: importer.name });
  return { importer: importer.name };
}

/** COUNT(*) of `fullTable` on every node == rows (polls until replication delivers or the timeout). */
export async function verifyRows(deps: BackupDeps, fullTable: string, rows: number | undefined, signal?: AbortSignal, timeoutMs = REPLICATE_TIMEOUT_MS): Promise<Record<string, number>> {
  const limit = Date.now() + timeoutMs;
  for (;;) {
    const counts: Record<string, number> = {};
    const wrong: string[] = [];
    for (const n of nodesSorted(deps)) {
      try {
        const c = parseCount(await deps.sql(n).query(selectCount(fullTable), { timeoutMs: 30_000 }));
        if (c === undefined) wrong.push(`${n.name} counts nothing`);
        else counts[n.name] = c;
      } catch (err) {
        wrong.push(`${n.name}: ${errorMessage(err)}`);
      }
    }
    const values = Object.values(counts);
    const expected = rows ?? values[0];
    for (const [n, c] of Object.entries(counts)) if (c !== expected) wrong.push(`${n} counts ${c}`);
    if (wrong.length === 0) return counts;
    if (Date.now() > limit) {
      throw new AppError('ROW_COUNT_MISMATCH', `${fullTable} should hold ${expected ?? 'the same number of'} rows on every node: ${wrong.join('; ')}`, { retryable: true });
    }
    await sleep(deps.pollMs ?? 500, signal);
  }
}

export async function removeRestoreDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A whole delta restore in one call (the `job` subcommand; main restores run through the machine). */
export async function runDeltaRestore(params: RestoreParams, deps: BackupDeps, signal?: AbortSignal): Promise<{ fetched: FetchResult; counts: Record<string, number> }> {
  const fetched = await fetchArchive(deps, params);
  if (fetched.file.type !== 'delta') throw new AppError('VALIDATION_FAILED', 'filename: not a delta backup');
  try {
    await replaceDelta(deps, { operationId: params.operationId, table: params.table, importPath: fetched.importPath });
    const counts = await verifyRows(deps, fetched.file.table, fetched.rows, signal);
    return { fetched, counts };
  } finally {
    await removeRestoreDir(fetched.restoreDir);
  }
}
