/**
 * Storage endpoint failing mid-upload, GCS (the JSON-API test server, test/helpers/gcs-server.ts, reached by
 * the controller process through BACKUP_PROVIDER=gcp + BACKUP_ENDPOINT): every upload connection is cut once
 * 1 MiB has passed, the store's resumable retries included. The backup fails with a clear error, no object
 * (nor manifest) appears under the final name, nothing is frozen; once the endpoint works a retry succeeds.
 * (The test server's resumable session URIs name its own port, so "stopped" is tested on S3: storage-down.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createObjectStore } from '../../../src/storage/index.js';
import { startGcsServer, type GcsTestServer } from '../../helpers/gcs-server.js';
import { runFaultScenario, SKIP_REASON } from '../lib/cluster.js';
import { recordRecovery, secondsBetween } from '../lib/results.js';
import { archiveOf, assertNothingFrozen, fillDelta, requestOperation, stepsOf, waitOperation } from './ops.js';

/** ~3 MB archive: several times the cut-off. */
const ROWS = 1_000;
const CUT_AFTER = 1024 * 1024;

let gcs: GcsTestServer | undefined;

test('GCS endpoint cutting uploads mid-stream: the backup fails clearly, no object under the final name, nothing frozen; a retry later works', { skip: SKIP_REASON, timeout: 300_000 }, async (t) => {
  gcs = await startGcsServer({ bucket: 'faults-gcs' });
  const store = createObjectStore(gcs.storeConfig());
  const objects = async () => (await store.list('backups/')).map((o) => o.key);
  try {
    await runFaultScenario(t, { label: 'storage-down-gcs', nodes: 3, cluster: 'fsdg', controllerEnv: { BACKUP_PROVIDER: 'gcp', BACKUP_BUCKET: gcs.bucket, BACKUP_ENDPOINT: gcs.endpoint } }, async (fc) => {
      const server = gcs!;
      await fillDelta(fc, ROWS);
      let what = 'GCS uploads cut mid-stream';
      server.failUploadsAfter(CUT_AFTER);
      const requestedAt = Date.now();
      const a = await waitOperation(fc, await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'delta' }, what), what);
      const endedAt = Date.now();
      server.clearFault();
      assert.equal(a.state, 'failed', `${what}: the backup failed: ${stepsOf(a)}`);
      assert.match(a.error ?? '', /upload of backups\/items_delta-\S+\.tar\.gz to gs:\/\/faults-gcs .*failed.*nothing was stored under it/, `${what}: a clear error naming the archive and the store`);
      assert.ok(server.faultsTriggered > 0, `${what}: upload connections were cut`);
      assert.deepEqual(await objects(), [], `${what}: no object under the final name (nor its manifest)`);
      await assertNothingFrozen(fc, what);

      what = 'GCS backup after the endpoint works again';
      const c = await waitOperation(fc, await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'delta' }, what), what);
      assert.equal(c.state, 'succeeded', `${what}: ${c.error ?? ''} ${stepsOf(c)}`);
      const name = archiveOf(c);
      assert.deepEqual(await objects(), [`backups/${name}`, `backups/${name}.manifest.json`], `${what}: the archive and its manifest in the bucket`);
      assert.equal(c.figures?.rows, ROWS, `${what}: every row in the archive`);
      await assertNothingFrozen(fc, what);
      recordRecovery(t, { scenario: 'gcs-cut-mid-upload', metric: 'request → backup failed cleanly', seconds: secondsBetween(requestedAt, endedAt), note: `archive ${c.figures?.bytes ?? '?'} bytes; resumable sessions left open (expire server side): ${server.openSessions()}; error: ${(a.error ?? '').slice(0, 160)}` });
    });
  } finally {
    await gcs.stop();
  }
});
