/**
 * Shared by the import fault tests: what the world looks like on the nodes after an import, read
 * over SQL (never from the controller's word): the slot each node's distributed table points at, the
 * main slots that exist, the rows served.
 */
import assert from 'node:assert/strict';
import type { ManticorePools } from '../../../src/manticore/client.js';
import { parseCount, parseDistributedDefinition, parseShowCreateTable, parseShowTables } from '../../../src/manticore/parse.js';
import { selectCount, showCreateTable, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';

export interface NodeWorld {
  node: string;
  /** main slots the distributed table points at (local or through agents) */
  served: string[];
  /** main slot tables present on the node */
  present: string[];
  rows: number | undefined;
}

export async function observeWorld(pools: ManticorePools, nodes: NodeRef[], table: string): Promise<NodeWorld[]> {
  const out: NodeWorld[] = [];
  for (const n of nodes) {
    const sql = pools.get(`${n.mysql.host}:${n.mysql.port}`);
    const tables = new Map(parseShowTables(await sql.query(showTables())).map((t) => [t.name, t.type]));
    const present = ['a', 'b'].filter((s) => tables.get(`${table}_main_${s}`) === 'rt');
    const stmt = parseShowCreateTable(await sql.query(showCreateTable(table)));
    const served: string[] = [];
    if (stmt) {
      const def = parseDistributedDefinition(stmt);
      const used = [...def.locals, ...def.agents.map((a) => a.table)];
      for (const s of ['a', 'b']) if (used.includes(`${table}_main_${s}`)) served.push(s);
    }
    out.push({ node: n.name, served, present, rows: parseCount(await sql.query(selectCount(table))) });
  }
  return out;
}

/**
 * Every node's distributed table points at ONE slot that exists there, exactly one main slot lives
 * on each node, every node serves `slot` with `rows` rows.
 */
export function assertWorld(world: NodeWorld[], slot: string, rows: number, what: string): void {
  for (const w of world) {
    assert.deepEqual(w.served, [slot], `${what}: ${w.node} points at slot ${slot} only (${JSON.stringify(world)})`);
    assert.deepEqual(w.present, [slot], `${what}: ${w.node} has exactly one main slot, ${slot} (${JSON.stringify(world)})`);
    assert.equal(w.rows, rows, `${what}: ${w.node} serves ${rows} rows (${JSON.stringify(world)})`);
  }
}

export function writeCsv(file: string, rows: number, label: string, write: (f: string, s: string) => void): void {
  const lines = ['id,title,price'];
  for (let i = 1; i <= rows; i++) lines.push(`${i},"${label} item ${i}",${(i * 1.25).toFixed(2)}`);
  write(file, `${lines.join('\n')}\n`);
}
