import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyRetention,
  parseArchiveFileName,
  parseMaxAge,
  planRetention,
  reconcileRetention,
  retentionListPrefix,
  type RetentionStore,
  type StoredObject,
} from '../../../src/backup/retention.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-10T12:00:00Z');

function ts(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

/** an archive `<prefix>/<table>-<ts>.tar.gz` taken `daysAgo` days before NOW, with its manifest unless `good` is false */
function archive(table: string, daysAgo: number, good = true, prefix = 'backups'): StoredObject[] {
  const at = NOW - daysAgo * DAY;
  const key = `${prefix}/${table}-${ts(at)}.tar.gz`;
  const out: StoredObject[] = [{ key, size: 1000, lastModified: new Date(at) }];
  if (good) out.push({ key: `${key}.manifest.json`, size: 100, lastModified: new Date(at) });
  return out;
}

function deleted(plan: { deleteKeys: string[] }): string[] {
  return plan.deleteKeys.filter((k) => k.endsWith('.tar.gz')).sort();
}

test('archive names parse strictly', () => {
  assert.deepEqual(parseArchiveFileName('addresses_delta-2025-01-28T22-50-49Z.tar.gz'), {
    table: 'addresses_delta',
    takenAt: Date.parse('2025-01-28T22:50:49Z'),
  });
  assert.equal(parseArchiveFileName('addresses_delta-2025-01-28T22-50-49Z.tar.gz.manifest.json'), undefined);
  assert.equal(parseArchiveFileName('addresses_delta-2025-01-28.tar.gz'), undefined);
  assert.equal(parseArchiveFileName('../x-2025-01-28T22-50-49Z.tar.gz'), undefined);
  assert.equal(retentionListPrefix({ prefix: 'backups/', table: 't', type: 'delta' }), 'backups/t_delta-');
  assert.equal(retentionListPrefix({ prefix: '', table: 't', type: 'main' }), 't_main_');
});

test('keep last N deletes the older archives and their manifests', () => {
  const objects = [...archive('t_delta', 1), ...archive('t_delta', 2), ...archive('t_delta', 3), ...archive('t_delta', 4)];
  const plan = planRetention(objects, { prefix: 'backups', table: 't', type: 'delta' }, { keep: 2 }, NOW);
  assert.deepEqual(deleted(plan), [objects[4]?.key, objects[6]?.key].sort());
  assert.equal(plan.deleteKeys.length, 4, 'two archives and their two manifests');
  assert.ok(plan.deleteKeys.includes(`${objects[6]?.key}.manifest.json`));
});

test('max age deletes archives older than the age', () => {
  const objects = [...archive('t_delta', 1), ...archive('t_delta', 6), ...archive('t_delta', 8), ...archive('t_delta', 30)];
  const plan = planRetention(objects, { prefix: 'backups', table: 't', type: 'delta' }, { maxAgeMs: 7 * DAY }, NOW);
  assert.deepEqual(deleted(plan), [objects[4]?.key, objects[6]?.key].sort());
});

test('keep and max age together: an archive goes when either says so', () => {
  const objects = [...archive('t_delta', 1), ...archive('t_delta', 2), ...archive('t_delta', 3), ...archive('t_delta', 10)];
  const plan = planRetention(objects, { prefix: 'backups', table: 't', type: 'delta' }, { keep: 3, maxAgeMs: 2.5 * DAY }, NOW);
  // rank 3 (10 days) by count and age; 3 days by age only
  assert.deepEqual(deleted(plan), [objects[4]?.key, objects[6]?.key].sort());
});

test('the newest good archive is never deleted, even when every archive is too old', () => {
  const objects = [...archive('t_delta', 20, false), ...archive('t_delta', 30), ...archive('t_delta', 40)];
  const plan = planRetention(objects, { prefix: 'backups', table: 't', type: 'delta' }, { maxAgeMs: DAY, keep: 1 }, NOW);
  const newestGood = objects[1]?.key;
  assert.ok(!plan.deleteKeys.includes(newestGood ?? ''), 'the newest archive with a manifest stays');
  assert.deepEqual(deleted(plan), [objects[0]?.key, objects[3]?.key].sort());
  const kept = plan.decisions.find((d) => d.key === newestGood);
  assert.match(kept?.reason ?? '', /newest good archive/);
});

test('a newer archive without a manifest does not make the newest good one deletable', () => {
  const objects = [...archive('t_delta', 0.1, false), ...archive('t_delta', 1), ...archive('t_delta', 2)];
  const plan = planRetention(objects, { prefix: 'backups', table: 't', type: 'delta' }, { keep: 1 }, NOW);
  assert.deepEqual(deleted(plan), [objects[3]?.key]);
});

test('archives without any manifest (the original system wrote none) are all kept', () => {
  const objects = [...archive('t_delta', 1, false), ...archive('t_delta', 50, false)];
  const plan = planRetention(objects, { prefix: 'backups', table: 't', type: 'delta' }, { keep: 1 }, NOW);
  assert.deepEqual(plan.deleteKeys, []);
  assert.match(plan.note ?? '', /no archive has a manifest/);
});

test('archives of other tables are never touched', () => {
  const others = [
    ...archive('t_delta_x', 30),
    ...archive('t2_delta', 30),
    ...archive('other_delta', 30),
    ...archive('t_main_a', 30),
    ...archive('t_main_archive_delta', 30),
    ...archive('t_delta', 30, true, 'elsewhere'),
    ...archive('t_delta', 30, true, 'backups/nested'),
  ];
  const own = [...archive('t_delta', 1), ...archive('t_delta', 30)];
  const plan = planRetention([...others, ...own], { prefix: 'backups', table: 't', type: 'delta' }, { keep: 1 }, NOW);
  assert.deepEqual(deleted(plan), [own[2]?.key]);

  const mains = [...archive('t_main_a', 1), ...archive('t_main_b', 5), ...archive('t_main_a', 9)];
  const mainPlan = planRetention([...others, ...own, ...mains], { prefix: 'backups', table: 't', type: 'main' }, { keep: 2 }, NOW);
  assert.deepEqual(deleted(mainPlan), [mains[4]?.key, others[6]?.key].sort(), 'both slots of t count, t_main_archive_delta does not');
});

test('applyRetention reports a failed delete as a result and goes on', async () => {
  const objects = [...archive('t_delta', 1), ...archive('t_delta', 2), ...archive('t_delta', 3)];
  const remaining = new Set(objects.map((o) => o.key));
  let failing = objects[4]?.key;
  const store: RetentionStore = {
    list: (prefix) => Promise.resolve(objects.filter((o) => remaining.has(o.key) && o.key.startsWith(prefix))),
    delete: (key) => {
      if (key === failing) return Promise.reject(new Error('access denied'));
      remaining.delete(key);
      return Promise.resolve();
    },
  };
  const plan = planRetention(objects, { prefix: 'backups', table: 't', type: 'delta' }, { keep: 1 }, NOW);
  const results = await applyRetention(store, plan);
  assert.equal(results.find((r) => r.key === failing)?.ok, false);
  assert.equal(results.filter((r) => r.ok).length, 3);
  assert.ok(remaining.has(objects[0]?.key ?? ''));
  assert.ok(!remaining.has(objects[2]?.key ?? ''));

  failing = undefined; // the store works again: the next pass finishes the job

  const again = await reconcileRetention(store, { prefix: 'backups', table: 't', type: 'delta' }, { keep: 1 }, NOW);
  assert.ok(again.results.every((r) => r.ok));
  assert.deepEqual([...remaining].sort(), [objects[0]?.key, objects[1]?.key].sort());
});

test('parseMaxAge takes minutes, hours, days and weeks and names the field otherwise', () => {
  assert.equal(parseMaxAge('30d', 'maxAge'), 30 * DAY);
  assert.equal(parseMaxAge('2w', 'maxAge'), 14 * DAY);
  assert.equal(parseMaxAge('36h', 'maxAge'), 36 * 3_600_000);
  assert.throws(() => parseMaxAge('soon', 'BACKUP_SCHEDULES[0].maxAge'), /BACKUP_SCHEDULES\[0\]\.maxAge: 'soon' is not an age/);
  assert.throws(() => parseMaxAge('0d', 'maxAge'), /not an age/);
});
