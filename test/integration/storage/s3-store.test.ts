/**
 * The S3 store (@aws-sdk/client-s3 + lib-storage multipart) against s3rver on loopback: the ObjectStore
 * contract, a 50 MB streamed multipart upload with bounded memory, and a connection cut mid-upload that must
 * leave no object and no pending multipart upload (checked through ListMultipartUploads).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { after, before, test } from 'node:test';
import { createObjectStore } from '../../../src/storage/index.js';
import type { S3ObjectStore } from '../../../src/storage/s3.js';
import type { ObjectStore } from '../../../src/storage/types.js';
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { assertCode, generated, sha256Of, storeContract } from './store-contract.js';

const MIB = 1024 * 1024;
const PART = 5 * MIB;
/** Bound on the uploader's RSS growth during the 50 MiB upload: well under the object size (5 MiB parts, 2 in flight). */
const RSS_GROWTH_LIMIT = 35 * MIB;
/** The child process doing the 50 MiB upload */
const PROBE_TIMEOUT_MS = 120_000;
const PROBE = fileURLToPath(new URL('./memory-probe.js', import.meta.url));
const execFileAsync = promisify(execFile);

let server: S3TestServer;
let store: ObjectStore;

async function noPendingUploads(): Promise<void> {
  const s3 = (store as S3ObjectStore).client;
  const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: server.bucket }));
  assert.deepEqual(out.Uploads ?? [], [], 'no multipart upload is left pending');
  assert.deepEqual(await server.pendingUploads(), []);
}

before(async () => {
  server = await startS3Server();
  store = createObjectStore(server.storeConfig({ partSizeBytes: PART, queueSize: 2 }));
});
after(async () => {
  await server.stop();
});

storeContract('s3', { store: () => store, failingSize: 3 * PART, failAt: 2 * PART + 1000, nothingPending: noPendingUploads });

test('s3: ListMultipartUploads sees an upload in progress (the check above can fail)', async () => {
  const s3 = (store as S3ObjectStore).client;
  const { CreateMultipartUploadCommand, AbortMultipartUploadCommand } = await import('@aws-sdk/client-s3');
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: server.bucket, Key: 'probe/pending' }));
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: server.bucket }));
  assert.deepEqual(listed.Uploads?.map((u) => [u.Key, u.UploadId]), [['probe/pending', created.UploadId]]);
  await s3.send(new AbortMultipartUploadCommand({ Bucket: server.bucket, Key: 'probe/pending', UploadId: created.UploadId }));
  await noPendingUploads();
});

test('s3: a 50 MB stream goes up through multipart with bounded memory and comes back identical', async () => {
  const size = 50 * MIB;
  // The upload runs in a child process so s3rver's memory (in this process) is not counted.
  const config = server.storeConfig({ partSizeBytes: PART, queueSize: 2 });
  const child = await execFileAsync(process.execPath, ['--expose-gc', PROBE, 'upload', JSON.stringify(config), 'big/fifty.bin', String(size)], {
    timeout: PROBE_TIMEOUT_MS,
  });
  const probe = JSON.parse(child.stdout) as { size: number; sha256: string; rssBefore: number; rssPeak: number };
  const growth = probe.rssPeak - probe.rssBefore;
  process.stderr.write(`s3 50 MiB upload (child): rss before ${(probe.rssBefore / MIB).toFixed(1)} MiB, peak ${(probe.rssPeak / MIB).toFixed(1)} MiB, growth ${(growth / MIB).toFixed(1)} MiB\n`);
  assert.equal(probe.size, size);
  assert.equal((await store.head('big/fifty.bin'))?.size, size);
  assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${(growth / MIB).toFixed(1)} MiB during a 50 MiB upload (limit ${RSS_GROWTH_LIMIT / MIB} MiB)`);
  assert.deepEqual(await sha256Of(await store.get('big/fifty.bin')), { sha256: probe.sha256, size });
  await store.delete('big/fifty.bin');
});

test('s3: a connection cut mid-upload fails the put, aborts the multipart upload, leaves no object', async () => {
  server.failUploadsAfter(PART + PART / 2);
  try {
    await assert.rejects(store.put('cut/upload.bin', generated(4 * PART, 22).stream), assertCode('STORAGE_UPLOAD_FAILED'));
  } finally {
    server.clearFault();
  }
  assert.ok(server.faultsTriggered >= 1, 'the fault fired');
  assert.equal(await store.head('cut/upload.bin'), undefined);
  assert.deepEqual(await store.list('cut/'), []);
  await noPendingUploads();
});

test('s3: createObjectStore checks its settings and names the field', () => {
  assert.throws(() => createObjectStore({ provider: 'aws', bucket: '' }), /bucket/);
  assert.throws(() => createObjectStore({ provider: 'aws', bucket: 'b', partSizeBytes: 1024 }), /partSizeBytes/);
  assert.throws(() => createObjectStore({ provider: 's3', bucket: 'b', endpoint: 'not a url' }), /endpoint/);
  assert.throws(() => createObjectStore({ provider: 's3', bucket: 'b', credentials: { accessKeyId: 'x' } }), /credentials/);
  assert.equal(createObjectStore({ provider: 'aws', bucket: 'b', region: 'eu-west-1' }).kind, 's3');
});
