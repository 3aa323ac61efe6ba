import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { agentLaunch, loadAgentConfig } from '../../../src/config/agent.js';

const cwd = '/srv';

describe('agent config', () => {
  test('defaults, and what the searchd config decides is left unset', () => {
    const c = loadAgentConfig({ env: { PATH: '', AGENT_TOKEN: 'agent-token-0123456789' }, cwd });
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 19500 });
    assert.equal(c.token, 'agent-token-0123456789');
    assert.equal(c.mysql, undefined);
    assert.equal(c.dataDir, undefined);
    assert.equal(c.jobsDir, undefined);
    assert.equal(c.clusterName, undefined);
    assert.equal(c.binaries.isSimulator, true);
    assert.equal(c.logLevel, 'info');
  });

  test("the original's variables; flags win", () => {
    const env = { PATH: '', AUTH_TOKEN: 'original-token-123456', LISTEN_ADDR: ':8080', MYSQL_HOST: '10.1.1.1', MYSQL_PORT: '9316', CLUSTER_NAME: 'myc', JOBS_DIR: 'jobs' };
    const c = loadAgentConfig({ env, cwd });
    assert.deepEqual(c.listen, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(c.mysql, { host: '10.1.1.1', port: 9316 });
    assert.equal(c.clusterName, 'myc');
    assert.equal(c.jobsDir, '/srv/jobs');
    const f = loadAgentConfig({ env, cwd, argv: ['--listen', '127.0.0.1:1234', '--mysql', '127.0.0.1:9999', '--cluster', 'other', '--searchd', '/x/searchd'] });
    assert.deepEqual([f.listen.port, f.mysql?.port, f.clusterName, f.binaries.searchd, f.binaries.isSimulator], [1234, 9999, 'other', '/x/searchd', false]);
  });

  test('errors name the variable and the fix', () => {
    assert.throws(() => loadAgentConfig({ env: { PATH: '' }, cwd }), /AGENT_TOKEN: the agent needs the controller's token: set AGENT_TOKEN/);
    assert.throws(() => loadAgentConfig({ env: { PATH: '', AGENT_TOKEN: 'agent-token-0123456789' }, argv: ['--mysql', '9306'], cwd }), /--mysql: '9306': write 'host:port'/);
    assert.throws(() => loadAgentConfig({ env: { PATH: '', AGENT_TOKEN: 'agent-token-0123456789', MYSQL_PORT: 'x' }, cwd }), /MYSQL_PORT: port 'x'/);
  });

  test('agentLaunch gives the argv and env that load back to the same config (the token only in the env)', () => {
    const original = loadAgentConfig({
      env: { PATH: '', AGENT_TOKEN: 'agent-token-0123456789' },
      cwd,
      argv: ['--listen', '127.0.0.1:19501', '--searchd-config', '/n/manticore.conf', '--mysql', '127.0.0.1:19306', '--data-dir', '/n/data', '--jobs-dir', '/n/agent', '--cluster', 'c', '--log-level', 'debug'],
    });
    const launch = agentLaunch(original);
    assert.ok(!launch.args.includes('agent-token-0123456789'), 'no token on the command line');
    assert.deepEqual(launch.env, { AGENT_TOKEN: 'agent-token-0123456789' });
    const again = loadAgentConfig({ env: { PATH: '', ...launch.env }, argv: launch.args, cwd });
    assert.deepEqual(again, original);
  });
});
