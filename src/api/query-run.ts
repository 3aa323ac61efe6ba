/**
 * The query console's execution: one statement on one node, on the first node that answers, or on
 * every node in parallel (results side by side). Failures of a node are results, not exceptions.
 * Every statement runs with a timeout, and at most `maxRows` rows come back (`truncated` says more
 * existed).
 */
import { ValidationError, errorMessage } from '../lib/errors.js';
import { isManticoreError } from '../manticore/client.js';
import type { ManticorePools, Row } from '../manticore/client.js';
import type { NodeRef } from '../platform/types.js';
import type { ClassifiedStatement } from './query-classify.js';

export interface QueryLimits {
  /** per statement, per node */
  timeoutMs: number;
  /** rows returned per node; the rest are dropped and `truncated` is set */
  maxRows: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = { timeoutMs: 30_000, maxRows: 1_000 };

export type NodeQueryErrorKind = 'connect' | 'timeout' | 'sql';

export interface NodeQueryResult {
  node: string;
  ordinal: number;
  /** searchd's MySQL listener `host:port` */
  address: string;
  ok: boolean;
  /** column names in order (from the first row: empty when no row came back) */
  columns: string[];
  rows: Row[];
  /** rows returned here (at most maxRows) */
  rowCount: number;
  /** rows the node sent */
  totalRows: number;
  truncated: boolean;
  /** write statements: rows changed */
  affectedRows?: number;
  durationMs: number;
  error?: { kind: NodeQueryErrorKind; message: string };
}

export type OverallQueryStatus = 'ok' | 'partial' | 'error';

/** ok: every node succeeded; error: none did; partial: some did. */
export function overallStatus(results: readonly Pick<NodeQueryResult, 'ok'>[]): OverallQueryStatus {
  const ok = results.filter((r) => r.ok).length;
  if (ok === results.length) return 'ok';
  return ok === 0 ? 'error' : 'partial';
}

export function nodeAddress(node: NodeRef): string {
  return `${node.mysql.host}:${node.mysql.port}`;
}

/**
 * A node by name or by ordinal (a number, or a string of digits), among `nodes`. Throws a
 * ValidationError naming `field` and the nodes that exist.
 */
export function selectNode(nodes: readonly NodeRef[], ref: unknown, field: string): NodeRef {
  const names = nodes.map((n) => `${n.name} (${n.ordinal})`).join(', ') || 'none';
  let found: NodeRef | undefined;
  if (typeof ref === 'number' && Number.isInteger(ref)) found = nodes.find((n) => n.ordinal === ref);
  else if (typeof ref === 'string' && ref !== '') {
    found = nodes.find((n) => n.name === ref) ?? (/^\d+$/.test(ref) ? nodes.find((n) => n.ordinal === Number(ref)) : undefined);
  } else {
    throw new ValidationError(field, `must be a node name or index; nodes: ${names}`);
  }
  const shown = typeof ref === 'string' && ref.length > 40 ? `${ref.slice(0, 40)}...(${ref.length} chars)` : ref;
  if (found === undefined) throw new ValidationError(field, `no node ${JSON.stringify(shown)}; nodes: ${names}`);
  return found;
}

function columnsOf(rows: readonly Row[]): string[] {
  const first = rows[0];
  return first === undefined ? [] : Object.keys(first);
}

/** Runs the statement on one node. Never throws for a node failure. */
export async function runOnNode(pools: ManticorePools, node: NodeRef, stmt: ClassifiedStatement, limits: QueryLimits): Promise<NodeQueryResult> {
  const address = nodeAddress(node);
  const started = Date.now();
  const base = { node: node.name, ordinal: node.ordinal, address };
  try {
    const client = pools.get(address);
    if (stmt.kind === 'write') {
      const affectedRows = await client.exec(stmt.sql, { timeoutMs: limits.timeoutMs });
      return { ...base, ok: true, columns: [], rows: [], rowCount: 0, totalRows: 0, truncated: false, affectedRows, durationMs: Date.now() - started };
    }
    const all = await client.query(stmt.sql, { timeoutMs: limits.timeoutMs });
    const rows = all.slice(0, limits.maxRows);
    return {
      ...base,
      ok: true,
      columns: columnsOf(all),
      rows,
      rowCount: rows.length,
      totalRows: all.length,
      truncated: all.length > rows.length,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    const kind: NodeQueryErrorKind = isManticoreError(err) ? err.kind : 'connect';
    const message = isManticoreError(err) ? err.manticoreMessage : errorMessage(err);
    return { ...base, ok: false, columns: [], rows: [], rowCount: 0, totalRows: 0, truncated: false, durationMs: Date.now() - started, error: { kind, message } };
  }
}

/** Every node in parallel, in ordinal order. */
export function runOnAll(pools: ManticorePools, nodes: readonly NodeRef[], stmt: ClassifiedStatement, limits: QueryLimits): Promise<NodeQueryResult[]> {
  const ordered = [...nodes].sort((a, b) => a.ordinal - b.ordinal);
  return Promise.all(ordered.map((n) => runOnNode(pools, n, stmt, limits)));
}

/**
 * Nodes in ordinal order until one answers. Only a failure to connect moves on: an SQL error or a
 * timeout is the answer (the original re-ran failing statements on every replica, 11.4).
 * Returns every attempt; the last one is the answer.
 */
export async function runOnFirstAvailable(
  pools: ManticorePools,
  nodes: readonly NodeRef[],
  stmt: ClassifiedStatement,
  limits: QueryLimits,
): Promise<NodeQueryResult[]> {
  const attempts: NodeQueryResult[] = [];
  for (const node of [...nodes].sort((a, b) => a.ordinal - b.ordinal)) {
    const result = await runOnNode(pools, node, stmt, limits);
    attempts.push(result);
    if (result.ok || result.error?.kind !== 'connect') break;
  }
  return attempts;
}
