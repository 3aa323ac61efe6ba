/**
 * HTTP `POST /bulk` (NDJSON), the endpoint the bulk import method writes through: the answer's
 * shape as the Manticore manual documents it (items of kind `bulk` per committed transaction,
 * current_line counting every line, skipped_lines, errors, error), values of each attribute type,
 * all-or-nothing transactions, and writes to a replicated table naming its cluster.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { count, createClusteredTable, idStrings, range, scenario, waitRowsEverywhere } from '../helpers/conformance.js';
import type { SearchdNode } from '../../src/sim/launcher.js';

interface BulkAnswer {
  items?: Record<string, Record<string, unknown>>[];
  current_line?: number;
  skipped_lines?: number;
  errors?: boolean;
  error?: string;
}

async function bulk(node: SearchdNode, lines: unknown[] | string): Promise<{ status: number; body: BulkAnswer }> {
  const text = typeof lines === 'string' ? lines : lines.map((l) => (l === '' ? '' : JSON.stringify(l))).join('\n') + '\n';
  const res = await fetch(`http://127.0.0.1:${node.ports.http}/bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: text });
  return { status: res.status, body: (await res.json()) as BulkAnswer };
}

test('/bulk: transactions per table, the answer shape, typed values, a failed transaction commits nothing', (t) =>
  scenario(t, async (s) => {
    const n = s.node('bulk');
    await n.start();
    await n.sql('CREATE TABLE products (title text, price float, qty int, tags multi, meta json, label string)');

    // the manual's first example, with its leading newline: 4 lines counted (empty ones too)
    const first = await bulk(
      n,
      '\n' +
        JSON.stringify({ insert: { table: 'products', id: 1, doc: { title: 'Crossbody Bag with Tassel', price: 19.85 } } }) +
        '\n' +
        JSON.stringify({ insert: { table: 'products', id: 2, doc: { title: 'microfiber sheet set', price: 19.99 } } }) +
        '\n',
    );
    assert.equal(first.status, 200);
    assert.equal(first.body.errors, false);
    assert.equal(first.body.current_line, 4);
    assert.equal(first.body.skipped_lines, 0);
    assert.equal(first.body.items?.length, 1);
    const item = first.body.items?.[0]?.bulk;
    assert.ok(item, `items[0] is a "bulk" item: ${JSON.stringify(first.body.items)}`);
    assert.equal(item.table, 'products');
    assert.equal(item._id, 2);
    assert.equal(item.created, 2);
    assert.equal(item.status, 201);
    assert.equal(await count(n, 'products'), 2);

    // an empty line commits: two transactions on one table; replace overwrites; every value type
    const second = await bulk(n, [
      { insert: { table: 'products', id: 3, doc: { title: 'three', qty: 7, tags: [3, 1, 2], meta: { color: 'red', size: 41 }, label: 'x' } } },
      '',
      { replace: { table: 'products', id: 1, doc: { title: 'one again', price: 1.5 } } },
    ]);
    assert.equal(second.status, 200);
    assert.equal(second.body.errors, false);
    assert.equal(second.body.items?.length, 2);
    assert.equal(await count(n, 'products'), 3);
    const three = (await n.sql('SELECT qty, tags, meta, label FROM products WHERE id = 3')).rows[0];
    assert.equal(three?.qty, '7');
    assert.equal(three?.tags, '1,2,3');
    assert.deepEqual(JSON.parse(String(three?.meta)), { color: 'red', size: 41 });
    assert.equal(three?.label, 'x');
    const one = (await n.sql('SELECT title FROM products WHERE id = 1')).rows[0];
    assert.equal(one?.title, 'one again');

    // a duplicate id in the second transaction: the first is committed, the failing one is not
    const third = await bulk(n, [
      { insert: { table: 'products', id: 10, doc: { title: 'ten' } } },
      '',
      { insert: { table: 'products', id: 11, doc: { title: 'eleven' } } },
      { insert: { table: 'products', id: 2, doc: { title: 'duplicate of 2' } } },
    ]);
    assert.equal(third.body.errors, true, JSON.stringify(third.body));
    assert.ok((third.body.skipped_lines ?? 0) > 0, `skipped_lines: ${JSON.stringify(third.body)}`);
    const ids = (await n.sql('SELECT id FROM products ORDER BY id ASC')).rows.map((r) => r.id);
    assert.deepEqual(ids, ['1', '2', '3', '10']);
  }));

test('/bulk: a replicated table is written through its cluster and reaches every node', (t) =>
  scenario(t, async (s) => {
    const c = s.cluster(2);
    await c.startAll();
    await c.form('c');
    await createClusteredTable(c, 'c');
    const noCluster = await bulk(c.node(0), [{ insert: { table: 't', id: 1, doc: { title: 'one', n: 1 } } }]);
    assert.equal(noCluster.body.errors, true, `a clustered table written without "cluster": ${JSON.stringify(noCluster.body)}`);
    const ok = await bulk(
      c.node(1),
      range(1, 5).map((i) => ({ insert: { cluster: 'c', table: 't', id: i, doc: { title: `doc ${i}`, n: i } } })),
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.errors, false);
    await waitRowsEverywhere(c.nodes, 't', idStrings(range(1, 5)));
  }));
