/**
 * A blue/green import of a table whose main slots join the replication cluster (clusterMain): one
 * node imports the new slot and adds it to the cluster, replication gives it to every member, the
 * flip follows, and the old slot leaves the cluster and is dropped everywhere.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { errorMessage } from '../../../src/lib/errors.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseCount, parseShowTables } from '../../../src/manticore/parse.js';
import { selectCount, showAllClusterStatus, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';

const CLUSTER = 'itclmain';
const TOKEN = 'import-clmain-token-0123456789abcd';
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
const WAIT_IMPORT_MS = 120_000;

let dir: string;
let stack: RunningStack;
let nodes: NodeRef[];
const sql = (n: NodeRef) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);

async function tablesOn(n: NodeRef): Promise<Map<string, string>> {
  return new Map(parseShowTables(await sql(n).query(showTables())).map((t) => [t.name, t.type]));
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'import-clmain-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'specs', 'docs.json'),
    JSON.stringify({ name: 'docs', columns: [{ name: 'title', type: 'text' }], import: { source: 'docs.csv', header: true }, clusterMain: true, distributed: { haStrategy: 'nodeads', agentRetryCount: 1 } }),
  );
  const lines = ['id,title'];
  for (let i = 1; i <= 20; i++) lines.push(`${i},doc ${i}`);
  writeFileSync(path.join(dir, 'docs.csv'), `${lines.join('\n')}\n`);
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env.CONTROLLER_TEST_LOG ? createLogger({ level: process.env.CONTROLLER_TEST_LOG }) : silentLogger();
  stack = await startStack({ config, token: TOKEN, env: process.env, logger, controller: { resyncMs: 1_000, fastResyncMs: 300 } });
  nodes = await stack.platform.listNodes();
  await waitFor(
    async () => {
      for (const n of nodes) {
        const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
        const t = await tablesOn(n);
        if (t.get('docs') !== 'distributed' || t.get('docs_main_a') !== 'rt' || t.get('docs_delta') !== 'rt') return false;
        if (!c.indexes.includes('docs_main_a')) return false;
      }
      return true;
    },
    'form',
    'cluster formed and docs converged on every node',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );
});

after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('clusterMain: the new slot is imported once, replicated, flipped; the old slot leaves the cluster', { timeout: WAIT_IMPORT_MS + 30_000 }, async () => {
  let stop = false;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stop) {
      await Promise.all(
        nodes.map(async (n) => {
          try {
            await sql(n).query(selectCount('docs'));
          } catch (err) {
            failures.push(`${n.name}: ${errorMessage(err)}`);
          }
        }),
      );
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const op = await stack.controller.requestImport({ table: 'docs', source: path.join(dir, 'docs.csv'), requestedBy: 'test' });
  let end: OperationRecord | undefined;
  await waitFor(
    async () => {
      end = stack.status.operation(op.id);
      return end !== undefined && end.state !== 'running';
    },
    'form',
    'the import ends',
    { factor: WAIT_IMPORT_MS / timeoutMs('form') },
  );
  stop = true;
  await loop;
  assert.equal(end?.state, 'succeeded', `${end?.error ?? ''} ${JSON.stringify(end?.steps)}`);
  assert.deepEqual(failures, []);
  for (const n of nodes) {
    const t = await tablesOn(n);
    assert.equal(t.has('docs_main_a'), false, `old slot dropped on ${n.name}`);
    assert.equal(t.get('docs_main_b'), 'rt');
    const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
    assert.ok(c?.indexes.includes('docs_main_b'), `docs_main_b in the cluster on ${n.name}`);
    assert.ok(!c?.indexes.includes('docs_main_a'));
    assert.equal(parseCount(await sql(n).query(selectCount('docs_main_b'))), 20);
    assert.equal(parseCount(await sql(n).query(selectCount('docs'))), 20);
  }
});
