/**
 * The `build-main` job kind with a real agent (startAgentServer) and the simulator's indexer and searchd:
 * two CSV segments with a header are built into `<outDir>/rt/products_main_b`, a running RT-mode node
 * IMPORTs it and serves every row with the right values; a bad row fails with file + line + reason and
 * leaves nothing in outDir; a missing source fails before anything is written; cancel kills the build.
 * Set BUILD_MAIN_BENCH_ROWS (e.g. 200000) to also time a generated CSV of that many rows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { resolveBinaries, SearchdNode, waitFor } from '../../../src/sim/launcher.js';
import { AgentClient } from '../../../src/agent/client.js';
import { startAgentServer, type AgentServer } from '../../../src/agent/server/index.js';
import type { JobStatus } from '../../../src/agent/protocol.js';
import type { ColumnDecl } from '../../../src/domain/spec.js';

const TOKEN = 'build-main-token-0123456789';
const BIN = resolveBinaries();

const COLUMNS: ColumnDecl[] = [
  { name: 'title', type: 'text' },
  { name: 'category', type: 'string' },
  { name: 'price', type: 'float' },
  { name: 'qty', type: 'integer' },
  { name: 'in_stock', type: 'bool' },
  { name: 'tags', type: 'multi' },
  { name: 'updated_at', type: 'timestamp' },
  { name: 'meta', type: 'json' },
];
const HEADER = 'id,title,category,price,qty,in_stock,tags,updated_at,meta';
const SEGMENT_1 = [
  HEADER,
  '1,Red shoe,shoes,19.5,3,true,"1,2",1700000000,"{""size"":42}"',
  '2,"Blue shoe, large",shoes,25,0,no,3,2024-01-02,{}',
  '3,"Green ""eco"" boot",boots,99.99,10,1,,2024-01-02 03:04:05,',
];
const SEGMENT_2 = [HEADER, '4,"Multi', 'line hat",hats,5,1,false,"7 8 9",0,"[1,2]"', '5,Scarf,,0.5,2,yes,,,'];

function tmp(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `mco-build-${prefix}-`));
}

async function finished(client: AgentClient, id: string, name: 'tool' | 'stop' = 'tool'): Promise<JobStatus> {
  return waitFor(
    async () => {
      const j = await client.job(id);
      return j.state === 'running' || j.state === 'pending' ? false : j;
    },
    name,
    `job ${id} to finish`,
    { factor: 4 },
  );
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function params(outDir: string, sources: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { table: 'products', slot: 'b', columns: COLUMNS, settings: { min_infix_len: 2 }, format: 'csv', header: true, sources, outDir, ...extra };
}

describe('build-main job kind', () => {
  let dir: string;
  let agent: AgentServer;
  let client: AgentClient;
  const nodes: SearchdNode[] = [];

  before(async () => {
    dir = tmp('agent');
    mkdirSync(path.join(dir, 'data'), { recursive: true });
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
    for (const n of nodes) if (n.running) await n.stopWait().catch(() => n.kill());
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('builds two CSV segments with a header; a running node IMPORTs the result and serves every row', async () => {
    const work = tmp('ok');
    const s1 = path.join(work, 'products-1.csv');
    const s2 = path.join(work, 'products 2 (it\'s $HOME).csv');
    writeFileSync(s1, SEGMENT_1.join('\n') + '\n');
    writeFileSync(s2, SEGMENT_2.join('\r\n'));
    const outDir = path.join(work, 'shared', 'imports', 'op1');
    const job = await client.startJob({ id: 'op1:node0', kind: 'build-main', params: params(outDir, [s1, s2]) });
    assert.equal(job.kind, 'build-main');
    const done = await finished(client, 'op1:node0');
    assert.equal(done.state, 'succeeded', `job failed: ${done.error}`);
    const result = done.result as { rows: number; bytes: number; rtPrefix: string; durationMs: number };
    assert.equal(result.rows, 5);
    assert.equal(result.rtPrefix, path.join(outDir, 'rt', 'products_main_b'));
    assert.ok(result.bytes > 0 && result.durationMs > 0);
    assert.equal(done.progress, 1);
    assert.ok(existsSync(`${result.rtPrefix}.meta`), 'the RT table files are there');
    assert.ok(!existsSync(path.join(outDir, 'plain')), 'the plain build is removed');

    // a second build into the same outDir (a retry after an agent restart) replaces the leftovers, never appends
    await client.startJob({ id: 'op1-retry:node0', kind: 'build-main', params: params(outDir, [s1, s2]) });
    const retry = await finished(client, 'op1-retry:node0');
    assert.equal(retry.state, 'succeeded', `retry failed: ${retry.error}`);
    assert.equal((retry.result as { rows: number }).rows, 5);

    const node = new SearchdNode({ name: 'rt-node', dir: path.join(work, 'node'), serverId: 1, binaries: BIN });
    nodes.push(node);
    await node.start();
    await node.sql(`IMPORT TABLE products_main_b FROM '${result.rtPrefix}'`);
    const rows = await node.sql('SELECT id, title, category, price, qty, in_stock, tags, updated_at, meta FROM products_main_b ORDER BY id ASC');
    assert.deepEqual(
      // bool reads back as 1/0 (real Manticore) or true/false (the simulator)
      rows.rows.map((r) => ({ ...r, price: String(Number(r['price'])), in_stock: ({ true: '1', false: '0' } as Record<string, string>)[String(r['in_stock'])] ?? r['in_stock'] })),
      [
        { id: '1', title: 'Red shoe', category: 'shoes', price: '19.5', qty: '3', in_stock: '1', tags: '1,2', updated_at: '1700000000', meta: '{"size":42}' },
        { id: '2', title: 'Blue shoe, large', category: 'shoes', price: '25', qty: '0', in_stock: '0', tags: '3', updated_at: '1704153600', meta: '{}' },
        { id: '3', title: 'Green "eco" boot', category: 'boots', price: '99.99', qty: '10', in_stock: '1', tags: '', updated_at: '1704164645', meta: null },
        { id: '4', title: 'Multi\r\nline hat', category: 'hats', price: '5', qty: '1', in_stock: '0', tags: '7,8,9', updated_at: '0', meta: '[1,2]' },
        { id: '5', title: 'Scarf', category: '', price: '0.5', qty: '2', in_stock: '1', tags: '', updated_at: '0', meta: null },
      ],
    );
    const match = await node.sql("SELECT id FROM products_main_b WHERE MATCH('shoe') ORDER BY id ASC");
    assert.deepEqual(match.rows.map((r) => r['id']), ['1', '2']);
    await node.stopWait();
    rmSync(work, { recursive: true, force: true });
  });

  test('a bad row fails with the file, the line and the reason, and leaves nothing in outDir', async () => {
    const work = tmp('bad');
    const s1 = path.join(work, 'products-1.csv');
    const s2 = path.join(work, 'products-2.csv');
    writeFileSync(s1, SEGMENT_1.join('\n') + '\n');
    writeFileSync(s2, [HEADER, '10,ok,x,1,1,1,,,', '11,bad,x,cheap,1,1,,,', '12,never,x,1,1,1,,,'].join('\n') + '\n');
    const outDir = path.join(work, 'out');
    await client.startJob({ id: 'op2:node0', kind: 'build-main', params: params(outDir, [s1, s2]) });
    const done = await finished(client, 'op2:node0');
    assert.equal(done.state, 'failed');
    assert.equal(done.error, `${s2} line 3: column 'price' (float): "cheap" is not a number`);
    const left = existsSync(path.join(outDir, 'rt')) ? readdirSync(path.join(outDir, 'rt')) : [];
    assert.deepEqual(left, [], 'no partial RT files');
    assert.ok(!existsSync(path.join(outDir, 'plain')), 'no partial plain files');

    writeFileSync(s2, [HEADER, '10,ok,x,1,1,1,,'].join('\n') + '\n');
    await client.startJob({ id: 'op3:node0', kind: 'build-main', params: params(outDir, [s1, s2]) });
    const cols = await finished(client, 'op3:node0');
    assert.equal(cols.state, 'failed');
    assert.equal(cols.error, `${s2} line 2: 8 columns, expected 9 (id + 8 declared)`);
    rmSync(work, { recursive: true, force: true });
  });

  test('TSV without a header (tsvpipe), slot a, table settings and memLimit', async () => {
    const work = tmp('tsv');
    const src = path.join(work, 'docs.tsv');
    writeFileSync(src, ['1\talpha bravo\t10', '2\tbravo charlie\t20', '3\tcharlie delta\t30'].join('\n') + '\n');
    const outDir = path.join(work, 'out');
    await client.startJob({
      id: 'op6:node0',
      kind: 'build-main',
      params: {
        table: 'docs',
        slot: 'a',
        columns: [
          { name: 'title', type: 'text' },
          { name: 'price', type: 'integer' },
        ],
        settings: { morphology: 'stem_en' },
        format: 'tsv',
        header: false,
        sources: [src],
        memLimit: '128M',
        outDir,
      },
    });
    const done = await finished(client, 'op6:node0');
    assert.equal(done.state, 'succeeded', done.error);
    assert.deepEqual({ ...(done.result as Record<string, unknown>), durationMs: 0 }, { rows: 3, bytes: 55, rtPrefix: path.join(outDir, 'rt', 'docs_main_a'), durationMs: 0 });
    rmSync(work, { recursive: true, force: true });
  });

  test('a missing source fails in pre-flight, before anything is written', async () => {
    const work = tmp('missing');
    const outDir = path.join(work, 'out');
    await client.startJob({ id: 'op4:node0', kind: 'build-main', params: params(outDir, [path.join(work, 'nope.csv')]) });
    const done = await finished(client, 'op4:node0');
    assert.equal(done.state, 'failed');
    assert.equal(done.error, `${path.join(work, 'nope.csv')}: no such file`);
    assert.ok(!existsSync(outDir), 'outDir not even created');
    rmSync(work, { recursive: true, force: true });
  });

  test('cancel stops the indexer and its source feed and removes the partial files', async () => {
    const work = tmp('cancel');
    // an https-like source on loopback that sends a few rows and then stalls
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(10_000_000) });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      res.write(`${HEADER}\n1,a,b,1,1,1,,,\n2,a,b,1,1,1,,,\n`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/big.csv`;
    const outDir = path.join(work, 'out');
    await client.startJob({ id: 'op5:node0', kind: 'build-main', params: params(outDir, [url]) });
    const record = path.join(dir, 'agent', 'jobs', 'op5:node0.json');
    const pid = await waitFor(
      () => (JSON.parse(readFileSync(record, 'utf8')) as { child?: { pid: number } }).child?.pid,
      'tool',
      'the indexer to start',
    );
    await waitFor(async () => /2 rows/.test((await client.job('op5:node0')).message ?? ''), 'tool', 'the feed to report rows');
    const cancelled = await client.cancelJob('op5:node0');
    assert.equal(cancelled.state, 'cancelled');
    await waitFor(() => !groupAlive(pid), 'stop', 'the indexer process group to be gone');
    assert.deepEqual(existsSync(path.join(outDir, 'rt')) ? readdirSync(path.join(outDir, 'rt')) : [], []);
    assert.ok(!existsSync(path.join(outDir, 'plain')));
    server.closeAllConnections();
    server.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('cancel while the temporary searchd runs kills it and removes the partial files', async () => {
    const work = tmp('cancel-searchd');
    // a searchd that starts and never answers: the job waits in the temporary-searchd phase
    const fake = path.join(work, 'hanging-searchd.js');
    writeFileSync(fake, 'setInterval(() => {}, 1000);\n');
    const agent2 = await startAgentServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      mysql: { host: '127.0.0.1', port: 1 },
      dataDir: path.join(work, 'data'),
      jobsDir: path.join(work, 'agent'),
      binaries: { searchd: fake, indexer: BIN.indexer, backup: BIN.backup },
    });
    try {
      const client2 = new AgentClient({ baseUrl: agent2.url, token: TOKEN, timeoutMs: 10_000 });
      const s1 = path.join(work, 'p.csv');
      writeFileSync(s1, SEGMENT_1.join('\n') + '\n');
      const outDir = path.join(work, 'out');
      await client2.startJob({ id: 'op7:node0', kind: 'build-main', params: params(outDir, [s1]) });
      const record = path.join(work, 'agent', 'jobs', 'op7:node0.json');
      const pid = await waitFor(
        () => {
          const child = (JSON.parse(readFileSync(record, 'utf8')) as { child?: { pid: number; command: string } }).child;
          return child?.command === fake ? child.pid : undefined;
        },
        'tool',
        'the temporary searchd to be started',
      );
      assert.ok(groupAlive(pid));
      const cancelled = await client2.cancelJob('op7:node0');
      assert.equal(cancelled.state, 'cancelled');
      await waitFor(() => !groupAlive(pid), 'stop', 'the temporary searchd group to be gone');
      assert.deepEqual(readdirSync(path.join(outDir, 'rt')), []);
      assert.ok(!existsSync(path.join(outDir, 'plain')));
    } finally {
      await agent2.close();
      rmSync(work, { recursive: true, force: true });
    }
  });

  const benchRows = Number(process.env['BUILD_MAIN_BENCH_ROWS'] ?? '0');
  test(`generated CSV of ${benchRows} rows (rows/s as a diagnostic)`, { skip: benchRows <= 0 ? 'set BUILD_MAIN_BENCH_ROWS' : false }, async (t) => {
    const work = tmp('bench');
    const file = path.join(work, 'big.csv');
    const out = createWriteStream(file);
    out.write(`${HEADER}\n`);
    for (let i = 1; i <= benchRows; i++) {
      const line = `${i},"Product number ${i}, a fine thing",cat${i % 50},${(i % 1000) / 10},${i % 100},${i % 2},"${i % 7},${i % 11}",${1_700_000_000 + i},"{""k"":${i}}"\n`;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const started = Date.now();
    await client.startJob({ id: 'bench:node0', kind: 'build-main', params: params(path.join(work, 'out'), [file]) });
    const done = await waitFor(
      async () => {
        const j = await client.job('bench:node0');
        return j.state === 'running' || j.state === 'pending' ? false : j;
      },
      'tool',
      'the bench build',
      { factor: 40 },
    );
    const seconds = (Date.now() - started) / 1000;
    const result = done.result as { rows: number; bytes: number; durationMs: number };
    t.diagnostic(`build-main ${done.state}: ${benchRows} rows, ${(result.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s (job ${result.durationMs} ms) = ${Math.round(benchRows / seconds)} rows/s${done.error ? `; error: ${done.error}` : ''}`);
    assert.equal(done.state, 'succeeded', done.error);
    assert.equal(result.rows, benchRows);
    rmSync(work, { recursive: true, force: true });
  });
});
