/**
 * ALTER TABLE ... ADD COLUMN / DROP COLUMN against any searchd (the simulator by default), as the manual
 * (Updating_table_schema_and_settings.md) and the grammar (src/ddl.y) of real Manticore describe it:
 * - an RT table gains the column; DESCRIBE shows it; old rows read the type's default, new rows store values;
 * - DROP COLUMN removes it; duplicate/unknown columns and distributed tables are refused;
 * - a table in a replication cluster cannot be altered (manticoresearch#2250, #3360): the bare name is
 *   refused with "is part of cluster", the `c:t` form is a syntax error, and nothing changes on any node;
 *   the way that works is ALTER CLUSTER DROP, ALTER on one node, ALTER CLUSTER ADD from that node, after
 *   which every member has the new schema and the rows, and replicated writes fill the new column.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FACTOR, createClusteredTable, expectSqlError, idStrings, insertIds, range, scenario, waitRowsEverywhere } from '../helpers/conformance.js';
import { waitFor, type SearchdNode } from '../../src/sim/launcher.js';

/** Rows with the named float columns as numbers (float text differs between daemons: '2.5' or '2.500000'). */
async function select(n: SearchdNode, query: string, floats: string[]): Promise<Record<string, string | number | null>[]> {
  return (await n.sql(query)).rows.map((r) => {
    const out: Record<string, string | number | null> = { ...r };
    for (const f of floats) if (r[f] !== undefined && r[f] !== null) out[f] = Number(r[f]);
    return out;
  });
}

async function fields(n: SearchdNode, table: string): Promise<[string | null, string | null][]> {
  return (await n.sql(`DESCRIBE ${table}`)).rows.map((r) => [r.Field ?? null, r.Type ?? null]);
}

test('alter column: ADD/DROP COLUMN on an RT table with rows; errors', (t) =>
  scenario(t, async (s) => {
    const n = s.node('single');
    await n.start();
    await n.sql('CREATE TABLE p (title text, qty int)');
    await n.sql("INSERT INTO p (id, title, qty) VALUES (1, 'red apple', 5), (2, 'green pear', 6)");

    await n.sql('ALTER TABLE p ADD COLUMN price float');
    await n.sql('ALTER TABLE p ADD COLUMN tag string');
    assert.deepEqual(await fields(n, 'p'), [
      ['id', 'bigint'],
      ['title', 'text'],
      ['qty', 'uint'],
      ['price', 'float'],
      ['tag', 'string'],
    ]);
    // old rows read the default
    assert.deepEqual(await select(n, 'SELECT id, qty, price, tag FROM p ORDER BY id ASC', ['price']), [
      { id: '1', qty: '5', price: 0, tag: '' },
      { id: '2', qty: '6', price: 0, tag: '' },
    ]);
    // new rows (and updates of old ones) store values
    await n.sql("INSERT INTO p (id, title, qty, price, tag) VALUES (3, 'yellow lemon', 7, 2.5, 'citrus')");
    await n.sql('UPDATE p SET price = 1.25 WHERE id = 1');
    assert.deepEqual(await select(n, 'SELECT id, price, tag FROM p ORDER BY id ASC', ['price']), [
      { id: '1', price: 1.25, tag: '' },
      { id: '2', price: 0, tag: '' },
      { id: '3', price: 2.5, tag: 'citrus' },
    ]);
    assert.deepEqual((await n.sql("SELECT id FROM p WHERE MATCH('lemon') AND price > 2")).rows, [{ id: '3' }]);

    // a full-text field added in RT mode is searchable in new rows
    await n.sql('ALTER TABLE p ADD COLUMN notes text');
    await n.sql("INSERT INTO p (id, title, notes) VALUES (4, 'plum', 'stone fruit')");
    assert.deepEqual((await n.sql("SELECT id FROM p WHERE MATCH('@notes stone')")).rows, [{ id: '4' }]);

    // DROP COLUMN
    await n.sql('ALTER TABLE p DROP COLUMN tag');
    assert.deepEqual(
      (await fields(n, 'p')).map((f) => f[0]),
      ['id', 'title', 'qty', 'price', 'notes'],
    );
    assert.deepEqual((await n.sql('SELECT id, price FROM p ORDER BY id ASC')).rows.map((r) => r.id), ['1', '2', '3', '4']);
    await expectSqlError(n, 'SELECT tag FROM p', 'tag');

    // errors: duplicate, unknown, distributed, id; the schema does not change
    await expectSqlError(n, 'ALTER TABLE p ADD COLUMN qty bigint', "'qty' attribute already in schema");
    await expectSqlError(n, 'ALTER TABLE p ADD COLUMN title text', "'title' field already in schema");
    await expectSqlError(n, 'ALTER TABLE nope ADD COLUMN x int', 'nope');
    await n.sql("CREATE TABLE d type='distributed' local='p'");
    await expectSqlError(n, 'ALTER TABLE d ADD COLUMN x int', 'd');
    await expectSqlError(n, 'ALTER TABLE p DROP COLUMN nope', 'nope');
    await expectSqlError(n, 'ALTER TABLE p DROP COLUMN id', 'id');
    await expectSqlError(n, 'ALTER TABLE p ADD COLUMN x varchar', 'syntax error');
    assert.deepEqual(
      (await fields(n, 'p')).map((f) => f[0]),
      ['id', 'title', 'qty', 'price', 'notes'],
    );

    // the change survives a restart
    await n.restart();
    assert.deepEqual(
      (await fields(n, 'p')).map((f) => f[0]),
      ['id', 'title', 'qty', 'price', 'notes'],
    );
    assert.deepEqual(await select(n, 'SELECT id, price FROM p WHERE id = 3', ['price']), [{ id: '3', price: 2.5 }]);
  }));

test('alter column: a clustered table is refused; DROP from cluster, ALTER, ADD back reaches every node', (t) =>
  scenario(t, async (s) => {
    const c = s.cluster(3);
    await c.startAll();
    await c.form('c');
    await createClusteredTable(c, 'c');
    await insertIds(c.node(0), 'c:t', [1, 2]);
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 2)));

    // refused in both spellings, on any node, and nothing changed anywhere
    for (const n of c.nodes) {
      await expectSqlError(n, 'ALTER TABLE t ADD COLUMN price float', 'ALTER is not supported for tables in cluster');
      await expectSqlError(n, 'ALTER TABLE c:t ADD COLUMN price float', 'syntax error');
      await expectSqlError(n, 'ALTER TABLE t DROP COLUMN n', 'ALTER is not supported for tables in cluster');
    }
    for (const n of c.nodes) assert.deepEqual((await fields(n, 't')).map((f) => f[0]), ['id', 'title', 'n'], n.name);

    // the documented way: take the table out, alter it on one node, add it back from that node
    const first = c.node(0);
    await first.sql('ALTER CLUSTER c DROP t');
    await first.sql('ALTER TABLE t ADD COLUMN price float');
    await first.sql('ALTER CLUSTER c ADD t');
    for (const n of c.nodes) {
      await waitFor(
        async () => (await fields(n, 't')).some((f) => f[0] === 'price'),
        'replicate',
        `${n.name} to have column price in t`,
        { factor: FACTOR },
      );
      assert.deepEqual(await fields(n, 't'), [
        ['id', 'bigint'],
        ['title', 'text'],
        ['n', 'uint'],
        ['price', 'float'],
      ], n.name);
    }
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 2)));

    // replicated writes now carry the new column to every member
    await c.node(1).sql("INSERT INTO c:t (id, title, n, price) VALUES (3, 'doc number 3', 30, 9.5)");
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 3)));
    for (const n of c.nodes) {
      assert.deepEqual(await select(n, 'SELECT id, price FROM t ORDER BY id ASC', ['price']), [
        { id: '1', price: 0 },
        { id: '2', price: 0 },
        { id: '3', price: 9.5 },
      ], n.name);
    }
  }));
