import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { SpecOrigin, TableSpec } from '../../../src/domain/spec.js';
import { mergeContributions } from '../../../src/spec/merge.js';
import { ORIGINAL_TYPE_MAP } from '../../../src/spec/original.js';
import { parseTablesConfig } from '../../../src/spec/tables-config.js';
import { validateDocument, validateTableDocument } from '../../../src/spec/validate.js';

const FIXTURES = new URL('../../../../test/fixtures/specs/', import.meta.url);
const fileOrigin: SpecOrigin = { kind: 'file', ref: 'specs/registry.json' };
const envOrigin: SpecOrigin = { kind: 'env', ref: 'TABLES_CONFIG' };

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as unknown;
}

const ADDRESSES: TableSpec = {
  name: 'addresses',
  columns: [
    { name: 'street', type: 'text' },
    { name: 'zip', type: 'integer' },
  ],
  settings: {},
  clusterMain: false,
  distributed: { haStrategy: 'nodeads', agentRetryCount: 0 },
  backups: [],
  deletionPolicy: 'retain',
};

const CATALOG: TableSpec = {
  name: 'catalog',
  columns: [
    { name: 'title', type: 'text' },
    { name: 'body', type: 'text' },
    { name: 'sku', type: 'string' },
    { name: 'qty', type: 'integer' },
    { name: 'views', type: 'bigint' },
    { name: 'price', type: 'float' },
    { name: 'active', type: 'bool' },
    { name: 'created', type: 'timestamp' },
    { name: 'cats', type: 'multi' },
    { name: 'big_cats', type: 'multi64' },
    { name: 'meta', type: 'json' },
  ],
  settings: {},
  // the original's default: main tables in the cluster
  clusterMain: true,
  distributed: { haStrategy: 'nodeads', agentRetryCount: 0 },
  backups: [],
  deletionPolicy: 'retain',
};

describe('original schema registry', () => {
  it('maps every original type as in original-system.md 4.2', () => {
    assert.deepEqual(ORIGINAL_TYPE_MAP, {
      field: 'text',
      field_string: 'text',
      attr_string: 'string',
      attr_uint: 'integer',
      attr_bigint: 'bigint',
      attr_float: 'float',
      attr_bool: 'bool',
      attr_timestamp: 'timestamp',
      attr_multi: 'multi',
      attr_multi_64: 'multi64',
      attr_json: 'json',
    });
  });

  it('converts the fixture exactly, with the original defaults and import options', () => {
    const r = validateDocument(fixture('original-registry.json'), fileOrigin);
    assert.equal(r.format, 'original-registry');
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.contributions.map((c) => ({ table: c.table, pointer: c.pointer, spec: c.spec, importOptions: c.importOptions })),
      [
        // memLimit 2G is above indexer's maximum: 2047M, the value indexer itself would use
        { table: 'addresses', pointer: '/addresses', spec: ADDRESSES, importOptions: { header: true, memLimit: '2047M' } },
        { table: 'catalog', pointer: '/catalog', spec: CATALOG, importOptions: { header: false } },
      ],
    );
  });

  it('accepts the schema as a JSON string and config values the original allowed', () => {
    const r = validateTableDocument(
      {
        logs: {
          schema: JSON.stringify({ columns: [{ name: 'line', type: 'field' }] }),
          config: { importMethod: 'bulk', haStrategy: 'roundrobin', agentRetryCount: 2, memLimit: '512M' },
        },
      },
      fileOrigin,
    );
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.spec?.distributed, { haStrategy: 'roundrobin', agentRetryCount: 2 });
    assert.equal(r.spec?.clusterMain, true);
  });

  it('problems point into the original document', () => {
    const r = validateDocument(
      {
        addresses: {
          schema: { columns: [{ name: 'street', type: 'field' }, { name: 'zip', type: 'attr_unit' }, { name: 'id', type: 'attr_uint' }] },
          config: { haStrategy: 'fastest', clusterMain: 'no', hasHeader: 'yes', batch: 5, memLimit: 'lots' },
        },
        orders: { config: {} },
        good: { schema: { columns: [{ name: 'x', type: 'field' }] } },
      },
      fileOrigin,
    );
    const got = r.problems.map((p) => [p.pointer, p.table]);
    assert.deepEqual(new Set(got.map(([p]) => p)), new Set([
      '/addresses/schema/columns/1/type',
      '/addresses/schema/columns/2/name',
      '/addresses/config/haStrategy',
      '/addresses/config/clusterMain',
      '/addresses/config/hasHeader',
      '/addresses/config/batch',
      '/addresses/config/memLimit',
      '/orders/schema',
    ]));
    const msg = (ptr: string): string => r.problems.find((p) => p.pointer === ptr)?.message ?? '';
    assert.match(msg('/addresses/schema/columns/1/type'), /'attr_unit' is not a column type of the original schema format \(did you mean 'attr_uint'\?\); use one of field, field_string/);
    assert.match(msg('/orders/schema'), /has no columns/);
    assert.match(msg('/addresses/config/batch'), /takes importMethod, clusterMain/);
    // the valid entry still comes through
    assert.deepEqual(r.contributions.map((c) => c.table), ['good']);
  });
});

describe('TABLES_CONFIG', () => {
  it('parses paths and reports bad entries', () => {
    const r = parseTablesConfig('{"addresses": "addresses/a.csv", "Bad Name": "x.csv", "orders": 5, "feed": "ftp://h/f.csv"}');
    assert.deepEqual(r.contributions.map((c) => [c.table, c.sourcePath]), [['addresses', 'addresses/a.csv']]);
    assert.deepEqual(r.problems.map((p) => p.pointer), ['/Bad Name', '/orders', '/feed']);
    for (const p of r.problems) assert.deepEqual(p.origin, envOrigin);
    assert.deepEqual(parseTablesConfig('').contributions, []);
    assert.deepEqual(parseTablesConfig(undefined).problems, []);
    assert.match(parseTablesConfig('{nope').problems[0]?.message ?? '', /not valid JSON/);
  });

  it('completes a registry entry with its import file, header and memLimit', () => {
    const registry = validateDocument(fixture('original-registry.json'), fileOrigin);
    const env = parseTablesConfig(JSON.stringify(fixture('tables-config.json')));
    const merged = mergeContributions([...env.contributions, ...registry.contributions]);
    assert.deepEqual(merged.problems, []);
    assert.deepEqual(merged.specs.get('addresses'), {
      spec: { ...ADDRESSES, import: { urls: ['addresses/addresses.csv'], format: 'csv', header: true, memLimit: '2047M' } },
      origin: fileOrigin,
    });
    assert.deepEqual(merged.specs.get('catalog')?.spec.import, { urls: ['catalog/catalog.tsv'], format: 'tsv', header: false });
  });

  it('a table only in TABLES_CONFIG has no columns anywhere', () => {
    const env = parseTablesConfig('{"orphans": "orphans.csv"}');
    const merged = mergeContributions(env.contributions);
    assert.equal(merged.specs.size, 0);
    assert.deepEqual([...merged.unresolved], ['orphans']);
    const [p] = merged.problems;
    assert.equal(p?.pointer, '/orphans');
    assert.deepEqual(p?.origin, envOrigin);
    assert.match(p?.message ?? '', /has no columns anywhere.*add a spec file with its name and columns \(e\.g\. orphans\.json\)/);
  });

  it('a spec with a different import source conflicts; the same source agrees', () => {
    const native = validateDocument({ name: 'addresses', columns: [{ name: 'street', type: 'text' }], import: { source: 'other.csv' } }, fileOrigin);
    const env = parseTablesConfig('{"addresses": "addresses/addresses.csv"}');
    const conflict = mergeContributions([...env.contributions, ...native.contributions]);
    assert.equal(conflict.specs.size, 0);
    assert.equal(conflict.problems.length, 2);
    for (const p of conflict.problems) assert.match(p.message, /different import files.*specs\/registry\.json.*TABLES_CONFIG/);

    const same = validateDocument({ name: 'addresses', columns: [{ name: 'street', type: 'text' }], import: { source: 'addresses/addresses.csv', header: true } }, fileOrigin);
    const agreed = mergeContributions([...env.contributions, ...same.contributions]);
    assert.deepEqual(agreed.problems, []);
    assert.equal(agreed.specs.get('addresses')?.spec.import?.header, true);
  });

  it('the same table from two sources is applied from neither', () => {
    const a = validateDocument({ name: 'dup', columns: [{ name: 'x', type: 'text' }] }, { kind: 'file', ref: 'a.json' });
    const b = validateDocument({ dup: { schema: { columns: [{ name: 'x', type: 'field' }] } } }, { kind: 'file', ref: 'b.json' });
    const merged = mergeContributions([...a.contributions, ...b.contributions]);
    assert.equal(merged.specs.size, 0);
    assert.deepEqual(merged.problems.map((p) => p.origin.ref), ['a.json', 'b.json']);
    for (const p of merged.problems) assert.match(p.message, /declared more than once \(a\.json and b\.json at \/dup\)/);
  });
});
