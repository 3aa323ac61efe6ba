/**
 * Tokenizer for the simulator's SphinxQL subset.
 *
 * - identifiers: bare (`[A-Za-z_][A-Za-z0-9_]*`) or backtick-quoted (`` `a``b` `` doubles a backtick);
 *   keywords are not special here, the parser compares identifiers case-insensitively;
 * - strings: single- or double-quoted, backslash escapes (`\'`, `\"`, `\\`, `\n`, `\t`, `\r`, `\0`,
 *   anything else keeps the escaped character);
 * - numbers: integers keep their text (document ids are uint64), floats with `.` or an exponent;
 * - comments: `-- ` to end of line, `#` to end of line, `/* ... *\/`;
 * - punctuation: ( ) , ; = != <> < <= > >= * : . | + - @.
 */
import { SqlError } from '../contract.js';

export type TokenType = 'ident' | 'qident' | 'string' | 'int' | 'float' | 'punct' | 'eof';

export interface Token {
  type: TokenType;
  /** identifier name (unquoted), string contents (unescaped), number text, punctuation text */
  value: string;
  /** offset of the token's first character in the source text */
  pos: number;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;

/** Manticore's message for a lexer-level problem (an unterminated string or an unknown character). */
function lexError(text: string, pos: number): SqlError {
  return new SqlError(`P01: syntax error, unexpected $undefined near '${text.slice(pos)}'`);
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charAt(i);
    // whitespace
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    // comments
    if (c === '-' && text.charAt(i + 1) === '-' && (i + 2 >= n || /\s/.test(text.charAt(i + 2)))) {
      while (i < n && text.charAt(i) !== '\n') i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text.charAt(i) !== '\n') i++;
      continue;
    }
    if (c === '/' && text.charAt(i + 1) === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw lexError(text, i);
      i = end + 2;
      continue;
    }
    const start = i;
    if (IDENT_START.test(c)) {
      while (i < n && IDENT_PART.test(text.charAt(i))) i++;
      tokens.push({ type: 'ident', value: text.slice(start, i), pos: start });
      continue;
    }
    if (c === '`') {
      let value = '';
      i++;
      for (;;) {
        if (i >= n) throw lexError(text, start);
        const d = text.charAt(i);
        if (d === '`') {
          if (text.charAt(i + 1) === '`') {
            value += '`';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += d;
        i++;
      }
      if (value === '') throw lexError(text, start);
      tokens.push({ type: 'qident', value, pos: start });
      continue;
    }
    if (c === "'" || c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= n) throw lexError(text, start);
        const d = text.charAt(i);
        if (d === '\\') {
          if (i + 1 >= n) throw lexError(text, start);
          const e = text.charAt(i + 1);
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === '0' ? '\0' : e;
          i += 2;
          continue;
        }
        if (d === c) {
          i++;
          break;
        }
        value += d;
        i++;
      }
      tokens.push({ type: 'string', value, pos: start });
      continue;
    }
    if (DIGIT.test(c) || (c === '.' && DIGIT.test(text.charAt(i + 1)))) {
      let isFloat = false;
      while (i < n && DIGIT.test(text.charAt(i))) i++;
      if (text.charAt(i) === '.' && DIGIT.test(text.charAt(i + 1))) {
        isFloat = true;
        i++;
        while (i < n && DIGIT.test(text.charAt(i))) i++;
      }
      const e = text.charAt(i);
      if (e === 'e' || e === 'E') {
        let j = i + 1;
        if (text.charAt(j) === '-' || text.charAt(j) === '+') j++;
        if (DIGIT.test(text.charAt(j))) {
          isFloat = true;
          i = j;
          while (i < n && DIGIT.test(text.charAt(i))) i++;
        }
      }
      // a number glued to letters (`12abc`) is not a number
      if (i < n && IDENT_START.test(text.charAt(i))) throw lexError(text, start);
      tokens.push({ type: isFloat ? 'float' : 'int', value: text.slice(start, i), pos: start });
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      tokens.push({ type: 'punct', value: two === '<>' ? '!=' : two, pos: start });
      i += 2;
      continue;
    }
    if ('(),;=<>*:.|+-@'.includes(c)) {
      tokens.push({ type: 'punct', value: c, pos: start });
      i++;
      continue;
    }
    throw lexError(text, start);
  }
  tokens.push({ type: 'eof', value: '', pos: n });
  return tokens;
}
