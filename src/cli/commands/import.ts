/** `mctl import TABLE [--source URL] [--wait]` */
import type { OperationRecord } from '../../status/types.js';
import { UsageError, checkFlags } from '../args.js';
import { CliError } from '../client.js';
import type { CommandContext } from '../context.js';
import { formatStructured } from '../printer.js';

export const IMPORT_HELP = `Start a zero-downtime blue/green import of a table.

Usage:
  mctl import TABLE [--source PATH|URL] [--wait]
  mctl import TABLE [PATH|URL...] [--wait]

The controller builds the inactive main slot once, imports it on every node, checks the row count
on every node, then points every node's distributed table at it and drops the old slot. The old
data answers queries until the flip. One import per table at a time.

Flags:
      --source S        the CSV/TSV to load: a path on the shared volume or an https:// URL
                        (default: the spec's import.urls); several may be given as arguments
      --wait            follow the import with a progress bar until it ends; the exit status is
                        its outcome (0 succeeded, 1 failed or cancelled). -w/--watch does the same
  -o, --output FORMAT   table (default) prints a line; json or yaml the operation
      --server URL, --token TOKEN   see 'mctl --help'
`;

/** How often --wait polls the operation. */
export const IMPORT_WAIT_POLL_MS = 1_000;
const BAR_WIDTH = 30;

function flag(ctx: CommandContext, name: string): string | true | undefined {
  return (ctx.args.flags as Record<string, string | true | undefined>)[name];
}

/** One line of progress: bar, percent, step, rows, ETA. */
export function progressLine(op: OperationRecord): string {
  const f = op.figures ?? {};
  const running = [...op.steps].reverse().find((s) => s.state === 'running');
  const step = running?.name ?? op.state;
  const done = op.state === 'succeeded';
  const pct = done ? 100 : step === 'build' ? (f.progressPercent ?? 0) : undefined;
  const parts: string[] = [];
  if (pct !== undefined) {
    const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round((pct / 100) * BAR_WIDTH)));
    parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${pct.toFixed(0).padStart(3)}%`);
  }
  parts.push(step);
  if (f.rows !== undefined) parts.push(`${f.rows} rows`);
  if (f.nodesFlipped !== undefined && f.nodes !== undefined && (step === 'flip' || f.nodesFlipped > 0)) parts.push(`flipped ${f.nodesFlipped}/${f.nodes}`);
  if (f.etaSeconds !== undefined && step === 'build' && f.etaSeconds > 0) parts.push(`ETA ${f.etaSeconds}s`);
  if (running?.message) parts.push(running.message);
  return parts.join('  ');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** Polls the operation until it ends, printing a progress line whenever it changes. */
export async function waitForOperation(ctx: CommandContext, id: string, pollMs = IMPORT_WAIT_POLL_MS): Promise<OperationRecord | undefined> {
  let last = '';
  for (;;) {
    const op = await ctx.api().getData<OperationRecord>(`/api/operations/${encodeURIComponent(id)}`);
    const line = progressLine(op);
    if (line !== last) {
      ctx.io.err(`${line}\n`);
      last = line;
    }
    if (op.state !== 'running' && op.state !== 'pending') return op;
    if (ctx.signal.aborted) return undefined;
    await sleep(pollMs, ctx.signal);
    if (ctx.signal.aborted) return undefined;
  }
}

export async function runImport(ctx: CommandContext): Promise<number> {
  checkFlags(ctx.args, ['source', 'wait', 'watch'], 'import');
  const [table, ...rest] = ctx.args.positionals;
  if (table === undefined) throw new UsageError('name the table to import', 'import');
  const sourceFlag = flag(ctx, 'source');
  if (sourceFlag === true) throw new UsageError('--source needs a path or URL', 'import');
  const sources = [...(sourceFlag !== undefined ? [sourceFlag] : []), ...rest];
  const wait = flag(ctx, 'wait') === true || flag(ctx, 'watch') === true;
  const body: Record<string, unknown> = { table };
  if (sources.length === 1) body.source = sources[0];
  else if (sources.length > 1) body.source = sources;
  const op = await ctx.api().postData<OperationRecord>('/api/import', body);
  if (!wait) {
    if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, op));
    else ctx.io.out(`import of ${table} started: operation ${op.id}; follow it with 'mctl describe operation ${op.id} --watch' or cancel it with 'mctl cancel ${op.id}'\n`);
    return 0;
  }
  const end = await waitForOperation(ctx, op.id);
  if (end === undefined) {
    ctx.io.err(`mctl: stopped following; import ${op.id} goes on (mctl describe operation ${op.id})\n`);
    return 1;
  }
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, end));
  else if (end.state === 'succeeded') ctx.io.out(`import ${end.id} succeeded: ${end.outcome ?? ''}\n`);
  else ctx.io.out(`import ${end.id} ${end.state}: ${end.error ?? end.outcome ?? ''}\n`);
  if (end.state !== 'succeeded') throw new CliError(`import ${end.id} ${end.state}`, end.state === 'cancelled' ? 'IMPORT_CANCELLED' : 'IMPORT_FAILED');
  return 0;
}
