/**
 * Issue 4 item 5, node side: imports under real process faults on 3 local simulator nodes with the
 * real controller stack and agents (LocalPlatform restarts what is killed).
 *
 * - a node's searchd SIGKILLed during the build, and another's during the IMPORT phase: the import
 *   retries until the node is back and finishes, or fails with the old data serving;
 * - the agent running the build SIGKILLed mid-build: the build is started again (job generation 2);
 * - a node paused (/sim/pause) during the flip and resumed: the import rolls forward; MixedSlots is
 *   reported while the nodes differ.
 *
 * After each: every node's distributed table points at one existing slot, one main slot per node,
 * rows = the source's (succeeded) or the old ones (failed). Figures go to t.diagnostic.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { AgentClient } from '../../../src/agent/client.js';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { errorMessage } from '../../../src/lib/errors.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseShowTables } from '../../../src/manticore/parse.js';
import { showAllClusterStatus, showTables } from '../../../src/manticore/sql.js';
import { LocalPlatform } from '../../../src/platform/local/local-platform.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { assertWorld, observeWorld, writeCsv } from './world.js';

const CLUSTER = 'impf';
const TOKEN = 'import-faults-token-0123456789abc';
const TABLE = 'products';

/** Named waits (ms). */
const WAIT = {
  formed: timeoutMs('start') + timeoutMs('form') + 15_000,
  /** one import with a node restart inside it (retries back off up to ~30 s) */
  importWithFault: 90_000,
  /** a step of the import starts */
  step: 30_000,
  /** a killed process is running again */
  restarted: timeoutMs('start') + 20_000,
  /** the cluster whole again after a node restart */
  healed: timeoutMs('form') + 30_000,
};
/** How long the node stays paused during the flip: several flip attempts fail meanwhile. */
const PAUSE_MS = 3_000;
/** Rows of the CSV whose build must still run when the agent is killed. */
const BIG_ROWS = 150_000;

let dir: string;
let stack: RunningStack;
let platform: LocalPlatform;
let nodes: NodeRef[];
/** rows and slot served after the previous test */
let current = { slot: 'a', rows: 0 };

const sql = (n: NodeRef) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);
const csv = (name: string) => path.join(dir, 'csv', name);

/** Why the cluster is not whole yet ('' when it is): every node primary + synced in one cluster of all, the table's parts there. */
async function notWhole(): Promise<string> {
  for (const n of nodes) {
    const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
    if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== nodes.length) return `${n.name}: cluster ${c?.status ?? 'none'}/${c?.nodeState ?? '-'}/size ${c?.size ?? 0}`;
    const t = new Map(parseShowTables(await sql(n).query(showTables())).map((x) => [x.name, x.type]));
    if (t.get(TABLE) !== 'distributed' || t.get(`${TABLE}_delta`) !== 'rt') return `${n.name}: ${TABLE} ${t.get(TABLE) ?? 'missing'}, ${TABLE}_delta ${t.get(`${TABLE}_delta`) ?? 'missing'}`;
  }
  return '';
}

let lastNotWhole = '';
async function clusterWhole(): Promise<boolean> {
  try {
    lastNotWhole = await notWhole();
  } catch (err) {
    lastNotWhole = errorMessage(err);
  }
  return lastNotWhole === '';
}

async function request(source: string): Promise<string> {
  const op = await stack.controller.requestImport({ table: TABLE, source, requestedBy: 'import-faults-test' });
  return op.id;
}

function op(id: string): OperationRecord | undefined {
  return stack.status.operation(id);
}

const stepRunning = (id: string, name: string) => op(id)?.steps.some((s) => s.name === name && s.state === 'running') === true;

async function waitEnd(id: string, ms: number): Promise<OperationRecord> {
  let rec: OperationRecord | undefined;
  await waitFor(
    () => {
      rec = op(id);
      return rec !== undefined && rec.state !== 'running' && rec.state !== 'pending';
    },
    'form',
    `import ${id} ends`,
    { factor: ms / timeoutMs('form') },
  );
  return rec!;
}

/** After an import: the world agrees with its outcome; `current` follows it. */
async function checkOutcome(end: OperationRecord, newRows: number, what: string): Promise<void> {
  // what the next test starts from, whatever this one asserts
  const prev = current;
  if (end.state === 'succeeded') current = { slot: prev.slot === 'a' ? 'b' : 'a', rows: newRows };
  // the nodes the fault hit must be back before the world is read
  await waitFor(() => clusterWhole(), 'form', `${what}: the cluster whole again (last: ${lastNotWhole || 'none'})`, { factor: WAIT.healed / timeoutMs('form') }).catch((err: unknown) => {
    throw new Error(`${errorMessage(err)}; not whole because: ${lastNotWhole}`);
  });
  const world = await observeWorld(stack.pools, nodes, TABLE);
  if (end.state === 'succeeded') {
    assertWorld(world, current.slot, newRows, `${what} (succeeded)`);
  } else {
    assert.equal(end.state, 'failed', `${what}: ${JSON.stringify(end)}`);
    assertWorld(world, current.slot, current.rows, `${what} (failed: ${end.error ?? ''})`);
  }
  const table = stack.status.table(TABLE);
  assert.equal(table?.activeSlot, current.slot, `${what}: status shows the slot served`);
}

const steps = (r: OperationRecord) => r.steps.map((s) => `${s.name}:${s.state}`).join(' → ');

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'import-faults-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  mkdirSync(path.join(dir, 'csv'), { recursive: true });
  writeFileSync(
    path.join(dir, 'specs', `${TABLE}.json`),
    JSON.stringify({
      name: TABLE,
      columns: [
        { name: 'title', type: 'text' },
        { name: 'price', type: 'float' },
      ],
      import: { source: 'initial.csv', header: true },
      distributed: { haStrategy: 'nodeads', agentRetryCount: 1 },
      deletionPolicy: 'retain',
    }),
  );
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env.CONTROLLER_TEST_LOG ? createLogger({ level: process.env.CONTROLLER_TEST_LOG }) : silentLogger();
  stack = await startStack({ config, token: TOKEN, env: process.env, logger, controller: { resyncMs: 1_000, fastResyncMs: 300 } });
  assert.ok(stack.platform instanceof LocalPlatform, 'the local platform');
  platform = stack.platform;
  nodes = [...(await stack.platform.listNodes())].sort((a, b) => a.ordinal - b.ordinal);
  await waitFor(() => clusterWhole(), 'form', 'cluster formed and products converged on every node', { factor: WAIT.formed / timeoutMs('form') });
});

/**
 * After the hooks, a process still held only by a forgotten query timer exits anyway: mysql2 leaves
 * the `timeout` timer of a query in flight on a connection that dies (here the IMPORT TABLE on the
 * node SIGKILLed mid-IMPORT, 30 min) armed and ref'd, which would keep this file running that long
 * (see the report of this test: the fix belongs in src/manticore/client.ts).
 */
const EXIT_GRACE_MS = 3_000;

after(async () => {
  await stack?.stop();
  setTimeout(() => {
    process.stderr.write(`# forcing exit ${EXIT_GRACE_MS} ms after the hooks: still held by ${JSON.stringify(process.getActiveResourcesInfo())}\n`);
    process.exit();
  }, EXIT_GRACE_MS).unref();
  if (dir && process.env.KEEP_TEST_DIRS === undefined) rmSync(dir, { recursive: true, force: true });
});

test("a node's searchd SIGKILLed during the build: the import retries until it is back, or fails with the old data", { timeout: WAIT.importWithFault + WAIT.healed }, async (t) => {
  const [, n1] = nodes as [NodeRef, NodeRef, NodeRef];
  writeCsv(csv('build-kill.csv'), 20_000, 'bk', writeFileSync);
  const started = Date.now();
  const id = await request(csv('build-kill.csv'));
  await waitFor(() => stepRunning(id, 'build'), 'form', 'the build step runs', { factor: WAIT.step / timeoutMs('form') });
  const pidBefore = platform.nodeStatus(n1.name).searchdPid;
  assert.ok(platform.killNode(n1.name, 'SIGKILL', 'searchd') !== undefined, `${n1.name}'s searchd was signalled`);
  const end = await waitEnd(id, WAIT.importWithFault);
  t.diagnostic(`searchd of ${n1.name} killed during the build: ${end.state} in ${Date.now() - started} ms; ${steps(end)}`);
  await platform.waitForNode(n1.name, (s) => s.phase === 'running' && s.searchdPid !== pidBefore, WAIT.restarted, 'searchd restarted');
  await checkOutcome(end, 20_000, 'searchd killed during the build');
});

test("a node's searchd SIGKILLed during the IMPORT phase: retried until it is back, or failed with the old data", { timeout: WAIT.importWithFault + WAIT.healed }, async (t) => {
  const [, , n2] = nodes as [NodeRef, NodeRef, NodeRef];
  writeCsv(csv('import-kill.csv'), 5_000, 'ik', writeFileSync);
  const started = Date.now();
  const id = await request(csv('import-kill.csv'));
  await waitFor(() => stepRunning(id, 'import on every node'), 'form', 'the IMPORT step runs', { factor: WAIT.step / timeoutMs('form'), intervalMs: 5 });
  const pidBefore = platform.nodeStatus(n2.name).searchdPid;
  assert.ok(platform.killNode(n2.name, 'SIGKILL', 'searchd') !== undefined, `${n2.name}'s searchd was signalled`);
  const end = await waitEnd(id, WAIT.importWithFault);
  t.diagnostic(`searchd of ${n2.name} killed during IMPORT: ${end.state} in ${Date.now() - started} ms; ${steps(end)}`);
  await platform.waitForNode(n2.name, (s) => s.phase === 'running' && s.searchdPid !== pidBefore, WAIT.restarted, 'searchd restarted');
  await checkOutcome(end, 5_000, 'searchd killed during IMPORT');
});

test('the agent running the build SIGKILLed mid-build: the build is started again (generation 2) and the import finishes', { timeout: WAIT.importWithFault + WAIT.healed }, async (t) => {
  const [n0] = nodes as [NodeRef, NodeRef, NodeRef];
  writeCsv(csv('agent-kill.csv'), BIG_ROWS, 'ak', writeFileSync);
  const started = Date.now();
  const id = await request(csv('agent-kill.csv'));
  const agent = new AgentClient({ baseUrl: n0.agentUrl, token: TOKEN });
  const jobId = `${id}:${n0.name}:build-main`;
  // the job exists on the agent and runs
  await waitFor(
    async () => {
      try {
        return (await agent.job(jobId)).state === 'running';
      } catch {
        return false;
      }
    },
    'form',
    'the build job runs on the agent',
    { factor: WAIT.step / timeoutMs('form'), intervalMs: 20 },
  );
  const agentPid = platform.nodeStatus(n0.name).agentPid;
  assert.ok(platform.killNode(n0.name, 'SIGKILL', 'agent') !== undefined, `${n0.name}'s agent was signalled`);
  const end = await waitEnd(id, WAIT.importWithFault);
  t.diagnostic(`agent of ${n0.name} killed mid-build: ${end.state} in ${Date.now() - started} ms; ${steps(end)}`);
  await platform.waitForNode(n0.name, (s) => s.agentPid !== undefined && s.agentPid !== agentPid, WAIT.restarted, 'agent restarted');
  let first: string;
  try {
    const j = await agent.job(jobId);
    first = `${j.state}${j.error ? ` (${j.error})` : ''}`;
  } catch (err) {
    first = `unknown to the restarted agent (${errorMessage(err)})`;
  }
  let second: string;
  try {
    second = (await agent.job(`${jobId}.2`)).state;
  } catch (err) {
    second = `none (${errorMessage(err)})`;
  }
  t.diagnostic(`build generation 1: ${first}; generation 2: ${second}`);
  if (end.state === 'succeeded') assert.equal(second, 'succeeded', `the build ran again as generation 2 (generation 1: ${first})`);
  await checkOutcome(end, BIG_ROWS, 'agent killed mid-build');
});

/** Samples the table's MixedSlots condition until stopped: the first True message, if any. */
function mixedSlotsSampler() {
  let stop = false;
  let seen: string | undefined;
  const done = (async () => {
    while (!stop) {
      const c = stack.status.table(TABLE)?.conditions.find((x) => x.type === 'MixedSlots');
      if (c?.status === 'True') seen ??= c.message;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    seen: () => seen,
    async stop() {
      stop = true;
      await done;
    },
  };
}

test('a node paused during the flip and resumed: the flip waits for it and rolls forward', { timeout: WAIT.importWithFault + WAIT.healed }, async (t) => {
  const [, n1] = nodes as [NodeRef, NodeRef, NodeRef];
  writeCsv(csv('flip-pause.csv'), 700, 'fp', writeFileSync);
  const started = Date.now();
  const id = await request(csv('flip-pause.csv'));
  const mixed = mixedSlotsSampler();
  await waitFor(() => stepRunning(id, 'flip'), 'form', 'the flip step runs', { factor: WAIT.step / timeoutMs('form'), intervalMs: 2 });
  await httpPost(n1, '/sim/pause');
  let outcomeWhilePaused: string | undefined;
  try {
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    outcomeWhilePaused = op(id)?.state;
  } finally {
    await httpPost(n1, '/sim/resume');
  }
  const end = await waitEnd(id, WAIT.importWithFault);
  await mixed.stop();
  t.diagnostic(`${n1.name} paused ${PAUSE_MS} ms during the flip: ${end.state} in ${Date.now() - started} ms (state at resume: ${outcomeWhilePaused}); ${steps(end)}; MixedSlots: ${mixed.seen() ?? 'never reported (the paused node cannot be observed)'}`);
  assert.equal(outcomeWhilePaused, 'running', 'the import waited for the paused node (no roll-back before the flip deadline)');
  assert.equal(end.state, 'succeeded', `rolled forward: ${end.error ?? ''} ${steps(end)}`);
  await checkOutcome(end, 700, 'node paused during the flip');
});

test("a node's flip fails (paused, then SIGKILLed) and it comes back on the old slot: MixedSlots while the nodes differ, then rolled forward", { timeout: WAIT.importWithFault + WAIT.healed }, async (t) => {
  const [n0, n1] = nodes as [NodeRef, NodeRef, NodeRef];
  const oldSlot = current.slot;
  writeCsv(csv('flip-kill.csv'), 900, 'fk', writeFileSync);
  const started = Date.now();
  const id = await request(csv('flip-kill.csv'));
  const mixed = mixedSlotsSampler();
  await waitFor(() => stepRunning(id, 'flip'), 'form', 'the flip step runs', { factor: WAIT.step / timeoutMs('form'), intervalMs: 2 });
  // holds node1's flip (its statements wait while paused)...
  await httpPost(n1, '/sim/pause');
  // ...the others flip meanwhile: the flip step stays on node1
  const otherFlipped = await waitFor(async () => (await observeWorld(stack.pools, [n0], TABLE))[0]?.served[0] !== oldSlot, 'replicate', `${n0.name} flipped`);
  const heldOnNode1 = op(id)?.steps.at(-1)?.name === 'flip' && op(id)?.steps.at(-1)?.state === 'running';
  // ...then its searchd dies under the flip: it comes back (restarted by the platform) on the old slot
  const pidBefore = platform.nodeStatus(n1.name).searchdPid;
  assert.ok(platform.killNode(n1.name, 'SIGKILL', 'searchd') !== undefined, `${n1.name}'s searchd was signalled`);
  const end = await waitEnd(id, WAIT.importWithFault);
  await mixed.stop();
  await platform.waitForNode(n1.name, (s) => s.phase === 'running' && s.searchdPid !== pidBefore, WAIT.restarted, 'searchd restarted');
  t.diagnostic(
    `${n1.name} paused then killed during the flip (held there: ${heldOnNode1}, ${n0.name} flipped: ${otherFlipped}): ${end.state} in ${Date.now() - started} ms; ${steps(end)}; MixedSlots: ${mixed.seen() ?? 'never reported'}`,
  );
  assert.equal(end.state, 'succeeded', `rolled forward: ${end.error ?? ''} ${steps(end)}`);
  // MixedSlots comes from observation: the window between node1 answering again (old slot) and the
  // flip retry reaching it can fall between two table passes, so it is reported, not asserted
  await checkOutcome(end, 900, 'node failed during the flip');
});

async function httpPost(n: NodeRef, p: string): Promise<void> {
  const res = await fetch(`http://${n.httpAddress}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.ok(res.ok, `POST ${p} on ${n.name}: ${res.status}`);
}
