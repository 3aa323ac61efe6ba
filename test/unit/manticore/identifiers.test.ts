import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../src/lib/errors.js';
import {
  MAX_IDENTIFIER_LENGTH,
  parseNodeAddress,
  parseQualifiedName,
  qualifiedTable,
  quoteIdent,
  validateIdentifier,
  validateNodeAddress,
} from '../../../src/manticore/identifiers.js';

function rejects(fn: () => unknown, field: string, messagePart?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.equal(err.code, 'VALIDATION_FAILED');
    assert.equal(err.retryable, false);
    if (messagePart) assert.match(err.message, messagePart);
    return true;
  });
}

describe('validateIdentifier / quoteIdent', () => {
  test('accepts Manticore names and quotes them with backticks', () => {
    assert.equal(quoteIdent('products'), '`products`');
    assert.equal(quoteIdent('_t1_main_a'), '`_t1_main_a`');
    assert.equal(quoteIdent('Title', 'column'), '`Title`');
    assert.equal(validateIdentifier('a'.repeat(MAX_IDENTIFIER_LENGTH)), 'a'.repeat(64));
  });

  test('the message names the field and says how to fix it', () => {
    assert.throws(
      () => validateIdentifier('a b', 'table', 'spec.name'),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.field === 'spec.name' &&
        err.message === "spec.name: table name 'a b': use letters, digits and underscores, starting with a letter or underscore",
    );
  });

  const hostile: [string, string][] = [
    ['single quote', "t'x"],
    ['double quote', 't"x'],
    ['backtick', 't`x'],
    ['backtick breakout', 'x` ; DROP TABLE y; -- '],
    ['semicolon', 't;DROP TABLE x'],
    ['line comment', 't--x'],
    ['block comment', 't/*x*/'],
    ['newline', 't\nx'],
    ['NUL', 't\0x'],
    ['unicode letter', 'tablé'],
    ['cyrillic', 'таблица'],
    ['emoji', 't😀'],
    ['leading digit', '1t'],
    ['dash', 'my-table'],
    ['dot', 'db.t'],
    ['colon', 'c:t'],
    ['space', 't x'],
    ['empty', ''],
    ['300 chars', 'a'.repeat(300)],
    ['65 chars', 'a'.repeat(65)],
  ];
  for (const [label, name] of hostile) {
    test(`rejects ${label}`, () => {
      rejects(() => quoteIdent(name, 'table', 'table'), 'table');
      rejects(() => quoteIdent(name, 'cluster', 'cluster'), 'cluster');
      rejects(() => quoteIdent(name, 'column', 'columns[0].name'), 'columns[0].name');
    });
  }

  test('rejects non-strings, reserved words and upper-case table names', () => {
    rejects(() => validateIdentifier(undefined), 'table', /must be a string/);
    rejects(() => validateIdentifier(42), 'table', /must be a string/);
    rejects(() => validateIdentifier('select'), 'table', /reserved word/);
    rejects(() => validateIdentifier('FROM', 'column'), 'column', /reserved word/);
    rejects(() => validateIdentifier('Products'), 'table', /use 'products'/);
  });

  test('the length message does not echo a 300-char name in full', () => {
    assert.throws(
      () => validateIdentifier('a'.repeat(300)),
      (err: unknown) => err instanceof ValidationError && /300 characters long: use at most 64/.test(err.message) && err.message.length < 150,
    );
  });

  test('control characters are shown escaped in messages', () => {
    assert.throws(
      () => validateIdentifier('a\nb'),
      (err: unknown) => err instanceof ValidationError && err.message.includes("'a\\nb'") && !err.message.includes('\n'),
    );
  });
});

describe('cluster-qualified names', () => {
  test('parses table and cluster:table', () => {
    assert.deepEqual(parseQualifiedName('t'), { table: 't' });
    assert.deepEqual(parseQualifiedName('c:t'), { cluster: 'c', table: 't' });
  });
  test('rejects malformed forms', () => {
    rejects(() => parseQualifiedName('a:b:c'), 'table');
    rejects(() => parseQualifiedName(':t'), 'table');
    rejects(() => parseQualifiedName("c:t'"), 'table');
  });
  test('renders the write target', () => {
    assert.equal(qualifiedTable('t'), '`t`');
    assert.equal(qualifiedTable('t', 'c'), 'c:t');
    rejects(() => qualifiedTable('t', 'c;x'), 'table.cluster');
  });
});

describe('node addresses', () => {
  test('accepts DNS names and IPv4 with a port', () => {
    assert.deepEqual(parseNodeAddress('127.0.0.1:9312'), { host: '127.0.0.1', port: 9312 });
    assert.deepEqual(parseNodeAddress('manticore-0.manticore.svc.cluster.local:9312'), {
      host: 'manticore-0.manticore.svc.cluster.local',
      port: 9312,
    });
    assert.equal(validateNodeAddress('node1:1'), 'node1:1');
    assert.equal(validateNodeAddress('node1:65535'), 'node1:65535');
  });
  const bad = [
    'node1',
    ':9312',
    'node1:',
    'node1:0',
    'node1:65536',
    'node1:-1',
    'node1:93a',
    '256.1.1.1:9312',
    '1.2.3:9312',
    '01.2.3.4:9312',
    '-node:9312',
    'no de:9312',
    "h'x:9312",
    'h;x:9312',
    'h|x:9312',
    'h\n:9312',
    'hé:9312',
    `${'a'.repeat(64)}:9312`,
    `${'a.'.repeat(130)}a:9312`,
    '[::1]:9312',
  ];
  for (const addr of bad) {
    test(`rejects ${JSON.stringify(addr)}`, () => rejects(() => validateNodeAddress(addr, 'agents[0].mirrors[1]'), 'agents[0].mirrors[1]'));
  }
});
