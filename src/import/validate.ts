/**
 * Validation (and light normalisation) of one source record against the declared columns, before the
 * indexer sees it. A record is `id, <one value per declared column>`; a bad one is reported with the
 * reason, and the build stops there: a partly loaded table must never be flipped to.
 *
 * Normalisation, so Manticore's indexer reads what the spec means (original-system.md section 4.2):
 * - bool: 1/true/yes/on/t/y → 1, 0/false/no/off/f/n/empty → 0 (case-insensitive); anything else is bad;
 * - timestamp: unix seconds, or a date `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`
 *   (no zone means UTC) → unix seconds;
 * - every other value is passed on unchanged once checked. An empty numeric value is 0, as for the indexer.
 */
import type { SpecColumnType } from '../domain/spec.js';

/** What the validator needs of a column. */
export interface FeedColumn {
  name: string;
  type: SpecColumnType;
}

const MAX_INT64 = 9223372036854775807n;
const MIN_INT64 = -9223372036854775808n;
const MAX_UINT32 = 4294967295n;

const UNSIGNED = /^\d+$/;
const SIGNED = /^[-+]?\d+$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on', 't', 'y']);
const FALSE_WORDS = new Set(['', '0', 'false', 'no', 'off', 'f', 'n']);
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[-+]\d{2}:?\d{2})?$/;

function show(value: string): string {
  const v = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return JSON.stringify(v);
}

/** The document id check: a positive integer up to 2^63-1. Returns a reason or undefined. */
export function idProblem(text: string): string | undefined {
  if (!UNSIGNED.test(text)) return `id ${show(text)} is not a positive integer (the first column is the document id)`;
  const v = BigInt(text);
  if (v === 0n) return 'id 0 is not allowed (document ids start at 1)';
  if (v > MAX_INT64) return `id ${text} is larger than 2^63-1`;
  return undefined;
}

function timestampValue(text: string): string | undefined {
  if (SIGNED.test(text)) return text;
  const m = DATE.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  let iso = `${y}-${mo}-${d}T${h ?? '00'}:${mi ?? '00'}:${s ?? '00'}`;
  if (zone === undefined || zone === 'Z') iso += 'Z';
  else iso += zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return undefined;
  // Date.parse rolls 2024-02-31 over to March: refuse dates that do not exist
  if (new Date(Date.UTC(Number(y), month - 1, day)).getUTCDate() !== day) return undefined;
  return String(Math.floor(ms / 1000));
}

function listProblem(text: string, pattern: RegExp, signed: boolean): string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const inner = t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t;
  for (const part of inner.split(/[\s,]+/)) {
    if (part === '') continue;
    if (!pattern.test(part)) return `${show(part)} is not ${signed ? 'an integer' : 'a non-negative integer'}`;
    const v = BigInt(part);
    if (signed ? v > MAX_INT64 || v < MIN_INT64 : v > MAX_UINT32) return `${part} is out of range`;
  }
  return undefined;
}

/**
 * Checks one value; returns `{value}` (possibly normalised) or `{problem}`.
 */
export function checkValue(col: FeedColumn, raw: string): { value: string } | { problem: string } {
  const text = raw.trim();
  const bad = (why: string) => ({ problem: `column '${col.name}' (${col.type}): ${why}` });
  switch (col.type) {
    case 'text':
    case 'string':
      return { value: raw };
    case 'integer': {
      if (text === '') return { value: raw };
      if (!UNSIGNED.test(text)) return bad(`${show(raw)} is not a non-negative integer`);
      if (BigInt(text) > MAX_UINT32) return bad(`${text} is larger than 4294967295 (use bigint)`);
      return { value: text };
    }
    case 'bigint': {
      if (text === '') return { value: raw };
      if (!SIGNED.test(text)) return bad(`${show(raw)} is not an integer`);
      const v = BigInt(text);
      if (v > MAX_INT64 || v < MIN_INT64) return bad(`${text} is out of the 64-bit range`);
      return { value: text };
    }
    case 'float':
      if (text === '') return { value: raw };
      if (!FLOAT.test(text)) return bad(`${show(raw)} is not a number`);
      return { value: text };
    case 'bool': {
      const t = text.toLowerCase();
      if (TRUE_WORDS.has(t)) return { value: '1' };
      if (FALSE_WORDS.has(t)) return { value: '0' };
      return bad(`${show(raw)} is not a boolean (use 1/0, true/false, yes/no)`);
    }
    case 'timestamp': {
      if (text === '') return { value: raw };
      const v = timestampValue(text);
      if (v === undefined) return bad(`${show(raw)} is not a timestamp (unix seconds, YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)`);
      return { value: v };
    }
    case 'json': {
      if (text === '') return { value: raw };
      try {
        JSON.parse(text);
      } catch {
        return bad(`${show(raw)} is not valid JSON`);
      }
      return { value: raw };
    }
    case 'multi': {
      const p = listProblem(text, UNSIGNED, false);
      return p === undefined ? { value: raw } : bad(p);
    }
    case 'multi64': {
      const p = listProblem(text, SIGNED, true);
      return p === undefined ? { value: raw } : bad(p);
    }
  }
}

/**
 * Checks a whole record (`id` + one value per column) and returns the fields to feed the indexer,
 * or the reason it is bad ("3 columns, expected 4 (id + 3 declared)").
 */
export function checkRecord(columns: readonly FeedColumn[], fields: readonly string[]): { fields: string[] } | { problem: string } {
  const expected = columns.length + 1;
  if (fields.length !== expected) {
    return { problem: `${fields.length} column${fields.length === 1 ? '' : 's'}, expected ${expected} (id + ${columns.length} declared)` };
  }
  const id = (fields[0] ?? '').trim();
  const idWhy = idProblem(id);
  if (idWhy !== undefined) return { problem: idWhy };
  const out: string[] = [id];
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i] as FeedColumn;
    const r = checkValue(col, fields[i + 1] ?? '');
    if ('problem' in r) return r;
    out.push(r.value);
  }
  return { fields: out };
}
