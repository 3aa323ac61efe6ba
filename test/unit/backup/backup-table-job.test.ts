import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findBackupDir, frozenTables, validateBackupTableParams } from '../../../src/agent/server/job-kinds/backup-table.js';
import { ValidationError } from '../../../src/lib/errors.js';

test('backup-table params: one table name, a normalized absolute dir', () => {
  assert.deepEqual(validateBackupTableParams({ table: 't_delta', backupDir: '/shared/backups/t/2025' }), { table: 't_delta', backupDir: '/shared/backups/t/2025' });
  const bad: [Record<string, unknown>, string][] = [
    [{ table: 't_delta; DROP', backupDir: '/x' }, 'params.table'],
    [{ table: 'a,b', backupDir: '/x' }, 'params.table'],
    [{ table: '1t', backupDir: '/x' }, 'params.table'],
    [{ table: 't', backupDir: 'relative/dir' }, 'params.backupDir'],
    [{ table: 't', backupDir: '/shared/../etc' }, 'params.backupDir'],
    [{ table: 't' }, 'params.backupDir'],
  ];
  for (const [p, field] of bad) assert.throws(() => validateBackupTableParams(p), (e: unknown) => e instanceof ValidationError && e.field === field, JSON.stringify(p));
});

test('findBackupDir: the tool\'s "backup here" line, else the newest backup-* dir', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bt-'));
  try {
    mkdirSync(path.join(dir, 'backup-20250101000000'));
    mkdirSync(path.join(dir, 'backup-20250102000000'));
    assert.equal(await findBackupDir(dir, [`2025-01-01 00:00:00 [Info] You can find backup here: ${dir}/backup-20250101000000`]), path.join(dir, 'backup-20250101000000'));
    assert.equal(await findBackupDir(dir, ['no such line']), path.join(dir, 'backup-20250102000000'));
    // a path outside backupDir in the output is not trusted
    assert.equal(await findBackupDir(dir, ['You can find backup here: /etc/backup-1']), path.join(dir, 'backup-20250102000000'));
    assert.equal(await findBackupDir(path.join(dir, 'missing'), []), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('frozenTables reads SHOW LOCKS rows', async () => {
  const rows = [
    { Type: 'rt', Name: 't_delta', 'Lock Type': 'freeze', 'Additional Info': 'Count: 2' },
    { Type: 'rt', Name: 'other', 'Lock Type': 'something', 'Additional Info': '' },
  ];
  assert.deepEqual(await frozenTables({ query: async () => rows }), ['t_delta']);
});
