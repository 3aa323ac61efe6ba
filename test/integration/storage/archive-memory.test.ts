/**
 * Memory stays flat when archiving: a ~200 MiB file generated on the fly is packed and unpacked as streams in a
 * child process (RSS sampled after GC); the restored file is byte-identical. The RSS figures are printed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generated, sha256Of } from './store-contract.js';

const MIB = 1024 * 1024;
const BIG = 200 * MIB;
/** RSS growth allowed while a 200 MiB file goes through pack + unpack: a small fraction of the data */
const RSS_GROWTH_LIMIT = 64 * MIB;
/** pack + gzip + gunzip + extract of 200 MiB in the child */
const PROBE_TIMEOUT_MS = 300_000;
const PROBE = fileURLToPath(new URL('./memory-probe.js', import.meta.url));
const execFileAsync = promisify(execFile);

let tmp: string;
let src: string;
let bigSha: string;

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'archive-memory-'));
  src = path.join(tmp, 'src');
  mkdirSync(path.join(src, 'big_delta'), { recursive: true });
  const body = generated(BIG, 77);
  await pipeline(body.stream, createWriteStream(path.join(src, 'big_delta', 'big_delta.0.spd')));
  bigSha = body.sha256();
  writeFileSync(path.join(src, 'big_delta', 'big_delta.meta'), '{"meta":true}');
  writeFileSync(path.join(src, 'manticore.json'), '{}');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('a 200 MiB table file is packed and unpacked with flat memory and comes back identical', { timeout: PROBE_TIMEOUT_MS + 60_000 }, async () => {
  const dest = path.join(tmp, 'dest');
  const child = await execFileAsync(process.execPath, ['--expose-gc', PROBE, 'archive', src, dest], { timeout: PROBE_TIMEOUT_MS });
  const probe = JSON.parse(child.stdout) as { files: number; bytes: number; rssBefore: number; rssPeak: number };
  const growth = probe.rssPeak - probe.rssBefore;
  process.stderr.write(
    `archive 200 MiB pack+unpack (child): rss before ${(probe.rssBefore / MIB).toFixed(1)} MiB, peak ${(probe.rssPeak / MIB).toFixed(1)} MiB, growth ${(growth / MIB).toFixed(1)} MiB\n`,
  );
  assert.equal(probe.files, 3);
  assert.equal(probe.bytes, BIG + 13 + 2);
  const back = await sha256Of(createReadStream(path.join(dest, 'big_delta', 'big_delta.0.spd')));
  assert.deepEqual(back, { sha256: bigSha, size: BIG });
  assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${(growth / MIB).toFixed(1)} MiB (limit ${RSS_GROWTH_LIMIT / MIB} MiB)`);
});

test('inspecting a 200 MiB archive reads it whole with flat memory', { timeout: PROBE_TIMEOUT_MS + 60_000 }, async () => {
  const child = await execFileAsync(process.execPath, ['--expose-gc', PROBE, 'inspect-dir', src], { timeout: PROBE_TIMEOUT_MS });
  const probe = JSON.parse(child.stdout) as { files: number; bytes: number; compressedBytes: number; rssBefore: number; rssPeak: number };
  const growth = probe.rssPeak - probe.rssBefore;
  process.stderr.write(`archive 200 MiB pack+inspect (child): rss before ${(probe.rssBefore / MIB).toFixed(1)} MiB, peak ${(probe.rssPeak / MIB).toFixed(1)} MiB, growth ${(growth / MIB).toFixed(1)} MiB\n`);
  assert.equal(probe.files, 3);
  assert.equal(probe.bytes, BIG + 15);
  assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${(growth / MIB).toFixed(1)} MiB (limit ${RSS_GROWTH_LIMIT / MIB} MiB)`);
});
