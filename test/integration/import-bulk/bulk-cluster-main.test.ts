/**
 * importMethod "bulk" with clusterMain: the new slot is created on one node and added to the cluster,
 * every batch is written once through the cluster (`"cluster"` in the NDJSON) and replicated to every
 * member; rows without an id column get their position as id. Then the flip, and the old slot leaves
 * the cluster and is dropped everywhere.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseShowTables } from '../../../src/manticore/parse.js';
import { showAllClusterStatus, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { assertWorld, observeWorld } from '../import-faults/world.js';

const CLUSTER = 'itbulkcm';
const TOKEN = 'import-bulk-cm-token-0123456789abc';
const TABLE = 'notes';
const ROWS = 1_500;
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
const WAIT_IMPORT_MS = 60_000;

let dir: string;
let stack: RunningStack | undefined;
after(async () => {
  await stack?.stop();
  if (dir && process.env.KEEP_TEST_DIRS === undefined) rmSync(dir, { recursive: true, force: true });
});

const sqlOf = (s: RunningStack, n: NodeRef) => s.pools.get(`${n.mysql.host}:${n.mysql.port}`);

test('bulk import with clusterMain: written once through the cluster, replicated, flipped; ids are row positions', { timeout: WAIT_FORMED_MS + WAIT_IMPORT_MS }, async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'import-bulk-cm-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  const source = path.join(dir, 'notes.tsv');
  const lines = ['title\tstars'];
  for (let i = 1; i <= ROWS; i++) lines.push(`note ${i}\t${i % 5}`);
  writeFileSync(source, `${lines.join('\n')}\n`);
  writeFileSync(
    path.join(dir, 'specs', `${TABLE}.json`),
    JSON.stringify({
      name: TABLE,
      columns: [
        { name: 'title', type: 'text' },
        { name: 'stars', type: 'integer' },
      ],
      importMethod: 'bulk',
      import: { source, header: true, idColumn: false, batchSize: 400 },
      clusterMain: true,
      distributed: { haStrategy: 'nodeads', agentRetryCount: 1 },
    }),
  );
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env.CONTROLLER_TEST_LOG ? createLogger({ level: process.env.CONTROLLER_TEST_LOG }) : silentLogger();
  stack = await startStack({ config, token: TOKEN, env: process.env, logger, controller: { resyncMs: 1_000, fastResyncMs: 300 } });
  const s = stack;
  const nodes = [...(await s.platform.listNodes())].sort((a, b) => a.ordinal - b.ordinal);
  const cluster = async (n: NodeRef) => parseClusterStatus(await sqlOf(s, n).query(showAllClusterStatus()), CLUSTER);
  await waitFor(
    async () => {
      for (const n of nodes) {
        const c = await cluster(n);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3 || !c.indexes.includes(`${TABLE}_main_a`)) return false;
        const t = new Map(parseShowTables(await sqlOf(s, n).query(showTables())).map((x) => [x.name, x.type]));
        if (t.get(TABLE) !== 'distributed') return false;
      }
      return true;
    },
    'form',
    'cluster formed, notes converged with its main slot in the cluster',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );

  const op = await s.controller.requestImport({ table: TABLE, requestedBy: 'test' });
  let end: OperationRecord | undefined;
  await waitFor(
    () => {
      end = s.status.operation(op.id);
      return end !== undefined && end.state !== 'running' && end.state !== 'pending';
    },
    'form',
    `import ${op.id} ends`,
    { factor: WAIT_IMPORT_MS / timeoutMs('form') },
  );
  assert.equal(end?.state, 'succeeded', `${end?.error ?? ''} ${JSON.stringify(end?.steps)}`);
  assertWorld(await observeWorld(s.pools, nodes, TABLE), 'b', ROWS, 'after the clusterMain bulk import');
  for (const n of nodes) {
    const c = await cluster(n);
    assert.ok(c?.indexes.includes(`${TABLE}_main_b`), `${n.name}: the new slot is in the cluster (${c?.indexes.join(',')})`);
    assert.ok(!c?.indexes.includes(`${TABLE}_main_a`), `${n.name}: the old slot left the cluster`);
    const r = await sqlOf(s, n).query(`SELECT id, stars FROM ${TABLE}_main_b WHERE id = 7`);
    assert.deepEqual([String(r[0]?.id), String(r[0]?.stars)], ['7', '2'], `${n.name}: row 7 (the 7th data row) replicated`);
  }
});
