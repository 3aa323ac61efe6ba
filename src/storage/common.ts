/**
 * Helpers shared by the stores: key checks, prefix joining, byte counting and error mapping.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { AppError, ValidationError, errorMessage } from '../lib/errors.js';

/**
 * Refuses keys no store should accept: empty, absolute, with `.`/`..` or empty segments, control characters.
 * The same rule for every provider, so a key that works on S3 also works on a local directory.
 */
export function checkKey(key: string, field = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) throw new ValidationError(field, 'must be a non-empty object key');
  if (key.length > 1024) throw new ValidationError(field, 'must be at most 1024 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) throw new ValidationError(field, `"${key}" contains a control character or a backslash; use plain path segments separated by "/"`);
  if (key.startsWith('/')) throw new ValidationError(field, `"${key}" must be relative (no leading "/")`);
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new ValidationError(field, `"${key}" has an empty, "." or ".." segment; use plain names separated by single "/"`);
    }
  }
  return key;
}

/** Checks a listing prefix: like a key but may be empty or end with "/". */
export function checkPrefix(prefix: string, field = 'prefix'): string {
  if (prefix === '') return prefix;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  checkKey(trimmed, field);
  return prefix;
}

/** `joinKey('backups', 'a.tar.gz')` → `backups/a.tar.gz`; an empty or undefined prefix leaves the name alone. */
export function joinKey(prefix: string | undefined, name: string): string {
  const p = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return p === '' ? name : `${p}/${name}`;
}

/** A pass-through that counts the bytes flowing through it. */
export class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** A message for anything thrown: Error, or a plain `{message}` object (the GCS library rejects with those). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    const e = err as { message: string; code?: unknown };
    return e.code === undefined ? e.message : `${e.message} (${String(e.code)})`;
  }
  return errorMessage(err);
}

export function abortedError(key: string, reason?: unknown): AppError {
  return new AppError('STORAGE_ABORTED', `upload of ${key} was aborted; nothing was stored under it`, {
    retryable: true,
    cause: reason,
    details: { key },
  });
}

export function notFoundError(description: string, key: string, cause?: unknown): AppError {
  return new AppError('STORAGE_NOT_FOUND', `object ${key} does not exist in ${description}`, {
    retryable: false,
    cause,
    details: { key },
  });
}

export function uploadFailedError(description: string, key: string, cause: unknown): AppError {
  return new AppError('STORAGE_UPLOAD_FAILED', `upload of ${key} to ${description} failed: ${describeError(cause)}; nothing was stored under it`, {
    retryable: true,
    cause,
    details: { key },
  });
}

export function storageError(description: string, action: string, key: string, cause: unknown): AppError {
  return new AppError('STORAGE_FAILED', `${action} ${key} in ${description} failed: ${describeError(cause)}`, {
    retryable: true,
    cause,
    details: { key, action },
  });
}

/** Rejects at once when the signal is already aborted; otherwise calls `onAbort` once when it fires. */
export function watchSignal(signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): () => void {
  if (signal === undefined) return () => undefined;
  if (signal.aborted) {
    onAbort(signal.reason);
    return () => undefined;
  }
  const listener = (): void => onAbort(signal.reason);
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

export function isAbortSignalError(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (err instanceof Error && err.name === 'AbortError');
}

/** Checks the optional retry count of a StoreConfig. */
export function checkRetries(value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0 || value > 10) throw new ValidationError('maxRetries', 'must be an integer between 0 and 10');
}
