/**
 * Harness of the conformance suite: every scenario gets a temp dir under os.tmpdir(), nodes and
 * clusters created through it are tracked, every process is SIGKILLed at the end, and on a
 * failure the log tails of every node are printed and the dir is kept for inspection (removed
 * after success).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import {
  LocalCluster,
  SearchdNode,
  clusterStatus,
  isReady,
  resolveBinaries,
  timeFactor,
  waitFor,
  type Binaries,
  type Row,
  type SearchdNodeOptions,
  type TimeoutName,
} from '../../src/sim/launcher.js';

export const BINARIES: Binaries = resolveBinaries();
export const FACTOR = timeFactor();

// every node any scenario created: none may outlive the test process, even when it is cut short
const allNodes = new Set<SearchdNode>();
process.once('exit', () => {
  for (const n of allNodes) {
    const pid = n.pid;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export class Scenario {
  readonly nodes: SearchdNode[] = [];
  readonly factor = FACTOR;
  private nextServerId = 1;

  constructor(
    readonly dir: string,
    readonly t: TestContext,
  ) {}

  /** A standalone node in <dir>/<name>. */
  node(name: string, options: Partial<SearchdNodeOptions> = {}): SearchdNode {
    const n = new SearchdNode({
      name,
      dir: path.join(this.dir, name),
      serverId: this.nextServerId++,
      binaries: BINARIES,
      factor: FACTOR,
      ...options,
    });
    this.nodes.push(n);
    allNodes.add(n);
    return n;
  }

  /** N nodes under <dir>/<name>/node<i>, not started. */
  cluster(size: number, name = 'c', options: { buddy?: boolean } = {}): LocalCluster {
    const c = new LocalCluster({ dir: path.join(this.dir, name), size, binaries: BINARIES, factor: FACTOR, buddy: options.buddy });
    this.nodes.push(...c.nodes);
    for (const n of c.nodes) allNodes.add(n);
    return c;
  }

  waitFor<T>(probe: () => Promise<T | false | undefined> | T | false | undefined, name: TimeoutName, what: string): Promise<T> {
    return waitFor(probe, name, what, { factor: FACTOR });
  }

  async killAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill('SIGKILL').catch(() => undefined)));
  }
}

/** Runs one scenario with its own temp dir; prints node logs and keeps the dir when it fails. */
export async function scenario(t: TestContext, fn: (s: Scenario) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mco-conformance-'));
  const s = new Scenario(dir, t);
  try {
    await fn(s);
  } catch (err) {
    // what a failing run needs to be diagnosed: where the files are and every node's log tail
    process.stderr.write(`\n##### scenario '${t.name}' failed; files kept in ${dir}\n`);
    for (const n of s.nodes) process.stderr.write(`${n.logTail(30)}\n`);
    await s.killAll();
    throw err;
  }
  await s.killAll();
  rmSync(dir, { recursive: true, force: true });
}

/** Asserts that a statement fails and that the server's message contains `fragment`; returns the message. */
export async function expectSqlError(node: SearchdNode, sql: string, fragment: string): Promise<string> {
  let message: string | undefined;
  try {
    await node.sql(sql);
  } catch (err) {
    message = err instanceof Error ? err.message : String(err);
  }
  assert.ok(message !== undefined, `expected "${sql}" on ${node.name} to fail with "${fragment}", but it succeeded`);
  assert.ok(message.includes(fragment), `expected "${sql}" on ${node.name} to fail with "${fragment}", got: ${message}`);
  return message;
}

/** Values of one column, in row order. */
export function col(rows: Row[], name: string): (string | null)[] {
  return rows.map((r) => r[name] ?? null);
}

/** `SELECT id ... ORDER BY id ASC` as a list of ids. */
export async function ids(node: SearchdNode, table: string, where = ''): Promise<string[]> {
  const res = await node.sql(`SELECT id FROM ${table}${where ? ` WHERE ${where}` : ''} ORDER BY id ASC LIMIT 1000`);
  return res.rows.map((r) => r.id ?? '');
}

export async function count(node: SearchdNode, table: string): Promise<number> {
  const res = await node.sql(`SELECT count(*) FROM ${table}`);
  return Number(res.rows[0]?.['count(*)']);
}

/** Waits until `SELECT id FROM table` gives exactly `expected` on every node. */
export async function waitRowsEverywhere(nodes: SearchdNode[], table: string, expected: string[], name: TimeoutName = 'replicate'): Promise<void> {
  const want = JSON.stringify(expected);
  for (const n of nodes) {
    await waitFor(async () => JSON.stringify(await ids(n, table)) === want, name, `${n.name} to hold ids ${want} in ${table}`, { factor: FACTOR });
  }
}

export async function waitReadyAll(nodes: SearchdNode[], cluster: string, size: number, name: TimeoutName): Promise<void> {
  await waitFor(
    async () => (await Promise.all(nodes.map((n) => isReady(n, cluster, size)))).every(Boolean),
    name,
    `${nodes.map((n) => n.name).join(', ')} primary+synced in '${cluster}' with size ${size}`,
    { factor: FACTOR },
  );
}

/** True when the node shows no `cluster%` status rows. */
export async function hasNoClusterRows(node: SearchdNode): Promise<boolean> {
  const res = await node.sql("SHOW STATUS LIKE 'cluster%'");
  return res.rows.length === 0;
}

export { clusterStatus, isReady };

/** Creates table t (title text, n int) on node 0, adds it to the cluster and waits until every node has it. */
export async function createClusteredTable(c: LocalCluster, cluster: string, table = 't'): Promise<void> {
  const first = c.node(0);
  await first.sql(`CREATE TABLE ${table} (title text, n int)`);
  await first.sql(`ALTER CLUSTER ${cluster} ADD ${table}`);
  for (const n of c.nodes) {
    await waitFor(
      async () => (await n.sql('SHOW TABLES')).rows.some((r) => Object.values(r)[0] === table),
      'replicate',
      `${n.name} to have table ${table}`,
      { factor: FACTOR },
    );
  }
}

/** INSERT INTO <cluster>:<table> (id, title, n) of the given ids, on one node. */
export async function insertIds(node: SearchdNode, target: string, idList: number[]): Promise<void> {
  const values = idList.map((id) => `(${id}, 'doc number ${id}', ${id * 10})`).join(', ');
  await node.sql(`INSERT INTO ${target} (id, title, n) VALUES ${values}`);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

export function idStrings(list: number[]): string[] {
  return list.map(String);
}
