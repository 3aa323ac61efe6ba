/**
 * Operation-level fault scenarios (issue 6 part 2; test/faults/README.md, "ops/"), as functions so the
 * suite's files (test/faults/ops/*.test.ts) and the lean `npm test` copy (test/integration/backup-kill/)
 * run the same code. Each starts its own FaultCluster (3 simulator nodes, their agents, the controller
 * as a process), asserts the outcome on the nodes and in the store, and records its recovery figure.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { runFaultScenario, sleep, until, WAIT, type FaultCluster } from '../lib/cluster.js';
import { recordRecovery, secondsBetween } from '../lib/results.js';
import { assertAcknowledgedEverywhere, assertOneUuid } from '../lib/verify.js';
import { Writer } from '../lib/writer.js';
import {
  archiveOf,
  assertNothingFrozen,
  assertServes,
  assertServing,
  count,
  importRows,
  insertDelta,
  killControllerAtEachStep,
  localArchives,
  range,
  requestOperation,
  stepsOf,
  waitDeltaIds,
  waitOperation,
} from './ops.js';

const WARMUP_ACKS = 20;

function newWriter(fc: FaultCluster): Writer {
  const w = new Writer({ cluster: fc.cluster, table: fc.delta, nodes: fc.nodes, intervalMs: 25, timeoutMs: 2_000 });
  fc.onStop(() => w.stop());
  return w;
}

/**
 * The controller SIGKILLed at each step of a delta backup while writes go on: the backup succeeds
 * (or fails cleanly), nothing is left frozen, the archive and its manifest are in the store with
 * nothing else, every acknowledged write is on every node.
 */
export async function controllerKillDuringBackup(fc: FaultCluster, t: TestContext, scenario = 'controller-sigkill-backup'): Promise<void> {
  const what = 'controller SIGKILL during a delta backup';
  const uuid = await assertOneUuid(fc, `${what}: before`);
  const w = newWriter(fc);
  w.start();
  await until(() => w.ledger.acked().length >= WARMUP_ACKS, WAIT.formed, `${what}: writes acknowledged before the backup (${w.ledger.summary()})`);
  const id = await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'delta' }, what);
  const run = await killControllerAtEachStep(fc, id, what);
  const doneAt = Date.now();
  assert.equal(run.op.state, 'succeeded', `${what}: the backup succeeded after ${run.kills.length} kills (${run.kills.join(', ')}): ${run.op.error ?? ''} ${stepsOf(run.op)}`);
  assert.ok(run.kills.length >= 1, `${what}: the controller was killed during the backup`);
  assert.equal(fc.ctrl.operations().filter((o) => o.kind === 'backup').length, 1, `${what}: one backup operation over ${fc.ctrl.runs} controller runs`);
  await assertNothingFrozen(fc, what);
  const archives = localArchives(fc);
  assert.deepEqual(archives, [archiveOf(run.op)], `${what}: the store holds the one archive (with its manifest)`);
  await sleep(300);
  await w.stop();
  await fc.waitWhole(WAIT.recovered, `${what}: whole at the end`);
  await assertAcknowledgedEverywhere(fc, w.ledger, what);
  await assertOneUuid(fc, what, uuid);
  recordRecovery(t, { scenario, metric: `last controller start → backup succeeded (${run.kills.length} kills: ${run.kills.join(', ')})`, seconds: secondsBetween(run.lastStart, doneAt), note: w.ledger.summary() });
}

/**
 * A delta backup of ids 1..N, then rows changed, then a restore with the controller SIGKILLed at each
 * step: the restore succeeds, every node's delta holds exactly the backup's ids, the delta is back in
 * the cluster and takes writes, nothing frozen.
 */
export async function controllerKillDuringDeltaRestore(fc: FaultCluster, t: TestContext, scenario = 'controller-sigkill-restore-delta'): Promise<void> {
  const what = 'controller SIGKILL during a delta restore';
  const uuid = await assertOneUuid(fc, `${what}: before`);
  await insertDelta(fc, 1, 200);
  await waitDeltaIds(fc, range(1, 200), `${what}: before the backup`);
  const b = await waitOperation(fc, await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'delta' }, what), `${what}: backup`);
  assert.equal(b.state, 'succeeded', `${what}: the backup: ${b.error ?? ''} ${stepsOf(b)}`);
  const filename = archiveOf(b);
  // the rows change after the backup
  await insertDelta(fc, 201, 260);
  await fc.sql(fc.node(1)).exec(`DELETE FROM ${fc.cluster}:${fc.delta} WHERE id <= 10`);
  await waitDeltaIds(fc, range(11, 260), `${what}: changed after the backup`);
  const id = await requestOperation(fc, '/api/restore', { tableName: fc.table, filename }, what);
  const run = await killControllerAtEachStep(fc, id, what);
  const doneAt = Date.now();
  assert.equal(run.op.state, 'succeeded', `${what}: the restore succeeded after ${run.kills.length} kills (${run.kills.join(', ')}): ${run.op.error ?? ''} ${stepsOf(run.op)}`);
  assert.ok(run.kills.length >= 2, `${what}: the controller was killed at least twice during the restore (${run.kills.join(', ')})`);
  assert.equal(fc.ctrl.operations().filter((o) => o.kind === 'restore').length, 1, `${what}: one restore operation over ${fc.ctrl.runs} controller runs`);
  await fc.waitWhole(WAIT.recovered, `${what}: the delta back in the cluster on every node`);
  await waitDeltaIds(fc, range(1, 200), `${what}: the backup's rows`);
  await assertNothingFrozen(fc, what);
  // replication works after the restore
  await insertDelta(fc, 1000, 1000);
  await waitDeltaIds(fc, [...range(1, 200), 1000], `${what}: a write after the restore replicated`);
  await assertOneUuid(fc, what, uuid);
  recordRecovery(t, { scenario, metric: `last controller start → restore succeeded (${run.kills.length} kills: ${run.kills.join(', ')})`, seconds: secondsBetween(run.lastStart, doneAt) });
}

const MAIN_ROWS = 3_000;

/**
 * A main table imported (slot b), backed up, then restored with the controller SIGKILLed at each
 * step: the restore goes into the other slot, every node serves it with the backup's rows, the old
 * slot is dropped, nothing frozen; writes to the delta go on throughout and are all kept.
 */
export async function controllerKillDuringMainRestore(fc: FaultCluster, t: TestContext, scenario = 'controller-sigkill-restore-main'): Promise<void> {
  const what = 'controller SIGKILL during a main restore';
  const uuid = await assertOneUuid(fc, `${what}: before`);
  const imported = await importRows(fc, MAIN_ROWS, 'main');
  await assertServes(fc, imported, MAIN_ROWS, `${what}: after the import`);
  const b = await waitOperation(fc, await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'main' }, what), `${what}: backup`);
  assert.equal(b.state, 'succeeded', `${what}: the main backup: ${b.error ?? ''} ${stepsOf(b)}`);
  const w = newWriter(fc);
  w.start();
  await until(() => w.ledger.acked().length >= WARMUP_ACKS, WAIT.formed, `${what}: writes acknowledged (${w.ledger.summary()})`);
  const id = await requestOperation(fc, '/api/restore', { tableName: fc.table, filename: archiveOf(b) }, what);
  const run = await killControllerAtEachStep(fc, id, what);
  const doneAt = Date.now();
  assert.equal(run.op.state, 'succeeded', `${what}: the restore succeeded after ${run.kills.length} kills (${run.kills.join(', ')}): ${run.op.error ?? ''} ${stepsOf(run.op)}`);
  assert.ok(run.kills.length >= 3, `${what}: the controller was killed at 3 steps or more of the restore (${run.kills.join(', ')})`);
  const other = imported === 'a' ? 'b' : 'a';
  await assertServes(fc, other, MAIN_ROWS, `${what}: the restored slot`);
  await assertNothingFrozen(fc, what);
  await assertServing(fc, what);
  await sleep(300);
  await w.stop();
  await fc.waitWhole(WAIT.recovered, `${what}: whole at the end`);
  await assertAcknowledgedEverywhere(fc, w.ledger, what);
  await assertOneUuid(fc, what, uuid);
  for (const n of fc.nodes) assert.equal(await count(fc, n, `${fc.table}_main_${other}`), MAIN_ROWS, `${what}: ${n.name} rows`);
  recordRecovery(t, { scenario, metric: `last controller start → main restore succeeded (${run.kills.length} kills: ${run.kills.join(', ')})`, seconds: secondsBetween(run.lastStart, doneAt), note: w.ledger.summary() });
}

export const runOps = (t: TestContext, label: string, cluster: string, fn: (fc: FaultCluster) => Promise<void>, controllerEnv?: Record<string, string>) =>
  runFaultScenario(t, { label, nodes: 3, cluster, ...(controllerEnv ? { controllerEnv } : {}) }, fn);
