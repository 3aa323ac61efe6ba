/**
 * Shared by the operation-level fault scenarios (test/faults/ops/*, issue 6 part 2) and the lean
 * `npm test` copy (test/integration/backup-kill/): requests to the controller process, the operation
 * record as it persisted it, the controller SIGKILLed at each step of an operation, and what the
 * nodes look like afterwards, read over SQL (never from the controller's word): tables frozen, the
 * slot each node serves, the main slots present, the rows of one table.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseCount, parseDistributedDefinition, parseShowCreateTable, parseShowLocks, parseShowTables } from '../../../src/manticore/parse.js';
import { selectCount, showCreateTable, showLocks, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { sleep, until, WAIT, type FaultCluster } from '../lib/cluster.js';

/** One backup or restore of a few thousand rows on 3 simulator nodes, retries included. */
export const OPERATION_MS = 120_000;
/** Most controller restarts a scenario may take (a runaway loop fails instead of hanging). */
const MAX_KILLS = 12;
const POLL_MS = 5;

export const isEnded = (op: OperationRecord | undefined): boolean => op !== undefined && op.state !== 'running' && op.state !== 'pending';

export function operation(fc: FaultCluster, id: string): OperationRecord | undefined {
  return fc.ctrl.operations().find((o) => o.id === id);
}

/** Waits for the operation's end in the persisted history (the controller must be running). */
export async function waitOperation(fc: FaultCluster, id: string, what: string, ms = OPERATION_MS): Promise<OperationRecord> {
  return until(() => {
    const op = operation(fc, id);
    return op && isEnded(op) ? op : false;
  }, ms, `${what}: operation ${id} ends`, 100);
}

/** POST /api/backup or /api/restore (original shapes); returns the operation id. */
export async function requestOperation(fc: FaultCluster, p: '/api/backup' | '/api/restore', body: Record<string, unknown>, what: string): Promise<string> {
  const res = await until(() => fc.api('POST', p, body), WAIT.api, `${what}: POST ${p} answered`);
  assert.equal(res.status, 202, `${what}: ${p} accepted: ${JSON.stringify(res.json)}`);
  const id = String(res.json.commandId ?? '');
  assert.ok(id, `${what}: ${p} names its operation: ${JSON.stringify(res.json)}`);
  return id;
}

/** The archive a succeeded backup wrote (from its outcome: `... → <prefix>/<file>.tar.gz`). */
export function archiveOf(op: OperationRecord): string {
  const m = /→ \S+\/(\S+\.tar\.gz)/.exec(op.outcome ?? '');
  assert.ok(m?.[1], `the backup's outcome names its archive: ${op.outcome ?? '(none)'}`);
  return m[1];
}

export const stepsOf = (op: OperationRecord | undefined) => (op?.steps ?? []).map((s) => `${s.name}:${s.state}`).join(', ');

export interface KillRun {
  /** `<kind>: <step>` of each kill, in order */
  kills: string[];
  /** Date.now() when the last controller run started */
  lastStart: number;
  op: OperationRecord;
}

/**
 * Runs the controller until operation `id` ends, SIGKILLing it whenever the operation shows a running
 * step this run started and that it was not killed at yet, then starting it again: every step of the
 * operation is interrupted once (steps faster than the poll are passed, as on a real cluster), up to
 * `maxKills` kills.
 */
export async function killControllerAtEachStep(fc: FaultCluster, id: string, what: string, maxKills = MAX_KILLS): Promise<KillRun> {
  const seen = new Set<string>();
  const kills: string[] = [];
  for (;;) {
    if (!fc.ctrl.child) fc.startController();
    const lastStart = Date.now();
    const deadline = lastStart + OPERATION_MS;
    let killAt: string | undefined;
    while (killAt === undefined) {
      assert.ok(fc.ctrl.alive(), `${what}: the controller (run ${fc.ctrl.runs}) is running; see ${fc.ctrl.logFile}`);
      const op = operation(fc, id);
      if (op && isEnded(op)) return { kills, lastStart, op };
      const step = op?.steps[op.steps.length - 1];
      if (op && kills.length < maxKills && step?.state === 'running' && Date.parse(step.startedAt ?? '') >= lastStart) {
        const key = `${step.name}`;
        if (!seen.has(key)) {
          seen.add(key);
          killAt = `${op.kind}: ${step.name}`;
          break;
        }
      }
      if (Date.now() > deadline) throw new Error(`${what}: operation ${id} not ended within ${OPERATION_MS} ms of controller run ${fc.ctrl.runs} (kills: ${kills.join(', ')}; steps: ${stepsOf(op)}); see ${fc.ctrl.logFile}`);
      await sleep(POLL_MS);
    }
    await fc.ctrl.signal('SIGKILL');
    kills.push(killAt);
  }
}

/** Tables SHOW LOCKS lists as frozen on a node. */
export async function frozenOn(fc: FaultCluster, n: NodeRef): Promise<string[]> {
  return parseShowLocks(await fc.sql(n).query(showLocks()))
    .filter((l) => l.lockType.includes('freeze'))
    .map((l) => l.name);
}

/** No table is frozen on any node. */
export async function assertNothingFrozen(fc: FaultCluster, what: string): Promise<void> {
  for (const n of fc.nodes) assert.deepEqual(await frozenOn(fc, n), [], `${what}: no table left frozen on ${n.name}`);
}

export async function count(fc: FaultCluster, n: NodeRef, table: string): Promise<number | undefined> {
  return parseCount(await fc.sql(n).query(selectCount(table)));
}

export interface SlotView {
  node: string;
  /** main slots the distributed table points at */
  served: string[];
  /** main slot tables present */
  present: string[];
}

export async function slotView(fc: FaultCluster, n: NodeRef): Promise<SlotView> {
  const sql = fc.sql(n);
  const tables = new Map(parseShowTables(await sql.query(showTables())).map((t) => [t.name, t.type]));
  const present = ['a', 'b'].filter((s) => tables.get(`${fc.table}_main_${s}`) === 'rt');
  const stmt = parseShowCreateTable(await sql.query(showCreateTable(fc.table)));
  const served: string[] = [];
  if (stmt) {
    const def = parseDistributedDefinition(stmt);
    const used = [...def.locals, ...def.agents.map((a) => a.table)];
    for (const s of ['a', 'b']) if (used.includes(`${fc.table}_main_${s}`)) served.push(s);
  }
  return { node: n.name, served, present };
}

/**
 * Every node serves `slot` only, holds that one main slot and no other, and it has `rows` rows
 * (read from the slot table itself: the distributed table adds the delta's rows).
 */
export async function assertServes(fc: FaultCluster, slot: string, rows: number, what: string): Promise<void> {
  for (const n of fc.nodes) {
    const v = await slotView(fc, n);
    assert.deepEqual(v.served, [slot], `${what}: ${n.name} serves slot ${slot} only (${JSON.stringify(v)})`);
    assert.deepEqual(v.present, [slot], `${what}: ${n.name} holds exactly one main slot, ${slot} (${JSON.stringify(v)})`);
    assert.equal(await count(fc, n, `${fc.table}_main_${slot}`), rows, `${what}: ${n.name}'s ${fc.table}_main_${slot} holds ${rows} rows`);
  }
}

/** The slot every node's distributed table serves, when they all agree on one (else fails). */
export async function servedSlot(fc: FaultCluster, what: string): Promise<string> {
  const views = await Promise.all(fc.nodes.map((n) => slotView(fc, n)));
  const slots = new Set(views.map((v) => v.served.join('+')));
  assert.equal(slots.size, 1, `${what}: every node serves the same slot (${JSON.stringify(views)})`);
  const s = views[0]?.served;
  assert.ok(s?.length === 1, `${what}: one slot served (${JSON.stringify(views)})`);
  return s[0]!;
}

/** A header-less CSV of `rows` rows (id, title, price) for a blue/green import. */
export function writeImportCsv(file: string, rows: number, label: string): void {
  const lines: string[] = [];
  for (let i = 1; i <= rows; i++) lines.push(`${i},"${label} ${i}",${i % 100}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** Imports `rows` rows into the inactive main slot (no fault) and returns the slot that then serves. */
export async function importRows(fc: FaultCluster, rows: number, label: string): Promise<string> {
  const source = path.join(fc.root, `${label}.csv`);
  writeImportCsv(source, rows, label);
  const res = await until(() => fc.api('POST', '/api/import', { table: fc.table, source }), WAIT.api, 'POST /api/import answered');
  assert.equal(res.status, 202, `import accepted: ${JSON.stringify(res.json)}`);
  const id = (res.json.data as OperationRecord | undefined)?.id;
  assert.ok(id, JSON.stringify(res.json));
  const op = await waitOperation(fc, id, `import of ${label}`);
  assert.equal(op.state, 'succeeded', `import of ${label}: ${op.error ?? ''} ${stepsOf(op)}`);
  return servedSlot(fc, `after the import of ${label}`);
}

/** INSERTs ids [from, to] into the replicated delta on node0 and waits for them on every node. */
export async function insertDelta(fc: FaultCluster, from: number, to: number): Promise<void> {
  const values: string[] = [];
  for (let i = from; i <= to; i++) values.push(`(${i}, 'delta ${i}', ${i % 50})`);
  await fc.sql(fc.node(0)).exec(`INSERT INTO ${fc.cluster}:${fc.delta} (id, title, price) VALUES ${values.join(', ')}`);
}

/** Every id of a node's delta, ascending. */
export async function deltaIds(fc: FaultCluster, n: NodeRef): Promise<number[]> {
  const out: number[] = [];
  let last = 0;
  for (;;) {
    const rows = await fc.sql(n).query(`SELECT id FROM ${fc.delta} WHERE id > ${last} ORDER BY id ASC LIMIT 1000`);
    for (const r of rows) out.push(Number(r.id));
    if (rows.length < 1000) return out;
    last = out[out.length - 1] ?? last;
  }
}

/** Waits until every node's delta holds exactly `ids`. */
export async function waitDeltaIds(fc: FaultCluster, ids: number[], what: string): Promise<void> {
  const want = JSON.stringify(ids);
  await until(async () => {
    for (const n of fc.nodes) if (JSON.stringify(await deltaIds(fc, n)) !== want) return false;
    return true;
  }, WAIT.recovered, `${what}: every node's ${fc.delta} holds exactly ids ${ids[0]}..${ids[ids.length - 1]} (${ids.length})`);
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * The local store's files (`<controller data dir>/backups/<prefix>/...`): every archive has its
 * manifest and nothing else is there (no temp file, no partial object under a final name).
 */
export function localArchives(fc: FaultCluster): string[] {
  const dir = path.join(fc.ctrl.dataDir, 'backups', 'backups');
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => statSync(path.join(dir, f)).isFile());
  const archives = files.filter((f) => f.endsWith('.tar.gz'));
  for (const f of files) {
    assert.ok(f.endsWith('.tar.gz') || (f.endsWith('.tar.gz.manifest.json') && archives.includes(f.slice(0, -'.manifest.json'.length))), `the store holds only archives and their manifests: ${files.join(', ')}`);
  }
  return archives.sort();
}

/** The distributed table answers on every node (a read through it). */
export async function assertServing(fc: FaultCluster, what: string): Promise<void> {
  for (const n of fc.nodes) assert.ok((await count(fc, n, fc.table)) !== undefined, `${what}: ${fc.table} answers on ${n.name}`);
}

const ROW_BYTES = 4_000;
const ROWS_PER_INSERT = 50;

/** A TCP forwarder to `target` on a fixed port: `down()` closes it (connection refused) and cuts every connection, `up()` listens again. */
export class Forwarder {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    const server = net.createServer((c) => {
      const u = net.connect(this.target.port, this.target.host);
      for (const s of [c, u]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      c.pipe(u);
      u.pipe(c);
      c.on('close', () => u.destroy());
      u.on('close', () => c.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Fills the delta with `rows` rows of 4 000 random base64 bytes (incompressible-ish: ~3 KB per row in a tar.gz) and waits for them on every node. */
export async function fillDelta(fc: FaultCluster, rows: number): Promise<void> {
  for (let id = 1; id <= rows; id += ROWS_PER_INSERT) {
    const values: string[] = [];
    for (let i = id; i < id + ROWS_PER_INSERT && i <= rows; i++) values.push(`(${i}, '${randomBytes((ROW_BYTES * 3) / 4).toString('base64')}', ${i})`);
    await fc.sql(fc.node(0)).exec(`INSERT INTO ${fc.cluster}:${fc.delta} (id, title, price) VALUES ${values.join(', ')}`, { timeoutMs: 60_000 });
  }
  await until(async () => {
    for (const n of fc.nodes) if ((await count(fc, n, fc.delta)) !== rows) return false;
    return true;
  }, WAIT.recovered, `${rows} rows on every node`, 200);
}
