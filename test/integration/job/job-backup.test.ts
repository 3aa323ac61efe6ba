/**
 * The `job` subcommand as a process (node dist/src/bin/job.js), driven only by the original backup
 * container's env vars: ACTION=backup against a simulator searchd in a cluster, its real agent
 * (backup-table job, the simulator's manticore-backup) and a real S3 API server on loopback (s3rver).
 * Asserts the bucket: `<BACKUP_PREFIX>/<DATASET>_delta-<ts>.tar.gz` and its manifest (rows, sha256),
 * the archive holding the table's files; the table is not left frozen and the working dir is gone.
 * Also: a missing environment names every variable and exits 1 without touching anything.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAgentServer, type AgentServer } from '../../../src/agent/server/index.js';
import { LOOPBACK_OPTIONS, repoRoot, resolveBinaries, SearchdNode } from '../../../src/sim/launcher.js';
import { inspectArchive } from '../../../src/storage/archive.js';
import { createObjectStore } from '../../../src/storage/index.js';
import type { ObjectStore } from '../../../src/storage/types.js';
import { S3_TEST_CREDENTIALS, startS3Server, type S3TestServer } from '../../helpers/s3-server.js';

const TOKEN = 'job-backup-token-0123456789';
const CLUSTER = 'c';
const PREFIX = 'prod/manticore';
const BIN = resolveBinaries();
/** the whole job process: manticore-backup of a small table and an upload to loopback S3 */
const JOB_TIMEOUT_MS = 60_000;

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

describe('job ACTION=backup (simulator node + real agent + s3rver)', () => {
  let dir: string;
  let shared: string;
  let node: SearchdNode;
  let agent: AgentServer;
  let s3: S3TestServer;
  let store: ObjectStore;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mco-job-'));
    shared = path.join(dir, 'shared');
    mkdirSync(shared, { recursive: true });
    node = new SearchdNode({ name: 'n0', dir: path.join(dir, 'n0'), serverId: 1, binaries: BIN });
    await node.start();
    await node.sql(`CREATE CLUSTER ${CLUSTER} '${LOOPBACK_OPTIONS}' AS options`);
    await node.sql('CREATE TABLE addresses_delta (title text, zip int)');
    await node.sql(`ALTER CLUSTER ${CLUSTER} ADD addresses_delta`);
    await node.sql(`INSERT INTO ${CLUSTER}:addresses_delta (id, title, zip) VALUES (1, 'Main St 1', 10115), (2, 'Elm St 2', 10117), (3, 'Oak Ave 3', 10119)`);
    agent = await startAgentServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      mysql: { host: '127.0.0.1', port: node.ports.mysql },
      dataDir: node.layout.dataDir,
      searchdConfig: node.layout.config,
      jobsDir: path.join(dir, 'agent'),
      cluster: CLUSTER,
      binaries: { searchd: BIN.searchd, indexer: BIN.indexer, backup: BIN.backup },
    });
    s3 = await startS3Server({ bucket: 'backups' });
    store = createObjectStore(s3.storeConfig());
  });

  after(async () => {
    await agent?.close();
    if (node?.running) await node.stopWait().catch(() => node.kill());
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function jobEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ACTION: 'backup',
      AUTH_TOKEN: TOKEN,
      DATASET: 'addresses',
      TYPE: 'delta',
      MANTICORE_HOST: '127.0.0.1',
      AGENT_PORT: new URL(agent.url).port,
      MANTICORE_MYSQL_PORT: String(node.ports.mysql),
      CLUSTER_NAME: CLUSTER,
      SHARED_VOLUME_MOUNT: shared,
      BACKUP_PROVIDER: 'aws',
      BACKUP_BUCKET: s3.bucket,
      BACKUP_PREFIX: PREFIX,
      BACKUP_REGION: s3.region,
      BACKUP_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
      LOG_LEVEL: 'warn',
      ...extra,
    };
  }

  test('streams <prefix>/<DATASET>_delta-<ts>.tar.gz and its manifest to the bucket', async () => {
    const run = await runJobProcess(jobEnv());
    assert.equal(run.code, 0, `the job succeeded; stderr: ${run.stderr}`);
    const result = JSON.parse(run.stdout.trim()) as { action: string; table: string; archiveKey: string; rows: number; sha256: string };
    assert.equal(result.action, 'backup');
    assert.equal(result.table, 'addresses_delta');

    const objects = await store.list(`${PREFIX}/`);
    const archives = objects.filter((o) => o.key.endsWith('.tar.gz'));
    assert.equal(archives.length, 1, `one archive: ${objects.map((o) => o.key).join(', ')}`);
    const archiveKey = archives[0]?.key ?? '';
    assert.match(archiveKey, /^prod\/manticore\/addresses_delta-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.tar\.gz$/);
    assert.equal(result.archiveKey, archiveKey);
    assert.ok(objects.some((o) => o.key === `${archiveKey}.manifest.json`), 'the manifest sits next to the archive');

    const chunks: Buffer[] = [];
    for await (const c of await store.get(`${archiveKey}.manifest.json`)) chunks.push(c as Buffer);
    const manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { table: string; type: string; rows: number; sha256: string; archiveBytes: number };
    assert.equal(manifest.table, 'addresses_delta');
    assert.equal(manifest.type, 'delta');
    assert.equal(manifest.rows, 3);
    assert.equal(result.rows, 3);

    const inspected = await inspectArchive(await store.get(archiveKey));
    assert.equal(inspected.sha256, manifest.sha256, 'the archive in the bucket is the one the manifest describes');
    assert.equal(inspected.compressedBytes, manifest.archiveBytes);
    assert.ok(
      inspected.entries.some((e) => e.name.endsWith('/addresses_delta.meta') || e.name === 'addresses_delta.meta'),
      `the archive holds the table's files: ${inspected.entries.map((e) => e.name).join(', ')}`,
    );

    const locks = await node.sql('SHOW LOCKS');
    assert.equal(locks.rows.length, 0, 'the table is not left frozen');
    const workDirs = existsSync(path.join(shared, 'backups', 'addresses')) ? readdirSync(path.join(shared, 'backups', 'addresses')) : [];
    assert.deepEqual(workDirs, [], 'the working dir on the shared volume is removed');
    const rows = await node.sql('SELECT COUNT(*) AS n FROM addresses_delta');
    assert.equal(Number(rows.rows[0]?.['n']), 3);
  });

  test('a table the node does not hold fails the job with exit 1 and leaves nothing in the bucket', async () => {
    const before = (await store.list(`${PREFIX}/`)).length;
    const run = await runJobProcess(jobEnv({ DATASET: 'missing' }));
    assert.equal(run.code, 1);
    assert.match(run.stderr, /job: backup of missing failed: .*no table missing_delta/);
    assert.equal((await store.list(`${PREFIX}/`)).length, before);
  });

  test('a missing environment names every variable, exits 1 and changes nothing', async () => {
    const before = (await store.list('')).length;
    const run = await runJobProcess({});
    assert.equal(run.code, 1);
    for (const v of ['ACTION', 'AUTH_TOKEN', 'DATASET', 'MANTICORE_HOST', 'BACKUP_PROVIDER', 'BACKUP_BUCKET', 'BACKUP_PREFIX']) {
      assert.match(run.stderr, new RegExp(`\\n {2}${v}: is required`), `${v} is named`);
    }
    const main = await runJobProcess(jobEnv({ TYPE: 'main', BACKUP_PROVIDER: 'azure' }));
    assert.equal(main.code, 1);
    assert.match(main.stderr, /SLOT: is required when TYPE=main/);
    assert.match(main.stderr, /BACKUP_PROVIDER: 'azure' is not a provider/);
    assert.equal((await store.list('')).length, before);
  });
});
