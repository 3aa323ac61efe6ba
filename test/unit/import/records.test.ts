/** Streaming CSV (RFC 4180) and TSV record readers: quoting, line numbers, chunk boundaries. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvReader, csvLine, RecordSyntaxError, TsvReader, tsvLine, type RecordReader, type SourceRecord } from '../../../src/import/records.js';

function readAll(reader: RecordReader, text: string, chunk = text.length || 1): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (let i = 0; i < text.length; i += chunk) out.push(...reader.push(text.slice(i, i + chunk)));
  out.push(...reader.end());
  return out;
}

describe('CsvReader', () => {
  const text = 'id,title\r\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n\n4,,\n5,last';
  const expected: SourceRecord[] = [
    { fields: ['id', 'title'], line: 1 },
    { fields: ['1', 'a, b'], line: 2 },
    { fields: ['2', 'say "hi"'], line: 3 },
    { fields: ['3', 'two\nlines'], line: 4 },
    { fields: ['4', '', ''], line: 7 },
    { fields: ['5', 'last'], line: 8 },
  ];

  test('quoted fields, doubled quotes, newlines in quotes, CRLF, blank lines and no final newline', () => {
    assert.deepEqual(readAll(new CsvReader(), text), expected);
  });

  test('the same records whatever the chunk size (1, 2, 3, 7 characters)', () => {
    for (const size of [1, 2, 3, 7]) assert.deepEqual(readAll(new CsvReader(), text, size), expected, `chunk ${size}`);
  });

  test('CRLF split across chunks and lone CR end a record once', () => {
    assert.deepEqual(readAll(new CsvReader(), '1,a\r\n2,b\r3,c\r\n', 4), [
      { fields: ['1', 'a'], line: 1 },
      { fields: ['2', 'b'], line: 2 },
      { fields: ['3', 'c'], line: 3 },
    ]);
  });

  test('text after a closing quote and an unterminated quote are errors with the record line', () => {
    assert.throws(
      () => readAll(new CsvReader(), '1,ok\n2,"ab"c\n'),
      (err: unknown) => err instanceof RecordSyntaxError && err.line === 2 && /after a closing quote/.test(err.reason),
    );
    assert.throws(
      () => readAll(new CsvReader(), '1,ok\n2,"never closed\n3,x\n'),
      (err: unknown) => err instanceof RecordSyntaxError && err.line === 2 && /unterminated/.test(err.reason),
    );
  });

  test('an empty input has no records', () => {
    assert.deepEqual(readAll(new CsvReader(), ''), []);
    assert.deepEqual(readAll(new CsvReader(), '\n\n'), []);
  });

  test('csvLine quotes only what needs it and round-trips', () => {
    const fields = ['1', 'plain', 'a,b', 'say "hi"', 'two\nlines', ''];
    const line = csvLine(fields);
    assert.equal(line, '1,plain,"a,b","say ""hi""","two\nlines",\n');
    assert.deepEqual(readAll(new CsvReader(), line), [{ fields, line: 1 }]);
  });
});

describe('TsvReader', () => {
  test('tabs split fields, CRLF is accepted, blank lines skipped, quotes are plain characters', () => {
    assert.deepEqual(readAll(new TsvReader(), 'id\ttitle\r\n1\t"quoted"\n\n2\ta,b', 3), [
      { fields: ['id', 'title'], line: 1 },
      { fields: ['1', '"quoted"'], line: 2 },
      { fields: ['2', 'a,b'], line: 4 },
    ]);
    assert.equal(tsvLine(['1', 'x', '']), '1\tx\t\n');
  });
});
