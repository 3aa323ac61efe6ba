import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StaticPlatform } from '../../../src/platform/static/static-platform.js';
import { parseNodeList } from '../../../src/config/nodes.js';
import { createPlatform } from '../../../src/platform/index.js';
import { silentLogger } from '../../../src/lib/logger.js';

describe('StaticPlatform', () => {
  test('lists the configured nodes; start and stop change nothing; no change fires without a reload', async () => {
    const nodes = parseNodeList('a=10.0.0.5,b=10.0.0.6');
    const p = new StaticPlatform(nodes);
    let fired = 0;
    p.onChange(() => fired++);
    await p.start();
    assert.equal(p.kind, 'static');
    assert.deepEqual(await p.listNodes(), nodes);
    await p.stop();
    assert.deepEqual(await p.listNodes(), nodes);
    assert.equal(fired, 0);
  });

  test('callers cannot change the list through what they get', async () => {
    const p = new StaticPlatform(parseNodeList('h1'));
    const got = await p.listNodes();
    got[0]!.mysql.port = 1;
    got.push({ ...got[0]!, name: 'x' });
    assert.deepEqual((await p.listNodes()).map((n) => [n.name, n.mysql.port]), [['node0', 9306]]);
  });

  test('reload fires listeners only when the list differs; unsubscribe stops them', async () => {
    const p = new StaticPlatform(parseNodeList('h1,h2'));
    let fired = 0;
    const off = p.onChange(() => fired++);
    assert.equal(p.reload(parseNodeList('h1,h2')), false);
    assert.equal(fired, 0);
    assert.equal(p.reload(parseNodeList('h1,h2,h3')), true);
    assert.equal(fired, 1);
    assert.deepEqual((await p.listNodes()).map((n) => n.mysql.host), ['h1', 'h2', 'h3']);
    off();
    p.reload(parseNodeList('h1'));
    assert.equal(fired, 1);
  });

  test('createPlatform picks the driver the config names', () => {
    const deps = { dataDir: '/tmp/x', token: 'token-0123456789abcdef', clusterName: 'c', env: {}, logger: silentLogger() };
    assert.equal(createPlatform({ kind: 'static', nodes: parseNodeList('h1') }, deps).kind, 'static');
  });
});
