import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { SpecOrigin, SpecProblem, TableSpec } from '../../../src/domain/spec.js';
import { detectFormat, validateDocument, validateTableDocument } from '../../../src/spec/validate.js';

const ROOT = new URL('../../../../', import.meta.url);
const origin: SpecOrigin = { kind: 'file', ref: 'tables/t.json' };

function minimal(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 't', columns: [{ name: 'title', type: 'text' }], ...extra };
}

/** The problems of a document, as `pointer → message`; fails when the document is valid. */
function problemsOf(doc: unknown): SpecProblem[] {
  const r = validateTableDocument(doc, origin);
  assert.equal(r.spec, undefined, 'expected the document to be invalid');
  assert.ok(r.problems.length > 0);
  for (const p of r.problems) assert.deepEqual(p.origin, origin);
  return r.problems;
}

/** Exactly one problem at `pointer`, whose message contains every fragment. */
function expectProblem(doc: unknown, pointer: string, ...fragments: string[]): SpecProblem {
  const at = problemsOf(doc).filter((p) => p.pointer === pointer);
  assert.equal(at.length, 1, `expected one problem at ${pointer}, got ${JSON.stringify(problemsOf(doc))}`);
  const [p] = at;
  assert.ok(p);
  for (const f of fragments) assert.ok(p.message.includes(f), `message ${JSON.stringify(p.message)} lacks ${JSON.stringify(f)}`);
  return p;
}

describe('validateTableDocument: valid documents', () => {
  it('applies every default to a minimal document', () => {
    const r = validateTableDocument(minimal(), origin);
    assert.deepEqual(r.problems, []);
    const expected: TableSpec = {
      name: 't',
      columns: [{ name: 'title', type: 'text' }],
      settings: {},
      clusterMain: false,
      distributed: { haStrategy: 'nodeads', agentRetryCount: 0 },
      backups: [],
      deletionPolicy: 'retain',
    };
    assert.deepEqual(r.spec, expected);
  });

  it('converts the products example exactly', () => {
    const doc = JSON.parse(readFileSync(new URL('examples/tables/products.json', ROOT), 'utf8')) as unknown;
    const r = validateTableDocument(doc, origin);
    assert.deepEqual(r.problems, []);
    const expected: TableSpec = {
      name: 'products',
      columns: [
        { name: 'title', type: 'text' },
        { name: 'description', type: 'text' },
        { name: 'price', type: 'float' },
        { name: 'category', type: 'string' },
        { name: 'tags', type: 'multi' },
        { name: 'in_stock', type: 'bool' },
        { name: 'updated_at', type: 'timestamp' },
      ],
      settings: { morphology: 'stem_en', min_infix_len: 2 },
      import: { urls: ['products/products.csv'], format: 'csv', header: true },
      clusterMain: false,
      distributed: { haStrategy: 'nodeads', agentRetryCount: 1 },
      backups: [{ name: 'nightly-delta', type: 'delta', schedule: '0 2 * * *', keep: 7 }],
      deletionPolicy: 'retain',
    };
    assert.deepEqual(r.spec, expected);
  });

  it('keeps explicit values, converts boolean settings to 1/0 and takes several segment files', () => {
    const r = validateTableDocument(
      {
        apiVersion: 'manticore.example/v1',
        kind: 'ManticoreTable',
        name: 'events',
        columns: [
          { name: 'body', type: 'text', indexed: true, stored: false },
          { name: 'tag', type: 'string', indexed: true },
          { name: 'n', type: 'bigint' },
        ],
        settings: { html_strip: true, index_exact_words: false, dict: 'keywords', rt_mem_limit: '128M' },
        import: {
          source: ['s3://bucket/events/part-1.tsv', 'gs://bucket/events/part-2.tsv', 'https://example.com/e/part-3.tsv?sig=x'],
          memLimit: '512M',
          schedule: '30 3 * * 1-5',
        },
        clusterMain: true,
        distributed: { haStrategy: 'roundrobin', agentRetryCount: 3 },
        backups: [
          { name: 'main-weekly', type: 'main', schedule: '@weekly' },
          { name: 'delta-hourly', type: 'delta', schedule: '0 * * * *', keep: 24 },
        ],
        deletionPolicy: 'delete',
      },
      origin,
    );
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.spec, {
      name: 'events',
      columns: [
        { name: 'body', type: 'text', indexed: true, stored: false },
        { name: 'tag', type: 'string', indexed: true },
        { name: 'n', type: 'bigint' },
      ],
      settings: { html_strip: 1, index_exact_words: 0, dict: 'keywords', rt_mem_limit: '128M' },
      import: {
        urls: ['s3://bucket/events/part-1.tsv', 'gs://bucket/events/part-2.tsv', 'https://example.com/e/part-3.tsv?sig=x'],
        format: 'tsv',
        header: false,
        memLimit: '512M',
        schedule: '30 3 * * 1-5',
      },
      clusterMain: true,
      distributed: { haStrategy: 'roundrobin', agentRetryCount: 3 },
      backups: [
        { name: 'main-weekly', type: 'main', schedule: '@weekly' },
        { name: 'delta-hourly', type: 'delta', schedule: '0 * * * *', keep: 24 },
      ],
      deletionPolicy: 'delete',
    });
  });

  it('an explicit format wins over the extension', () => {
    const r = validateTableDocument(minimal({ import: { source: 'dump/data.txt', format: 'tsv', header: true } }), origin);
    assert.deepEqual(r.spec?.import, { urls: ['dump/data.txt'], format: 'tsv', header: true });
  });
});

describe('validateTableDocument: every class of error has a pointer and a fix', () => {
  it('not an object', () => {
    const [p] = problemsOf([1, 2]);
    assert.equal(p?.pointer, '');
    assert.match(p?.message ?? '', /must be a JSON object/);
  });

  it('missing name and columns', () => {
    expectProblem({}, '/name', 'missing', '"name": "products"');
    expectProblem({}, '/columns', 'missing', '"columns": [{"name": "title", "type": "text"}]');
  });

  it('table names: case, spaces, length, reserved suffixes', () => {
    expectProblem(minimal({ name: 'My Table' }), '/name', "'My Table'", 'use lower-case letters', "e.g. 'my_table'");
    expectProblem(minimal({ name: 'x'.repeat(58) }), '/name', 'at most 57');
    assert.deepEqual(validateTableDocument(minimal({ name: 'x'.repeat(57) }), origin).problems, []);
    expectProblem(minimal({ name: 'orders_delta' }), '/name', "reserved for the tables derived");
    expectProblem(minimal({ name: 7 }), '/name', 'must be a string');
  });

  it('columns: empty list, bad type with a hint, id, bad and duplicate names, unknown keys', () => {
    expectProblem(minimal({ columns: [] }), '/columns', 'declare at least one column');
    expectProblem(
      minimal({ columns: [{ name: 'a', type: 'text' }, { name: 'b', type: 'text' }, { name: 'c', type: 'varchar' }] }),
      '/columns/2/type',
      "'varchar' is not a Manticore column type; use one of text, string, integer, bigint, float, bool, timestamp, json, multi, multi64",
      "'string' for an attribute or 'text' for full-text",
    );
    expectProblem(minimal({ columns: [{ name: 'id', type: 'bigint' }] }), '/columns/0/name', 'implicit document id', 'external_id');
    expectProblem(minimal({ columns: [{ name: 'Price', type: 'float' }] }), '/columns/0/name', "e.g. 'price'");
    expectProblem(minimal({ columns: [{ name: 'order', type: 'integer' }, { name: 'from', type: 'integer' }] }), '/columns/1/name', 'reserved word');
    expectProblem(
      minimal({ columns: [{ name: 'a', type: 'text' }, { name: 'a', type: 'string' }] }),
      '/columns/1/name',
      "declared twice (also at /columns/0)",
    );
    expectProblem(minimal({ columns: [{ name: 'a', type: 'text', facet: true }] }), '/columns/0/facet', "unknown key 'facet'", 'name, type, indexed, stored');
    expectProblem(minimal({ columns: [{ name: 'a' }] }), '/columns/0/type', 'missing', 'use one of text, string');
  });

  it('column flags that do not apply', () => {
    expectProblem(minimal({ columns: [{ name: 'n', type: 'integer', indexed: true }] }), '/columns/0/indexed', 'only to text and string', 'remove it');
    expectProblem(minimal({ columns: [{ name: 's', type: 'string', stored: true }] }), '/columns/0/stored', 'always stored');
    expectProblem(minimal({ columns: [{ name: 'b', type: 'text', indexed: false, stored: false }] }), '/columns/0', 'neither indexed nor stored');
  });

  it('settings: unknown keys with a suggestion, distributed-only keys, wrong types, ranges', () => {
    expectProblem(minimal({ settings: { min_infix: 2 } }), '/settings/min_infix', "unknown setting 'min_infix'", "did you mean 'min_infix_len'", 'known settings are morphology');
    expectProblem(minimal({ settings: { minInfixLen: 2 } }), '/settings/minInfixLen', "did you mean 'min_infix_len'");
    expectProblem(minimal({ settings: { ha_strategy: 'random' } }), '/settings/ha_strategy', '"distributed": {"haStrategy"');
    expectProblem(minimal({ settings: { min_infix_len: '2' } }), '/settings/min_infix_len', 'write the number without quotes: 2');
    expectProblem(minimal({ settings: { html_strip: 'yes' } }), '/settings/html_strip', 'true or false');
    expectProblem(minimal({ settings: { min_word_len: 0 } }), '/settings/min_word_len', 'use 1 or more');
    expectProblem(minimal({ settings: { dict: 'crc32' } }), '/settings/dict', 'use one of keywords, crc');
    expectProblem(minimal({ settings: { rt_mem_limit: '1 GB' } }), '/settings/rt_mem_limit', 'e.g. 256M');
  });

  it('import: sources, format, memLimit, schedule, unknown keys', () => {
    expectProblem(minimal({ import: {} }), '/import/source', 'missing', 's3://bucket/key');
    expectProblem(minimal({ import: { source: [] } }), '/import/source', 'no files');
    expectProblem(minimal({ import: { source: 'http://example.com/a.csv' } }), '/import/source', 'plain http', 'https://');
    expectProblem(minimal({ import: { source: ['a.csv', 'ftp://host/b.csv'] } }), '/import/source/1', "'ftp://'", 's3://bucket/key');
    expectProblem(minimal({ import: { source: 's3://bucket' } }), '/import/source', 'names no object');
    expectProblem(minimal({ import: { source: 42 } }), '/import/source', 'string or an array of strings');
    expectProblem(minimal({ import: { source: 'data/export.dat' } }), '/import/format', 'cannot tell csv from tsv', '"format": "csv" or "tsv"');
    expectProblem(minimal({ import: { source: ['a.csv', 'b.tsv'] } }), '/import/format', 'mix .csv and .tsv');
    expectProblem(minimal({ import: { source: 'a.csv', format: 'xlsx' } }), '/import/format', 'not an import format', 'use one of csv, tsv');
    expectProblem(minimal({ import: { source: 'a.csv', memLimit: '4G' } }), '/import/memLimit', 'at most 2047M');
    expectProblem(minimal({ import: { source: 'a.csv', memLimit: '256MB' } }), '/import/memLimit', 'e.g. 256M');
    expectProblem(minimal({ import: { source: 'a.csv', schedule: '0 0 2 * * *' } }), '/import/schedule', 'has 6 fields', 'five fields');
    expectProblem(minimal({ import: { source: 'a.csv', schedule: '99 * * * *' } }), '/import/schedule', 'not a valid cron expression');
    expectProblem(minimal({ import: { source: 'a.csv', headers: true } }), '/import/headers', "did you mean 'header'");
  });

  it('distributed options, clusterMain, deletionPolicy', () => {
    expectProblem(minimal({ distributed: { haStrategy: 'nodead' } }), '/distributed/haStrategy', "did you mean 'nodeads'", 'random, nodeads, noerrors, roundrobin');
    expectProblem(minimal({ distributed: { agentRetryCount: 11 } }), '/distributed/agentRetryCount', 'from 0 to 10');
    expectProblem(minimal({ distributed: { agentRetryCount: 1.5 } }), '/distributed/agentRetryCount', 'whole number');
    expectProblem(minimal({ clusterMain: 'yes' }), '/clusterMain', 'true or false');
    expectProblem(minimal({ deletionPolicy: 'drop' }), '/deletionPolicy', 'not a deletion policy', 'retain, delete');
    expectProblem(minimal({ haStrategy: 'random' }), '/haStrategy', 'under "distributed"');
  });

  it('backups: names, types, schedules, duplicates, keep', () => {
    const b = (x: Record<string, unknown>): Record<string, unknown> => ({ name: 'nightly', type: 'delta', schedule: '0 2 * * *', ...x });
    expectProblem(minimal({ backups: [b({ type: 'full' })] }), '/backups/0/type', 'not a backup type', 'delta, main');
    expectProblem(minimal({ backups: [b({ schedule: 'daily' })] }), '/backups/0/schedule', 'five fields');
    expectProblem(minimal({ backups: [b({ name: 'Nightly Job' })] }), '/backups/0/name', "e.g. 'nightly-delta'");
    expectProblem(minimal({ backups: [b({}), b({ type: 'main' })] }), '/backups/1/name', 'declared twice');
    expectProblem(minimal({ backups: [b({ keep: 0 })] }), '/backups/0/keep', 'use 1 or more');
    expectProblem(minimal({ backups: [{ type: 'delta', schedule: '0 2 * * *' }] }), '/backups/0/name', 'missing');
  });

  it('reports every problem of a document at once, and the table when the name is valid', () => {
    const problems = problemsOf(minimal({ columns: [{ name: 'id', type: 'varchar' }], deletionPolicy: 'x', settings: { foo: 1 } }));
    assert.deepEqual(
      problems.map((p) => p.pointer).sort(),
      ['/columns/0/name', '/columns/0/type', '/deletionPolicy', '/settings/foo'],
    );
    for (const p of problems) assert.equal(p.table, 't');
    const unnamed = problemsOf(minimal({ name: 'Bad Name' }));
    for (const p of unnamed) assert.equal(p.table, undefined);
  });
});

describe('detectFormat / validateDocument', () => {
  it('tells the three formats apart', () => {
    assert.equal(detectFormat(minimal()), 'table');
    assert.equal(detectFormat({}), 'table');
    assert.equal(detectFormat([]), 'table');
    assert.equal(detectFormat({ name: 'products' }), 'table');
    assert.equal(detectFormat({ addresses: 'addresses.csv', orders: 'o.csv' }), 'tables-config');
    assert.equal(detectFormat({ addresses: { schema: { columns: [] } } }), 'original-registry');
    // a registry whose table is literally called "name" is still a registry
    assert.equal(detectFormat({ name: { schema: { columns: [] } } }), 'original-registry');
  });

  it('a TABLES_CONFIG document alone is not a table', () => {
    const r = validateTableDocument({ addresses: 'a.csv' }, origin);
    assert.equal(r.spec, undefined);
    assert.match(r.problems[0]?.message ?? '', /carries no columns/);
  });

  it('a native document becomes one contribution', () => {
    const r = validateDocument(minimal(), origin);
    assert.equal(r.format, 'table');
    assert.deepEqual(r.contributions.map((c) => [c.table, c.pointer]), [['t', '']]);
  });
});
