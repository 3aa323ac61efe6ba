import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeBulkSession, EMPTY_CHECKPOINT, loadBulkChunk, type BulkCheckpoint, type BulkLoadInput } from '../../../src/import/bulk-load.js';
import { silentLogger } from '../../../src/lib/logger.js';

/** A fake /bulk: keeps documents by id, rejects a batch holding a doc titled "reject", fails the first `down` requests at the socket. */
class FakeBulk {
  docs = new Map<string, Record<string, unknown>>();
  requests = 0;
  down = 0;
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      this.requests++;
      if (this.down > 0) {
        this.down--;
        req.socket.destroy();
        return;
      }
      const ops = body
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { replace: { id: number; doc: Record<string, unknown> } }).replace);
      if (ops.some((o) => o.doc.title === 'reject')) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ items: [], current_line: ops.length, skipped_lines: ops.length, errors: true, error: 'rejected by the fake' }));
        return;
      }
      for (const o of ops) this.docs.set(String(o.id), o.doc);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: [{ bulk: { created: ops.length, status: 201 } }], current_line: ops.length, skipped_lines: 0, errors: false, error: '' }));
    });
  });
  url = '';
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let dir: string;
const fakes: FakeBulk[] = [];
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bulk-load-'));
});
after(async () => {
  for (const f of fakes) await f.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function fake(): Promise<FakeBulk> {
  const f = new FakeBulk();
  await f.start();
  fakes.push(f);
  return f;
}

function csv(name: string, rows: number, reject: Set<number> = new Set()): string {
  const file = path.join(dir, name);
  const lines = ['id,title'];
  for (let i = 1; i <= rows; i++) lines.push(`${i},${reject.has(i) ? 'reject' : `row ${i}`}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function input(op: string, source: string, targets: FakeBulk[], cp: BulkCheckpoint, over: Partial<BulkLoadInput> = {}): BulkLoadInput {
  return {
    operationId: op,
    table: 't_main_b',
    columns: [{ name: 'title', type: 'text' }],
    format: 'csv',
    header: 'auto',
    idColumn: true,
    sources: [source],
    batchSize: 10,
    workers: 3,
    targets: targets.map((f, i) => ({ node: `node${i}`, url: f.url })),
    checkpoint: cp,
    chunkMs: 0,
    ...over,
  };
}

const opts = { logger: silentLogger(), backoffMs: 5 };

describe('loadBulkChunk', () => {
  it('loads chunk by chunk into every target; a restart resumes from the checkpoint without resending it', async () => {
    const [a, b] = [await fake(), await fake()];
    const source = csv('resume.csv', 95);
    // chunkMs 0: every chunk returns after its first round of batches
    let cp = await loadBulkChunk(input('op-resume', source, [a, b], EMPTY_CHECKPOINT), opts);
    assert.equal(cp.done, false);
    assert.ok(cp.records > 0 && cp.records < 95, `first chunk: ${cp.records} records`);
    assert.equal(cp.rows, cp.records);
    cp = await loadBulkChunk(input('op-resume', source, [a, b], cp), opts);
    const before = { records: cp.records, requests: a.requests };
    // a "new process": the open stream is gone; the next chunk reopens and skips the loaded records
    closeBulkSession('op-resume');
    while (!cp.done) cp = await loadBulkChunk(input('op-resume', source, [a, b], cp), opts);
    assert.equal(cp.rows, 95);
    assert.equal(cp.records, 95);
    assert.equal(cp.failedBatches, 0);
    assert.equal(a.requests - before.requests, Math.ceil((95 - before.records) / 10), 'only the batches after the checkpoint were sent');
    for (const f of [a, b]) {
      assert.equal(f.docs.size, 95);
      assert.deepEqual(f.docs.get('95'), { title: 'row 95' });
    }
  });

  it('counts every failed batch and goes on to the end; bad values fail their batch with file and line', async () => {
    const a = await fake();
    const file = path.join(dir, 'bad.csv');
    writeFileSync(file, `id,title\n1,ok\n2,reject\n${Array.from({ length: 20 }, (_, i) => `${i + 3},fine ${i}`).join('\n')}\nx,not an id\n`);
    let cp = EMPTY_CHECKPOINT;
    while (!cp.done) cp = await loadBulkChunk(input('op-bad', file, [a], cp), opts);
    assert.equal(cp.batches, 3);
    assert.equal(cp.failedBatches, 2);
    assert.equal(cp.failedRows, 13);
    assert.equal(cp.rows, 10);
    // the earliest batch's failure, although the third batch's bad id was seen first
    assert.match(cp.firstError ?? '', /node0: HTTP 500: rejected by the fake/);
  });

  it('asks a target that does not answer again, and fails the chunk as retryable after the attempts', async () => {
    const a = await fake();
    const source = csv('flaky.csv', 10);
    a.down = 2;
    const cp = await loadBulkChunk(input('op-flaky', source, [a], EMPTY_CHECKPOINT, { chunkMs: 10_000 }), opts);
    assert.equal(cp.done, true);
    assert.equal(cp.rows, 10);
    a.down = 100;
    await assert.rejects(
      loadBulkChunk(input('op-down', source, [a], EMPTY_CHECKPOINT), { ...opts, attempts: 3 }),
      (err: Error & { code?: string; retryable?: boolean }) => err.code === 'BULK_NODE_UNREACHABLE' && err.retryable === true,
    );
  });

  it('a missing source fails at once, not retryable', async () => {
    const a = await fake();
    await assert.rejects(
      loadBulkChunk(input('op-missing', path.join(dir, 'nope.csv'), [a], EMPTY_CHECKPOINT), opts),
      (err: Error & { code?: string; retryable?: boolean }) => err.code === 'BULK_SOURCE_INVALID' && err.retryable === false && /no such file/.test(err.message),
    );
  });
});
