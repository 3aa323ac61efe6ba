/**
 * tar.gz archives as streams (tar-stream + zlib), so memory stays flat whatever the table size:
 *
 * - `packDirectory(dir)`: a gzipped tar of every directory and regular file under `dir`, names relative to it,
 *   in a stable (sorted, depth-first) order. Anything else (symlink, socket, device) fails the stream: a backup
 *   must not silently miss a file.
 * - `unpackArchive(stream, destDir)`: extracts regular files and directories only; an entry that is absolute,
 *   has a `..` segment, or is a link or device is refused with ARCHIVE_UNSAFE_ENTRY before anything is written
 *   for it, so nothing is ever written outside destDir.
 * - `inspectArchive(stream)`: reads a whole archive without extracting it: entry list, sizes, sha256 of the
 *   compressed bytes; truncation and corruption (gzip or tar errors) fail with ARCHIVE_TRUNCATED or
 *   ARCHIVE_CORRUPT. Restores run it before dropping anything.
 * - `archiveName` / `parseArchiveName`: the original naming `<table>-YYYY-MM-DDTHH-MM-SSZ.tar.gz`.
 * - `Sha256PassThrough`: a pass-through that hashes what flows through it.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { AppError, errorMessage } from '../lib/errors.js';
import { isValidIdentifier, validateIdentifier } from '../manticore/identifiers.js';

// ---------------------------------------------------------------------------------------------- naming

const STAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})Z$/;
const NAME_RE = /^(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)\.tar\.gz$/;

/** `2025-01-28T22:50:49.123Z` → `2025-01-28T22-50-49Z` (UTC, seconds, dashes instead of colons). */
export function archiveTimestamp(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new AppError('INVALID_DATE', 'archive timestamp: the date is invalid');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

/** `archiveName('addresses_delta', d)` → `addresses_delta-2025-01-28T22-50-49Z.tar.gz`. */
export function archiveName(table: string, date: Date): string {
  validateIdentifier(table, 'table');
  return `${table}-${archiveTimestamp(date)}.tar.gz`;
}

/** The table and time of an archive file name (a bare name, not a key), or undefined when it is not one. */
export function parseArchiveName(filename: string): { table: string; date: Date } | undefined {
  const m = NAME_RE.exec(filename);
  if (!m) return undefined;
  const table = m[1] as string;
  const stamp = m[2] as string;
  if (!isValidIdentifier(table, 'table')) return undefined;
  const parts = STAMP_RE.exec(stamp);
  if (!parts) return undefined;
  const [y, mo, d, h, mi, s] = parts.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Refuse dates that roll over (month 13, 31 February...): the text must round-trip.
  if (Number.isNaN(date.getTime()) || archiveTimestamp(date) !== stamp) return undefined;
  return { table, date };
}

// ---------------------------------------------------------------------------------------------- sha256

/** A pass-through that hashes every byte; `digest()` (hex) once the stream has ended. */
export class Sha256PassThrough extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private hex: string | undefined;
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.hex = this.hash.digest('hex');
    cb();
  }

  digest(): string {
    if (this.hex === undefined) throw new AppError('SHA256_NOT_READY', 'sha256: the stream has not ended yet');
    return this.hex;
  }
}

export function sha256PassThrough(): Sha256PassThrough {
  return new Sha256PassThrough();
}

// ---------------------------------------------------------------------------------------------- pack

export interface PackOptions {
  /** gzip level 0-9; default 1 (fast: backup data is mostly already compact, throughput matters more). */
  gzipLevel?: number;
}

export function packDirectory(dir: string, opts: PackOptions = {}): Readable {
  const root = path.resolve(dir);
  const pack = tar.pack();
  const level = opts.gzipLevel ?? 1;
  const gzip = createGzip({ level, chunkSize: 64 * 1024 });
  const out = new PassThrough();
  const fail = (err: unknown): void => {
    const e = err instanceof AppError ? err : new AppError('ARCHIVE_PACK_FAILED', `packing ${root} failed: ${errorMessage(err)}`, { cause: err });
    pack.destroy(e);
    gzip.destroy(e);
    out.destroy(e);
  };
  pipeline(pack, gzip, out).catch(fail);

  const addFile = (name: string, full: string, size: number, mode: number, mtime: Date): Promise<void> =>
    new Promise((resolve, reject) => {
      const entry = pack.entry({ name, size, mode: mode & 0o7777, mtime, type: 'file' }, (err) => (err ? reject(err) : resolve()));
      pipeline(createReadStream(full), entry).catch(reject);
    });

  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      if (out.destroyed) return;
      const full = path.join(abs, name);
      const relName = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(full);
      if (st.isDirectory()) {
        await new Promise<void>((resolve, reject) => {
          pack.entry({ name: `${relName}/`, type: 'directory', mode: st.mode & 0o7777, mtime: st.mtime }, (err) => (err ? reject(err) : resolve()));
        });
        await walk(full, relName);
      } else if (st.isFile()) {
        await addFile(relName, full, st.size, st.mode, st.mtime);
      } else {
        throw new AppError('ARCHIVE_UNSUPPORTED_ENTRY', `cannot archive ${full}: only regular files and directories are archived, and this is not one`, {
          details: { path: full },
        });
      }
    }
  };

  (async () => {
    const st = await lstat(root);
    if (!st.isDirectory()) throw new AppError('ARCHIVE_PACK_FAILED', `cannot archive ${root}: not a directory`);
    await walk(root, '');
    pack.finalize();
  })().catch(fail);
  return out;
}

// ---------------------------------------------------------------------------------------------- entry checks

export type ArchiveEntryType = 'file' | 'directory';

export interface ArchiveEntry {
  name: string;
  type: ArchiveEntryType;
  size: number;
}

function unsafe(name: string, why: string): AppError {
  return new AppError('ARCHIVE_UNSAFE_ENTRY', `archive entry "${name}" refused: ${why}; nothing was written for it`, {
    details: { entry: name },
  });
}

/**
 * Checks one header and returns its normalised relative name (no trailing "/"). Refused: anything but a
 * regular file or a directory, absolute names (also `C:` and backslashes), `..` segments, NUL.
 */
export function checkEntry(header: tar.Header): ArchiveEntry {
  const raw = header.name;
  const type = header.type ?? 'file';
  if (type !== 'file' && type !== 'directory') {
    throw unsafe(raw, `its type is ${type}; only regular files and directories are accepted`);
  }
  if (raw.includes('\0')) throw unsafe(raw, 'the name contains NUL');
  if (raw.includes('\\')) throw unsafe(raw, 'the name contains a backslash');
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) throw unsafe(raw, 'the name is absolute');
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) throw unsafe(raw, 'the name has a ".." segment (path traversal)');
  if (segments.length === 0) {
    if (type === 'directory') return { name: '', type, size: 0 };
    throw unsafe(raw, 'the name is empty');
  }
  return { name: segments.join('/'), type, size: type === 'file' ? (header.size ?? 0) : 0 };
}

function readError(err: unknown, what: string): AppError {
  if (err instanceof AppError) return err;
  const msg = errorMessage(err);
  const code = (err as { code?: unknown } | undefined)?.code;
  const truncated = code === 'Z_BUF_ERROR' || /unexpected end|premature close|truncated/i.test(msg);
  return new AppError(
    truncated ? 'ARCHIVE_TRUNCATED' : 'ARCHIVE_CORRUPT',
    `${what}: the archive is ${truncated ? 'truncated' : 'corrupt'} (${msg})`,
    { cause: err },
  );
}

// ---------------------------------------------------------------------------------------------- unpack

export interface UnpackOptions {
  /** Refuse archives whose files add up to more than this many bytes (ARCHIVE_TOO_LARGE). */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface UnpackResult {
  /** Relative names of the regular files written, in archive order. */
  files: string[];
  /** Bytes of file content written. */
  bytes: number;
}

/**
 * Extracts `stream` (tar.gz) into `destDir` (created if missing). On any error the promise rejects; files
 * extracted before the error stay in destDir, so callers extract into a fresh directory they remove.
 */
export async function unpackArchive(stream: Readable, destDir: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const root = path.resolve(destDir);
  await mkdir(root, { recursive: true });
  const extract = tar.extract();
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  const feeding = pipeline(stream, gunzip, extract, opts.signal ? { signal: opts.signal } : {});
  feeding.catch(() => undefined);
  const files: string[] = [];
  let bytes = 0;
  try {
    for await (const entryStream of extract) {
      const entry = checkEntry(entryStream.header);
      const target = entry.name === '' ? root : path.join(root, ...entry.name.split('/'));
      if (target !== root && !target.startsWith(root + path.sep)) throw unsafe(entryStream.header.name, 'it resolves outside the destination');
      if (entry.type === 'directory') {
        await mkdir(target, { recursive: true, mode: 0o755 });
        entryStream.resume();
        continue;
      }
      bytes += entry.size;
      if (opts.maxBytes !== undefined && bytes > opts.maxBytes) {
        throw new AppError('ARCHIVE_TOO_LARGE', `the archive holds more than ${opts.maxBytes} bytes of files; refused`, { details: { maxBytes: opts.maxBytes } });
      }
      await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
      // 'wx': never follow or overwrite an existing path (a duplicate entry or a planted link).
      const mode = ((entryStream.header.mode ?? 0o644) & 0o777) | 0o600;
      await pipeline(entryStream, createWriteStream(target, { flags: 'wx', mode }));
      files.push(entry.name);
    }
    await feeding;
  } catch (err) {
    stream.destroy();
    gunzip.destroy();
    extract.destroy();
    await feeding.catch(() => undefined);
    if (opts.signal?.aborted) throw new AppError('ARCHIVE_ABORTED', `extracting into ${root} was aborted`, { cause: opts.signal.reason, retryable: true });
    if (err instanceof AppError) throw err;
    const fsCode = (err as { code?: unknown } | undefined)?.code;
    if (typeof fsCode === 'string' && /^E[A-Z]+$/.test(fsCode) && fsCode !== 'ERR_STREAM_PREMATURE_CLOSE') {
      throw new AppError('ARCHIVE_EXTRACT_FAILED', `extracting into ${root} failed: ${errorMessage(err)}`, { cause: err, retryable: fsCode === 'ENOSPC' });
    }
    throw readError(err, `extracting into ${root}`);
  }
  return { files, bytes };
}

// ---------------------------------------------------------------------------------------------- inspect

export interface InspectResult {
  entries: ArchiveEntry[];
  /** Number of regular files. */
  files: number;
  /** Bytes of file content (uncompressed). */
  bytes: number;
  /** Bytes of the compressed stream read. */
  compressedBytes: number;
  /** sha256 (hex) of the compressed stream: the archive object's own checksum. */
  sha256: string;
}

/** Reads a whole archive without writing anything; rejects on truncation, corruption or an unsafe entry. */
export async function inspectArchive(stream: Readable, opts: { signal?: AbortSignal } = {}): Promise<InspectResult> {
  const hasher = new Sha256PassThrough();
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  const extract = tar.extract();
  const feeding = pipeline(stream, hasher, gunzip, extract, opts.signal ? { signal: opts.signal } : {});
  feeding.catch(() => undefined);
  const entries: ArchiveEntry[] = [];
  let bytes = 0;
  try {
    for await (const entryStream of extract) {
      const entry = checkEntry(entryStream.header);
      let seen = 0;
      for await (const chunk of entryStream) seen += (chunk as Buffer).length;
      if (seen !== entry.size) throw new AppError('ARCHIVE_TRUNCATED', `entry "${entry.name}" has ${seen} of ${entry.size} bytes`);
      bytes += seen;
      entries.push(entry);
    }
    await feeding;
  } catch (err) {
    stream.destroy();
    hasher.destroy();
    gunzip.destroy();
    extract.destroy();
    await feeding.catch(() => undefined);
    if (opts.signal?.aborted) throw new AppError('ARCHIVE_ABORTED', 'archive inspection was aborted', { cause: opts.signal.reason, retryable: true });
    throw readError(err, 'inspecting the archive');
  }
  return {
    entries,
    files: entries.filter((e) => e.type === 'file').length,
    bytes,
    compressedBytes: hasher.bytes,
    sha256: hasher.digest(),
  };
}
