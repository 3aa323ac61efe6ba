/**
 * The backup/restore data path at the storage level, on every store: packDirectory → put (streamed) →
 * list by the original naming → get → inspectArchive → get → unpackArchive, with the files back byte for byte;
 * and a truncated object in the bucket refused by inspectArchive before anything is extracted.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { isAppError } from '../../../src/lib/errors.js';
import { archiveName, inspectArchive, packDirectory, parseArchiveName, sha256PassThrough, unpackArchive } from '../../../src/storage/archive.js';
import { createObjectStore, joinKey } from '../../../src/storage/index.js';
import type { ObjectStore } from '../../../src/storage/types.js';
import { startGcsServer, type GcsTestServer } from '../../helpers/gcs-server.js';
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { generated } from './store-contract.js';

const PREFIX = 'backups';
let tmp: string;
let src: string;
let s3: S3TestServer;
let gcs: GcsTestServer;
const stores: Record<string, ObjectStore> = {};

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort()) {
    const full = path.join(dir, rel);
    try {
      out[rel] = readFileSync(full).toString('base64');
    } catch {
      out[rel] = '<dir>';
    }
  }
  return out;
}

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'archive-stores-'));
  src = path.join(tmp, 'src');
  mkdirSync(path.join(src, 'addresses_delta'), { recursive: true });
  writeFileSync(path.join(src, 'addresses_delta', 'addresses_delta.meta'), '{"schema":[]}');
  const chunks: Buffer[] = [];
  for await (const c of generated(12 * 1024 * 1024, 5).stream) chunks.push(c as Buffer);
  writeFileSync(path.join(src, 'addresses_delta', 'addresses_delta.0.spa'), Buffer.concat(chunks));
  writeFileSync(path.join(src, 'manticore.json'), '{"clusters":{}}');
  s3 = await startS3Server();
  gcs = await startGcsServer();
  stores.s3 = createObjectStore(s3.storeConfig({ partSizeBytes: 5 * 1024 * 1024, queueSize: 2 }));
  stores.gcs = createObjectStore(gcs.storeConfig({ chunkSizeBytes: 1024 * 1024 }));
  stores.local = createObjectStore({ provider: 'local', bucket: 'local', localDir: path.join(tmp, 'bucket') });
});
after(async () => {
  await s3.stop();
  await gcs.stop();
  rmSync(tmp, { recursive: true, force: true });
});

for (const kind of ['s3', 'gcs', 'local']) {
  test(`${kind}: pack → put → list → inspect → unpack gives the files back`, async () => {
    const store = stores[kind] as ObjectStore;
    const name = archiveName('addresses_delta', new Date('2025-01-28T22:50:49Z'));
    const key = joinKey(PREFIX, name);
    assert.equal(key, 'backups/addresses_delta-2025-01-28T22-50-49Z.tar.gz');
    const hasher = sha256PassThrough();
    const put = await store.put(key, packDirectory(src).pipe(hasher), { contentType: 'application/gzip' });

    const listed = await store.list(`${PREFIX}/addresses_delta-`);
    assert.deepEqual(listed.map((o) => o.key), [key]);
    assert.equal(listed[0]?.size, put.size);
    assert.deepEqual(parseArchiveName(path.posix.basename(key))?.table, 'addresses_delta');

    const info = await inspectArchive(await store.get(key));
    assert.equal(info.sha256, hasher.digest());
    assert.equal(info.compressedBytes, put.size);
    assert.equal(info.files, 3);

    const dest = path.join(tmp, `restore-${kind}`);
    const out = await unpackArchive(await store.get(key), dest);
    assert.equal(out.files.length, 3);
    assert.deepEqual(files(dest), files(src));
  });

  test(`${kind}: a truncated archive in the bucket is refused by inspectArchive (what a restore runs before dropping anything)`, async () => {
    const store = stores[kind] as ObjectStore;
    const key = joinKey(PREFIX, archiveName('addresses_delta', new Date('2025-01-29T00:00:00Z')));
    const whole: Buffer[] = [];
    for await (const c of packDirectory(src)) whole.push(c as Buffer);
    const all = Buffer.concat(whole);
    await store.put(key, Readable.from([all.subarray(0, Math.floor(all.length * 0.6))]));
    await assert.rejects(inspectArchive(await store.get(key)), (err: unknown) => isAppError(err) && err.code === 'ARCHIVE_TRUNCATED');
    await store.delete(key);
  });
}
