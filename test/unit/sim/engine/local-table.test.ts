import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalTable } from '../../../../src/sim/engine/local-table.js';
import { Engine } from '../../../../src/sim/engine/engine.js';

function prefixIn(dir: string, name: string): string {
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  return path.join(dir, name, name);
}

const COLS = [{ name: 'title', type: 'text', options: [] }];

describe('LocalTable files', () => {
  test('meta/ram/wal format; writes are in the wal at once; reload replays it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-lt-'));
    const p = prefixIn(dir, 't');
    const t = new LocalTable('t', 'rt', { columns: COLS, settings: { min_infix_len: '3' } }, p);
    t.persistAll();
    const meta = JSON.parse(fs.readFileSync(`${p}.meta`, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(meta, {
      format: 'manticore-sim-rt',
      version: 1,
      name: 't',
      kind: 'rt',
      columns: [{ name: 'title', type: 'text', options: ['indexed', 'stored'] }],
      settings: { min_infix_len: '3' },
    });
    t.apply({ action: 'insert', table: 't', docs: [{ id: '1', title: 'a' }, { id: '18446744073709551615', title: 'max' }] });
    t.apply({ action: 'update', table: 't', ids: ['1'], set: { title: 'b' } });
    const wal = fs.readFileSync(`${p}.wal`, 'utf8').trim().split('\n');
    assert.equal(wal.length, 2);
    assert.deepEqual(JSON.parse(wal[1] as string), { action: 'update', table: 't', ids: ['1'], set: { title: 'b' } });
    // a torn last line (crash mid-append) is ignored
    fs.appendFileSync(`${p}.wal`, '{"action":"delete","tab');
    const re = LocalTable.load(p);
    assert.deepEqual(re.sortedDocs(), [
      { id: '1', title: 'b' },
      { id: '18446744073709551615', title: 'max' },
    ]);
    re.compact();
    assert.equal(fs.readFileSync(`${p}.wal`, 'utf8'), '');
    assert.equal(fs.readFileSync(`${p}.ram`, 'utf8').trim().split('\n').length, 2);
  });

  test('the wal is compacted into .ram when it grows large', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-lt-'));
    const p = prefixIn(dir, 't');
    const t = new LocalTable('t', 'rt', { columns: COLS, settings: {} }, p);
    t.persistAll();
    for (let i = 1; i <= 2100; i++) t.apply({ action: 'insert', table: 't', docs: [{ id: String(i), title: `d${i}` }] });
    const walLines = fs.readFileSync(`${p}.wal`, 'utf8').split('\n').filter(Boolean).length;
    assert.ok(walLines < 2000, `wal has ${walLines} records after compaction`);
    assert.equal(LocalTable.load(p).docs.size, 2100);
    assert.ok(!fs.readdirSync(path.dirname(p)).some((f) => f.includes('.tmp')), 'no temp files left');
  });

  test('writes while frozen go to the frozen wal and survive a crash', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-lt-'));
    const p = prefixIn(dir, 't');
    const t = new LocalTable('t', 'rt', { columns: COLS, settings: {} }, p);
    t.persistAll();
    t.apply({ action: 'insert', table: 't', docs: [{ id: '1', title: 'a' }] });
    t.freeze();
    t.freeze();
    t.apply({ action: 'insert', table: 't', docs: [{ id: '2', title: 'b' }] });
    assert.ok(fs.existsSync(`${p}.wal.frozen`));
    assert.deepEqual(
      t.exportDocs().map((d) => d.id),
      ['1'],
    );
    t.unfreeze();
    assert.ok(t.frozen, 'two FREEZEs need two UNFREEZEs');
    // crash now: reload merges the frozen wal
    const re = LocalTable.load(p);
    assert.deepEqual(
      re.sortedDocs().map((d) => d.id),
      ['1', '2'],
    );
    assert.ok(!fs.existsSync(`${p}.wal.frozen`));
  });

  test('manticore.json lists rt and distributed tables and keeps clusters', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-lt-'));
    fs.writeFileSync(
      path.join(dir, 'manticore.json'),
      JSON.stringify({ clusters: { c: { path: '', nodes: '127.0.0.1:9312', options: '', indexes: ['t'] } }, indexes: {} }),
    );
    const e = new Engine({ dataDir: dir });
    const clusters = e.loadRtMode();
    assert.deepEqual(Object.keys(clusters), ['c']);
    e.createLocal('t', 'rt', { columns: COLS, settings: {} });
    e.createDistributed('d', { locals: ['t'], agents: ['127.0.0.1:9312:t'], ha_strategy: 'nodeads', agent_retry_count: 2 });
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manticore.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(m, {
      clusters: { c: { path: '', nodes: '127.0.0.1:9312', options: '', indexes: ['t'] } },
      indexes: {
        t: { type: 'rt', path: 't' },
        d: { type: 'distributed', locals: ['t'], agents: ['127.0.0.1:9312:t'], ha_strategy: 'nodeads', agent_retry_count: 2 },
      },
    });
    const again = new Engine({ dataDir: dir });
    again.loadRtMode();
    assert.equal(again.tableKind('t'), 'rt');
    assert.equal(again.tableKind('d'), 'distributed');
  });
});
