import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRepairBody } from '../../../src/api/routes/repair.js';
import { isAppError } from '../../../src/lib/errors.js';

function fieldOf(body: unknown): string | undefined {
  try {
    parseRepairBody(body);
  } catch (err) {
    return isAppError(err) ? String(err.details.field) : 'not an AppError';
  }
  return undefined;
}

describe('POST /api/repair body', () => {
  it('is optional; ours {source} takes a name or an ordinal; the original {sourceReplica} an ordinal', () => {
    assert.deepEqual(parseRepairBody(undefined), {});
    assert.deepEqual(parseRepairBody({}), {});
    assert.deepEqual(parseRepairBody({ source: 'node1' }), { source: 'node1', sourceField: 'source' });
    assert.deepEqual(parseRepairBody({ source: 2 }), { source: 2, sourceField: 'source' });
    assert.deepEqual(parseRepairBody({ sourceReplica: 0 }), { source: 0, sourceField: 'sourceReplica' });
    assert.deepEqual(parseRepairBody({ sourceReplica: null }), {});
  });

  it('bad input names the field', () => {
    assert.equal(fieldOf([]), 'body');
    assert.equal(fieldOf('node1'), 'body');
    assert.equal(fieldOf({ sourceReplica: '1' }), 'sourceReplica');
    assert.equal(fieldOf({ sourceReplica: -1 }), 'sourceReplica');
    assert.equal(fieldOf({ sourceReplica: 1.5 }), 'sourceReplica');
    assert.equal(fieldOf({ source: '' }), 'source');
    assert.equal(fieldOf({ source: { name: 'x' } }), 'source');
    assert.equal(fieldOf({ source: 'node1', sourceReplica: 1 }), 'source');
    assert.equal(fieldOf({ node: 'node1' }), 'node');
  });
});
