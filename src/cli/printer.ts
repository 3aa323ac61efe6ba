/**
 * The shared printer: a command hands over its data and its columns; `-o table|wide|json|yaml`
 * decides how it is shown. Only src/cli and src/bin print.
 */
import { UsageError } from './args.js';
import { toYaml } from './yaml.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'wide', 'json', 'yaml'];

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'table';
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(`-o ${value}: use one of ${OUTPUT_FORMATS.join(', ')}`);
}

export interface Column<T> {
  header: string;
  value: (item: T) => unknown;
  /** shown only with -o wide */
  wide?: boolean;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map((v) => cell(v)).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/\s+/g, ' ');
}

/** Aligned columns, kubectl style (two spaces between columns, upper-case headers). */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

export function formatStructured(format: 'json' | 'yaml', data: unknown): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : toYaml(data);
}

/** A list in the chosen format. */
export function formatList<T>(format: OutputFormat, items: readonly T[], columns: readonly Column<T>[], empty: string): string {
  if (format === 'json' || format === 'yaml') return formatStructured(format, items);
  if (items.length === 0) return `${empty}\n`;
  const shown = columns.filter((c) => format === 'wide' || !c.wide);
  return formatTable(
    shown.map((c) => c.header),
    items.map((item) => shown.map((c) => cell(c.value(item)))),
  );
}

/** "3m ago"-style age of an ISO timestamp relative to `now`. */
export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.round(h / 24)}d`;
}
