/**
 * The ONE function that turns a value into a SphinxQL literal (DESIGN.md section 8). Nothing else in the
 * code base builds literals.
 *
 * Strings: single quotes; `\` and `'` are backslash-escaped, so the literal can only end at our closing
 * quote. Manticore's unescape (SqlUnescape) decodes `\b \n \r \t` (and `\0` as a space); every other
 * `\x` becomes `x`. We therefore escape NUL (`\0`: a raw NUL would cut Manticore's C string), backspace,
 * newline, carriage return and tab, and leave other bytes raw: the lexer accepts any character except
 * `'` and `\` inside a literal. In particular 0x1a stays raw, because MySQL's `\Z` would reach Manticore
 * as a plain `Z` and corrupt the value.
 */
import { ValidationError } from '../lib/errors.js';
import { showValue } from './identifiers.js';

/** An integer for an MVA (multi / multi64) attribute. */
export type MvaItem = number | bigint;

/** Values `sqlLiteral` accepts. Plain objects become a JSON string literal (for `json` attributes). */
export type SqlValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | readonly MvaItem[]
  | { readonly [key: string]: unknown };

const STRING_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

const NEEDS_ESCAPE_RE = /[\\'\0\b\n\r\t]/g;

function quoteString(value: string): string {
  return `'${value.replace(NEEDS_ESCAPE_RE, (c) => STRING_ESCAPES[c] ?? c)}'`;
}

function numberLiteral(value: number, field: string): string {
  if (!Number.isFinite(value)) {
    throw new ValidationError(field, `${String(value)} is not a finite number: Manticore has no NaN or Infinity`);
  }
  if (Number.isInteger(value)) {
    if (!Number.isSafeInteger(value)) {
      throw new ValidationError(
        field,
        `${value} is beyond 2^53 and has lost precision: pass large integers (document ids) as bigint`,
      );
    }
    return Object.is(value, -0) ? '0' : String(value);
  }
  const text = String(value);
  // Manticore's lexer wants digits '.' digits before an exponent: 1e-7 -> 1.0e-7
  const e = text.indexOf('e');
  if (e >= 0 && !text.slice(0, e).includes('.')) return `${text.slice(0, e)}.0${text.slice(e)}`;
  return text;
}

function mvaItemLiteral(item: unknown, field: string): string {
  if (typeof item === 'bigint') return item.toString();
  if (typeof item === 'number' && Number.isSafeInteger(item)) return String(item);
  throw new ValidationError(field, `MVA item ${showValue(item)} is not an integer: multi/multi64 values hold integers only`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Renders one value as a SphinxQL literal:
 * strings quoted and escaped; numbers/bigints checked; booleans as 1/0; null as NULL; arrays of
 * integers as an MVA `(1,2,3)`; plain objects as a JSON string literal. Anything else is refused.
 */
export function sqlLiteral(value: SqlValue, field = 'value'): string {
  if (value === null) return 'NULL';
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'number':
      return numberLiteral(value, field);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? '1' : '0';
    default:
      break;
  }
  if (Array.isArray(value)) {
    return `(${value.map((item: unknown, i) => mvaItemLiteral(item, `${field}[${i}]`)).join(',')})`;
  }
  if (isPlainObject(value)) {
    let json: string;
    try {
      json = JSON.stringify(value);
    } catch (err) {
      throw new ValidationError(field, `object is not serialisable as JSON: ${String(err)}`);
    }
    return quoteString(json);
  }
  throw new ValidationError(
    field,
    `${typeof value === 'object' ? Object.prototype.toString.call(value) : typeof value} cannot be sent to Manticore: ` +
      'use a string, number, bigint, boolean, null, array of integers or plain object',
  );
}
