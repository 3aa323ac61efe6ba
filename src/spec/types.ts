/**
 * Intermediate shapes of the spec pipeline: a document yields contributions (one per table it names),
 * and merging the contributions of every source yields the table specs.
 */
import type { SpecOrigin, SpecProblem, TableSpec } from '../domain/spec.js';

/** The formats a spec document may be written in (README.md in this folder). */
export type DocumentFormat = 'table' | 'original-registry' | 'tables-config';

/** What one source says about one table. */
export interface TableContribution {
  table: string;
  origin: SpecOrigin;
  /** pointer of the table inside its document: '' for a one-table document, '/<table>' for the original formats */
  pointer: string;
  /** a complete spec (native document or original schema registry entry) */
  spec?: TableSpec;
  /** a TABLES_CONFIG path: the import source, without columns */
  sourcePath?: string;
  /** import options of an original registry entry, applied when a TABLES_CONFIG path supplies the source */
  importOptions?: { header: boolean; memLimit?: string; detectHeader?: boolean };
}

export interface DocumentResult {
  format: DocumentFormat;
  contributions: TableContribution[];
  problems: SpecProblem[];
}
