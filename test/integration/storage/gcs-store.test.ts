/**
 * The GCS store (@google-cloud/storage, resumable chunked uploads) against a GCS JSON API endpoint on loopback:
 * the ObjectStore contract, a connection cut mid-upload, and the library's other upload paths on the server.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createObjectStore } from '../../../src/storage/index.js';
import type { GcsObjectStore } from '../../../src/storage/gcs.js';
import type { ObjectStore } from '../../../src/storage/types.js';
import { startGcsServer, type GcsTestServer } from '../../helpers/gcs-server.js';
import { assertCode, generated, readText, sha256Of, storeContract } from './store-contract.js';

const CHUNK = 256 * 1024;
let server: GcsTestServer;
let store: ObjectStore;

before(async () => {
  server = await startGcsServer();
  store = createObjectStore(server.storeConfig({ chunkSizeBytes: CHUNK }));
});
after(async () => {
  await server.stop();
});

storeContract('gcs', { store: () => store, failingSize: 3 * CHUNK, failAt: CHUNK + 1000 });

test('gcs: a multi-chunk upload arrives byte for byte', async () => {
  const body = generated(5 * CHUNK + 123, 11);
  const put = await store.put('big/multi.bin', body.stream);
  assert.equal(put.size, 5 * CHUNK + 123);
  assert.equal((await store.head('big/multi.bin'))?.size, 5 * CHUNK + 123);
  assert.deepEqual(await sha256Of(await store.get('big/multi.bin')), { sha256: body.sha256(), size: 5 * CHUNK + 123 });
  await store.delete('big/multi.bin');
});

test('gcs: a connection cut mid-upload fails the put and leaves no object', async () => {
  // A store with one retry: the fault stays on, so the retry is cut too and the put fails.
  const oneRetry = createObjectStore(server.storeConfig({ chunkSizeBytes: CHUNK, maxRetries: 1 }));
  server.failUploadsAfter(CHUNK + CHUNK / 2);
  try {
    await assert.rejects(oneRetry.put('cut/upload.bin', generated(4 * CHUNK, 12).stream), assertCode('STORAGE_UPLOAD_FAILED'));
  } finally {
    server.clearFault();
  }
  assert.ok(server.faultsTriggered >= 1, 'the fault fired');
  assert.equal(await store.head('cut/upload.bin'), undefined);
  assert.deepEqual(await store.list('cut/'), []);
});

test('gcs: one dropped connection is retried: the resumable upload resumes and the object is exact', async () => {
  const before = server.faultsTriggered;
  server.failUploadsAfter(2 * CHUNK + 100, { once: true });
  const body = generated(5 * CHUNK, 13);
  try {
    await store.put('transient/upload.bin', body.stream);
  } finally {
    server.clearFault();
  }
  assert.equal(server.faultsTriggered, before + 1, 'the connection was cut once');
  assert.deepEqual(await sha256Of(await store.get('transient/upload.bin')), { sha256: body.sha256(), size: 5 * CHUNK });
  await store.delete('transient/upload.bin');
});

test('gcs: the server also takes simple (multipart) uploads from the library', async () => {
  const gcs = store as GcsObjectStore;
  await gcs.storage.bucket(server.bucket).file('simple/one.txt').save('simple body', { resumable: false, contentType: 'text/plain' });
  assert.equal(await readText(await store.get('simple/one.txt')), 'simple body');
  await store.delete('simple/one.txt');
});

test('gcs: listing pages through more than one page', async () => {
  const gcs = store as GcsObjectStore;
  for (let i = 0; i < 5; i++) await store.put(`paged/${i}.txt`, Readable.from([Buffer.from(String(i))]));
  const [files] = await gcs.storage.bucket(server.bucket).getFiles({ prefix: 'paged/', maxResults: 2, autoPaginate: false });
  assert.equal(files.length, 2);
  assert.deepEqual((await store.list('paged/')).map((f) => f.key), ['paged/0.txt', 'paged/1.txt', 'paged/2.txt', 'paged/3.txt', 'paged/4.txt']);
  for (let i = 0; i < 5; i++) await store.delete(`paged/${i}.txt`);
});
