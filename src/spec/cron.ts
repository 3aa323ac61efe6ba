/**
 * Cron expressions of specs: five fields (minute hour day-of-month month day-of-week), evaluated in UTC,
 * or one of the common macros. Parsed with cron-parser, which also accepts a seconds field and fewer
 * fields; we refuse those so that every schedule means what a crontab reader expects.
 */
import { CronExpressionParser } from 'cron-parser';

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly']);
const FIX = "use five fields 'minute hour day-of-month month day-of-week' in UTC, e.g. '0 2 * * *' for 02:00 every day";

/** Why `expr` is not a usable schedule, or undefined when it is. */
export function cronProblem(expr: string): string | undefined {
  const trimmed = expr.trim();
  if (trimmed.length === 0) return `the schedule is empty: ${FIX}`;
  // a cron line is short; a long value is quoted by its start only (and not parsed)
  if (trimmed.length > 200) return `'${trimmed.slice(0, 60)}…' is ${trimmed.length} characters long, not a schedule: ${FIX}`;
  if (trimmed.startsWith('@')) {
    if (MACROS.has(trimmed.toLowerCase())) return undefined;
    return `'${trimmed}' is not a known macro: use one of ${[...MACROS].join(', ')}, or ${FIX}`;
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5) return `'${trimmed}' has ${fields.length} fields: ${FIX}`;
  try {
    CronExpressionParser.parse(trimmed, { tz: 'UTC' });
    return undefined;
  } catch (err) {
    return `'${trimmed}' is not a valid cron expression (${err instanceof Error ? err.message : String(err)}): ${FIX}`;
  }
}
