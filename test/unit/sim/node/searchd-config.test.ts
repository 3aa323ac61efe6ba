import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configTables, manticoreTimestamp, nodeOptions, parseArgs } from '../../../../src/sim/searchd.js';
import { parseConfig } from '../../../../src/sim/config/config-file.js';
import { readSearchd } from '../../../../src/sim/config/searchd-config.js';
import { silentLogger } from '../../../../src/lib/logger.js';

describe('searchd-sim command line and config', () => {
  test('flags like real searchd; unknown ones are refused', () => {
    assert.deepEqual(parseArgs(['-c', '/etc/m.conf', '--nodetach', '--new-cluster']), {
      config: '/etc/m.conf',
      newCluster: true,
      newClusterForce: false,
      stop: false,
      stopWait: false,
      status: false,
    });
    assert.equal(parseArgs(['--config=/x.conf', '--stopwait']).stopWait, true);
    assert.equal(parseArgs(['--config', '/x.conf', '--new-cluster-force', '--console']).newClusterForce, true);
    assert.throws(() => parseArgs(['--bogus']), /unknown option/);
    assert.throws(() => parseArgs(['--config']), /requires a file name/);
  });

  test('log timestamps look like Manticore', () => {
    assert.equal(manticoreTimestamp(new Date(2026, 10, 25, 9, 5, 7, 42)), 'Wed Nov 25 09:05:07.042 2026');
  });

  test('listeners, node_address, buddy_path and ha_ping_interval become node options', () => {
    const config = parseConfig(
      [
        'searchd {',
        '  listen = 127.0.0.1:9306:mysql41',
        '  listen = 127.0.0.1:9308:http',
        '  listen = 127.0.0.1:9312',
        '  listen = 127.0.0.1:9350-9359:replication',
        '  data_dir = /var/lib/manticore',
        '  server_id = 7',
        '  buddy_path =',
        '  ha_ping_interval = 0',
        '}',
      ].join('\n'),
      '/etc/manticore/m.conf',
    );
    const opts = nodeOptions(config, readSearchd(config), parseArgs(['-c', '/etc/manticore/m.conf', '--new-cluster']), silentLogger());
    assert.deepEqual(
      { mysql: opts.mysql, http: opts.http, api: opts.api, replication: opts.replication, dataDir: opts.dataDir, serverId: opts.serverId, buddy: opts.buddy },
      {
        mysql: { host: '127.0.0.1', port: 9306 },
        http: { host: '127.0.0.1', port: 9308 },
        api: { host: '127.0.0.1', port: 9312 },
        replication: { host: '127.0.0.1', port: 9350 },
        dataDir: '/var/lib/manticore',
        serverId: 7,
        buddy: false,
      },
    );
    assert.equal(opts.nodeAddress, '127.0.0.1');
    assert.equal(opts.haPingIntervalMs, 0);
    assert.equal(opts.newCluster, true);
  });

  test('plain-mode table sections become config tables', () => {
    const config = parseConfig(
      [
        'table p {',
        '  type = plain',
        '  path = data/p',
        '}',
        'table r {',
        '  type = rt',
        '  path = /abs/r',
        '  rt_field = title, body',
        '  rt_attr_uint = n',
        '  rt_attr_string = tag',
        '}',
        'table d {',
        '  type = distributed',
        '  local = p',
        '  agent = 127.0.0.1:9312|127.0.0.2:9312:r',
        '  ha_strategy = nodeads',
        '}',
        'searchd {',
        '  listen = 9306:mysql41',
        '}',
      ].join('\n'),
      '/etc/manticore/m.conf',
    );
    assert.deepEqual(configTables(config), [
      { name: 'p', type: 'plain', path: '/etc/manticore/data/p' },
      {
        name: 'r',
        type: 'rt',
        path: '/abs/r',
        columns: [
          { name: 'title', type: 'text', options: ['indexed', 'stored'] },
          { name: 'body', type: 'text', options: ['indexed', 'stored'] },
          { name: 'n', type: 'uint', options: [] },
          { name: 'tag', type: 'string', options: [] },
        ],
      },
      { name: 'd', type: 'distributed', locals: ['p'], agents: ['127.0.0.1:9312|127.0.0.2:9312:r'], ha_strategy: 'nodeads', agent_retry_count: 0 },
    ]);
  });
});
