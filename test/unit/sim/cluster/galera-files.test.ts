import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_TIMING, resolveTiming } from '../../../../src/sim/cluster/cluster-manager.js';
import { formatGrastate, parseGrastate, readGrastate, readPosition, writeGrastate, writePosition } from '../../../../src/sim/cluster/galera-files.js';
import { tempDir } from './harness.js';

describe('galera files', () => {
  test("grastate.dat is written in Galera's format and read back", () => {
    const state = { uuid: '5f1c3b2a-0d4e-11ef-9a6b-2f7c8e9d0a1b', seqno: 42, safeToBootstrap: true };
    assert.equal(
      formatGrastate(state),
      '# GALERA saved state\nversion: 2.1\nuuid:    5f1c3b2a-0d4e-11ef-9a6b-2f7c8e9d0a1b\nseqno:   42\nsafe_to_bootstrap: 1\n',
    );
    const dir = tempDir();
    writeGrastate(dir, { ...state, seqno: -1, safeToBootstrap: false });
    assert.deepEqual(readGrastate(dir), { uuid: state.uuid, seqno: -1, safeToBootstrap: false });
    assert.deepEqual(fs.readdirSync(dir), ['grastate.dat']);
  });

  test('a damaged or missing grastate.dat reads as nothing', () => {
    assert.equal(parseGrastate('# GALERA saved state\nversion: 2.1\n'), undefined);
    assert.equal(readGrastate(path.join(tempDir(), 'missing')), undefined);
  });

  test('the position file round-trips and is separate from grastate.dat', () => {
    const dir = tempDir();
    assert.equal(readPosition(dir), undefined);
    writePosition(dir, { uuid: 'u', seqno: 7 });
    assert.deepEqual(readPosition(dir), { uuid: 'u', seqno: 7 });
    assert.equal(readGrastate(dir), undefined);
  });

  test('timing: defaults, SIM_EVICT_MS, explicit overrides win', () => {
    assert.equal(resolveTiming({}, {}).evictMs, 1500);
    assert.equal(resolveTiming({}, { SIM_EVICT_MS: '900' }).evictMs, 900);
    assert.equal(resolveTiming({}, { SIM_EVICT_MS: 'abc' }).evictMs, DEFAULT_TIMING.evictMs);
    assert.equal(resolveTiming({ evictMs: 300 }, { SIM_EVICT_MS: '900' }).evictMs, 300);
    assert.ok(DEFAULT_TIMING.evictMs + DEFAULT_TIMING.heartbeatMs < 2000, 'eviction within 2 s');
  });
});
