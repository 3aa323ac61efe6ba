/**
 * Scenario j: ALTER TABLE <distributed> local='b' while SELECTs run: none fails and the table then
 * serves b. Without Buddy (`buddy_path =`) the same ALTER fails with Manticore's error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectSqlError, ids, scenario } from '../helpers/conformance.js';
import type { SearchdNode } from '../../src/sim/launcher.js';

const A_IDS = ['1', '2', '3'];
const B_IDS = ['11', '12', '13', '14'];

async function seed(n: SearchdNode): Promise<void> {
  await n.sql('CREATE TABLE a (title text)');
  await n.sql('CREATE TABLE b (title text)');
  await n.sql("INSERT INTO a (id, title) VALUES (1, 'alpha'), (2, 'alpha'), (3, 'alpha')");
  await n.sql("INSERT INTO b (id, title) VALUES (11, 'beta'), (12, 'beta'), (13, 'beta'), (14, 'beta')");
  await n.sql("CREATE TABLE d type='distributed' local='a'");
}

test('ALTER of a distributed table while SELECTs run (Buddy), and its error without Buddy', (t) =>
  scenario(t, async (s) => {
    const withBuddy = s.node('buddy');
    const noBuddy = s.node('nobuddy', { buddy: false });
    await Promise.all([withBuddy.start(), noBuddy.start()]);
    await seed(withBuddy);
    await seed(noBuddy);
    assert.deepEqual(await ids(withBuddy, 'd'), A_IDS);

    // Buddy starts after searchd; SHOW VERSION goes through it
    await s.waitFor(async () => (await withBuddy.sql('SHOW VERSION')).rows.length > 0, 'buddy', 'Buddy to answer SHOW VERSION');

    const failures: string[] = [];
    const seen: string[] = [];
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        try {
          seen.push(JSON.stringify(await ids(withBuddy, 'd')));
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await withBuddy.sql("ALTER TABLE d local='b'");
    const altered = seen.length;
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await reader;

    assert.deepEqual(failures, [], 'no SELECT failed during the ALTER');
    assert.ok(altered > 0 && seen.length > altered, `reads ran before (${altered}) and after (${seen.length - altered}) the ALTER`);
    const allowed = new Set([JSON.stringify(A_IDS), JSON.stringify(B_IDS)]);
    for (const r of seen) assert.ok(allowed.has(r), `every read saw all of a or all of b, got ${r}`);
    assert.deepEqual(await ids(withBuddy, 'd'), B_IDS, 'd serves b after the ALTER');

    // without Buddy
    await expectSqlError(noBuddy, "ALTER TABLE d local='b'", "table 'd' is not found, or not real-time");
    let versionFailed = false;
    await noBuddy.sql('SHOW VERSION').catch(() => (versionFailed = true));
    assert.equal(versionFailed, true, 'SHOW VERSION needs Buddy');
    assert.deepEqual(await ids(noBuddy, 'd'), A_IDS, 'd unchanged without Buddy');
    assert.deepEqual((await noBuddy.sql("SHOW STATUS LIKE 'version'")).rows.length, 1, "SHOW STATUS LIKE 'version' works without Buddy");
  }));
