import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authProblem, tokensEqual } from '../../../src/api/auth.js';

test('tokensEqual: equal only for the same string', () => {
  assert.equal(tokensEqual('abc', 'abc'), true);
  assert.equal(tokensEqual('abc', 'abd'), false);
  assert.equal(tokensEqual('ab', 'abc'), false);
  assert.equal(tokensEqual('', 'abc'), false);
});

test('authProblem: the original messages', () => {
  assert.equal(authProblem(undefined, 't'), 'missing Authorization header');
  assert.equal(authProblem('', 't'), 'missing Authorization header');
  assert.equal(authProblem('Basic dTpw', 't'), 'invalid Authorization header format');
  assert.equal(authProblem('Bearer', 't'), 'invalid Authorization header format');
  assert.equal(authProblem('Bearer x', 't'), 'invalid token');
  assert.equal(authProblem('Bearer t', 't'), undefined);
  assert.equal(authProblem('BEARER t', 't'), undefined);
});
