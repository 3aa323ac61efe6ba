/**
 * `npm run bench -- api-load` (issue 6 item 5): 200 concurrent API clients polling GET /api/status,
 * /api/tables and /api/cluster while a blue/green import and a backup run, on a 3-node local
 * simulator stack.
 *
 * The controller runs as its own process (`dist/src/bin/controller.js --nodes 3`, the local platform:
 * it spawns the simulator nodes and agents), so the clients in this process do not share its event
 * loop. Each client sends one request, waits for the whole answer, pauses BENCH_API_LOAD_PAUSE_MS
 * (default 250 ms: a polling UI), and goes on with the next route (status → tables → cluster). One
 * round: load starts, POST /api/import of `products` (BENCH_API_LOAD_ROWS CSV rows) and POST
 * /api/backup of `logs` (delta) are sent together, the load goes on until both operations ended, then
 * stops. BENCH_RUNS rounds (default 5) on the same stack; figures are per round, medians over rounds.
 * An error is any answer other than 200 or a failed request. Keep-alive connections (one per client).
 *
 *   BENCH_API_LOAD_BASELINE_S=5 (the load alone first, measured apart)
 *   BENCH_API_LOAD_CLIENTS=200  BENCH_API_LOAD_PAUSE_MS=250  BENCH_API_LOAD_ROWS=200000  BENCH_RUNS=5
 *   BENCH_API_LOAD_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'   node flags of the controller process
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../src/sim/launcher.js';
import { freePort } from '../test/helpers/controller-process.js';
import { stopChild } from './lib/child.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

async function waitFor(probe: () => Promise<boolean>, what: string, limitMs: number, everyMs: number): Promise<void> {
  const t0 = performance.now();
  while (!(await probe().catch(() => false))) {
    if (performance.now() - t0 > limitMs) throw new Error(`bench: ${what} did not happen within ${limitMs} ms`);
    await sleep(everyMs);
  }
}

/** Figures over rounds: median, min–max and the target (judged on the median). */
class Figures {
  private readonly rows = new Map<string, { unit: string; digits: number; target?: { op: '<' | '<='; value: number }; samples: number[] }>();

  add(name: string, value: number, o: { unit?: string; digits?: number; target?: { op: '<' | '<='; value: number } } = {}): void {
    let row = this.rows.get(name);
    if (!row) this.rows.set(name, (row = { unit: o.unit ?? 'ms', digits: o.digits ?? 0, samples: [], ...(o.target ? { target: o.target } : {}) }));
    row.samples.push(value);
  }

  table(): string[] {
    const out = ['| figure | median | min–max (runs) | target |', '|---|---:|---:|---|'];
    for (const [name, r] of this.rows) {
      const s = [...r.samples].sort((a, b) => a - b);
      const median = quantile(s, 0.5);
      const f = (v: number) => `${v.toFixed(r.digits)}${r.unit === '' ? '' : ` ${r.unit}`}`;
      const t = r.target;
      const met = t === undefined ? undefined : t.op === '<' ? median < t.value : median <= t.value;
      const target = t === undefined ? '' : `${t.op} ${t.value}${r.unit === '' ? '' : ` ${r.unit}`} ${met ? '(met)' : '(NOT met)'}`;
      out.push(`| ${name} | ${f(median)} | ${f(s[0] ?? NaN)}–${f(s[s.length - 1] ?? NaN)} (${s.length}) | ${target} |`);
    }
    return out;
  }
}

const TOKEN = 'bench-api-load-token-0123456789abcdef';
const CLUSTER = 'apiload';
const ROUTES = ['/api/status', '/api/tables', '/api/cluster'] as const;
/** load before anything is measured (connections opened, first answers) */
const WARMUP_MS = 3_000;
const LIMIT = { converged: 180_000, operation: 600_000, exit: 20_000 };

interface Answer {
  status: number;
  body: string;
}

function request(agent: http.Agent, port: number, method: string, route: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: route,
        agent,
        headers: { authorization: `Bearer ${TOKEN}`, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

class Stack {
  private child: ChildProcess | undefined;
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  constructor(
    readonly root: string,
    readonly port: number,
  ) {}

  start(): void {
    const env: NodeJS.ProcessEnv = { ...process.env, ORCHESTRATOR_TOKEN: TOKEN, LOG_FORMAT: 'json', LOG_LEVEL: 'warn' };
    for (const k of ['TABLES_CONFIG', 'AUTH_TOKEN', 'ORCHESTRATOR_DATA_DIR', 'DATA_DIR', 'PLATFORM', 'NODES', 'BACKUP_BUCKET', 'BACKUP_PROVIDER']) delete env[k];
    const fd = openSync(path.join(this.root, 'controller.log'), 'a');
    const script = path.join(repoRoot(), 'dist', 'src', 'bin', 'controller.js');
    const args = [script, '--data-dir', path.join(this.root, 'data'), '--specs-dir', path.join(this.root, 'specs'), '--nodes', '3', '--cluster', CLUSTER, '--port', String(this.port)];
    // BENCH_API_LOAD_NODE_ARGS: node flags for the controller, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'
    const nodeArgs = (process.env.BENCH_API_LOAD_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    this.child = spawn(process.execPath, [...nodeArgs, ...args], { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    const c = this.child;
    this.child = undefined;
    await stopChild(c, LIMIT.exit);
  }

  /** CPU seconds (user + system) the controller process has used so far */
  cpuSeconds(): number {
    const pid = this.child?.pid;
    if (pid === undefined) return NaN;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  async call(method: string, route: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const r = await request(this.agent, this.port, method, route, body);
    return { status: r.status, json: r.body === '' ? undefined : (JSON.parse(r.body) as unknown) };
  }

  async operationEnded(id: string): Promise<string | undefined> {
    const r = await this.call('GET', `/api/operations/${encodeURIComponent(id)}`);
    const state = (r.json as { data?: { state?: string } }).data?.state;
    return state === 'running' || state === 'pending' || state === undefined ? undefined : state;
  }
}

interface RoundResult {
  /** controller CPU (user + system, ms) per answered request while no operation ran */
  baselineCpuPerRequestMs: number;
  /** the machine's 1-minute load average at the end of the round */
  load: number;
  /** GET /api/tables latencies before the operations were requested */
  baseline: number[];
  /** when (ms into the round) the slowest requests started, and how long they took */
  slowest: string;
  requests: number;
  errors: number;
  latencies: Record<(typeof ROUTES)[number], number[]>;
  durationMs: number;
  importState: string;
  backupState: string;
  firstErrors: string[];
}

async function round(stack: Stack, clients: number, pauseMs: number, baselineMs: number): Promise<RoundResult> {
  const roundStart = performance.now();
  const latencies = { '/api/status': [] as number[], '/api/tables': [] as number[], '/api/cluster': [] as number[] };
  let requests = 0;
  let errors = 0;
  const firstErrors: string[] = [];
  let stop = false;
  let phase: 'warmup' | 'baseline' | 'operations' = 'warmup';
  const baseline: number[] = [];
  const slow: { at: number; ms: number; route: string }[] = [];
  const agents = Array.from({ length: clients }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const client = async (i: number): Promise<void> => {
    const agent = agents[i]!;
    let k = i % ROUTES.length;
    // spread the first requests over one pause
    await sleep(Math.floor((pauseMs * i) / clients));
    while (!stop) {
      const route = ROUTES[k % ROUTES.length]!;
      k += 1;
      const t0 = performance.now();
      // a request belongs to the phase it started in
      const started = phase;
      try {
        const r = await request(agent, stack.port, 'GET', route);
        const ms = performance.now() - t0;
        if (started === 'warmup') {
          // not measured: connections being opened
        } else if (started === 'baseline') {
          if (route === '/api/tables') baseline.push(ms);
        } else {
          latencies[route].push(ms);
          if (ms > 100) slow.push({ at: t0 - roundStart, ms, route });
        }
        if (r.status !== 200 && started !== 'warmup') {
          errors += 1;
          if (firstErrors.length < 5) firstErrors.push(`${route} ${r.status} ${r.body.slice(0, 120)}`);
        }
      } catch (err) {
        errors += 1;
        if (firstErrors.length < 5) firstErrors.push(`${route} ${err instanceof Error ? err.message : String(err)}`);
      }
      requests += 1;
      if (pauseMs > 0) await sleep(pauseMs);
    }
  };
  const running = Array.from({ length: clients }, (_, i) => client(i));
  await sleep(WARMUP_MS);
  phase = 'baseline';
  const baseCpu0 = stack.cpuSeconds();
  const baseRequests0 = requests;
  await sleep(baselineMs);
  const baselineCpuPerRequestMs = ((stack.cpuSeconds() - baseCpu0) * 1000) / Math.max(1, requests - baseRequests0);
  phase = 'operations';
  const t0 = performance.now();
  const imp = await stack.call('POST', '/api/import', { table: 'products' });
  const bak = await stack.call('POST', '/api/backup', { tableName: 'logs', type: 'delta' });
  if (imp.status !== 202) throw new Error(`bench: import refused: ${imp.status} ${JSON.stringify(imp.json)}`);
  if (bak.status !== 202) throw new Error(`bench: backup refused: ${bak.status} ${JSON.stringify(bak.json)}`);
  const importId = String((imp.json as { data: { id: string } }).data.id);
  const backupId = String((bak.json as { commandId: string }).commandId);
  let importState: string | undefined;
  let backupState: string | undefined;
  await waitFor(
    async () => {
      importState ??= await stack.operationEnded(importId);
      backupState ??= await stack.operationEnded(backupId);
      return importState !== undefined && backupState !== undefined;
    },
    'the import and the backup end',
    LIMIT.operation,
    500,
  );
  stop = true;
  await Promise.all(running);
  for (const a of agents) a.destroy();
  slow.sort((a, b) => b.ms - a.ms);
  const slowest = slow
    .slice(0, 5)
    .map((x) => `${x.route} at ${(x.at / 1000).toFixed(1)} s took ${x.ms.toFixed(0)} ms`)
    .join(', ');
  return { baselineCpuPerRequestMs, load: os.loadavg()[0] ?? NaN, baseline, slowest: `${slow.length} requests over 100 ms${slowest === '' ? '' : `; slowest: ${slowest}`}`, requests, errors, latencies, durationMs: performance.now() - t0, importState: importState ?? '?', backupState: backupState ?? '?', firstErrors };
}

export async function benchApiLoad(root: string, runs: number, log: (line: string) => void): Promise<string[]> {
  const clients = Number(process.env.BENCH_API_LOAD_CLIENTS ?? 200);
  const pauseMs = Number(process.env.BENCH_API_LOAD_PAUSE_MS ?? 250);
  const rows = Number(process.env.BENCH_API_LOAD_ROWS ?? 200_000);
  const baselineMs = Number(process.env.BENCH_API_LOAD_BASELINE_S ?? 5) * 1000;
  const specs = path.join(root, 'specs');
  const shared = path.join(root, 'data', 'shared');
  mkdirSync(specs, { recursive: true });
  mkdirSync(shared, { recursive: true });
  const columns = [
    { name: 'title', type: 'text' },
    { name: 'price', type: 'float' },
  ];
  writeFileSync(path.join(specs, 'products.json'), JSON.stringify({ name: 'products', columns, import: { source: 'products.csv', header: true } }));
  writeFileSync(path.join(specs, 'logs.json'), JSON.stringify({ name: 'logs', columns }));
  const lines = ['id,title,price'];
  for (let i = 1; i <= rows; i++) lines.push(`${i},product ${i} of the load bench,${(i % 1000) + 0.5}`);
  writeFileSync(path.join(shared, 'products.csv'), `${lines.join('\n')}\n`);

  const stack = new Stack(root, await freePort());
  const f = new Figures();
  const notes: string[] = [];
  try {
    log(`api-load: controller + 3 simulator nodes, ${rows} import rows`);
    stack.start();
    await waitFor(
      async () => {
        const r = await stack.call('GET', '/api/tables');
        const list = (r.json as { data?: { name: string; conditions?: { type: string; status: string }[] }[] }).data ?? [];
        return list.length === 2 && list.every((t) => t.conditions?.some((c) => c.type === 'TablesConverged' && c.status === 'True'));
      },
      'both tables converged',
      LIMIT.converged,
      500,
    );
    const values = Array.from({ length: 500 }, (_, i) => `(${i + 1}, 'log line ${i + 1}', ${i}.5)`).join(', ');
    const ins = await stack.call('POST', '/api/query', { sql: `INSERT INTO ${CLUSTER}:logs_delta (id, title, price) VALUES ${values}`, write: true });
    if (ins.status !== 200) throw new Error(`bench: insert failed: ${JSON.stringify(ins.json)}`);
    for (let i = 0; i < runs; i++) {
      log(`api-load: round ${i + 1}/${runs}: ${clients} clients, pause ${pauseMs} ms`);
      const r = await round(stack, clients, pauseMs, baselineMs);
      const tables = [...r.latencies['/api/tables']].sort((a, b) => a - b);
      const all = [...r.latencies['/api/status'], ...r.latencies['/api/tables'], ...r.latencies['/api/cluster']].sort((a, b) => a - b);
      f.add('error responses (any status but 200, or a failed request)', r.errors, { unit: '', target: { op: '<=', value: 0 } });
      const base = [...r.baseline].sort((a, b) => a - b);
      f.add('no operation running: GET /api/tables p50', quantile(base, 0.5), { digits: 1 });
      f.add('no operation running: GET /api/tables p99', quantile(base, 0.99), { digits: 1 });
      f.add('GET /api/tables p50', quantile(tables, 0.5), { digits: 1 });
      f.add('GET /api/tables p99', quantile(tables, 0.99), { digits: 1, target: { op: '<', value: 100 } });
      f.add('all three routes p99', quantile(all, 0.99), { digits: 1 });
      f.add('no operation running: controller CPU per request (user + system)', r.baselineCpuPerRequestMs, { digits: 2 });
      f.add('requests per second (all clients)', r.requests / (r.durationMs / 1000), { unit: 'req/s' });
      f.add('round length (import and backup running)', r.durationMs / 1000, { unit: 's', digits: 1 });
      notes.push(`round ${i + 1}: load average ${r.load.toFixed(1)} on ${os.cpus().length} CPUs; ${r.requests} requests, ${r.errors} errors, import ${r.importState}, backup ${r.backupState}; ${r.slowest}${r.firstErrors.length > 0 ? `; first errors: ${r.firstErrors.join(' | ')}` : ''}`);
    }
  } finally {
    await stack.stop();
  }
  return [
    `## API under load (${clients} clients, ${runs} rounds: median, min–max)`,
    '',
    `${clients} concurrent clients, each polling GET /api/status, /api/tables and /api/cluster in turn with a ${pauseMs} ms pause after`,
    'each answer (keep-alive, one connection per client), while a blue/green import of `products`',
    `(${rows.toLocaleString('en-US')} CSV rows) and a delta backup of \`logs\` run on a 3-node local simulator stack; the controller`,
    `is its own process (LOG_LEVEL=warn). Each round: 3 s of load unmeasured (connections opened), ${baselineMs / 1000} s measured with no`,
    'operation running, then the import and the backup are requested and measured until both ended (a request counts in the phase it',
    'started in).',
    '',
    ...f.table(),
    '',
    ...notes.map((n) => `- ${n}`),
  ];
}
