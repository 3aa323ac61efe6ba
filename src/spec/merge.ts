/**
 * Merging what every source says about every table (README.md in this folder, "Merging"):
 * - one complete spec per table; the same table from two sources is a problem naming both, and
 *   neither is applied;
 * - a TABLES_CONFIG path completes the spec of the same table: it becomes `import.source` when the
 *   spec has none (format from the extension; header and memLimit from the original registry entry);
 *   a spec with a different source is a conflict;
 * - a TABLES_CONFIG entry with no spec anywhere is a problem: it carries no columns.
 * Tables that a source names but that cannot be resolved are listed in `unresolved`, so a caller
 * holding an earlier version can keep it instead of treating the table as removed.
 */
import type { ImportSourceSpec, SpecOrigin, SpecProblem, TableSpec } from '../domain/spec.js';
import { formatFromExtension } from './checks.js';
import { show } from './json-text.js';
import type { TableContribution } from './types.js';

export interface MergedSpec {
  spec: TableSpec;
  origin: SpecOrigin;
}

export interface MergeResult {
  specs: Map<string, MergedSpec>;
  problems: SpecProblem[];
  /** tables named by some source that yield no spec (duplicates, conflicts, missing columns) */
  unresolved: Set<string>;
}

export function describeOrigin(origin: SpecOrigin): string {
  if (origin.kind === 'env') return `the ${origin.ref} environment variable`;
  if (origin.kind === 'crd') return `the resource ${origin.ref}`;
  return origin.ref;
}

function where(c: TableContribution): string {
  return c.pointer === '' ? describeOrigin(c.origin) : `${describeOrigin(c.origin)} at ${c.pointer}`;
}

function sameUrls(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((u, i) => u === b[i]);
}

export function mergeContributions(contributions: readonly TableContribution[]): MergeResult {
  const byTable = new Map<string, TableContribution[]>();
  for (const c of contributions) {
    const list = byTable.get(c.table) ?? [];
    list.push(c);
    byTable.set(c.table, list);
  }
  const specs = new Map<string, MergedSpec>();
  const problems: SpecProblem[] = [];
  const unresolved = new Set<string>();
  const report = (c: TableContribution, message: string): void => {
    problems.push({ origin: c.origin, pointer: c.pointer, message, table: c.table });
  };

  for (const [table, list] of [...byTable.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const full = list.filter((c) => c.spec !== undefined);
    const paths = list.filter((c) => c.sourcePath !== undefined);

    if (full.length > 1) {
      const all = full.map(where).join(' and ');
      for (const c of full) report(c, `table '${table}' is declared more than once (${all}): keep one declaration; neither is applied until then`);
      unresolved.add(table);
      continue;
    }
    const distinctPaths = [...new Set(paths.map((c) => c.sourcePath))];
    if (distinctPaths.length > 1) {
      const all = paths.map((c) => `${where(c)} says ${show(c.sourcePath)}`).join(', ');
      for (const c of paths) report(c, `table '${table}' has different import files (${all}): keep one; neither is applied until then`);
      unresolved.add(table);
      continue;
    }
    const [only] = full;
    if (only?.spec === undefined) {
      for (const c of paths) {
        report(
          c,
          `table '${table}' has no columns anywhere: TABLES_CONFIG only names its import file; add a spec file with its name and columns (e.g. ${table}.json) or an original-format schema entry for '${table}' to the spec directory, or fix the one that declares it`,
        );
      }
      unresolved.add(table);
      continue;
    }
    const [pathEntry] = paths;
    if (pathEntry?.sourcePath === undefined) {
      specs.set(table, { spec: only.spec, origin: only.origin });
      continue;
    }
    const path = pathEntry.sourcePath;
    if (only.spec.import !== undefined) {
      if (sameUrls(only.spec.import.urls, [path])) {
        specs.set(table, { spec: only.spec, origin: only.origin });
      } else {
        const msg = `table '${table}' has different import files: ${where(only)} says ${show(only.spec.import.urls.join(', '))}, ${where(pathEntry)} says ${show(path)}: keep one; neither is applied until then`;
        report(only, msg);
        report(pathEntry, msg);
        unresolved.add(table);
      }
      continue;
    }
    const format = formatFromExtension(path);
    if (format === undefined) {
      report(
        pathEntry,
        `cannot tell csv from tsv for ${show(path)} (no .csv or .tsv extension): rename the file, or move the source into the spec file as "import": {"source": ..., "format": ...}`,
      );
      unresolved.add(table);
      continue;
    }
    const imp: ImportSourceSpec = { urls: [path], format, header: only.importOptions?.header ?? false };
    if (only.importOptions?.memLimit !== undefined) imp.memLimit = only.importOptions.memLimit;
    if (only.importOptions?.detectHeader === true) imp.detectHeader = true;
    specs.set(table, { spec: { ...only.spec, import: imp }, origin: only.origin });
  }
  return { specs, problems, unresolved };
}
