/**
 * Column types of simulated tables and how values of each type are stored and shown.
 * Documents are plain JSON: ids and bigint values that do not fit a double are decimal strings.
 */
import type { ColumnDef, Literal } from '../sql/ast.js';
import { SqlError } from '../contract.js';

export type WireType = 'string' | 'long' | 'longlong' | 'float';

/** Normalized storage kind of a column type. */
export type ValueKind = 'text' | 'string' | 'uint' | 'bigint' | 'float' | 'bool' | 'timestamp' | 'json' | 'mva' | 'mva64' | 'vector';

export function valueKind(type: string): ValueKind {
  switch (type.toLowerCase()) {
    case 'text':
    case 'field':
      return 'text';
    case 'string':
    case 'str':
      return 'string';
    case 'int':
    case 'integer':
    case 'uint':
      return 'uint';
    case 'bigint':
      return 'bigint';
    case 'float':
      return 'float';
    case 'bool':
      return 'bool';
    case 'timestamp':
      return 'timestamp';
    case 'json':
      return 'json';
    case 'multi':
    case 'mva':
      return 'mva';
    case 'multi64':
    case 'mva64':
      return 'mva64';
    case 'float_vector':
      return 'vector';
    default:
      throw new SqlError(`unknown column type '${type}'`);
  }
}

/** Type name as DESCRIBE shows it. */
export function describeType(col: ColumnDef): string {
  const k = valueKind(col.type);
  switch (k) {
    case 'uint':
      return 'uint';
    case 'mva':
      return 'mva';
    case 'mva64':
      return 'mva64';
    case 'vector':
      return 'float_vector';
    default:
      return k;
  }
}

/** Type name as SHOW CREATE TABLE shows it. */
export function createType(col: ColumnDef): string {
  const k = valueKind(col.type);
  switch (k) {
    case 'uint':
      return 'integer';
    case 'mva':
      return 'multi';
    case 'mva64':
      return 'multi64';
    case 'vector':
      return 'float_vector';
    default:
      return k;
  }
}

export function wireType(kind: ValueKind | 'id'): WireType {
  switch (kind) {
    case 'id':
    case 'bigint':
      return 'longlong';
    case 'uint':
    case 'bool':
    case 'timestamp':
      return 'long';
    case 'float':
      return 'float';
    default:
      return 'string';
  }
}

export function isTextField(col: ColumnDef): boolean {
  return valueKind(col.type) === 'text';
}

/** Is a text field stored (returned by SELECT)? Text is `indexed stored` unless the options say otherwise. */
export function isStored(col: ColumnDef): boolean {
  if (!isTextField(col)) return true;
  const o = col.options;
  if (o.length === 0) return true;
  return o.includes('stored');
}

/** Canonical column definition: lower-case names, default text options. */
export function normalizeColumn(col: ColumnDef): ColumnDef {
  const kind = valueKind(col.type);
  let options = col.options.map((o) => o.toLowerCase());
  if (kind === 'text' && options.length === 0) options = ['indexed', 'stored'];
  return { name: col.name.toLowerCase(), type: col.type.toLowerCase(), options };
}

const UINT64_MAX = (1n << 64n) - 1n;

/** Parses a document id literal; throws Manticore-like errors for bad ids. */
export function parseId(lit: Literal | string | number): bigint {
  let text: string;
  if (typeof lit === 'string') text = lit;
  else if (typeof lit === 'number') text = String(lit);
  else if (lit.type === 'int') text = lit.value;
  else if (lit.type === 'float') text = String(Math.trunc(lit.value));
  else if (lit.type === 'string') text = lit.value;
  else throw new SqlError('document id must be integer');
  if (!/^-?\d+$/.test(text.trim())) throw new SqlError(`document id must be integer, got '${text}'`);
  let v = BigInt(text.trim());
  if (v < 0n) v = (v + (1n << 64n)) & UINT64_MAX;
  if (v > UINT64_MAX) throw new SqlError(`document id out of range: ${text}`);
  return v;
}

function intFromText(text: string): number | string {
  const b = BigInt(text);
  if (b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(b);
  return b.toString();
}

/** Converts a SQL literal to the stored JSON value of a column. */
export function coerceValue(col: ColumnDef, lit: Literal): unknown {
  const kind = valueKind(col.type);
  switch (kind) {
    case 'text':
    case 'string':
      if (lit.type === 'string') return lit.value;
      if (lit.type === 'null') return '';
      if (lit.type === 'int') return lit.value;
      if (lit.type === 'float') return String(lit.value);
      throw new SqlError(`column '${col.name}': string expected`);
    case 'uint':
    case 'timestamp': {
      const n = numeric(col, lit);
      const t = Math.trunc(n);
      return kind === 'uint' ? t >>> 0 : t;
    }
    case 'bool':
      return numeric(col, lit) !== 0 ? 1 : 0;
    case 'bigint':
      if (lit.type === 'int') return intFromText(lit.value);
      return Math.trunc(numeric(col, lit));
    case 'float':
      return Math.fround(numeric(col, lit));
    case 'json':
      if (lit.type === 'string') {
        try {
          return JSON.parse(lit.value) as unknown;
        } catch {
          throw new SqlError(`column '${col.name}': invalid JSON`);
        }
      }
      if (lit.type === 'null') return null;
      return numeric(col, lit);
    case 'mva':
    case 'mva64':
    case 'vector':
      if (lit.type === 'mva') {
        const vals = lit.values.map((v) => (kind === 'vector' ? Number(v) : intFromText(v)));
        return kind === 'vector' ? vals : [...vals].sort((a, b) => Number(a) - Number(b));
      }
      if (lit.type === 'null') return [];
      if (lit.type === 'int') return [intFromText(lit.value)];
      throw new SqlError(`column '${col.name}': MVA expected`);
  }
}

function numeric(col: ColumnDef, lit: Literal): number {
  if (lit.type === 'int') return Number(lit.value);
  if (lit.type === 'float') return lit.value;
  if (lit.type === 'null') return 0;
  if (lit.type === 'string') {
    const n = Number(lit.value);
    if (lit.value.trim() !== '' && Number.isFinite(n)) return n;
    return 0;
  }
  throw new SqlError(`column '${col.name}': number expected`);
}

/** Default stored value of a column the INSERT did not name. */
export function defaultValue(col: ColumnDef): unknown {
  switch (valueKind(col.type)) {
    case 'text':
    case 'string':
      return '';
    case 'json':
      return null;
    case 'mva':
    case 'mva64':
    case 'vector':
      return [];
    default:
      return 0;
  }
}

/** Renders a stored value for the text protocol. */
export function renderValue(kind: ValueKind | 'id', v: unknown): string | number | null {
  if (v === undefined || v === null) return kind === 'json' ? null : kind === 'text' || kind === 'string' ? '' : 0;
  switch (kind) {
    case 'float':
      return typeof v === 'number' ? Number(v.toPrecision(7)) : Number(v);
    case 'json':
      return JSON.stringify(v);
    case 'mva':
    case 'mva64':
    case 'vector':
      return Array.isArray(v) ? v.join(',') : String(v);
    default:
      if (typeof v === 'number' || typeof v === 'string') return v;
      return JSON.stringify(v);
  }
}
