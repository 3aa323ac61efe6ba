/**
 * What every fault scenario asserts at the end, read over SQL on each node's own copy of the
 * replicated table (`<table>_delta`, not the distributed table, which may answer from another node):
 *
 * - every acknowledged write is present on every node;
 * - no write the nodes refused with an SQL error is present anywhere (a refusal applies nothing);
 * - every node shows the same cluster uuid, and (when the scenario says Manticore's rules keep it)
 *   the uuid the cluster had before the fault.
 */
import assert from 'node:assert/strict';
import type { NodeRef } from '../../../src/platform/types.js';
import type { FaultCluster } from './cluster.js';
import type { AckLedger, WriteAttempt } from './writer.js';

/** Rows read per statement (Manticore's default max_matches is 1000). */
const PAGE = 1000;

/** Every id in a node's copy of `table`, ascending (paged by id so no max_matches option is needed). */
export async function nodeIds(fc: FaultCluster, n: NodeRef, table = fc.delta): Promise<Set<number>> {
  const out = new Set<number>();
  let last = 0;
  for (;;) {
    const rows = await fc.sql(n).query(`SELECT id FROM ${table} WHERE id > ${last} ORDER BY id ASC LIMIT ${PAGE}`);
    for (const r of rows) out.add(Number(r.id));
    if (rows.length < PAGE) return out;
    last = Number(rows[rows.length - 1]?.id);
  }
}

export interface WriteCheck {
  node: string;
  /** acknowledged ids missing on this node */
  missing: number[];
  /** refused ids present on this node */
  phantom: number[];
}

/**
 * Acknowledged writes Manticore's rules allow to be lost, with the rule: only a split brain's losing
 * side (writes it acknowledged as a second primary component are replaced by the survivor's data).
 */
export interface Exemption {
  applies: (a: WriteAttempt) => boolean;
  rule: string;
}

/** The acknowledged-write check of one node (no assertion). */
export async function checkNode(fc: FaultCluster, n: NodeRef, ledger: AckLedger, ackedBefore = Number.POSITIVE_INFINITY, exempt?: Exemption): Promise<WriteCheck> {
  const have = await nodeIds(fc, n);
  const exempted = new Set(exempt ? ledger.attempts.filter((a) => a.outcome === 'acked' && exempt.applies(a)).map((a) => a.id) : []);
  return {
    node: n.name,
    missing: ledger.acked(ackedBefore).filter((id) => !have.has(id) && !exempted.has(id)),
    phantom: ledger.ids('refused').filter((id) => have.has(id)),
  };
}

/** True when `n` holds every write acknowledged before `ackedBefore` (a recovery probe). */
export async function holdsAcked(fc: FaultCluster, n: NodeRef, ledger: AckLedger, ackedBefore: number, exempt?: Exemption): Promise<boolean> {
  const c = await checkNode(fc, n, ledger, ackedBefore, exempt);
  return c.missing.length === 0;
}

const sample = (ids: number[]) => `${ids.length} ids${ids.length ? ` (${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', ...' : ''})` : ''}`;

/** Asserts the writes: every acknowledged one (but those `exempt` names) on every node, no refused one anywhere. */
export async function assertAcknowledgedEverywhere(fc: FaultCluster, ledger: AckLedger, what: string, exempt?: Exemption): Promise<void> {
  const acked = ledger.acked();
  assert.ok(acked.length > 0, `${what}: some writes were acknowledged (${ledger.summary()})`);
  for (const n of fc.nodes) {
    const c = await checkNode(fc, n, ledger, Number.POSITIVE_INFINITY, exempt);
    assert.deepEqual(c.missing, [], `${what}: ${n.name} lacks acknowledged writes: ${sample(c.missing)}; writes ${ledger.summary()}${exempt ? `; exempt: ${exempt.rule}` : ''}`);
    const refusals = c.phantom.slice(0, 5).map((id) => {
      const a = ledger.attempts.find((x) => x.id === id);
      return a ? `${id}: sent to ${a.node} at ${new Date(a.sentAt).toISOString()}, refused at ${new Date(a.doneAt).toISOString()} with "${a.error ?? ''}"` : String(id);
    });
    assert.deepEqual(c.phantom, [], `${what}: ${n.name} holds writes that were refused: ${sample(c.phantom)}; ${refusals.join('; ')}`);
  }
}

/** Asserts one cluster uuid on every node, and `expected` when given; returns it. */
export async function assertOneUuid(fc: FaultCluster, what: string, expected?: string): Promise<string> {
  const uuids = await fc.uuids();
  const distinct = new Set(uuids);
  assert.equal(distinct.size, 1, `${what}: one cluster uuid on every node: ${uuids.map((u, i) => `${fc.nodes[i]?.name}=${u ?? 'none'}`).join(', ')}`);
  const uuid = uuids[0];
  assert.ok(uuid, `${what}: the nodes show a cluster uuid`);
  if (expected !== undefined) assert.equal(uuid, expected, `${what}: the cluster uuid survived the fault`);
  return uuid;
}
