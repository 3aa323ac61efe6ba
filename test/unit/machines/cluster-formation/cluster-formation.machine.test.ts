import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { createActor, fromPromise, waitFor } from 'xstate';
import { silentLogger } from '../../../../src/lib/logger.js';
import {
  CLUSTER_FORMATION_MACHINE,
  CLUSTER_FORMATION_VERSION,
  clusterFormationMachine,
  type EffectResult,
  type FormationInput,
  type JoinNodesInput,
  type NodeEffectInput,
  type NodesEffectInput,
  type ObservedNode,
  type StartDecisionInput,
} from '../../../../src/machines/cluster-formation/cluster-formation.machine.js';
import { MachineRuntime } from '../../../../src/machines/runtime/machine-runtime.js';

const WAIT = { timeout: 5_000 };

/** A tiny world the fake actors act on, with the same check-before-act rule as the real ones. */
class World {
  members = new Set<string>();
  synced = new Set<string>();
  held = new Set<string>();
  effects: string[] = [];
  decisions = new Map<string, string>();

  observed(at: number, names: string[]): { type: 'observed'; at: number; nodes: ObservedNode[] } {
    return {
      type: 'observed',
      at,
      nodes: names.map((name) => ({
        name,
        role: this.members.has(name) ? 'member' : this.held.has(name) ? 'held' : 'standalone',
        primary: this.synced.has(name),
        synced: this.synced.has(name),
      })),
    };
  }

  actors(options: { hangJoinAfter?: string } = {}) {
    const result = (changed: string[], skipped: string[] = []): EffectResult => ({ changed, skipped });
    return {
      createCluster: fromPromise<EffectResult, NodeEffectInput>(async ({ input }) => {
        if (this.members.has(input.node)) return result([], [input.node]);
        this.effects.push(`create ${input.node}`);
        this.members.add(input.node);
        this.synced.add(input.node);
        return result([input.node]);
      }),
      putStartDecision: fromPromise<EffectResult, StartDecisionInput>(async ({ input }) => {
        const id = `${input.operationId}:${input.node}:${input.mode}`;
        if (this.decisions.get(input.node) === id) return result([], [input.node]);
        this.decisions.set(input.node, id);
        this.effects.push(`start ${input.node} ${input.mode}`);
        return result([input.node]);
      }),
      pcBootstrap: fromPromise<EffectResult, NodeEffectInput>(async ({ input }) => {
        this.effects.push(`pc.bootstrap ${input.node}`);
        return result([input.node]);
      }),
      releaseNodes: fromPromise<EffectResult, NodesEffectInput>(async ({ input }) => {
        const changed = input.nodes.filter((n) => this.held.has(n));
        for (const n of changed) {
          this.held.delete(n);
          this.effects.push(`start ${n} normal`);
        }
        return result(changed);
      }),
      joinNodes: fromPromise<EffectResult, JoinNodesInput>(async ({ input }) => {
        const changed: string[] = [];
        for (const n of input.nodes) {
          if (this.members.has(n) || this.held.has(n)) continue;
          this.effects.push(`join ${n} at ${input.donor}`);
          this.members.add(n);
          this.synced.add(n);
          changed.push(n);
          if (options.hangJoinAfter === n) await new Promise<never>(() => undefined);
        }
        return result(changed);
      }),
      updateNodes: fromPromise<EffectResult, NodeEffectInput>(async ({ input }) => {
        this.effects.push(`update nodes ${input.node}`);
        return result([input.node]);
      }),
    };
  }
}

function input(o: Partial<FormationInput>): FormationInput {
  return {
    operationId: 'op1',
    kind: 'cluster-formation',
    clusterName: 'c',
    source: 'node0',
    mode: 'create',
    others: ['node1', 'node2'],
    reason: 'test',
    now: 1_000,
    timeoutMs: 60_000,
    ...o,
  };
}

const NODES = ['node0', 'node1', 'node2'];

describe('cluster-formation machine (fake actors)', () => {
  it('formation: create on the source, wait for it, join the others, wait all synced, update nodes_set', async () => {
    const world = new World();
    const actor = createActor(clusterFormationMachine.provide({ actors: world.actors() }), { input: input({}) }).start();
    await waitFor(actor, (s) => s.matches('awaitingSource'), WAIT);
    assert.deepEqual(world.effects, ['create node0']);
    actor.send(world.observed(2_000, NODES));
    await waitFor(actor, (s) => s.matches('settling'), WAIT);
    actor.send(world.observed(3_000, NODES));
    await waitFor(actor, (s) => s.status === 'done', WAIT);
    assert.equal(actor.getSnapshot().value, 'done');
    assert.deepEqual(world.effects, ['create node0', 'join node1 at node0', 'join node2 at node0', 'update nodes node0']);
  });

  it('waits do not move without the source primary, and fail past the deadline', async () => {
    const world = new World();
    const actor = createActor(
      clusterFormationMachine.provide({ actors: { ...world.actors(), createCluster: fromPromise<EffectResult, NodeEffectInput>(async () => ({ changed: [], skipped: [] })) } }),
      { input: input({ timeoutMs: 10_000 }) },
    ).start();
    await waitFor(actor, (s) => s.matches('awaitingSource'), WAIT);
    actor.send(world.observed(5_000, NODES));
    assert.equal(actor.getSnapshot().value, 'awaitingSource');
    actor.send(world.observed(12_000, NODES));
    assert.equal(actor.getSnapshot().value, 'failed');
    assert.match(actor.getSnapshot().context.lastError ?? '', /deadline/);
  });

  it('full-stop recovery: --new-cluster-force on the source, release held nodes, join a node that dropped the cluster', async () => {
    const world = new World();
    world.held = new Set(['node0', 'node1', 'node2']);
    world.members = new Set(['node0', 'node1', 'node2']);
    world.members.delete('node2'); // node2 started plainly and dropped the cluster
    world.held.delete('node2');
    const actor = createActor(clusterFormationMachine.provide({ actors: world.actors() }), {
      input: input({ kind: 'full-stop-recovery', source: 'node1', mode: 'new-cluster-force', others: ['node0', 'node2'] }),
    }).start();
    await waitFor(actor, (s) => s.matches('awaitingSource'), WAIT);
    assert.deepEqual(world.effects, ['start node1 new-cluster-force']);
    // the source comes up primary
    world.held.delete('node1');
    world.synced.add('node1');
    actor.send(world.observed(2_000, NODES));
    await waitFor(actor, (s) => s.matches('settling'), WAIT);
    assert.deepEqual(world.effects, ['start node1 new-cluster-force', 'start node0 normal']);
    // node0 rejoined by itself; node2 is outside: the machine joins it
    world.synced.add('node0');
    actor.send(world.observed(3_000, NODES));
    await waitFor(actor, (s) => s.matches('settling'), WAIT);
    actor.send(world.observed(4_000, NODES));
    await waitFor(actor, (s) => s.status === 'done', WAIT);
    assert.deepEqual(world.effects, ['start node1 new-cluster-force', 'start node0 normal', 'join node2 at node1', 'update nodes node1']);
  });

  it('a join settling while its node is scaled away finishes without it', async () => {
    const world = new World();
    world.members = new Set(['node0', 'node1', 'node2']);
    world.synced = new Set(['node0', 'node1', 'node2']);
    const actor = createActor(clusterFormationMachine.provide({ actors: world.actors() }), {
      input: input({ kind: 'cluster-join', source: 'node0', mode: 'join', others: ['node3'] }),
    }).start();
    // node3 joins but is not synced yet; then the platform no longer lists it
    await waitFor(actor, (s) => s.matches('settling'), WAIT);
    world.synced.delete('node3');
    actor.send(world.observed(2_000, [...NODES, 'node3']));
    assert.equal(actor.getSnapshot().value, 'settling', 'node3 listed and not synced: still waiting');
    actor.send(world.observed(3_000, NODES));
    await waitFor(actor, (s) => s.status === 'done', WAIT);
    assert.equal(actor.getSnapshot().value, 'done');
    assert.deepEqual(world.effects, ['join node3 at node0', 'update nodes node0']);
  });

  it('a join settling when the whole cluster stops (every node held at its gate) fails at once, well before its deadline', async () => {
    const world = new World();
    world.members = new Set(['node0', 'node1', 'node2']);
    world.synced = new Set(['node0', 'node1', 'node2']);
    const actor = createActor(clusterFormationMachine.provide({ actors: world.actors() }), {
      input: input({ kind: 'cluster-join', source: 'node0', mode: 'join', others: ['node3'], timeoutMs: 600_000 }),
    }).start();
    await waitFor(actor, (s) => s.matches('settling'), WAIT);
    world.synced.delete('node3');
    actor.send(world.observed(2_000, [...NODES, 'node3']));
    assert.equal(actor.getSnapshot().value, 'settling');
    // full stop, node3 scaled away meanwhile: node0..2 restart and wait at their gates
    world.members.clear();
    world.synced.clear();
    world.held = new Set(NODES);
    actor.send(world.observed(5_000, NODES));
    await waitFor(actor, (s) => s.status === 'done', WAIT);
    assert.equal(actor.getSnapshot().value, 'failed');
    assert.match(actor.getSnapshot().context.lastError ?? '', /node0 went down .* decides again/);
  });

  it('pc-bootstrap recovery on a non-primary survivor', async () => {
    const world = new World();
    world.members = new Set(['node0']);
    world.held = new Set(['node1', 'node2']);
    const actor = createActor(clusterFormationMachine.provide({ actors: world.actors() }), {
      input: input({ kind: 'full-stop-recovery', source: 'node0', mode: 'pc-bootstrap', others: ['node1', 'node2'] }),
    }).start();
    await waitFor(actor, (s) => s.matches('awaitingSource'), WAIT);
    world.synced.add('node0');
    actor.send(world.observed(2_000, NODES));
    await waitFor(actor, (s) => s.matches('settling'), WAIT);
    assert.deepEqual(world.effects, ['pc.bootstrap node0', 'start node1 normal', 'start node2 normal']);
  });

  it('a failing effect is retried on the next observation, then fails after maxAttempts', async () => {
    let calls = 0;
    const world = new World();
    const actor = createActor(
      clusterFormationMachine.provide({
        actors: {
          ...world.actors(),
          createCluster: fromPromise<EffectResult, NodeEffectInput>(async () => {
            calls++;
            throw new Error('connect ECONNREFUSED');
          }),
        },
      }),
      { input: input({ maxAttempts: 2 }) },
    ).start();
    await waitFor(actor, (s) => s.matches('creatingRetry'), WAIT);
    actor.send(world.observed(2_000, NODES));
    await waitFor(actor, (s) => s.status === 'done', WAIT);
    assert.equal(actor.getSnapshot().value, 'failed');
    assert.equal(calls, 2);
    assert.match(actor.getSnapshot().context.lastError ?? '', /ECONNREFUSED/);
  });
});

describe('machine runtime: persisted snapshots', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('restores mid-operation after a kill without repeating CREATE or JOIN', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'machines-'));
    const world = new World();
    const def = (actors: ReturnType<World['actors']>) => ({
      name: CLUSTER_FORMATION_MACHINE,
      version: CLUSTER_FORMATION_VERSION,
      machine: clusterFormationMachine.provide({ actors }),
    });
    // first controller: the join of node1 happens, then the process "dies" inside the JOIN effect
    const first = new MachineRuntime(dir, silentLogger());
    const run = first.start('cluster/c', def(world.actors({ hangJoinAfter: 'node1' })), input({}));
    await waitFor(run.actor, (s) => s.matches('awaitingSource'), WAIT);
    run.actor.send(world.observed(2_000, NODES));
    await waitFor(run.actor, (s) => s.matches('joining'), WAIT);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(world.effects, ['create node0', 'join node1 at node0']);
    assert.equal(first.store.load('cluster/c')?.version, CLUSTER_FORMATION_VERSION);
    // SIGKILL: no stop, no further writes; a new runtime reads the file
    const second = new MachineRuntime(dir, silentLogger());
    const restored = second.restore('cluster/c', def(world.actors()));
    assert.ok(restored);
    assert.equal(restored.restored, true);
    await waitFor(restored.actor, (s) => s.matches('settling'), WAIT);
    restored.actor.send(world.observed(3_000, NODES));
    await waitFor(restored.actor, (s) => s.status === 'done', WAIT);
    assert.deepEqual(world.effects, ['create node0', 'join node1 at node0', 'join node2 at node0', 'update nodes node0']);
    assert.equal(world.effects.filter((e) => e.startsWith('create')).length, 1);
    first.stopAll();
    second.stop('cluster/c', { remove: true });
    assert.equal(existsSync(second.store.fileOf('cluster/c')), false);
  });

  it('drops a snapshot of another version so the reconciler decides again', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'machines-'));
    const rt = new MachineRuntime(dir, silentLogger());
    mkdirSync(rt.store.dir, { recursive: true });
    writeFileSync(rt.store.fileOf('cluster/c'), JSON.stringify({ machine: CLUSTER_FORMATION_MACHINE, version: CLUSTER_FORMATION_VERSION + 100, key: 'cluster/c', snapshot: {}, savedAt: '' }));
    const world = new World();
    const got = rt.restore('cluster/c', { name: CLUSTER_FORMATION_MACHINE, version: CLUSTER_FORMATION_VERSION, machine: clusterFormationMachine.provide({ actors: world.actors() }) });
    assert.equal(got, undefined);
    assert.equal(existsSync(rt.store.fileOf('cluster/c')), false);
    assert.deepEqual(world.effects, []);
  });
});
