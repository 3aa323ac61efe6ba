/**
 * The split-brain repair's 'verify rows' effect (applyVerifyRows) on real simulator nodes while an
 * application writes to every node all along:
 *   - nodes that hold the same data pass, although counts read one node after another differ;
 *   - a node that really lacks rows fails the check, naming it and the rows it lacks. It is made the
 *     way Manticore loses rows for real (manticore-facts §7): the node joins by SST while the table is
 *     frozen on the donors, so it receives the frozen files and misses every row written since.
 * A bare cluster (no controller, no agents): the effect is called directly with the repair's deps.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import { parseCount } from '../../../src/manticore/parse.js';
import { freeze, insert, selectCount, unfreeze } from '../../../src/manticore/sql.js';
import { applyVerifyRows, type RepairDeps } from '../../../src/machines/split-brain-repair/split-brain-repair.actors.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { isReady, LOOPBACK_OPTIONS, LocalCluster, waitFor, type SearchdNode } from '../../../src/sim/launcher.js';

const CLUSTER = 'vr';
const TABLE = 'items_delta';
/** Rows before the freeze, and written while the donors are frozen (the joiner misses those). */
const BEFORE_FREEZE = 20;
const WHILE_FROZEN = 15;
/** Writer pacing: one INSERT per writing node every WRITE_INTERVAL_MS. */
const WRITE_INTERVAL_MS = 10;
/** Verify timeouts: generous for the pass (it ends as soon as positions coincide), short for the fail (it reads until then). */
const VERIFY_PASS_TIMEOUT_MS = 20_000;
const VERIFY_FAIL_TIMEOUT_MS = 1_500;
/** Acknowledged writes wanted before a check starts (the application is really writing). */
const WRITES_BEFORE_CHECK = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One INSERT loop per node into <cluster>:items_delta, each with its own ids. */
class Writers {
  acked = 0;
  failed = 0;
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(pools: ManticorePools, nodes: SearchdNode[], firstId: number) {
    this.loops = nodes.map(async (n, i) => {
      let id = firstId + i * 1_000_000;
      const sql = pools.get(`127.0.0.1:${n.ports.mysql}`);
      while (this.running) {
        id++;
        try {
          await sql.exec(insert(TABLE, ['id', 'title'], [[id, `written during the check ${id}`]], { cluster: CLUSTER }));
          this.acked++;
        } catch {
          this.failed++;
        }
        await sleep(WRITE_INTERVAL_MS);
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

describe('split-brain repair: verify rows on simulator nodes under continuous writes', () => {
  let root: string;
  let c: LocalCluster;
  let pools: ManticorePools;
  let refs: NodeRef[];
  let writers: Writers | undefined;

  const deps = (verifyTimeoutMs: number): RepairDeps => ({
    node: (name) => refs.find((r) => r.name === name),
    sql: (node) => pools.get(`${node.mysql.host}:${node.mysql.port}`),
    logger: silentLogger(),
    verifyTimeoutMs,
  });
  const rows = async (n: SearchdNode) => parseCount(await pools.get(`127.0.0.1:${n.ports.mysql}`).query(selectCount(TABLE)));

  before(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'mco-verify-rows-'));
    c = new LocalCluster({ dir: root, size: 3 });
    pools = new ManticorePools({ queryTimeoutMs: 5_000, connectTimeoutMs: 1_000 });
    await c.startAll();
    const [n0, n1, n2] = [c.node(0), c.node(1), c.node(2)];
    refs = c.nodes.map((n, i) => ({ name: n.name, ordinal: i, mysql: { host: '127.0.0.1', port: n.ports.mysql }, apiAddress: n.apiAddress, agentUrl: 'http://127.0.0.1:1' }));
    // node0 + node1 with the table and some rows
    await n0.sql(`CREATE CLUSTER ${CLUSTER} '${LOOPBACK_OPTIONS}' AS options`);
    await c.waitFor(() => isReady(n0, CLUSTER), 'form', 'node0 primary + synced');
    await n1.sql(`JOIN CLUSTER ${CLUSTER} AT '${n0.apiAddress}' '${LOOPBACK_OPTIONS}' AS options`);
    await c.waitFor(async () => (await isReady(n0, CLUSTER, 2)) && isReady(n1, CLUSTER, 2), 'form', 'node0 + node1 primary + synced');
    await n0.sql(`CREATE TABLE ${TABLE} (title text)`);
    await n0.sql(`ALTER CLUSTER ${CLUSTER} ADD ${TABLE}`);
    await c.waitFor(async () => (await rows(n1).catch(() => undefined)) === 0, 'replicate', 'node1 has the table');
    const ins = (from: number, count: number, label: string) =>
      insert(TABLE, ['id', 'title'], Array.from({ length: count }, (_, i) => [from + i, `${label} ${from + i}`]), { cluster: CLUSTER });
    await n0.sql(ins(1, BEFORE_FREEZE, 'before the freeze'));
    // the donors frozen (either may be chosen), rows written meanwhile, node2 joins by SST: it misses them
    await n0.sql(freeze([TABLE]));
    await n1.sql(freeze([TABLE]));
    await n1.sql(ins(1_000, WHILE_FROZEN, 'while frozen'));
    await c.waitFor(async () => (await rows(n0)) === BEFORE_FREEZE + WHILE_FROZEN, 'replicate', 'node0 has the rows written while frozen');
    await n2.sql(`JOIN CLUSTER ${CLUSTER} AT '${n0.apiAddress}' '${LOOPBACK_OPTIONS}' AS options`);
    await c.waitFor(async () => (await Promise.all(c.nodes.map((n) => isReady(n, CLUSTER, 3)))).every(Boolean), 'form', 'every node primary + synced');
    await n0.sql(unfreeze([TABLE]));
    await n1.sql(unfreeze([TABLE]));
    const counts = await Promise.all(c.nodes.map((n) => rows(n)));
    assert.deepEqual(counts, [BEFORE_FREEZE + WHILE_FROZEN, BEFORE_FREEZE + WHILE_FROZEN, BEFORE_FREEZE], `node2 joined from frozen donors and lacks the ${WHILE_FROZEN} rows (counts ${counts.join(', ')})`);
    // the application writes to every node from now on
    writers = new Writers(pools, c.nodes, 10_000);
    await waitFor(() => (writers?.acked ?? 0) >= WRITES_BEFORE_CHECK, 'replicate', `${WRITES_BEFORE_CHECK} writes acknowledged`);
  });

  after(async () => {
    await writers?.stop();
    await pools?.closeAll();
    await c?.killAll().catch(() => undefined);
    if (process.env.KEEP_TEST_DIRS === undefined && process.exitCode === undefined && root) rmSync(root, { recursive: true, force: true });
  });

  it('passes for nodes holding the same rows while every node takes writes', async () => {
    const ackedBefore = writers?.acked ?? 0;
    const res = await applyVerifyRows(deps(VERIFY_PASS_TIMEOUT_MS), { operationId: 'op-pass', clusterName: CLUSTER, survivor: 'node0', nodes: ['node0', 'node1'] });
    const at = res.positions?.[TABLE];
    assert.ok(at !== undefined && res.rows[TABLE] !== undefined, `compared at one position: ${JSON.stringify(res)}`);
    assert.ok(res.rows[TABLE] > BEFORE_FREEZE + WHILE_FROZEN, `the verified count includes rows written during the check (${res.rows[TABLE]})`);
    // the writes went on during the check (on node0 and node1 too)
    await waitFor(() => (writers?.acked ?? 0) > ackedBefore, 'replicate', 'writes acknowledged during the check');
  });

  it('fails with ROWS_DIFFER for the node that lacks rows, and only for it', async () => {
    await assert.rejects(
      applyVerifyRows(deps(VERIFY_FAIL_TIMEOUT_MS), { operationId: 'op-fail', clusterName: CLUSTER, survivor: 'node0', nodes: ['node0', 'node1', 'node2'] }),
      (err: unknown) => {
        assert.ok(err instanceof AppError, String(err));
        assert.equal(err.code, 'ROWS_DIFFER', err.message);
        const m = new RegExp(`node2 ${TABLE}=(\\d+) at seqno (\\d+) where node0 has (\\d+)`).exec(err.message);
        assert.ok(m, err.message);
        assert.equal(Number(m[3]) - Number(m[1]), WHILE_FROZEN, `node2 lacks the ${WHILE_FROZEN} rows written while the donors were frozen: ${err.message}`);
        assert.doesNotMatch(err.message, /node1 [a-z_]+=/, 'node1 holds the same rows');
        return true;
      },
    );
    assert.ok((writers?.acked ?? 0) > WRITES_BEFORE_CHECK, 'writes went on');
  });
});
