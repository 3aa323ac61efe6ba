/**
 * Writes racing a partition (the fault suite's findings, test/faults/README.md "Found"): views are
 * agreed by the members, so a node never installs a primary view with a peer it cannot reach, an even
 * split leaves both halves non-primary, and a write is acknowledged only once every member of the
 * primary view holds it. Outcome per write: acknowledged (must be on every node after the heal),
 * refused with an SQL error (must be on no node), or unknown (OutcomeUnknownError: either way).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SqlError } from '../../../../src/sim/contract.js';
import { OutcomeUnknownError } from '../../../../src/sim/cluster/cluster-manager.js';
import { formCluster, insert, shutdownAll, st, waitFor, type TestNode } from './harness.js';

/** How long each side writes under the partition (well over FAST.evictMs, so views change under load). */
const PARTITION_MS = 1500;
/** From the heal until every node is primary, synced and whole again. */
const MERGE_TIMEOUT_MS = 8000;

interface Ledger {
  acked: string[];
  refused: string[];
  unknown: string[];
}

/** One writer loop per node, unique ids, until stopped. */
function startWriters(nodes: TestNode[]): { stop: () => Promise<Ledger> } {
  const ledger: Ledger = { acked: [], refused: [], unknown: [] };
  let running = true;
  let next = 1000;
  const loops = nodes.map(async (n) => {
    while (running) {
      const id = next++;
      try {
        await n.manager.replicateWrite('c', insert('t', id));
        ledger.acked.push(String(id));
      } catch (err) {
        if (err instanceof SqlError) ledger.refused.push(String(id));
        else if (err instanceof OutcomeUnknownError) ledger.unknown.push(String(id));
        else throw err;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return ledger;
    },
  };
}

/** Records every (node, view) seen primary, to prove two disjoint primary components never coexist. */
function watchPrimaries(nodes: TestNode[]): { stop: () => void; overlaps: () => string[] } {
  const bad: string[] = [];
  const timer = setInterval(() => {
    const primaries = nodes.filter((n) => st(n, 'status') === 'primary').map((n) => ({ api: n.api, view: st(n, 'nodes_view') ?? '' }));
    for (const p of primaries) {
      for (const q of primaries) {
        if (p.api >= q.api) continue;
        const inP = p.view.includes(q.api);
        const inQ = q.view.includes(p.api);
        if (!inP && !inQ) bad.push(`${p.api} [${p.view}] and ${q.api} [${q.view}] both primary`);
      }
    }
  }, 10);
  return { stop: () => clearInterval(timer), overlaps: () => bad };
}

async function checkOutcome(nodes: TestNode[], ledger: Ledger, what: string): Promise<void> {
  await waitFor(
    `${what}: merged`,
    () => nodes.every((n) => st(n, 'status') === 'primary' && st(n, 'node_state') === 'synced' && st(n, 'size') === String(nodes.length)),
    MERGE_TIMEOUT_MS,
  );
  const first = nodes[0];
  assert.ok(first);
  await waitFor(`${what}: same seqno`, () => nodes.every((n) => st(n, 'last_committed') === st(first, 'last_committed')), MERGE_TIMEOUT_MS);
  assert.ok(ledger.acked.length > 0, `${what}: some writes were acknowledged`);
  assert.ok(ledger.refused.length > 0, `${what}: some writes were refused`);
  for (const n of nodes) {
    const ids = new Set(n.engine.ids('t'));
    assert.deepEqual(
      ledger.acked.filter((id) => !ids.has(id)),
      [],
      `${what}: every acknowledged write on ${n.api}`,
    );
    assert.deepEqual(
      ledger.refused.filter((id) => ids.has(id)),
      [],
      `${what}: no refused write on ${n.api}`,
    );
  }
  const rows = nodes.map((n) => n.engine.ids('t').join(','));
  assert.ok(
    rows.every((r) => r === rows[0]),
    `${what}: every node holds the same rows`,
  );
}

describe('ClusterManager: writes racing a partition', () => {
  test('a member out of reach for less than the eviction delay: the write set is sent again, the write commits on every node', async () => {
    const nodes = await formCluster(3);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    try {
      await waitFor('size 3', () => nodes.every((n) => st(n, 'size') === '3'));
      // a orders the writes; c misses its write set for 250 ms (FAST.evictMs is 700: c stays in the view)
      a.faults.block([c.api]);
      c.faults.block([a.api]);
      const started = Date.now();
      const write = a.manager.replicateWrite('c', insert('t', 4242));
      await new Promise((r) => setTimeout(r, 250));
      a.faults.heal();
      c.faults.heal();
      await write;
      const took = Date.now() - started;
      assert.equal(st(a, 'size'), '3', 'c was never evicted');
      assert.ok(took < 2000, `committed ${took} ms after it was sent, not after the commit timeout`);
      await waitFor('4242 on every node', () => nodes.every((n) => n.engine.tables.get('t')?.docs.has('4242') === true));
      // and the writes after it are not held up
      await b.manager.replicateWrite('c', insert('t', 4243));
      await waitFor('4243 on every node', () => nodes.every((n) => n.engine.tables.get('t')?.docs.has('4243') === true));
    } finally {
      await shutdownAll(nodes);
    }
  });

  test('1|2 with the ordering node cut off: no view with an unreachable peer, nothing acknowledged is lost', async () => {
    const nodes = await formCluster(3);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const watch = watchPrimaries(nodes);
    try {
      await waitFor('size 3', () => nodes.every((n) => st(n, 'size') === '3'));
      const writers = startWriters(nodes);
      await new Promise((r) => setTimeout(r, 200));
      // a created the cluster: it orders the writes; cut it off from the others
      a.faults.block([b.api, c.api]);
      b.faults.block([a.api]);
      c.faults.block([a.api]);
      await waitFor('a non-primary', () => st(a, 'status') === 'non-primary', 4000);
      await waitFor('b,c primary of 2', () => [b, c].every((n) => st(n, 'status') === 'primary' && st(n, 'size') === '2'), 4000);
      await new Promise((r) => setTimeout(r, PARTITION_MS));
      for (const n of nodes) n.faults.heal();
      await new Promise((r) => setTimeout(r, 300));
      const ledger = await writers.stop();
      await checkOutcome(nodes, ledger, '1|2');
      assert.deepEqual(watch.overlaps(), [], 'never two disjoint primary components');
    } finally {
      watch.stop();
      await shutdownAll(nodes);
    }
  });

  test('2|2 under writes: both halves non-primary, never a primary half; heal merges without losing acknowledged writes', async () => {
    const nodes = await formCluster(4);
    const [a, b, c, d] = nodes as [TestNode, TestNode, TestNode, TestNode];
    const watch = watchPrimaries(nodes);
    try {
      await waitFor('size 4', () => nodes.every((n) => st(n, 'size') === '4'));
      const writers = startWriters(nodes);
      await new Promise((r) => setTimeout(r, 200));
      for (const n of [a, b]) n.faults.block([c.api, d.api]);
      for (const n of [c, d]) n.faults.block([a.api, b.api]);
      await waitFor('all non-primary', () => nodes.every((n) => st(n, 'status') === 'non-primary'), 4000);
      const primaryDuringSplit: string[] = [];
      const sampler = setInterval(() => {
        for (const n of nodes) if (st(n, 'status') === 'primary') primaryDuringSplit.push(`${n.api}: ${st(n, 'nodes_view') ?? ''}`);
      }, 10);
      await new Promise((r) => setTimeout(r, PARTITION_MS));
      clearInterval(sampler);
      assert.deepEqual(primaryDuringSplit, [], 'no half turns primary again while split');
      for (const n of nodes) n.faults.heal();
      await new Promise((r) => setTimeout(r, 300));
      const ledger = await writers.stop();
      await checkOutcome(nodes, ledger, '2|2');
      assert.deepEqual(watch.overlaps(), [], 'never two disjoint primary components');
    } finally {
      watch.stop();
      await shutdownAll(nodes);
    }
  });
});
