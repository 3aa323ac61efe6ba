import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatProblems, validateFiles } from '../../../src/spec/validate-files.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
let dir: string;

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'spec-validate-files-'));
  writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ name: 'bad', columns: [{ name: 'a', type: 'text' }, { name: 'b', type: 'text' }, { name: 'c', type: 'varchar' }] }));
  writeFileSync(path.join(dir, 'one.json'), JSON.stringify({ name: 'same', columns: [{ name: 'a', type: 'text' }] }));
  writeFileSync(path.join(dir, 'two.json'), JSON.stringify({ name: 'same', columns: [{ name: 'a', type: 'text' }] }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('validateFiles', () => {
  it('accepts the example and the original-format fixture', async () => {
    const results = await validateFiles([
      path.join(ROOT, 'examples/tables'),
      path.join(ROOT, 'test/fixtures/specs/original-registry.json'),
    ]);
    assert.deepEqual(
      results.map((r) => [path.relative(ROOT, r.file), r.ok, r.tables, r.problems]),
      [
        ['examples/tables/products.json', true, ['products'], []],
        ['test/fixtures/specs/original-registry.json', true, ['addresses', 'catalog'], []],
      ],
    );
    assert.equal(formatProblems(results).split('\n').at(-2), '2 file(s) valid');
  });

  it('reports each file with pointer and fix, and duplicates across files', async () => {
    const missing = path.join(dir, 'missing.json');
    const results = await validateFiles([path.join(dir, 'bad.json'), path.join(dir, 'one.json'), path.join(dir, 'two.json'), missing]);
    const [bad, one, two, gone] = results;
    assert.equal(bad?.ok, false);
    assert.deepEqual(bad?.problems.map((p) => p.pointer), ['/columns/2/type']);
    assert.equal(one?.ok, false);
    assert.equal(two?.ok, false);
    assert.match(one?.problems[0]?.message ?? '', /declared more than once/);
    assert.deepEqual(one?.tables, []);
    assert.match(gone?.problems[0]?.message ?? '', /no such file/);

    const text = formatProblems(results);
    assert.ok(text.includes(`${path.join(dir, 'bad.json')}: 1 problem\n  /columns/2/type: 'varchar' is not a Manticore column type; use one of text, string, integer`));
    assert.ok(text.endsWith('4 of 4 file(s) invalid\n'));
  });

  it('checks a TABLES_CONFIG string together with the files', async () => {
    const results = await validateFiles([path.join(ROOT, 'test/fixtures/specs/original-registry.json')], {
      tablesConfig: '{"addresses": "addresses.csv", "ghost": "ghost.csv"}',
    });
    const env = results.find((r) => r.file === 'TABLES_CONFIG');
    assert.equal(env?.ok, false);
    assert.deepEqual(env?.problems.map((p) => p.pointer), ['/ghost']);
    assert.equal(results[0]?.ok, true);
  });
});
