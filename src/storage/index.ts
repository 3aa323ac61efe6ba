/**
 * `createObjectStore(config)`: the one way to get an ObjectStore (S3, GCS or a local directory).
 */
import { ValidationError } from '../lib/errors.js';
import { GcsObjectStore } from './gcs.js';
import { LocalObjectStore } from './local.js';
import { S3ObjectStore } from './s3.js';
import type { ObjectStore, StoreConfig, StoreKind, StoreProvider } from './types.js';

export type * from './types.js';
export { joinKey, checkKey } from './common.js';

export const STORE_PROVIDERS: readonly StoreProvider[] = ['aws', 's3', 'gcp', 'gcs', 'local'];

/** `aws`/`s3` → s3, `gcp`/`gcs` → gcs, `local` → local; anything else is a ValidationError naming the field. */
export function storeKindOf(provider: string, field = 'provider'): StoreKind {
  switch (provider) {
    case 'aws':
    case 's3':
      return 's3';
    case 'gcp':
    case 'gcs':
      return 'gcs';
    case 'local':
      return 'local';
    default:
      throw new ValidationError(field, `"${provider}" is not a storage provider; use aws (or s3), gcp (or gcs) or local`);
  }
}

export function createObjectStore(config: StoreConfig): ObjectStore {
  switch (storeKindOf(config.provider)) {
    case 's3':
      return new S3ObjectStore(config);
    case 'gcs':
      return new GcsObjectStore(config);
    case 'local':
      if (!config.localDir) throw new ValidationError('localDir', 'the local provider needs localDir, the directory that holds the objects');
      return new LocalObjectStore(config.localDir);
  }
}
export * from './archive.js';
