/**
 * Scenario b: a distributed table over two mirrors keeps answering when one mirror is SIGKILLed.
 * Both mirrors hold the same ids; the `src` attribute says which mirror answered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { col, scenario } from '../helpers/conformance.js';

test('distributed table over mirrors answers from the surviving mirror', (t) =>
  scenario(t, async (s) => {
    const c = s.cluster(3, 'mirrors');
    await c.startAll();
    const [front, m1, m2] = [c.node(0), c.node(1), c.node(2)];

    for (const [i, m] of [m1, m2].entries()) {
      await m.sql('CREATE TABLE t (title text, src int)');
      await m.sql(`INSERT INTO t (id, title, src) VALUES (1, 'one', ${i + 1}), (2, 'two', ${i + 1}), (3, 'three', ${i + 1})`);
    }
    await front.sql(`CREATE TABLE d type='distributed' agent='${m1.apiAddress}|${m2.apiAddress}:t' ha_strategy='nodeads'`);

    const shown = await front.sql('SHOW TABLES');
    assert.deepEqual(
      shown.rows.map((r) => Object.values(r)),
      [['d', 'distributed']],
    );

    const query = 'SELECT id, src FROM d ORDER BY id ASC';
    const before = await s.waitFor(
      async () => {
        const r = await front.sql(query);
        return r.rows.length === 3 ? r : false;
      },
      'mirror',
      'the distributed table to answer with 3 rows from a mirror',
    );
    assert.deepEqual(col(before.rows, 'id'), ['1', '2', '3']);
    const src = new Set(col(before.rows, 'src'));
    assert.equal(src.size, 1, 'one mirror answers a query');
    assert.ok(src.has('1') || src.has('2'));

    await m1.kill('SIGKILL');

    // the first queries after the kill may hit the dead mirror until ha_strategy learns
    await s.waitFor(
      async () => {
        const r = await front.sql(query);
        return JSON.stringify(r.rows) === JSON.stringify([1, 2, 3].map((id) => ({ id: String(id), src: '2' })));
      },
      'mirror',
      'the distributed table to answer with the surviving mirror (src=2) rows',
    );
    // and then it keeps answering
    for (let i = 0; i < 10; i++) {
      const r = await front.sql(query);
      assert.deepEqual(r.rows, [1, 2, 3].map((id) => ({ id: String(id), src: '2' })), `query ${i} after fail-over`);
    }
    const cnt = await front.sql('SELECT count(*) FROM d');
    assert.deepEqual(col(cnt.rows, 'count(*)'), ['3']);
  }));
