/**
 * Streaming tar.gz archives: exact round trips, stable output, refusal of unsafe entries before anything is
 * written outside the destination, detection of truncated and corrupted archives, and the archive naming.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { isAppError } from '../../../src/lib/errors.js';
import {
  archiveName,
  archiveTimestamp,
  inspectArchive,
  packDirectory,
  parseArchiveName,
  sha256PassThrough,
  unpackArchive,
} from '../../../src/storage/archive.js';

let tmp: string;
let src: string;

function code(expected: string | string[]): (err: unknown) => boolean {
  const codes = Array.isArray(expected) ? expected : [expected];
  return (err: unknown) => {
    assert.ok(isAppError(err), `expected an AppError, got ${String(err)}`);
    assert.ok(codes.includes(err.code), `expected ${codes.join('|')}, got ${err.code}: ${err.message}`);
    return true;
  };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A tar.gz built by hand, for entries packDirectory would never produce. */
type Hdr = Partial<tar.Header> & { name: string };
async function craft(entries: { header: Hdr; body?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => pack.entry(e.header as tar.Header, e.body ?? '', (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  return gzipSync(await collect(pack as unknown as Readable));
}

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const full = path.join(dir, rel);
    out[rel.split(path.sep).join('/')] = existsSync(full) && !readdirSafe(full) ? readFileSync(full).toString('base64') : '<dir>';
  }
  return out;
}
function readdirSafe(p: string): boolean {
  try {
    readdirSync(p);
    return true;
  } catch {
    return false;
  }
}

before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'archive-test-'));
  src = path.join(tmp, 'src');
  mkdirSync(path.join(src, 'products_delta', 'chunks'), { recursive: true });
  mkdirSync(path.join(src, 'config'), { recursive: true });
  mkdirSync(path.join(src, 'empty-dir'), { recursive: true });
  writeFileSync(path.join(src, 'products_delta', 'products_delta.meta'), '{"meta":1}');
  writeFileSync(path.join(src, 'products_delta', 'chunks', 'products_delta.0.spa'), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff)));
  writeFileSync(path.join(src, 'products_delta', 'empty.spi'), '');
  writeFileSync(path.join(src, 'config', 'manticore.json'), '{"clusters":{}}');
  writeFileSync(path.join(src, 'versions.json'), '{"backup":"1.0"}');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('pack → unpack gives back every file byte for byte, directories included', async () => {
  const dest = path.join(tmp, 'round-trip');
  const result = await unpackArchive(packDirectory(src), dest);
  assert.deepEqual(tree(dest), tree(src));
  assert.deepEqual(result.files, [
    'config/manticore.json',
    'products_delta/chunks/products_delta.0.spa',
    'products_delta/empty.spi',
    'products_delta/products_delta.meta',
    'versions.json',
  ]);
  assert.equal(result.bytes, 70_000 + 10 + 15 + 16);
});

test('packing is stable: the same tree gives the same bytes, entries in sorted depth-first order', async () => {
  const a = await collect(packDirectory(src));
  const b = await collect(packDirectory(src));
  assert.ok(a.equals(b));
  const info = await inspectArchive(Readable.from([a]));
  assert.deepEqual(
    info.entries.map((e) => `${e.type}:${e.name}`),
    [
      'directory:config',
      'file:config/manticore.json',
      'directory:empty-dir',
      'directory:products_delta',
      'directory:products_delta/chunks',
      'file:products_delta/chunks/products_delta.0.spa',
      'file:products_delta/empty.spi',
      'file:products_delta/products_delta.meta',
      'file:versions.json',
    ],
  );
  assert.equal(info.files, 5);
  assert.equal(info.compressedBytes, a.length);
  const hasher = sha256PassThrough();
  await collect(Readable.from([a]).pipe(hasher));
  assert.equal(info.sha256, hasher.digest());
});

test('a symlink in the source fails the pack instead of being skipped silently', async () => {
  const dir = path.join(tmp, 'with-link');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'a'), 'a');
  symlinkSync('/etc/passwd', path.join(dir, 'link'));
  await assert.rejects(collect(packDirectory(dir)), code('ARCHIVE_UNSUPPORTED_ENTRY'));
  await assert.rejects(collect(packDirectory(path.join(tmp, 'does-not-exist'))), code('ARCHIVE_PACK_FAILED'));
});

const HOSTILE: { label: string; header: Hdr; body?: string }[] = [
  { label: 'parent traversal', header: { name: '../evil.txt', type: 'file', size: 4 }, body: 'evil' },
  { label: 'nested traversal', header: { name: 'ok/../../evil.txt', type: 'file', size: 4 }, body: 'evil' },
  { label: 'absolute path', header: { name: `${os.tmpdir()}/evil-absolute.txt`, type: 'file', size: 4 }, body: 'evil' },
  { label: 'drive letter', header: { name: 'C:evil.txt', type: 'file', size: 4 }, body: 'evil' },
  { label: 'backslash traversal', header: { name: '..\\evil.txt', type: 'file', size: 4 }, body: 'evil' },
  { label: 'symlink', header: { name: 'link', type: 'symlink', linkname: '/etc' } },
  { label: 'hard link', header: { name: 'hard', type: 'link', linkname: '../../etc/passwd' } },
  { label: 'character device', header: { name: 'dev', type: 'character-device', devmajor: 1, devminor: 3 } },
  { label: 'fifo', header: { name: 'fifo', type: 'fifo' } },
];

for (const h of HOSTILE) {
  test(`unsafe entry refused (${h.label}), nothing written outside the destination`, async () => {
    const box = mkdtempSync(path.join(tmp, 'box-'));
    const dest = path.join(box, 'a', 'b');
    // a harmless entry first, then the hostile one
    const archive = await craft([{ header: { name: 'first.txt', type: 'file', size: 2 }, body: 'ok' }, { header: h.header, ...(h.body ? { body: h.body } : {}) }]);
    await assert.rejects(unpackArchive(Readable.from([archive]), dest), code('ARCHIVE_UNSAFE_ENTRY'));
    assert.deepEqual(readdirSync(box, { recursive: true }).map(String).sort(), ['a', path.join('a', 'b'), path.join('a', 'b', 'first.txt')]);
    assert.equal(existsSync(path.join(os.tmpdir(), 'evil-absolute.txt')), false);
    await assert.rejects(inspectArchive(Readable.from([archive])), code('ARCHIVE_UNSAFE_ENTRY'));
  });
}

test('a truncated archive is detected by inspectArchive and refused by unpackArchive', async () => {
  const whole = await collect(packDirectory(src));
  for (const cut of [Math.floor(whole.length / 2), whole.length - 4, 20]) {
    const part = whole.subarray(0, cut);
    await assert.rejects(inspectArchive(Readable.from([part])), code(['ARCHIVE_TRUNCATED', 'ARCHIVE_CORRUPT']), `cut at ${cut}`);
    await assert.rejects(unpackArchive(Readable.from([part]), path.join(tmp, `trunc-${cut}`)), code(['ARCHIVE_TRUNCATED', 'ARCHIVE_CORRUPT']));
  }
  const half = whole.subarray(0, Math.floor(whole.length / 2));
  await assert.rejects(inspectArchive(Readable.from([half])), code('ARCHIVE_TRUNCATED'));
});

test('a corrupted archive is detected: flipped bytes, bad gzip CRC, not gzip at all, garbage tar', async () => {
  const whole = await collect(packDirectory(src));
  const flipped = Buffer.from(whole);
  for (let i = Math.floor(flipped.length / 3); i < Math.floor(flipped.length / 3) + 64; i++) flipped[i] = (flipped[i] ?? 0) ^ 0x5a;
  await assert.rejects(inspectArchive(Readable.from([flipped])), code(['ARCHIVE_CORRUPT', 'ARCHIVE_TRUNCATED']));

  const badCrc = Buffer.from(whole);
  const crcAt = badCrc.length - 8;
  badCrc[crcAt] = (badCrc[crcAt] ?? 0) ^ 0xff;
  await assert.rejects(inspectArchive(Readable.from([badCrc])), code('ARCHIVE_CORRUPT'));

  await assert.rejects(inspectArchive(Readable.from([Buffer.from('this is not a gzip stream at all')])), code('ARCHIVE_CORRUPT'));
  await assert.rejects(inspectArchive(Readable.from([gzipSync(Buffer.alloc(2048, 0x41))])), code(['ARCHIVE_CORRUPT', 'ARCHIVE_TRUNCATED']));
});

test('the whole good archive inspects clean', async () => {
  const info = await inspectArchive(packDirectory(src));
  assert.equal(info.files, 5);
  assert.equal(info.bytes, 70_000 + 10 + 15 + 16);
});

test('archiveName and parseArchiveName keep the original naming', () => {
  const d = new Date('2025-01-28T22:50:49.734Z');
  assert.equal(archiveTimestamp(d), '2025-01-28T22-50-49Z');
  assert.equal(archiveName('addresses_delta', d), 'addresses_delta-2025-01-28T22-50-49Z.tar.gz');
  assert.equal(archiveName('addresses_main_b', d), 'addresses_main_b-2025-01-28T22-50-49Z.tar.gz');
  assert.deepEqual(parseArchiveName('addresses_delta-2025-01-28T22-50-49Z.tar.gz'), { table: 'addresses_delta', date: new Date('2025-01-28T22:50:49Z') });
  assert.deepEqual(parseArchiveName('my-table_main_a-2025-01-28T22-50-49Z.tar.gz'), undefined, 'a dash is not valid in a table name');
  for (const bad of [
    'addresses_delta-2025-01-28T22-50-49Z.tar',
    'addresses_delta-2025-13-28T22-50-49Z.tar.gz',
    'addresses_delta-2025-02-30T22-50-49Z.tar.gz',
    'addresses_delta-2025-01-28T22:50:49Z.tar.gz',
    '../addresses_delta-2025-01-28T22-50-49Z.tar.gz',
    'backups/addresses_delta-2025-01-28T22-50-49Z.tar.gz',
    '-2025-01-28T22-50-49Z.tar.gz',
  ]) {
    assert.equal(parseArchiveName(bad), undefined, bad);
  }
  assert.throws(() => archiveName('../x', d), /table/);
  assert.throws(() => archiveName('t', new Date('nope')), /invalid/);
});

test('sha256PassThrough hashes what flows through and refuses a digest before the end', async () => {
  const h = sha256PassThrough();
  assert.throws(() => h.digest(), /not ended/);
  const out = await collect(Readable.from([Buffer.from('abc')]).pipe(h));
  assert.equal(out.toString(), 'abc');
  assert.equal(h.digest(), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(h.bytes, 3);
});
