/**
 * The chart's start script (manifests/controlplane, secret `{r}-manticore-start`) run for real with bash
 * against the real agent and the simulator's searchd, with the chart's paths and ports moved to a temp
 * dir and free loopback ports:
 *   - a fresh replica: the gate says `normal`, searchd starts, the start is reported to the agent
 *     (bash's /dev/tcp HTTP client: GET with the token, POST with a JSON body)
 *   - SIGTERM stops searchd cleanly (--stopwait) and the script exits 0
 *   - the same replica again, now with a saved cluster: the script holds until the controller's
 *     decision, then starts searchd with --new-cluster; the cluster is primary with its rows and the
 *     agent recorded the decision the script started with
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import { AgentClient } from '../../../src/agent/client.js';
import { startAgentServer, type AgentServer } from '../../../src/agent/server/index.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { LOOPBACK_OPTIONS, repoRoot, resolveBinaries, waitFor } from '../../../src/sim/launcher.js';
import { freePort } from '../../helpers/controller-process.js';

const TOKEN = 'start-script-token-0123456789abcdef';
/** the script's own poll of the gate is 2 s; a clean stop of the simulator is quick */
const WAIT_EXIT_MS = 30_000;

/** The opaque payload of a chart secret (the block scalar after `payload: |-` in the named document). */
function chartPayload(secretInclude: string): string {
  const text = readFileSync(path.join(repoRoot(), 'manifests', 'controlplane', 'templates', 'secret.yaml'), 'utf8');
  const doc = text.split(/^---\s*$/m).find((d) => d.includes(`name: {{ include "${secretInclude}" . }}`));
  assert.ok(doc, `secret ${secretInclude} in secret.yaml`);
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => /^\s+payload: \|-\s*$/.test(l));
  assert.ok(start > 0, 'a block scalar payload');
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() !== '' && !l.startsWith('    ')) break;
    body.push(l.slice(4));
  }
  const out = body.join('\n').trimEnd();
  assert.doesNotMatch(out, /\{\{/, 'no template action inside the payload');
  return `${out}\n`;
}

let dir: string;
let agent: AgentServer;
let client: AgentClient;
let ports: { mysql: number; http: number; api: number; repl: number };
let script: string;
let env: Record<string, string>;
let child: ChildProcess | undefined;
let output = '';

function localize(text: string): string {
  return text
    .replaceAll('/var/lib/manticore', path.join(dir, 'data'))
    .replaceAll('/tmp/searchd.pid', path.join(dir, 'searchd.pid'))
    .replaceAll(':9306:', `:${ports.mysql}:`)
    .replaceAll(':9308:', `:${ports.http}:`)
    .replaceAll(':9312', `:${ports.api}`)
    .replaceAll('9322-9323', `${ports.repl}-${ports.repl + 1}`)
    .replace(/MY_IP="\$\(hostname -i[^\n]*/, 'MY_IP="127.0.0.2"')
    .replace(/MY_FQDN="[^\n]*/, 'MY_FQDN="127.0.0.1"');
}

function startScript(): ChildProcess {
  output = '';
  const c = spawn('bash', [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  c.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  c.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  child = c;
  return c;
}

async function sql(query: string): Promise<Record<string, unknown>[]> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: ports.mysql, connectTimeout: 2000 });
  try {
    const [rows] = await conn.query(query);
    return rows as Record<string, unknown>[];
  } finally {
    await conn.end();
  }
}

const answers = () => sql('SHOW STATUS').then(() => true, () => false);

async function stopScript(c: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), WAIT_EXIT_MS);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cpln-start-'));
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  const bin = resolveBinaries();
  symlinkSync(bin.searchd, path.join(dir, 'bin', 'searchd'));
  ports = { mysql: await freePort(), http: await freePort(), api: await freePort(), repl: await freePort() };
  writeFileSync(path.join(dir, 'base.conf'), localize(chartPayload('mo.searchdConfigSecret')));
  script = path.join(dir, 'start.sh');
  writeFileSync(script, localize(chartPayload('mo.startSecret')), { mode: 0o755 });
  agent = await startAgentServer(
    {
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      mysql: { host: '127.0.0.1', port: ports.mysql },
      dataDir: path.join(dir, 'data'),
      searchdConfig: path.join(dir, 'base.conf'),
      jobsDir: path.join(dir, 'agent'),
      cluster: 'mc',
      binaries: { searchd: bin.searchd, indexer: bin.indexer, backup: bin.backup },
    },
    { logger: silentLogger() },
  );
  client = new AgentClient({ baseUrl: agent.url, token: TOKEN });
  env = {
    PATH: `${path.join(dir, 'bin')}:${process.env['PATH'] ?? ''}`,
    HOME: process.env['HOME'] ?? dir,
    HOSTNAME: 'mc-manticore-0',
    AGENT_PORT: new URL(agent.url).port,
    AGENT_TOKEN: TOKEN,
  };
});

after(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await agent?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a fresh replica starts normally through the gate and reports the start; SIGTERM stops searchd cleanly', async () => {
  const c = startScript();
  await waitFor(answers, 'start', `searchd answers on ${ports.mysql} (script output: ${output.slice(-500)})`);
  const gate = await waitFor(async () => {
    const g = await client.startGate();
    return g.startedAt !== undefined ? g : undefined;
  }, 'start', 'the agent recorded the start');
  assert.equal(gate.mode, 'normal');
  await sql(`CREATE CLUSTER mc '${LOOPBACK_OPTIONS}' AS options`);
  await sql('CREATE TABLE t (title text)');
  await sql('ALTER CLUSTER mc ADD t');
  await sql(`INSERT INTO mc:t (id, title) VALUES (1, 'a'), (2, 'b')`);
  assert.equal(await stopScript(c), 0, `clean exit; output: ${output.slice(-800)}`);
  assert.equal(await answers(), false, 'searchd stopped');
});

test('with a saved cluster the script holds until the decision, then starts with --new-cluster', async () => {
  const c = startScript();
  await waitFor(async () => (await client.state()).gate.holdingSince !== undefined, 'start', 'the script asked and holds');
  assert.equal(await answers(), false, 'searchd is not started while the gate holds');
  await client.decideStart({ mode: 'new-cluster', reason: 'test: this node is the most advanced', decisionId: 'd-1' });
  await waitFor(answers, 'start', `searchd answers after the decision (script output: ${output.slice(-500)})`);
  await waitFor(async () => (await client.startGate()).startedDecisionId === 'd-1', 'start', 'the start with decision d-1 was reported');
  const status = await waitFor(async () => {
    const rows = await sql("SHOW STATUS LIKE 'cluster_mc_status'");
    return rows.length > 0 ? String(Object.values(rows[0] ?? {})[1]) : undefined;
  }, 'form', 'the cluster is back');
  assert.equal(status, 'primary');
  const rows = await sql('SELECT COUNT(*) AS n FROM t');
  assert.equal(Number(rows[0]?.['n']), 2, 'the rows survived');
  assert.match(output, /starting searchd --new-cluster/);
  assert.equal(await stopScript(c), 0);
});
