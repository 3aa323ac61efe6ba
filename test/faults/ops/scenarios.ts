/**
 * Operation-level fault scenarios (issue 6 part 2; test/faults/README.md, "ops/"), as functions so the
 * suite's files (test/faults/ops/*.test.ts) and the lean `npm test` copy (test/integration/backup-kill/)
 * run the same code. Each starts its own FaultCluster (3 simulator nodes, their agents, the controller
 * as a process), asserts the outcome on the nodes and in the store, and records its recovery figure.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { AgentClient } from '../../../src/agent/client.js';
import type { NodeRef } from '../../../src/platform/types.js';
import type { OperationRecord } from '../../../src/status/types.js';
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
  frozenOn,
  importRows,
  insertDelta,
  killControllerAtEachStep,
  localArchives,
  range,
  requestOperation,
  slotView,
  stepsOf,
  waitDeltaIds,
  waitOperation,
  writeImportCsv,
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

// ---------------------------------------------------------------------------------------------
// agents SIGKILLed during their jobs

/** Polls every node's agent until one runs a job of `kind` for operation `opId`; returns the node. */
async function nodeRunningJob(fc: FaultCluster, opId: string, kind: string, what: string): Promise<{ node: NodeRef; jobId: string }> {
  const agents = fc.nodes.map((n) => ({ n, a: new AgentClient({ baseUrl: n.agentUrl, token: fc.token }) }));
  return until(
    async () => {
      for (const { n, a } of agents) {
        const jobs = await a.listJobs().catch(() => []);
        const j = jobs.find((x) => x.kind === kind && x.id.startsWith(opId) && x.state === 'running');
        if (j) return { node: n, jobId: j.id };
      }
      return false;
    },
    WAIT.formed,
    `${what}: a ${kind} job of ${opId} runs on an agent`,
    5,
  );
}

/** Waits until no table is frozen on any node (a manticore-backup left behind by its killed agent ends by itself). */
async function waitNothingFrozen(fc: FaultCluster, what: string): Promise<void> {
  await until(async () => {
    for (const n of fc.nodes) if ((await frozenOn(fc, n)).length > 0) return false;
    return true;
  }, WAIT.recovered, `${what}: no table frozen on any node`, 100);
  await assertNothingFrozen(fc, what);
}

/**
 * The agent running a delta backup's manticore-backup SIGKILLed (the platform restarts it): the backup
 * retries or fails cleanly, no table stays frozen, the store holds only complete archives (with
 * manifests), the table serves and keeps every acknowledged write; a later backup works.
 */
export async function agentKillDuringBackup(fc: FaultCluster, t: TestContext, scenario = 'agent-sigkill-backup'): Promise<void> {
  const what = 'agent SIGKILL during a backup';
  const uuid = await assertOneUuid(fc, `${what}: before`);
  const w = newWriter(fc);
  w.start();
  await until(() => w.ledger.acked().length >= WARMUP_ACKS, WAIT.formed, `${what}: writes acknowledged (${w.ledger.summary()})`);
  const id = await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'delta' }, what);
  const { node, jobId } = await nodeRunningJob(fc, id, 'backup-table', what);
  const before = fc.platform.nodeStatus(node.name).agentPid;
  const killedAt = Date.now();
  assert.ok(fc.platform.killNode(node.name, 'SIGKILL', 'agent') !== undefined, `${what}: ${node.name}'s agent was running`);
  const op = await waitOperation(fc, id, what);
  const endedAt = Date.now();
  await fc.platform.waitForNode(node.name, (s) => s.agentPid !== undefined && s.agentPid !== before, WAIT.running, `${what}: ${node.name}'s agent restarted`);
  assert.ok(op.state === 'succeeded' || op.state === 'failed', `${what}: the backup ended (${op.state})`);
  if (op.state === 'failed') assert.ok((op.error ?? '').length > 0, `${what}: a failed backup says why`);
  await waitNothingFrozen(fc, what);
  const archives = localArchives(fc);
  assert.deepEqual(archives, op.state === 'succeeded' ? [archiveOf(op)] : [], `${what}: the store holds an archive only for a succeeded backup`);
  await assertServing(fc, what);
  // a later backup works
  const again = await waitOperation(fc, await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'delta' }, `${what}: again`), `${what}: again`);
  assert.equal(again.state, 'succeeded', `${what}: a backup after the agent's restart succeeds: ${again.error ?? ''} ${stepsOf(again)}`);
  await assertNothingFrozen(fc, `${what}: after the second backup`);
  await sleep(300);
  await w.stop();
  await fc.waitWhole(WAIT.recovered, `${what}: whole at the end`);
  await assertAcknowledgedEverywhere(fc, w.ledger, what);
  await assertOneUuid(fc, what, uuid);
  const rerun = fc.ctrl.log('backup: manticore-backup job lost to an agent restart, started again').length;
  recordRecovery(t, { scenario, metric: `agent killed → backup ${op.state}`, seconds: secondsBetween(killedAt, endedAt), note: `job ${jobId} on ${node.name}; started again ${rerun} time(s); ${op.state === 'failed' ? `error: ${(op.error ?? '').slice(0, 160)}; ` : ''}steps ${stepsOf(op)}` });
}

const OLD_ROWS = 500;
const BUILD_ROWS = 60_000;

/**
 * The agent running an import's indexer build SIGKILLed (the platform restarts it): the import
 * finishes (the build is started again) or fails with the old slot serving on every node; never a
 * half-built slot serving, nothing frozen, every acknowledged write to the delta kept.
 */
export async function agentKillDuringBuild(fc: FaultCluster, t: TestContext, scenario = 'agent-sigkill-indexer-build'): Promise<void> {
  const what = 'agent SIGKILL during an indexer build';
  const uuid = await assertOneUuid(fc, `${what}: before`);
  const old = await importRows(fc, OLD_ROWS, 'old');
  const w = newWriter(fc);
  w.start();
  await until(() => w.ledger.acked().length >= WARMUP_ACKS, WAIT.formed, `${what}: writes acknowledged (${w.ledger.summary()})`);
  const source = path.join(fc.root, 'big.csv');
  writeImportCsv(source, BUILD_ROWS, 'big');
  const res = await until(() => fc.api('POST', '/api/import', { table: fc.table, source }), WAIT.api, 'POST /api/import answered');
  assert.equal(res.status, 202, `${what}: import accepted: ${JSON.stringify(res.json)}`);
  const id = String((res.json.data as OperationRecord | undefined)?.id ?? '');
  const { node, jobId } = await nodeRunningJob(fc, id, 'build-main', what);
  const before = fc.platform.nodeStatus(node.name).agentPid;
  const killedAt = Date.now();
  assert.ok(fc.platform.killNode(node.name, 'SIGKILL', 'agent') !== undefined, `${what}: ${node.name}'s agent was running`);
  const op = await waitOperation(fc, id, what);
  const endedAt = Date.now();
  await fc.platform.waitForNode(node.name, (s) => s.agentPid !== undefined && s.agentPid !== before, WAIT.running, `${what}: ${node.name}'s agent restarted`);
  if (op.state === 'succeeded') {
    await assertServes(fc, old === 'a' ? 'b' : 'a', BUILD_ROWS, `${what}: the new slot`);
  } else {
    assert.equal(op.state, 'failed', `${what}: the import ended: ${stepsOf(op)}`);
    await assertServes(fc, old, OLD_ROWS, `${what}: the old slot keeps serving`);
  }
  await assertNothingFrozen(fc, what);
  await sleep(300);
  await w.stop();
  await fc.waitWhole(WAIT.recovered, `${what}: whole at the end`);
  await assertAcknowledgedEverywhere(fc, w.ledger, what);
  await assertOneUuid(fc, what, uuid);
  recordRecovery(t, { scenario, metric: `agent killed → import ${op.state}`, seconds: secondsBetween(killedAt, endedAt), note: `job ${jobId} on ${node.name}; steps ${stepsOf(op)}${op.error ? `; error: ${op.error.slice(0, 160)}` : ''}` });
}

// ---------------------------------------------------------------------------------------------
// a node's disk full during IMPORT TABLE (the simulator's POST /sim/disk-full)

async function setDiskFull(n: NodeRef, full: boolean): Promise<void> {
  const res = await fetch(`http://${n.httpAddress ?? ''}/sim/disk-full`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ full }) });
  assert.equal(res.status, 200, `/sim/disk-full on ${n.name}: ${await res.text()}`);
}

/**
 * node2's disk full while an import IMPORTs the built slot on every node: the import fails with the
 * node's ENOSPC error, the old slot keeps serving on every node and the partial new slot is dropped
 * everywhere; once space is back a new import succeeds.
 */
export async function diskFullDuringImport(fc: FaultCluster, t: TestContext, scenario = 'disk-full-import'): Promise<void> {
  const what = "a node's disk full during IMPORT TABLE";
  const old = await importRows(fc, OLD_ROWS, 'old');
  const victim = fc.node(2);
  await setDiskFull(victim, true);
  fc.onStop(() => setDiskFull(victim, false).catch(() => undefined));
  const source = path.join(fc.root, 'full.csv');
  writeImportCsv(source, 2_000, 'full');
  const res = await until(() => fc.api('POST', '/api/import', { table: fc.table, source }), WAIT.api, 'POST /api/import answered');
  assert.equal(res.status, 202, `${what}: import accepted: ${JSON.stringify(res.json)}`);
  const id = String((res.json.data as OperationRecord | undefined)?.id ?? '');
  const requestedAt = Date.now();
  const op = await waitOperation(fc, id, what);
  const endedAt = Date.now();
  assert.equal(op.state, 'failed', `${what}: the import failed: ${stepsOf(op)}`);
  assert.match(op.error ?? '', /No space left on device/, `${what}: the error passes on the node's ENOSPC message`);
  assert.match(op.error ?? '', new RegExp(victim.name), `${what}: the error names the node`);
  await assertServes(fc, old, OLD_ROWS, `${what}: the old slot keeps serving, no half-imported slot left`);
  await assertNothingFrozen(fc, what);
  await fc.waitWhole(WAIT.recovered, `${what}: the cluster whole`);
  // space back: the import works
  await setDiskFull(victim, false);
  const again = await waitOperation(fc, (await requestImport(fc, source, what)), `${what}: again`);
  assert.equal(again.state, 'succeeded', `${what}: the import after space is back: ${again.error ?? ''} ${stepsOf(again)}`);
  await assertServes(fc, old === 'a' ? 'b' : 'a', 2_000, `${what}: the new slot after space is back`);
  recordRecovery(t, { scenario, metric: 'import request → failed cleanly (old slot serving everywhere)', seconds: secondsBetween(requestedAt, endedAt), note: `error: ${(op.error ?? '').slice(0, 200)}` });
}

async function requestImport(fc: FaultCluster, source: string, what: string): Promise<string> {
  const res = await until(() => fc.api('POST', '/api/import', { table: fc.table, source }), WAIT.api, 'POST /api/import answered');
  assert.equal(res.status, 202, `${what}: import accepted: ${JSON.stringify(res.json)}`);
  return String((res.json.data as OperationRecord | undefined)?.id ?? '');
}

/**
 * The lean `npm test` version (test/integration/backup-kill/): on one cluster, a delta backup and then
 * its restore, the controller SIGKILLed at the first two steps of each; no writer (the restore replaces the
 * rows). Asserts the same outcomes as the two suite scenarios.
 */
export async function controllerKillBackupThenRestore(fc: FaultCluster, t: TestContext): Promise<void> {
  const what = 'controller SIGKILL during a backup, then during its restore';
  const uuid = await assertOneUuid(fc, `${what}: before`);
  await insertDelta(fc, 1, 100);
  await waitDeltaIds(fc, range(1, 100), `${what}: before the backup`);
  // lean: the first two steps each operation is seen running at (the suite's files kill at every step)
  const b = await killControllerAtEachStep(fc, await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'delta' }, what), `${what}: backup`, 2);
  assert.equal(b.op.state, 'succeeded', `${what}: the backup succeeded after ${b.kills.length} kills (${b.kills.join(', ')}): ${b.op.error ?? ''} ${stepsOf(b.op)}`);
  assert.equal(b.op.figures?.rows, 100, `${what}: the backup counted the rows`);
  await assertNothingFrozen(fc, `${what}: after the backup`);
  const filename = archiveOf(b.op);
  assert.deepEqual(localArchives(fc), [filename], `${what}: the store holds the one archive (with its manifest)`);
  await insertDelta(fc, 101, 120);
  await fc.sql(fc.node(1)).exec(`DELETE FROM ${fc.cluster}:${fc.delta} WHERE id <= 5`);
  await waitDeltaIds(fc, range(6, 120), `${what}: changed after the backup`);
  const r = await killControllerAtEachStep(fc, await requestOperation(fc, '/api/restore', { tableName: fc.table, filename }, what), `${what}: restore`, 2);
  assert.equal(r.op.state, 'succeeded', `${what}: the restore succeeded after ${r.kills.length} kills (${r.kills.join(', ')}): ${r.op.error ?? ''} ${stepsOf(r.op)}`);
  assert.ok(b.kills.length + r.kills.length >= 3, `${what}: the controller was killed at 3 steps or more (${[...b.kills, ...r.kills].join(', ')})`);
  await fc.waitWhole(WAIT.recovered, `${what}: the delta back in the cluster on every node`);
  await waitDeltaIds(fc, range(1, 100), `${what}: the backup's rows on every node`);
  await assertNothingFrozen(fc, `${what}: after the restore`);
  await insertDelta(fc, 500, 500);
  await waitDeltaIds(fc, [...range(1, 100), 500], `${what}: a write after the restore replicated`);
  await assertOneUuid(fc, what, uuid);
  t.diagnostic(`backup kills: ${b.kills.join(', ')}; restore kills: ${r.kills.join(', ')}; ${fc.ctrl.runs} controller runs`);
}

// ---------------------------------------------------------------------------------------------
// controller SIGKILLed during a slot rotation (POST /api/rotate-main, answered when done)

const ROTATE_ROWS = 300;

/** Makes slot `slot` exist on every node with ROTATE_ROWS rows (the main slots are not replicated: each node's own). */
async function prepareSlot(fc: FaultCluster, slot: string): Promise<void> {
  const table = `${fc.table}_main_${slot}`;
  const values = range(1, ROTATE_ROWS).map((i) => `(${i}, 'rotated ${slot} ${i}', ${i % 10})`).join(', ');
  for (const n of fc.nodes) {
    await fc.sql(n).exec(`CREATE TABLE IF NOT EXISTS ${table} (title text, price float)`);
    await fc.sql(n).exec(`REPLACE INTO ${table} (id, title, price) VALUES ${values}`);
  }
}

/** Every node serves one and the same slot that exists there with ROTATE_ROWS rows; returns it. */
async function oneServedSlot(fc: FaultCluster, what: string): Promise<string> {
  return until(
    async () => {
      const views = await Promise.all(fc.nodes.map((n) => slotView(fc, n)));
      const served = new Set(views.map((v) => v.served.join('+')));
      if (served.size !== 1) return false;
      const s = views[0]?.served;
      if (s?.length !== 1 || views.some((v) => !v.present.includes(s[0]!))) return false;
      for (const n of fc.nodes) if ((await count(fc, n, `${fc.table}_main_${s[0]!}`)) !== ROTATE_ROWS) return false;
      return s[0];
    },
    WAIT.recovered,
    `${what}: every node serves one slot that exists with its rows`,
    100,
  );
}

/**
 * Both main slots filled on every node, then POST /api/rotate-main with the controller SIGKILLed at
 * fractions of the time a rotation takes (measured by one uninterrupted rotation), restarted each
 * time: every node ends up serving one and the same existing slot with its rows (the controller
 * converges a half-flipped table to the slot most nodes serve; the old slot is dropped only after
 * every node serves the new one), the distributed table answers throughout, every acked write kept.
 */
export async function controllerKillDuringRotation(fc: FaultCluster, t: TestContext, scenario = 'controller-sigkill-rotate-main'): Promise<void> {
  const what = 'controller SIGKILL during a slot rotation';
  const uuid = await assertOneUuid(fc, `${what}: before`);
  const w = newWriter(fc);
  w.start();
  await until(() => w.ledger.acked().length >= WARMUP_ACKS, WAIT.formed, `${what}: writes acknowledged (${w.ledger.summary()})`);
  await prepareSlot(fc, 'a');
  let serving = await oneServedSlot(fc, `${what}: start`);
  // one rotation without a fault: the time it takes, and the full outcome
  await prepareSlot(fc, serving === 'a' ? 'b' : 'a');
  let next = serving === 'a' ? 'b' : 'a';
  const t0 = Date.now();
  const first = await until(() => fc.api('POST', '/api/rotate-main', { tableName: fc.table, newSlot: next, oldSlot: serving }), WAIT.api, `${what}: rotate-main answered`);
  const rotateMs = Date.now() - t0;
  assert.equal(first.status, 200, `${what}: the uninterrupted rotation: ${JSON.stringify(first.json)}`);
  await assertServes(fc, next, ROTATE_ROWS, `${what}: the uninterrupted rotation`);
  serving = next;
  const outcomes: string[] = [];
  const fractions = [0.1, 0.35, 0.6, 0.85];
  let lastStart = 0;
  let lastDone = 0;
  for (const f of fractions) {
    next = serving === 'a' ? 'b' : 'a';
    await prepareSlot(fc, next);
    const req = fc.api('POST', '/api/rotate-main', { tableName: fc.table, newSlot: next, oldSlot: serving }).then(
      (r) => `HTTP ${r.status}`,
      () => 'no answer',
    );
    await sleep(Math.round(rotateMs * f));
    await fc.ctrl.signal('SIGKILL');
    const answered = await req;
    fc.startController();
    lastStart = Date.now();
    serving = await oneServedSlot(fc, `${what}: after a kill at ${Math.round(f * 100)}% (${answered})`);
    lastDone = Date.now();
    await assertServing(fc, what);
    outcomes.push(`${Math.round(f * 100)}%: ${answered} → serves ${serving}`);
    await until(() => fc.ctrl.alive() && fc.ctrl.log('controller started').length >= fc.ctrl.runs, WAIT.formed, `${what}: controller run ${fc.ctrl.runs} started (alive: ${fc.ctrl.alive()}, pid ${fc.ctrl.child?.pid ?? '-'})`);
    await until(() => fc.api('GET', '/api/status').then((r) => r.status === 200), WAIT.api, `${what}: the API answers again`);
  }
  await assertNothingFrozen(fc, what);
  await sleep(300);
  await w.stop();
  await fc.waitWhole(WAIT.recovered, `${what}: whole at the end`);
  await assertAcknowledgedEverywhere(fc, w.ledger, what);
  await assertOneUuid(fc, what, uuid);
  recordRecovery(t, { scenario, metric: 'last controller start → every node serves one existing slot', seconds: secondsBetween(lastStart, lastDone), note: `rotation takes ${rotateMs} ms; kills: ${outcomes.join('; ')}; ${w.ledger.summary()}` });
}
