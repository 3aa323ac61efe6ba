import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, getValue, getValues, parseConfig } from '../../../../src/sim/config/config-file.js';
import { findListener, httpEndpoint, parseListener, readSearchd } from '../../../../src/sim/config/searchd-config.js';

const SAMPLE = `#!/bin/sh
# a comment
source base
{
  type = csvpipe
  csvpipe_command = cat /data/a.csv
  csvpipe_field = title
  csvpipe_attr_uint = price   # trailing comment
}

source child : base
{
  csvpipe_command = cat /data/b.csv \\
      | head -n 10
  csvpipe_attr_uint = qty
  csvpipe_attr_uint = size
}

index products {
  source = child
  path = /var/lib/manticore/products
  min_infix_len = 2
}

table plain2 : products { path = /tmp/p2 }

indexer
{
  mem_limit = 256M
}

searchd {
  listen = 127.0.0.1:9312
  listen = 127.0.0.1:9306:mysql41
  listen = 127.0.0.1:9308:http
  listen = 127.0.0.1:9350-9359:replication
  data_dir = /var/lib/manticore
  node_address = node1.local
  server_id = 3
  binlog_path = /var/lib/manticore/binlog
  pid_file = /run/searchd.pid
  log = /var/log/searchd.log
  query_log = /var/log/query.log
  buddy_path =
  seamless_rotate = 0
  hash = a\\#b
}
`;

describe('parseConfig', () => {
  test('sections, repeated keys, comments, continuation', () => {
    const cfg = parseConfig(SAMPLE, 'sample.conf');
    assert.deepEqual(
      cfg.sections.map((s) => [s.type, s.name, s.parent, s.line]),
      [
        ['source', 'base', undefined, 3],
        ['source', 'child', 'base', 11],
        ['table', 'products', undefined, 19],
        ['table', 'plain2', 'products', 25],
        ['indexer', undefined, undefined, 27],
        ['searchd', undefined, undefined, 32],
      ],
    );
    const child = cfg.named('source', 'child');
    assert.ok(child);
    assert.deepEqual(child.entries, [
      { key: 'csvpipe_command', value: 'cat /data/b.csv       | head -n 10', line: 13 },
      { key: 'csvpipe_attr_uint', value: 'qty', line: 15 },
      { key: 'csvpipe_attr_uint', value: 'size', line: 16 },
    ]);
    assert.equal(getValue(cfg.named('source', 'base')?.entries ?? [], 'csvpipe_attr_uint'), 'price');
    assert.equal(getValue(cfg.section('searchd')?.entries ?? [], 'hash'), 'a#b');
    assert.equal(getValue(cfg.section('searchd')?.entries ?? [], 'buddy_path'), '');
    assert.deepEqual(cfg.names('table'), ['products', 'plain2']);
  });

  test('inheritance: child keys replace all parent values of that key', () => {
    const cfg = parseConfig(SAMPLE);
    const entries = cfg.resolved('source', 'child');
    assert.deepEqual(
      entries.map((e) => [e.key, e.value]),
      [
        ['type', 'csvpipe'],
        ['csvpipe_field', 'title'],
        ['csvpipe_command', 'cat /data/b.csv       | head -n 10'],
        ['csvpipe_attr_uint', 'qty'],
        ['csvpipe_attr_uint', 'size'],
      ],
    );
    assert.deepEqual(getValues(cfg.resolved('table', 'plain2'), 'path'), ['/tmp/p2']);
    assert.equal(getValue(cfg.resolved('table', 'plain2'), 'min_infix_len'), '2');
  });

  test('errors carry line numbers', () => {
    const cases: [string, string][] = [
      ['searchd {\n  listen 9306\n}\n', "f.conf line 2: expected 'key = value', got 'listen 9306'"],
      ['searchd {\n  a = 1\n', "f.conf line 1: section at line 1 is not closed (missing '}')"],
      ['foo {\n}\n', "f.conf line 1: unknown section type 'foo'"],
      ['source {\n}\n', 'f.conf line 1: source section needs a name'],
      ['source a : nope {\n}\n', "f.conf line 1: source 'a' inherits from unknown source 'nope'"],
      ['table t {\n}\ntable t {\n}\n', "f.conf line 3: duplicate table 't'"],
      ['searchd\nx = 1\n', "f.conf line 2: expected '{' after section header"],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseConfig(text, 'f.conf'),
        (err: unknown) => err instanceof ConfigError && err.message === message,
        `for ${JSON.stringify(text)}`,
      );
    }
  });

  test('unknown named section in resolve', () => {
    assert.throws(() => parseConfig('').resolved('table', 'x'), /unknown table 'x'/);
  });
});

describe('searchd view', () => {
  test('typed fields', () => {
    const sd = readSearchd(parseConfig(SAMPLE));
    assert.equal(sd.dataDir, '/var/lib/manticore');
    assert.equal(sd.nodeAddress, 'node1.local');
    assert.equal(sd.serverId, 3);
    assert.equal(sd.binlogPath, '/var/lib/manticore/binlog');
    assert.equal(sd.pidFile, '/run/searchd.pid');
    assert.equal(sd.log, '/var/log/searchd.log');
    assert.equal(sd.queryLog, '/var/log/query.log');
    assert.equal(sd.buddyPath, '');
    assert.equal(sd.buddyDisabled, true);
    assert.equal(sd.seamlessRotate, false);
    assert.deepEqual(
      sd.listeners.map((l) => [l.host, l.port, l.portEnd, l.proto]),
      [
        ['127.0.0.1', 9312, undefined, 'sphinx'],
        ['127.0.0.1', 9306, undefined, 'mysql'],
        ['127.0.0.1', 9308, undefined, 'http'],
        ['127.0.0.1', 9350, 9359, 'replication'],
      ],
    );
    assert.equal(findListener(sd, 'http')?.port, 9308);
    assert.deepEqual(httpEndpoint(sd), { host: '127.0.0.1', port: 9308 });
  });

  test('defaults: Buddy on, seamless rotate on, default listeners', () => {
    const sd = readSearchd(parseConfig('searchd {\n data_dir = /d\n}\n'));
    assert.equal(sd.buddyDisabled, false);
    assert.equal(sd.buddyPath, undefined);
    assert.equal(sd.seamlessRotate, true);
    assert.deepEqual(
      sd.listeners.map((l) => [l.host, l.port, l.proto]),
      [
        ['0.0.0.0', 9312, 'sphinx'],
        ['0.0.0.0', 9306, 'mysql'],
        ['0.0.0.0', 9308, 'http'],
      ],
    );
  });

  test('listener forms', () => {
    const pick = (v: string) => {
      const l = parseListener(v);
      return { host: l.host, port: l.port, portEnd: l.portEnd, socket: l.socket, proto: l.proto, vip: l.vip, readonly: l.readonly };
    };
    assert.deepEqual(pick('9306'), { host: '0.0.0.0', port: 9306, portEnd: undefined, socket: undefined, proto: 'sphinx', vip: false, readonly: false });
    assert.deepEqual(pick('9306:mysql'), { host: '0.0.0.0', port: 9306, portEnd: undefined, socket: undefined, proto: 'mysql', vip: false, readonly: false });
    assert.deepEqual(pick('localhost:9312'), { host: 'localhost', port: 9312, portEnd: undefined, socket: undefined, proto: 'sphinx', vip: false, readonly: false });
    assert.deepEqual(pick('0.0.0.0:9443:https'), { host: '0.0.0.0', port: 9443, portEnd: undefined, socket: undefined, proto: 'https', vip: false, readonly: false });
    assert.deepEqual(pick('127.0.0.1:9307:mysql_vip'), { host: '127.0.0.1', port: 9307, portEnd: undefined, socket: undefined, proto: 'mysql', vip: true, readonly: false });
    assert.deepEqual(pick('9305:mysql_readonly'), { host: '0.0.0.0', port: 9305, portEnd: undefined, socket: undefined, proto: 'mysql', vip: false, readonly: true });
    assert.deepEqual(pick('h:9350-9359:replication'), { host: 'h', port: 9350, portEnd: 9359, socket: undefined, proto: 'replication', vip: false, readonly: false });
    assert.deepEqual(pick('/run/m.sock:mysql41'), { host: undefined, port: undefined, portEnd: undefined, socket: '/run/m.sock', proto: 'mysql', vip: false, readonly: false });
  });

  test('listener errors', () => {
    assert.throws(() => parseListener('9306:gopher', 'f.conf', 4), /f\.conf line 4: unknown listen protocol 'gopher'/);
    assert.throws(() => parseListener('99999', 'f.conf', 4), /port 99999 out of range/);
    assert.throws(() => parseListener('h:9350-9359:mysql', 'f.conf', 4), /port range is only allowed for replication/);
    assert.throws(() => parseListener('h:abc:mysql', 'f.conf', 4), /invalid port 'abc'/);
    assert.throws(() => readSearchd(parseConfig('indexer {\n}\n', 'f.conf')), /f\.conf: no 'searchd' section/);
    assert.throws(() => readSearchd(parseConfig('searchd {\n server_id = x\n}\n', 'f.conf')), /f\.conf line 2: server_id must be an integer/);
  });
});
