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

    // The first queries after the kill may still pick the dead mirror until ha_strategy='nodeads' has
    // counted it dead (more than 3 failures, pings included); after that every query must answer from
    // the survivor: wait for a streak of 10 consecutive correct answers.
    const want = JSON.stringify([1, 2, 3].map((id) => ({ id: String(id), src: '2' })));
    let streak = 0;
    let lastBad = '';
    await s.waitFor(
      async () => {
        try {
          const r = await front.sql(query);
          if (JSON.stringify(r.rows) === want) streak++;
          else {
            streak = 0;
            lastBad = JSON.stringify(r.rows);
          }
        } catch (err) {
          streak = 0;
          lastBad = err instanceof Error ? err.message : String(err);
        }
        if (streak >= 10) return true;
        throw new Error(`streak ${streak}; last wrong answer: ${lastBad}`);
      },
      'mirror',
      'the distributed table to answer 10 times in a row with the surviving mirror (src=2) rows',
    );
    const cnt = await front.sql('SELECT count(*) FROM d');
    assert.deepEqual(col(cnt.rows, 'count(*)'), ['3']);
  }));
