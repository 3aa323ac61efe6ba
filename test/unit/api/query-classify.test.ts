import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyStatement } from '../../../src/api/query-classify.js';
import { ValidationError } from '../../../src/lib/errors.js';

test('read-only statements', () => {
  for (const [sql, verb] of [
    ['SELECT * FROM t', 'SELECT'],
    ['  select id from t where match(\'x\');', 'SELECT'],
    ['SHOW TABLES', 'SHOW'],
    ['show status like \'cluster%\'', 'SHOW'],
    ['DESCRIBE t', 'DESCRIBE'],
    ['desc t', 'DESC'],
    ['EXPLAIN QUERY t \'abc\'', 'EXPLAIN'],
    ["CALL SNIPPETS('text', 't', 'q')", 'CALL SNIPPETS'],
    ["call keywords('a b', 't')", 'CALL KEYWORDS'],
    ["CALL QSUGGEST('x', 't')", 'CALL QSUGGEST'],
    ['/* a comment */ SELECT 1', 'SELECT'],
    ['-- note\nSHOW META', 'SHOW'],
    ['# note\nSELECT 1', 'SELECT'],
  ] as const) {
    const c = classifyStatement(sql);
    assert.equal(c.kind, 'read', sql);
    assert.equal(c.verb, verb, sql);
  }
});

test('everything else needs write mode', () => {
  for (const sql of [
    "INSERT INTO t VALUES (1, 'a')",
    "REPLACE INTO t VALUES (1, 'a')",
    'UPDATE t SET a = 1 WHERE id = 1',
    'DELETE FROM t WHERE id = 1',
    'DROP TABLE t',
    'CREATE TABLE t (a text)',
    'ALTER TABLE t ADD COLUMN b int',
    'TRUNCATE TABLE t',
    'SET GLOBAL x = 1',
    'FREEZE t',
    "IMPORT TABLE t FROM '/x'",
    'DELETE CLUSTER c',
    "JOIN CLUSTER c AT '127.0.0.1:9312'",
    'OPTIMIZE TABLE t',
    'FLUSH RAMCHUNK t',
    'CALL PQ_SOMETHING_ELSE()',
    '/* SELECT */ DROP TABLE t',
  ]) {
    assert.equal(classifyStatement(sql).kind, 'write', sql);
  }
});

test('one statement per request; trailing semicolons are dropped; quoted semicolons are fine', () => {
  assert.equal(classifyStatement('SELECT 1;;  ').sql, 'SELECT 1');
  assert.equal(classifyStatement("SELECT * FROM t WHERE MATCH('a;b')").kind, 'read');
  assert.throws(() => classifyStatement('SELECT 1; DROP TABLE t'), (err: unknown) => err instanceof ValidationError && err.field === 'sql');
  assert.throws(() => classifyStatement('SELECT 1; -- x\nDELETE FROM t WHERE id=1', 'query'), (err: unknown) => err instanceof ValidationError && err.field === 'query');
  assert.equal(classifyStatement('SELECT 1; -- trailing comment').kind, 'read');
});

test('empty input names the field', () => {
  for (const raw of ['', '   ', undefined, 42, '/* only */']) {
    assert.throws(() => classifyStatement(raw, 'sql'), (err: unknown) => err instanceof ValidationError && err.field === 'sql');
  }
});
