/**
 * The Dockerfile, checked structurally (no Docker engine here): the stages (build with dev
 * dependencies, production-only node_modules, agent, runtime last), Node 20 images, a non-root USER
 * and a HEALTHCHECK in every image that runs, the dispatcher as ENTRYPOINT; every COPY source exists
 * and is not excluded by .dockerignore; the dispatcher (docker/entrypoint.sh) starts every
 * subcommand from dist (run here with APP_DIR pointing at the build) and refuses an unknown one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../../src/sim/launcher.js';

const root = repoRoot();
const SUBCOMMANDS = ['controller', 'agent', 'job', 'mctl', 'source-feed'];

interface Instruction {
  op: string;
  args: string;
  line: number;
}

interface Stage {
  name: string;
  from: string;
  body: Instruction[];
}

/** Instructions with continuation lines joined, comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      line = `${line.trimEnd().slice(0, -1)} ${(lines[++i] ?? '').trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `Dockerfile line ${start + 1} is an instruction: ${line}`);
    out.push({ op: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim(), line: start + 1 });
  }
  return out;
}

const text = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const instructions = parseDockerfile(text);
const args = new Map<string, string>();
const stages: Stage[] = [];
for (const ins of instructions) {
  if (ins.op === 'ARG' && stages.length === 0) {
    const [k, v] = ins.args.split('=');
    if (k && v) args.set(k, v);
  } else if (ins.op === 'FROM') {
    const m = /^(\S+)\s+AS\s+(\S+)$/i.exec(ins.args);
    assert.ok(m, `FROM names its stage: line ${ins.line}`);
    const from = (m[1] ?? '').replace(/^\$\{(\w+)\}$/, (_, k: string) => args.get(k) ?? `\${${k}}`);
    stages.push({ name: m[2] ?? '', from, body: [] });
  } else {
    assert.ok(stages.length > 0, `${ins.op} before the first FROM (line ${ins.line}) must be an ARG`);
    stages.at(-1)!.body.push(ins);
  }
}
const stage = (name: string): Stage => {
  const s = stages.find((x) => x.name === name);
  assert.ok(s, `stage ${name}`);
  return s;
};
const ops = (s: Stage, op: string) => s.body.filter((i) => i.op === op);

test('multi-stage: build with dev dependencies, production node_modules, agent, runtime last (the default target)', () => {
  assert.deepEqual(
    stages.map((s) => s.name),
    ['build', 'prod-deps', 'agent', 'runtime'],
  );
  for (const s of ['build', 'prod-deps', 'runtime']) assert.match(stage(s).from, /^node:20(-slim|-alpine|\.\d+.*-slim)?$/, `${s} is a Node 20 image`);
  assert.match(stage('agent').from, /^manticoresearch\/manticore:\d/);
  const build = ops(stage('build'), 'RUN').map((i) => i.args);
  assert.ok(build.some((a) => /npm ci(?!.*--omit=dev)/.test(a)), 'build installs dev dependencies');
  assert.ok(build.some((a) => a.includes('npm run build')), 'build compiles');
  assert.ok(ops(stage('prod-deps'), 'RUN').some((i) => i.args.includes('npm ci --omit=dev')), 'prod-deps installs production dependencies only');
  for (const s of ['agent', 'runtime']) {
    const copies = ops(stage(s), 'COPY').map((i) => i.args);
    const modules = copies.filter((a) => a.includes('node_modules'));
    assert.ok(modules.length === 1 && modules[0]!.includes('--from=prod-deps'), `${s} takes node_modules from prod-deps only`);
    assert.ok(copies.some((a) => a.includes('--from=build') && a.includes('/src/dist/src')), `${s} copies the compiled app`);
  }
});

test('runtime and agent run as a non-root user with a HEALTHCHECK and the dispatcher as ENTRYPOINT', () => {
  for (const name of ['agent', 'runtime']) {
    const s = stage(name);
    const users = ops(s, 'USER');
    assert.ok(users.length > 0, `${name} sets USER`);
    assert.doesNotMatch(users.at(-1)!.args, /^(root|0)(:|$)/, `${name} does not run as root`);
    const hc = ops(s, 'HEALTHCHECK');
    assert.equal(hc.length, 1, `${name} has one HEALTHCHECK`);
    assert.match(hc[0]!.args, /CMD \["\/usr\/local\/bin\/mo-entrypoint", "healthcheck"\]/);
    assert.deepEqual(JSON.parse(ops(s, 'ENTRYPOINT').at(-1)!.args), ['/usr/local/bin/mo-entrypoint']);
    const cmd = JSON.parse(ops(s, 'CMD').at(-1)!.args) as string[];
    assert.ok(SUBCOMMANDS.includes(cmd[0] ?? ''), `${name} CMD is a subcommand: ${cmd.join(' ')}`);
    assert.ok(ops(s, 'COPY').some((i) => i.args.startsWith('docker/entrypoint.sh /usr/local/bin/mo-entrypoint')), `${name} installs the dispatcher`);
  }
});

test('every COPY source from the context exists and is not excluded by .dockerignore', () => {
  const ignore = readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const must of ['node_modules', 'dist', '.git']) assert.ok(ignore.includes(must), `.dockerignore excludes ${must}`);
  for (const s of stages) {
    for (const c of ops(s, 'COPY')) {
      if (c.args.includes('--from=')) continue;
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        assert.ok(existsSync(path.join(root, src)), `COPY source ${src} exists (line ${c.line})`);
        assert.ok(!ignore.some((i) => src === i || src.startsWith(`${i}/`)), `COPY source ${src} is not in .dockerignore (line ${c.line})`);
      }
    }
  }
});

test('the dispatcher starts every subcommand from dist and refuses an unknown one', () => {
  const script = path.join(root, 'docker', 'entrypoint.sh');
  assert.equal(spawnSync('sh', ['-n', script]).status, 0, 'entrypoint.sh parses');
  const body = readFileSync(script, 'utf8');
  for (const cmd of SUBCOMMANDS) {
    assert.ok(existsSync(path.join(root, 'dist', 'src', 'bin', `${cmd}.js`)), `dist/src/bin/${cmd}.js exists (the image runs it)`);
    assert.match(body, new RegExp(`\\b${cmd}\\b`), `the dispatcher knows ${cmd}`);
  }
  const run = (...argv: string[]) => spawnSync('sh', [script, ...argv], { env: { PATH: process.env['PATH'] ?? '', APP_DIR: root }, encoding: 'utf8', timeout: 20_000 });
  for (const cmd of ['controller', 'agent', 'mctl']) {
    const r = run(cmd, '--help');
    assert.equal(r.status, 0, `${cmd} --help through the dispatcher: ${r.stderr}`);
    assert.match(`${r.stdout}${r.stderr}`, /usage/i);
  }
  const job = run('job');
  assert.equal(job.status, 1, 'job without its environment exits 1');
  assert.match(job.stderr, /ACTION: is required/);
  const bad = run('frobnicate');
  assert.equal(bad.status, 64);
  assert.match(bad.stderr, /unknown subcommand 'frobnicate'/);
});
