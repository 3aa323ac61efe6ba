/**
 * `s3://` and `gs://` import sources with a real agent (startAgentServer), the simulator's indexer and searchd,
 * s3rver (test/helpers/s3-server.ts) and the GCS test server (test/helpers/gcs-server.ts): a build-main job
 * from an s3:// CSV and from a gs:// CSV produces the right rows (a node IMPORTs them); a missing object fails
 * in pre-flight naming the URL, with no credentials in the message, before anything is written.
 *
 * The agent's environment carries the settings (IMPORT_S3_ENDPOINT, IMPORT_GCS_ENDPOINT) and the AWS SDK's
 * default-chain credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); the indexer's source-feed inherits it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { resolveBinaries, SearchdNode, waitFor } from '../../../src/sim/launcher.js';
import { AgentClient } from '../../../src/agent/client.js';
import { startAgentServer, type AgentServer } from '../../../src/agent/server/index.js';
import type { JobStatus } from '../../../src/agent/protocol.js';
import type { ColumnDecl } from '../../../src/domain/spec.js';
import { createObjectStore } from '../../../src/storage/index.js';
import { S3_TEST_CREDENTIALS, startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { startGcsServer, type GcsTestServer } from '../../helpers/gcs-server.js';

const TOKEN = 'import-sources-token-0123456789';
const BIN = resolveBinaries();
const COLUMNS: ColumnDecl[] = [
  { name: 'title', type: 'text' },
  { name: 'price', type: 'float' },
  { name: 'qty', type: 'integer' },
];
const CSV = ['id,title,price,qty', '1,Red shoe,19.5,3', '2,"Blue shoe, large",25,0', '3,"Green ""eco"" boot",99.99,10'].join('\n') + '\n';
const EXPECTED = [
  { id: '1', title: 'Red shoe', price: '19.5', qty: '3' },
  { id: '2', title: 'Blue shoe, large', price: '25', qty: '0' },
  { id: '3', title: 'Green "eco" boot', price: '99.99', qty: '10' },
];

async function finished(client: AgentClient, id: string): Promise<JobStatus> {
  return waitFor(
    async () => {
      const j = await client.job(id);
      return j.state === 'running' || j.state === 'pending' ? false : j;
    },
    'tool',
    `job ${id} to finish`,
    { factor: 4 },
  );
}

describe('build-main from s3:// and gs:// sources', () => {
  let dir: string;
  let s3: S3TestServer;
  let gcs: GcsTestServer;
  let agent: AgentServer;
  let client: AgentClient;
  const saved: Record<string, string | undefined> = {};
  const setEnv = (name: string, value: string) => {
    if (!(name in saved)) saved[name] = process.env[name];
    process.env[name] = value;
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mco-import-sources-'));
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    s3 = await startS3Server({ bucket: 'imports' });
    gcs = await startGcsServer({ bucket: 'imports-gcs' });
    await createObjectStore(s3.storeConfig()).put('daily/products.csv', Readable.from([Buffer.from(CSV)]));
    await createObjectStore(gcs.storeConfig()).put('daily/products.csv', Readable.from([Buffer.from(CSV)]));
    // the agent's environment: endpoints, and credentials through the SDK's default chain
    setEnv('IMPORT_S3_ENDPOINT', s3.endpoint);
    setEnv('IMPORT_S3_REGION', s3.region);
    setEnv('AWS_ACCESS_KEY_ID', S3_TEST_CREDENTIALS.accessKeyId);
    setEnv('AWS_SECRET_ACCESS_KEY', S3_TEST_CREDENTIALS.secretAccessKey);
    setEnv('IMPORT_GCS_ENDPOINT', gcs.endpoint);
    agent = await startAgentServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      mysql: { host: '127.0.0.1', port: 1 },
      dataDir: path.join(dir, 'data'),
      jobsDir: path.join(dir, 'agent'),
      binaries: { searchd: BIN.searchd, indexer: BIN.indexer, backup: BIN.backup },
    });
    client = new AgentClient({ baseUrl: agent.url, token: TOKEN, timeoutMs: 10_000 });
  });

  after(async () => {
    await agent?.close();
    await s3?.stop();
    await gcs?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [scheme, url] of [
    ['s3', 's3://imports/daily/products.csv'],
    ['gs', 'gs://imports-gcs/daily/products.csv'],
  ] as const) {
    test(`${scheme}:// CSV: built, IMPORTed by a node, every row served`, async () => {
      const outDir = path.join(dir, `out-${scheme}`);
      const id = `op-${scheme}:node0`;
      await client.startJob({ id, kind: 'build-main', params: { table: 'products', slot: 'b', columns: COLUMNS, settings: {}, format: 'csv', header: true, sources: [url], outDir } });
      const done = await finished(client, id);
      assert.equal(done.state, 'succeeded', `job failed: ${done.error}`);
      const result = done.result as { rows: number; bytes: number; rtPrefix: string };
      assert.equal(result.rows, 3);
      assert.equal(done.progress, 1);
      const node = new SearchdNode({ name: `rt-${scheme}`, dir: path.join(dir, `node-${scheme}`), serverId: 1, binaries: BIN });
      await node.start();
      try {
        await node.sql(`IMPORT TABLE products_main_b FROM '${result.rtPrefix}'`);
        const rows = await node.sql('SELECT id, title, price, qty FROM products_main_b ORDER BY id ASC');
        assert.deepEqual(
          rows.rows.map((r) => ({ ...r, price: String(Number(r['price'])) })),
          EXPECTED,
        );
      } finally {
        await node.stopWait().catch(() => node.kill());
      }
    });

    test(`${scheme}:// missing object: fails in pre-flight naming the URL, no credentials, nothing written`, async () => {
      const outDir = path.join(dir, `missing-${scheme}`);
      const missing = url.replace('products.csv', 'nope.csv');
      const id = `op-missing-${scheme}:node0`;
      await client.startJob({ id, kind: 'build-main', params: { table: 'products', slot: 'a', columns: COLUMNS, settings: {}, format: 'csv', header: true, sources: [url, missing], outDir } });
      const done = await finished(client, id);
      assert.equal(done.state, 'failed');
      assert.match(done.error ?? '', new RegExp(`${missing.replace(/[/.]/g, '\\$&')}: no such object`));
      assert.doesNotMatch(done.error ?? '', /S3RVER/);
      assert.ok(!existsSync(path.join(outDir, 'rt')) && !existsSync(path.join(outDir, 'plain')), 'nothing written');
    });
  }
});
