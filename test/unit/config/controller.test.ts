import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { controllerUsage, loadControllerConfig } from '../../../src/config/controller.js';
import { ValidationError } from '../../../src/lib/errors.js';

const cwd = '/srv/app';
const load = (env: Record<string, string>, argv: string[] = []) => loadControllerConfig({ env: { PATH: '', ...env }, argv, cwd });

function rejects(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `a ValidationError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.match(err.message, message);
    return true;
  });
}

describe('controller config', () => {
  test('defaults: loopback API on 8080, local platform of 3 simulated nodes, data under ./.orchestrator', () => {
    const c = load({});
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8080 });
    assert.equal(c.dataDir, path.join(cwd, '.orchestrator'));
    assert.equal(c.specsDir, path.join(cwd, '.orchestrator', 'specs'));
    assert.equal(c.clusterName, 'manticore');
    assert.equal(c.platform.kind, 'local');
    assert.equal(c.platform.kind === 'local' && c.platform.nodes, 3);
    assert.equal(c.platform.kind === 'local' && c.platform.binaries.isSimulator, true);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.logFormat, 'json');
    assert.equal(c.resyncIntervalMs, 2_000);
    assert.equal(c.tablesConfig, undefined);
    assert.equal(c.help, false);
  });

  test('flags override env vars, which override defaults', () => {
    const env = { ORCHESTRATOR_LISTEN: '0.0.0.0:7000', ORCHESTRATOR_DATA_DIR: 'envdata', LOCAL_NODES: '5', LOG_LEVEL: 'debug' };
    const fromEnv = load(env);
    assert.deepEqual(fromEnv.listen, { host: '0.0.0.0', port: 7000 });
    assert.equal(fromEnv.dataDir, path.join(cwd, 'envdata'));
    assert.equal(fromEnv.platform.kind === 'local' && fromEnv.platform.nodes, 5);
    assert.equal(fromEnv.logLevel, 'debug');

    const fromFlags = load(env, ['--port', '9090', '--data-dir', '/tmp/dd', '--nodes', '2', '--log-level=warn', '--host', '127.0.0.2']);
    assert.deepEqual(fromFlags.listen, { host: '127.0.0.2', port: 9090 });
    assert.equal(fromFlags.dataDir, '/tmp/dd');
    assert.equal(fromFlags.specsDir, '/tmp/dd/specs');
    assert.equal(fromFlags.platform.kind === 'local' && fromFlags.platform.nodes, 2);
    assert.equal(fromFlags.logLevel, 'warn');
  });

  test("the original system's names still work", () => {
    const c = load({ LISTEN_ADDR: ':8081', CLUSTER_NAME: 'myc', TABLES_CONFIG: '{"products":"p.csv"}' });
    assert.deepEqual(c.listen, { host: '0.0.0.0', port: 8081 });
    assert.equal(c.clusterName, 'myc');
    assert.equal(c.tablesConfig, '{"products":"p.csv"}');
    // the canonical name wins over the alias
    assert.deepEqual(load({ LISTEN_ADDR: ':8081', ORCHESTRATOR_LISTEN: '127.0.0.1:8082' }).listen, { host: '127.0.0.1', port: 8082 });
  });

  test('NODES selects the static platform; PLATFORM=static without NODES is an error', () => {
    const c = load({ NODES: 'a=10.0.0.5,b=10.0.0.6:9316', AGENT_PORT: '9000' });
    assert.equal(c.platform.kind, 'static');
    assert.deepEqual(
      c.platform.kind === 'static' && c.platform.nodes.map((n) => [n.name, `${n.mysql.host}:${n.mysql.port}`, n.agentUrl]),
      [
        ['a', '10.0.0.5:9306', 'http://10.0.0.5:9000'],
        ['b', '10.0.0.6:9316', 'http://10.0.0.6:9000'],
      ],
    );
    assert.equal(load({ NODES: '10.0.0.5', PLATFORM: 'local' }).platform.kind, 'local', 'PLATFORM wins');
    rejects(() => load({ PLATFORM: 'static' }), 'NODES', /PLATFORM=static needs the node list: set NODES/);
  });

  test('bad values are rejected with the variable or flag and the fix', () => {
    rejects(() => load({ PLATFORM: 'mesos' }), 'PLATFORM', /'mesos' is not one of local, static, controlplane(, kubernetes)?: set PLATFORM to one of them/);
    rejects(() => load({ LOCAL_NODES: '0' }), 'LOCAL_NODES', /'0' is not a whole number from 1 to 32: set LOCAL_NODES to one, e.g. 3/);
    rejects(() => load({}, ['--nodes', 'three']), '--nodes', /'three' is not a whole number from 1 to 32/);
    rejects(() => load({ ORCHESTRATOR_PORT: '80a' }), 'ORCHESTRATOR_PORT', /port '80a' is not a whole number from 1 to 65535/);
    rejects(() => load({ LOG_LEVEL: 'loud' }), 'LOG_LEVEL', /not one of error, warn, info, debug/);
    rejects(() => load({ LOG_FORMAT: 'xml' }), 'LOG_FORMAT', /not one of json, pretty/);
    rejects(() => load({ RESYNC_INTERVAL: 'often' }), 'RESYNC_INTERVAL', /write e.g. '500ms', '30s', '5m'/);
    rejects(() => load({ CLUSTER_NAME: '1bad-name' }), 'CLUSTER_NAME', /cluster name/);
    rejects(() => load({ NODES: '[{"mysql":"10.0.0.5:9306","port":1}]' }), 'NODES[0].port', /unknown key/);
    rejects(() => load({}, ['stray']), 'stray', /unexpected argument/);
    rejects(() => load({}, ['--bogus', '1']), '--bogus', /unknown flag/);
  });

  test('empty env values count as unset; --help is reported', () => {
    const c = load({ ORCHESTRATOR_LISTEN: '', LISTEN_ADDR: '  ', CLUSTER_NAME: '' }, ['--help']);
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8080 });
    assert.equal(c.clusterName, 'manticore');
    assert.equal(c.help, true);
    assert.match(controllerUsage(), /--nodes <value> +number of nodes the local platform runs/);
  });

  test('durations: RESYNC_INTERVAL and --resync', () => {
    assert.equal(load({ RESYNC_INTERVAL: '5m' }).resyncIntervalMs, 300_000);
    assert.equal(load({ RESYNC_INTERVAL: '5m' }, ['--resync', '250ms']).resyncIntervalMs, 250);
    rejects(() => load({ RESYNC_INTERVAL: '10ms' }), 'RESYNC_INTERVAL', /at least 100 ms/);
  });
});
