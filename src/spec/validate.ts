/**
 * Entry points of spec validation: detect a document's format, validate it, and return table specs
 * with defaults applied, or problems with a JSON pointer and a fix-it message (README.md here).
 */
import type { SpecOrigin, SpecProblem, TableSpec } from '../domain/spec.js';
import { isPlainObject } from './json-text.js';
import { validateNativeTable } from './native.js';
import { convertOriginalRegistry, isRegistryEntry } from './original.js';
import { knownKeys } from './schema.js';
import { convertTablesConfig } from './tables-config.js';
import type { DocumentFormat, DocumentResult } from './types.js';

export type { DocumentFormat, DocumentResult, TableContribution } from './types.js';

/**
 * Which format a parsed document is written in:
 * - `table`: a native spec (any key of schemas/table.schema.json at the top, or anything unrecognised,
 *   so that the schema explains what is wrong);
 * - `original-registry`: every value is an object (`{"<table>": {"schema": ..., "config": ...}}`);
 * - `tables-config`: every value is a string (`{"<table>": "<csv path>"}`).
 */
export function detectFormat(doc: unknown): DocumentFormat {
  if (!isPlainObject(doc)) return 'table';
  const entries = Object.entries(doc);
  if (entries.length === 0) return 'table';
  if (entries.every(([, v]) => isRegistryEntry(v))) return 'original-registry';
  const native = new Set(knownKeys([]));
  if (entries.some(([k]) => native.has(k))) return 'table';
  if (entries.every(([, v]) => typeof v === 'string')) return 'tables-config';
  if (entries.every(([, v]) => isPlainObject(v))) return 'original-registry';
  return 'table';
}

/** Validates a document of any format; each valid table becomes a contribution for merging. */
export function validateDocument(doc: unknown, origin: SpecOrigin): DocumentResult {
  const format = detectFormat(doc);
  if (format === 'tables-config') return convertTablesConfig(doc, origin);
  if (format === 'original-registry') {
    const { contributions, problems } = convertOriginalRegistry(doc as Record<string, unknown>, origin);
    return { format, contributions, problems };
  }
  const { spec, problems } = validateNativeTable(doc, origin);
  return { format, contributions: spec === undefined ? [] : [{ table: spec.name, origin, pointer: '', spec }], problems };
}

/**
 * Validates a document that declares exactly one table: a native spec, or an original registry with
 * one entry (converted, without an import source: that came from TABLES_CONFIG in the original).
 */
export function validateTableDocument(doc: unknown, origin: SpecOrigin): { spec?: TableSpec; problems: SpecProblem[] } {
  const result = validateDocument(doc, origin);
  if (result.problems.length > 0) return { problems: result.problems };
  if (result.format === 'tables-config') {
    return {
      problems: [
        {
          origin,
          pointer: '',
          message: 'this is a TABLES_CONFIG document ({"<table>": "<csv path>"}): it carries no columns; write a table spec with name and columns',
        },
      ],
    };
  }
  if (result.contributions.length !== 1) {
    return {
      problems: [
        {
          origin,
          pointer: '',
          message: `this original-format document declares ${result.contributions.length} tables: validate it with validateDocument, or write one table per document`,
        },
      ],
    };
  }
  const [only] = result.contributions;
  return only?.spec === undefined ? { problems: [] } : { spec: only.spec, problems: [] };
}
