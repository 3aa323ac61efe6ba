/**
 * The fault suite's runner (`npm run test:faults`, `make faults`): runs every compiled scenario file
 * under dist/test/faults (cluster/ and, once they exist, ops/) one at a time, RUNS times, each file in
 * its own `node --test` process, then writes the recovery figures (medians over the runs) and each
 * file's pass/fail per run to bench/faults-results.md.
 *
 *   node dist/test/faults/run.js [--runs N] [--only <substring of a file name>] [--out <file.md>]
 *
 * Defaults: 3 runs (FAULTS_RUNS), every file, bench/faults-results.md. Exit status 1 when any file
 * failed in any run. The figures are compared with their targets in the table; they are not test
 * assertions (see test/faults/README.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveBinaries } from '../../src/sim/launcher.js';
import { RESULTS_ENV, type RecoveryFigure } from './lib/results.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..', '..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const runs = Number(arg('--runs') ?? process.env.FAULTS_RUNS ?? 3);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`--runs: '${arg('--runs') ?? process.env.FAULTS_RUNS ?? ''}' is not a positive whole number\n`);
  process.exit(2);
}
const only = arg('--only');
const out = path.resolve(repo, arg('--out') ?? path.join('bench', 'faults-results.md'));

function collect(dir: string, acc: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) collect(p, acc);
    else if (name.endsWith('.test.js')) acc.push(p);
  }
  return acc;
}

const files = collect(here, []).filter((f) => only === undefined || path.basename(f).includes(only));
if (files.length === 0) {
  process.stderr.write(`no compiled fault scenarios under ${here}${only ? ` matching '${only}'` : ''}: run "npm run build" first\n`);
  process.exit(2);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mco-faults-results-'));
const jsonl = path.join(tmp, 'figures.jsonl');
writeFileSync(jsonl, '');
/** file → pass/fail per run */
const outcomes = new Map<string, string[]>();
const started = Date.now();
/** 1-minute load average when each file started: the figures are wall-clock times and mean little on a busy machine */
const loads: number[] = [];
for (let run = 1; run <= runs; run++) {
  for (const f of files) {
    const rel = path.relative(here, f);
    process.stdout.write(`\n=== run ${run}/${runs}: ${rel}\n`);
    const t0 = Date.now();
    loads.push(os.loadavg()[0] ?? 0);
    const res = spawnSync(process.execPath, ['--enable-source-maps', '--test', f], { stdio: 'inherit', env: { ...process.env, [RESULTS_ENV]: jsonl } });
    const verdict = res.status === 0 ? 'pass' : 'FAIL';
    process.stdout.write(`=== ${rel}: ${verdict} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    outcomes.set(rel, [...(outcomes.get(rel) ?? []), verdict]);
  }
}

interface Row {
  scenario: string;
  metric: string;
  values: number[];
  target?: number;
}
const rows = new Map<string, Row>();
for (const line of readFileSync(jsonl, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const f = JSON.parse(line) as RecoveryFigure;
  const key = `${f.scenario}\u0000${f.metric}`;
  const r = rows.get(key) ?? { scenario: f.scenario, metric: f.metric, values: [], target: f.targetSeconds };
  r.values.push(f.seconds);
  rows.set(key, r);
}
rmSync(tmp, { recursive: true, force: true });

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

const cpus = os.cpus();
const lines = [
  '# Fault suite: recovery figures',
  '',
  `Written by \`npm run test:faults\` (test/faults/run.ts) on ${new Date().toISOString()}: ${runs} run(s) of ${files.length} scenario file(s),`,
  `${((Date.now() - started) / 60_000).toFixed(1)} min in all; ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, Node ${process.version}, ${resolveBinaries().isSimulator ? 'the Manticore simulator' : `searchd ${resolveBinaries().searchd}`}.`,
  `1-minute load average when each file started: median ${median(loads).toFixed(1)}, max ${Math.max(...loads).toFixed(1)} (on ${cpus.length} cores).`,
  'Figures are medians over the runs that reached them; "met" compares the median with the issue-6 target',
  '(a report, not a test assertion). test/faults/README.md says what each scenario does and asserts.',
  '',
  '| scenario | what is timed | median s | runs | all runs s | target s | vs target |',
  '|---|---|---:|---:|---|---:|---|',
];
for (const r of rows.values()) {
  const m = median(r.values);
  const vs = r.target === undefined ? '–' : m <= r.target ? 'met' : 'MISSED';
  lines.push(`| ${r.scenario.replace(/\|/g, '\\|')} | ${r.metric.replace(/\|/g, '\\|')} | ${m.toFixed(2)} | ${r.values.length} | ${r.values.map((v) => v.toFixed(2)).join(', ')} | ${r.target ?? '–'} | ${vs} |`);
}
lines.push('', '| scenario file | outcome per run |', '|---|---|');
for (const [f, o] of outcomes) lines.push(`| ${f} | ${o.join(', ')} |`);
lines.push('');
writeFileSync(out, lines.join('\n'));
process.stdout.write(`\nfigures written to ${path.relative(repo, out)}\n`);
const failed = [...outcomes.entries()].filter(([, o]) => o.includes('FAIL'));
if (failed.length > 0) {
  process.stdout.write(`failed: ${failed.map(([f, o]) => `${f} (${o.join(', ')})`).join('; ')}\n`);
  process.exit(1);
}
