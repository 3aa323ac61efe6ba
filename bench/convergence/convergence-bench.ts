/**
 * `npm run bench -- convergence`: how fast the controller forms, notices and repairs, on the simulator.
 * Each run uses a fresh data directory and the whole stack in this process (startStack: the local
 * platform supervising 3 searchd + 3 agents as child processes, the controller, the API), with the
 * default timings a user gets (resync 2 s when Ready, 500 ms otherwise), and one table spec:
 *
 *   1. fresh: startStack → cluster condition Ready=True (and → the table converged on every node);
 *   2. SIGKILL of node2's searchd → the first cluster condition change (Ready→False or Degraded→True);
 *      the local platform restarts searchd through the start gate, as a kubelet would; from the moment
 *      that searchd answers SQL again → node2 synced in the primary component of size 3, Ready=True and
 *      the distributed table answering on node2;
 *   3. full stop (controller, then every node cleanly, as Ctrl-C does) → startStack on the same data
 *      directory → Ready=True with the same cluster UUID.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startStack, type RunningStack } from '../../src/bin/controller.js';
import { loadControllerConfig } from '../../src/config/controller.js';
import { silentLogger } from '../../src/lib/logger.js';
import { ManticorePools } from '../../src/manticore/client.js';
import { parseClusterStatus } from '../../src/manticore/parse.js';
import { selectCount, showAllClusterStatus } from '../../src/manticore/sql.js';
import { LocalPlatform } from '../../src/platform/local/local-platform.js';
import type { NodeRef } from '../../src/platform/types.js';
import type { StatusEvent } from '../../src/status/types.js';
import { Figures, freePort, sleep, waitFor } from '../lib/stats.js';

const CLUSTER = 'bench';
const TABLE = 'products';
const TOKEN = 'bench-convergence-token-0123456789';
/** Named limits (ms): a figure that takes longer fails the run instead of hanging the bench. */
const LIMIT = { ready: 60_000, converged: 60_000, detect: 30_000, answer: 60_000, rejoin: 60_000, restart: 90_000 };

export interface ConvergenceResult {
  figures: Figures;
  sameUuid: number;
  runs: number;
}

/** Ready=True, computed from observations made at or after `since` (epoch ms; the status store persists the last run's). */
function isReady(stack: RunningStack, since = 0): boolean {
  const c = stack.status.cluster();
  if (since > 0 && (c.nodes.length === 0 || c.nodes.some((n) => Date.parse(n.observedAt) < since || n.nodeState !== 'synced'))) return false;
  return c.conditions.some((x) => x.type === 'Ready' && x.status === 'True');
}

function tableConverged(stack: RunningStack): boolean {
  return stack.status.table(TABLE)?.conditions.some((c) => c.type === 'TablesConverged' && c.status === 'True') ?? false;
}

async function start(dir: string, port: number): Promise<RunningStack> {
  const env: NodeJS.ProcessEnv = { ...process.env, ORCHESTRATOR_TOKEN: TOKEN };
  for (const k of ['NODES', 'PLATFORM', 'TABLES_CONFIG', 'DATA_DIR', 'ORCHESTRATOR_DATA_DIR', 'LOCAL_NODES', 'RESYNC_INTERVAL']) delete env[k];
  const config = loadControllerConfig({ env, argv: ['--data-dir', dir, '--port', String(port), '--nodes', '3', '--cluster', CLUSTER] });
  return startStack({ config, token: TOKEN, env, logger: silentLogger() });
}

async function oneRun(dir: string, f: Figures, log: (line: string) => void): Promise<boolean> {
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  writeFileSync(path.join(dir, 'specs', `${TABLE}.json`), JSON.stringify({ name: TABLE, columns: [{ name: 'title', type: 'text' }, { name: 'price', type: 'float' }] }));
  const port = await freePort();
  const pools = new ManticorePools({ connectTimeoutMs: 300, queryTimeoutMs: 2_000 });
  let stack: RunningStack | undefined;
  try {
    // 1. fresh formation
    const t0 = performance.now();
    stack = await start(dir, port);
    const s1 = stack;
    const started = performance.now();
    const fresh = await s1.platform.listNodes();
    const allAnswer = waitFor(
      async () => (await Promise.all(fresh.map((n) => pools.get(`${n.mysql.host}:${n.mysql.port}`).query('SHOW STATUS').then(() => true, () => false)))).every(Boolean),
      'every fresh searchd answering',
      LIMIT.ready,
    );
    const ready = await waitFor(() => isReady(s1), 'fresh cluster Ready', LIMIT.ready);
    const allAnswered = await allAnswer;
    f.add('fresh: 3 new nodes + controller started → Ready (cluster formed, all synced)', ready - t0, { target: { op: '<', value: 5000 } });
    f.add('fresh: of which startStack (spawn nodes + agents, controller, API)', started - t0);
    f.add('fresh: of which node boot (agents up, gate asked, searchd started and answering)', allAnswered - t0);
    f.add('fresh: of which the controller: every searchd answers → Ready (CREATE + 2 JOIN, observed)', ready - allAnswered);
    const converged = await waitFor(() => tableConverged(s1), 'table converged', LIMIT.converged);
    f.add('fresh: → table converged on every node (delta in cluster, main, distributed)', converged - t0);
    await sleep(1_000);

    // 2. SIGKILL of one searchd
    const nodes = [...(await s1.platform.listNodes())].sort((a, b) => a.ordinal - b.ordinal);
    const victim = nodes[2] as NodeRef;
    const sql = pools.get(`${victim.mysql.host}:${victim.mysql.port}`);
    let detectedAt: number | undefined;
    const unsubscribe = s1.status.subscribe((e: StatusEvent) => {
      if (detectedAt !== undefined || e.type !== 'condition' || e.scope !== 'cluster') return;
      if ((e.condition.type === 'Ready' && e.condition.status !== 'True') || (e.condition.type === 'Degraded' && e.condition.status === 'True')) detectedAt = performance.now();
    });
    const tKill = performance.now();
    if (!(s1.platform instanceof LocalPlatform)) throw new Error('bench: the convergence scenario runs the local platform');
    const pid = s1.platform.killNode(victim.name, 'SIGKILL');
    if (pid === undefined) throw new Error(`bench: ${victim.name} has no searchd to kill`);
    await waitFor(() => detectedAt !== undefined, 'the kill detected (cluster condition change)', LIMIT.detect, 5);
    unsubscribe();
    f.add('SIGKILL of 1 searchd of 3 → cluster condition changes (Ready→False / Degraded→True)', (detectedAt as number) - tKill, { target: { op: '<', value: 2000 } });
    // the dead searchd stops answering at once; wait for the restarted one (through the start gate)
    await waitFor(async () => !(await sql.query('SHOW STATUS').then(() => true, () => false)), 'the killed searchd gone', LIMIT.detect);
    const answered = await waitFor(() => sql.query('SHOW STATUS').then(() => true, () => false), 'the restarted searchd answering', LIMIT.answer, 10);
    f.add('SIGKILL → restarted searchd answers (local platform restart through the gate)', answered - tKill);
    const serving = await waitFor(
      async () => {
        const c = parseClusterStatus(await sql.query(showAllClusterStatus()), CLUSTER);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
        if (!isReady(s1)) return false;
        await sql.query(selectCount(TABLE));
        return true;
      },
      'the restarted node synced and serving',
      LIMIT.rejoin,
      10,
    );
    f.add('restarted searchd answers → synced in the primary component, Ready, serving the table', serving - answered, { target: { op: '<', value: 5000 } });
    await sleep(500);

    // 3. full stop and start again
    const uuid = s1.status.cluster().uuid;
    await s1.stop();
    stack = undefined;
    const tRestart = performance.now();
    const restartWall = Date.now();
    stack = await start(dir, port);
    const s2 = stack;
    const back = await waitFor(() => isReady(s2, restartWall), 'Ready after the full stop', LIMIT.restart);
    const same = uuid !== undefined && s2.status.cluster().uuid === uuid;
    f.add('full stop (clean) → stack started again → Ready', back - tRestart);
    log(`  full stop: uuid before ${uuid ?? '?'}, after ${s2.status.cluster().uuid ?? '?'} (${same ? 'same' : 'DIFFERENT'})`);
    return same;
  } finally {
    await stack?.stop().catch(() => undefined);
    await pools.closeAll();
  }
}

export async function benchConvergence(root: string, runs: number, log: (line: string) => void): Promise<ConvergenceResult> {
  const figures = new Figures();
  let sameUuid = 0;
  for (let i = 0; i < runs; i++) {
    log(`convergence run ${i + 1}/${runs}`);
    const dir = path.join(root, `run${i}`);
    if (await oneRun(dir, figures, log)) sameUuid++;
    rmSync(dir, { recursive: true, force: true });
  }
  return { figures, sameUuid, runs };
}
