import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toYaml } from '../../../src/cli/yaml.js';

test('nested maps and lists, block style', () => {
  assert.equal(
    toYaml({ name: 'items', generation: 2, ok: true, missing: null, spec: { columns: [{ name: 'title', type: 'text' }], tags: ['a', 'b'] }, empty: [], none: {} }),
    [
      'name: items',
      'generation: 2',
      'ok: true',
      'missing: null',
      'spec:',
      '  columns:',
      '  - name: title',
      '    type: text',
      '  tags:',
      '  - a',
      '  - b',
      'empty: []',
      'none: {}',
      '',
    ].join('\n'),
  );
});

test('strings YAML would misread are quoted', () => {
  assert.equal(toYaml({ a: 'true', b: '123', c: '', d: 'x: y', e: '127.0.0.1:9312', f: 'no', g: 'line\nbreak', h: '- dash' }), [
    'a: "true"',
    'b: "123"',
    'c: ""',
    'd: "x: y"',
    'e: "127.0.0.1:9312"',
    'f: "no"',
    'g: "line\\nbreak"',
    'h: "- dash"',
    '',
  ].join('\n'));
});

test('top-level lists and scalars; lists of lists', () => {
  assert.equal(toYaml([{ a: 1 }, { a: 2 }]), '- a: 1\n- a: 2\n');
  assert.equal(toYaml([]), '[]\n');
  assert.equal(toYaml('plain'), 'plain\n');
  assert.equal(toYaml([[1, 2], [3]]), '- - 1\n  - 2\n- - 3\n');
  assert.equal(toYaml({ 'weird key': 1, 'a:b': 2 }), 'weird key: 1\n"a:b": 2\n');
});
