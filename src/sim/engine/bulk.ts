/**
 * Manticore's HTTP `POST /bulk` (Content-Type application/x-ndjson), as the manual describes it
 * (Data_creation_and_modification/Adding_documents_to_a_table/Adding_documents_to_a_real-time_table.md,
 * "Bulk adding documents"):
 *
 *   {"insert": {"table": "t", "id": 1, "doc": {...}}}       also "replace"; "create" = insert, "index" = replace
 *   {"insert": {"cluster": "c", "table": "t", ...}}           a write to a replicated table names its cluster
 *
 * Consecutive operations on one table form one transaction, committed when the table (or the action)
 * changes, at an empty line, and at the end; a transaction is all or nothing. Execution stops at the
 * first error. The answer:
 *
 *   {"items": [{"bulk": {"table", "_id" (last id), "created", "deleted", "updated", "result", "status"}}],
 *    "current_line": <line where execution stopped, empty lines counted>,
 *    "skipped_lines": <lines not committed, counted back from current_line>,
 *    "errors": bool, "error": ""}
 *
 * Values go through the same coercion as SQL INSERT (numbers, strings, arrays for MVA, objects or
 * strings for JSON). `update` and `delete` operations are not simulated: they fail the request.
 */
import type { Literal, Statement } from '../sql/ast.js';
import { SqlError } from '../contract.js';
import type { Executor, Session } from './executor.js';
import { Engine } from './engine.js';

export interface BulkReply {
  status: number;
  body: Record<string, unknown>;
}

type Action = 'insert' | 'replace';

interface Pending {
  table: string;
  cluster: string | undefined;
  action: Action;
  /** first line of the transaction (1-based) */
  firstLine: number;
  columns: string[];
  rows: Literal[][];
  lastId: string;
}

const ACTIONS: Record<string, Action> = { insert: 'insert', create: 'insert', replace: 'replace', index: 'replace' };

function literalOf(v: unknown, column: string): Literal {
  if (v === null || v === undefined) return { type: 'null' };
  if (typeof v === 'boolean') return { type: 'int', value: v ? '1' : '0' };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'int', value: String(v) } : { type: 'float', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (Array.isArray(v)) {
    if (!v.every((x) => typeof x === 'number' || (typeof x === 'string' && /^-?\d+$/.test(x)))) {
      // arrays of anything else are JSON values
      return { type: 'string', value: JSON.stringify(v) };
    }
    return { type: 'mva', values: v.map((x) => String(typeof x === 'number' ? Math.trunc(x) : x)) };
  }
  if (typeof v === 'object') return { type: 'string', value: JSON.stringify(v) };
  throw new SqlError(`column '${column}': unsupported value`);
}

/** The document id of an operation: its decimal text, kept exact past 2^53 (read from the raw line). */
function idText(raw: string, id: unknown): string {
  if (id === undefined || id === null) return '0';
  if (typeof id === 'string' && /^\d+$/.test(id.trim())) return id.trim();
  if (typeof id === 'number' && Number.isInteger(id) && id >= 0) {
    if (Number.isSafeInteger(id)) return String(id);
    const m = /"id"\s*:\s*(\d+)/.exec(raw);
    if (m) return m[1] as string;
  }
  throw new SqlError(`document id must be integer, got '${JSON.stringify(id)}'`);
}

export async function executeBulk(executor: Executor, body: string, session: Session): Promise<BulkReply> {
  const items: Record<string, unknown>[] = [];
  // every '\n' starts a line, so a trailing newline counts one (empty) line, as current_line does
  const lines = body.split('\n');
  let pending: Pending | undefined;
  let line = 0;

  const commit = async () => {
    const p = pending;
    pending = undefined;
    if (!p || p.rows.length === 0) return;
    const stmt: Statement = { kind: 'insert', replace: p.action === 'replace', table: p.table, columns: p.columns, rows: p.rows, ...(p.cluster !== undefined ? { cluster: p.cluster } : {}) };
    try {
      await executor.execute(stmt, session);
    } catch (err) {
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { firstLine: p.firstLine });
    }
    items.push({
      bulk: { table: Engine.normalizeName(p.table), _id: Number(p.lastId) <= Number.MAX_SAFE_INTEGER ? Number(p.lastId) : p.lastId, created: p.rows.length, deleted: 0, updated: 0, result: 'created', status: 201 },
    });
  };

  try {
    for (const rawLine of lines) {
      line++;
      const raw = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      if (raw.trim() === '') {
        await commit();
        continue;
      }
      let op: unknown;
      try {
        op = JSON.parse(raw);
      } catch (err) {
        throw Object.assign(new SqlError(`failed to parse line ${line}: ${(err as Error).message}`), { firstLine: pending?.firstLine ?? line });
      }
      const entries = op !== null && typeof op === 'object' && !Array.isArray(op) ? Object.entries(op as Record<string, unknown>) : [];
      const [name, inner] = entries[0] ?? ['', undefined];
      const key = name.toLowerCase();
      const action = Object.hasOwn(ACTIONS, key) ? ACTIONS[key] : undefined;
      if (entries.length !== 1 || action === undefined || inner === null || typeof inner !== 'object') {
        throw Object.assign(new SqlError(`line ${line}: unsupported bulk operation '${name}' (the simulator handles insert, create, replace and index)`), { firstLine: pending?.firstLine ?? line });
      }
      const o = inner as { table?: unknown; index?: unknown; cluster?: unknown; id?: unknown; doc?: unknown };
      const tableName = typeof o.table === 'string' ? o.table : typeof o.index === 'string' ? o.index : '';
      if (tableName === '') throw Object.assign(new SqlError(`line ${line}: "table" property missing`), { firstLine: pending?.firstLine ?? line });
      const cluster = typeof o.cluster === 'string' && o.cluster !== '' ? o.cluster : undefined;
      if (pending && (pending.table !== tableName || pending.cluster !== cluster || pending.action !== action)) await commit();
      if (!pending) {
        const t = executor.engine.local(tableName);
        if (!t || t.kind === 'plain') throw Object.assign(new SqlError(`table '${Engine.normalizeName(tableName)}' absent, or does not support ${action.toUpperCase()}`), { firstLine: line });
        pending = { table: tableName, cluster, action, firstLine: line, columns: ['id', ...t.columns.map((c) => c.name)], rows: [], lastId: '0' };
      }
      const doc = o.doc === undefined ? {} : o.doc;
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw Object.assign(new SqlError(`line ${line}: "doc" must be an object`), { firstLine: pending.firstLine });
      const values = doc as Record<string, unknown>;
      const known = new Set(pending.columns);
      for (const k of Object.keys(values)) {
        if (!known.has(k.toLowerCase()) || k.toLowerCase() === 'id') throw Object.assign(new SqlError(`line ${line}: unknown column: '${k}'`), { firstLine: pending.firstLine });
      }
      const lower = new Map(Object.entries(values).map(([k, v]) => [k.toLowerCase(), v]));
      const id = idText(raw, o.id);
      pending.rows.push(pending.columns.map((c) => (c === 'id' ? { type: 'int', value: id } : literalOf(lower.get(c), c))));
      pending.lastId = id;
    }
    await commit();
  } catch (err) {
    const firstLine = (err as { firstLine?: number }).firstLine ?? line;
    const message = err instanceof Error ? err.message : String(err);
    return { status: 500, body: { items, current_line: line, skipped_lines: line - firstLine + 1, errors: true, error: message } };
  }
  return { status: 200, body: { items, current_line: line, skipped_lines: 0, errors: false, error: '' } };
}
