/**
 * The original `TABLES_CONFIG` format: `{"<table>": "<csv path>"}`. It names tables and their import
 * file but carries no columns, so each entry only completes a spec of the same table from another
 * source (merge.ts). The string is passed in by the entry point (only src/config reads the env).
 */
import type { SpecOrigin, SpecProblem } from '../domain/spec.js';
import { sourceMessage, tableNameMessage } from './checks.js';
import { isPlainObject, joinPointer, jsonType, show } from './json-text.js';
import type { DocumentResult, TableContribution } from './types.js';

export const TABLES_CONFIG_ORIGIN: SpecOrigin = { kind: 'env', ref: 'TABLES_CONFIG' };

const SHAPE = '{"<table>": "<path of its CSV or TSV file>"}';

/** Converts a parsed TABLES_CONFIG-shaped object. */
export function convertTablesConfig(doc: unknown, origin: SpecOrigin): DocumentResult {
  const contributions: TableContribution[] = [];
  const problems: SpecProblem[] = [];
  if (!isPlainObject(doc)) {
    problems.push({ origin, pointer: '', message: `expected a JSON object ${SHAPE}, got ${jsonType(doc)}` });
    return { format: 'tables-config', contributions, problems };
  }
  for (const [table, path] of Object.entries(doc)) {
    const pointer = joinPointer('', table);
    const nameMsg = tableNameMessage(table);
    if (nameMsg !== undefined) {
      problems.push({ origin, pointer, message: nameMsg, table });
      continue;
    }
    if (typeof path !== 'string') {
      problems.push({
        origin,
        pointer,
        message: `expected the path of the table's CSV file, got ${jsonType(path)} ${show(path)}: TABLES_CONFIG maps table names to files; columns belong in a spec file`,
        table,
      });
      continue;
    }
    const srcMsg = sourceMessage(path);
    if (srcMsg !== undefined) {
      problems.push({ origin, pointer, message: srcMsg, table });
      continue;
    }
    contributions.push({ table, origin, pointer, sourcePath: path });
  }
  return { format: 'tables-config', contributions, problems };
}

/** Parses the TABLES_CONFIG string; empty or undefined means no tables (the original default `{}`). */
export function parseTablesConfig(text: string | undefined, origin: SpecOrigin = TABLES_CONFIG_ORIGIN): DocumentResult {
  if (text === undefined || text.trim() === '') return { format: 'tables-config', contributions: [], problems: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch (err) {
    return {
      format: 'tables-config',
      contributions: [],
      problems: [{ origin, pointer: '', message: `not valid JSON (${err instanceof Error ? err.message : String(err)}): write ${SHAPE}` }],
    };
  }
  return convertTablesConfig(doc, origin);
}
