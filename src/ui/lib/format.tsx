/** Small display helpers: times, durations, sizes, operation progress. */
import type { OperationRecord } from './api.js';

export function fmtTime(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtAgo(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(s)) return '—';
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

export function fmtDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function between(start: string | undefined, end: string | undefined, now = Date.now()): number | undefined {
  if (!start) return undefined;
  const a = new Date(start).getTime();
  const b = end ? new Date(end).getTime() : now;
  return Number.isFinite(a) && Number.isFinite(b) ? b - a : undefined;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtNumber(n: number | undefined): string {
  return n === undefined ? '—' : n.toLocaleString('en-US');
}

/** Fraction of the steps done (a finished operation is 1). */
export function progressOf(op: OperationRecord): number {
  if (op.state === 'succeeded') return 1;
  // an import reports its own percentage (rows built, nodes flipped); steps are the fallback
  const pct = op.figures?.progressPercent;
  if (typeof pct === 'number' && Number.isFinite(pct) && op.state === 'running') return Math.min(1, Math.max(0, pct / 100));
  const total = op.steps.length;
  if (total === 0) return op.state === 'running' ? 0.05 : 0;
  const done = op.steps.filter((s) => s.state === 'succeeded').length;
  const running = op.steps.some((s) => s.state === 'running') ? 0.5 : 0;
  return Math.min(1, (done + running) / total);
}

/** The table (or node) an operation acts on, for display. */
export function subjectOf(op: OperationRecord): string {
  if (op.target) return op.target;
  const parts = op.key.split('/');
  return parts[parts.length - 1] ?? op.key;
}

export function isActive(op: OperationRecord): boolean {
  return op.state === 'running' || op.state === 'pending';
}
