/**
 * S3 and S3-compatible stores: @aws-sdk/client-s3 for reads, @aws-sdk/lib-storage `Upload` for writes
 * (multipart, streaming; memory is bounded by partSize x (queueSize + 1) whatever the object size).
 *
 * A failed or aborted put aborts its multipart upload, so no object appears under the key and no parts are
 * left billed: the upload's own abort runs after every part settled (we fail the body instead of racing
 * Upload.abort()), then we send AbortMultipartUpload once more ourselves, as AWS advises for parts that were
 * in flight during the first abort.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ValidationError } from '../lib/errors.js';
import {
  ByteCounter,
  abortedError,
  checkKey,
  checkRetries,
  checkPrefix,
  isAbortSignalError,
  notFoundError,
  storageError,
  uploadFailedError,
  watchSignal,
} from './common.js';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions, PutResult, StoreConfig } from './types.js';

const MIB = 1024 * 1024;
export const S3_MIN_PART_SIZE = 5 * MIB;
export const S3_DEFAULT_PART_SIZE = 8 * MIB;
export const S3_DEFAULT_QUEUE_SIZE = 4;

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly description: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(config: StoreConfig) {
    if (!config.bucket) throw new ValidationError('bucket', 'an S3 store needs a bucket name; set BACKUP_BUCKET');
    this.bucket = config.bucket;
    this.partSize = config.partSizeBytes ?? S3_DEFAULT_PART_SIZE;
    if (!Number.isInteger(this.partSize) || this.partSize < S3_MIN_PART_SIZE) {
      throw new ValidationError('partSizeBytes', `must be an integer of at least ${S3_MIN_PART_SIZE} (5 MiB, the S3 minimum part size)`);
    }
    this.queueSize = config.queueSize ?? S3_DEFAULT_QUEUE_SIZE;
    if (!Number.isInteger(this.queueSize) || this.queueSize < 1 || this.queueSize > 64) {
      throw new ValidationError('queueSize', 'must be an integer between 1 and 64');
    }
    checkRetries(config.maxRetries);
    const clientConfig: S3ClientConfig = { region: config.region || 'us-east-1', maxAttempts: (config.maxRetries ?? 2) + 1 };
    if (config.endpoint) {
      try {
        new URL(config.endpoint);
      } catch {
        throw new ValidationError('endpoint', `"${config.endpoint}" is not a URL; use e.g. http://127.0.0.1:9000`);
      }
      clientConfig.endpoint = config.endpoint;
      clientConfig.forcePathStyle = config.forcePathStyle ?? true;
      // Most S3-compatible servers do not implement the SDK's default flexible checksums (CRC32 trailers on
      // every request); send them only where the operation requires one.
      clientConfig.requestChecksumCalculation = 'WHEN_REQUIRED';
      clientConfig.responseChecksumValidation = 'WHEN_REQUIRED';
    } else if (config.forcePathStyle !== undefined) {
      clientConfig.forcePathStyle = config.forcePathStyle;
    }
    const creds = config.credentials;
    if (creds?.accessKeyId || creds?.secretAccessKey) {
      if (!creds.accessKeyId || !creds.secretAccessKey) {
        throw new ValidationError('credentials', 'give both accessKeyId and secretAccessKey, or neither to use the default credential chain');
      }
      clientConfig.credentials = {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
      };
    }
    this.client = new S3Client(clientConfig);
    this.description = `s3://${this.bucket}${config.endpoint ? ` (${config.endpoint})` : ` (${clientConfig.region as string})`}`;
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    if (opts.signal?.aborted) {
      body.destroy();
      throw abortedError(key, opts.signal.reason);
    }
    const counter = new ByteCounter();
    // A body error (or an abort) fails the counter, which makes Upload stop reading, wait for the parts in
    // flight, then abort the multipart upload before done() rejects.
    const feeding = pipeline(body, counter).catch(() => undefined);
    const unwatch = watchSignal(opts.signal, (reason) => {
      const err = new Error('upload aborted');
      err.name = 'AbortError';
      err.cause = reason;
      body.destroy(err);
      counter.destroy(err);
    });
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: counter,
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
      },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      const out = await upload.done();
      return { key, size: counter.bytes, ...(out.ETag ? { etag: out.ETag.replace(/"/g, '') } : {}) };
    } catch (err) {
      // Stop the source whatever failed (a network error leaves it blocked on back-pressure).
      counter.destroy();
      body.destroy();
      await this.abortMultipart(key, upload.uploadId);
      if (isAbortSignalError(err, opts.signal)) throw abortedError(key, opts.signal?.reason ?? err);
      throw uploadFailedError(this.description, key, err);
    } finally {
      unwatch();
      await feeding;
    }
  }

  /** Second, idempotent abort of a failed multipart upload (NoSuchUpload means the first one worked). */
  private async abortMultipart(key: string, uploadId: string | undefined): Promise<void> {
    if (!uploadId) return;
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (httpStatus(err) === 404 || errName(err) === 'NoSuchUpload') return;
      // The upload already failed; the first abort (inside Upload) normally did the work. Keep the original error.
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    checkKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), opts.signal ? { abortSignal: opts.signal } : {});
      const bodyStream = out.Body;
      if (!(bodyStream instanceof Readable)) throw new Error('the S3 response has no stream body');
      return bodyStream;
    } catch (err) {
      if (httpStatus(err) === 404 || errName(err) === 'NoSuchKey') throw notFoundError(this.description, key, err);
      throw storageError(this.description, 'get', key, err);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    checkKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (httpStatus(err) === 404 || errName(err) === 'NotFound' || errName(err) === 'NoSuchKey') return undefined;
      throw storageError(this.description, 'head', key, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, ...(prefix ? { Prefix: prefix } : {}), ...(token ? { ContinuationToken: token } : {}) }),
        );
        for (const obj of page.Contents ?? []) {
          if (obj.Key === undefined) continue;
          out.push({ key: obj.Key, size: obj.Size ?? 0, lastModified: obj.LastModified ?? new Date(0) });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw storageError(this.description, 'list', prefix, err);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Aborts every multipart upload still open under `prefix` and returns their keys: the ones a failed put
   * could not abort because the endpoint was down at the time (its own abort is a single attempt).
   */
  async abortIncompleteUploads(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const aborted: string[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}) }),
        );
        for (const u of page.Uploads ?? []) {
          if (u.Key === undefined || u.UploadId === undefined) continue;
          await this.abortMultipart(u.Key, u.UploadId);
          aborted.push(u.Key);
        }
        const more = page.IsTruncated === true;
        keyMarker = more ? page.NextKeyMarker : undefined;
        uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      throw storageError(this.description, 'list uploads', prefix, err);
    }
    return aborted;
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (httpStatus(err) === 404) return;
      throw storageError(this.description, 'delete', key, err);
    }
  }
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function errName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}
