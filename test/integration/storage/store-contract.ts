/**
 * The behaviour every ObjectStore must have, run against each implementation by the *.test.ts files here:
 * round trips, listing, missing keys, bad keys, and failed or aborted uploads leaving nothing under the key.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isAppError } from '../../../src/lib/errors.js';
import type { ObjectStore } from '../../../src/storage/types.js';

/** Deterministic pseudo-random bytes (xorshift), produced lazily in 64 KiB chunks. */
export function generated(size: number, seed = 1, opts: { failAt?: number } = {}): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let x = seed >>> 0 || 1;
  let sent = 0;
  let digest: string | undefined;
  const stream = new Readable({
    read() {
      if (opts.failAt !== undefined && sent >= opts.failAt) {
        this.destroy(new Error(`source failed after ${sent} bytes`));
        return;
      }
      if (sent >= size) {
        digest = hash.digest('hex');
        this.push(null);
        return;
      }
      const n = Math.min(64 * 1024, size - sent, opts.failAt !== undefined ? Math.max(1, opts.failAt - sent) : Infinity);
      const buf = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        buf[i] = x & 0xff;
      }
      hash.update(buf);
      sent += n;
      this.push(buf);
    },
  });
  return {
    stream,
    sha256: () => {
      if (digest === undefined) throw new Error('the generated stream has not ended');
      return digest;
    },
  };
}

export async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

export async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function assertCode(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(isAppError(err), `expected an AppError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

export interface ContractOptions {
  store: () => ObjectStore;
  /** Size of the body that fails mid-stream: big enough to start a multipart/chunked upload. */
  failingSize: number;
  failAt: number;
  /** Checks after a failed upload that nothing is pending on the server (S3 multipart uploads...). */
  nothingPending?: () => Promise<void>;
}

export function storeContract(name: string, o: ContractOptions): void {
  test(`${name}: put/get/head/list/delete round trip`, async () => {
    const s = o.store();
    const put = await s.put('contract/a/one.txt', Readable.from([Buffer.from('hello '), Buffer.from('world')]), { contentType: 'text/plain' });
    assert.equal(put.key, 'contract/a/one.txt');
    assert.equal(put.size, 11);
    assert.equal(await readText(await s.get('contract/a/one.txt')), 'hello world');
    await s.put('contract/a/two.bin', generated(300_000, 7).stream);
    await s.put('contract/b/three.txt', Readable.from([Buffer.from('3')]));
    await s.put('contract/empty', Readable.from([]));

    const head = await s.head('contract/a/two.bin');
    assert.ok(head);
    assert.equal(head.size, 300_000);
    assert.ok(head.lastModified instanceof Date && !Number.isNaN(head.lastModified.getTime()));
    assert.equal((await s.head('contract/empty'))?.size, 0);

    const listed = await s.list('contract/a/');
    assert.deepEqual(listed.map((x) => [x.key, x.size]), [['contract/a/one.txt', 11], ['contract/a/two.bin', 300_000]]);
    assert.deepEqual((await s.list('contract/')).map((x) => x.key), ['contract/a/one.txt', 'contract/a/two.bin', 'contract/b/three.txt', 'contract/empty']);
    assert.deepEqual((await s.list('contract/a/t')).map((x) => x.key), ['contract/a/two.bin']);
    assert.deepEqual(await s.list('nothing-here/'), []);

    const back = await sha256Of(await s.get('contract/a/two.bin'));
    const src = generated(300_000, 7);
    const expected = await sha256Of(src.stream);
    assert.deepEqual(back, expected);

    // overwrite replaces
    await s.put('contract/a/one.txt', Readable.from([Buffer.from('v2')]));
    assert.equal(await readText(await s.get('contract/a/one.txt')), 'v2');

    for (const k of ['contract/a/one.txt', 'contract/a/two.bin', 'contract/b/three.txt', 'contract/empty']) await s.delete(k);
    assert.equal(await s.head('contract/a/one.txt'), undefined);
    assert.deepEqual(await s.list('contract/'), []);
    await s.delete('contract/a/one.txt'); // deleting a missing key is fine
  });

  test(`${name}: a missing key is STORAGE_NOT_FOUND on get and undefined on head`, async () => {
    const s = o.store();
    await assert.rejects(s.get('missing/key.tar.gz'), assertCode('STORAGE_NOT_FOUND'));
    assert.equal(await s.head('missing/key.tar.gz'), undefined);
  });

  test(`${name}: bad keys are refused before anything is sent`, async () => {
    const s = o.store();
    for (const bad of ['', '/abs', 'a/../b', '../up', 'a//b', 'a/./b', 'nul\u0000']) {
      await assert.rejects(s.put(bad, Readable.from([Buffer.from('x')])), assertCode('VALIDATION_FAILED'), bad);
      await assert.rejects(s.get(bad), assertCode('VALIDATION_FAILED'), bad);
    }
  });

  test(`${name}: a source that fails mid-stream leaves no object under the key`, async () => {
    const s = o.store();
    const key = 'failing/source.tar.gz';
    const body = generated(o.failingSize, 3, { failAt: o.failAt });
    await assert.rejects(s.put(key, body.stream), assertCode('STORAGE_UPLOAD_FAILED'));
    assert.equal(await s.head(key), undefined);
    assert.deepEqual(await s.list('failing/'), []);
    await o.nothingPending?.();
  });

  test(`${name}: an aborted put leaves no object and says STORAGE_ABORTED`, async () => {
    const s = o.store();
    const key = 'aborted/upload.tar.gz';
    const ac = new AbortController();
    const body = generated(o.failingSize, 4);
    let seen = 0;
    body.stream.on('data', (c: Buffer) => {
      seen += c.length;
      if (seen >= o.failAt && !ac.signal.aborted) ac.abort(new Error('test abort'));
    });
    await assert.rejects(s.put(key, body.stream, { signal: ac.signal }), assertCode('STORAGE_ABORTED'));
    assert.equal(await s.head(key), undefined);
    assert.deepEqual(await s.list('aborted/'), []);
    await o.nothingPending?.();
    // already aborted: refused at once
    await assert.rejects(s.put(key, Readable.from([Buffer.from('x')]), { signal: ac.signal }), assertCode('STORAGE_ABORTED'));
  });
}
