/**
 * Local directory store: objects are files under `localDir`, keys are relative paths. A put streams into a
 * hidden temporary file next to the target and renames it into place only after the body ended and the file
 * was flushed, so a failed or aborted put never leaves a partial file under the final key.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { ValidationError } from '../lib/errors.js';
import {
  ByteCounter,
  abortedError,
  checkKey,
  checkPrefix,
  isAbortSignalError,
  notFoundError,
  storageError,
  uploadFailedError,
} from './common.js';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions, PutResult } from './types.js';

const PARTIAL = '.~partial-';

export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly description: string;
  private readonly root: string;

  constructor(dir: string) {
    if (!dir) throw new ValidationError('localDir', 'the local store needs a directory; set localDir');
    this.root = path.resolve(dir);
    this.description = `local:${this.root}`;
  }

  private pathOf(key: string): string {
    checkKey(key);
    if (key.split('/').some((s) => s.startsWith(PARTIAL))) {
      throw new ValidationError('key', `"${key}": names starting with "${PARTIAL}" are reserved for uploads in progress`);
    }
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    const temp = path.join(dir, `${PARTIAL}${path.basename(target)}-${randomBytes(6).toString('hex')}`);
    const counter = new ByteCounter();
    try {
      if (opts.signal?.aborted) throw abortedError(key, opts.signal.reason);
      await mkdir(dir, { recursive: true });
      await pipeline(body, counter, createWriteStream(temp, { flags: 'wx' }), opts.signal ? { signal: opts.signal } : {});
      const handle = await open(temp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      if (isAbortSignalError(err, opts.signal)) throw abortedError(key, opts.signal?.reason ?? err);
      if (err instanceof ValidationError) throw err;
      throw uploadFailedError(this.description, key, err);
    }
    return { key, size: counter.bytes };
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const file = this.pathOf(key);
    try {
      const st = await stat(file);
      if (!st.isFile()) throw notFoundError(this.description, key);
    } catch (err) {
      if (isEnoent(err)) throw notFoundError(this.description, key, err);
      throw err;
    }
    return createReadStream(file, opts.signal ? { signal: opts.signal } : {});
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.pathOf(key);
    try {
      const st = await stat(file);
      return st.isFile() ? { key, size: st.size, lastModified: st.mtime } : undefined;
    } catch (err) {
      if (isEnoent(err)) return undefined;
      throw storageError(this.description, 'head', key, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const out: ObjectInfo[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isEnoent(err)) return;
        throw storageError(this.description, 'list', prefix, err);
      }
      for (const entry of entries) {
        if (entry.name.startsWith(PARTIAL)) continue;
        const key = rel === '' ? entry.name : `${rel}/${entry.name}`;
        // Only descend where keys can still match the prefix.
        if (!(key.startsWith(prefix) || prefix.startsWith(`${key}/`))) continue;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full, key);
        else if (entry.isFile() && key.startsWith(prefix)) {
          const st = await stat(full).catch(() => undefined);
          if (st) out.push({ key, size: st.size, lastModified: st.mtime });
        }
      }
    };
    await walk(this.root, '');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await rm(file, { force: true });
    } catch (err) {
      throw storageError(this.description, 'delete', key, err);
    }
    // Remove directories the delete emptied, up to (not including) the root.
    let dir = path.dirname(file);
    while (dir.startsWith(this.root + path.sep)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
      dir = path.dirname(dir);
    }
  }
}

function isEnoent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'ENOTDIR');
}
