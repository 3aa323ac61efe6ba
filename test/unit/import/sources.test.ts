/** Source references, pre-flight (files and URLs), the disk-space decision, and build-main params. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { decideDiskSpace, displayName, freeBytes, parseSource, probeSources, SourceError } from '../../../src/import/sources.js';
import { validateBuildMainParams } from '../../../src/import/build-params.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mco-sources-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('parseSource', () => {
  test('absolute paths, https URLs, http only on loopback; everything else refused with the fix', () => {
    assert.deepEqual(parseSource('/vol/a/../b.csv', 's'), { kind: 'file', path: '/vol/b.csv' });
    assert.equal(parseSource('https://example.com/a.csv', 's').kind, 'url');
    assert.equal(parseSource('http://127.0.0.1:8080/a.csv', 's').kind, 'url');
    assert.throws(() => parseSource('http://example.com/a.csv', 'params.sources[0]'), /params\.sources\[0\]: http:\/\/ sources are not read by the node/);
    assert.throws(() => parseSource('ftp://example.com/a.csv', 's'), /ftp:\/\/ sources are not read by the node.*s3:\/\/bucket\/key/);
    assert.throws(() => parseSource('relative/a.csv', 's'), /neither an absolute path nor a URL/);
    assert.throws(() => parseSource('/a\nb.csv', 's'), /NUL, CR or LF/);
  });

  test('s3:// and gs:// objects: bucket and key kept as written; a bad bucket or no key is refused with the fix', () => {
    assert.deepEqual(parseSource('s3://my-bucket/imports/2026/products.csv', 's'), { kind: 'object', store: 's3', bucket: 'my-bucket', key: 'imports/2026/products.csv' });
    assert.deepEqual(parseSource('gs://bucket.example/p%20q.csv', 's'), { kind: 'object', store: 'gcs', bucket: 'bucket.example', key: 'p%20q.csv' });
    assert.equal(displayName(parseSource('s3://b1b/k/a.csv', 's')), 's3://b1b/k/a.csv');
    assert.throws(() => parseSource('s3://bucket', 'params.sources[1]'), /params\.sources\[1\]: "s3:\/\/bucket" names no object: write s3:\/\/bucket\/path\/products\.csv/);
    assert.throws(() => parseSource('gs://bucket/dir/', 's'), /names no object/);
    assert.throws(() => parseSource('s3://Bad_Bucket!/a.csv', 's'), /is not a bucket name/);
    assert.throws(() => parseSource('s3://bucket/a/../b.csv', 's'), /plain segments/);
  });

  test('display names hide credentials and query strings', () => {
    assert.equal(displayName(parseSource('https://user:pw@example.com/a.csv?sig=secret', 's')), 'https://example.com/a.csv');
  });
});

describe('pre-flight', () => {
  test('files: sizes summed; a missing file or a directory is named', async () => {
    writeFileSync(path.join(dir, 'a.csv'), '12345');
    writeFileSync(path.join(dir, 'b.csv'), '123');
    const ok = await probeSources([parseSource(path.join(dir, 'a.csv'), 's'), parseSource(path.join(dir, 'b.csv'), 's')]);
    assert.equal(ok.totalBytes, 8);
    await assert.rejects(probeSources([parseSource(path.join(dir, 'missing.csv'), 's')]), (err: unknown) => err instanceof SourceError && err.message === `${path.join(dir, 'missing.csv')}: no such file`);
    await assert.rejects(probeSources([parseSource(dir, 's')]), /not a regular file/);
  });

  test('URLs: HEAD gives the size; no HEAD falls back to a ranged GET; errors carry the status', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/sized.csv') {
        res.writeHead(200, { 'content-length': '1000' });
        res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1000));
      } else if (req.url === '/nohead.csv') {
        if (req.method === 'HEAD') {
          res.writeHead(405);
          res.end();
        } else {
          res.writeHead(206, { 'content-range': 'bytes 0-0/5000', 'content-length': '1' });
          res.end('x');
        }
      } else if (req.url === '/unsized.csv') {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        res.end();
      } else {
        res.writeHead(403);
        res.end();
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await probeSources([parseSource(`${base}/sized.csv`, 's'), parseSource(`${base}/nohead.csv`, 's')])).totalBytes, 6000);
      assert.equal((await probeSources([parseSource(`${base}/unsized.csv`, 's')])).totalBytes, undefined);
      await assert.rejects(probeSources([parseSource(`${base}/secret.csv?token=x`, 's')]), new RegExp(`^SourceError: ${base}/secret.csv: HTTP 403 Forbidden$`));
    } finally {
      server.close();
    }
  });
});

describe('disk space', () => {
  test('at least 3x the source size, both numbers in the message', () => {
    const ok = decideDiskSpace('/vol/out', 1000, 3000);
    assert.equal(ok.ok, true);
    const short = decideDiskSpace('/vol/out', 1000, 2999);
    assert.equal(short.ok, false);
    assert.equal(short.needBytes, 3000);
    assert.match(short.message, /^not enough disk space in \/vol\/out: 2999 bytes \(0\.0 MiB\) free, 3000 bytes \(0\.0 MiB\) needed \(3x the 1000 bytes of source data/);
    const unknown = decideDiskSpace('/vol/out', undefined, 10);
    assert.equal(unknown.ok, true);
    assert.match(unknown.message, /source size unknown/);
  });

  test('freeBytes reads the filesystem', async () => {
    assert.ok((await freeBytes(dir)) > 0);
  });
});

describe('build-main params', () => {
  const good = {
    table: 'products',
    slot: 'b',
    columns: [{ name: 'title', type: 'text' }, { name: 'price', type: 'float', stored: true }],
    settings: { morphology: 'stem_en', min_infix_len: 2 },
    format: 'csv',
    header: true,
    sources: ['/vol/a.csv', 'https://example.com/b.csv'],
    memLimit: '512m',
    outDir: '/vol/shared/imports/op1/',
  };

  test('the contract shape is accepted and normalised', () => {
    const p = validateBuildMainParams(good);
    assert.equal(p.outDir, '/vol/shared/imports/op1/');
    assert.equal(p.memLimit, '512M');
    assert.deepEqual(p.columns[1], { name: 'price', type: 'float', stored: true });
  });

  test('every bad field is named with the fix', () => {
    const bad = (over: Record<string, unknown>, re: RegExp) => assert.throws(() => validateBuildMainParams({ ...good, ...over }), re);
    bad({ table: 'Products' }, /params\.table: use lower-case letters/);
    bad({ table: 'products_main_a' }, /params\.table: names ending in/);
    bad({ slot: 'c' }, /params\.slot: must be 'a' or 'b'/);
    bad({ columns: [] }, /params\.columns: give the table spec columns/);
    bad({ columns: [{ name: 'id', type: 'bigint' }] }, /params\.columns\[0\]\.name: 'id' is implicit/);
    bad({ columns: [{ name: 'x', type: 'varchar' }] }, /params\.columns\[0\]\.type: must be one of text, string/);
    bad({ columns: [{ name: 'x', type: 'text' }, { name: 'X', type: 'text' }] }, /params\.columns\[1\]\.name: column 'X' is declared twice/);
    bad({ settings: { morphology: 'a#b\n' } }, /params\.settings\.morphology: must not contain NUL, CR or LF/);
    bad({ format: 'json' }, /params\.format: must be 'csv' or 'tsv'/);
    bad({ header: 'yes' }, /params\.header: must be true/);
    bad({ sources: [] }, /params\.sources: give at least one source/);
    bad({ sources: ['ftp://x/a.csv'] }, /params\.sources\[0\]: ftp:\/\/ sources are not read/);
    bad({ outDir: 'relative' }, /params\.outDir: must be an absolute directory/);
    bad({ memLimit: '3G' }, /params\.memLimit: 3G is above/);
  });
});
