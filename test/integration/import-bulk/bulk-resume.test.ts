/**
 * importMethod "bulk" with the controller as a separate process (PLATFORM=static over 3 simulator
 * nodes and their agents run here through LocalPlatform), SIGKILLed while it loads, once a checkpoint
 * is recorded: the restarted controller restores the machine from its snapshot, resumes from the
 * checkpoint (it skips the records already loaded, as its log says) and finishes. Asserted on the
 * nodes over SQL: every row of the source exactly once on every node, one slot served and one left.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { errorMessage } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import { parseClusterStatus, parseShowTables } from '../../../src/manticore/parse.js';
import { showAllClusterStatus, showTables } from '../../../src/manticore/sql.js';
import { LocalPlatform } from '../../../src/platform/local/local-platform.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { resolveBinaries, timeoutMs } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { CONTROLLER_SCRIPT, ControllerProcess, freePort } from '../../helpers/controller-process.js';
import { assertWorld, observeWorld, writeCsv } from '../import-faults/world.js';

const TOKEN = 'import-bulk-resume-token-01234567';
const CLUSTER = 'ibr';
const TABLE = 'parts';
/** enough rows for several checkpoints (one per ~2 s chunk) at the small batch below */
const ROWS = 150_000;
const BATCH = 200;

/** Named waits (ms). */
const WAIT = {
  running: timeoutMs('start') + 5_000,
  converged: timeoutMs('form') * 2 + 10_000,
  api: 15_000,
  /** the first checkpoint of the bulk load is in the operation record */
  checkpoint: 60_000,
  /** the resumed import ends */
  end: 120_000,
  exit: 10_000,
};

const haveBins = existsSync(CONTROLLER_SCRIPT);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(probe: () => Promise<T | false | undefined> | T | false | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let lastErr = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== false && v !== undefined) return v;
    } catch (err) {
      lastErr = ` (last error: ${errorMessage(err)})`;
    }
    if (Date.now() > deadline) throw new Error(`waiting ${ms} ms for ${what} failed${lastErr}`);
    await sleep(20);
  }
}

const platforms: LocalPlatform[] = [];
const controllers: ControllerProcess[] = [];
const dirs: string[] = [];
const pools = new ManticorePools({ queryTimeoutMs: 10_000, connectTimeoutMs: 1_000 });
after(async () => {
  for (const c of controllers) await c.signal('SIGKILL').catch(() => undefined);
  for (const p of platforms) await p.stop().catch(() => undefined);
  await pools.closeAll();
  if (process.env.KEEP_TEST_DIRS === undefined) for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sqlOf = (n: NodeRef) => pools.get(`${n.mysql.host}:${n.mysql.port}`);

async function converged(nodes: NodeRef[]): Promise<boolean> {
  for (const n of nodes) {
    const c = parseClusterStatus(await sqlOf(n).query(showAllClusterStatus()), CLUSTER);
    if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== nodes.length) return false;
    const t = new Map(parseShowTables(await sqlOf(n).query(showTables())).map((x) => [x.name, x.type]));
    if (t.get(TABLE) !== 'distributed' || t.get(`${TABLE}_main_a`) !== 'rt') return false;
  }
  return true;
}

describe('bulk import with the controller SIGKILLed mid-load', { skip: haveBins ? false : `no ${CONTROLLER_SCRIPT} (npm run build)` }, () => {
  test('resumes from the persisted checkpoint: every row once on every node', { timeout: WAIT.converged + WAIT.checkpoint + WAIT.end + 30_000 }, async (t) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'mco-bulk-resume-'));
    dirs.push(root);
    const specsDir = path.join(root, 'specs');
    mkdirSync(specsDir, { recursive: true });
    const source = path.join(root, 'parts.csv');
    writeCsv(source, ROWS, 'resume', writeFileSync);
    writeFileSync(
      path.join(specsDir, `${TABLE}.json`),
      JSON.stringify({
        name: TABLE,
        columns: [
          { name: 'title', type: 'text' },
          { name: 'price', type: 'float' },
        ],
        importMethod: 'bulk',
        import: { source, header: true, workers: 2, batchSize: BATCH },
        distributed: { haStrategy: 'nodeads', agentRetryCount: 1 },
      }),
    );
    const platform = new LocalPlatform({
      dataDir: path.join(root, 'nodes'),
      nodes: 3,
      binaries: resolveBinaries({}),
      token: TOKEN,
      clusterName: CLUSTER,
      env: process.env,
      logger: silentLogger(),
      timings: { gatePollMs: 100, backoffBaseMs: 200, backoffMaxMs: 2000 },
    });
    platforms.push(platform);
    await platform.start();
    const nodes = [...(await platform.listNodes())].sort((a, b) => a.ordinal - b.ordinal);
    for (const n of nodes) await platform.waitForNode(n.name, (s) => s.phase === 'running', WAIT.running, 'fresh node running');
    const ctrl = new ControllerProcess({ dataDir: path.join(root, 'controller'), specsDir, nodes, port: await freePort(), token: TOKEN, cluster: CLUSTER, exitTimeoutMs: WAIT.exit });
    controllers.push(ctrl);
    ctrl.start();
    await until(() => converged(nodes), WAIT.converged, 'the cluster formed and the table on every node');

    const res = await until(
      async () => {
        const r = await fetch(`http://127.0.0.1:${ctrl.port}/api/import`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ table: TABLE }),
        });
        return { status: r.status, json: (await r.json()) as { data?: OperationRecord } };
      },
      WAIT.api,
      'POST /api/import answered',
    );
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const opId = res.json.data!.id;
    const theOp = () => ctrl.operations().find((o) => o.id === opId);

    // two checkpoints are recorded while the load is still running, then SIGKILL: the record's figure can
    // run ahead of the persisted snapshot by one chunk, so only the second proves the first was persisted
    let firstRows = 0;
    const rowsAtKill = await until(
      () => {
        const op = theOp();
        if (op && op.state !== 'running') throw new Error(`the import ended before a kill: ${JSON.stringify(op)}`);
        const step = op?.steps[op.steps.length - 1];
        const rows = Number(op?.figures?.rows ?? 0);
        if (step?.name !== 'bulk load' || step.state !== 'running' || rows <= 0 || rows >= ROWS) return undefined;
        if (firstRows === 0) firstRows = rows;
        return rows > firstRows ? rows : undefined;
      },
      WAIT.checkpoint,
      'a bulk load checkpoint in the operation record',
    );
    await ctrl.signal('SIGKILL');
    ctrl.start();
    const end = await until(
      () => {
        const op = theOp();
        return op && op.state !== 'running' && op.state !== 'pending' ? op : undefined;
      },
      WAIT.end,
      'the resumed import ends',
    );
    assert.equal(end.state, 'succeeded', `${end.error ?? ''} ${JSON.stringify(end.steps)}; see ${ctrl.logFile}`);
    // the second run resumed from the checkpoint instead of starting over
    const resumed = ctrl.logEntries().find((e) => e.message === 'bulk import: resuming from the checkpoint');
    assert.ok(resumed, `the restarted controller logged a resume from the checkpoint; see ${ctrl.logFile}`);
    const skipped = Number(resumed.records);
    assert.ok(skipped > 0 && skipped < ROWS, `records skipped on resume: ${skipped}`);
    t.diagnostic(`SIGKILL at ${rowsAtKill} rows loaded; resumed skipping ${skipped} records; import ${end.state} after ${end.figures?.durationMs} ms over ${ctrl.runs} controller runs`);
    assert.equal(ctrl.operations().filter((o) => o.kind === 'import').length, 1, 'one import operation over both runs');
    // every row exactly once on every node (ids 1..ROWS: nothing duplicated, nothing lost)
    assertWorld(await observeWorld(pools, nodes, TABLE), 'b', ROWS, 'after the resumed bulk import');
    for (const n of nodes) {
      const r = await sqlOf(n).query(`SELECT COUNT(*) AS c, MIN(id) AS lo, MAX(id) AS hi FROM ${TABLE}_main_b`);
      assert.deepEqual([Number(r[0]?.c), Number(r[0]?.lo), Number(r[0]?.hi)], [ROWS, 1, ROWS], `${n.name}: ids 1..${ROWS} once each`);
    }
    await ctrl.signal('SIGTERM');
  });
});
