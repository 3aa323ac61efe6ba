/**
 * Backups through the platform job path: the controller stack (one simulator node on the local
 * platform, its real agent) is given Control Plane jobs (ControlPlaneJobs against the loopback cpln
 * server); the server's backup cron workload runs each runCronWorkload command for real as the `job`
 * subcommand process (stored env + the command's overrides). Asserts:
 *   - POST /api/backup → 202; the command carries the job contract (ACTION, DATASET, TYPE, MANTICORE_HOST,
 *     AGENT_PORT, ...); the operation record follows the command to `succeeded`; the archive and its
 *     manifest (rows) are in the bucket
 *   - a job that exits 1 ends the operation `failed`, naming the platform job
 *   - a command of the same table already active on the cron workload (started by someone else) →
 *     409 BACKUP_IN_PROGRESS naming the command, and nothing is posted
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { loadControlPlaneConfig } from '../../../src/config/controlplane.js';
import { SettingSource } from '../../../src/config/source.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseShowTables } from '../../../src/manticore/parse.js';
import { showAllClusterStatus, showTables } from '../../../src/manticore/sql.js';
import { CplnClient } from '../../../src/platform/controlplane/client.js';
import { ControlPlaneJobs } from '../../../src/platform/controlplane/jobs.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { ARCHIVE_TOOLS } from '../../../src/reconcile/backup-store.js';
import { repoRoot, timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { createObjectStore } from '../../../src/storage/index.js';
import { FakeCpln } from './fake-cpln.js';

const CLUSTER = 'itcpjob';
const TOKEN = 'cpln-job-path-token-0123456789';
const CPLN_TOKEN = 'cpln-identity-token';
const BACKUP_WL = 'mc-manticore-backup';
const PREFIX = 'backups';
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
/** the job process: manticore-backup-sim of a few rows into a local directory store */
const JOB_PROCESS_TIMEOUT_MS = 60_000;
const WAIT_OPERATION_MS = 90_000;

let dir: string;
let bucketDir: string;
let stack: RunningStack;
let node: NodeRef;
let fake: FakeCpln;
/** env of every command the cron workload ran */
const ran: Record<string, string>[] = [];

function runJob(env: Record<string, string>): Promise<boolean> {
  ran.push(env);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot(), 'dist', 'src', 'bin', 'job.js')], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? os.tmpdir(), ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), JOB_PROCESS_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0 && process.env['CONTROLLER_TEST_LOG']) process.stderr.write(`job exited ${code}: ${stderr}\n`);
      resolve(code === 0);
    });
  });
}

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function finished(id: string): Promise<OperationRecord> {
  let op: OperationRecord | undefined;
  await waitFor(
    () => {
      op = stack.status.operation(id);
      return Promise.resolve(op !== undefined && op.state !== 'running' && op.state !== 'pending');
    },
    'tool',
    `operation ${id} finished`,
    { factor: WAIT_OPERATION_MS / timeoutMs('tool') },
  );
  return op!;
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cpln-job-it-'));
  bucketDir = path.join(dir, 'bucket');
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  mkdirSync(path.join(dir, 'shared'), { recursive: true });
  writeFileSync(path.join(dir, 'specs', 'products.json'), JSON.stringify({ name: 'products', columns: [{ name: 'title', type: 'text' }], deletionPolicy: 'retain' }));

  fake = new FakeCpln('acme', 'prod', CPLN_TOKEN);
  await fake.start();
  fake.cron.set(BACKUP_WL, {
    container: 'backup',
    // what the chart stores on the cron workload (bucket settings, token); the command overrides the rest
    env: { AUTH_TOKEN: TOKEN, BACKUP_PROVIDER: 'local', BACKUP_BUCKET: bucketDir, SHARED_VOLUME_MOUNT: path.join(dir, 'shared'), LOG_LEVEL: 'warn' },
    runner: runJob,
  });
  const cpln = loadControlPlaneConfig(
    new SettingSource({ CPLN_ENDPOINT: fake.url, CPLN_TOKEN, CPLN_ORG: 'acme', CPLN_GVC: 'prod', CPLN_LOCATION: 'aws-us-east-1', MANTICORE_WORKLOAD: 'mc-manticore', BACKUP_WORKLOAD: BACKUP_WL }),
  );
  const jobs = new ControlPlaneJobs({ client: new CplnClient({ endpoint: fake.url, token: CPLN_TOKEN, baseDelayMs: 50 }), config: cpln, logger: silentLogger() });
  const store = createObjectStore({ provider: 'local', bucket: 'local', localDir: bucketDir });

  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '1', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env['CONTROLLER_TEST_LOG'] ? createLogger({ level: process.env['CONTROLLER_TEST_LOG'] }) : silentLogger();
  stack = await startStack({
    config,
    token: TOKEN,
    env: process.env,
    logger,
    controller: {
      resyncMs: 1_000,
      fastResyncMs: 300,
      backup: { prefix: PREFIX, archive: ARCHIVE_TOOLS, store: () => store, jobs: { description: `cron workload ${BACKUP_WL}`, start: (s) => jobs.start(s), get: (id) => jobs.get(id), pollMs: 200 } },
    },
  });
  [node] = (await stack.platform.listNodes()) as [NodeRef];
  const sql = stack.pools.get(`${node.mysql.host}:${node.mysql.port}`);
  await waitFor(
    async () => {
      const c = parseClusterStatus(await sql.query(showAllClusterStatus()), CLUSTER);
      const tables = parseShowTables(await sql.query(showTables()));
      return c?.status === 'primary' && c.nodeState === 'synced' && tables.some((t) => t.name === 'products_delta');
    },
    'form',
    'cluster formed and products_delta created',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );
  await sql.query(`INSERT INTO ${CLUSTER}:products_delta (id, title) VALUES (1, 'shoe'), (2, 'boot'), (3, 'sock')`);
});

after(async () => {
  await stack?.stop();
  await fake?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('backups as Control Plane cron workload commands', () => {
  test('POST /api/backup runs the job on the cron workload; the operation follows it to succeeded; the archive is in the bucket', async () => {
    const res = await api('POST', '/api/backup', { tableName: 'products', type: 'delta' });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const id = String(res.json['commandId']);
    const op = await finished(id);
    assert.equal(op.state, 'succeeded', `${op.error ?? ''} ${JSON.stringify(op.steps)}`);
    const step = op.steps.find((s) => s.name === 'platform-job');
    assert.ok(step && step.state === 'succeeded', JSON.stringify(op.steps));
    assert.match(step.message ?? '', new RegExp(`^platform job cmd-\\d+ \\(cron workload ${BACKUP_WL}\\): succeeded`));

    const env = ran.at(-1)!;
    assert.equal(env['ACTION'], 'backup');
    assert.equal(env['DATASET'], 'products');
    assert.equal(env['TYPE'], 'delta');
    assert.equal(env['MANTICORE_HOST'], node.mysql.host);
    assert.equal(env['MANTICORE_MYSQL_PORT'], String(node.mysql.port));
    assert.equal(env['AGENT_PORT'], new URL(node.agentUrl).port);
    assert.equal(env['CLUSTER_NAME'], CLUSTER);
    assert.equal(env['BACKUP_PREFIX'], PREFIX);
    const post = fake.requestsTo('POST', `${fake.workloadPath(BACKUP_WL)}/-command`).find((r) => !r.path.includes('-query'));
    assert.equal(post?.authorization, `Bearer ${CPLN_TOKEN}`);

    const files = readdirSync(path.join(bucketDir, PREFIX));
    const archive = files.find((f) => /^products_delta-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.tar\.gz$/.test(f));
    assert.ok(archive, `an archive in the bucket: ${files.join(', ')}`);
    const manifest = JSON.parse(readFileSync(path.join(bucketDir, PREFIX, `${archive}.manifest.json`), 'utf8')) as { rows: number; table: string };
    assert.equal(manifest.table, 'products_delta');
    assert.equal(manifest.rows, 3);
    const listed = await api('GET', '/api/backups/files?tableName=products');
    assert.ok(JSON.stringify(listed.json).includes(archive), 'the controller lists the archive the job wrote');
  });

  test('a job that fails ends the operation failed, naming the platform job', async () => {
    const cron = fake.cron.get(BACKUP_WL)!;
    const stored = cron.env;
    cron.env = { ...stored, BACKUP_BUCKET: 'relative/not-allowed' }; // the job refuses it and exits 1
    try {
      const res = await api('POST', '/api/backup', { tableName: 'products', type: 'delta' });
      assert.equal(res.status, 202, JSON.stringify(res.json));
      const op = await finished(String(res.json['commandId']));
      assert.equal(op.state, 'failed');
      assert.match(op.error ?? '', new RegExp(`platform job cmd-\\d+ on cron workload ${BACKUP_WL} failed`));
    } finally {
      cron.env = stored;
    }
  });

  test('a backup command of the table already active on the cron workload → 409 BACKUP_IN_PROGRESS, nothing posted', async () => {
    const cron = fake.cron.get(BACKUP_WL)!;
    const runner = cron.runner;
    delete cron.runner; // commands stay pending
    try {
      // started outside this controller (the workload's own schedule, another replica)
      fake.commands.set(BACKUP_WL, [
        ...(fake.commands.get(BACKUP_WL) ?? []),
        {
          id: 'cmd-outside',
          type: 'runCronWorkload',
          lifecycleStage: 'running',
          created: new Date().toISOString(),
          lastModified: new Date().toISOString(),
          spec: { location: 'aws-us-east-1', containerOverrides: [{ name: 'backup', env: [{ name: 'ACTION', value: 'backup' }, { name: 'DATASET', value: 'products' }] }] },
          status: {},
        },
      ]);
      const posts = () => fake.requestsTo('POST', `${fake.workloadPath(BACKUP_WL)}/-command`).filter((r) => !r.path.includes('-query')).length;
      const before = posts();
      const res = await api('POST', '/api/backup', { tableName: 'products', type: 'delta' });
      assert.equal(res.status, 409, JSON.stringify(res.json));
      const error = res.json['error'] as { code: string; message: string };
      assert.equal(error.code, 'BACKUP_IN_PROGRESS');
      assert.match(error.message, /cmd-outside/);
      assert.equal(posts(), before, 'nothing posted');
    } finally {
      fake.setStage(BACKUP_WL, 'cmd-outside', 'completed');
      if (runner) cron.runner = runner;
    }
  });
});
