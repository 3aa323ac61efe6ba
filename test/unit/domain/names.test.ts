import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_BASE_NAME_LENGTH,
  baseNameProblem,
  classifyTableName,
  deltaTableName,
  distributedTableName,
  mainTableName,
  managedTableNames,
  otherSlot,
} from '../../../src/domain/names.js';

describe('managed table names', () => {
  test('derives the distributed, delta and slot names', () => {
    assert.equal(distributedTableName('products'), 'products');
    assert.equal(deltaTableName('products'), 'products_delta');
    assert.equal(mainTableName('products', 'a'), 'products_main_a');
    assert.equal(mainTableName('products', 'b'), 'products_main_b');
    assert.deepEqual(managedTableNames('p'), { distributed: 'p', delta: 'p_delta', main: { a: 'p_main_a', b: 'p_main_b' } });
    assert.equal(otherSlot('a'), 'b');
    assert.equal(otherSlot('b'), 'a');
  });

  test('the longest base still gives a 64-char slot name', () => {
    const base = 'x'.repeat(MAX_BASE_NAME_LENGTH);
    assert.equal(mainTableName(base, 'a').length, 64);
    assert.match(baseNameProblem(`${base}x`) ?? '', /at most 57/);
  });

  test('bad base names are explained and refused', () => {
    for (const bad of ['', 'Products', 'a b', "t'", '1t', 'tablé', 'x_delta', 'x_main_a', 'x_main_b']) {
      assert.notEqual(baseNameProblem(bad), undefined, bad);
      assert.throws(() => deltaTableName(bad), Error);
    }
    assert.equal(baseNameProblem('x_main_c'), undefined);
    assert.throws(() => mainTableName('p', 'c' as 'a'), /use 'a' or 'b'/);
  });

  test('classifies tables found on a node', () => {
    const bases = ['p', 'p_x'];
    assert.deepEqual(classifyTableName('p', bases), { role: 'distributed', base: 'p' });
    assert.deepEqual(classifyTableName('p_delta', bases), { role: 'delta', base: 'p' });
    assert.deepEqual(classifyTableName('p_main_b', bases), { role: 'main', base: 'p', slot: 'b' });
    assert.deepEqual(classifyTableName('p_x_main_a', bases), { role: 'main', base: 'p_x', slot: 'a' });
    assert.equal(classifyTableName('other', bases), undefined);
  });
});
