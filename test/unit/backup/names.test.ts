import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backupArchiveName, backupTimestamp, listingPrefixes, manifestKey, objectKey, parseBackupFilename } from '../../../src/backup/names.js';
import { ValidationError } from '../../../src/lib/errors.js';

test('archive names follow the original: <table>-YYYY-MM-DDTHH-MM-SSZ.tar.gz', () => {
  const d = new Date('2025-01-28T22:50:49.123Z');
  assert.equal(backupTimestamp(d), '2025-01-28T22-50-49Z');
  assert.equal(backupArchiveName('addresses_delta', d), 'addresses_delta-2025-01-28T22-50-49Z.tar.gz');
  assert.equal(objectKey('backups', 'x.tar.gz'), 'backups/x.tar.gz');
  assert.equal(objectKey('/backups/', 'x.tar.gz'), 'backups/x.tar.gz');
  assert.equal(objectKey('', 'x.tar.gz'), 'x.tar.gz');
  assert.equal(manifestKey('backups/x.tar.gz'), 'backups/x.tar.gz.manifest.json');
});

test('parseBackupFilename: delta and main of this table', () => {
  assert.deepEqual(parseBackupFilename('addresses', 'addresses_delta-2025-01-28T22-50-49Z.tar.gz'), {
    filename: 'addresses_delta-2025-01-28T22-50-49Z.tar.gz',
    table: 'addresses_delta',
    type: 'delta',
    timestamp: '2025-01-28T22-50-49Z',
  });
  const main = parseBackupFilename('addresses', 'addresses_main_b-2025-01-28T22-50-49Z.tar.gz');
  assert.equal(main.type, 'main');
  assert.equal(main.slot, 'b');
  assert.equal(main.table, 'addresses_main_b');
});

test('parseBackupFilename refuses traversal, other tables and malformed names, naming the field', () => {
  const bad: [unknown, RegExp][] = [
    ['../addresses_delta-2025-01-28T22-50-49Z.tar.gz', /without directories/],
    ['a/addresses_delta-2025-01-28T22-50-49Z.tar.gz', /without directories/],
    ['..\\addresses_delta-2025-01-28T22-50-49Z.tar.gz', /without directories/],
    ['addresses_delta-2025-01-28T22-50-49Z.tar.gz\0', /without directories/],
    ['orders_delta-2025-01-28T22-50-49Z.tar.gz', /backup of orders_delta, not of addresses/],
    ['addresses2_delta-2025-01-28T22-50-49Z.tar.gz', /not of addresses/],
    ['addresses_main_c-2025-01-28T22-50-49Z.tar.gz', /not of addresses/],
    ['addresses_delta-2025-01-28T22:50:49Z.tar.gz', /YYYY-MM-DDTHH-MM-SSZ/],
    ['addresses_delta.tar.gz', /YYYY-MM-DDTHH-MM-SSZ/],
    ['addresses_delta-2025-01-28T22-50-49Z.zip', /must end in \.tar\.gz/],
    ['', /name the archive/],
    [42, /name the archive/],
  ];
  for (const [name, why] of bad) {
    assert.throws(
      () => parseBackupFilename('addresses', name),
      (err: unknown) => err instanceof ValidationError && err.field === 'filename' && why.test(err.message),
      JSON.stringify(name),
    );
  }
});

test('listing prefixes: delta, main of both slots, or both', () => {
  assert.deepEqual(listingPrefixes('backups', 't', 'delta'), ['backups/t_delta-']);
  assert.deepEqual(listingPrefixes('backups', 't', 'main'), ['backups/t_main_']);
  assert.deepEqual(listingPrefixes('backups', 't'), ['backups/t_delta-', 'backups/t_main_']);
});
