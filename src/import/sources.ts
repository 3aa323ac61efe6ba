/**
 * Import sources: absolute paths on the node (the shared volume), https:// URLs (plain http:// only
 * on loopback, for tests and local sidecars), and objects `s3://bucket/key` / `gs://bucket/object` read
 * through src/storage's ObjectStore (endpoint and region from src/config/import-sources.ts, credentials
 * from the SDKs' default chains; the store modules are loaded only when such a source is used). Pre-flight checks that every source exists/answers and
 * learns its size; the disk check compares free space with Manticore's rebuild guidance (about 3x the
 * data). Reading streams a source chunk by chunk (fetch streaming for URLs), never the whole file.
 */
import { createReadStream } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { processEnv } from '../config/index.js';
import { loadImportStoreSettings, type ImportStoreSettings } from '../config/import-sources.js';
import { isAppError, ValidationError } from '../lib/errors.js';
import type { ObjectStore } from '../storage/types.js';

/** Manticore's guidance: a rebuild needs about 3x the table's size on disk. */
export const DISK_FACTOR = 3;
/** Timeout of one pre-flight request (HEAD / ranged GET) to a URL source. */
export const PREFLIGHT_TIMEOUT_MS = 15_000;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export type SourceRef =
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: URL }
  | { kind: 'object'; store: 's3' | 'gcs'; bucket: string; key: string };

const OBJECT_SCHEMES = { 's3:': 's3', 'gs:': 'gcs' } as const;

/** `s3://bucket/key` or `gs://bucket/object` (the key as written: no decoding, no query). */
function parseObjectUrl(value: string, field: string): SourceRef | undefined {
  const m = /^(s3|gs):\/\/([^/]*)\/?(.*)$/i.exec(value);
  if (m === null) return undefined;
  const scheme = `${(m[1] as string).toLowerCase()}:` as keyof typeof OBJECT_SCHEMES;
  const bucket = m[2] as string;
  const key = m[3] as string;
  const example = scheme === 's3:' ? 's3://bucket/path/products.csv' : 'gs://bucket/path/products.csv';
  if (!/^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/.test(bucket)) {
    throw new ValidationError(field, `${JSON.stringify(value)}: ${JSON.stringify(bucket)} is not a bucket name (lower-case letters, digits, '.', '-', '_'): write ${example}`);
  }
  if (key === '' || key.endsWith('/')) throw new ValidationError(field, `${JSON.stringify(value)} names no object: write ${example}`);
  // eslint-disable-next-line no-control-regex
  if (key.length > 1024 || /[\u0000-\u001f\u007f]/.test(key) || key.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
    throw new ValidationError(field, `${JSON.stringify(value)}: the object key must be at most 1024 characters of plain segments separated by single '/': write ${example}`);
  }
  return { kind: 'object', store: OBJECT_SCHEMES[scheme], bucket, key };
}

/** Parses one source; throws ValidationError naming `field` and the fix. */
export function parseSource(value: unknown, field: string): SourceRef {
  if (typeof value !== 'string' || value === '') throw new ValidationError(field, 'must be an absolute path, an https:// URL, s3://bucket/key or gs://bucket/object');
  if (/[\0\r\n]/.test(value)) throw new ValidationError(field, 'must not contain NUL, CR or LF characters');
  if (value.startsWith('/')) return { kind: 'file', path: path.normalize(value) };
  const object = parseObjectUrl(value, field);
  if (object !== undefined) return object;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(field, `${JSON.stringify(value)} is neither an absolute path nor a URL: use /path/on/the/volume.csv or https://host/file.csv`);
  }
  if (url.protocol === 'https:') return { kind: 'url', url };
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return { kind: 'url', url };
  throw new ValidationError(field, `${url.protocol}// sources are not read by the node: use an absolute path, an https:// URL, s3://bucket/key or gs://bucket/object`);
}

function objectUrl(ref: { store: 's3' | 'gcs'; bucket: string; key: string }): string {
  return `${ref.store === 's3' ? 's3' : 'gs'}://${ref.bucket}/${ref.key}`;
}

export function sourceText(ref: SourceRef): string {
  return ref.kind === 'file' ? ref.path : ref.kind === 'object' ? objectUrl(ref) : ref.url.href;
}

/** How a source is named in messages: the path, or the URL without credentials and query (signed URLs carry secrets). */
export function displayName(ref: SourceRef): string {
  if (ref.kind === 'file') return ref.path;
  if (ref.kind === 'object') return objectUrl(ref);
  return `${ref.url.protocol}//${ref.url.host}${ref.url.pathname}`;
}

export interface SourceInfo {
  ref: SourceRef;
  /** bytes, when known (a URL without Content-Length: undefined) */
  size: number | undefined;
}

/** Thrown by pre-flight and reading: the message names the source. */
export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

function contentLength(res: Response): number | undefined {
  const range = res.headers.get('content-range');
  const total = range === null ? undefined : /\/(\d+)\s*$/.exec(range)?.[1];
  if (total !== undefined) return Number(total);
  if (res.status === 206) return undefined;
  const len = res.headers.get('content-length');
  return len === null || !/^\d+$/.test(len) ? undefined : Number(len);
}

/** Where object sources are read; default: the process' settings (src/config/import-sources.ts). */
export interface SourceOptions {
  stores?: ImportStoreSettings;
}

let defaultSettings: ImportStoreSettings | undefined;
const storeCache = new Map<string, ObjectStore>();

/** The ObjectStore of an object source's bucket (created once per store, bucket and settings). */
async function objectStoreFor(ref: { store: 's3' | 'gcs'; bucket: string }, opts: SourceOptions | undefined): Promise<ObjectStore> {
  let settings = opts?.stores;
  if (settings === undefined) settings = defaultSettings ??= loadImportStoreSettings(processEnv());
  const cacheKey = JSON.stringify([ref.store, ref.bucket, settings]);
  const cached = storeCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const { createObjectStore } = await import('../storage/index.js');
  const store =
    ref.store === 's3'
      ? createObjectStore({ provider: 's3', bucket: ref.bucket, region: settings.s3.region, ...(settings.s3.endpoint !== undefined ? { endpoint: settings.s3.endpoint } : {}) })
      : createObjectStore({ provider: 'gcs', bucket: ref.bucket, ...(settings.gcs.endpoint !== undefined ? { endpoint: settings.gcs.endpoint } : {}) });
  storeCache.set(cacheKey, store);
  return store;
}

/** A storage error as a source message: the store's own message (no credentials: they never reach it). */
function storeProblem(err: unknown): string {
  if (isAppError(err) && err.code === 'STORAGE_NOT_FOUND') return 'no such object';
  return (err as Error).message;
}

/** Checks that a source exists / answers and learns its size. */
export async function probeSource(ref: SourceRef, signal?: AbortSignal, opts?: SourceOptions): Promise<SourceInfo> {
  const name = displayName(ref);
  if (ref.kind === 'object') {
    let info;
    try {
      const store = await objectStoreFor(ref, opts);
      const timeout = new Promise<never>((_, reject) => {
        const t = setTimeout(() => reject(new Error(`no answer within ${PREFLIGHT_TIMEOUT_MS} ms`)), PREFLIGHT_TIMEOUT_MS);
        t.unref();
      });
      info = await Promise.race([store.head(ref.key), timeout]);
    } catch (err) {
      throw new SourceError(`${name}: ${storeProblem(err)}`);
    }
    if (info === undefined) throw new SourceError(`${name}: no such object`);
    signal?.throwIfAborted();
    return { ref, size: info.size };
  }
  if (ref.kind === 'file') {
    let st;
    try {
      st = await stat(ref.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SourceError(`${name}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
    }
    if (!st.isFile()) throw new SourceError(`${name}: not a regular file`);
    return { ref, size: st.size };
  }
  const timeout = AbortSignal.timeout(PREFLIGHT_TIMEOUT_MS);
  const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(ref.url, { method: 'HEAD', signal: s, redirect: 'follow' });
    if (res.status >= 400 && res.status !== 404) {
      // no HEAD (405/501), or a signed URL valid for GET only (403): a one-byte ranged GET tells the same
      res = await fetch(ref.url, { headers: { range: 'bytes=0-0' }, signal: s, redirect: 'follow' });
      await res.body?.cancel();
    }
  } catch (err) {
    throw new SourceError(`${name}: does not answer: ${(err as Error).message}`);
  }
  if (res.status >= 400) throw new SourceError(`${name}: HTTP ${res.status} ${res.statusText}`.trim());
  return { ref, size: contentLength(res) };
}

/** Pre-flight of every source; the first failure is thrown. */
export async function probeSources(refs: readonly SourceRef[], signal?: AbortSignal, opts?: SourceOptions): Promise<{ sources: SourceInfo[]; totalBytes: number | undefined }> {
  const sources: SourceInfo[] = [];
  for (const ref of refs) sources.push(await probeSource(ref, signal, opts));
  const known = sources.every((s) => s.size !== undefined);
  return { sources, totalBytes: known ? sources.reduce((a, s) => a + (s.size ?? 0), 0) : undefined };
}

export interface DiskDecision {
  ok: boolean;
  needBytes: number | undefined;
  freeBytes: number;
  message: string;
}

function mb(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Free space vs DISK_FACTOR x the source size (pure). Unknown size: allowed, and said so. */
export function decideDiskSpace(dir: string, sourceBytes: number | undefined, freeBytes: number): DiskDecision {
  if (sourceBytes === undefined) {
    return { ok: true, needBytes: undefined, freeBytes, message: `${dir}: ${mb(freeBytes)} free; source size unknown, disk space not checked` };
  }
  const need = sourceBytes * DISK_FACTOR;
  if (freeBytes < need) {
    return {
      ok: false,
      needBytes: need,
      freeBytes,
      message: `not enough disk space in ${dir}: ${freeBytes} bytes (${mb(freeBytes)}) free, ${need} bytes (${mb(need)}) needed (${DISK_FACTOR}x the ${sourceBytes} bytes of source data, Manticore's rebuild guidance)`,
    };
  }
  return { ok: true, needBytes: need, freeBytes, message: `${dir}: ${mb(freeBytes)} free, ${mb(need)} needed` };
}

/** Free bytes for an unprivileged user on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** Opens a source as a stream of bytes. */
export async function openSource(ref: SourceRef, signal?: AbortSignal, opts?: SourceOptions): Promise<Readable> {
  const name = displayName(ref);
  if (ref.kind === 'object') {
    try {
      const store = await objectStoreFor(ref, opts);
      return await store.get(ref.key, signal ? { signal } : {});
    } catch (err) {
      throw new SourceError(`${name}: ${storeProblem(err)}`);
    }
  }
  if (ref.kind === 'file') {
    const stream = createReadStream(ref.path, { highWaterMark: 256 * 1024 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err) => reject(new SourceError(`${name}: cannot read: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : err.message}`)));
    });
    return stream;
  }
  let res: Response;
  try {
    res = await fetch(ref.url, signal ? { signal, redirect: 'follow' } : { redirect: 'follow' });
  } catch (err) {
    throw new SourceError(`${name}: does not answer: ${(err as Error).message}`);
  }
  if (res.status >= 400 || res.body === null) {
    await res.body?.cancel();
    throw new SourceError(`${name}: HTTP ${res.status} ${res.statusText}`.trim());
  }
  return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
}
