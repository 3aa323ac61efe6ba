/**
 * Child process for the memory tests: runs one streaming job with `--expose-gc`, sampling RSS (after a GC,
 * so garbage buffers do not count) and prints one JSON line: {rssBefore, rssPeak, ...result}.
 * Isolated from the test process so the test servers' own memory is not counted.
 *
 *   node --expose-gc memory-probe.js upload <storeConfigJson> <key> <bytes>
 *   node --expose-gc memory-probe.js archive <srcDir> <destDir>
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inspectArchive, packDirectory, unpackArchive } from '../../../src/storage/archive.js';
import { createObjectStore } from '../../../src/storage/index.js';
import type { StoreConfig } from '../../../src/storage/types.js';
import { generated } from './store-contract.js';

/** RSS sampling period */
const SAMPLE_MS = 25;

const gc = (globalThis as { gc?: () => void }).gc;

async function measured<T>(job: () => Promise<T>): Promise<T & { rssBefore: number; rssPeak: number }> {
  gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const timer = setInterval(() => {
    gc?.();
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, SAMPLE_MS);
  try {
    const out = await job();
    gc?.();
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    return { ...out, rssBefore, rssPeak };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === 'upload' && a && b && c) {
    const store = createObjectStore(JSON.parse(a) as StoreConfig);
    const size = Number(c);
    // Warm up first (the SDK loads modules and builds its clients lazily), so only the upload is measured.
    await store.put(`${b}.warmup`, generated(11 * 1024 * 1024, 5).stream);
    await store.delete(`${b}.warmup`);
    const result = await measured(async () => {
      const body = generated(size, 31);
      const put = await store.put(b, body.stream);
      return { size: put.size, sha256: body.sha256() };
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (mode === 'archive' && a && b) {
    const result = await measured(async () => {
      // pack → (tee: inspect + unpack) in one pass, as a restore would read a downloaded archive twice
      const packed = packDirectory(a);
      const hash = createHash('sha256');
      const tee = new PassThrough();
      tee.on('data', (chunk: Buffer) => hash.update(chunk));
      const toUnpack = new PassThrough();
      const feeding = pipeline(packed, tee, toUnpack);
      const unpacked = await unpackArchive(toUnpack, b);
      await feeding;
      return { files: unpacked.files.length, bytes: unpacked.bytes, sha256: hash.digest('hex') };
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (mode === 'inspect-dir' && a) {
    const result = await measured(async () => {
      const info = await inspectArchive(packDirectory(a));
      return { files: info.files, bytes: info.bytes, compressedBytes: info.compressedBytes };
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  throw new Error(`usage: memory-probe.js upload <configJson> <key> <bytes> | archive <srcDir> <destDir> | inspect-dir <dir>`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
