import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claimDataDir, loadOrAllocatePorts, localNodeFiles, lockFile, persistedPorts, releaseDataDir } from '../../../src/platform/local/node-files.js';
import { AppError } from '../../../src/lib/errors.js';
import { backoffDelay, DEFAULT_TIMINGS } from '../../../src/platform/local/node-supervisor.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'mco-ports-'));
  dirs.push(d);
  return d;
}

describe('local node ports', () => {
  test('allocated once into nodes/node<i>/ports.json and reused; nodes never share a port', async () => {
    const dataDir = tmp();
    const a = await loadOrAllocatePorts(dataDir, 0);
    assert.equal(a.reused, false);
    const file = localNodeFiles(dataDir, 0).portsFile;
    assert.equal(file, path.join(dataDir, 'nodes', 'node0', 'ports.json'));
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), a.ports);
    assert.equal(a.ports.agent, a.ports.mysql + 7, 'the agent takes the last port of the block');
    const again = await loadOrAllocatePorts(dataDir, 0);
    assert.deepEqual(again, { ports: a.ports, reused: true });

    const b = await loadOrAllocatePorts(dataDir, 1);
    const taken = new Set(Object.values(a.ports));
    assert.ok(Object.values(b.ports).every((p) => !taken.has(p)));
    assert.equal(persistedPorts(dataDir).size, 2 * 8);
  });

  test('a damaged ports.json is an error that says how to fix it, not a silent re-allocation', async () => {
    const dataDir = tmp();
    const file = localNodeFiles(dataDir, 0).portsFile;
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '{"mysql": 1}');
    await assert.rejects(loadOrAllocatePorts(dataDir, 0), /ports\.json: 'http' must be a port number: fix it, or delete the file/);
    writeFileSync(file, 'nope');
    await assert.rejects(loadOrAllocatePorts(dataDir, 0), /is not valid JSON/);
  });
});

describe('restart backoff', () => {
  test('doubles from the base and stops at the cap', () => {
    const t = { ...DEFAULT_TIMINGS, backoffBaseMs: 500, backoffMaxMs: 30_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, t)),
      [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000],
    );
  });
});

describe('one local platform per data dir', () => {
  test('a second claim in this process, or a claim while another live process holds it, is refused; a dead holder is taken over', () => {
    const dataDir = tmp();
    claimDataDir(dataDir);
    assert.throws(() => claimDataDir(dataDir), /is used by another local platform in this process/);
    releaseDataDir(dataDir);
    assert.equal(existsSync(lockFile(dataDir)), false, 'released: the lock file is gone');

    writeFileSync(lockFile(dataDir), `${process.ppid}\n`);
    assert.throws(
      () => claimDataDir(dataDir),
      (err: unknown) => err instanceof AppError && err.code === 'DATA_DIR_IN_USE' && err.message.includes(`process ${process.ppid}: stop that process first`),
    );

    writeFileSync(lockFile(dataDir), '4194301\n'); // above Linux's pid_max: never a live process
    claimDataDir(dataDir);
    assert.equal(readFileSync(lockFile(dataDir), 'utf8').trim(), String(process.pid));
    releaseDataDir(dataDir);
  });
});
