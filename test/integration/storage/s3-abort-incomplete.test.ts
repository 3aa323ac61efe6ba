/**
 * S3ObjectStore.abortIncompleteUploads against s3rver on loopback: a multipart upload left open (its put's
 * own abort could not reach a stopped endpoint; test/faults/ops/storage-down) is aborted by the next backup
 * of the table, which calls it with the table's archive prefix; uploads under other prefixes are left alone.
 */
import assert from 'node:assert/strict';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { after, before, test } from 'node:test';
import { createObjectStore } from '../../../src/storage/index.js';
import type { S3ObjectStore } from '../../../src/storage/s3.js';
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js';

let server: S3TestServer;
let store: S3ObjectStore;

before(async () => {
  server = await startS3Server({ bucket: 'abort-incomplete' });
  store = createObjectStore(server.storeConfig()) as S3ObjectStore;
});
after(async () => {
  await server.stop();
});

test('s3: abortIncompleteUploads aborts the open multipart uploads under a prefix and only those', async () => {
  const open = async (key: string) => (await store.client.send(new CreateMultipartUploadCommand({ Bucket: server.bucket, Key: key }))).UploadId;
  await open('backups/items_delta-2026-01-01T00-00-00Z.tar.gz');
  await open('backups/items_delta-2026-01-01T00-00-05Z.tar.gz');
  const other = await open('backups/items_delta2-2026-01-01T00-00-00Z.tar.gz');
  const aborted = await store.abortIncompleteUploads('backups/items_delta-');
  assert.deepEqual(aborted.sort(), ['backups/items_delta-2026-01-01T00-00-00Z.tar.gz', 'backups/items_delta-2026-01-01T00-00-05Z.tar.gz']);
  assert.deepEqual((await server.pendingUploads()).map((u) => u.key), ['backups/items_delta2-2026-01-01T00-00-00Z.tar.gz'], 'the other table\'s upload is untouched');
  assert.deepEqual(await store.abortIncompleteUploads('backups/items_delta-'), [], 'nothing left to abort the second time');
  await store.client.send(new AbortMultipartUploadCommand({ Bucket: server.bucket, Key: 'backups/items_delta2-2026-01-01T00-00-00Z.tar.gz', UploadId: other }));
  assert.deepEqual(await server.pendingUploads(), []);
});
