import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { createActor, fromPromise, waitFor } from 'xstate';
import type { Slot } from '../../../../src/domain/names.js';
import { silentLogger } from '../../../../src/lib/logger.js';
import {
  BLUE_GREEN_IMPORT_MACHINE,
  BLUE_GREEN_IMPORT_VERSION,
  blueGreenImportMachine,
  type BuildInput,
  type BuildResult,
  type CancelBuildInput,
  type ChooseSlotsInput,
  type ChooseSlotsResult,
  type DropSlotInput,
  type FlipInput,
  type FlipResult,
  type ImportInput,
  type ImportSlotInput,
  type NodesResult,
  type VerifyInput,
} from '../../../../src/machines/blue-green-import/blue-green-import.machine.js';
import { MachineRuntime } from '../../../../src/machines/runtime/machine-runtime.js';

const WAIT = { timeout: 5_000 };
const NODES = ['node0', 'node1', 'node2'];

/** A tiny cluster the fake actors act on, with the same check-before-act rules as the real ones. */
class World {
  /** slot each node's distributed table points at */
  serves: Record<string, Slot> = { node0: 'a', node1: 'a', node2: 'a' };
  /** main slot tables and their rows per node */
  mains: Record<string, Map<Slot, number>> = Object.fromEntries(NODES.map((n) => [n, new Map<Slot, number>([['a', 10]])]));
  effects: string[] = [];
  buildRows = 1_000;
  buildFails = false;
  /** nodes whose flip always fails */
  flipFailsOn = new Set<string>();
  /** flips that fail once then succeed */
  flipFailsOnce = new Set<string>();
  /** flips that fail this many times then succeed */
  flipFailsTimes = new Map<string, number>();
  /** a promise the build waits on (to cancel or snapshot mid-way) */
  buildGate: Promise<void> | undefined;
  importGate: Promise<void> | undefined;
  /** IMPORT attempts that fail (a node restarting) */
  importFails = 0;
  importAttempts = 0;

  /** queries of the distributed table on every node succeed: the slot it points at exists */
  assertNoMissingTable(): void {
    for (const n of NODES) assert.ok(this.mains[n]!.has(this.serves[n]!), `${n} points at missing slot ${this.serves[n]}`);
  }

  actors() {
    return {
      chooseSlots: fromPromise<ChooseSlotsResult, ChooseSlotsInput>(async ({ input }) => {
        this.effects.push('choose');
        const byNode: ChooseSlotsResult['byNode'] = {};
        for (const n of input.nodes) byNode[n] = this.serves[n] ?? 'none';
        return { byNode };
      }),
      dropSlot: fromPromise<NodesResult, DropSlotInput>(async ({ input }) => {
        if (input.nodes.some((n) => this.serves[n] === input.slot)) throw new Error(`slot ${input.slot} serves: never dropped`);
        const changed = input.nodes.filter((n) => this.mains[n]!.delete(input.slot));
        this.effects.push(`drop ${input.slot} ${changed.join(',')}`);
        return { changed, skipped: [] };
      }),
      buildMain: fromPromise<BuildResult, BuildInput>(async ({ input }) => {
        this.effects.push(`build ${input.slot} on ${input.node}`);
        if (this.buildGate) await this.buildGate;
        if (this.buildFails) throw new Error('products.csv line 7: expected 3 columns, got 2');
        return { rows: this.buildRows, bytes: 5_000, rtPrefix: `/shared/${input.operationId}/rt`, durationMs: 10 };
      }),
      importSlot: fromPromise<NodesResult, ImportSlotInput>(async ({ input }) => {
        if (this.importGate) await this.importGate;
        this.importAttempts++;
        if (this.importFails > 0) {
          this.importFails--;
          throw new Error('node2: connection refused');
        }
        const changed: string[] = [];
        for (const n of input.nodes) {
          if (this.mains[n]!.get(input.slot) === input.rows) continue;
          this.mains[n]!.set(input.slot, input.rows);
          changed.push(n);
        }
        this.effects.push(`import ${input.slot} ${changed.join(',')}`);
        return { changed, skipped: [] };
      }),
      verifyCounts: fromPromise<NodesResult, VerifyInput>(async ({ input }) => {
        const wrong = input.nodes.filter((n) => this.mains[n]!.get(input.slot) !== input.rows);
        if (wrong.length > 0) throw new Error(`counts differ on ${wrong.join(',')}`);
        return { changed: [], skipped: input.nodes };
      }),
      flipDistributed: fromPromise<FlipResult, FlipInput>(async ({ input }) => {
        const r: FlipResult = { flipped: [], failed: [], gapsMs: {} };
        for (const n of input.nodes) {
          if (this.serves[n] === input.to) {
            r.flipped.push(n);
            continue;
          }
          if (!this.mains[n]!.has(input.to)) {
            r.failed.push({ node: n, error: 'slot missing' });
            continue;
          }
          const times = this.flipFailsTimes.get(n) ?? 0;
          if (times > 0) this.flipFailsTimes.set(n, times - 1);
          if (this.flipFailsOn.has(n) || this.flipFailsOnce.delete(n) || times > 0) {
            r.failed.push({ node: n, error: 'connection refused' });
            continue;
          }
          this.serves[n] = input.to;
          this.effects.push(`flip ${n} ${input.to}`);
          r.flipped.push(n);
        }
        this.assertNoMissingTable();
        return r;
      }),
      verifyServing: fromPromise<NodesResult, VerifyInput>(async ({ input }) => {
        const wrong = input.nodes.filter((n) => this.serves[n] !== input.slot);
        if (wrong.length > 0) throw new Error(`not serving on ${wrong.join(',')}`);
        return { changed: [], skipped: input.nodes };
      }),
      cancelBuild: fromPromise<NodesResult, CancelBuildInput>(async ({ input }) => {
        this.effects.push(`cancel build on ${input.node}`);
        return { changed: [input.node], skipped: [] };
      }),
    };
  }
}

function input(over: Partial<ImportInput> = {}): ImportInput {
  return {
    operationId: 'imp-1',
    clusterName: 'c',
    table: 'products',
    clusterMain: false,
    nodes: NODES,
    buildNode: 'node0',
    build: { format: 'csv', header: true, sources: ['/data/products.csv'], outDir: '/shared/imp-1' },
    now: 1_000,
    timeoutMs: 3_600_000,
    maxAttempts: 3,
    flipTimeoutMs: 5_000,
    ...over,
  };
}

function start(world: World, over: Partial<ImportInput> = {}) {
  const actor = createActor(blueGreenImportMachine.provide({ actors: world.actors() }), { input: input(over) });
  actor.start();
  return actor;
}

/** Sends ticks until the machine is final (retry states wait for a tick). */
async function runToEnd(actor: ReturnType<typeof start>): Promise<string> {
  let at = 2_000;
  for (let i = 0; i < 100 && actor.getSnapshot().status === 'active'; i++) {
    actor.send({ type: 'tick', at: (at += 1_000) });
    await new Promise((r) => setTimeout(r, 5));
  }
  return String(actor.getSnapshot().value);
}

describe('blue-green-import machine', () => {
  it('happy path: builds once, imports everywhere, verifies, flips every node, drops the old slot', async () => {
    const world = new World();
    const actor = start(world);
    assert.equal(await runToEnd(actor), 'done');
    const c = actor.getSnapshot().context;
    assert.equal(c.oldSlot, 'a');
    assert.equal(c.newSlot, 'b');
    assert.equal(c.rowsExpected, 1_000);
    assert.deepEqual(world.serves, { node0: 'b', node1: 'b', node2: 'b' });
    for (const n of NODES) assert.deepEqual([...world.mains[n]!.entries()], [['b', 1_000]]);
    assert.equal(world.effects.filter((e) => e.startsWith('build')).length, 1);
    assert.ok(world.effects.includes('drop a node0,node1,node2'));
  });

  it('a second import flips back to the first slot', async () => {
    const world = new World();
    world.serves = { node0: 'b', node1: 'b', node2: 'b' };
    world.mains = Object.fromEntries(NODES.map((n) => [n, new Map<Slot, number>([['b', 5], ['a', 3]])]));
    const actor = start(world, { operationId: 'imp-2' });
    assert.equal(await runToEnd(actor), 'done');
    assert.deepEqual(world.serves, { node0: 'a', node1: 'a', node2: 'a' });
    // the stale slot a (3 rows) was dropped before the build, then imported again
    assert.ok(world.effects.indexOf('drop a node0,node1,node2') < world.effects.indexOf('build a on node0'));
    for (const n of NODES) assert.deepEqual([...world.mains[n]!.entries()], [['a', 1_000]]);
  });

  it('refuses when nodes serve different slots', async () => {
    const world = new World();
    world.serves.node2 = 'b';
    world.mains.node2!.set('b', 1);
    const actor = start(world);
    assert.equal(await runToEnd(actor), 'failed');
    assert.match(actor.getSnapshot().context.failure ?? '', /different slots.*node2=b/);
    assert.ok(!world.effects.some((e) => e.startsWith('build') || e.startsWith('drop')));
  });

  it('refuses while a node has no distributed table yet (not converged)', async () => {
    const world = new World();
    delete (world.serves as Partial<Record<string, Slot>>).node1;
    const actor = start(world);
    assert.equal(await runToEnd(actor), 'failed');
    assert.match(actor.getSnapshot().context.failure ?? '', /not set up on every node yet.*node1/);
    assert.ok(!world.effects.some((e) => e.startsWith('build') || e.startsWith('drop')));
  });

  it('a build failure leaves the old slot serving and drops the partial new slot', async () => {
    const world = new World();
    world.buildFails = true;
    const actor = start(world);
    assert.equal(await runToEnd(actor), 'failed');
    assert.match(actor.getSnapshot().context.failure ?? '', /line 7: expected 3 columns/);
    assert.deepEqual(world.serves, { node0: 'a', node1: 'a', node2: 'a' });
    for (const n of NODES) assert.equal(world.mains[n]!.get('a'), 10);
    assert.ok(!world.effects.some((e) => e.startsWith('flip')));
  });

  it('an IMPORT that fails while a node restarts is retried after a growing wait, then succeeds', async () => {
    const world = new World();
    world.importFails = 2;
    const actor = start(world, { retryBaseMs: 2_000 });
    await waitFor(actor, (s) => s.value === 'importingRetry', WAIT);
    // the first tick schedules the retry 2 s later; a tick before that does not run the effect
    actor.send({ type: 'tick', at: 10_000 });
    actor.send({ type: 'tick', at: 11_000 });
    assert.equal(actor.getSnapshot().value, 'importingRetry');
    assert.equal(world.importAttempts, 1);
    actor.send({ type: 'tick', at: 12_000 });
    await waitFor(actor, (s) => s.value === 'importingRetry' && world.importAttempts === 2, WAIT);
    // second wait is 4 s
    actor.send({ type: 'tick', at: 13_000 });
    actor.send({ type: 'tick', at: 16_000 });
    assert.equal(world.importAttempts, 2);
    actor.send({ type: 'tick', at: 17_000 });
    await waitFor(actor, (s) => s.status === 'done', WAIT);
    assert.equal(actor.getSnapshot().value, 'done');
    assert.equal(world.importAttempts, 3);
  });

  it('a flip that fails once on one node is rolled forward', async () => {
    const world = new World();
    world.flipFailsOnce.add('node1');
    const actor = start(world);
    assert.equal(await runToEnd(actor), 'done');
    assert.deepEqual(world.serves, { node0: 'b', node1: 'b', node2: 'b' });
    world.assertNoMissingTable();
  });

  it('a node down for longer than maxAttempts but within the flip deadline is still rolled forward', async () => {
    const world = new World();
    world.flipFailsTimes.set('node2', 4); // > maxAttempts (3), one attempt per tick of 1 s, deadline 5 s
    const actor = start(world);
    assert.equal(await runToEnd(actor), 'done');
    assert.deepEqual(world.serves, { node0: 'b', node1: 'b', node2: 'b' });
  });

  it('a node that never flips: the flipped nodes roll back, no node points at a missing table', async () => {
    const world = new World();
    world.flipFailsOn.add('node2');
    const actor = start(world);
    const seenMixed: boolean[] = [];
    actor.subscribe(() => seenMixed.push(new Set(Object.values(world.serves)).size > 1));
    assert.equal(await runToEnd(actor), 'failed');
    assert.ok(seenMixed.includes(true), 'slots were mixed during the flip');
    assert.deepEqual(world.serves, { node0: 'a', node1: 'a', node2: 'a' });
    world.assertNoMissingTable();
    for (const n of NODES) assert.ok(!world.mains[n]!.has('b'), `partial slot b dropped on ${n}`);
    assert.match(actor.getSnapshot().context.failure ?? '', /node2: connection refused/);
  });

  it('cancel during the build stops the job and drops the partial slot; the old slot keeps serving', async () => {
    const world = new World();
    let release!: () => void;
    world.buildGate = new Promise((r) => (release = r));
    const actor = start(world);
    await waitFor(actor, (s) => s.value === 'building', WAIT);
    world.mains.node0!.set('b', 7); // a partial build left behind
    actor.send({ type: 'cancel', reason: 'asked by test' });
    await waitFor(actor, (s) => s.status === 'done', WAIT);
    release();
    assert.equal(actor.getSnapshot().value, 'cancelled');
    assert.ok(world.effects.includes('cancel build on node0'));
    assert.ok(!world.mains.node0!.has('b'));
    assert.deepEqual(world.serves, { node0: 'a', node1: 'a', node2: 'a' });
  });

  it('cancel after the flip started is ignored (roll forward)', async () => {
    const world = new World();
    world.flipFailsOnce.add('node0');
    const actor = start(world);
    await waitFor(actor, (s) => s.value === 'flippingRetry', WAIT);
    actor.send({ type: 'cancel', reason: 'too late' });
    assert.equal(await runToEnd(actor), 'done');
    assert.deepEqual(world.serves, { node0: 'b', node1: 'b', node2: 'b' });
  });

  describe('persisted through the machine runtime', () => {
    let dir: string;
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('restored mid-import resumes without building again', async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'bgi-'));
      const world = new World();
      let release!: () => void;
      world.importGate = new Promise((r) => (release = r));
      const def = { name: BLUE_GREEN_IMPORT_MACHINE, version: BLUE_GREEN_IMPORT_VERSION, machine: blueGreenImportMachine.provide({ actors: world.actors() }) };
      const rt1 = new MachineRuntime(dir, silentLogger());
      const entry = rt1.start('import/c/products', def, input());
      await waitFor(entry.actor, (s) => s.value === 'importing', WAIT);
      rt1.stopAll(); // controller killed during IMPORT

      world.importGate = undefined;
      release();
      const rt2 = new MachineRuntime(dir, silentLogger());
      const restored = rt2.restore('import/c/products', def);
      assert.ok(restored?.restored);
      let at = 10_000;
      for (let i = 0; i < 100 && restored.actor.getSnapshot().status === 'active'; i++) {
        restored.actor.send({ type: 'tick', at: (at += 1_000) });
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(restored.actor.getSnapshot().value, 'done');
      assert.equal(world.effects.filter((e) => e.startsWith('build')).length, 1, 'built once');
      assert.equal(world.effects.filter((e) => e === 'choose').length, 1, 'slot chosen once');
      assert.deepEqual(world.serves, { node0: 'b', node1: 'b', node2: 'b' });
      rt2.stopAll();
    });
  });
});
