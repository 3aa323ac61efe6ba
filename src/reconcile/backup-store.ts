/**
 * The backup store the controller uses, from its config (BACKUP_PROVIDER, BACKUP_BUCKET, BACKUP_PREFIX,
 * BACKUP_REGION, BACKUP_ENDPOINT): S3 / GCS through src/storage, or, when no bucket is set, a local
 * directory store under `<data dir>/backups` (the local platform's default). Created on first use, so
 * a controller without backup settings starts and only backup requests report what is missing.
 */
import path from 'node:path';
import type { ArchiveTools, BackupStore } from '../backup/types.js';
import type { BackupJobLauncher } from './backup-job.js';
import { AppError, errorMessage } from '../lib/errors.js';
import { createObjectStore } from '../storage/index.js';
import { inspectArchive, packDirectory, unpackArchive } from '../storage/archive.js';
import type { StoreConfig, StoreProvider } from '../storage/types.js';

export interface BackupStorageSettings {
  provider?: string;
  bucket?: string;
  prefix: string;
  region?: string;
  endpoint?: string;
}

/** What the controller's backup code needs: the store (lazily), the archive tools and the prefix. */
export interface ControllerBackupOptions {
  store(): BackupStore;
  archive: ArchiveTools;
  prefix: string;
  /** backups run as platform jobs (Control Plane BACKUP_WORKLOAD) */
  jobs?: BackupJobLauncher;
}

export const ARCHIVE_TOOLS: ArchiveTools = {
  packDirectory: (dir) => packDirectory(dir),
  unpackArchive: (stream, dest) => unpackArchive(stream, dest),
  inspectArchive: (stream) => inspectArchive(stream),
};

/** The StoreConfig for the settings (local directory store under `<dataDir>/backups` without a bucket). */
export function backupStoreConfig(settings: BackupStorageSettings, dataDir: string): StoreConfig {
  const provider = (settings.provider ?? (settings.bucket ? 'aws' : 'local')).toLowerCase();
  if (provider === 'local') return { provider: 'local', bucket: 'local', localDir: path.join(dataDir, 'backups'), prefix: settings.prefix };
  if (!settings.bucket) throw new AppError('VALIDATION_FAILED', `BACKUP_BUCKET: BACKUP_PROVIDER=${provider} needs a bucket: set BACKUP_BUCKET (or unset BACKUP_PROVIDER for a local directory store)`);
  const out: StoreConfig = { provider: provider as StoreProvider, bucket: settings.bucket, prefix: settings.prefix };
  if (settings.region !== undefined) out.region = settings.region;
  if (settings.endpoint !== undefined) out.endpoint = settings.endpoint;
  return out;
}

export function controllerBackupOptions(settings: BackupStorageSettings, dataDir: string): ControllerBackupOptions {
  let store: BackupStore | undefined;
  return {
    prefix: settings.prefix,
    archive: ARCHIVE_TOOLS,
    store() {
      if (store === undefined) {
        try {
          store = createObjectStore(backupStoreConfig(settings, dataDir));
        } catch (err) {
          if (err instanceof AppError) throw err;
          throw new AppError('BACKUP_STORAGE_UNAVAILABLE', `backup storage cannot be used: ${errorMessage(err)}`);
        }
      }
      return store;
    },
  };
}
