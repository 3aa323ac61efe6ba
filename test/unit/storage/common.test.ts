/** Key checks, prefix joining and provider names shared by every store. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkKey, joinKey, storeKindOf } from '../../../src/storage/index.js';
import { checkPrefix, describeError } from '../../../src/storage/common.js';

test('checkKey accepts plain relative keys and names the field when refusing', () => {
  assert.equal(checkKey('backups/addresses_delta-2025-01-28T22-50-49Z.tar.gz'), 'backups/addresses_delta-2025-01-28T22-50-49Z.tar.gz');
  assert.equal(checkKey('a'), 'a');
  for (const bad of ['', '/x', 'x/', 'a//b', '.', '..', 'a/../b', 'a/./b', 'a\\b', 'tab\tkey', 'x'.repeat(1025)]) {
    assert.throws(() => checkKey(bad, 'filename'), /^ValidationError: filename: /, JSON.stringify(bad));
  }
});

test('checkPrefix allows empty and trailing-slash prefixes only', () => {
  assert.equal(checkPrefix(''), '');
  assert.equal(checkPrefix('backups/'), 'backups/');
  assert.equal(checkPrefix('backups/addresses_delta-'), 'backups/addresses_delta-');
  assert.throws(() => checkPrefix('../'), /prefix/);
  assert.throws(() => checkPrefix('/abs/'), /prefix/);
});

test('joinKey applies a prefix the way the original BACKUP_PREFIX did', () => {
  assert.equal(joinKey('backups', 'a.tar.gz'), 'backups/a.tar.gz');
  assert.equal(joinKey('backups/', 'a.tar.gz'), 'backups/a.tar.gz');
  assert.equal(joinKey('/team/backups/', 'a.tar.gz'), 'team/backups/a.tar.gz');
  assert.equal(joinKey('', 'a.tar.gz'), 'a.tar.gz');
  assert.equal(joinKey(undefined, 'a.tar.gz'), 'a.tar.gz');
});

test('storeKindOf maps the original provider names', () => {
  assert.equal(storeKindOf('aws'), 's3');
  assert.equal(storeKindOf('s3'), 's3');
  assert.equal(storeKindOf('gcp'), 'gcs');
  assert.equal(storeKindOf('gcs'), 'gcs');
  assert.equal(storeKindOf('local'), 'local');
  assert.throws(() => storeKindOf('azure', 'BACKUP_PROVIDER'), /BACKUP_PROVIDER: "azure" is not a storage provider; use aws \(or s3\), gcp \(or gcs\) or local/);
});

test('describeError reads Error, plain {message} objects (GCS library) and anything else', () => {
  assert.equal(describeError(new Error('boom')), 'boom');
  assert.equal(describeError({ code: 400, message: 'bad range' }), 'bad range (400)');
  assert.equal(describeError('text'), 'text');
});
