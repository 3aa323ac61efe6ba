/**
 * Which SQL the query console may run without `write: true`. Pure.
 *
 * Read-only: SELECT, SHOW, DESCRIBE/DESC, EXPLAIN, and the read-only CALLs (SNIPPETS, KEYWORDS,
 * QSUGGEST, SUGGEST, AUTOCOMPLETE, PQ). Everything else (INSERT, REPLACE, UPDATE, DELETE, CREATE,
 * ALTER, DROP, TRUNCATE, SET, FLUSH, OPTIMIZE, IMPORT, ATTACH, FREEZE, JOIN/DELETE CLUSTER, ...)
 * needs write mode. One statement per request: a `;` outside quotes and comments followed by more
 * SQL is refused.
 */
import { ValidationError } from '../lib/errors.js';

export type StatementKind = 'read' | 'write';

export interface ClassifiedStatement {
  /** the statement with surrounding whitespace and trailing semicolons removed */
  sql: string;
  kind: StatementKind;
  /** first keyword, upper case ("SELECT", "CALL SNIPPETS", "INSERT") */
  verb: string;
}

const READ_VERBS = new Set(['SELECT', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN']);
const READ_CALLS = new Set(['SNIPPETS', 'KEYWORDS', 'QSUGGEST', 'SUGGEST', 'AUTOCOMPLETE', 'PQ']);

/**
 * The statement with comments blanked out (same length, so positions still match) and whether a
 * statement separator occurs before the end.
 */
function scan(sql: string): { code: string; separatorAt: number | undefined } {
  let out = '';
  let separatorAt: number | undefined;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] ?? '';
    const next = sql[i + 1] ?? '';
    if (c === "'" || c === '"' || c === '`') {
      // quoted: copy up to the closing quote, honouring backslash escapes
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? sql.length : end + 2;
      out += ' '.repeat(stop - i);
      i = stop;
      continue;
    }
    if ((c === '-' && next === '-') || c === '#') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
      continue;
    }
    if (c === ';' && separatorAt === undefined) separatorAt = i;
    out += c;
    i += 1;
  }
  return { code: out, separatorAt };
}

/** Classifies one statement; throws ValidationError(field) for an empty or multi-statement text. */
export function classifyStatement(raw: unknown, field = 'sql'): ClassifiedStatement {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new ValidationError(field, 'is required: send the SQL statement to run as a string');
  }
  const { code, separatorAt } = scan(raw);
  let sql = raw;
  if (separatorAt !== undefined) {
    if (code.slice(separatorAt).replace(/;/g, '').trim() !== '') {
      throw new ValidationError(field, 'holds more than one statement: send one statement per request');
    }
    sql = raw.slice(0, separatorAt);
  }
  sql = sql.trim();
  const m = /^\s*([A-Za-z_]+)(?:\s+([A-Za-z_]+))?/.exec(code);
  const words = [m?.[1] ?? '', m?.[2] ?? ''].map((w) => w.toUpperCase());
  const first = words[0] ?? '';
  if (first === '') throw new ValidationError(field, 'holds no statement (only comments): send the SQL statement to run');
  if (READ_VERBS.has(first)) return { sql, kind: 'read', verb: first };
  if (first === 'CALL') {
    const second = words[1] ?? '';
    return { sql, kind: READ_CALLS.has(second) ? 'read' : 'write', verb: `CALL ${second}`.trim() };
  }
  return { sql, kind: 'write', verb: first };
}
