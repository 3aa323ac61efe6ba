import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tablePresenceSignature } from '../../../src/reconcile/controller.js';
import { member, silent } from './cluster-fixtures.js';

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
