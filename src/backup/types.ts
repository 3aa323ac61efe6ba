/**
 * What the backup and restore steps need: object storage and archives (implemented in src/storage,
 * passed in so the steps are testable and the `job` subcommand can reuse them), SQL, agents, nodes.
 */
import type { Readable } from 'node:stream';
import type { JobRequest, JobStatus } from '../agent/protocol.js';
import type { Logger } from '../lib/logger.js';
import type { Row } from '../manticore/parse.js';
import type { NodeRef } from '../platform/types.js';

export type BackupType = 'delta' | 'main';

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date | string;
}

/** src/storage ObjectStore, as far as backups use it. */
export interface BackupStore {
  kind: string;
  description: string;
  put(key: string, body: Readable, opts?: Record<string, unknown>): Promise<{ key: string; size: number; etag?: string }>;
  get(key: string): Promise<Readable>;
  head(key: string): Promise<StoredObject | undefined>;
  list(prefix: string): Promise<StoredObject[]>;
  delete(key: string): Promise<void>;
  /** aborts multipart uploads left open under a prefix (S3); see src/storage/types.ts */
  abortIncompleteUploads?(prefix: string): Promise<string[]>;
}

/** src/storage/archive.ts, as far as backups use it. */
export interface ArchiveTools {
  /** tar.gz stream of `dir` (paths relative to it) */
  packDirectory(dir: string): Readable;
  /** unpacks a tar.gz stream into destDir (refuses path traversal) */
  unpackArchive(stream: Readable, destDir: string): Promise<{ files: readonly string[] | number; bytes: number }>;
  /** reads a whole tar.gz stream; rejects when it is corrupted or truncated */
  inspectArchive(stream: Readable): Promise<unknown>;
}

export interface BackupSql {
  query(sql: string, options?: { timeoutMs?: number }): Promise<Row[]>;
  exec(sql: string, options?: { timeoutMs?: number }): Promise<number>;
}

export interface BackupAgent {
  startJob(req: JobRequest, o?: { signal?: AbortSignal }): Promise<JobStatus>;
  job(id: string, o?: { signal?: AbortSignal }): Promise<JobStatus>;
  cancelJob?(id: string, o?: { signal?: AbortSignal }): Promise<JobStatus>;
}

/** Everything a backup or restore step uses. */
export interface BackupDeps {
  store: BackupStore;
  archive: ArchiveTools;
  /** object key prefix, e.g. "backups" (no leading or trailing slash) */
  prefix: string;
  clusterName: string;
  /** the shared volume every node's searchd and the controller read and write */
  sharedDir: string;
  nodes(): NodeRef[];
  sql(node: NodeRef): BackupSql;
  agent(node: NodeRef): BackupAgent;
  logger: Logger;
  /** poll interval of agent jobs (default 500 ms) */
  pollMs?: number;
  now?: () => Date;
}

/** The manifest written next to each archive as `<archive>.manifest.json`. */
export interface BackupManifest {
  formatVersion: 1;
  /** full table name backed up, e.g. products_delta or products_main_a */
  table: string;
  /** base table name (the spec's) */
  baseTable: string;
  type: BackupType;
  /** the main slot backed up (main only) */
  slot?: 'a' | 'b';
  /** SELECT COUNT(*) on the backup node right before the backup */
  rows: number;
  /** false when the count changed while the backup ran: the archive holds between `rows` and the later count */
  rowsExact: boolean;
  /** DESCRIBE of the table: name, type, properties */
  schema: { name: string; type: string; properties: string[] }[];
  manticoreVersion: string;
  node: string;
  /** object key and name of the archive */
  archiveKey: string;
  archive: string;
  /** bytes of the table files (uncompressed) and of the archive */
  tableBytes: number;
  tableFiles: number;
  archiveBytes: number;
  sha256: string;
  createdAt: string;
  durationMs: number;
}
