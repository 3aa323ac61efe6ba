import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FakeClock } from '../../../src/lib/clock.js';
import { conditionFalse, conditionTrue } from '../../../src/status/conditions.js';
import { FileStatusStore } from '../../../src/status/store.js';
import type { OperationRecord, StatusEvent } from '../../../src/status/types.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'status-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function op(id: string, state: OperationRecord['state'] = 'pending'): OperationRecord {
  return { id, kind: 'forced-bootstrap', key: 'cluster/main', requestedBy: 'test', requestedAt: '2026-01-01T00:00:00.000Z', state, steps: [] };
}

test('lastTransitionTime changes only when a condition status changes', () => {
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const store = FileStatusStore.open({ clock });
  store.setConditions('cluster', [conditionFalse('Ready', 'WaitingForNodes', '0 of 3 nodes synced')]);
  const t0 = store.cluster().conditions[0]?.lastTransitionTime;
  assert.equal(t0, '2026-01-01T00:00:00.000Z');

  clock.advance(5_000);
  store.setConditions('cluster', [conditionFalse('Ready', 'WaitingForNodes', '2 of 3 nodes synced')]);
  const same = store.cluster().conditions[0];
  assert.equal(same?.lastTransitionTime, t0, 'same status keeps the time');
  assert.equal(same?.message, '2 of 3 nodes synced', 'the message is updated');

  clock.advance(5_000);
  store.setConditions('cluster', [conditionTrue('Ready', 'AllNodesSynced', '3 of 3 nodes synced')]);
  assert.equal(store.cluster().conditions[0]?.lastTransitionTime, '2026-01-01T00:00:10.000Z');
});

test('events: changed conditions, operations and changed nodes only', () => {
  const store = FileStatusStore.open({ clock: new FakeClock(0) });
  const events: StatusEvent[] = [];
  const unsubscribe = store.subscribe((e) => events.push(e));
  const c = conditionTrue('ClusterFormed', 'Formed', 'one cluster');
  store.setConditions('cluster', [c]);
  store.setConditions('cluster', [c]);
  const node = { name: 'node0', ordinal: 0, apiAddress: '127.0.0.1:9312', reachable: true, tables: [], observedAt: 'x' };
  store.setCluster({ name: 'main', phase: 'Ready', size: 1, nodes: [node] });
  store.setCluster({ name: 'main', phase: 'Ready', size: 1, nodes: [{ ...node, observedAt: 'y' }] });
  store.upsertOperation(op('op1'));
  unsubscribe();
  store.upsertOperation(op('op2'));
  assert.deepEqual(
    events.map((e) => e.type),
    ['condition', 'node', 'operation'],
  );
});

test('cluster view: a pass that moves only observation times updates them in place; a caller cannot change the held view', () => {
  const store = FileStatusStore.open({ clock: new FakeClock(0) });
  const events: StatusEvent[] = [];
  store.subscribe((e) => events.push(e));
  const nodes = [0, 1].map((i) => ({ name: `node${i}`, ordinal: i, apiAddress: `h:${i}`, reachable: true, tables: ['t_delta'], observedAt: 'x' }));
  store.setCluster({ name: 'main', phase: 'Ready', size: 2, nodes });
  assert.deepEqual(events.map((e) => (e.type === 'node' ? e.node.name : e.type)), ['node0', 'node1'], 'new nodes are events');
  const next = nodes.map((n) => ({ ...n, tables: [...n.tables], observedAt: 'y' }));
  store.setCluster({ name: 'main', phase: 'Ready', size: 2, nodes: next });
  assert.deepEqual(store.cluster().nodes.map((n) => n.observedAt), ['y', 'y']);
  next[0]!.tables.push('mutated_by_caller');
  assert.deepEqual(store.cluster().nodes[0]?.tables, ['t_delta'], 'the held view is not the caller\'s object');
  assert.equal(events.length, 2, 'observation times alone are no event');
  // one node changes: one node event, and the view follows
  store.setCluster({ name: 'main', phase: 'Ready', size: 2, nodes: [nodes[0]!, { ...nodes[1]!, reachable: false, observedAt: 'z' }] });
  assert.equal(store.cluster().nodes[1]?.reachable, false);
  assert.deepEqual(store.cluster().nodes.map((n) => n.observedAt), ['x', 'z']);
  assert.deepEqual(events.slice(2).map((e) => (e.type === 'node' ? e.node.name : e.type)), ['node1']);
  // the phase alone changes: the view follows, no node event
  store.setCluster({ name: 'main', phase: 'Degraded', size: 2, nodes: [nodes[0]!, { ...nodes[1]!, reachable: false, observedAt: 'z' }] });
  assert.equal(store.cluster().phase, 'Degraded');
  assert.equal(events.length, 3);
});

test('state, recorded seqnos and operations survive a restart (reopen from the data dir)', (t) => {
  const dir = tempDir(t);
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const a = FileStatusStore.open({ dataDir: dir, clock });
  a.recordSeqno('node0', 'uuid-1', 7);
  a.recordSeqno('node1', 'uuid-1', 9);
  a.upsertOperation(op('op1'));
  a.upsertOperation(op('op2'));
  a.upsertOperation({ ...op('op1'), state: 'succeeded' });
  a.setConditions('table/products', [conditionTrue('TablesConverged', 'Converged', 'ok')]);
  a.setTable({ name: 'products', spec: { name: 'products' } as never, origin: { kind: 'file', ref: 'p.json' }, generation: 2, nodes: [] });
  a.setCluster({ name: 'main', phase: 'Ready', size: 1, nodes: [{ name: 'node0', ordinal: 0, apiAddress: 'h:1', reachable: true, tables: [], observedAt: 'x' }] });
  assert.deepEqual(readdirSync(join(dir, 'status')).sort(), ['operations.json', 'seqnos.json', 'state.json'], 'no temp files left');

  const b = FileStatusStore.open({ dataDir: dir, clock });
  assert.deepEqual(
    Object.fromEntries(Object.entries(b.recordedSeqnos()).map(([k, v]) => [k, [v.uuid, v.seqno]])),
    { node0: ['uuid-1', 7], node1: ['uuid-1', 9] },
  );
  assert.deepEqual(
    b.operations().map((o) => [o.id, o.state]),
    [
      ['op2', 'pending'],
      ['op1', 'succeeded'],
    ],
    'newest first; an update keeps its place',
  );
  assert.equal(b.table('products')?.generation, 2);
  assert.equal(b.table('products')?.conditions[0]?.type, 'TablesConverged');
  assert.equal(b.cluster().nodes[0]?.recordedSeqno, 7, 'node views carry the recorded seqno');
  b.removeTable('products');
  assert.equal(FileStatusStore.open({ dataDir: dir }).table('products'), undefined);
});

test('operation history is bounded, newest first', () => {
  const store = FileStatusStore.open({ maxOperations: 3 });
  for (let i = 1; i <= 5; i++) store.upsertOperation(op(`op${i}`));
  assert.deepEqual(
    store.operations().map((o) => o.id),
    ['op5', 'op4', 'op3'],
  );
  assert.equal(store.operation('op1'), undefined);
});

test('GET /api/tables body: serialized once per change of a table view or its conditions', () => {
  const store = FileStatusStore.open({ dataDir: mkdtempSync(join(tmpdir(), 'mo-store-json-')) });
  const spec = { name: 'b_t', columns: [], settings: {}, clusterMain: false, distributed: { haStrategy: 'nodeads' as const, agentRetryCount: 0 } } as unknown as Parameters<typeof store.setTable>[0]['spec'];
  const view = (name: string, slot: 'a' | 'b') => ({ name, spec, origin: 'file', generation: 1, activeSlot: slot, nodes: [] }) as unknown as Parameters<typeof store.setTable>[0];
  store.setTable(view('b_t', 'a'));
  store.setTable(view('a_t', 'a'));
  const first = store.tablesEnvelopeJson();
  assert.deepEqual((JSON.parse(first) as { data: { name: string }[] }).data.map((t) => t.name), ['a_t', 'b_t']);
  store.setTable(view('a_t', 'a'));
  assert.equal(store.tablesEnvelopeJson(), first, 'an unchanged view keeps the body');
  store.setTable(view('a_t', 'b'));
  assert.equal((JSON.parse(store.tablesEnvelopeJson()) as { data: { activeSlot: string }[] }).data[0]?.activeSlot, 'b');
  store.setConditions('table/b_t', [{ type: 'Ready', status: 'False', reason: 'X', message: 'x' }]);
  assert.equal((JSON.parse(store.tablesEnvelopeJson()) as { data: { conditions: { reason: string }[] }[] }).data[1]?.conditions[0]?.reason, 'X');
  store.removeTable('a_t');
  assert.deepEqual((JSON.parse(store.tablesEnvelopeJson()) as { data: { name: string }[] }).data.map((t) => t.name), ['b_t']);
});
