import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobConfigError, loadJobConfig, restoreFileProblem } from '../../../src/config/job.js';
import { jobNode, jobStoreConfig } from '../../../src/job/run.js';

const BACKUP_ENV = {
  ACTION: 'backup',
  AUTH_TOKEN: 'secret-token-0123456789',
  DATASET: 'addresses',
  MANTICORE_HOST: 'manticore-0.manticore',
  BACKUP_PROVIDER: 'aws',
  BACKUP_BUCKET: 'my-backups',
  BACKUP_PREFIX: 'prod/manticore',
};

function problemsOf(env: Record<string, string | undefined>): Record<string, string> {
  try {
    loadJobConfig(env);
  } catch (err) {
    assert.ok(err instanceof JobConfigError, `a JobConfigError, got ${String(err)}`);
    return Object.fromEntries(err.problems.map((p) => [p.variable, p.message]));
  }
  assert.fail('expected a JobConfigError');
}

test('the original defaults: TYPE delta, AGENT_PORT 8080, SHARED_VOLUME_MOUNT /mnt/shared', () => {
  const cfg = loadJobConfig(BACKUP_ENV);
  assert.deepEqual(cfg, {
    action: 'backup',
    token: 'secret-token-0123456789',
    dataset: 'addresses',
    type: 'delta',
    manticoreHost: 'manticore-0.manticore',
    agentPort: 8080,
    mysqlPort: 9306,
    clusterName: 'manticore',
    sharedDir: '/mnt/shared',
    provider: 'aws',
    bucket: 'my-backups',
    prefix: 'prod/manticore',
    logLevel: 'info',
  });
  assert.equal(jobNode(cfg).agentUrl, 'http://manticore-0.manticore:8080');
  assert.deepEqual(jobNode(cfg).mysql, { host: 'manticore-0.manticore', port: 9306 });
  assert.deepEqual(jobStoreConfig(cfg), { provider: 'aws', bucket: 'my-backups', prefix: 'prod/manticore' });
});

test('every variable is read: main backup with a slot, ports, region, endpoint, log level', () => {
  const cfg = loadJobConfig({
    ...BACKUP_ENV,
    TYPE: 'main',
    SLOT: 'b',
    AGENT_PORT: '19500',
    MANTICORE_MYSQL_PORT: '19306',
    CLUSTER_NAME: 'c1',
    SHARED_VOLUME_MOUNT: '/data/shared',
    BACKUP_PROVIDER: 'GCP',
    BACKUP_REGION: 'eu-west-1',
    BACKUP_ENDPOINT: 'http://127.0.0.1:4443',
    ORCHESTRATOR_API_URL: 'http://api:8080/',
    LOG_LEVEL: 'debug',
  });
  assert.equal(cfg.type, 'main');
  assert.equal(cfg.slot, 'b');
  assert.equal(cfg.agentPort, 19500);
  assert.equal(cfg.mysqlPort, 19306);
  assert.equal(cfg.clusterName, 'c1');
  assert.equal(cfg.sharedDir, '/data/shared');
  assert.equal(cfg.provider, 'gcp');
  assert.equal(cfg.region, 'eu-west-1');
  assert.equal(cfg.endpoint, 'http://127.0.0.1:4443');
  assert.equal(cfg.apiUrl, 'http://api:8080');
  assert.equal(cfg.logLevel, 'debug');
  const local = loadJobConfig({ ...BACKUP_ENV, BACKUP_PROVIDER: 'local', BACKUP_BUCKET: '/var/backups' });
  assert.deepEqual(jobStoreConfig(local), { provider: 'local', bucket: '/var/backups', prefix: 'prod/manticore', localDir: '/var/backups' });
});

test('an empty environment names every required variable at once', () => {
  const p = problemsOf({});
  assert.deepEqual(Object.keys(p).sort(), ['ACTION', 'AUTH_TOKEN', 'BACKUP_BUCKET', 'BACKUP_PREFIX', 'BACKUP_PROVIDER', 'DATASET', 'MANTICORE_HOST']);
  for (const [name, message] of Object.entries(p)) assert.match(message, new RegExp(`^is required: set it, e.g. ${name}=`));
  try {
    loadJobConfig({});
  } catch (err) {
    assert.match(String((err as Error).message), /the job's environment has 7 problems:\n {2}ACTION: is required/);
  }
});

test('every invalid value is named with its fix', () => {
  const p = problemsOf({
    ...BACKUP_ENV,
    ACTION: 'snapshot',
    DATASET: 'bad-name',
    TYPE: 'full',
    SLOT: 'c',
    MANTICORE_HOST: 'http://manticore:8080',
    AGENT_PORT: '99999',
    MANTICORE_MYSQL_PORT: 'x',
    CLUSTER_NAME: '1-c',
    SHARED_VOLUME_MOUNT: 'relative/dir',
    BACKUP_PROVIDER: 'azure',
    BACKUP_ENDPOINT: 'minio:9000',
    BACKUP_SLOT: 'z',
    ORCHESTRATOR_API_URL: 'api:8080',
    LOG_LEVEL: 'loud',
  });
  assert.match(p['ACTION'] ?? '', /'snapshot' is not an action: use backup or restore/);
  assert.ok(p['DATASET'], 'DATASET named');
  assert.match(p['TYPE'] ?? '', /'full' is not a backup type: use delta or main/);
  assert.match(p['SLOT'] ?? '', /'c' is not a slot: use a or b/);
  assert.match(p['MANTICORE_HOST'] ?? '', /without scheme or port/);
  assert.match(p['AGENT_PORT'] ?? '', /99999/);
  assert.match(p['MANTICORE_MYSQL_PORT'] ?? '', /'?x'? is not a whole number/);
  assert.match(p['CLUSTER_NAME'] ?? '', /not a cluster name/);
  assert.match(p['SHARED_VOLUME_MOUNT'] ?? '', /not an absolute path/);
  assert.match(p['BACKUP_PROVIDER'] ?? '', /'azure' is not a provider: use aws \(S3\) or gcp \(GCS\)/);
  assert.match(p['BACKUP_ENDPOINT'] ?? '', /not an http\(s\) URL/);
  assert.match(p['BACKUP_SLOT'] ?? '', /'z' is not a slot/);
  assert.match(p['ORCHESTRATOR_API_URL'] ?? '', /not an http\(s\) URL/);
  assert.match(p['LOG_LEVEL'] ?? '', /'loud' is not a level/);
  assert.equal(Object.keys(p).length, 14);
});

test('TYPE=main needs SLOT; a local bucket must be an absolute directory', () => {
  assert.deepEqual(Object.keys(problemsOf({ ...BACKUP_ENV, TYPE: 'main' })), ['SLOT']);
  assert.match(problemsOf({ ...BACKUP_ENV, TYPE: 'main' })['SLOT'] ?? '', /required when TYPE=main/);
  assert.match(problemsOf({ ...BACKUP_ENV, BACKUP_PROVIDER: 'local', BACKUP_BUCKET: 'rel' })['BACKUP_BUCKET'] ?? '', /must be absolute/);
});

test('restore needs RESTORE_FILE of this dataset and type, and ORCHESTRATOR_API_URL', () => {
  const restore = { ...BACKUP_ENV, ACTION: 'restore' };
  assert.deepEqual(Object.keys(problemsOf(restore)).sort(), ['ORCHESTRATOR_API_URL', 'RESTORE_FILE']);
  const ok = loadJobConfig({ ...restore, RESTORE_FILE: 'addresses_delta-2025-01-28T22-50-49Z.tar.gz', ORCHESTRATOR_API_URL: 'http://api:8080' });
  assert.equal(ok.restoreFile, 'addresses_delta-2025-01-28T22-50-49Z.tar.gz');

  const withApi = { ...restore, ORCHESTRATOR_API_URL: 'http://api:8080' };
  assert.match(problemsOf({ ...withApi, RESTORE_FILE: '../addresses_delta-2025-01-28T22-50-49Z.tar.gz' })['RESTORE_FILE'] ?? '', /without directories or '\.\.'/);
  assert.match(problemsOf({ ...withApi, RESTORE_FILE: 'other_delta-2025-01-28T22-50-49Z.tar.gz' })['RESTORE_FILE'] ?? '', /a backup of other_delta, not of addresses_delta/);
  assert.match(problemsOf({ ...withApi, RESTORE_FILE: 'addresses_delta.tar.gz' })['RESTORE_FILE'] ?? '', /not an archive name/);
  const main = { ...withApi, TYPE: 'main', SLOT: 'b' };
  assert.equal(loadJobConfig({ ...main, RESTORE_FILE: 'addresses_main_a-2025-01-28T22-50-49Z.tar.gz', BACKUP_SLOT: 'a' }).backupSlot, 'a');
  assert.match(problemsOf({ ...main, RESTORE_FILE: 'addresses_main_a-2025-01-28T22-50-49Z.tar.gz', BACKUP_SLOT: 'b' })['RESTORE_FILE'] ?? '', /comes from slot a, but BACKUP_SLOT=b/);
  assert.match(problemsOf({ ...main, RESTORE_FILE: 'addresses_delta-2025-01-28T22-50-49Z.tar.gz' })['RESTORE_FILE'] ?? '', /not of addresses_main_a or addresses_main_b/);
  assert.equal(restoreFileProblem('addresses_main_b-2025-01-28T22-50-49Z.tar.gz', 'addresses', 'main'), undefined);
});
