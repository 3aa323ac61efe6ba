import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError, checkFlags, parseArgs } from '../../../src/cli/args.js';
import { age, formatList, formatTable, parseOutputFormat } from '../../../src/cli/printer.js';

test('flags anywhere, with = or a separate value; -- ends flags', () => {
  assert.deepEqual(parseArgs(['get', '-o', 'json', 'nodes', '--watch', '--server=http://x:1']), {
    positionals: ['get', 'nodes'],
    flags: { output: 'json', watch: true, server: 'http://x:1' },
  });
  assert.deepEqual(parseArgs(['query', '--node', 'n1', '--', 'SELECT', '--not-a-flag']), {
    positionals: ['query', 'SELECT', '--not-a-flag'],
    flags: { node: 'n1' },
  });
});

test('usage errors: unknown flag, missing value, value on a switch, flag not valid for a command', () => {
  assert.throws(() => parseArgs(['--bogus']), UsageError);
  assert.throws(() => parseArgs(['get', '-o']), /needs a value/);
  assert.throws(() => parseArgs(['--watch=1']), /takes no value/);
  assert.throws(() => checkFlags(parseArgs(['--all']), ['watch'], 'get'), /--all is not valid for 'get'/);
  assert.doesNotThrow(() => checkFlags(parseArgs(['--token', 't', '-o', 'yaml']), [], 'validate'));
});

test('printer: formats, aligned tables, wide columns, ages', () => {
  assert.equal(parseOutputFormat(undefined), 'table');
  assert.equal(parseOutputFormat('wide'), 'wide');
  assert.throws(() => parseOutputFormat('xml'), UsageError);
  assert.equal(formatTable(['A', 'LONGER'], [['xyz', '1'], ['q', '']]), 'A     LONGER\nxyz   1\nq\n');
  const items = [{ n: 'a', extra: 'e' }];
  const cols = [
    { header: 'N', value: (i: (typeof items)[number]) => i.n },
    { header: 'X', value: (i: (typeof items)[number]) => i.extra, wide: true },
  ];
  assert.equal(formatList('table', items, cols, 'none'), 'N\na\n');
  assert.equal(formatList('wide', items, cols, 'none'), 'N   X\na   e\n');
  assert.equal(formatList('table', [], cols, 'No things.'), 'No things.\n');
  assert.equal(formatList('json', items, cols, 'none'), '[\n  {\n    "n": "a",\n    "extra": "e"\n  }\n]\n');
  const now = Date.parse('2026-01-01T01:00:00Z');
  assert.equal(age('2026-01-01T00:59:30Z', now), '30s');
  assert.equal(age('2026-01-01T00:00:00Z', now), '60m');
  assert.equal(age(undefined, now), '-');
});

test('import takes --source with a value', () => {
  assert.deepEqual(parseArgs(['import', 'products', '--source', '/data/p.csv', '--wait']), {
    positionals: ['import', 'products'],
    flags: { source: '/data/p.csv', wait: true },
  });
});
