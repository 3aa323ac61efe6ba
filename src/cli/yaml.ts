/**
 * A small YAML printer for `-o yaml` (block style; strings quoted only when YAML would read them as
 * something else). Enough for JSON-shaped API data; no dependency.
 */

const PLAIN_RE = /^[A-Za-z_./][\w ./@:+()-]*$/;
const RESERVED = /^(?:true|false|yes|no|on|off|null|~|y|n)$/i;

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const s = String(value);
  if (s === '' || !PLAIN_RE.test(s) || RESERVED.test(s) || /:\s|\s#|\s$|:$/.test(s) || /^[-+]?\d/.test(s)) return JSON.stringify(s);
  return s;
}

function key(k: string): string {
  return PLAIN_RE.test(k) && !RESERVED.test(k) && !k.includes(':') ? k : JSON.stringify(k);
}

function isEmptyContainer(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

function emptyOf(v: unknown): string {
  return Array.isArray(v) ? '[]' : '{}';
}

function isContainer(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !isEmptyContainer(v);
}

function lines(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    const out: string[] = [];
    for (const item of value) {
      if (isContainer(item)) {
        const inner = lines(item, `${indent}  `);
        const first = inner[0] ?? '';
        out.push(`${indent}- ${first.slice(indent.length + 2)}`, ...inner.slice(1));
      } else {
        out.push(`${indent}- ${isEmptyContainer(item) ? emptyOf(item) : scalar(item)}`);
      }
    }
    return out;
  }
  if (typeof value === 'object' && value !== null) {
    const out: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (isContainer(v)) {
        out.push(`${indent}${key(k)}:`);
        out.push(...lines(v, Array.isArray(v) ? indent : `${indent}  `));
      } else {
        out.push(`${indent}${key(k)}: ${isEmptyContainer(v) ? emptyOf(v) : scalar(v)}`);
      }
    }
    return out;
  }
  return [`${indent}${scalar(value)}`];
}

/** The document as YAML text, ending in a newline. */
export function toYaml(value: unknown): string {
  if (!isContainer(value)) return `${isEmptyContainer(value) ? emptyOf(value) : scalar(value)}\n`;
  return `${lines(value, '').join('\n')}\n`;
}
