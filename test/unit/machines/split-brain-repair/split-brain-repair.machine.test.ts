import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { fromPromise, waitFor } from 'xstate';
import { silentLogger } from '../../../../src/lib/logger.js';
import { MachineRuntime } from '../../../../src/machines/runtime/machine-runtime.js';
import {
  SPLIT_BRAIN_REPAIR_MACHINE,
  SPLIT_BRAIN_REPAIR_VERSION,
  splitBrainRepairMachine,
  type RepairEffectInput,
  type RepairEffectResult,
  type RepairInput,
  type RepairNodesInput,
  type RepairObservedNode,
  type VerifyResult,
} from '../../../../src/machines/split-brain-repair/split-brain-repair.machine.js';

const WAIT = { timeout: 5_000 };
const UUID = 'u-1';

/** Nodes as components: which component each node is in, primary or not; effects check before acting like the real ones. */
class World {
  component = new Map<string, string>();
  primary = new Set<string>();
  effects: string[] = [];
  rows = new Map<string, number>();

  constructor(groups: Record<string, { nodes: string[]; primary: boolean; rows: number }>) {
    for (const [id, g] of Object.entries(groups)) {
      for (const n of g.nodes) {
        this.component.set(n, id);
        this.rows.set(n, g.rows);
      }
      if (g.primary) this.primary.add(id);
    }
  }

  observed(at: number): { type: 'observed'; at: number; nodes: RepairObservedNode[] } {
    const nodes = [...this.component.keys()].map((name) => {
      const c = this.component.get(name) ?? '';
      const view = [...this.component.entries()].filter(([, x]) => x === c && c !== '').map(([n]) => `${n}:9312`);
      return {
        name,
        apiAddress: `${name}:9312`,
        role: c === '' ? ('standalone' as const) : ('member' as const),
        primary: this.primary.has(c),
        synced: this.primary.has(c),
        ...(c !== '' ? { uuid: UUID } : {}),
        view,
      };
    });
    return { type: 'observed', at, nodes };
  }

  actors() {
    const r = (changed: string[], skipped: string[] = []): RepairEffectResult => ({ changed, skipped });
    return {
      bootstrapSurvivor: fromPromise<RepairEffectResult, RepairEffectInput>(async ({ input }) => {
        const c = this.component.get(input.survivor) ?? '';
        if (this.primary.has(c)) return r([], [input.survivor]);
        this.effects.push(`pc.bootstrap ${input.survivor}`);
        this.primary.add(c);
        return r([input.survivor]);
      }),
      detachLosers: fromPromise<RepairEffectResult, RepairNodesInput>(async ({ input }) => {
        const mine = this.component.get(input.survivor);
        const changed: string[] = [];
        for (const n of input.nodes) {
          const c = this.component.get(n) ?? '';
          if (c === '' || c === mine || !this.primary.has(c)) continue;
          this.effects.push(`delete ${n}`);
          for (const [m, x] of this.component) if (x === c) this.component.set(m, '');
          changed.push(n);
        }
        return r(changed);
      }),
      rejoinLosers: fromPromise<RepairEffectResult, RepairNodesInput>(async ({ input }) => {
        const mine = this.component.get(input.survivor) ?? '';
        const changed: string[] = [];
        for (const n of input.nodes) {
          if (this.component.get(n) !== '') continue;
          this.effects.push(`join ${n}`);
          this.component.set(n, mine);
          this.rows.set(n, this.rows.get(input.survivor) ?? 0);
          changed.push(n);
        }
        return r(changed);
      }),
      verifyRows: fromPromise<VerifyResult, RepairNodesInput>(async ({ input }) => {
        const want = this.rows.get(input.survivor);
        const bad = input.nodes.filter((n) => this.rows.get(n) !== want);
        if (bad.length > 0) throw new Error(`rows differ on ${bad.join(', ')}`);
        return { rows: { t_delta: want ?? 0 } };
      }),
      updateNodes: fromPromise<RepairEffectResult, RepairEffectInput>(async () => r([])),
    };
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function input(over: Partial<RepairInput> = {}): RepairInput {
  return { operationId: 'repair-1', clusterName: 'c', survivor: 'node0', survivorGroup: ['node0', 'node1'], bootstrap: false, losers: ['node2'], reason: 'test', now: 1000, timeoutMs: 60_000, ...over };
}

describe('split-brain-repair machine', () => {
  it('keeps the survivor, dissolves and rejoins the loser, verifies rows, never bootstraps a primary side', async () => {
    const world = new World({ a: { nodes: ['node0', 'node1'], primary: true, rows: 5 }, b: { nodes: ['node2'], primary: true, rows: 4 } });
    const runtime = new MachineRuntime(mkdtempSync(path.join(tmpdir(), 'mco-sbr-')), silentLogger());
    dirs.push(runtime.store.dir);
    const def = { name: SPLIT_BRAIN_REPAIR_MACHINE, version: SPLIT_BRAIN_REPAIR_VERSION, machine: splitBrainRepairMachine.provide({ actors: world.actors() }) };
    const { actor } = runtime.start('repair/c', def, input());
    actor.send(world.observed(1100));
    await waitFor(actor, (s) => s.value === 'settling', WAIT);
    actor.send(world.observed(1200));
    await waitFor(actor, (s) => s.status === 'done', WAIT);
    assert.equal(actor.getSnapshot().value, 'done');
    assert.deepEqual(world.effects, ['delete node2', 'join node2']);
    assert.deepEqual(actor.getSnapshot().context.verified, { t_delta: 5 });
    assert.deepEqual(actor.getSnapshot().context.rejoined, ['node2']);
    runtime.stopAll();
  });

  it('a survivor side without quorum is bootstrapped, and no other side', async () => {
    const world = new World({ a: { nodes: ['node0', 'node1'], primary: false, rows: 5 }, b: { nodes: ['node2', 'node3'], primary: false, rows: 5 } });
    const runtime = new MachineRuntime(mkdtempSync(path.join(tmpdir(), 'mco-sbr-')), silentLogger());
    dirs.push(runtime.store.dir);
    const def = { name: SPLIT_BRAIN_REPAIR_MACHINE, version: SPLIT_BRAIN_REPAIR_VERSION, machine: splitBrainRepairMachine.provide({ actors: world.actors() }) };
    const { actor } = runtime.start('repair/c', def, input({ bootstrap: true, losers: ['node2', 'node3'] }));
    await waitFor(actor, (s) => s.value === 'awaitingSurvivor', WAIT);
    actor.send(world.observed(1100));
    await waitFor(actor, (s) => s.value === 'settling', WAIT);
    // the non-primary losers merge by themselves once the network allows (no DELETE, no JOIN)
    for (const n of ['node2', 'node3']) world.component.set(n, 'a');
    actor.send(world.observed(1200));
    await waitFor(actor, (s) => s.status === 'done', WAIT);
    assert.deepEqual(world.effects, ['pc.bootstrap node0']);
    runtime.stopAll();
  });

  it('restored from its persisted snapshot after a stop mid-repair, it finishes without repeating an effect', async () => {
    const world = new World({ a: { nodes: ['node0', 'node1'], primary: true, rows: 5 }, b: { nodes: ['node2'], primary: true, rows: 4 } });
    const dir = mkdtempSync(path.join(tmpdir(), 'mco-sbr-'));
    dirs.push(dir);
    const def = () => ({ name: SPLIT_BRAIN_REPAIR_MACHINE, version: SPLIT_BRAIN_REPAIR_VERSION, machine: splitBrainRepairMachine.provide({ actors: world.actors() }) });
    const first = new MachineRuntime(dir, silentLogger());
    const { actor } = first.start('repair/c', def(), input());
    actor.send(world.observed(1100));
    await waitFor(actor, (s) => s.value === 'settling', WAIT);
    first.stopAll(); // the controller dies here: the snapshot on disk says "settling"
    const second = new MachineRuntime(dir, silentLogger());
    const restored = second.restore<typeof splitBrainRepairMachine>('repair/c', def());
    assert.ok(restored);
    assert.equal(restored.actor.getSnapshot().value, 'settling');
    restored.actor.send(world.observed(1300));
    await waitFor(restored.actor, (s) => s.status === 'done', WAIT);
    assert.deepEqual(world.effects, ['delete node2', 'join node2'], 'one DELETE and one JOIN over both runs');
    second.stopAll();
  });

  it('a retry waits while an observation is stale', async () => {
    const world = new World({ a: { nodes: ['node0', 'node1'], primary: true, rows: 5 }, b: { nodes: ['node2'], primary: true, rows: 4 } });
    let failDetach = true;
    const actors = world.actors();
    const runtime = new MachineRuntime(mkdtempSync(path.join(tmpdir(), 'mco-sbr-')), silentLogger());
    dirs.push(runtime.store.dir);
    const flaky = {
      ...actors,
      detachLosers: fromPromise<RepairEffectResult, RepairNodesInput>(async () => {
        if (failDetach) throw new Error('node2 does not answer');
        return { changed: [], skipped: [] };
      }),
    };
    const def = { name: SPLIT_BRAIN_REPAIR_MACHINE, version: SPLIT_BRAIN_REPAIR_VERSION, machine: splitBrainRepairMachine.provide({ actors: flaky }) };
    const { actor } = runtime.start('repair/c', def, input());
    actor.send(world.observed(1100));
    await waitFor(actor, (s) => s.value === 'detachingRetry', WAIT);
    failDetach = false;
    actor.send({ ...world.observed(1200), fresh: false });
    assert.equal(actor.getSnapshot().value, 'detachingRetry', 'no retry on a stale observation');
    actor.send(world.observed(1300));
    await waitFor(actor, (s) => s.value !== 'detachingRetry' && s.value !== 'detaching', WAIT);
    runtime.stopAll();
  });

  it('fails after the deadline when the nodes never settle', async () => {
    const world = new World({ a: { nodes: ['node0', 'node1'], primary: true, rows: 5 }, b: { nodes: ['node2'], primary: false, rows: 5 } });
    const runtime = new MachineRuntime(mkdtempSync(path.join(tmpdir(), 'mco-sbr-')), silentLogger());
    dirs.push(runtime.store.dir);
    const def = { name: SPLIT_BRAIN_REPAIR_MACHINE, version: SPLIT_BRAIN_REPAIR_VERSION, machine: splitBrainRepairMachine.provide({ actors: world.actors() }) };
    const { actor } = runtime.start('repair/c', def, input());
    actor.send(world.observed(1100));
    await waitFor(actor, (s) => s.value === 'settling', WAIT);
    actor.send(world.observed(1000 + 60_001));
    await waitFor(actor, (s) => s.status === 'done', WAIT);
    assert.equal(actor.getSnapshot().value, 'failed');
    assert.match(actor.getSnapshot().context.lastError ?? '', /deadline/);
    runtime.stopAll();
  });
});
