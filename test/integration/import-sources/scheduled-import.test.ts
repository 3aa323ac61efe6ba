/**
 * A scheduled import on the real stack (one local simulator node, the controller, its agent): the spec's
 * `import.schedule` ("* * * * *", every minute, UTC) fires requestImport at the next minute; the operation
 * (requestedBy "schedule") succeeds and the table serves the CSV's rows from the new slot.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { createLogger, silentLogger } from '../../../src/lib/logger.js';
import { parseCount, parseShowTables } from '../../../src/manticore/parse.js';
import { selectCount, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';

const CLUSTER = 'itsched';
const TOKEN = 'import-schedule-token-0123456789ab';
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
/** the next minute boundary (at most 60 s) plus a small import */
const WAIT_SCHEDULED_IMPORT_MS = 60_000 + 120_000;
const ROWS = 25;

let dir: string;
let stack: RunningStack;
let node: NodeRef;
const sql = (n: NodeRef) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'import-sched-it-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  const csv = path.join(dir, 'products.csv');
  writeFileSync(csv, ['id,title,price', ...Array.from({ length: ROWS }, (_, i) => `${i + 1},item ${i + 1},${i + 1}.5`)].join('\n') + '\n');
  writeFileSync(
    path.join(dir, 'specs', 'products.json'),
    JSON.stringify({
      name: 'products',
      columns: [
        { name: 'title', type: 'text' },
        { name: 'price', type: 'float' },
      ],
      import: { source: csv, header: true, schedule: '* * * * *' },
      deletionPolicy: 'retain',
    }),
  );
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '1', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const logger = process.env.CONTROLLER_TEST_LOG ? createLogger({ level: process.env.CONTROLLER_TEST_LOG }) : silentLogger();
  stack = await startStack({ config, token: TOKEN, env: process.env, logger, controller: { resyncMs: 1_000, fastResyncMs: 300 } });
  const nodes = await stack.platform.listNodes();
  assert.equal(nodes.length, 1);
  node = nodes[0] as NodeRef;
  await waitFor(
    async () => {
      const t = new Map(parseShowTables(await sql(node).query(showTables())).map((x) => [x.name, x.type]));
      return t.get('products') === 'distributed' && t.get('products_main_a') === 'rt';
    },
    'form',
    'products converged on the node',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );
});

after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the spec schedule fires an import that succeeds and is served', async () => {
  await waitFor(
    async () => stack.status.operations().some((o) => o.kind === 'import' && o.requestedBy === 'schedule' && o.state === 'succeeded'),
    'form',
    'a scheduled import succeeds',
    { factor: WAIT_SCHEDULED_IMPORT_MS / timeoutMs('form') },
  );
  const op = stack.status.operations().find((o) => o.kind === 'import' && o.requestedBy === 'schedule');
  assert.ok(op, 'the operation names the schedule as requester');
  const tables = new Map(parseShowTables(await sql(node).query(showTables())).map((x) => [x.name, x.type]));
  assert.equal(tables.get('products_main_b'), 'rt', 'the new slot exists');
  assert.equal(parseCount(await sql(node).query(selectCount('products'))), ROWS, 'the distributed table serves the imported rows');
});
