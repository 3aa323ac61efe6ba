/**
 * The source feed and its validator: header handling, quoted fields, several segments, wrong column
 * count, non-numeric id and values, empty files, messages `<file> line <n>: <reason>`; and the
 * `source-feed` command line.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { FeedError, runFeed, type FeedProgress } from '../../../src/import/feed.js';
import { parseFeedArgs, formatColumnsArg } from '../../../src/import/feed-args.js';
import { parseSource, sourceText, type SourceRef } from '../../../src/import/sources.js';
import { checkRecord, checkValue, idProblem, type FeedColumn } from '../../../src/import/validate.js';

const COLUMNS: FeedColumn[] = [
  { name: 'title', type: 'text' },
  { name: 'price', type: 'float' },
  { name: 'qty', type: 'integer' },
];

const dir = mkdtempSync(path.join(os.tmpdir(), 'mco-feed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): SourceRef {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return { kind: 'file', path: p };
}

async function feed(sources: SourceRef[], o: { header?: boolean; format?: 'csv' | 'tsv'; columns?: FeedColumn[] } = {}): Promise<{ out: string; progress: FeedProgress }> {
  const out = new PassThrough();
  let text = '';
  out.setEncoding('utf8').on('data', (d: string) => (text += d));
  const progress = await runFeed({ format: o.format ?? 'csv', header: o.header ?? true, columns: o.columns ?? COLUMNS, sources, out });
  return { out: text, progress };
}

async function feedError(sources: SourceRef[], o: { header?: boolean; format?: 'csv' | 'tsv' } = {}): Promise<string> {
  try {
    await feed(sources, o);
  } catch (err) {
    assert.ok(err instanceof FeedError, `expected FeedError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the feed should have failed');
}

describe('validator', () => {
  test('ids: positive 64-bit integers only', () => {
    assert.equal(idProblem('1'), undefined);
    assert.equal(idProblem('9223372036854775807'), undefined);
    assert.match(idProblem('9223372036854775808') ?? '', /larger than 2\^63-1/);
    assert.match(idProblem('0') ?? '', /id 0 is not allowed/);
    assert.match(idProblem('abc') ?? '', /id "abc" is not a positive integer/);
    assert.match(idProblem('-1') ?? '', /not a positive integer/);
    assert.match(idProblem('') ?? '', /not a positive integer/);
  });

  test('values per type, with normalisation of bool and timestamp', () => {
    const v = (type: FeedColumn['type'], raw: string) => checkValue({ name: 'c', type }, raw);
    assert.deepEqual(v('integer', '42'), { value: '42' });
    assert.deepEqual(v('integer', ''), { value: '' });
    assert.match(JSON.stringify(v('integer', '-1')), /not a non-negative integer/);
    assert.match(JSON.stringify(v('integer', '4294967296')), /larger than 4294967295/);
    assert.deepEqual(v('bigint', '-9223372036854775808'), { value: '-9223372036854775808' });
    assert.match(JSON.stringify(v('bigint', '1.5')), /not an integer/);
    assert.deepEqual(v('float', '1e-3'), { value: '1e-3' });
    assert.deepEqual(v('float', ' 2.50 '), { value: '2.50' });
    assert.match(JSON.stringify(v('float', 'cheap')), /column 'c' \(float\): \\"cheap\\" is not a number/);
    assert.deepEqual(v('bool', 'Yes'), { value: '1' });
    assert.deepEqual(v('bool', ''), { value: '0' });
    assert.match(JSON.stringify(v('bool', 'maybe')), /not a boolean/);
    assert.deepEqual(v('timestamp', '1700000000'), { value: '1700000000' });
    assert.deepEqual(v('timestamp', '2024-01-02'), { value: '1704153600' });
    assert.deepEqual(v('timestamp', '2024-01-02T03:04:05Z'), { value: '1704164645' });
    assert.deepEqual(v('timestamp', '2024-01-02T05:04:05+02:00'), { value: '1704164645' });
    assert.match(JSON.stringify(v('timestamp', '2024-02-31')), /not a timestamp/);
    assert.match(JSON.stringify(v('timestamp', 'yesterday')), /not a timestamp/);
    assert.deepEqual(v('json', '{"a":1}'), { value: '{"a":1}' });
    assert.match(JSON.stringify(v('json', '{a:1}')), /not valid JSON/);
    assert.deepEqual(v('multi', '1,2 3'), { value: '1,2 3' });
    assert.match(JSON.stringify(v('multi', '1,x')), /\\"x\\" is not a non-negative integer/);
    assert.deepEqual(v('multi64', '[-5, 7]'), { value: '[-5, 7]' });
    assert.deepEqual(v('text', ' keep  spaces '), { value: ' keep  spaces ' });
  });

  test('records: column count and the id come first', () => {
    assert.deepEqual(checkRecord(COLUMNS, ['7', 'shoe', '1.5', '2']), { fields: ['7', 'shoe', '1.5', '2'] });
    assert.deepEqual(checkRecord(COLUMNS, ['7', 'shoe', '1.5']), { problem: '3 columns, expected 4 (id + 3 declared)' });
    assert.deepEqual(checkRecord(COLUMNS, ['x', 'shoe', '1.5', '2']), { problem: 'id "x" is not a positive integer (the first column is the document id)' });
  });
});

describe('runFeed', () => {
  test('drops each segment header, keeps quoted fields, re-quotes for the indexer, counts rows and bytes', async () => {
    const a = file('a.csv', 'id,title,price,qty\n1,"shoe, red",1.5,2\n2,"say ""hi""",3,4\n');
    const b = file('b.csv', 'id,title,price,qty\r\n3,"two\r\nlines",5,\r\n');
    const { out, progress } = await feed([a, b]);
    assert.equal(out, '1,"shoe, red",1.5,2\n2,"say ""hi""",3,4\n3,"two\r\nlines",5,\n');
    assert.equal(progress.rows, 3);
    assert.equal(progress.done, true);
    assert.equal(progress.bytes, Buffer.byteLength('id,title,price,qty\n1,"shoe, red",1.5,2\n2,"say ""hi""",3,4\n') + Buffer.byteLength('id,title,price,qty\r\n3,"two\r\nlines",5,\r\n'));
  });

  test('without a header the first line is data; TSV passes tabs through', async () => {
    const t = file('a.tsv', '1\tshoe\t1.5\t2\n2\that\t3\t4\n');
    const { out } = await feed([t], { header: false, format: 'tsv' });
    assert.equal(out, '1\tshoe\t1.5\t2\n2\that\t3\t4\n');
  });

  test('wrong column count: file, line and both numbers', async () => {
    const a = file('cols-a.csv', 'id,title,price,qty\n1,a,1,1\n');
    const b = file('products.csv', 'id,title,price,qty\n1,a,1,1\n2,b,2,2\n3,c,3,3\n4,d,4,4\n5,e,5,5\n6,f,6\n');
    assert.equal(await feedError([a, b]), `${b.kind === 'file' ? b.path : ''} line 7: 3 columns, expected 4 (id + 3 declared)`);
  });

  test('a header with the wrong number of columns is refused too', async () => {
    const a = file('hdr.csv', 'id,title,price\n1,a,1,1\n');
    assert.match(await feedError([a]), /hdr\.csv line 1: header has 3 columns, expected 4/);
  });

  test('non-numeric id and non-numeric value', async () => {
    const a = file('id.csv', 'id,title,price,qty\nabc,a,1,1\n');
    assert.match(await feedError([a]), /id\.csv line 2: id "abc" is not a positive integer/);
    const b = file('val.csv', 'id,title,price,qty\n1,"multi\nline",1,1\n2,a,1,lots\n');
    assert.match(await feedError([b]), /val\.csv line 4: column 'qty' \(integer\): "lots" is not a non-negative integer/);
  });

  test('an id column without a header: the header line read as data fails on its id', async () => {
    const a = file('nohdr.csv', 'id,title,price,qty\n1,a,1,1\n');
    assert.match(await feedError([a], { header: false }), /nohdr\.csv line 1: id "id" is not a positive integer/);
  });

  test('empty files, header-only sources and broken quoting', async () => {
    const empty = file('empty.csv', '');
    assert.match(await feedError([empty]), /empty\.csv: empty file \(no header and no rows\)/);
    const headerOnly = file('header-only.csv', 'id,title,price,qty\n');
    assert.match(await feedError([headerOnly]), /no rows in any source .*header-only\.csv.*: refusing to build an empty table/);
    const good = file('good.csv', 'id,title,price,qty\n1,a,1,1\n');
    assert.equal((await feed([headerOnly, good])).progress.rows, 1, 'a header-only segment next to others is fine');
    const quote = file('quote.csv', 'id,title,price,qty\n1,"open,1,1\n');
    assert.match(await feedError([quote]), /quote\.csv line 2: unterminated quoted field/);
  });

  test('a missing file and a failing URL name the source', async () => {
    assert.match(await feedError([{ kind: 'file', path: path.join(dir, 'nope.csv') }]), /nope\.csv: cannot read: no such file/);
    const server = http.createServer((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      const msg = await feedError([parseSource(`http://127.0.0.1:${port}/x.csv?X-Amz-Signature=secret`, 's')]);
      assert.equal(msg, `http://127.0.0.1:${port}/x.csv: HTTP 404 Not Found`, 'the query string (signed URL) is not shown');
    } finally {
      server.close();
    }
  });

  test('a URL source is streamed', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.write('id,title,price,qty\n1,a,1');
      setTimeout(() => res.end(',1\n2,b,2,2\n'), 20);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      const { out } = await feed([parseSource(`http://127.0.0.1:${port}/x.csv`, 's')]);
      assert.equal(out, '1,a,1,1\n2,b,2,2\n');
    } finally {
      server.close();
    }
  });
});

describe('source-feed arguments', () => {
  test('round trip of the columns and sources', () => {
    const args = parseFeedArgs(['--format', 'csv', '--header', '1', '--columns', formatColumnsArg(COLUMNS), '--report', '/r.json', '--', '/a.csv', '/--weird.csv', 's3://b1b/k/a.csv', 'gs://g1g/b.csv']);
    assert.equal(args.format, 'csv');
    assert.equal(args.header, true);
    assert.deepEqual(args.columns, COLUMNS);
    assert.equal(args.report, '/r.json');
    assert.deepEqual(
      args.sources.map(sourceText),
      ['/a.csv', '/--weird.csv', 's3://b1b/k/a.csv', 'gs://g1g/b.csv'],
    );
  });

  test('bad usage is explained', () => {
    assert.throws(() => parseFeedArgs(['--format', 'xml']), /--format must be csv or tsv/);
    assert.throws(() => parseFeedArgs(['--format', 'csv', '--header', '1', '--columns', 'a:varchar', '/a.csv']), /--columns: "a:varchar" is not name:type/);
    assert.throws(() => parseFeedArgs(['--format', 'csv', '--header', '1', '--columns', 'a:text']), /name at least one source/);
  });
});
