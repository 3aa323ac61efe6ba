/**
 * Scenario a: create / insert / select on one node, result shapes and error texts of a real
 * Manticore 15.1.0 (manticore-facts.md section 7).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { col, count, expectSqlError, scenario } from '../helpers/conformance.js';

test('single node: CREATE TABLE, INSERT, SELECT with MATCH/WHERE/ORDER BY/LIMIT, count(*), shapes', (t) =>
  scenario(t, async (s) => {
    const n = s.node('single');
    await n.start();

    // no cluster yet: not a single cluster% row
    assert.deepEqual((await n.sql("SHOW STATUS LIKE 'cluster%'")).rows, []);

    await n.sql('CREATE TABLE products (title text, price int, tag string)');

    const tables = await n.sql('SHOW TABLES');
    assert.equal(tables.columns.length, 2, `SHOW TABLES columns: ${tables.columns.join(',')}`);
    const nameCol = tables.columns[0] ?? '';
    // Manticore has called the first column 'Index' (older manuals) and 'Table'
    assert.ok(['Table', 'Index'].includes(nameCol), `SHOW TABLES first column: ${nameCol}`);
    assert.equal(tables.columns[1], 'Type');
    assert.deepEqual(
      tables.rows.map((r) => [r[nameCol], r.Type]),
      [['products', 'rt']],
    );

    const desc = await n.sql('DESCRIBE products');
    assert.deepEqual(desc.columns, ['Field', 'Type', 'Properties']);
    assert.deepEqual(
      desc.rows.map((r) => [r.Field, r.Type]),
      [
        ['id', 'bigint'],
        ['title', 'text'],
        ['price', 'uint'],
        ['tag', 'string'],
      ],
    );
    assert.equal(desc.rows.find((r) => r.Field === 'title')?.Properties, 'indexed stored');

    const ins = await n.sql(
      "INSERT INTO products (id, title, price, tag) VALUES (1, 'red apple', 10, 'fruit'), (2, 'green apple', 20, 'fruit'), (3, 'red car', 30000, 'vehicle'), (4, 'blue car', 25000, 'vehicle')",
    );
    assert.equal(ins.affectedRows, 4);

    assert.equal(await count(n, 'products'), 4);

    const red = await n.sql("SELECT id, price FROM products WHERE MATCH('red') ORDER BY id ASC");
    assert.deepEqual(col(red.rows, 'id'), ['1', '3']);
    assert.deepEqual(col(red.rows, 'price'), ['10', '30000']);

    const apples = await n.sql("SELECT count(*) FROM products WHERE MATCH('apple')");
    assert.deepEqual(apples.columns, ['count(*)']);
    assert.deepEqual(col(apples.rows, 'count(*)'), ['2']);

    const expensive = await n.sql('SELECT id FROM products WHERE price > 100 ORDER BY price DESC');
    assert.deepEqual(col(expensive.rows, 'id'), ['3', '4']);

    const vehicles = await n.sql("SELECT id FROM products WHERE tag = 'vehicle' ORDER BY id ASC");
    assert.deepEqual(col(vehicles.rows, 'id'), ['3', '4']);

    const top2 = await n.sql('SELECT id FROM products ORDER BY id DESC LIMIT 2');
    assert.deepEqual(col(top2.rows, 'id'), ['4', '3']);

    const one = await n.sql('SELECT id, title, price, tag FROM products WHERE id = 2');
    assert.deepEqual(one.rows, [{ id: '2', title: 'green apple', price: '20', tag: 'fruit' }]);

    // Manticore wants an explicit direction
    await expectSqlError(n, 'SELECT id FROM products ORDER BY id', 'no sort order defined');

    // still nothing cluster-related after ordinary work
    assert.deepEqual((await n.sql("SHOW STATUS LIKE 'cluster%'")).rows, []);

    // rows survive a clean restart (data_dir persistence)
    await n.stopWait();
    await n.start();
    assert.equal(await count(n, 'products'), 4);
    const after = await n.sql("SELECT id FROM products WHERE MATCH('car') ORDER BY id ASC");
    assert.deepEqual(col(after.rows, 'id'), ['3', '4']);
  }));
