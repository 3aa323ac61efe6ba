/**
 * Value conversions of the bulk import method (original-system.md section 4.2, "bulk JSON value"):
 * one CSV/TSV field of a declared column becomes the JSON value Manticore's HTTP /bulk takes.
 *
 *   text, string   JSON string
 *   integer        uint32 (empty → 0)
 *   bigint         int64, written as its digits (no float rounding past 2^53; empty → 0)
 *   float          float64 (empty → 0)
 *   bool           true: 1/true/yes/on/t/y, false: 0/false/no/off/f/n/empty (case-insensitive)
 *   timestamp      unix seconds: an integer, or RFC 3339, `2006-01-02 15:04:05`, `2006-01-02T15:04:05`,
 *                  `2006-01-02`, `01/02/2006`, `01/02/2006 15:04:05`, `02-Jan-2006`, `02-Jan-2006 15:04:05`
 *                  (month/day/year; no zone means UTC; empty → 0)
 *   multi          uint32 array: a JSON array, or comma- or space-separated
 *   multi64        int64 array, the same forms
 *   json           the parsed JSON (empty → {})
 *
 * A value that does not convert is a problem naming the column, the type and the value; the loader
 * fails that row's batch (and so the import) with it. Values are returned as JSON text so int64 ids
 * and attributes keep every digit.
 */
import type { SpecColumnType } from '../domain/spec.js';

export interface BulkColumn {
  name: string;
  type: SpecColumnType;
}

export type Converted = { json: string } | { problem: string };

const MAX_INT64 = 9223372036854775807n;
const MIN_INT64 = -9223372036854775808n;
const MAX_UINT32 = 4294967295n;
const UNSIGNED = /^\+?\d+$/;
const SIGNED = /^[-+]?\d+$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on', 't', 'y']);
const FALSE_WORDS = new Set(['', '0', 'false', 'no', 'off', 'f', 'n']);
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** ISO / RFC 3339: 2006-01-02, 2006-01-02 15:04:05, 2006-01-02T15:04:05[.999][Z|±07:00] */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[-+]\d{2}:\d{2})?)?$/;
/** 01/02/2006 [15:04:05] (month/day/year) */
const US = /^(\d{2})\/(\d{2})\/(\d{4})(?: (\d{2}):(\d{2}):(\d{2}))?$/;
/** 02-Jan-2006 [15:04:05] */
const DMY = /^(\d{2})-([A-Za-z]{3})-(\d{4})(?: (\d{2}):(\d{2}):(\d{2}))?$/;

function show(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}

/** Unix seconds of a UTC calendar time, undefined when the date or time does not exist. */
function utcSeconds(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, offsetMinutes = 0): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59));
  // Date.UTC rolls 2024-02-31 over to March: refuse days that do not exist
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return undefined;
  return Math.floor(ms / 1000) - offsetMinutes * 60;
}

/** A timestamp in one of the accepted forms as unix seconds, or undefined. */
export function parseTimestamp(text: string): number | undefined {
  const t = text.trim();
  if (SIGNED.test(t)) {
    const n = Number(t);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  let m = ISO.exec(t);
  if (m !== null) {
    const [, y, mo, d, h, mi, s, , zone] = m;
    let offset = 0;
    if (zone !== undefined && zone.toUpperCase() !== 'Z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      offset = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    }
    return utcSeconds(Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), offset);
  }
  m = US.exec(t);
  if (m !== null) {
    const [, mo, d, y, h, mi, s] = m;
    return utcSeconds(Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0));
  }
  m = DMY.exec(t);
  if (m !== null) {
    const [, d, mon, y, h, mi, s] = m;
    const mo = MONTHS.indexOf((mon as string).toLowerCase()) + 1;
    if (mo === 0) return undefined;
    return utcSeconds(Number(y), mo, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0));
  }
  return undefined;
}

/** `[1,2]`, `1,2`, `1 2` → the parts, or a problem. */
function intList(text: string, signed: boolean): { parts: string[] } | { problem: string } {
  const t = text.trim();
  if (t === '') return { parts: [] };
  const inner = t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t;
  const parts: string[] = [];
  for (const part of inner.split(/[\s,]+/)) {
    if (part === '') continue;
    if (!(signed ? SIGNED : UNSIGNED).test(part)) return { problem: `${show(part)} is not ${signed ? 'an integer' : 'a non-negative integer'}` };
    const v = BigInt(part);
    if (signed ? v > MAX_INT64 || v < MIN_INT64 : v > MAX_UINT32) return { problem: `${part} is out of range` };
    parts.push(v.toString());
  }
  return { parts };
}

/** Converts one field of `col` to its /bulk JSON value (as JSON text). */
export function convertBulkValue(col: BulkColumn, raw: string): Converted {
  const text = raw.trim();
  const bad = (why: string): Converted => ({ problem: `column '${col.name}' (${col.type}): ${why}` });
  switch (col.type) {
    case 'text':
    case 'string':
      return { json: JSON.stringify(raw) };
    case 'integer': {
      if (text === '') return { json: '0' };
      if (!UNSIGNED.test(text)) return bad(`${show(raw)} is not a non-negative integer`);
      const v = BigInt(text);
      if (v > MAX_UINT32) return bad(`${text} is larger than 4294967295 (use bigint)`);
      return { json: v.toString() };
    }
    case 'bigint': {
      if (text === '') return { json: '0' };
      if (!SIGNED.test(text)) return bad(`${show(raw)} is not an integer`);
      const v = BigInt(text);
      if (v > MAX_INT64 || v < MIN_INT64) return bad(`${text} is out of the 64-bit range`);
      return { json: v.toString() };
    }
    case 'float': {
      if (text === '') return { json: '0' };
      if (!FLOAT.test(text)) return bad(`${show(raw)} is not a number`);
      const n = Number(text);
      if (!Number.isFinite(n)) return bad(`${show(raw)} is out of range`);
      return { json: JSON.stringify(n) };
    }
    case 'bool': {
      const t = text.toLowerCase();
      if (TRUE_WORDS.has(t)) return { json: 'true' };
      if (FALSE_WORDS.has(t)) return { json: 'false' };
      return bad(`${show(raw)} is not a boolean (use 1/0, true/false, yes/no, on/off, t/f, y/n)`);
    }
    case 'timestamp': {
      if (text === '') return { json: '0' };
      const v = parseTimestamp(text);
      if (v === undefined) {
        return bad(`${show(raw)} is not a timestamp (unix seconds, RFC 3339, YYYY-MM-DD[ HH:MM:SS], MM/DD/YYYY[ HH:MM:SS] or DD-Mon-YYYY[ HH:MM:SS])`);
      }
      return { json: String(v) };
    }
    case 'multi':
    case 'multi64': {
      const r = intList(text, col.type === 'multi64');
      if ('problem' in r) return bad(r.problem);
      return { json: `[${r.parts.join(',')}]` };
    }
    case 'json': {
      if (text === '') return { json: '{}' };
      try {
        JSON.parse(text);
      } catch {
        return bad(`${show(raw)} is not valid JSON`);
      }
      // valid JSON holds raw line breaks only between tokens: one NDJSON line keeps its meaning
      return { json: text.replace(/[\r\n]+/g, ' ') };
    }
  }
}

/** A document id: a positive integer up to 2^63-1, as its digits; or the problem. */
export function convertBulkId(raw: string): { id: string } | { problem: string } {
  const t = raw.trim();
  if (!UNSIGNED.test(t)) return { problem: `id ${show(raw)} is not a positive integer (the first column is the document id)` };
  const v = BigInt(t);
  if (v === 0n) return { problem: 'id 0 is not allowed (document ids start at 1)' };
  if (v > MAX_INT64) return { problem: `id ${t} is larger than 2^63-1` };
  return { id: v.toString() };
}

/**
 * A source record as one document: `fields` is `id, <columns...>` when `idColumn`, else exactly the
 * columns (the id is then `rowNumber`, the record's 1-based position among the data rows).
 * Returns the document's JSON text (`{"title":...,...}`) or the problem.
 */
export function bulkDocument(
  columns: readonly BulkColumn[],
  fields: readonly string[],
  o: { idColumn: boolean; rowNumber: number },
): { id: string; doc: string } | { problem: string } {
  const expected = columns.length + (o.idColumn ? 1 : 0);
  if (fields.length !== expected) {
    const what = o.idColumn ? `id + ${columns.length} declared` : `${columns.length} declared, no id column`;
    return { problem: `${fields.length} column${fields.length === 1 ? '' : 's'}, expected ${expected} (${what})` };
  }
  let id: string;
  if (o.idColumn) {
    const r = convertBulkId(fields[0] ?? '');
    if ('problem' in r) return r;
    id = r.id;
  } else {
    id = String(o.rowNumber);
  }
  const offset = o.idColumn ? 1 : 0;
  const parts: string[] = [];
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i] as BulkColumn;
    const v = convertBulkValue(col, fields[i + offset] ?? '');
    if ('problem' in v) return v;
    parts.push(`${JSON.stringify(col.name)}:${v.json}`);
  }
  return { id, doc: `{${parts.join(',')}}` };
}

/**
 * Header detection for a segment's first record: it names the declared columns (with or without a
 * leading `id`, case-insensitive), or, when the first column is the id, its first field is not an
 * integer (the original system's rule).
 */
export function looksLikeHeader(columns: readonly BulkColumn[], fields: readonly string[], idColumn: boolean): boolean {
  const names = columns.map((c) => c.name.toLowerCase());
  const got = fields.map((f) => f.trim().toLowerCase());
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (same(got, names) || same(got, ['id', ...names])) return true;
  if (idColumn) return !UNSIGNED.test((fields[0] ?? '').trim());
  return false;
}

/** One NDJSON line of /bulk: `replace` (idempotent: a batch sent again after a restart changes nothing). */
export function bulkLine(table: string, id: string, doc: string, cluster?: string): string {
  const target = cluster !== undefined ? `"cluster":${JSON.stringify(cluster)},"table":${JSON.stringify(table)}` : `"table":${JSON.stringify(table)}`;
  return `{"replace":{${target},"id":${id},"doc":${doc}}}\n`;
}
