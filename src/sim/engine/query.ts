/**
 * SELECT evaluation over in-memory documents: filters, MATCH(), weight, grouping, aggregates,
 * ordering and limits. Used for local tables and by a distributed table's coordinator after it
 * merged the documents of its locals and agents.
 */
import type { ColumnDef, Expr, Literal, OrderItem, SelectItem, Statement } from '../sql/ast.js';
import type { JsonDoc, SqlResult } from '../contract.js';
import { SqlError } from '../contract.js';
import { isStored, renderValue, valueKind, wireType } from './schema.js';
import type { ValueKind, WireType } from './schema.js';
import { compareIds } from './local-table.js';

export type SelectStatement = Extract<Statement, { kind: 'select' }>;

type Value = number | bigint | string | null | unknown[] | Record<string, unknown>;

export const DEFAULT_LIMIT = 20;

// ------------------------------------------------------------------ MATCH

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
}

interface MatchQuery {
  /** every group must match; a group matches when any of its keys does */
  must: string[][];
  not: string[];
}

/** Key of a word limited to one field (`@title word`). */
const fieldKey = (field: string, word: string) => `${field}\u0001${word}`;

/**
 * Parses the MATCH() subset: words (all must match), `a | b` (either), `-word` / `!word` (must
 * not match), `@field` / `@(f1,f2)` limiting the following words to fields, `@*` resetting it.
 */
export function parseMatch(query: string): MatchQuery {
  const must: string[][] = [];
  const not: string[] = [];
  // split on whitespace but keep `|` as its own token
  const raw = query.replace(/\|/g, ' | ').replace(/(@\([^)]*\))/g, ' $1 ').split(/\s+/).filter(Boolean);
  let pendingOr = false;
  let fields: string[] | undefined;
  const keys = (w: string) => (fields ? fields.map((f) => fieldKey(f, w)) : [w]);
  for (let tok of raw) {
    if (tok === '|') {
      pendingOr = true;
      continue;
    }
    if (tok.startsWith('@')) {
      const scope = /^@(\*|\(([^)]*)\)|(\w+))(.*)$/.exec(tok);
      if (scope) {
        if (scope[1] === '*') fields = undefined;
        else if (scope[2] !== undefined) fields = scope[2].split(',').map((f) => f.trim().toLowerCase()).filter(Boolean);
        else if (scope[3] !== undefined) fields = [scope[3].toLowerCase()];
        tok = scope[4] ?? '';
        if (!tok) continue;
      }
    }
    const negative = tok.startsWith('-') || tok.startsWith('!');
    const words = tokenize(negative ? tok.slice(1) : tok);
    if (words.length === 0) continue;
    if (negative) {
      for (const w of words) not.push(...keys(w));
      pendingOr = false;
      continue;
    }
    const last = must[must.length - 1];
    if (pendingOr && last && words.length === 1) {
      last.push(...keys(words[0] as string));
    } else {
      for (const w of words) must.push(keys(w));
    }
    pendingOr = false;
  }
  return { must, not };
}

function docTerms(doc: JsonDoc, columns: ColumnDef[]): string[] {
  const out: string[] = [];
  for (const c of columns) {
    // full-text fields, and string attributes that are also indexed (sql_field_string)
    const kind = valueKind(c.type);
    if (kind !== 'text' && !(kind === 'string' && c.options.includes('indexed'))) continue;
    const v = doc[c.name];
    if (typeof v !== 'string') continue;
    for (const w of tokenize(v)) out.push(w, fieldKey(c.name, w));
  }
  return out;
}

/** SHOW META keyword statistics of a MATCH query: [keyword, docs, hits] over `docs`. */
export function keywordStats(query: string, docs: Iterable<JsonDoc>, columns: ColumnDef[]): [string, number, number][] {
  const words: string[] = [];
  for (const group of parseMatch(query).must) for (const k of group) {
    const w = k.includes('\u0001') ? (k.split('\u0001')[1] ?? k) : k;
    if (!words.includes(w)) words.push(w);
  }
  const stats = words.map((w) => [w, 0, 0] as [string, number, number]);
  for (const d of docs) {
    const terms = docTerms(d, columns).filter((t) => !t.includes('\u0001'));
    for (const st of stats) {
      const hits = terms.filter((t) => t === st[0]).length;
      if (hits > 0) {
        st[1]++;
        st[2] += hits;
      }
    }
  }
  return stats;
}

/** Returns the weight of a match (> 0) or 0 when the document does not match. */
export function matchWeight(q: MatchQuery, doc: JsonDoc, columns: ColumnDef[]): number {
  const terms = docTerms(doc, columns);
  const set = new Set(terms);
  for (const n of q.not) if (set.has(n)) return 0;
  if (q.must.length === 0) return q.not.length > 0 ? 1 : 0;
  let hits = 0;
  for (const group of q.must) {
    const found = group.filter((t) => set.has(t));
    if (found.length === 0) return 0;
    for (const t of found) hits += terms.filter((x) => x === t).length;
  }
  // shaped like proximity_bm25: a thousand per matched term plus a small frequency part
  return q.must.length * 1000 + Math.min(hits, 500) + 500;
}

export function findMatch(expr: Expr | undefined): string | undefined {
  if (!expr) return undefined;
  switch (expr.type) {
    case 'match':
      return expr.query;
    case 'and':
    case 'or':
      return findMatch(expr.left) ?? findMatch(expr.right);
    case 'not':
      return findMatch(expr.expr);
    default:
      return undefined;
  }
}

// ------------------------------------------------------------- evaluation

export class Evaluator {
  private readonly byName = new Map<string, ColumnDef>();
  private readonly matchCache = new Map<string, MatchQuery>();

  constructor(
    readonly columns: ColumnDef[],
    private readonly tableName: string,
  ) {
    for (const c of columns) this.byName.set(c.name, c);
  }

  kindOf(name: string): ValueKind | 'id' | undefined {
    const n = name.toLowerCase();
    if (n === 'id') return 'id';
    const c = this.byName.get(n);
    return c ? valueKind(c.type) : undefined;
  }

  column(doc: JsonDoc, name: string): Value {
    const n = name.toLowerCase();
    if (n === 'id') return BigInt(doc.id);
    const col = this.byName.get(n);
    if (!col) throw new SqlError(`table ${this.tableName}: parse error: unknown column: ${name}`);
    const v = doc[n];
    if (v === undefined) return null;
    return v as Value;
  }

  private matchQuery(q: string): MatchQuery {
    let m = this.matchCache.get(q);
    if (!m) {
      m = parseMatch(q);
      this.matchCache.set(q, m);
    }
    return m;
  }

  weight(doc: JsonDoc, where: Expr | undefined): number {
    const q = findMatch(where);
    if (q === undefined) return 1;
    return matchWeight(this.matchQuery(q), doc, this.columns);
  }

  test(doc: JsonDoc, expr: Expr): boolean {
    switch (expr.type) {
      case 'and':
        return this.test(doc, expr.left) && this.test(doc, expr.right);
      case 'or':
        return this.test(doc, expr.left) || this.test(doc, expr.right);
      case 'not':
        return !this.test(doc, expr.expr);
      case 'match':
        return matchWeight(this.matchQuery(expr.query), doc, this.columns) > 0;
      case 'cmp': {
        const l = this.value(doc, expr.left);
        const r = this.value(doc, expr.right);
        return compareOp(expr.op, l, r);
      }
      case 'in': {
        const v = this.value(doc, expr.expr);
        const found = expr.values.some((lit) => anyEquals(v, literalValue(lit)));
        return expr.not ? !found : found;
      }
      case 'between': {
        const v = this.value(doc, expr.expr);
        const inside = compareOp('>=', v, literalValue(expr.low)) && compareOp('<=', v, literalValue(expr.high));
        return expr.not ? !inside : inside;
      }
      default: {
        const v = this.value(doc, expr);
        return truthy(v);
      }
    }
  }

  value(doc: JsonDoc, expr: Expr): Value {
    switch (expr.type) {
      case 'literal':
        return literalValue(expr.value);
      case 'column':
        return this.column(doc, expr.name);
      case 'func':
        if (expr.name.toLowerCase() === 'id') return BigInt(doc.id);
        throw new SqlError(`unsupported expression in filter: ${expr.name}()`);
      default:
        return this.test(doc, expr) ? 1 : 0;
    }
  }
}

export function literalValue(lit: Literal): Value {
  switch (lit.type) {
    case 'int':
      return BigInt(lit.value);
    case 'float':
      return lit.value;
    case 'string':
      return lit.value;
    case 'null':
      return null;
    case 'mva':
      return lit.values.map((v) => BigInt(v));
  }
}

function truthy(v: Value): boolean {
  if (v === null) return false;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  return true;
}

function toNum(v: Value): number | bigint | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** -1/0/1, or undefined when the values cannot be compared. */
export function compareValues(a: Value, b: Value): number | undefined {
  if (a === null || b === null) {
    if (a === b) return 0;
    return a === null ? -1 : 1;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = toNum(a);
  const y = toNum(b);
  if (x === undefined || y === undefined) {
    const sa = typeof a === 'string' ? a : JSON.stringify(a);
    const sb = typeof b === 'string' ? b : JSON.stringify(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  if (typeof x === 'bigint' && typeof y === 'bigint') return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === 'bigint' && typeof y === 'number' && Number.isInteger(y)) return x < BigInt(y) ? -1 : x > BigInt(y) ? 1 : 0;
  if (typeof y === 'bigint' && typeof x === 'number' && Number.isInteger(x)) return BigInt(x) < y ? -1 : BigInt(x) > y ? 1 : 0;
  const nx = Number(x);
  const ny = Number(y);
  return nx < ny ? -1 : nx > ny ? 1 : 0;
}

function anyEquals(v: Value, want: Value): boolean {
  if (Array.isArray(v)) return v.some((e) => compareValues(e as Value, want) === 0);
  return compareValues(v, want) === 0;
}

function compareOp(op: '=' | '!=' | '<' | '<=' | '>' | '>=', l: Value, r: Value): boolean {
  if (Array.isArray(l) && !Array.isArray(r)) {
    // MVA: ANY() semantics like Manticore's default for a bare MVA comparison
    return l.some((e) => compareOp(op, e as Value, r));
  }
  const c = compareValues(l, r);
  if (c === undefined) return false;
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

/** Documents of `docs` that pass the WHERE clause (MATCH included). */
export function filterDocs(docs: Iterable<JsonDoc>, where: Expr | undefined, ev: Evaluator): JsonDoc[] {
  const out: JsonDoc[] = [];
  for (const d of docs) if (!where || ev.test(d, where)) out.push(d);
  return out;
}

// ------------------------------------------------------- select pipeline

interface Row {
  doc: JsonDoc;
  weight: number;
  /** documents of the group (grouped or aggregate queries only) */
  group?: JsonDoc[];
}

const AGGREGATES = new Set(['count', 'sum', 'min', 'max', 'avg']);

function isAggregate(e: Expr | { type: 'star' }): boolean {
  return e.type === 'func' && AGGREGATES.has(e.name.toLowerCase());
}

export function exprName(e: Expr | { type: 'star' }): string {
  switch (e.type) {
    case 'star':
      return '*';
    case 'column':
      return e.name;
    case 'func': {
      const n = e.name.toLowerCase();
      if (e.star) return `${n}(*)`;
      return `${n}(${e.args.map(exprName).join(', ')})`;
    }
    case 'literal':
      return e.value.type === 'string' ? `'${e.value.value}'` : e.value.type === 'int' ? e.value.value : String((e.value as { value?: unknown }).value ?? 'null');
    default:
      return e.type;
  }
}

export interface SelectOutcome {
  result: Extract<SqlResult, { kind: 'rows' }>;
  totalFound: number;
}

/**
 * Runs a SELECT over already-gathered documents of one schema. `docs` must be the documents of
 * every source table (not yet filtered).
 */
export function runSelect(stmt: SelectStatement, columns: ColumnDef[], docs: Iterable<JsonDoc>, tableName: string): SelectOutcome {
  const ev = new Evaluator(columns, tableName);
  const items = stmt.items;
  // validate column references early so unknown columns fail even on empty tables
  for (const it of items) checkColumns(it.expr, ev, items);
  for (const g of stmt.groupBy ?? []) if (!ev.kindOf(g)) throw new SqlError(`table ${tableName}: parse error: unknown column: ${g}`);
  for (const o of stmt.orderBy) {
    if (o.dir === undefined) throw new SqlError('no sort order defined');
  }

  const matched = filterDocs(docs, stmt.where, ev);
  const hasMatch = findMatch(stmt.where) !== undefined;
  let rows: Row[] = matched.map((doc) => ({ doc, weight: hasMatch ? ev.weight(doc, stmt.where) : 1 }));
  const grouped = (stmt.groupBy?.length ?? 0) > 0;
  const aggregated = items.some((i) => isAggregate(i.expr));
  const better = (a: Row, b: Row) => b.weight - a.weight || compareIds(a.doc.id, b.doc.id);
  if (aggregated && !grouped) {
    // one output row: only the best document (weight desc, id asc) is needed, not every row sorted
    let best = rows[0];
    for (const r of rows) if (best !== undefined && better(r, best) < 0) best = r;
    const at = best === undefined ? 0 : rows.indexOf(best);
    if (at > 0) [rows[0], rows[at]] = [rows[at] as Row, rows[0] as Row];
  } else {
    // inside a group the best document (weight desc, id asc) represents it
    rows.sort(better);
  }
  if (grouped) {
    const groups = new Map<string, Row>();
    for (const r of rows) {
      const key = JSON.stringify((stmt.groupBy ?? []).map((g) => String(ev.column(r.doc, g))));
      const g = groups.get(key);
      if (g) g.group?.push(r.doc);
      else groups.set(key, { doc: r.doc, weight: r.weight, group: [r.doc] });
    }
    rows = [...groups.values()];
  } else if (aggregated) {
    const first = rows[0];
    rows = [{ doc: first?.doc ?? ({ id: '0' } as JsonDoc), weight: first?.weight ?? 0, group: rows.map((r) => r.doc) }];
  }
  const totalFound = grouped ? rows.length : aggregated ? matched.length : rows.length;

  const sortKeys: OrderItem[] = stmt.orderBy;
  if (sortKeys.length > 0) {
    rows.sort((a, b) => {
      for (const k of sortKeys) {
        const c = compareValues(rowValue(a, k.expr, ev, items), rowValue(b, k.expr, ev, items)) ?? 0;
        if (c !== 0) return k.dir === 'desc' ? -c : c;
      }
      return 0;
    });
  } else if (grouped) {
    const g = stmt.groupBy ?? [];
    rows.sort((a, b) => {
      for (const name of g) {
        const c = compareValues(ev.column(a.doc, name), ev.column(b.doc, name)) ?? 0;
        if (c !== 0) return c;
      }
      return 0;
    });
  } else if (!hasMatch) {
    rows.sort((a, b) => compareIds(a.doc.id, b.doc.id));
  }

  const offset = stmt.offset ?? 0;
  const limit = stmt.limit ?? DEFAULT_LIMIT;
  const page = rows.slice(offset, offset + limit);

  // projection
  const outCols: { name: string; type: WireType; get: (r: Row) => string | number | null }[] = [];
  for (const it of items) {
    if (it.expr.type === 'star') {
      outCols.push({ name: 'id', type: 'longlong', get: (r) => r.doc.id });
      for (const c of columns) {
        if (!isStored(c)) continue;
        const kind = valueKind(c.type);
        outCols.push({ name: c.name, type: wireType(kind), get: (r) => renderValue(kind, r.doc[c.name]) });
      }
      continue;
    }
    const expr = it.expr;
    const name = it.alias ?? exprName(expr);
    outCols.push({ name, type: exprWireType(expr, ev), get: (r) => renderOut(rowValue(r, expr, ev, items), expr, ev) });
  }
  return {
    result: {
      kind: 'rows',
      columns: outCols.map((c) => ({ name: c.name, type: c.type })),
      rows: page.map((r) => outCols.map((c) => c.get(r))),
    },
    totalFound,
  };
}

function checkColumns(e: Expr | { type: 'star' }, ev: Evaluator, items: SelectItem[]): void {
  if (e.type === 'column') {
    if (!ev.kindOf(e.name) && !items.some((i) => i.alias === e.name)) ev.column({ id: '0' } as JsonDoc, e.name);
  } else if (e.type === 'func') {
    for (const a of e.args) checkColumns(a, ev, items);
  }
}

function exprWireType(e: Expr, ev: Evaluator): WireType {
  if (e.type === 'column') {
    const k = ev.kindOf(e.name);
    return k ? wireType(k) : 'string';
  }
  if (e.type === 'func') {
    const n = e.name.toLowerCase();
    if (n === 'count') return 'longlong';
    if (n === 'weight') return 'long';
    if (n === 'id') return 'longlong';
    if (n === 'avg') return 'float';
    const arg = e.args[0];
    if (arg && arg.type === 'column') {
      const k = ev.kindOf(arg.name);
      if (k === 'float') return 'float';
      return 'longlong';
    }
    return 'longlong';
  }
  if (e.type === 'literal') return e.value.type === 'float' ? 'float' : e.value.type === 'int' ? 'longlong' : 'string';
  return 'long';
}

function renderOut(v: Value, e: Expr, ev: Evaluator): string | number | null {
  if (e.type === 'column') {
    const k = ev.kindOf(e.name);
    if (k === 'id') return String(v);
    if (k) return renderValue(k, v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (v === null) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  return JSON.stringify(v);
}

function rowValue(r: Row, e: Expr, ev: Evaluator, items: SelectItem[]): Value {
  if (e.type === 'column') {
    const aliased = items.find((i) => i.alias !== undefined && i.alias.toLowerCase() === e.name.toLowerCase());
    if (aliased && aliased.expr.type !== 'star' && !(aliased.expr.type === 'column' && aliased.expr.name === e.name)) {
      return rowValue(r, aliased.expr, ev, items);
    }
    if (e.name.toLowerCase() === 'weight' || e.name === '@weight') return r.weight;
    return ev.column(r.doc, e.name);
  }
  if (e.type === 'func') {
    const n = e.name.toLowerCase();
    if (n === 'weight') return r.weight;
    if (n === 'id') return BigInt(r.doc.id);
    if (AGGREGATES.has(n)) {
      const docs = r.group ?? [r.doc];
      if (n === 'count') {
        if (e.star || e.args.length === 0) return docs.length;
        const a = e.args[0] as Expr;
        if (e.args.length && (a as { distinct?: boolean }).distinct) return new Set(docs.map((d) => String(ev.value(d, a)))).size;
        return docs.filter((d) => ev.value(d, a) !== null).length;
      }
      const arg = e.args[0];
      if (!arg) throw new SqlError(`${n}() needs an argument`);
      const vals = docs.map((d) => Number(ev.value(d, arg))).filter((x) => Number.isFinite(x));
      if (n === 'sum') return vals.reduce((s, x) => s + x, 0);
      if (n === 'avg') return vals.length ? vals.reduce((s, x) => s + x, 0) / vals.length : 0;
      // a loop, not Math.min(...vals): spreading 100k+ values overflows the call stack
      if (vals.length === 0) return 0;
      return vals.reduce((m, x) => (n === 'min' ? (x < m ? x : m) : x > m ? x : m), vals[0] as number);
    }
    throw new SqlError(`unknown function '${e.name}'`);
  }
  return ev.value(r.doc, e);
}
