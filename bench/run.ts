/**
 * Benchmark runner (`npm run bench` / `make bench`): measures the simulator-backed figures the
 * foundation promises and writes bench/results.md with the machine, each figure's median and
 * spread over the runs, and the target beside it. Nothing here is asserted by the test suite:
 * figures belong here, not in timed tests.
 *
 *   BENCH_RUNS=5 (default)   how many times each scenario is repeated
 *   SEARCHD_BIN=...          measure a real searchd instead of the simulator
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalCluster, isReady, resolveBinaries, sleep } from '../src/sim/launcher.js';

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

function machine(): string {
  const cpus = os.cpus();
  return `${os.type()} ${os.release()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`;
}

async function main(): Promise<void> {
  const binaries = resolveBinaries();
  const root = mkdtempSync(path.join(os.tmpdir(), 'mo-bench-'));
  try {
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`run ${i + 1}/${runs}\n`);
      await oneRun(path.join(root, `run${i}`));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString()}.`,
    '',
    `- machine: ${machine()}`,
    `- searchd: ${binaries.isSimulator ? 'simulator (src/sim)' : binaries.searchd}`,
    `- runs: ${runs} (median, min–max across runs)`,
    '',
    '| figure | median | min–max | target |',
    '|---|---:|---:|---|',
  ];
  for (const f of figures.values()) {
    const s = [...f.samples].sort((a, b) => a - b);
    lines.push(`| ${f.name} | ${quantile(s, 0.5).toFixed(0)} ms | ${(s[0] ?? NaN).toFixed(0)}–${(s[s.length - 1] ?? NaN).toFixed(0)} ms | ${f.target ?? ''} |`);
  }
  lines.push('');
  const out = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'results.md');
  writeFileSync(out, lines.join('\n'));
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
