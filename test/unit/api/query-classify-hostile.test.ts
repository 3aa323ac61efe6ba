/** The query console's classifier against statements that try to pass a write as a read. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyStatement } from '../../../src/api/query-classify.js';
import { ValidationError } from '../../../src/lib/errors.js';

const WRITES = [
  "INSERT INTO t (id) VALUES (1)",
  "REPLACE INTO t (id) VALUES (1)",
  "UPDATE t SET a=1 WHERE id=1",
  "DELETE FROM t WHERE id=1",
  'CREATE TABLE x (title text)',
  'DROP TABLE t',
  'ALTER TABLE t ADD COLUMN c int',
  "JOIN CLUSTER c AT '127.0.0.1:9312'",
  "CREATE CLUSTER c",
  'DELETE CLUSTER c',
  "ALTER CLUSTER c ADD t",
  'SET GLOBAL x=1',
  "SET CLUSTER c GLOBAL 'pc.bootstrap' = 1",
  'FREEZE t',
  "IMPORT TABLE t FROM '/tmp/x'",
  'TRUNCATE TABLE t',
  'FLUSH RAMCHUNK t',
  'OPTIMIZE TABLE t',
  'ATTACH TABLE a TO TABLE b',
  'RELOAD TABLES',
  'CALL SOMETHING_NEW()',
  '/* SELECT */ DROP TABLE t',
  '-- SELECT\nDROP TABLE t',
  '# SELECT\nDROP TABLE t',
  '\uFEFFDROP TABLE t',
  '  \n\tdrop table t',
  '/*! DROP TABLE t */ SELECT 1',
  'SELECT 1 /*! ; DROP TABLE t */',
];

test('writes and cluster DDL are writes, however they are dressed', () => {
  for (const sql of WRITES) {
    let kind: string;
    try {
      kind = classifyStatement(sql).kind;
    } catch (err) {
      // refusing outright is as good as classifying as a write
      assert.ok(err instanceof ValidationError, sql);
      continue;
    }
    assert.equal(kind, 'write', sql);
  }
});

const SMUGGLED = [
  'SELECT 1; DROP TABLE t',
  'SELECT 1;DROP TABLE t;',
  "SELECT 'a'; DROP TABLE t",
  'SELECT 1 -- ; DROP TABLE t',
  'SELECT 1 --x; DROP TABLE t',
  'SELECT 1 /* ; */ ',
  'SELECT `a\\`; DROP TABLE t',
  "SELECT 'unterminated; DROP TABLE t",
  'SELECT 1 /* open; DROP TABLE t',
  'SHOW TABLES;\nDELETE FROM t WHERE id > 0',
];

test('statements hidden after ; (in comments, behind odd quoting) are refused', () => {
  for (const sql of SMUGGLED) {
    assert.throws(() => classifyStatement(sql), (err: unknown) => err instanceof ValidationError && err.field === 'sql', sql);
  }
});

test('ordinary reads stay reads', () => {
  for (const sql of ["SELECT * FROM t WHERE MATCH('a;b')", 'SELECT `weird;name` FROM t;', 'SHOW TABLES', 'DESC t', "CALL SNIPPETS('a', 't', 'a')", 'SELECT 1 -- trailing comment', "SELECT 'it\\'s' FROM t"]) {
    assert.equal(classifyStatement(sql).kind, 'read', sql);
  }
});
