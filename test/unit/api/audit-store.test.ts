/** The audit trail in the status store: persisted, reloaded after a restart, bounded, newest first. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FileStatusStore } from '../../../src/status/store.js';
import type { AuditRecord } from '../../../src/status/types.js';

function record(id: string): AuditRecord {
  return { id, at: `2026-01-01T00:00:0${id}.000Z`, requestedBy: 'api', role: 'viewer', address: '127.0.0.1', method: 'POST', path: '/api/backup', status: 403, errorCode: 'FORBIDDEN' };
}

test('audit records survive a restart of the store and stay bounded', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'audit-store-'));
  try {
    const a = FileStatusStore.open({ dataDir: dir, maxAudit: 3 });
    for (const id of ['1', '2', '3', '4']) a.appendAudit(record(id));
    assert.deepEqual(a.auditRecords().map((r) => r.id), ['4', '3', '2']);
    const b = FileStatusStore.open({ dataDir: dir, maxAudit: 3 });
    assert.deepEqual(b.auditRecords().map((r) => r.id), ['4', '3', '2']);
    assert.deepEqual(b.auditRecords()[0], record('4'));
    // the operation history is another file: audit records never push operations out
    assert.deepEqual(b.operations(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
