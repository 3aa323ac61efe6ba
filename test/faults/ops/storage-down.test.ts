/**
 * Storage endpoint down mid-upload (issue 6 part 2), against a real S3 API server on loopback (s3rver,
 * test/helpers/s3-server.ts) that the controller process reaches through a TCP forwarder the test can
 * stop and start again on the same port. A delta of ~14 MB makes the archive a multipart upload.
 *
 * 1. connections cut mid-stream (the server drops every upload request once 1 MiB has passed, the SDK's
 *    retries included): the backup fails with a clear error, the multipart upload is aborted (none left
 *    pending), no object under the final name, nothing frozen;
 * 2. the endpoint stopped while parts stream (connection refused, the abort cannot reach it either),
 *    started again once the backup has failed: no object under the final name, nothing frozen, and no
 *    multipart upload left pending once the endpoint is back;
 * 3. a retry later works: archive and manifest in the bucket.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createObjectStore } from '../../../src/storage/index.js';
import { S3_TEST_CREDENTIALS, startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { runFaultScenario, SKIP_REASON, until } from '../lib/cluster.js';
import { recordRecovery, secondsBetween } from '../lib/results.js';
import { archiveOf, assertNothingFrozen, fillDelta, Forwarder, requestOperation, stepsOf, waitOperation } from './ops.js';

/** Delta rows of 4 000 random base64 bytes each: ~14 MB of table files, an archive over the 8 MiB part size. */
const ROWS = 3_500;
/** Bytes let through before the server starts cutting upload connections. */
const CUT_AFTER = 1024 * 1024;

let s3: S3TestServer | undefined;
let fwd: Forwarder | undefined;

test('storage endpoint down mid-upload: the backup fails clearly, no multipart upload left, no object under the final name, nothing frozen; a retry later works', { skip: SKIP_REASON, timeout: 420_000 }, async (t) => {
  s3 = await startS3Server({ bucket: 'faults' });
  const target = new URL(s3.endpoint);
  fwd = new Forwarder({ host: target.hostname, port: Number(target.port) });
  await fwd.up();
  const store = createObjectStore(s3.storeConfig());
  const objects = async () => (await store.list('backups/')).map((o) => o.key);
  try {
    await runFaultScenario(
      t,
      {
        label: 'storage-down',
        nodes: 3,
        cluster: 'fsd',
        controllerEnv: {
          BACKUP_PROVIDER: 'aws',
          BACKUP_BUCKET: s3.bucket,
          BACKUP_ENDPOINT: `http://127.0.0.1:${fwd.port}`,
          BACKUP_REGION: s3.region,
          AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
        },
      },
      async (fc) => {
        const server = s3!;
        const forwarder = fwd!;
        await fillDelta(fc, ROWS);

        // 1. connections cut mid-stream
        let what = 'storage connections cut mid-upload';
        server.failUploadsAfter(CUT_AFTER);
        const cutAt = Date.now();
        const a = await waitOperation(fc, await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'delta' }, what), what);
        const aEnded = Date.now();
        server.clearFault();
        assert.equal(a.state, 'failed', `${what}: the backup failed: ${stepsOf(a)}`);
        assert.match(a.error ?? '', /upload of backups\/items_delta-\S+\.tar\.gz to s3:\/\/faults .*failed.*nothing was stored under it/, `${what}: a clear error naming the archive and the store`);
        assert.ok(server.faultsTriggered > 0, `${what}: upload connections were cut`);
        const failedSteps = a.steps.filter((st) => st.state === 'failed').map((st) => st.name);
        assert.deepEqual(failedSteps, ['upload archive and manifest'], `${what}: the record shows the upload step failed, the clean-up after it ran (${stepsOf(a)})`);
        assert.deepEqual(await server.pendingUploads(), [], `${what}: the multipart upload was aborted`);
        assert.deepEqual(await objects(), [], `${what}: no object under the final name (nor its manifest)`);
        await assertNothingFrozen(fc, what);

        // 2. the endpoint stopped while parts stream, started again after the failure
        what = 'storage endpoint stopped mid-upload';
        const id = await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'delta' }, what);
        await until(async () => (await server.pendingUploads()).length > 0, 60_000, `${what}: a multipart upload started`, 5);
        await forwarder.down();
        const downAt = Date.now();
        const b = await waitOperation(fc, id, what);
        const bEnded = Date.now();
        await forwarder.up();
        assert.equal(b.state, 'failed', `${what}: the backup failed while the endpoint was down: ${stepsOf(b)}`);
        assert.match(b.error ?? '', /upload of backups\/items_delta-\S+\.tar\.gz to s3:\/\/faults .*failed/, `${what}: a clear error naming the archive and the store`);
        assert.deepEqual(await objects(), [], `${what}: no object under the final name (nor its manifest)`);
        await assertNothingFrozen(fc, what);
        const pending = await server.pendingUploads();
        t.diagnostic(`${what}: multipart uploads left pending once the endpoint is back: ${JSON.stringify(pending)}`);

        // 3. a retry later works
        what = 'backup after the endpoint is back';
        const c = await waitOperation(fc, await requestOperation(fc, '/api/backup', { tableName: fc.table, type: 'delta' }, what), what);
        assert.equal(c.state, 'succeeded', `${what}: ${c.error ?? ''} ${stepsOf(c)}`);
        const name = archiveOf(c);
        assert.deepEqual(await objects(), [`backups/${name}`, `backups/${name}.manifest.json`], `${what}: the archive and its manifest in the bucket`);
        assert.equal(c.figures?.rows, ROWS, `${what}: every row in the archive`);
        await assertNothingFrozen(fc, what);
        assert.deepEqual(await server.pendingUploads(), [], `${what}: no multipart upload left pending (the stopped endpoint's one included)`);
        recordRecovery(t, { scenario: 'storage-cut-mid-upload', metric: 'request → backup failed cleanly (upload aborted)', seconds: secondsBetween(cutAt, aEnded), note: `error: ${(a.error ?? '').slice(0, 160)}` });
        recordRecovery(t, { scenario: 'storage-down-mid-upload', metric: 'endpoint down → backup failed cleanly', seconds: secondsBetween(downAt, bEnded), note: `archive ${c.figures?.bytes ?? '?'} bytes; error: ${(b.error ?? '').slice(0, 160)}` });
      },
    );
  } finally {
    await fwd.down();
    await s3.stop();
  }
});
