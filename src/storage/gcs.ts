/**
 * Google Cloud Storage: @google-cloud/storage with resumable uploads in fixed-size chunks (memory about two
 * chunks whatever the object size), streaming downloads, and `apiEndpoint` for a custom endpoint (an emulator
 * or a private endpoint). A resumable upload only creates the object when its last chunk is accepted, so a
 * failed or aborted put leaves no object under the key; the unfinished session expires on the server side.
 */
import { IdempotencyStrategy, Storage, type Bucket, type StorageOptions } from '@google-cloud/storage';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ValidationError } from '../lib/errors.js';
import {
  ByteCounter,
  abortedError,
  checkKey,
  checkRetries,
  checkPrefix,
  notFoundError,
  storageError,
  uploadFailedError,
  watchSignal,
} from './common.js';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions, PutResult, StoreConfig } from './types.js';

const KIB = 1024;
export const GCS_CHUNK_GRANULARITY = 256 * KIB;
export const GCS_DEFAULT_CHUNK_SIZE = 8 * 1024 * KIB;

export class GcsObjectStore implements ObjectStore {
  readonly kind = 'gcs' as const;
  readonly description: string;
  readonly storage: Storage;
  private readonly bucket: Bucket;
  private readonly chunkSize: number;

  constructor(config: StoreConfig) {
    if (!config.bucket) throw new ValidationError('bucket', 'a GCS store needs a bucket name; set BACKUP_BUCKET');
    this.chunkSize = config.chunkSizeBytes ?? GCS_DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize <= 0 || this.chunkSize % GCS_CHUNK_GRANULARITY !== 0) {
      throw new ValidationError('chunkSizeBytes', `must be a positive multiple of ${GCS_CHUNK_GRANULARITY} (256 KiB), as GCS requires`);
    }
    checkRetries(config.maxRetries);
    // Retry uploads too: a resumable upload resumes from the offset the server confirms (the library keeps the
    // chunk in flight), so a retry never duplicates or skips bytes. The default (RetryConditional) does not
    // retry an upload without a generation precondition, so one dropped connection would fail a whole backup.
    const options: StorageOptions = {
      retryOptions: { autoRetry: true, maxRetries: config.maxRetries ?? 3, idempotencyStrategy: IdempotencyStrategy.RetryAlways, ...(config.retryDelayMultiplier ? { retryDelayMultiplier: config.retryDelayMultiplier } : {}) },
    };
    const creds = config.credentials;
    if (config.endpoint) {
      try {
        new URL(config.endpoint);
      } catch {
        throw new ValidationError('endpoint', `"${config.endpoint}" is not a URL; use e.g. http://127.0.0.1:4443`);
      }
      options.apiEndpoint = config.endpoint.replace(/\/+$/, '');
      // Without credentials a custom endpoint is an emulator: no token is fetched. With credentials, use them.
      if (creds?.keyFilename || creds?.clientEmail) options.useAuthWithCustomEndpoint = true;
    }
    if (creds?.projectId) options.projectId = creds.projectId;
    if (creds?.keyFilename) options.keyFilename = creds.keyFilename;
    if (creds?.clientEmail || creds?.privateKey) {
      if (!creds.clientEmail || !creds.privateKey) {
        throw new ValidationError('credentials', 'give both clientEmail and privateKey, or neither to use application default credentials');
      }
      options.credentials = { client_email: creds.clientEmail, private_key: creds.privateKey };
    }
    this.storage = new Storage(options);
    this.bucket = this.storage.bucket(config.bucket);
    this.description = `gs://${config.bucket}${options.apiEndpoint ? ` (${options.apiEndpoint})` : ''}`;
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    if (opts.signal?.aborted) {
      body.destroy();
      throw abortedError(key, opts.signal.reason);
    }
    const file = this.bucket.file(key);
    const counter = new ByteCounter();
    const writer = file.createWriteStream({
      resumable: true,
      chunkSize: this.chunkSize,
      validation: 'crc32c',
      ...(opts.contentType ? { contentType: opts.contentType, metadata: { contentType: opts.contentType } } : {}),
    });
    // An abort fails the source while data is still flowing, so the writer never sends its final chunk and the
    // object is never created. Once the whole body was handed over the upload is allowed to finish (as on S3):
    // failing it then could race the final chunk already on the wire.
    let abortedEarly = false;
    const unwatch = watchSignal(opts.signal, (reason) => {
      if (counter.writableEnded) return;
      abortedEarly = true;
      const err = Object.assign(new Error('upload aborted'), { name: 'AbortError', cause: reason });
      body.destroy(err);
    });
    try {
      await pipeline(body, counter, writer);
    } catch (err) {
      if (abortedEarly) throw abortedError(key, opts.signal?.reason ?? err);
      throw uploadFailedError(this.description, key, err);
    } finally {
      unwatch();
    }
    const etag = typeof file.metadata.etag === 'string' ? file.metadata.etag : undefined;
    return { key, size: counter.bytes, ...(etag ? { etag } : {}) };
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    checkKey(key);
    // Ask first, so a missing object is a clean STORAGE_NOT_FOUND rather than an error on the stream later.
    if ((await this.head(key)) === undefined) throw notFoundError(this.description, key);
    const stream = this.bucket.file(key).createReadStream({ validation: 'crc32c' });
    if (opts.signal) {
      const signal = opts.signal;
      const onAbort = (): void => {
        stream.destroy(Object.assign(new Error('download aborted'), { name: 'AbortError', cause: signal.reason }));
      };
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        stream.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
    return stream;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    checkKey(key);
    try {
      const [meta] = await this.bucket.file(key).getMetadata();
      return { key, size: Number(meta.size ?? 0), lastModified: new Date(String(meta.updated ?? meta.timeCreated ?? 0)) };
    } catch (err) {
      if (gcsCode(err) === 404) return undefined;
      throw storageError(this.description, 'head', key, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    try {
      const [files] = await this.bucket.getFiles({ ...(prefix ? { prefix } : {}), autoPaginate: true });
      return files
        .map((f) => ({
          key: f.name,
          size: Number(f.metadata.size ?? 0),
          lastModified: new Date(String(f.metadata.updated ?? f.metadata.timeCreated ?? 0)),
        }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    } catch (err) {
      throw storageError(this.description, 'list', prefix, err);
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    try {
      await this.bucket.file(key).delete({ ignoreNotFound: true });
    } catch (err) {
      if (gcsCode(err) === 404) return;
      throw storageError(this.description, 'delete', key, err);
    }
  }
}

function gcsCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
