import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bulkDocument, bulkLine, convertBulkId, convertBulkValue, looksLikeHeader, parseTimestamp, type BulkColumn } from '../../../src/import/bulk-values.js';
import { validateTableDocument } from '../../../src/spec/index.js';

const json = (col: BulkColumn, raw: string): unknown => {
  const r = convertBulkValue(col, raw);
  if ('problem' in r) throw new Error(r.problem);
  return JSON.parse(r.json) as unknown;
};
const problem = (col: BulkColumn, raw: string): string => {
  const r = convertBulkValue(col, raw);
  assert.ok('problem' in r, `${col.type} ${JSON.stringify(raw)} should not convert`);
  return r.problem;
};

describe('bulk value conversions (original-system.md 4.2)', () => {
  it('booleans: 1/true/yes/on/t/y and 0/false/no/off/f/n/empty, any case', () => {
    const b: BulkColumn = { name: 'active', type: 'bool' };
    for (const v of ['1', 'true', 'TRUE', 'yes', 'on', 't', 'Y', ' y ']) assert.equal(json(b, v), true, v);
    for (const v of ['0', 'false', 'No', 'off', 'f', 'n', '']) assert.equal(json(b, v), false, v);
    assert.match(problem(b, 'maybe'), /column 'active' \(bool\): "maybe" is not a boolean/);
  });

  it('timestamps in every listed format, as unix seconds (UTC when no zone)', () => {
    const t: BulkColumn = { name: 'at', type: 'timestamp' };
    const cases: [string, number][] = [
      ['1700000000', 1700000000],
      ['2006-01-02T15:04:05Z', 1136214245],
      ['2006-01-02T15:04:05+07:00', 1136189045],
      ['2006-01-02T15:04:05.123-01:30', 1136219645],
      ['2006-01-02 15:04:05', 1136214245],
      ['2006-01-02T15:04:05', 1136214245],
      ['2006-01-02', 1136160000],
      ['01/02/2006', 1136160000],
      ['01/02/2006 15:04:05', 1136214245],
      ['02-Jan-2006', 1136160000],
      ['02-jan-2006 15:04:05', 1136214245],
      ['', 0],
    ];
    for (const [text, want] of cases) assert.equal(json(t, text), want, text);
    assert.equal(parseTimestamp('2024-02-30'), undefined, 'a day that does not exist');
    assert.equal(parseTimestamp('13/01/2006'), undefined, 'month 13');
    assert.equal(parseTimestamp('02-Foo-2006'), undefined);
    assert.match(problem(t, 'yesterday'), /not a timestamp/);
  });

  it('multi-value attributes: JSON array, comma- or space-separated; multi64 keeps every digit', () => {
    const m: BulkColumn = { name: 'tags', type: 'multi' };
    assert.deepEqual(json(m, '[1, 2,3]'), [1, 2, 3]);
    assert.deepEqual(json(m, '4,5'), [4, 5]);
    assert.deepEqual(json(m, '6 7  8'), [6, 7, 8]);
    assert.deepEqual(json(m, ''), []);
    assert.match(problem(m, '1,-2'), /not a non-negative integer/);
    assert.match(problem(m, '4294967296'), /out of range/);
    const r = convertBulkValue({ name: 'big', type: 'multi64' }, '-1, 9223372036854775807');
    assert.deepEqual(r, { json: '[-1,9223372036854775807]' });
  });

  it('JSON attributes: parsed JSON on one line, empty → {}', () => {
    const j: BulkColumn = { name: 'meta', type: 'json' };
    assert.deepEqual(json(j, '{"a": 1,\n "b": [true]}'), { a: 1, b: [true] });
    assert.ok(!('problem' in convertBulkValue(j, '{"a":\n1}')) && !(convertBulkValue(j, '{"a":\n1}') as { json: string }).json.includes('\n'));
    assert.deepEqual(json(j, ''), {});
    assert.match(problem(j, '{oops'), /not valid JSON/);
  });

  it('numbers: uint32 and int64 exact, floats, empty → 0; text kept as written', () => {
    assert.equal(json({ name: 'q', type: 'integer' }, ''), 0);
    assert.equal(json({ name: 'q', type: 'integer' }, '42'), 42);
    assert.match(problem({ name: 'q', type: 'integer' }, '4294967296'), /use bigint/);
    assert.match(problem({ name: 'q', type: 'integer' }, '1.5'), /not a non-negative integer/);
    assert.deepEqual(convertBulkValue({ name: 'b', type: 'bigint' }, '-9223372036854775808'), { json: '-9223372036854775808' });
    assert.equal(json({ name: 'p', type: 'float' }, '19.85'), 19.85);
    assert.equal(json({ name: 'p', type: 'float' }, '1e3'), 1000);
    assert.match(problem({ name: 'p', type: 'float' }, 'cheap'), /column 'p' \(float\): "cheap" is not a number/);
    assert.equal(json({ name: 's', type: 'text' }, ' a "quoted" word\n'), ' a "quoted" word\n');
  });

  it('ids: a positive 64-bit integer from the first column, or the row position', () => {
    assert.deepEqual(convertBulkId(' 9223372036854775807 '), { id: '9223372036854775807' });
    assert.match((convertBulkId('0') as { problem: string }).problem, /id 0 is not allowed/);
    assert.match((convertBulkId('abc') as { problem: string }).problem, /not a positive integer/);
    const cols: BulkColumn[] = [
      { name: 'title', type: 'text' },
      { name: 'on_sale', type: 'bool' },
    ];
    assert.deepEqual(bulkDocument(cols, ['7', 'shoe', 'yes'], { idColumn: true, rowNumber: 1 }), { id: '7', doc: '{"title":"shoe","on_sale":true}' });
    assert.deepEqual(bulkDocument(cols, ['shoe', 'no'], { idColumn: false, rowNumber: 12 }), { id: '12', doc: '{"title":"shoe","on_sale":false}' });
    assert.match((bulkDocument(cols, ['shoe', 'no'], { idColumn: true, rowNumber: 1 }) as { problem: string }).problem, /2 columns, expected 3 \(id \+ 2 declared\)/);
    assert.equal(bulkLine('t_main_b', '7', '{}'), '{"replace":{"table":"t_main_b","id":7,"doc":{}}}\n');
    assert.equal(bulkLine('t_main_b', '7', '{}', 'c'), '{"replace":{"cluster":"c","table":"t_main_b","id":7,"doc":{}}}\n');
  });

  it('header detection: the column names (with or without id), or a non-numeric id field', () => {
    const cols: BulkColumn[] = [
      { name: 'title', type: 'text' },
      { name: 'price', type: 'float' },
    ];
    assert.equal(looksLikeHeader(cols, ['id', 'Title', 'price'], true), true);
    assert.equal(looksLikeHeader(cols, ['title', 'price'], false), true);
    assert.equal(looksLikeHeader(cols, ['sku', 'name', 'cost'], true), true, 'first field is not a number');
    assert.equal(looksLikeHeader(cols, ['1', 'shoe', '9.5'], true), false);
    assert.equal(looksLikeHeader(cols, ['shoe', '9.5'], false), false);
  });
});

describe('importMethod bulk in a table spec', () => {
  const origin = { kind: 'file' as const, ref: 'products.json' };
  it('is accepted with its options and defaults to indexer', () => {
    const r = validateTableDocument(
      {
        name: 'products',
        columns: [{ name: 'title', type: 'text' }],
        importMethod: 'bulk',
        import: { source: 'products.csv', detectHeader: true, idColumn: false, workers: 8, batchSize: 500 },
      },
      origin,
    );
    assert.deepEqual(r.problems, []);
    assert.equal(r.spec?.importMethod, 'bulk');
    assert.equal(r.spec?.import?.detectHeader, true);
    assert.equal(r.spec?.import?.idColumn, false);
    assert.equal(r.spec?.import?.workers, 8);
    assert.equal(r.spec?.import?.batchSize, 500);
    const plain = validateTableDocument({ name: 'products', columns: [{ name: 'title', type: 'text' }] }, origin);
    assert.equal(plain.spec?.importMethod, undefined);
  });

  it('refuses bulk-only options for the indexer method and a bad method, naming the field and the fix', () => {
    const r = validateTableDocument(
      { name: 'products', columns: [{ name: 'title', type: 'text' }], import: { source: 'p.csv', detectHeader: true, workers: 2 } },
      origin,
    );
    const pointers = r.problems.map((p) => p.pointer).sort();
    assert.deepEqual(pointers, ['/import/detectHeader', '/import/workers']);
    assert.match(r.problems[0]?.message ?? '', /importMethod "bulk"/);
    const bad = validateTableDocument({ name: 'products', columns: [{ name: 'title', type: 'text' }], importMethod: 'stream' }, origin);
    assert.equal(bad.problems[0]?.pointer, '/importMethod');
    const both = validateTableDocument(
      { name: 'products', columns: [{ name: 'title', type: 'text' }], importMethod: 'bulk', import: { source: 'p.csv', header: true, detectHeader: true } },
      origin,
    );
    assert.equal(both.problems[0]?.pointer, '/import/detectHeader');
  });
});
