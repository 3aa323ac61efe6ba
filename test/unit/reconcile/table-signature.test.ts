import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterStateSignature, tablePresenceSignature as presenceOf, tableTypesByNode } from '../../../src/reconcile/controller.js';
import type { ClusterObservation } from '../../../src/observe/types.js';
import { CLUSTER, member, silent } from './cluster-fixtures.js';

const tablePresenceSignature = (table: string, observations: ClusterObservation) => presenceOf(table, tableTypesByNode(observations));

function withTables(o: ReturnType<typeof member>, tables: { name: string; type: string }[]): ReturnType<typeof member> {
  if (o.searchd.ok) o.searchd.value.tables = tables as typeof o.searchd.value.tables;
  return o;
}

test('table presence signature: changes when a managed table appears, changes type or its node goes; ignores other tables', () => {
  const base = [withTables(member(0), [{ name: 'items', type: 'distributed' }, { name: 'items_delta', type: 'rt' }]), withTables(member(1), [{ name: 'items_delta', type: 'rt' }])];
  const sig = tablePresenceSignature('items', base);
  const unrelated = [withTables(member(0), [{ name: 'items', type: 'distributed' }, { name: 'items_delta', type: 'rt' }, { name: 'other', type: 'rt' }]), withTables(member(1), [{ name: 'items_delta', type: 'rt' }])];
  assert.equal(tablePresenceSignature('items', unrelated), sig);
  const appeared = [withTables(member(0), [{ name: 'items', type: 'distributed' }, { name: 'items_delta', type: 'rt' }]), withTables(member(1), [{ name: 'items', type: 'distributed' }, { name: 'items_delta', type: 'rt' }])];
  assert.notEqual(tablePresenceSignature('items', appeared), sig);
  const retyped = [withTables(member(0), [{ name: 'items', type: 'rt' }, { name: 'items_delta', type: 'rt' }]), withTables(member(1), [{ name: 'items_delta', type: 'rt' }])];
  assert.notEqual(tablePresenceSignature('items', retyped), sig);
  const down = [withTables(member(0), [{ name: 'items', type: 'distributed' }, { name: 'items_delta', type: 'rt' }]), silent(1)];
  assert.notEqual(tablePresenceSignature('items', down), sig);
});

test('cluster state signature: moves with a write, a state change, a freeze or a node going; not with nothing', () => {
  const base = [member(0, { seqno: 7, view: [0, 1] }), member(1, { seqno: 7, view: [0, 1] })];
  const sig = clusterStateSignature(CLUSTER, base);
  assert.equal(clusterStateSignature(CLUSTER, [member(0, { seqno: 7, view: [0, 1] }), member(1, { seqno: 7, view: [0, 1] })]), sig);
  assert.notEqual(clusterStateSignature(CLUSTER, [member(0, { seqno: 8, view: [0, 1] }), member(1, { seqno: 8, view: [0, 1] })]), sig, 'a committed write');
  assert.notEqual(clusterStateSignature(CLUSTER, [member(0, { seqno: 7, view: [0, 1] }), member(1, { seqno: 7, nodeState: 'donor', view: [0, 1] })]), sig, 'a donor');
  assert.notEqual(clusterStateSignature(CLUSTER, [member(0, { seqno: 7, view: [0, 1] }, { frozen: ['items_delta'] }), member(1, { seqno: 7, view: [0, 1] })]), sig, 'a freeze');
  assert.notEqual(clusterStateSignature(CLUSTER, [member(0, { seqno: 7, view: [0, 1] }), silent(1)]), sig, 'a node down');
});
