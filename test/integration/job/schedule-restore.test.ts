/**
 * Scheduled backups and the `job` restore with the real controller stack on 3 local simulator nodes,
 * configured only through env vars (BACKUP_SCHEDULES, BACKUP_PROVIDER/BUCKET/PREFIX/ENDPOINT/REGION)
 * and storing to a real S3 API server on loopback (s3rver):
 *   - a daily schedule set to fire once, a minute or two after start, with keep 1, fires a backup
 *     through the controller (one fire: nothing else runs during the restore); the archive and its
 *     manifest land in the bucket, and retention deletes the older archives of the table (seeded
 *     before), never another table's;
 *   - an unusable BACKUP_SCHEDULES entry shows in the status' spec problems while the other runs;
 *   - `job` ACTION=restore refuses a corrupted archive before anything changes (exit 1, rows kept),
 *     then restores the scheduled archive through the controller API: the backup's rows on every node.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseCount, parseShowTables } from '../../../src/manticore/parse.js';
import { selectCount, showAllClusterStatus, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { repoRoot, timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { createObjectStore } from '../../../src/storage/index.js';
import type { ObjectStore } from '../../../src/storage/types.js';
import { S3_TEST_CREDENTIALS, startS3Server, type S3TestServer } from '../../helpers/s3-server.js';

const CLUSTER = 'itjob';
const TOKEN = 'job-schedule-token-0123456789abcd';
const PREFIX = 'sched';
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
/** the schedule fires at the first minute at least FIRE_MARGIN_MS away (<= 105 s); the backup of a few rows takes seconds */
const WAIT_SCHEDULED_MS = 150_000;
/** the cluster forms and the rows are inserted well before the one fire */
const FIRE_MARGIN_MS = 45_000;
/** the job process: check the archive, hand the restore over, follow it */
const JOB_TIMEOUT_MS = 120_000;

let dir: string;
let stack: RunningStack;
let nodes: NodeRef[];
let s3: S3TestServer;
let store: ObjectStore;

const sql = (n: NodeRef) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);

async function countOn(n: NodeRef, table: string): Promise<number | undefined> {
  return parseCount(await sql(n).query(selectCount(table)));
}

async function waitRows(table: string, rows: number): Promise<void> {
  await waitFor(
    async () => {
      for (const n of nodes) if ((await countOn(n, table).catch(() => undefined)) !== rows) return false;
      return true;
    },
    'replicate',
    `${table} holds ${rows} rows on every node`,
  );
}

async function insertDelta(from: number, to: number): Promise<void> {
  const values: string[] = [];
  for (let i = from; i <= to; i++) values.push(`(${i}, 'item ${i}', ${i}.5)`);
  await sql(nodes[0]!).exec(`INSERT INTO ${CLUSTER}:products_delta (id, title, price) VALUES ${values.join(', ')}`);
}

async function put(key: string, body: string | Buffer): Promise<void> {
  await store.put(key, Readable.from([Buffer.isBuffer(body) ? body : Buffer.from(body)]));
}

interface JobRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runJobProcess(env: Record<string, string>): Promise<JobRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot(), 'dist', 'src', 'bin', 'job.js')], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? os.tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timeout 'job' (${JOB_TIMEOUT_MS} ms): the job process did not exit; stderr: ${stderr.slice(-2000)}`));
    }, JOB_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function restoreEnv(file: string): Record<string, string> {
  return {
    ACTION: 'restore',
    AUTH_TOKEN: TOKEN,
    DATASET: 'products',
    TYPE: 'delta',
    MANTICORE_HOST: nodes[0]!.mysql.host,
    AGENT_PORT: new URL(nodes[0]!.agentUrl).port,
    BACKUP_PROVIDER: 'aws',
    BACKUP_BUCKET: s3.bucket,
    BACKUP_PREFIX: PREFIX,
    BACKUP_REGION: s3.region,
    BACKUP_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
    RESTORE_FILE: file,
    ORCHESTRATOR_API_URL: stack.url ?? '',
    LOG_LEVEL: 'warn',
  };
}

before(async () => {
  s3 = await startS3Server({ bucket: 'jobbackups' });
  // the controller's S3 client takes the SDK's default credential chain, as in production
  process.env['AWS_ACCESS_KEY_ID'] = S3_TEST_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = S3_TEST_CREDENTIALS.secretAccessKey;
  store = createObjectStore(s3.storeConfig());
  dir = mkdtempSync(path.join(os.tmpdir(), 'job-schedule-it-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'specs', 'products.json'),
    JSON.stringify({
      name: 'products',
      columns: [
        { name: 'title', type: 'text' },
        { name: 'price', type: 'float' },
      ],
      deletionPolicy: 'retain',
    }),
  );
  const fireAt = new Date(Math.ceil((Date.now() + FIRE_MARGIN_MS) / 60_000) * 60_000);
  const env = {
    ORCHESTRATOR_TOKEN: TOKEN,
    BACKUP_SCHEDULES: JSON.stringify([
      { table: 'products', type: 'delta', schedule: `${fireAt.getUTCMinutes()} ${fireAt.getUTCHours()} * * *`, keep: 1 },
      { table: 'products', type: 'delta', schedule: '0 25 * * *' },
    ]),
    BACKUP_PROVIDER: 'aws',
    BACKUP_BUCKET: s3.bucket,
    BACKUP_PREFIX: PREFIX,
    BACKUP_REGION: s3.region,
    BACKUP_ENDPOINT: s3.endpoint,
  };
  const config = loadControllerConfig({ env, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env['CONTROLLER_TEST_LOG'] ? createLogger({ level: process.env['CONTROLLER_TEST_LOG'] }) : silentLogger();
  stack = await startStack({ config, token: TOKEN, env: process.env, logger, controller: { resyncMs: 1_000, fastResyncMs: 300 } });
  nodes = await stack.platform.listNodes();
  await waitFor(
    async () => {
      for (const n of nodes) {
        const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
        const t = new Map(parseShowTables(await sql(n).query(showTables())).map((x) => [x.name, x.type]));
        if (t.get('products') !== 'distributed' || t.get('products_delta') !== 'rt') return false;
      }
      return true;
    },
    'form',
    'cluster formed and products converged on every node',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );
  await insertDelta(1, 5);
  await waitRows('products_delta', 5);
});

after(async () => {
  await stack?.stop();
  await s3?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let scheduledFile = '';

test('a scheduled backup lands in the bucket and retention keeps 1, never touching another table', { timeout: WAIT_SCHEDULED_MS + 60_000 }, async () => {
  const problems = stack.status.specProblems().filter((p) => p.origin.ref === 'BACKUP_SCHEDULES');
  assert.equal(problems.length, 1, 'the unusable entry is a spec problem in the status');
  assert.match(problems[0]?.message ?? '', /BACKUP_SCHEDULES\[1\]\.schedule: '0 25 \* \* \*' is not a valid cron expression/);

  // older archives of products (with manifests) and one of another table, all before the first fire
  for (const key of [`${PREFIX}/products_delta-2020-01-01T00-00-00Z.tar.gz`, `${PREFIX}/products_delta-2020-01-02T00-00-00Z.tar.gz`, `${PREFIX}/other_delta-2020-01-01T00-00-00Z.tar.gz`]) {
    await put(key, 'old archive');
    await put(`${key}.manifest.json`, '{}');
  }
  let op: OperationRecord | undefined;
  await waitFor(
    () => {
      op = stack.status.operations().find((o) => o.kind === 'backup' && o.requestedBy.startsWith('schedule ') && o.state === 'succeeded');
      return op !== undefined;
    },
    'form',
    'a scheduled backup of products succeeds',
    { factor: WAIT_SCHEDULED_MS / timeoutMs('form') },
  );
  assert.equal(op?.requestedBy, 'schedule BACKUP_SCHEDULES[0]');

  let keys: string[] = [];
  await waitFor(
    async () => {
      keys = (await store.list(`${PREFIX}/`)).map((o) => o.key).sort();
      // retention deletes each old archive, then its manifest: wait until both are gone
      const products = keys.filter((k) => k.startsWith(`${PREFIX}/products_delta-`));
      return products.length === 2 && products.every((k) => !k.includes('2020-')) ? true : false;
    },
    'replicate',
    'retention leaves only the new archive of products and its manifest',
  );
  const archive = keys.find((k) => k.startsWith(`${PREFIX}/products_delta-`) && k.endsWith('.tar.gz'))!;
  assert.match(archive, /^sched\/products_delta-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.tar\.gz$/);
  assert.ok(keys.includes(`${archive}.manifest.json`));
  assert.ok(keys.includes(`${PREFIX}/other_delta-2020-01-01T00-00-00Z.tar.gz`), "another table's archive is untouched");
  assert.ok(!keys.includes(`${PREFIX}/products_delta-2020-01-01T00-00-00Z.tar.gz.manifest.json`), 'the deleted archives took their manifests');
  scheduledFile = archive.slice(PREFIX.length + 1);
});

test('job ACTION=restore: a corrupted archive is refused before anything changes; the scheduled one is restored on every node', { timeout: 3 * JOB_TIMEOUT_MS }, async () => {
  assert.ok(scheduledFile, 'the scheduled backup test ran');
  const chunks: Buffer[] = [];
  for await (const c of await store.get(`${PREFIX}/${scheduledFile}.manifest.json`)) chunks.push(c as Buffer);
  const rows = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { rows: number }).rows;
  assert.equal(rows, 5, 'the backup holds the rows inserted before it');

  await insertDelta(100, 102);
  await waitRows('products_delta', rows + 3);

  // a truncated copy of the real archive, with the real manifest: refused by the job, nothing changes
  const whole: Buffer[] = [];
  for await (const c of await store.get(`${PREFIX}/${scheduledFile}`)) whole.push(c as Buffer);
  const bytes = Buffer.concat(whole);
  const broken = 'products_delta-2021-06-01T00-00-00Z.tar.gz';
  await put(`${PREFIX}/${broken}`, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await put(`${PREFIX}/${broken}.manifest.json`, Buffer.concat(chunks));
  const refused = await runJobProcess(restoreEnv(broken));
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /not a readable tar\.gz|sha256/);
  assert.equal(stack.status.operations().filter((o) => o.kind === 'restore').length, 0, 'no restore was requested');
  await waitRows('products_delta', rows + 3);

  const run = await runJobProcess(restoreEnv(scheduledFile));
  assert.equal(run.code, 0, `the restore job succeeded; stderr: ${run.stderr}`);
  const result = JSON.parse(run.stdout.trim()) as { action: string; operationId: string; state: string };
  assert.equal(result.action, 'restore');
  assert.equal(result.state, 'succeeded');
  assert.equal(stack.status.operation(result.operationId)?.kind, 'restore');
  await waitRows('products_delta', rows);
});
