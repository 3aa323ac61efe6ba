/** Shared helpers of the bench scenarios: samples, quantiles, the results table rows, waits. */
import { createServer } from 'node:net';
import os from 'node:os';

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export function stats(samples: readonly number[]): { median: number; min: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, n: s.length };
}

export function machine(): string {
  const cpus = os.cpus();
  return `${os.type()} ${os.release()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`;
}

/** A figure measured over several runs, with its target (`< 5000 ms`) and whether it is met. */
export class Figures {
  private readonly rows = new Map<string, { unit: string; target?: { op: '<' | '<=' | '>' | '>='; value: number }; samples: number[]; digits: number }>();

  add(name: string, value: number, o: { unit?: string; target?: { op: '<' | '<=' | '>' | '>='; value: number }; digits?: number } = {}): void {
    let row = this.rows.get(name);
    if (!row) {
      row = { unit: o.unit ?? 'ms', samples: [], digits: o.digits ?? 0, ...(o.target ? { target: o.target } : {}) };
      this.rows.set(name, row);
    }
    row.samples.push(value);
  }

  /** Markdown table: figure | median | min–max (n) | target (met / NOT met, judged on the median). */
  table(): string[] {
    const out = ['| figure | median | min–max (runs) | target |', '|---|---:|---:|---|'];
    for (const [name, r] of this.rows) {
      const s = stats(r.samples);
      const f = (v: number) => `${v.toFixed(r.digits)}${r.unit === '' ? '' : ` ${r.unit}`}`;
      let target = '';
      if (r.target) {
        const t = r.target;
        const met = t.op === '<' ? s.median < t.value : t.op === '<=' ? s.median <= t.value : t.op === '>' ? s.median > t.value : s.median >= t.value;
        target = `${t.op} ${t.value}${r.unit === '' ? '' : ` ${r.unit}`} ${met ? '(met)' : '(NOT met)'}`;
      }
      out.push(`| ${name} | ${f(s.median)} | ${f(s.min)}–${f(s.max)} (${s.n}) | ${target} |`);
    }
    return out;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `probe` is truthy; returns when (performance.now()) it first was. `alive` throwing ends the wait. */
export async function waitFor(probe: () => Promise<boolean> | boolean, what: string, limitMs: number, everyMs = 10, alive?: () => void): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    alive?.();
    if (await Promise.resolve(probe()).catch(() => false)) return performance.now();
    if (performance.now() - t0 > limitMs) throw new Error(`bench: ${what} did not happen within ${limitMs} ms`);
    await sleep(everyMs);
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}
