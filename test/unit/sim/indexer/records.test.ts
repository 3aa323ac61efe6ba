import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvSplitter, TsvSplitter } from '../../../../src/sim/indexer/records.js';
import { columnDefs, convertValue, declaredColumns, parseDocId } from '../../../../src/sim/indexer/source-schema.js';

function csvAll(text: string, chunk = 1): string[][] {
  const s = new CsvSplitter();
  const out: string[][] = [];
  for (let i = 0; i < text.length; i += chunk) out.push(...s.push(text.slice(i, i + chunk)).map((r) => r.fields));
  out.push(...s.end().map((r) => r.fields));
  return out;
}

describe('CsvSplitter (RFC 4180)', () => {
  const input = '1,plain,"quoted, comma","say ""hi"""\r\n2,"multi\nline",,""\n\n3,last,x,y';
  const expected = [
    ['1', 'plain', 'quoted, comma', 'say "hi"'],
    ['2', 'multi\nline', '', ''],
    ['3', 'last', 'x', 'y'],
  ];

  test('whole input at once and one character at a time give the same records', () => {
    assert.deepEqual(csvAll(input, input.length), expected);
    assert.deepEqual(csvAll(input, 1), expected);
    assert.deepEqual(csvAll(input, 7), expected);
  });

  test('record line numbers', () => {
    const s = new CsvSplitter();
    assert.deepEqual(
      [...s.push('1,"a\nb"\n2,c\n'), ...s.end()].map((r) => r.line),
      [1, 3],
    );
  });

  test('errors: unterminated quote, text after closing quote', () => {
    assert.throws(() => csvAll('1,"abc\n2,x'), /line 1: unterminated quoted field/);
    assert.throws(() => csvAll('1,"abc"x\n'), /unexpected character after a closing quote/);
  });

  test('a quote inside an unquoted field is literal', () => {
    assert.deepEqual(csvAll('1,ab"c\n'), [['1', 'ab"c']]);
  });
});

describe('TsvSplitter', () => {
  test('tabs and lines, across chunks, CRLF', () => {
    const s = new TsvSplitter();
    const out = [...s.push('1\ta b\t3\r\n2\t'), ...s.push('x\t\n\n3\tlast'), ...s.end()];
    assert.deepEqual(
      out.map((r) => r.line),
      [1, 2, 4],
    );
    assert.deepEqual(out.map((r) => r.fields), [
      ['1', 'a b', '3'],
      ['2', 'x', ''],
      ['3', 'last'],
    ]);
  });
});

describe('source schema', () => {
  const entries = [
    { key: 'type', value: 'csvpipe', line: 1 },
    { key: 'csvpipe_field', value: 'title', line: 2 },
    { key: 'csvpipe_field_string', value: 'name', line: 3 },
    { key: 'csvpipe_attr_uint', value: 'price', line: 4 },
    { key: 'csvpipe_attr_bigint', value: 'big', line: 5 },
    { key: 'csvpipe_attr_float', value: 'f', line: 6 },
    { key: 'csvpipe_attr_bool', value: 'b', line: 7 },
    { key: 'csvpipe_attr_timestamp', value: 'ts', line: 8 },
    { key: 'csvpipe_attr_string', value: 's', line: 9 },
    { key: 'csvpipe_attr_json', value: 'j', line: 10 },
    { key: 'csvpipe_attr_multi', value: 'm', line: 11 },
    { key: 'csvpipe_attr_multi_64', value: 'm64', line: 12 },
    { key: 'tsvpipe_field', value: 'ignored', line: 13 },
  ];

  test('declarations in order and their column definitions', () => {
    const cols = declaredColumns('csvpipe', entries);
    assert.deepEqual(
      cols.map((c) => [c.name, c.kind]),
      [
        ['title', 'field'],
        ['name', 'field_string'],
        ['price', 'uint'],
        ['big', 'bigint'],
        ['f', 'float'],
        ['b', 'bool'],
        ['ts', 'timestamp'],
        ['s', 'string'],
        ['j', 'json'],
        ['m', 'multi'],
        ['m64', 'multi_64'],
      ],
    );
    assert.deepEqual(columnDefs(cols), [
      { name: 'title', type: 'text', options: ['indexed', 'stored'] },
      { name: 'name', type: 'string', options: ['indexed', 'attribute'] },
      { name: 'price', type: 'uint', options: [] },
      { name: 'big', type: 'bigint', options: [] },
      { name: 'f', type: 'float', options: [] },
      { name: 'b', type: 'bool', options: [] },
      { name: 'ts', type: 'timestamp', options: [] },
      { name: 's', type: 'string', options: ['attribute'] },
      { name: 'j', type: 'json', options: [] },
      { name: 'm', type: 'multi', options: [] },
      { name: 'm64', type: 'multi64', options: [] },
    ]);
    assert.throws(
      () =>
        declaredColumns('tsvpipe', [
          { key: 'tsvpipe_field', value: 'a', line: 1 },
          { key: 'tsvpipe_attr_uint', value: 'A', line: 2 },
        ]),
      /duplicate column 'A'/,
    );
  });

  test('value conversion', () => {
    const warnings: string[] = [];
    const w = (m: string) => warnings.push(m);
    assert.equal(convertValue({ name: 'p', kind: 'uint' }, '42', w), 42);
    assert.equal(convertValue({ name: 'p', kind: 'uint' }, '4294967297', w), 1);
    assert.equal(convertValue({ name: 'p', kind: 'uint' }, 'abc', w), 0);
    assert.equal(convertValue({ name: 'b', kind: 'bigint' }, '-5', w), -5);
    assert.equal(convertValue({ name: 'b', kind: 'bigint' }, '9223372036854775807', w), '9223372036854775807');
    assert.equal(convertValue({ name: 'f', kind: 'float' }, '1.25', w), 1.25);
    assert.equal(convertValue({ name: 'x', kind: 'bool' }, '1', w), true);
    assert.equal(convertValue({ name: 'x', kind: 'bool' }, '0', w), false);
    assert.equal(convertValue({ name: 't', kind: 'timestamp' }, '1700000000', w), 1700000000);
    assert.deepEqual(convertValue({ name: 'j', kind: 'json' }, '{"a":[1,2]}', w), { a: [1, 2] });
    assert.deepEqual(convertValue({ name: 'm', kind: 'multi' }, '3,1 2,3', w), [1, 2, 3]);
    assert.deepEqual(convertValue({ name: 'm', kind: 'multi_64' }, '18446744073709551615,1', w), [1, '18446744073709551615']);
    assert.equal(convertValue({ name: 's', kind: 'string' }, ' keep ', w), ' keep ');
    assert.deepEqual(warnings, []);
    assert.equal(convertValue({ name: 'j', kind: 'json' }, '{bad', w), null);
    assert.deepEqual(warnings, ["invalid JSON in attribute 'j', ignored"]);
  });

  test('document ids', () => {
    assert.equal(parseDocId('18446744073709551615'), '18446744073709551615');
    assert.equal(parseDocId(' 007 '), '7');
    assert.equal(parseDocId('0'), undefined);
    assert.equal(parseDocId('18446744073709551616'), undefined);
    assert.equal(parseDocId('-1'), undefined);
    assert.equal(parseDocId('x'), undefined);
  });
});
