/**
 * Which SQL the query console may run without `write: true`. Pure.
 *
 * Read-only: SELECT, SHOW, DESCRIBE/DESC, EXPLAIN, and the read-only CALLs (SNIPPETS, KEYWORDS,
 * QSUGGEST, SUGGEST, AUTOCOMPLETE, PQ). Everything else (INSERT, REPLACE, UPDATE, DELETE, CREATE,
 * ALTER, DROP, TRUNCATE, SET, FLUSH, OPTIMIZE, IMPORT, ATTACH, FREEZE, JOIN/DELETE CLUSTER, ...)
 * needs write mode. One statement per request: a `;` outside quotes and comments followed by more
 * SQL is refused, and so is any `;` inside a comment (a server that reads comments differently, e.g.
 * `--x` without a space, must not find a second statement there). An unterminated quote or block comment is refused.
 * A MySQL executable comment (one opening with slash-star-bang) makes the statement a write: its content may run.
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
interface Scanned {
  /** the text with comments blanked out */
  code: string;
  /** first `;` outside quotes and comments */
  separatorAt: number | undefined;
  /** a comment holds a `;` */
  commentSemicolon: boolean;
  executableComment: boolean;
}

function scan(sql: string, field: string): Scanned {
  let out = '';
  let separatorAt: number | undefined;
  let executableComment = false;
  let commentSemicolon = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] ?? '';
    const next = sql[i + 1] ?? '';
    if (c === "'" || c === '"' || c === '`') {
      // quoted: copy up to the closing quote; strings honour backslash escapes, identifiers do not
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' && c !== '`' ? 2 : 1;
      if (j >= sql.length) throw new ValidationError(field, `has an unterminated ${c} quote: close it`);
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) throw new ValidationError(field, 'has an unterminated /* comment: close it with */');
      if (sql[i + 2] === '!') executableComment = true;
      const stop = end + 2;
      if (sql.slice(i, stop).includes(';')) commentSemicolon = true;
      out += ' '.repeat(stop - i);
      i = stop;
      continue;
    }
    if ((c === '-' && next === '-') || c === '#') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      if (sql.slice(i, stop).includes(';')) commentSemicolon = true;
      out += ' '.repeat(stop - i);
      i = stop;
      continue;
    }
    if (c === ';' && separatorAt === undefined) separatorAt = i;
    out += c;
    i += 1;
  }
  return { code: out, separatorAt, executableComment, commentSemicolon };
}

/** Classifies one statement; throws ValidationError(field) for an empty or multi-statement text. */
export function classifyStatement(raw: unknown, field = 'sql'): ClassifiedStatement {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new ValidationError(field, 'is required: send the SQL statement to run as a string');
  }
  const { code, separatorAt, executableComment, commentSemicolon } = scan(raw, field);
  if (commentSemicolon) throw new ValidationError(field, 'has a ; inside a comment: remove it (one statement per request)');
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
  if (executableComment) return { sql, kind: 'write', verb: first };
  if (READ_VERBS.has(first)) return { sql, kind: 'read', verb: first };
  if (first === 'CALL') {
    const second = words[1] ?? '';
    return { sql, kind: READ_CALLS.has(second) ? 'read' : 'write', verb: `CALL ${second}`.trim() };
  }
  return { sql, kind: 'write', verb: first };
}
