/**
 * Benchmark runner (`npm run bench` / `make bench`): measures the simulator-backed figures and writes
 * bench/results.md with the machine, each figure's median and spread over the runs, and the target
 * beside it. Nothing here is asserted by the test suite: figures belong here, not in timed tests.
 *
 *   npm run bench [-- <scenario> ...]   the scenarios to run (default: all, in the table's order); a
 *                                       scenario run alone replaces its own section of results.md
 *   npm run bench -- --list             the scenarios
 *
 * Scenarios are the SCENARIOS table below: a name, a line of description, and a function that returns
 * the Markdown lines of its section (bench/lib/stats.ts has Figures for median, min–max and targets).
 * Add a scenario with one line there.
 *
 *   BENCH_RUNS=5 (default)          how many times the cluster, convergence and scale scenarios repeat
 *   BENCH_SCALE_NODES=10, BENCH_SCALE_TABLES=200, BENCH_SCALE_IDLE_S=60   the scale scenario's size
 *   BENCH_IMPORT_ROWS=1000000       rows of the generated import CSV
 *   BENCH_IMPORT_RUNS=5             orchestrated and bare imports each
 *   BENCH_BACKUP_MB=500             MB of table data files to back up
 *   SEARCHD_BIN=...                 measure a real searchd instead of the simulator
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalCluster, isReady, resolveBinaries, sleep } from '../src/sim/launcher.js';
import { benchApiLoad } from './api-load.js';
import { benchBackup } from './backup/backup-bench.js';
import { benchConvergence } from './convergence/convergence-bench.js';
import { benchImport } from './import/import-bench.js';
import { machine, stats } from './lib/stats.js';
import { benchScale } from './scale/scale-bench.js';

interface Figure {
  name: string;
  unit: 'ms';
  target?: string;
  samples: number[];
}

const runs = Number(process.env.BENCH_RUNS ?? 5);
const figures = new Map<string, Figure>();

function record(name: string, value: number, target?: string): void {
  let f = figures.get(name);
  if (!f) {
    f = { name, unit: 'ms', target, samples: [] };
    figures.set(name, f);
  }
  f.samples.push(value);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

async function until(probe: () => Promise<boolean>, what: string, limitMs = 30_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await probe().catch(() => false)) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error(`bench: ${what} did not happen within ${limitMs} ms`);
    await sleep(20);
  }
}

async function allReady(c: LocalCluster, size: number): Promise<boolean> {
  const r = await Promise.all(c.nodes.map((n) => isReady(n, 'c', size)));
  return r.every(Boolean);
}

async function oneRun(dir: string): Promise<void> {
  const c = new LocalCluster({ dir, size: 3 });
  try {
    let t0 = performance.now();
    await c.startAll();
    record('3 nodes started (spawn → SHOW STATUS answers), in parallel', performance.now() - t0);

    t0 = performance.now();
    await c.form('c');
    record('3-node cluster formed (CREATE + 2 JOIN → all primary+synced)', performance.now() - t0, '< 2000 ms');

    await c.node(0).sql("CREATE TABLE t (title text, n int)");
    await c.node(0).sql('ALTER CLUSTER c ADD t');
    const lat: number[] = [];
    for (let i = 1; i <= 200; i++) {
      const s = performance.now();
      await c.node(i % 3).sql(`INSERT INTO c:t (id, title, n) VALUES (${i}, 'doc ${i}', ${i})`);
      lat.push(performance.now() - s);
    }
    lat.sort((a, b) => a - b);
    record('replicated INSERT round trip (new connection each), p50', quantile(lat, 0.5));
    record('replicated INSERT round trip (new connection each), p99', quantile(lat, 0.99));

    const victim = c.node(2);
    await victim.kill('SIGKILL');
    const evict = await until(async () => (await Promise.all([isReady(c.node(0), 'c', 2), isReady(c.node(1), 'c', 2)])).every(Boolean), 'eviction');
    record('SIGKILL of 1 of 3 → survivors report size 2', evict, '< 2000 ms');

    t0 = performance.now();
    await victim.start();
    const answered = performance.now() - t0;
    const rejoin = await until(() => allReady(c, 3), 'rejoin');
    record('restarted node: searchd answers → synced in the primary component', rejoin, '< 5000 ms');
    record('restarted node: spawn → searchd answers', answered);

    // clean full stop, then --new-cluster on the last node to leave
    for (const n of c.nodes) await n.stopWait();
    t0 = performance.now();
    await c.node(2).start(['--new-cluster']);
    await c.node(0).start();
    await c.node(1).start();
    await until(() => allReady(c, 3), 'full restart');
    record('clean full stop → --new-cluster on the last + 2 plain starts → all synced', performance.now() - t0);
  } finally {
    await c.killAll();
  }
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function clusterSection(root: string): Promise<string[]> {
  for (let i = 0; i < runs; i++) {
    log(`cluster run ${i + 1}/${runs}`);
    await oneRun(path.join(root, `run${i}`));
  }
  const lines = [`## Cluster (${runs} runs: median, min–max)`, '', '| figure | median | min–max | target |', '|---|---:|---:|---|'];
  for (const f of figures.values()) {
    const s = stats(f.samples);
    lines.push(`| ${f.name} | ${s.median.toFixed(0)} ms | ${s.min.toFixed(0)}–${s.max.toFixed(0)} ms | ${f.target ?? ''} |`);
  }
  return lines;
}

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

async function importSection(root: string): Promise<string[]> {
  const rows = Number(process.env.BENCH_IMPORT_ROWS ?? 1_000_000);
  const n = Number(process.env.BENCH_IMPORT_RUNS ?? 5);
  const r = await benchImport(root, rows, n, log);
  const a = stats(r.orchestrated);
  const b = stats(r.bare);
  const q = stats(r.ratios);
  const bd = stats(r.build);
  const ratio = a.median / b.median;
  return [
    `## Import (${rows.toLocaleString('en-US')} CSV rows, ${mib(r.csvBytes)}; ${n} runs each: median, min–max)`,
    '',
    'Columns id, title (text), price (float), qty (integer). (a) POST /api/import on a 3-node local simulator stack',
    '(controller + agents + cluster) → flip done on every node (operation figures.flipDoneMs); (b) the same steps by',
    'hand with the same binaries: the generated indexer config → indexer → ATTACH in a temporary plain-mode searchd →',
    'IMPORT TABLE on the 3 nodes (in parallel) → the 3 distributed-table re-pointings.',
    '',
    '| figure | median | min–max | target |',
    '|---|---:|---:|---|',
    `| (a) orchestrated: request → flip done on every node | ${sec(a.median)} | ${sec(a.min)}–${sec(a.max)} | |`,
    `| (a) of which the build step (indexer + attach, agent job) | ${sec(bd.median)} | ${sec(bd.min)}–${sec(bd.max)} | |`,
    `| (b) bare steps by hand | ${sec(b.median)} | ${sec(b.min)}–${sec(b.max)} | |`,
    `| ratio (a)/(b) of the medians | ${ratio.toFixed(3)} | per-run ${q.min.toFixed(3)}–${q.max.toFixed(3)} | <= 1.10 ${ratio <= 1.1 ? '(met)' : '(NOT met)'} |`,
    `| (a) throughput | ${((rows / a.median) * 1000).toFixed(0)} rows/s | | |`,
  ];
}

async function backupSection(root: string): Promise<string[]> {
  const mb = Number(process.env.BENCH_BACKUP_MB ?? 500);
  const r = await benchBackup(root, mb, log);
  const backupRate = r.tableBytes / (r.backupMs / 1000);
  const tarRate = r.tableBytes / (r.tarMs / 1000);
  const ratio = backupRate / tarRate;
  const kib = (k: number) => (k > 0 ? `${(k / 1024).toFixed(0)} MiB` : 'not sampled');
  return [
    `## Backup (one run, ${mib(r.tableBytes)} of table data files, ${r.tableFiles} files)`,
    '',
    'A delta table filled through the cluster with 16 KiB-text rows on a 3-node local simulator stack; POST /api/backup',
    '(backup machine → agent job → manticore-backup → tar.gz streamed through sha256 to S3 = s3rver on loopback, in the',
    'controller process) against `tar czf` of the same table files to local disk. Peak RSS is VmHWM after a reset',
    'through /proc/<pid>/clear_refs just before the backup.',
    '',
    '| figure | value | target |',
    '|---|---:|---|',
    `| backup to S3: request → succeeded | ${sec(r.backupMs)} (${mib(backupRate)}/s of table data) | |`,
    `| tar czf of the same files to local disk | ${sec(r.tarMs)} (${mib(tarRate)}/s; archive ${mib(r.tarBytes)}) | |`,
    `| ratio backup/tar throughput | ${ratio.toFixed(3)} | >= 0.8 ${ratio >= 0.8 ? '(met)' : '(NOT met)'} |`,
    `| archive in S3 | ${r.archiveBytes === undefined ? 'not listed' : mib(r.archiveBytes)} | |`,
    `| peak RSS, controller process (also hosts s3rver) | ${kib(r.peakKiB.controller)} | |`,
    `| peak RSS, agent (max of the 3) | ${kib(r.peakKiB.agent)} | |`,
    `| peak RSS, manticore-backup job process (sampled every 100 ms) | ${kib(r.peakKiB.job)} | |`,
    `| operation step durations | ${r.steps || 'none'} | |`,
    `| filling the table (not part of the figure) | ${sec(r.insertMs)} | |`,
  ];
}

async function convergenceSection(root: string): Promise<string[]> {
  const r = await benchConvergence(root, runs, log);
  return [
    `## Convergence (${r.runs} runs on the simulator: median, min–max)`,
    '',
    'The whole stack in one process (`startStack`: local platform with 3 searchd + 3 agents as child processes,',
    'controller, API) with the default timings (resync 2 s when Ready, 500 ms otherwise), fresh data directory per',
    'run, one table spec. Times are taken from the status store\'s events and SQL probes every 10 ms.',
    `The full stop came back with the same cluster UUID in ${r.sameUuid} of ${r.runs} runs.`,
    '',
    ...r.figures.table(),
  ];
}

async function scaleSection(root: string): Promise<string[]> {
  return benchScale(root, runs, log);
}

/**
 * The scenarios, in the order `npm run bench` runs them. One line each: name (the argument and the
 * section marker in results.md), what it measures, and the function that returns its section's lines.
 */
interface Scenario {
  name: string;
  describe: string;
  run(root: string): Promise<string[]>;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'cluster', describe: 'bare simulator cluster: start, form, replicated INSERT, eviction, rejoin, full restart', run: (root) => clusterSection(root) },
  { name: 'convergence', describe: 'controller on the simulator: fresh → Ready, SIGKILL detected, rejoin, full stop → Ready (same UUID)', run: convergenceSection },
  { name: 'scale', describe: 'controller with 10 nodes × 200 tables: full pass, RSS, idle CPU, GET /api/tables p50/p99', run: scaleSection },
  { name: 'import', describe: 'blue/green import orchestrated vs the bare steps by hand', run: importSection },
  { name: 'backup', describe: 'backup to S3 vs tar czf of the same files', run: backupSection },
  { name: 'api-load', describe: '200 API clients polling status/tables/cluster during an import and a backup: errors, GET /api/tables p50/p99', run: (root) => benchApiLoad(root, runs, log) },
];

function replaceSection(doc: string, part: string, body: string[]): string {
  const open = `<!-- part:${part} -->`;
  const close = `<!-- /part:${part} -->`;
  const block = [open, ...body, close].join('\n');
  const i = doc.indexOf(open);
  const j = doc.indexOf(close);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + close.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

async function main(): Promise<void> {
  const names = SCENARIOS.map((s) => s.name);
  const asked = process.argv.slice(2).filter((a) => a !== '--');
  if (asked.includes('--list')) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(14)} ${s.describe}`);
    return;
  }
  for (const a of asked) if (!names.includes(a)) throw new Error(`bench: unknown scenario '${a}': use ${names.join(', ')} (or --list)`);
  const parts: string[] = asked.length === 0 ? names : asked;
  const binaries = resolveBinaries();
  const out = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'results.md');
  const header = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\`; last update ${new Date().toISOString()} (parts: ${parts.join(', ')}).`,
    '',
    `- machine: ${machine()}`,
    `- searchd: ${binaries.isSimulator ? 'simulator (src/sim)' : binaries.searchd}`,
  ].join('\n');
  // the file is read again right before each section is replaced, so that another bench run that
  // finished meanwhile (another scenario) keeps its section
  const current = (): string => {
    const text = existsSync(out) && parts.length < names.length ? readFileSync(out, 'utf8') : '';
    const bodyStart = text.indexOf('<!-- part:');
    return header + (bodyStart >= 0 ? `\n\n${text.slice(bodyStart)}` : '\n');
  };
  let doc = current();
  for (const scenario of SCENARIOS) {
    const part = scenario.name;
    if (!parts.includes(part)) continue;
    const root = mkdtempSync(path.join(os.tmpdir(), `mo-bench-${part}-`));
    try {
      const body = await scenario.run(root);
      // a full run builds its document from scratch; a partial one re-reads the file
      doc = replaceSection(parts.length === names.length ? doc : current(), part, body);
      writeFileSync(out, doc.endsWith('\n') ? doc : `${doc}\n`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  console.log(doc);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
