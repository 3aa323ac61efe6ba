/**
 * Table specs: validation (schemas/table.schema.json plus semantic checks), the original system's
 * formats, the directory/TABLES_CONFIG store with its watcher, and the offline file check of
 * `mctl validate`. See README.md in this folder.
 */
export { SpecStore, type SpecChange, type SpecChangeListener, type SpecStoreOptions } from './loader.js';
export { describeOrigin, mergeContributions, type MergeResult, type MergedSpec } from './merge.js';
export { ORIGINAL_TYPE_MAP } from './original.js';
export { TABLES_CONFIG_ORIGIN, parseTablesConfig } from './tables-config.js';
export type { DocumentFormat, DocumentResult, TableContribution } from './types.js';
export { detectFormat, validateDocument, validateTableDocument } from './validate.js';
export { formatProblems, validateFiles, type FileValidation, type ValidateFilesOptions } from './validate-files.js';
export { parseJsonText } from './json-text.js';
export { cronProblem } from './cron.js';
