/**
 * The repair's 'verify rows' effect (applyVerifyRows) against a model of Galera replication under
 * continuous writes: write-sets commit at random moments while the check reads the nodes, every node
 * applies them in seqno order a little behind the others, and a node's count is a function of the
 * position it has applied (minus the rows it really lacks). Counts read one node after another almost
 * never agree here; counts read at one position must, and a node that lacks rows must still fail.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import winston from 'winston';
import { AppError } from '../../../../src/lib/errors.js';
import { silentLogger } from '../../../../src/lib/logger.js';
import type { Row } from '../../../../src/manticore/parse.js';
import type { SqlRunner } from '../../../../src/machines/cluster-formation/cluster-formation.actors.js';
import { applyVerifyRows, type RepairDeps } from '../../../../src/machines/split-brain-repair/split-brain-repair.actors.js';
import type { NodeRef } from '../../../../src/platform/types.js';

const CLUSTER = 'c';
const UUID = 'uuid-survivor';
const TABLES = ['items_delta', 'other_delta'];
/** Verify timeout of the cases that must fail (they read until it passes). */
const FAIL_TIMEOUT_MS = 400;

/** Deterministic PRNG (mulberry32), so a run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ModelNode {
  name: string;
  /** most write-sets it may be behind the last committed one */
  maxLag: number;
  /** rows it really lacks per table (e.g. an SST from a frozen donor) */
  missing?: Partial<Record<string, number>>;
  uuid?: string;
  position: number;
}

/**
 * One cluster history: `committed` write-sets so far; before every statement any node answers, a
 * write-set commits with probability `writeRate` (an application writing all along); each node
 * applies in order, up to `maxLag` behind (never backwards).
 */
class Model {
  committed = 500;
  statements = 0;
  private readonly rand: () => number;
  readonly nodes = new Map<string, ModelNode>();

  constructor(
    nodes: Omit<ModelNode, 'position'>[],
    private readonly writeRate: number,
    seed = 7,
  ) {
    this.rand = prng(seed);
    for (const n of nodes) this.nodes.set(n.name, { ...n, position: this.committed });
  }

  /** Rows of a table at a position: write-set k inserts a row into items_delta, every third one into other_delta too. */
  static rowsAt(table: string, seqno: number): number {
    return table === 'items_delta' ? 1_000 + seqno : 10 + Math.floor(seqno / 3);
  }

  private tick(n: ModelNode): void {
    this.statements++;
    if (this.rand() < this.writeRate) this.committed++;
    const lag = Math.floor(this.rand() * (n.maxLag + 1));
    n.position = Math.max(n.position, this.committed - lag);
  }

  runner(name: string): SqlRunner {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return {
      query: (sql: string): Promise<Row[]> => {
        this.tick(n);
        if (sql.startsWith('SHOW STATUS')) {
          const p = `cluster_${CLUSTER}_`;
          const uuid = n.uuid ?? UUID;
          return Promise.resolve(
            [
              ['cluster_name', CLUSTER],
              [`${p}status`, 'primary'],
              [`${p}node_state`, 'synced'],
              [`${p}state_uuid`, uuid],
              [`${p}local_state_uuid`, uuid],
              [`${p}last_committed`, String(n.position)],
              [`${p}indexes`, TABLES.join(',')],
              [`${p}nodes_view`, [...this.nodes.keys()].map((x) => `${x}:9312,${x}:9315:replication`).join(',')],
            ].map(([Counter, Value]) => ({ Counter, Value })),
          );
        }
        const m = /^SELECT COUNT\(\*\) FROM `?(\w+)`?/.exec(sql);
        if (m?.[1]) {
          const table = m[1];
          return Promise.resolve([{ 'count(*)': String(Model.rowsAt(table, n.position) - (n.missing?.[table] ?? 0)) }]);
        }
        return Promise.reject(new Error(`unexpected statement: ${sql}`));
      },
      exec: () => Promise.reject(new Error('the row check writes nothing')),
    };
  }

  /** the effect's log lines (JSON), when deps were made with `capture` */
  readonly logged: string[] = [];

  deps(verifyTimeoutMs: number, capture = false): RepairDeps {
    const stream = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.logged.push(chunk.toString());
        done();
      },
    });
    return {
      node: (name) => (this.nodes.has(name) ? ref(name) : undefined),
      sql: (node) => this.runner(node.name),
      logger: capture ? winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] }) : silentLogger(),
      verifyTimeoutMs,
      verifySampleMs: 1,
    };
  }
}

function ref(name: string): NodeRef {
  return { name, ordinal: Number(name.replace('node', '')), mysql: { host: '127.0.0.1', port: 9306 }, apiAddress: `${name}:9312`, agentUrl: 'http://127.0.0.1:1' };
}

const INPUT = { operationId: 'op-1', clusterName: CLUSTER, survivor: 'node0', nodes: ['node0', 'node1', 'node2'] };

/** What the old check did: the survivor's count, then each node's, one after the other. */
async function countsOneAfterAnother(model: Model, table: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of INPUT.nodes) {
    const rows = await model.runner(name).query(`SELECT COUNT(*) FROM \`${table}\``);
    out.push(Number(rows[0]?.['count(*)']));
  }
  return out;
}

describe('split-brain repair: verify rows at one replication position', () => {
  it('accepts equal data while writes keep arriving (counts read one after another disagree there)', async (t) => {
    const model = new Model(
      [
        { name: 'node0', maxLag: 0 },
        { name: 'node1', maxLag: 2 },
        { name: 'node2', maxLag: 3 },
      ],
      0.35,
    );
    // the situation of the fault suite: node after node, the counts differ in most rounds
    let disagreeing = 0;
    for (let i = 0; i < 20; i++) if (new Set(await countsOneAfterAnother(model, 'items_delta')).size > 1) disagreeing++;
    assert.ok(disagreeing >= 10, `the model writes continuously: counts read one after another differ in ${disagreeing} of 20 rounds`);

    const res = await applyVerifyRows(model.deps(10_000, true), INPUT);
    t.diagnostic(`verified: ${model.logged.join('').trim()} (${model.statements} statements, ${model.committed - 500} write-sets committed)`);
    for (const table of TABLES) {
      const at = res.positions?.[table];
      assert.ok(at !== undefined, `${table}: compared at a position (${JSON.stringify(res)})`);
      assert.equal(res.rows[table], Model.rowsAt(table, at), `${table}: the survivor's rows at position ${at}`);
    }
  });

  it('accepts at once when nothing is written', async () => {
    const model = new Model([{ name: 'node0', maxLag: 0 }, { name: 'node1', maxLag: 0 }, { name: 'node2', maxLag: 0 }], 0);
    const res = await applyVerifyRows(model.deps(10_000), INPUT);
    assert.deepEqual(res.rows, { items_delta: Model.rowsAt('items_delta', 500), other_delta: Model.rowsAt('other_delta', 500) });
    assert.deepEqual(res.positions, { items_delta: 500, other_delta: 500 });
    // one round: the survivor's status, then per node and table a count between two statuses
    assert.equal(model.statements, 1 + 3 * 3 * TABLES.length, 'one sampling round');
  });

  it('fails with ROWS_DIFFER naming the node that really lacks rows, under writes', async () => {
    const model = new Model(
      [
        { name: 'node0', maxLag: 0 },
        { name: 'node1', maxLag: 2 },
        { name: 'node2', maxLag: 2, missing: { items_delta: 3 } },
      ],
      0.35,
    );
    await assert.rejects(applyVerifyRows(model.deps(FAIL_TIMEOUT_MS), INPUT), (err: unknown) => {
      assert.ok(err instanceof AppError, String(err));
      assert.equal(err.code, 'ROWS_DIFFER', err.message);
      assert.equal(err.retryable, true);
      assert.match(err.message, /node2 items_delta=\d+ at seqno \d+ where node0 has \d+/);
      // the lacking table and node only: node1 and node2's other table agree
      assert.doesNotMatch(err.message, /node1 items_delta=|node2 other_delta=/);
      const m = /node2 items_delta=(\d+) at seqno (\d+) where node0 has (\d+)/.exec(err.message);
      assert.equal(Number(m?.[3]) - Number(m?.[1]), 3, `3 rows fewer at seqno ${m?.[2]}`);
      return true;
    });
  });

  it('fails when a node has rows the survivor has not (extra rows at the same position)', async () => {
    const model = new Model([{ name: 'node0', maxLag: 0 }, { name: 'node1', maxLag: 1, missing: { other_delta: -2 } }, { name: 'node2', maxLag: 1 }], 0.2);
    await assert.rejects(applyVerifyRows(model.deps(FAIL_TIMEOUT_MS), INPUT), (err: unknown) => {
      assert.ok(err instanceof AppError, String(err));
      assert.equal(err.code, 'ROWS_DIFFER', err.message);
      assert.match(err.message, /node1 other_delta=\d+ at seqno \d+ where node0 has \d+/);
      assert.doesNotMatch(err.message, /node2 [a-z_]+=/);
      return true;
    });
  });

  it('never compares positions of another history: a node with another uuid is reported, not accepted', async () => {
    const model = new Model([{ name: 'node0', maxLag: 0 }, { name: 'node1', maxLag: 0 }, { name: 'node2', maxLag: 0, uuid: 'uuid-other' }], 0);
    await assert.rejects(applyVerifyRows(model.deps(FAIL_TIMEOUT_MS), INPUT), (err: unknown) => {
      assert.ok(err instanceof AppError, String(err));
      assert.equal(err.code, 'ROWS_UNVERIFIED', err.message);
      assert.match(err.message, /node2 items_delta: no reading at a position .*another history \(uuid uuid-other/);
      return true;
    });
  });
});
