/**
 * The declared shape of a managed table, after loading and validation (src/spec turns JSON files,
 * TABLES_CONFIG and CRDs into these). Pure types and defaults: no I/O, no local imports except domain.
 * The JSON Schema in schemas/table.schema.json is the source of truth for what users may write;
 * this is what the rest of the controller works with.
 */
import type { Slot } from './names.js';

/** Manticore column types a spec may use (RT `CREATE TABLE` spelling). */
export type SpecColumnType = 'text' | 'string' | 'integer' | 'bigint' | 'float' | 'bool' | 'timestamp' | 'json' | 'multi' | 'multi64';

export interface ColumnDecl {
  name: string;
  type: SpecColumnType;
  /** text: indexed and stored by default (Manticore's default); string: attribute (+ indexed makes it full-text searchable) */
  indexed?: boolean;
  stored?: boolean;
}

export type SourceFormat = 'csv' | 'tsv';

/** How an import fills the new main slot (default indexer). */
export type ImportMethod = 'indexer' | 'bulk';

export interface ImportSourceSpec {
  /** one or several segment files: a path on the shared volume, s3://, gs:// or https:// */
  urls: string[];
  format: SourceFormat;
  /** the first line of each segment is a header */
  header: boolean;
  /** bulk: whether a segment starts with a header is detected (`detectHeader: true`); `header` is then false */
  detectHeader?: boolean;
  /** bulk: false when rows carry no id column (ids are then the data rows' positions); default true */
  idColumn?: boolean;
  /** bulk: batches in flight (default 4) */
  workers?: number;
  /** bulk: rows per /bulk request (default 1000) */
  batchSize?: number;
  /** indexer mem_limit, e.g. "256M" */
  memLimit?: string;
  /** cron expression for scheduled imports */
  schedule?: string;
}

export type HaStrategySpec = 'random' | 'nodeads' | 'noerrors' | 'roundrobin';

export interface DistributedOptions {
  haStrategy: HaStrategySpec;
  agentRetryCount: number;
}

export type BackupType = 'delta' | 'main';

export interface BackupScheduleSpec {
  /** unique within the table */
  name: string;
  type: BackupType;
  /** cron expression (5 fields, UTC) */
  schedule: string;
  /** how many archives to keep (undefined: keep all) */
  keep?: number;
}

export type DeletionPolicy = 'retain' | 'delete';

export interface TableSpec {
  /** base name `<t>` (src/domain/names.ts rules) */
  name: string;
  columns: ColumnDecl[];
  /** table settings: morphology, min_infix_len, charset_table, ... (values as Manticore takes them) */
  settings: Record<string, string | number>;
  import?: ImportSourceSpec;
  /** the main slot tables join the replication cluster too */
  clusterMain: boolean;
  /** how imports fill the new main slot; undefined means indexer */
  importMethod?: ImportMethod;
  distributed: DistributedOptions;
  backups: BackupScheduleSpec[];
  deletionPolicy: DeletionPolicy;
}

export const DEFAULT_DISTRIBUTED: DistributedOptions = { haStrategy: 'nodeads', agentRetryCount: 0 };

/** Where a spec came from, for messages ("tables/addresses.json", "TABLES_CONFIG", "crd default/addresses"). */
export interface SpecOrigin {
  kind: 'file' | 'env' | 'crd';
  ref: string;
}

/** One problem in one spec source, with the JSON pointer of the offending value and how to fix it. */
export interface SpecProblem {
  origin: SpecOrigin;
  /** RFC 6901 pointer into the document, '' for the whole document */
  pointer: string;
  message: string;
  /** the table the problem concerns, when known (a reconciler sets that table's SpecInvalid condition) */
  table?: string;
}

export interface LoadedSpec {
  spec: TableSpec;
  origin: SpecOrigin;
  /** increases whenever the spec's content changes (like metadata.generation) */
  generation: number;
}

/** The slot a table would use before any import: `<t>_main_a` exists empty. */
export const INITIAL_SLOT: Slot = 'a';
