// Runs the compiled test suites with node's built-in runner.
// Usage: node scripts/run-tests.mjs <suite>... where a suite is a folder under dist/test (unit, conformance, ...).
// Extra arguments starting with "--" are passed to `node --test`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const suites = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
if (suites.length === 0) {
  console.error('usage: node scripts/run-tests.mjs <suite>... (unit, conformance, integration, e2e)');
  process.exit(2);
}

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = [];
for (const suite of suites) {
  const dir = join('dist', 'test', suite);
  if (!existsSync(dir)) {
    console.error(`no compiled tests in ${dir}: run "npm run build" first`);
    process.exit(2);
  }
  collect(dir, files);
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(2);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const res = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, ...flags, ...files],
  { stdio: 'inherit' },
);
process.exit(res.status ?? 1);
