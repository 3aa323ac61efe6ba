import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AGENT_SETTINGS, CONFIG_DOCS, CONTROLLER_SETTINGS, renderConfigDocs } from '../../../src/config/settings.js';
import { CONTROLLER_FLAGS } from '../../../src/config/controller.js';
import { AGENT_FLAGS } from '../../../src/config/agent.js';

describe('configuration reference', () => {
  test('every setting has env names, a default and a meaning; names are unique per process', () => {
    for (const scope of ['controller', 'agent'] as const) {
      const docs = CONFIG_DOCS.filter((d) => d.scope === scope);
      const env = docs.flatMap((d) => d.env);
      assert.equal(new Set(env).size, env.length, `${scope}: an env var belongs to one setting`);
      const flags = docs.flatMap((d) => (d.flag ? [d.flag] : []));
      assert.equal(new Set(flags).size, flags.length, `${scope}: a flag belongs to one setting`);
      for (const d of docs) {
        assert.ok(d.env.length > 0 && d.default !== '' && d.meaning.length > 10, `${scope}.${d.key} is documented`);
      }
    }
  });

  test("the issue's flags and the original system's variables are there", () => {
    for (const f of ['--nodes', '--port', '--data-dir']) assert.ok(CONTROLLER_FLAGS.includes(f), f);
    for (const f of ['--listen', '--token', '--searchd-config', '--mysql', '--data-dir', '--jobs-dir', '--cluster']) assert.ok(AGENT_FLAGS.includes(f), f);
    const controllerEnv = Object.values(CONTROLLER_SETTINGS).flatMap((d) => d.env);
    for (const v of ['ORCHESTRATOR_TOKEN', 'AUTH_TOKEN', 'LISTEN_ADDR', 'TABLES_CONFIG', 'CLUSTER_NAME', 'LOG_LEVEL', 'AGENT_PORT', 'MANTICORE_MYSQL_PORT', 'PLATFORM', 'NODES']) {
      assert.ok(controllerEnv.includes(v), v);
    }
    const agentEnv = Object.values(AGENT_SETTINGS).flatMap((d) => d.env);
    for (const v of ['AUTH_TOKEN', 'MYSQL_HOST', 'MYSQL_PORT', 'CLUSTER_NAME', 'LISTEN_ADDR', 'JOBS_DIR', 'SEARCHD_BIN', 'INDEXER_BIN', 'MANTICORE_BACKUP_BIN']) {
      assert.ok(agentEnv.includes(v), v);
    }
  });

  test('renders one Markdown table per process', () => {
    const md = renderConfigDocs();
    assert.match(md, /### controller\n\n\| env \| flag \| default \| meaning \|/);
    assert.match(md, /\| `ORCHESTRATOR_TOKEN`, `AUTH_TOKEN` \| {2}\| generated/);
    assert.match(md, /### agent/);
    for (const d of CONFIG_DOCS) assert.ok(md.includes(`\`${d.env[0]}\``), d.env[0]);
  });
});
