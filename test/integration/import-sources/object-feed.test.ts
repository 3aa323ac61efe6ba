/**
 * runFeed reading s3:// and gs:// objects with explicit store settings (no environment): rows validated and
 * streamed in order across an s3 and a gs segment; a bad record names the object URL and the line; a missing
 * object names the URL.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { FeedError, runFeed } from '../../../src/import/feed.js';
import { parseSource } from '../../../src/import/sources.js';
import type { ImportStoreSettings } from '../../../src/config/import-sources.js';
import { createObjectStore } from '../../../src/storage/index.js';
import { S3_TEST_CREDENTIALS, startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { startGcsServer, type GcsTestServer } from '../../helpers/gcs-server.js';

let s3: S3TestServer;
let gcs: GcsTestServer;
let stores: ImportStoreSettings;
const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };

before(async () => {
  s3 = await startS3Server({ bucket: 'feed-s3' });
  gcs = await startGcsServer({ bucket: 'feed-gcs' });
  const put = (store: ReturnType<typeof createObjectStore>, key: string, text: string) => store.put(key, Readable.from([Buffer.from(text)]));
  const s3Store = createObjectStore(s3.storeConfig());
  const gcsStore = createObjectStore(gcs.storeConfig());
  await put(s3Store, 'a.csv', 'id,title\n1,one\n2,two\n');
  await put(gcsStore, 'b.csv', 'id,title\n3,three\n');
  await put(s3Store, 'bad.csv', 'id,title\n4,four\n0,zero\n');
  stores = { s3: { endpoint: s3.endpoint, region: s3.region }, gcs: { endpoint: gcs.endpoint } };
  // the SDK's default chain: static keys from the environment
  process.env['AWS_ACCESS_KEY_ID'] = S3_TEST_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = S3_TEST_CREDENTIALS.secretAccessKey;
});

after(async () => {
  await s3?.stop();
  await gcs?.stop();
  for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

async function feed(urls: string[]): Promise<{ out: string; rows: number }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const p = await runFeed({ format: 'csv', header: true, columns: [{ name: 'title', type: 'text' }], sources: urls.map((u, i) => parseSource(u, `s[${i}]`)), out, stores });
  return { out: Buffer.concat(chunks).toString(), rows: p.rows };
}

test('an s3 and a gs segment stream in order', async () => {
  const r = await feed(['s3://feed-s3/a.csv', 'gs://feed-gcs/b.csv']);
  assert.equal(r.rows, 3);
  assert.equal(r.out, '1,one\n2,two\n3,three\n');
});

test('a bad record names the object URL and the line; a missing object names the URL', async () => {
  await assert.rejects(feed(['s3://feed-s3/bad.csv']), (e: unknown) => e instanceof FeedError && /^s3:\/\/feed-s3\/bad\.csv line 3: /.test(e.message));
  await assert.rejects(feed(['gs://feed-gcs/none.csv']), (e: unknown) => e instanceof FeedError && e.message === 'gs://feed-gcs/none.csv: no such object');
});
