/** The local directory store against the ObjectStore contract, plus its temp-file-then-rename guarantee. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createObjectStore } from '../../../src/storage/index.js';
import type { ObjectStore } from '../../../src/storage/types.js';
import { assertCode, generated, storeContract } from './store-contract.js';

let dir: string;
let store: ObjectStore;

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'local-store-'));
  store = createObjectStore({ provider: 'local', bucket: 'local', localDir: dir });
});
after(() => rmSync(dir, { recursive: true, force: true }));

storeContract('local', { store: () => store, failingSize: 2_000_000, failAt: 700_000 });

test('local: a failed put leaves no temporary file behind either', async () => {
  await assert.rejects(store.put('tmpcheck/x.bin', generated(1_000_000, 9, { failAt: 300_000 }).stream), assertCode('STORAGE_UPLOAD_FAILED'));
  const leftovers = readdirSync(dir, { recursive: true }).map(String).filter((n) => n.includes('tmpcheck/'));
  assert.deepEqual(leftovers, []);
});

test('local: createObjectStore names a missing localDir and an unknown provider', () => {
  assert.throws(() => createObjectStore({ provider: 'local', bucket: 'x' }), /localDir/);
  assert.throws(() => createObjectStore({ provider: 'azure' as never, bucket: 'x' }), /provider: "azure" is not a storage provider/);
});
