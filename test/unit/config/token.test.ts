import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadControllerToken } from '../../../src/config/controller.js';
import { resolveToken, tokenFile } from '../../../src/config/token.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'mco-token-'));
  dirs.push(d);
  return d;
}

describe('admin token', () => {
  test('generated once into <data dir>/token with mode 0600, then reused', () => {
    const dataDir = path.join(tmp(), 'nested', 'data');
    const first = loadControllerToken({}, dataDir);
    assert.equal(first.source, 'generated');
    assert.match(first.token, /^[0-9a-f]{64}$/);
    assert.equal(first.file, tokenFile(dataDir));
    assert.equal(readFileSync(tokenFile(dataDir), 'utf8').trim(), first.token);
    assert.equal(statSync(tokenFile(dataDir)).mode & 0o777, 0o600);

    const second = loadControllerToken({}, dataDir);
    assert.equal(second.source, 'file');
    assert.equal(second.token, first.token);
  });

  test('ORCHESTRATOR_TOKEN, else AUTH_TOKEN, wins over the file and writes nothing', () => {
    const dataDir = tmp();
    const t = loadControllerToken({ AUTH_TOKEN: 'original-token-1234567', ORCHESTRATOR_TOKEN: 'new-token-12345678901' }, dataDir);
    assert.deepEqual(t, { token: 'new-token-12345678901', source: 'env', from: 'ORCHESTRATOR_TOKEN' });
    assert.equal(loadControllerToken({ AUTH_TOKEN: 'original-token-1234567' }, dataDir).from, 'AUTH_TOKEN');
    assert.throws(() => statSync(tokenFile(dataDir)), /ENOENT/);
  });

  test('a token file readable by others is tightened to 0600', () => {
    const dataDir = tmp();
    writeFileSync(tokenFile(dataDir), 'kept-token-0123456789\n');
    chmodSync(tokenFile(dataDir), 0o644);
    const t = resolveToken(undefined, dataDir);
    assert.equal(t.token, 'kept-token-0123456789');
    assert.equal(statSync(tokenFile(dataDir)).mode & 0o777, 0o600);
  });

  test('a malformed token names where it came from and how to make one', () => {
    assert.throws(() => loadControllerToken({ ORCHESTRATOR_TOKEN: 'short' }, tmp()), /ORCHESTRATOR_TOKEN: the token must be 16 to 512 characters.*openssl rand -hex 32/);
    assert.throws(() => loadControllerToken({ AUTH_TOKEN: 'has spaces in it 123456' }, tmp()), /AUTH_TOKEN: the token must be/);
    const dataDir = tmp();
    writeFileSync(tokenFile(dataDir), 'x\n');
    assert.throws(() => loadControllerToken({}, dataDir), (err: unknown) => err instanceof Error && err.message.startsWith(`${tokenFile(dataDir)}: the token must be`));
  });
});
