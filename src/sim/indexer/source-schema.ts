/**
 * Column layout of a tsvpipe/csvpipe source, from its declarations, and conversion of one
 * input column to the stored JSON value.
 *
 * Declarations (prefix `csvpipe_` or `tsvpipe_`, in the order written): `field`, `field_string`,
 * `attr_uint`, `attr_bigint`, `attr_float`, `attr_bool`, `attr_timestamp`, `attr_string`,
 * `attr_json`, `attr_multi`, `attr_multi_64`. The first input column is the document id; the
 * next ones follow the declarations in order (or, with `*_header = 1`, are matched by name).
 */
import type { ColumnDef } from '../sql/ast.js';
import type { ConfigEntry } from '../config/config-file.js';

export type SourceKind = 'csvpipe' | 'tsvpipe';

export type ColumnKind =
  | 'field'
  | 'field_string'
  | 'uint'
  | 'bigint'
  | 'float'
  | 'bool'
  | 'timestamp'
  | 'string'
  | 'json'
  | 'multi'
  | 'multi_64';

export interface SourceColumn {
  name: string;
  kind: ColumnKind;
}

const DECLS: Record<string, ColumnKind> = {
  field: 'field',
  field_string: 'field_string',
  attr_uint: 'uint',
  attr_bigint: 'bigint',
  attr_float: 'float',
  attr_bool: 'bool',
  attr_timestamp: 'timestamp',
  attr_string: 'string',
  attr_json: 'json',
  attr_multi: 'multi',
  attr_multi_64: 'multi_64',
};

/** Declared columns in order. Throws on a duplicate column name. */
export function declaredColumns(kind: SourceKind, entries: ConfigEntry[]): SourceColumn[] {
  const prefix = `${kind}_`;
  const cols: SourceColumn[] = [];
  for (const e of entries) {
    if (!e.key.startsWith(prefix)) continue;
    const k = DECLS[e.key.slice(prefix.length)];
    if (k === undefined) continue;
    const name = e.value.trim();
    if (name === '') throw new Error(`empty column name in '${e.key}'`);
    if (cols.some((c) => c.name.toLowerCase() === name.toLowerCase())) throw new Error(`duplicate column '${name}'`);
    cols.push({ name, kind: k });
  }
  return cols;
}

/** The table schema (as in ast.ts) of the source columns. */
export function columnDefs(cols: SourceColumn[]): ColumnDef[] {
  return cols.map((c): ColumnDef => {
    switch (c.kind) {
      case 'field':
        return { name: c.name, type: 'text', options: ['indexed', 'stored'] };
      case 'field_string':
        return { name: c.name, type: 'string', options: ['indexed', 'attribute'] };
      case 'string':
        return { name: c.name, type: 'string', options: ['attribute'] };
      case 'multi':
        return { name: c.name, type: 'multi', options: [] };
      case 'multi_64':
        return { name: c.name, type: 'multi64', options: [] };
      default:
        return { name: c.name, type: c.kind, options: [] };
    }
  });
}

const MAX_U64 = 18446744073709551615n;

/** A document id: a positive integer up to 2^64-1, as decimal text; undefined when invalid. */
export function parseDocId(text: string): string | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const v = BigInt(t);
  if (v === 0n || v > MAX_U64) return undefined;
  return v.toString();
}

function intValue(text: string): number | string {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return 0;
  const v = BigInt(t);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function mvaValues(text: string): (number | string)[] {
  const parts = text.split(/[\s,]+/).filter((p) => /^-?\d+$/.test(p));
  const vals = [...new Set(parts.map((p) => BigInt(p)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return vals.map((v) => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString()));
}

/**
 * Converts one input column. `warn` receives a message when a value had to be replaced
 * (malformed JSON is dropped like `on_json_attr_error = ignore_attr`).
 */
export function convertValue(col: SourceColumn, text: string, warn: (msg: string) => void): unknown {
  switch (col.kind) {
    case 'field':
    case 'field_string':
    case 'string':
      return text;
    case 'uint': {
      // uint is 32-bit in Manticore: wrap like a C cast
      return Number(BigInt.asUintN(32, BigInt(intValue(text))));
    }
    case 'bigint':
    case 'timestamp':
      return intValue(text);
    case 'float': {
      const v = Number.parseFloat(text);
      return Number.isFinite(v) ? v : 0;
    }
    case 'bool': {
      const t = text.trim().toLowerCase();
      return !(t === '' || t === '0' || t === 'false');
    }
    case 'json': {
      if (text.trim() === '') return null;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        warn(`invalid JSON in attribute '${col.name}', ignored`);
        return null;
      }
    }
    case 'multi':
    case 'multi_64':
      return mvaValues(text);
  }
}
