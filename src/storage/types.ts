/**
 * Object storage behind one interface (issue 5 item 1): S3 (and S3-compatible stores), GCS and a local
 * directory. Every implementation streams both ways and never exposes a partial object under its final key:
 * a put that fails or is aborted leaves the key as it was (no object, or the previous one).
 *
 * Keys are used as given: `StoreConfig.prefix` is applied by callers (`joinKey(prefix, name)`), not by the store,
 * so a listing returns exactly the keys that were put.
 */
import type { Readable } from 'node:stream';

export type StoreKind = 's3' | 'gcs' | 'local';

/** Provider names as the original (`BACKUP_PROVIDER=aws|gcp`) plus the explicit aliases and `local`. */
export type StoreProvider = 'aws' | 's3' | 'gcp' | 'gcs' | 'local';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export interface PutResult {
  key: string;
  /** Bytes read from the body and stored. */
  size: number;
  etag?: string;
}

export interface PutOptions {
  contentType?: string;
  /** Aborting fails the put with code STORAGE_ABORTED; nothing is left under the key. */
  signal?: AbortSignal;
}

export interface GetOptions {
  signal?: AbortSignal;
}

export interface ObjectStore {
  readonly kind: StoreKind;
  /** Human readable location for logs and messages, e.g. `s3://bucket (http://127.0.0.1:4568)`; no secrets. */
  readonly description: string;
  /** Streams `body` to `key`. Rejects (STORAGE_UPLOAD_FAILED, STORAGE_ABORTED) with nothing left under the key. */
  put(key: string, body: Readable, opts?: PutOptions): Promise<PutResult>;
  /** A stream of the object's bytes; rejects with STORAGE_NOT_FOUND when the key does not exist. */
  get(key: string, opts?: GetOptions): Promise<Readable>;
  /** Metadata of one object, or undefined when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix` (all pages), sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes the object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * S3 only: aborts the multipart uploads still open under `prefix` (left by a put whose abort could not
   * reach the endpoint) and returns their keys. GCS sessions expire server side; the local store leaves none.
   */
  abortIncompleteUploads?(prefix: string): Promise<string[]>;
}

export interface StoreCredentials {
  /** S3: static keys (otherwise the SDK's default chain: env, shared files, instance/IRSA roles). */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** GCS: a service account key file (otherwise application default credentials). */
  keyFilename?: string;
  /** GCS: inline service account fields. */
  clientEmail?: string;
  privateKey?: string;
  projectId?: string;
}

export interface StoreConfig {
  provider: StoreProvider;
  /** Bucket name (S3, GCS); for `local` a label only (the directory is `localDir`). */
  bucket: string;
  /** Key prefix (`BACKUP_PREFIX`): applied by callers with `joinKey`, not by the store. */
  prefix?: string;
  /** S3 region (`BACKUP_REGION`); default `us-east-1`. */
  region?: string;
  /** S3-compatible endpoint or GCS API endpoint (an emulator), e.g. `http://127.0.0.1:4568`. */
  endpoint?: string;
  /** S3 path-style addressing; default true when `endpoint` is set. */
  forcePathStyle?: boolean;
  credentials?: StoreCredentials;
  /** `local` provider: the directory that holds the objects. */
  localDir?: string;
  /** S3 multipart part size in bytes (min 5 MiB, default 8 MiB); memory use is about (queueSize + 1) x partSize. */
  partSizeBytes?: number;
  /** S3 parts uploaded in parallel (default 4). */
  queueSize?: number;
  /** Retries of a failed request, 0-10; default S3 2 (3 attempts, the SDK default), GCS 3 (the library default). */
  maxRetries?: number;
  /** GCS: growth factor of the delay between retries (default 2, first delay 1 s). */
  retryDelayMultiplier?: number;
  /** GCS resumable upload chunk size in bytes (a multiple of 256 KiB, default 8 MiB); memory about 2 x chunk. */
  chunkSizeBytes?: number;
}
