/**
 * The launcher's own pieces that need no searchd: config text, grastate parsing, port blocks,
 * binary resolution, named timeouts.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  BASE_TIMEOUTS,
  allocatePortBlock,
  nodeLayout,
  parseGrastate,
  renderSearchdConfig,
  repoRoot,
  resolveBinaries,
  timeFactor,
  timeoutMs,
  waitFor,
} from '../../src/sim/launcher.js';

const ports = { mysql: 21000, http: 21001, api: 21002, replicationFrom: 21003, replicationTo: 21006 };

describe('renderSearchdConfig', () => {
  test('RT mode: loopback listeners, data_dir, node identity, Buddy on', () => {
    const layout = nodeLayout('/tmp/x/node0');
    const text = renderSearchdConfig({ ports, layout, serverId: 3, mode: 'rt', buddy: true });
    assert.equal(
      text,
      [
        'searchd {',
        '    listen = 127.0.0.1:21000:mysql41',
        '    listen = 127.0.0.1:21001:http',
        '    listen = 127.0.0.1:21002',
        '    listen = 127.0.0.1:21003-21006:replication',
        '    data_dir = /tmp/x/node0/data',
        '    log = /tmp/x/node0/searchd.log',
        '    query_log = /tmp/x/node0/query.log',
        '    pid_file = /tmp/x/node0/searchd.pid',
        '    binlog_path = /tmp/x/node0/binlog',
        '    server_id = 3',
        '    node_address = 127.0.0.1',
        '}',
        '',
      ].join('\n'),
    );
  });

  test('plain mode: table sections first, no data_dir, Buddy off', () => {
    const layout = nodeLayout('/tmp/p');
    const text = renderSearchdConfig({ ports, layout, serverId: 1, mode: 'plain', buddy: false, sections: 'table t {\n    type = rt\n}' });
    assert.ok(text.startsWith('table t {\n    type = rt\n}\n\nsearchd {\n'));
    assert.ok(!text.includes('data_dir'));
    assert.ok(text.includes('\n    buddy_path =\n'));
  });
});

test('parseGrastate reads Galera saved state', () => {
  const g = parseGrastate('# GALERA saved state\nversion: 2.1\nuuid:    0b2a6c3e-1d7e-11ef-9a4c-7f0c1c8e2d11\nseqno:   -1\nsafe_to_bootstrap: 0\n');
  assert.deepEqual(
    { uuid: g.uuid, seqno: g.seqno, safe: g.safeToBootstrap, version: g.raw.version },
    { uuid: '0b2a6c3e-1d7e-11ef-9a4c-7f0c1c8e2d11', seqno: -1, safe: 0, version: '2.1' },
  );
});

test('allocatePortBlock returns distinct blocks of bindable loopback ports', async () => {
  const a = await allocatePortBlock(8);
  const b = await allocatePortBlock(8);
  assert.notEqual(a, b);
  assert.ok(Math.abs(a - b) >= 8, 'blocks do not overlap');
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(a + 7, '127.0.0.1', () => r()));
  await new Promise<void>((r) => srv.close(() => r()));
});

test('binaries default to the compiled simulator under the repo root, env overrides', () => {
  const root = repoRoot();
  const sim = resolveBinaries({});
  assert.equal(sim.searchd, path.join(root, 'dist', 'src', 'sim', 'bin', 'searchd-sim.js'));
  assert.equal(sim.indexer, path.join(root, 'dist', 'src', 'sim', 'bin', 'indexer-sim.js'));
  assert.equal(sim.backup, path.join(root, 'dist', 'src', 'sim', 'bin', 'manticore-backup-sim.js'));
  assert.equal(sim.isSimulator, true);
  const real = resolveBinaries({ SEARCHD_BIN: '/usr/bin/searchd', INDEXER_BIN: '/usr/bin/indexer', MANTICORE_BACKUP_BIN: '/usr/bin/manticore-backup' });
  assert.deepEqual(real, { searchd: '/usr/bin/searchd', indexer: '/usr/bin/indexer', backup: '/usr/bin/manticore-backup', isSimulator: false });
});

test('named timeouts scale with CONFORMANCE_TIME_FACTOR', async () => {
  assert.equal(timeFactor({}), 1);
  assert.equal(timeFactor({ CONFORMANCE_TIME_FACTOR: '4' }), 4);
  assert.equal(timeFactor({ CONFORMANCE_TIME_FACTOR: 'x' }), 1);
  assert.equal(timeoutMs('evict', 4), BASE_TIMEOUTS.evict * 4);
  await assert.rejects(
    waitFor(() => false, 'evict', 'something that never happens', { factor: 0.01, intervalMs: 10 }),
    /timeout 'evict' \(100 ms\) waiting for something that never happens/,
  );
  let n = 0;
  assert.equal(await waitFor(() => (++n >= 3 ? 'done' : false), 'evict', 'third try', { intervalMs: 1 }), 'done');
});
