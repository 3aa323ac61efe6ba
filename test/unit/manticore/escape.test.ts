import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../src/lib/errors.js';
import { sqlLiteral, type SqlValue } from '../../../src/manticore/escape.js';

/** Reads a literal back the way Manticore's lexer + SqlUnescape do; returns the value and where it ended. */
function readBack(literal: string): { value: string; end: number } {
  assert.equal(literal[0], "'");
  let out = '';
  let i = 1;
  for (; i < literal.length; i++) {
    const c = literal[i];
    if (c === '\\') {
      const n = literal[++i];
      out += n === 'n' ? '\n' : n === 'r' ? '\r' : n === 't' ? '\t' : n === 'b' ? '\b' : n === '0' ? '\0' : (n ?? '');
    } else if (c === "'") {
      break;
    } else {
      out += c;
    }
  }
  return { value: out, end: i };
}

describe('sqlLiteral: strings', () => {
  const cases: [string, string, string][] = [
    ['plain', 'hello', "'hello'"],
    ['empty', '', "''"],
    ['single quote', "it's", "'it\\'s'"],
    ['backslash', 'a\\b', "'a\\\\b'"],
    ['backslash before quote', "\\'", "'\\\\\\''"],
    ['NUL', 'a\0b', "'a\\0b'"],
    ['newline', 'a\nb', "'a\\nb'"],
    ['CR and tab', 'a\r\tb', "'a\\r\\tb'"],
    ['backspace', 'a\bb', "'a\\bb'"],
    ['0x1a stays raw (\\Z would become Z in Manticore)', 'a\x1ab', "'a\x1ab'"],
    ['injection', "'; DROP TABLE x; --", "'\\'; DROP TABLE x; --'"],
    ['double quote and backtick untouched', 'a"b`c', "'a\"b`c'"],
    ['comment markers untouched', '/* x */ -- y', "'/* x */ -- y'"],
    ['unicode', 'héllo 😀', "'héllo 😀'"],
  ];
  for (const [label, input, expected] of cases) {
    test(label, () => {
      const lit = sqlLiteral(input);
      assert.equal(lit, expected);
      // the literal ends exactly at its last character and decodes back to the input
      const back = readBack(lit);
      assert.equal(back.end, lit.length - 1);
      assert.equal(back.value, input);
    });
  }
});

describe('sqlLiteral: other types', () => {
  test('numbers', () => {
    assert.equal(sqlLiteral(42), '42');
    assert.equal(sqlLiteral(-7), '-7');
    assert.equal(sqlLiteral(-0), '0');
    assert.equal(sqlLiteral(1.5), '1.5');
    assert.equal(sqlLiteral(1e-7), '1.0e-7');
    assert.equal(sqlLiteral(2.5e-8), '2.5e-8');
    assert.equal(sqlLiteral(Number.MAX_SAFE_INTEGER), '9007199254740991');
  });
  test('bigint, boolean, null', () => {
    assert.equal(sqlLiteral(18446744073709551615n), '18446744073709551615');
    assert.equal(sqlLiteral(true), '1');
    assert.equal(sqlLiteral(false), '0');
    assert.equal(sqlLiteral(null), 'NULL');
  });
  test('arrays are MVAs', () => {
    assert.equal(sqlLiteral([1, 2, 3]), '(1,2,3)');
    assert.equal(sqlLiteral([]), '()');
    assert.equal(sqlLiteral([1n, 9007199254740993n]), '(1,9007199254740993)');
  });
  test('plain objects become a JSON string literal', () => {
    assert.equal(sqlLiteral({ a: "it's", b: [1] }), `'{"a":"it\\'s","b":[1]}'`);
  });
  test('refuses values it cannot render, naming the field', () => {
    const bad: unknown[] = [NaN, Infinity, -Infinity, 2 ** 60, undefined, new Date(0), () => 1, Symbol('x'), [1.5], ['1'], [NaN]];
    for (const v of bad) {
      assert.throws(
        () => sqlLiteral(v as SqlValue, 'rows[0][2]'),
        (err: unknown) => err instanceof ValidationError && err.field.startsWith('rows[0][2]'),
        `value ${String(v)}`,
      );
    }
  });
});
