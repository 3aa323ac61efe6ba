/**
 * JSON text and JSON pointers (RFC 6901) for spec documents.
 */
import type { SpecOrigin, SpecProblem } from '../domain/spec.js';

/** One pointer segment, escaped (`~` → `~0`, `/` → `~1`). */
export function pointerSegment(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function joinPointer(base: string, ...keys: (string | number)[]): string {
  return base + keys.map((k) => `/${pointerSegment(k)}`).join('');
}

/** The value at `pointer` inside `doc`, or undefined. */
export function valueAt(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}

/**
 * Parses the text of a spec file. Never throws: a syntax error becomes a problem with the line and
 * column where the parser stopped.
 */
export function parseJsonText(text: string, origin: SpecOrigin): { doc?: unknown; problem?: SpecProblem } {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body.trim().length === 0) {
    return { problem: { origin, pointer: '', message: 'the file is empty: write one table spec as a JSON object' } };
  }
  try {
    return { doc: JSON.parse(body) as unknown };
  } catch (err) {
    const raw = err instanceof Error ? err.message : String(err);
    const pos = /position (\d+)/.exec(raw);
    let where = '';
    if (pos?.[1] !== undefined) {
      const { line, column } = lineColumn(body, Number(pos[1]));
      where = ` at line ${line}, column ${column}`;
    }
    return {
      problem: {
        origin,
        pointer: '',
        message: `not valid JSON${where} (${raw}): fix the syntax (quotes around keys and strings, no trailing commas, no comments)`,
      },
    };
  }
}

/** Plain-text shape of a value for messages: strings quoted, others as JSON, bounded. */
export function show(value: unknown, max = 60): string {
  if (value === undefined) return 'nothing';
  let text: string;
  if (typeof value === 'string') text = `'${JSON.stringify(value).slice(1, -1)}'`;
  else text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** JSON type name of a value as schemas spell it. */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}
