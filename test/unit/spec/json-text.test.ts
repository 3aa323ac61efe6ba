import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonErrorOffset, joinPointer, parseJsonText, valueAt } from '../../../src/spec/json-text.js';

const origin = { kind: 'file' as const, ref: 'x.json' };

describe('json-text', () => {
  it('finds no error where JSON.parse finds none', () => {
    const valid = ['{}', '[]', ' {"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"], "b": {"c": {}}} ', '"s"', '0', '\uFEFF{}'.slice(1)];
    for (const text of valid) {
      JSON.parse(text);
      assert.equal(jsonErrorOffset(text), undefined, text);
    }
  });

  it('points at the first syntax error', () => {
    const cases: [string, number][] = [
      ['{"a": 1,}', 8],
      ['{"a": [}', 7],
      ['{a: 1}', 1],
      ["{'a': 1}", 1],
      ['{"a": 1} x', 9],
      ['{"a": 01}', 7],
      ['{"a": "x', 8],
      ['', 0],
    ];
    for (const [text, offset] of cases) {
      assert.throws(() => JSON.parse(text));
      assert.equal(jsonErrorOffset(text), offset, text);
    }
  });

  it('parse problems say where, and how to fix', () => {
    assert.match(parseJsonText('{"name": "t",\n  "columns": [}', origin).problem?.message ?? '', /not valid JSON at line 2, column 15 .*: fix the syntax/);
    assert.match(parseJsonText('  \n', origin).problem?.message ?? '', /the file is empty/);
    assert.deepEqual(parseJsonText('\uFEFF{"a": 1}', origin).doc, { a: 1 });
  });

  it('builds and follows RFC 6901 pointers', () => {
    const p = joinPointer('', 'a/b', 'c~d', 0);
    assert.equal(p, '/a~1b/c~0d/0');
    assert.equal(valueAt({ 'a/b': { 'c~d': ['x'] } }, p), 'x');
    assert.equal(valueAt({}, '/missing/deeper'), undefined);
  });
});
