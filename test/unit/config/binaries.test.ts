import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findOnPath, resolveBinariesFrom } from '../../../src/config/binaries.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'mco-bins-'));
after(() => rmSync(root, { recursive: true, force: true }));

function fakeBinary(dir: string, name: string, executable = true): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, executable ? 0o755 : 0o644);
  return file;
}

describe('binaries', () => {
  test('the simulator when nothing names a binary and none is on PATH', () => {
    const b = resolveBinariesFrom({ PATH: path.join(root, 'empty') });
    assert.equal(b.isSimulator, true);
    assert.match(b.searchd, /searchd-sim\.js$/);
    assert.match(b.indexer, /indexer-sim\.js$/);
    assert.match(b.backup, /manticore-backup-sim\.js$/);
  });

  test('real binaries on PATH are used; an env var names one explicitly and wins', () => {
    const bin = path.join(root, 'bin');
    const searchd = fakeBinary(bin, 'searchd');
    const indexer = fakeBinary(bin, 'indexer');
    fakeBinary(path.join(root, 'noexec'), 'manticore-backup', false);
    const PATH = [path.join(root, 'noexec'), bin].join(path.delimiter);
    assert.equal(findOnPath('searchd', PATH), searchd);
    assert.equal(findOnPath('manticore-backup', PATH), undefined, 'not executable: skipped');
    const b = resolveBinariesFrom({ PATH });
    assert.deepEqual([b.searchd, b.indexer, b.isSimulator], [searchd, indexer, false]);
    assert.match(b.backup, /manticore-backup-sim\.js$/);
    assert.equal(resolveBinariesFrom({ PATH, SEARCHD_BIN: '/opt/m/searchd' }).searchd, '/opt/m/searchd');
  });
});
