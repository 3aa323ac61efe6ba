/**
 * `npm run bench -- scale`: the controller's cost with many nodes and tables, on the simulator.
 *
 * BENCH_SCALE_NODES (10) simulator nodes with their agents run under a LocalPlatform in this process;
 * the controller runs as its own process (PLATFORM=static, NODES naming them) so its RSS and CPU are its
 * own, with BENCH_SCALE_TABLES (200) table specs. Measured:
 *   - controller start → every table converged (GET /api/tables: TablesConverged=True for all);
 *   - one reconcile pass at rest: the cluster key's passes (debug lines `reconcile pass done`) during a
 *     minute at rest; each observes every node and checks every table against it (table passes run only
 *     for tables whose presence, cluster state or spec moved: their count in that minute is noted);
 *   - a full re-read: from POST /api/reconcile (debug line `full reconcile requested`) until every table
 *     key has finished a pass that started after it, over >= BENCH_RUNS waves (no target: every table's
 *     statements on every node, bounded by the simulators sharing this machine's cores);
 *   - then with the controller restarted at LOG_LEVEL=warn (as in production): CPU at rest over
 *     BENCH_RUNS windows of BENCH_SCALE_IDLE_S / BENCH_RUNS seconds (utime+stime from /proc, % of one core),
 *     RSS (VmRSS, sampled every second), and GET /api/tables latency (BENCH_RUNS rounds of 200 sequential
 *     requests; p50 and p99 per round).
 * BENCH_CONTROLLER_NODE_ARGS are node flags of the controller process only (e.g. `--cpu-prof --cpu-prof-dir=DIR`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalPlatform } from '../../src/platform/local/local-platform.js';
import type { NodeRef } from '../../src/platform/types.js';
import { repoRoot, resolveBinaries } from '../../src/sim/launcher.js';
import { Figures, freePort, quantile, sleep, waitFor } from '../lib/stats.js';
import { stopChild } from '../lib/child.js';

const CLUSTER = 'scale';
const TOKEN = 'bench-scale-token-0123456789abcdef';
const LIMIT = { nodes: 120_000, converged: 30 * 60_000, api: 60_000, waves: 10 * 60_000, exit: 20_000 };
const API_REQUESTS_PER_ROUND = 200;
const TICKS_PER_S = 100;
/** pseudo key of the controller's `full reconcile requested` lines (POST /api/reconcile: a full wave starts) */
const RESYNC_KEY = 'full-reconcile';

interface PassLine {
  key: string;
  start: number;
  end: number;
}

class Controller {
  child: ChildProcess | undefined;
  readonly logFile: string;

  constructor(
    private readonly dir: string,
    private readonly specsDir: string,
    private readonly nodes: NodeRef[],
    readonly port: number,
  ) {
    this.logFile = path.join(dir, 'controller.log');
  }

  start(logLevel: string): void {
    const nodes = this.nodes.map((n) => ({ name: n.name, mysql: `${n.mysql.host}:${n.mysql.port}`, api: n.apiAddress, http: n.httpAddress, agent: n.agentUrl }));
    const env: NodeJS.ProcessEnv = { ...process.env, ORCHESTRATOR_TOKEN: TOKEN, PLATFORM: 'static', NODES: JSON.stringify(nodes), LOG_FORMAT: 'json', LOG_LEVEL: logLevel };
    for (const k of ['TABLES_CONFIG', 'AUTH_TOKEN', 'ORCHESTRATOR_DATA_DIR', 'DATA_DIR', 'RESYNC_INTERVAL', 'NODE_OPTIONS']) delete env[k];
    writeFileSync(this.logFile, '');
    const fd = openSync(this.logFile, 'a');
    const script = path.join(repoRoot(), 'dist', 'src', 'bin', 'controller.js');
    // profiling: BENCH_CONTROLLER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' (node flags of the controller only)
    const nodeArgs = (process.env.BENCH_CONTROLLER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    this.child = spawn(process.execPath, [...nodeArgs, script, '--data-dir', path.join(this.dir, 'data'), '--specs-dir', this.specsDir, '--cluster', CLUSTER, '--port', String(this.port)], { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    await stopChild(c, LIMIT.exit);
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('bench: the controller is not running');
    return pid;
  }

  /** Throws when the controller process is gone (so a wait fails at once instead of at its limit). */
  checkAlive(): void {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) throw new Error(`bench: the controller exited (${c?.exitCode ?? c?.signalCode ?? 'not started'}): see ${this.logFile}`);
  }

  async post(route: string): Promise<{ status: number; body: unknown }> {
    this.checkAlive();
    const r = await fetch(`http://127.0.0.1:${this.port}${route}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    return { status: r.status, body: await r.json() };
  }

  async get(route: string): Promise<{ status: number; body: unknown }> {
    this.checkAlive();
    const r = await fetch(`http://127.0.0.1:${this.port}${route}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: r.status, body: await r.json() };
  }

  passes(): PassLine[] {
    const out: PassLine[] = [];
    for (const line of readFileSync(this.logFile, 'utf8').split('\n')) {
      if (line.includes('"full reconcile requested"')) {
        // POST /api/reconcile queued the cluster key and every table key: a full wave starts here
        try {
          const e = JSON.parse(line) as { timestamp?: string };
          if (typeof e.timestamp === 'string') out.push({ key: RESYNC_KEY, start: Date.parse(e.timestamp), end: Date.parse(e.timestamp) });
        } catch {
          // a line cut short
        }
        continue;
      }
      if (!line.includes('"reconcile pass done"')) continue;
      try {
        const e = JSON.parse(line) as { key?: string; durationMs?: number; timestamp?: string };
        if (typeof e.key !== 'string' || typeof e.durationMs !== 'number' || typeof e.timestamp !== 'string') continue;
        const end = Date.parse(e.timestamp);
        out.push({ key: e.key, start: end - e.durationMs, end });
      } catch {
        // a line cut short
      }
    }
    return out;
  }
}

/** The controller's V8 heap in use, from its own /metrics (prom-client's default series). */
async function heapUsedMiB(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const m = /^manticore_orchestrator_nodejs_heap_size_used_bytes (\S+)/m.exec(text);
  return m ? Number(m[1]) / 2 ** 20 : Number.NaN;
}

/** Table passes the controller has run (its /metrics counter, any outcome). */
async function tablePassCount(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  let n = 0;
  for (const m of text.matchAll(/^manticore_orchestrator_reconcile_passes_total\{[^}]*kind="table"[^}]*\} (\S+)/gm)) n += Number(m[1]);
  return n;
}

/** CPU seconds (user + system) and RSS bytes of a process, from /proc. */
function procSample(pid: number): { cpuS: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS, rss: Number(m?.[1] ?? 0) * 1024 };
}

/**
 * Full waves from the pass lines: for each line of `startKey` (at S: the controller queued every
 * table key), the time until every table key has ended a pass that started at or after S. Only waves
 * that completed before the log ends count.
 */
export function fullWaves(lines: readonly PassLine[], startKey: string, tableKeys: readonly string[]): number[] {
  const clusterStarts = lines.filter((l) => l.key === startKey).map((l) => l.start).sort((a, b) => a - b);
  const byKey = new Map<string, PassLine[]>();
  for (const l of lines) {
    if (l.key === startKey) continue;
    let list = byKey.get(l.key);
    if (!list) byKey.set(l.key, (list = []));
    list.push(l);
  }
  const waves: number[] = [];
  for (const s of clusterStarts) {
    let last = 0;
    let complete = true;
    for (const k of tableKeys) {
      const first = (byKey.get(k) ?? []).filter((l) => l.start >= s).sort((a, b) => a.end - b.end)[0];
      if (!first) {
        complete = false;
        break;
      }
      last = Math.max(last, first.end);
    }
    if (complete) waves.push(last - s);
  }
  return waves;
}

export async function benchScale(root: string, runs: number, log: (line: string) => void): Promise<string[]> {
  const nodeCount = Number(process.env.BENCH_SCALE_NODES ?? 10);
  const tableCount = Number(process.env.BENCH_SCALE_TABLES ?? 200);
  const idleS = Number(process.env.BENCH_SCALE_IDLE_S ?? 60);
  const f = new Figures();
  const specsDir = path.join(root, 'specs');
  mkdirSync(specsDir, { recursive: true });
  const tables = Array.from({ length: tableCount }, (_, i) => `t${String(i).padStart(3, '0')}`);
  for (const t of tables) writeFileSync(path.join(specsDir, `${t}.json`), JSON.stringify({ name: t, columns: [{ name: 'title', type: 'text' }, { name: 'price', type: 'float' }] }));

  // the simulator's membership timing as real Manticore's Galera has it (keepalive 1 s, eviction ~6.5 s
  // measured on 15.1.0; a peer is heard by any answer within that time) instead of its fast test
  // defaults: ten nodes heartbeating every 200 ms with 500 ms to answer, on two cores beside the
  // controller, evicted each other and lost their primary component
  const simEnv = { SIM_HEARTBEAT_MS: '1000', SIM_HEARTBEAT_TIMEOUT_MS: '3000', SIM_EVICT_MS: '6500', ...process.env };
  const platform = new LocalPlatform({ dataDir: path.join(root, 'nodes'), nodes: nodeCount, binaries: resolveBinaries({}), token: TOKEN, clusterName: CLUSTER, env: simEnv, logger: silentLogger() });
  const port = await freePort();
  let running: Controller | undefined;
  const notes: string[] = [];
  try {
    log(`scale: starting ${nodeCount} simulator nodes`);
    let t0 = performance.now();
    await platform.start();
    const nodes = [...(await platform.listNodes())].sort((a, b) => a.ordinal - b.ordinal);
    for (const n of nodes) await platform.waitForNode(n.name, (s) => s.phase === 'running', LIMIT.nodes, 'node running');
    notes.push(`${nodeCount} nodes (searchd + agent each) running in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const ctrl = new Controller(root, specsDir, nodes, port);
    running = ctrl;

    // phase A: debug lines for the pass figures
    log(`scale: controller with ${tableCount} tables (LOG_LEVEL=debug)`);
    t0 = performance.now();
    ctrl.start('debug');
    const converged = async () => {
      const r = await ctrl.get('/api/tables');
      const list = (r.body as { data?: { name: string; conditions?: { type: string; status: string }[] }[] }).data ?? [];
      return list.length === tableCount && list.every((t) => t.conditions?.some((c) => c.type === 'TablesConverged' && c.status === 'True'));
    };
    await waitFor(converged, 'every table converged', LIMIT.converged, 1_000, () => ctrl.checkAlive());
    f.add(`controller start → ${tableCount} tables converged on ${nodeCount} nodes`, (performance.now() - t0) / 1000, { unit: 's', digits: 1 });
    const clusterKey = `cluster/${CLUSTER}`;
    const tableKeys = tables.map((t) => `table/${CLUSTER}/${t}`);
    // at rest the periodic resync skips quiet tables, so a full pass is asked for: POST /api/reconcile
    // queues the cluster key and every table key, each read in full on every node
    const wavesFrom = Date.now();
    const wanted = Math.max(5, runs);
    for (let i = 0; i < wanted; i++) {
      const before = fullWaves(ctrl.passes().filter((l) => l.start >= wavesFrom), RESYNC_KEY, tableKeys).length;
      const r = await ctrl.post('/api/reconcile');
      if (r.status !== 202) throw new Error(`bench: POST /api/reconcile answered ${r.status}`);
      await waitFor(() => fullWaves(ctrl.passes().filter((l) => l.start >= wavesFrom), RESYNC_KEY, tableKeys).length > before, `full reconcile wave ${i + 1}`, LIMIT.waves, 200, () => ctrl.checkAlive());
      await sleep(1_000);
    }
    const waves = fullWaves(ctrl.passes().filter((l) => l.start >= wavesFrom), RESYNC_KEY, tableKeys);
    // then the periodic resync at rest, for a minute: each cluster pass observes every node and checks
    // every table against what it saw (presence, cluster state, spec); a table is read again only
    // when something it depends on moved. That pass is the controller's full reconcile pass at rest.
    const restFrom = Date.now();
    await sleep(60_000);
    const restLines = ctrl.passes().filter((l) => l.start >= restFrom);
    const restPasses = restLines.filter((l) => l.key.startsWith('table/')).length;
    for (const l of restLines.filter((x) => x.key === clusterKey)) {
      f.add(`one reconcile pass at rest: ${nodeCount} nodes observed, ${tableCount} tables checked (periodic resync)`, l.end - l.start, { target: { op: '<', value: 1000 } });
    }
    for (const w of waves) f.add(`full re-read (POST /api/reconcile): every table's SQL on every node, ${tableCount} table keys`, w);
    notes.push(`at rest, table passes in the minute after the full waves: ${restPasses} (of ${tableCount} tables; quiet tables are skipped until their deep resync)`);
    const atRest = ctrl.passes().filter((l) => l.start >= wavesFrom && l.start < restFrom);
    const tablePasses = atRest.filter((l) => l.key.startsWith('table/')).map((l) => l.end - l.start).sort((a, b) => a - b);
    const clusterPasses = atRest.filter((l) => l.key === clusterKey).map((l) => l.end - l.start).sort((a, b) => a - b);
    notes.push(`pass durations during the full waves: cluster key p50 ${quantile(clusterPasses, 0.5)} ms (n=${clusterPasses.length}), table key p50 ${quantile(tablePasses, 0.5)} ms, p99 ${quantile(tablePasses, 0.99)} ms (n=${tablePasses.length})`);
    await ctrl.stop();

    // phase B: production log level; idle CPU, RSS, API latency
    log('scale: controller restarted with LOG_LEVEL=warn; idle CPU and RSS');
    ctrl.start('warn');
    await waitFor(converged, 'every table converged after the restart', LIMIT.converged, 1_000, () => ctrl.checkAlive());
    // at rest: the restart reads every table once; wait until no table pass ran for 10 s
    let lastCount = await tablePassCount(ctrl.port);
    let quietSince = performance.now();
    await waitFor(
      async () => {
        const n = await tablePassCount(ctrl.port);
        if (n !== lastCount) {
          lastCount = n;
          quietSince = performance.now();
        }
        return performance.now() - quietSince >= 10_000;
      },
      'no table pass for 10 s after the restart',
      LIMIT.converged,
      1_000,
      () => ctrl.checkAlive(),
    );
    const pid = ctrl.pid;
    const windowS = idleS / Math.max(1, runs);
    const rss: number[] = [];
    const heap: number[] = [];
    for (let i = 0; i < Math.max(1, runs); i++) {
      const a = procSample(pid);
      const ta = performance.now();
      for (let s = 0; s < windowS; s++) {
        await sleep(1_000);
        rss.push(procSample(pid).rss);
      }
      const b = procSample(pid);
      heap.push(await heapUsedMiB(ctrl.port));
      const cpuPct = ((b.cpuS - a.cpuS) / ((performance.now() - ta) / 1000)) * 100;
      f.add('controller CPU at rest (% of one core; utime+stime over the window)', cpuPct, { unit: '%', digits: 2, target: { op: '<', value: 2 } });
    }
    for (const r of rss) f.add('controller RSS at rest (VmRSS, sampled every second)', r / 2 ** 20, { unit: 'MiB', digits: 0, target: { op: '<', value: 200 } });
    const perWindow = Math.max(1, Math.floor(rss.length / Math.max(1, runs)));
    const windowMedian = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5) / 2 ** 20;
    notes.push(`RSS at rest by window (median MiB, in order): ${Array.from({ length: Math.max(1, runs) }, (_, i) => windowMedian(rss.slice(i * perWindow, (i + 1) * perWindow)).toFixed(0)).join(', ')}`);
    const sortedHeap = [...heap].sort((a, b) => a - b);
    notes.push(`V8 heap used at rest (GET /metrics, end of each CPU window): median ${quantile(sortedHeap, 0.5).toFixed(0)} MiB (${sortedHeap[0]?.toFixed(0)}–${sortedHeap[sortedHeap.length - 1]?.toFixed(0)} MiB)`);

    log('scale: GET /api/tables latency');
    for (let round = 0; round < Math.max(1, runs); round++) {
      const lat: number[] = [];
      for (let i = 0; i < API_REQUESTS_PER_ROUND; i++) {
        const s = performance.now();
        const r = await fetch(`http://127.0.0.1:${ctrl.port}/api/tables`, { headers: { authorization: `Bearer ${TOKEN}` } });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`bench: GET /api/tables answered ${r.status}`);
        lat.push(performance.now() - s);
      }
      lat.sort((a, b) => a - b);
      f.add(`GET /api/tables (${tableCount} tables × ${nodeCount} nodes) p50`, quantile(lat, 0.5), { digits: 1 });
      f.add(`GET /api/tables (${tableCount} tables × ${nodeCount} nodes) p99`, quantile(lat, 0.99), { digits: 1, target: { op: '<', value: 50 } });
    }
    const size = (await fetch(`http://127.0.0.1:${ctrl.port}/api/tables`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.arrayBuffer())).byteLength;
    notes.push(`GET /api/tables answers ${(size / 1024).toFixed(0)} KiB; ${API_REQUESTS_PER_ROUND} sequential requests per round`);
  } finally {
    await running?.stop();
    await platform.stop();
  }
  return [
    `## Scale (${nodeCount} simulator nodes × ${tableCount} tables: median, min–max)`,
    '',
    'The controller is its own process (PLATFORM=static); the nodes (searchd simulator + agent each) run under a',
    'LocalPlatform in the bench process, on the same machine. Passes and waves are read from the controller\'s',
    'debug lines; CPU, RSS and API latency are measured after a restart at LOG_LEVEL=warn. The pass at rest is the',
    'periodic resync: the cluster key observes every node and checks every table; a table is read again only when',
    'its presence, the cluster state or its spec moved. The full re-read (POST /api/reconcile) reads every table on',
    'every node; with 10 simulators and their agents on the same 2 cores it is bounded by their CPU.',
    '',
    ...f.table(),
    '',
    ...notes.map((n) => `- ${n}`),
  ];
}
