import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_NODE_PORTS, parseNodeList } from '../../../src/config/nodes.js';

describe('NODES (static node list)', () => {
  test('comma list: [name=]host[:mysqlPort], other addresses from the default ports', () => {
    assert.deepEqual(parseNodeList('10.0.0.5, mc-1=db1.internal:9316'), [
      {
        name: 'node0',
        ordinal: 0,
        mysql: { host: '10.0.0.5', port: 9306 },
        apiAddress: '10.0.0.5:9312',
        httpAddress: '10.0.0.5:9308',
        agentUrl: 'http://10.0.0.5:8080',
      },
      {
        name: 'mc-1',
        ordinal: 1,
        mysql: { host: 'db1.internal', port: 9316 },
        apiAddress: 'db1.internal:9312',
        httpAddress: 'db1.internal:9308',
        agentUrl: 'http://db1.internal:8080',
      },
    ]);
    const custom = parseNodeList('h1 h2', { ...DEFAULT_NODE_PORTS, apiPort: 9412, agentPort: 19500 });
    assert.deepEqual(
      custom.map((n) => [n.apiAddress, n.agentUrl]),
      [
        ['h1:9412', 'http://h1:19500'],
        ['h2:9412', 'http://h2:19500'],
      ],
    );
  });

  test('JSON array of objects or strings', () => {
    const nodes = parseNodeList(
      JSON.stringify([
        { name: 'a', mysql: '127.0.0.1:19306', api: '127.0.0.1:19312', http: '127.0.0.1:19308', agent: 'http://127.0.0.1:19500/' },
        { host: 'b.local' },
        'c.local:9406',
      ]),
    );
    assert.deepEqual(nodes[0], {
      name: 'a',
      ordinal: 0,
      mysql: { host: '127.0.0.1', port: 19306 },
      apiAddress: '127.0.0.1:19312',
      httpAddress: '127.0.0.1:19308',
      agentUrl: 'http://127.0.0.1:19500',
    });
    assert.deepEqual([nodes[1]?.name, nodes[1]?.mysql, nodes[1]?.agentUrl], ['node1', { host: 'b.local', port: 9306 }, 'http://b.local:8080']);
    assert.deepEqual([nodes[2]?.name, nodes[2]?.mysql], ['node2', { host: 'c.local', port: 9406 }]);
  });

  test('errors point at the entry and say what to write', () => {
    assert.throws(() => parseNodeList('[{"mysql": 5}]'), /NODES\[0\]\.mysql: 5: write 'host:port'/);
    assert.throws(() => parseNodeList('[{"name":"x"}]'), /NODES\[0\]: a node needs 'mysql' \('host:port'\) or 'host': add one/);
    assert.throws(() => parseNodeList('[{"mysql":"h:1","agent":"ftp://h"}]'), /NODES\[0\]\.agent: agent URL 'ftp:\/\/h': use http:\/\/ or https:\/\//);
    assert.throws(() => parseNodeList('[1,'), /NODES: is not valid JSON/);
    assert.throws(() => parseNodeList('{"mysql":"h:1"}'), /NODES: must be a JSON array/);
    assert.throws(() => parseNodeList(' , '), /NODES: lists no node/);
    assert.throws(() => parseNodeList('a=h1,a=h2'), /NODES\[1\]: node name 'a' is used twice/);
    assert.throws(() => parseNodeList('h1,h1:9306'), /NODES\[1\]: MySQL address h1:9306 is listed twice/);
    assert.throws(() => parseNodeList('h_1'), /NODES\[0\]: host 'h_1'/);
    assert.throws(() => parseNodeList('h1:70000'), /NODES\[0\]: port '70000'/);
    assert.throws(() => parseNodeList('bad/name=h1'), /NODES\[0\]: node name 'bad\/name'/);
  });
});
