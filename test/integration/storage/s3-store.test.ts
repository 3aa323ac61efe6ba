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
/**
 * Bound on the uploader's RSS growth whatever the object size (5 MiB parts, 2 in flight). Measured 15-42 MiB
 * (peak RSS steady at 116-125 MiB; the spread is in the baseline, under parallel test load). The 150 MiB case
 * is the one that proves nothing is buffered whole.
 */
const RSS_GROWTH_LIMIT = 64 * MIB;
/** The child process doing one upload of up to 150 MiB */
const PROBE_TIMEOUT_MS = 180_000;
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

test('s3: 50 MiB and 150 MiB streams go up through multipart with the same bounded memory and come back identical', async () => {
  // The uploads run in a child process so s3rver's memory (in this process) is not counted.
  const config = server.storeConfig({ partSizeBytes: PART, queueSize: 2 });
  for (const size of [50 * MIB, 150 * MIB]) {
    const key = `big/${size / MIB}.bin`;
    const child = await execFileAsync(process.execPath, ['--expose-gc', PROBE, 'upload', JSON.stringify(config), key, String(size)], {
      timeout: PROBE_TIMEOUT_MS,
    });
    const probe = JSON.parse(child.stdout) as { size: number; sha256: string; rssBefore: number; rssPeak: number };
    const growth = probe.rssPeak - probe.rssBefore;
    process.stderr.write(
      `s3 ${size / MIB} MiB upload (child, 5 MiB parts x 2): rss before ${(probe.rssBefore / MIB).toFixed(1)} MiB, peak ${(probe.rssPeak / MIB).toFixed(1)} MiB, growth ${(growth / MIB).toFixed(1)} MiB\n`,
    );
    assert.equal(probe.size, size);
    assert.equal((await store.head(key))?.size, size);
    assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${(growth / MIB).toFixed(1)} MiB during a ${size / MIB} MiB upload (limit ${RSS_GROWTH_LIMIT / MIB} MiB)`);
    assert.deepEqual(await sha256Of(await store.get(key)), { sha256: probe.sha256, size });
    await store.delete(key);
  }
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

test('s3: one dropped connection is retried by the SDK and the object is exact', async () => {
  const before = server.faultsTriggered;
  server.failUploadsAfter(PART + PART / 2, { once: true });
  const body = generated(3 * PART + 17, 23);
  try {
    await store.put('transient/upload.bin', body.stream);
  } finally {
    server.clearFault();
  }
  assert.equal(server.faultsTriggered, before + 1, 'the connection was cut once');
  assert.deepEqual(await sha256Of(await store.get('transient/upload.bin')), { sha256: body.sha256(), size: 3 * PART + 17 });
  await store.delete('transient/upload.bin');
  await noPendingUploads();
});

test('s3: createObjectStore checks its settings and names the field', () => {
  assert.throws(() => createObjectStore({ provider: 'aws', bucket: '' }), /bucket/);
  assert.throws(() => createObjectStore({ provider: 'aws', bucket: 'b', partSizeBytes: 1024 }), /partSizeBytes/);
  assert.throws(() => createObjectStore({ provider: 's3', bucket: 'b', endpoint: 'not a url' }), /endpoint/);
  assert.throws(() => createObjectStore({ provider: 's3', bucket: 'b', credentials: { accessKeyId: 'x' } }), /credentials/);
  assert.throws(() => createObjectStore({ provider: 's3', bucket: 'b', maxRetries: -1 }), /maxRetries/);
  assert.equal(createObjectStore({ provider: 'aws', bucket: 'b', region: 'eu-west-1' }).kind, 's3');
});
