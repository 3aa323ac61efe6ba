/**
 * The whole stack (controller, agents, nodes) stopped in the middle of an import's build and started
 * again from the same data dir: the persisted import machine resumes, the build lost with its agent
 * is started again, and the import finishes with the new slot served on every node and one slot left.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { AgentClient } from '../../../src/agent/client.js';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseCount, parseShowTables } from '../../../src/manticore/parse.js';
import { selectCount, showAllClusterStatus, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';

const CLUSTER = 'itimprs';
const TOKEN = 'import-restart-token-0123456789ab';
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
/** restart through the start gate (full-stop recovery) + a whole import */
const WAIT_IMPORT_MS = 180_000;
/** rows of the CSV: enough for the build to be running when the stack stops */
const CSV_ROWS = 150_000;

let dir: string;
let stack: RunningStack | undefined;

async function start(): Promise<RunningStack> {
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env.CONTROLLER_TEST_LOG ? createLogger({ level: process.env.CONTROLLER_TEST_LOG }) : silentLogger();
  return startStack({ config, token: TOKEN, env: process.env, logger, controller: { resyncMs: 1_000, fastResyncMs: 300 } });
}

function sqlOf(s: RunningStack, n: NodeRef) {
  return s.pools.get(`${n.mysql.host}:${n.mysql.port}`);
}

async function tablesOn(s: RunningStack, n: NodeRef): Promise<Map<string, string>> {
  return new Map(parseShowTables(await sqlOf(s, n).query(showTables())).map((t) => [t.name, t.type]));
}

after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('stack stopped during the build: the import resumes after the restart and finishes', { timeout: WAIT_FORMED_MS * 2 + WAIT_IMPORT_MS }, async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'import-restart-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'specs', 'docs.json'),
    JSON.stringify({ name: 'docs', columns: [{ name: 'title', type: 'text' }], import: { source: 'docs.csv', header: true }, distributed: { haStrategy: 'nodeads', agentRetryCount: 1 } }),
  );
  const lines = ['id,title'];
  for (let i = 1; i <= CSV_ROWS; i++) lines.push(`${i},document number ${i}`);
  writeFileSync(path.join(dir, 'docs.csv'), `${lines.join('\n')}\n`);

  stack = await start();
  let nodes = await stack.platform.listNodes();
  const formed = async (s: RunningStack) => {
    for (const n of nodes) {
      const c = parseClusterStatus(await sqlOf(s, n).query(showAllClusterStatus()), CLUSTER);
      if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
      const t = await tablesOn(s, n);
      if (t.get('docs') !== 'distributed' || t.get('docs_delta') !== 'rt') return false;
    }
    return true;
  };
  await waitFor(() => formed(stack!), 'form', 'cluster formed with docs', { factor: WAIT_FORMED_MS / timeoutMs('form') });

  const op = await stack.controller.requestImport({ table: 'docs', source: path.join(dir, 'docs.csv'), requestedBy: 'test' });
  await waitFor(async () => stack!.status.operation(op.id)?.steps.some((s) => s.name === 'build' && s.state === 'running') === true, 'replicate', 'the build runs');
  await stack.stop();
  stack = undefined;

  stack = await start();
  nodes = await stack.platform.listNodes();
  let end: OperationRecord | undefined;
  await waitFor(
    async () => {
      end = stack!.status.operation(op.id);
      return end !== undefined && end.state !== 'running';
    },
    'form',
    'the resumed import ends',
    { factor: (WAIT_FORMED_MS + WAIT_IMPORT_MS) / timeoutMs('form') },
  );
  assert.equal(end?.state, 'succeeded', `${end?.error ?? ''} ${JSON.stringify(end?.steps)}`);
  // the build the stop interrupted was started again as the next generation (or had just finished)
  const agent = new AgentClient({ baseUrl: nodes[0]!.agentUrl, token: TOKEN });
  const first = await agent.job(`${op.id}:${nodes[0]!.name}:build-main`);
  process.stderr.write(`# first build job after the restart: ${first.state}${first.error ? ` (${first.error})` : ''}\n`);
  if (first.state !== 'succeeded') {
    assert.match(first.error ?? '', /agent (stopped|restarted)/);
    assert.equal((await agent.job(`${op.id}:${nodes[0]!.name}:build-main.2`)).state, 'succeeded');
  }
  for (const n of nodes) {
    const t = await tablesOn(stack, n);
    assert.equal(t.has('docs_main_a'), false, `old slot dropped on ${n.name}`);
    assert.equal(t.get('docs_main_b'), 'rt');
    assert.equal(parseCount(await sqlOf(stack, n).query(selectCount('docs'))), CSV_ROWS);
  }
});
