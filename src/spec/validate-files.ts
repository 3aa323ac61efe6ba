/**
 * The offline check behind `mctl validate FILE...`: the same parsing, validation and merging as the
 * controller's SpecStore, over the files named (a directory stands for its `*.json` files).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpecOrigin, SpecProblem } from '../domain/spec.js';
import { errorMessage } from '../lib/errors.js';
import { parseJsonText } from './json-text.js';
import { mergeContributions } from './merge.js';
import { TABLES_CONFIG_ORIGIN, parseTablesConfig } from './tables-config.js';
import type { TableContribution } from './types.js';
import { validateDocument } from './validate.js';

export interface FileValidation {
  file: string;
  ok: boolean;
  problems: SpecProblem[];
  /** tables this file declares that are valid after merging */
  tables: string[];
}

export interface ValidateFilesOptions {
  /** a TABLES_CONFIG string to merge with the files, as the controller would */
  tablesConfig?: string;
}

async function expand(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    try {
      if ((await stat(p)).isDirectory()) {
        const names = (await readdir(p)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
        out.push(...names.map((n) => join(p, n)));
        continue;
      }
    } catch {
      // reported when read
    }
    out.push(p);
  }
  return out;
}

/** Validates each file on its own, then all of them together (duplicates, TABLES_CONFIG entries without columns). */
export async function validateFiles(paths: readonly string[], options: ValidateFilesOptions = {}): Promise<FileValidation[]> {
  const files = await expand(paths);
  const results: FileValidation[] = [];
  const contributions: TableContribution[] = [];
  for (const file of files) {
    const origin: SpecOrigin = { kind: 'file', ref: file };
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const message = code === 'ENOENT' ? 'no such file: check the path' : `the file cannot be read (${errorMessage(err)})`;
      results.push({ file, ok: false, problems: [{ origin, pointer: '', message }], tables: [] });
      continue;
    }
    const parsed = parseJsonText(text, origin);
    if (parsed.problem !== undefined) {
      results.push({ file, ok: false, problems: [parsed.problem], tables: [] });
      continue;
    }
    const doc = validateDocument(parsed.doc, origin);
    contributions.push(...doc.contributions);
    results.push({ file, ok: doc.problems.length === 0, problems: doc.problems, tables: [] });
  }

  const env = options.tablesConfig === undefined ? undefined : parseTablesConfig(options.tablesConfig, TABLES_CONFIG_ORIGIN);
  if (env !== undefined) contributions.push(...env.contributions);
  const merged = mergeContributions(contributions);
  const byFile = new Map(results.map((r) => [r.file, r]));
  for (const p of merged.problems) {
    const r = p.origin.kind === 'file' ? byFile.get(p.origin.ref) : undefined;
    if (r === undefined) continue;
    r.problems.push(p);
    r.ok = false;
  }
  for (const [name, { origin }] of merged.specs) {
    const r = origin.kind === 'file' ? byFile.get(origin.ref) : undefined;
    r?.tables.push(name);
  }
  if (env !== undefined) {
    const envProblems = [...env.problems, ...merged.problems.filter((p) => p.origin.kind === 'env')];
    results.push({ file: TABLES_CONFIG_ORIGIN.ref, ok: envProblems.length === 0, problems: envProblems, tables: [] });
  }
  for (const r of results) r.tables.sort();
  return results;
}

/** Terminal text: one line per file, then one indented line per problem (`pointer: message`). */
export function formatProblems(results: readonly FileValidation[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.ok) {
      lines.push(`${r.file}: ok${r.tables.length > 0 ? ` (${r.tables.join(', ')})` : ''}`);
      continue;
    }
    const n = r.problems.length;
    lines.push(`${r.file}: ${n} problem${n === 1 ? '' : 's'}`);
    for (const p of r.problems) lines.push(`  ${p.pointer === '' ? '(document)' : p.pointer}: ${p.message}`);
  }
  const bad = results.filter((r) => !r.ok).length;
  lines.push(bad === 0 ? `${results.length} file(s) valid` : `${bad} of ${results.length} file(s) invalid`);
  return `${lines.join('\n')}\n`;
}
