/** `mctl backup TABLE [--type delta|main] [--wait]` */
import { UsageError, checkFlags } from '../args.js';
import { CliError } from '../client.js';
import type { CommandContext } from '../context.js';
import { formatStructured } from '../printer.js';
import { waitForOperation } from './import.js';

export const BACKUP_HELP = `Back up a table to the configured bucket (BACKUP_PROVIDER / BACKUP_BUCKET / BACKUP_PREFIX).

Usage:
  mctl backup TABLE [--type delta|main] [--wait]

manticore-backup runs on one healthy node; the archive <table>-<timestamp>.tar.gz and its
manifest (rows, schema, sha256) are streamed to the bucket. 'main' backs up the active slot.
One backup per table at a time.

Flags:
      --type T          delta (default) or main
      --wait            follow the backup until it ends; the exit status is its outcome
  -o, --output FORMAT   table (default) prints a line; json or yaml the operation
      --server URL, --token TOKEN   see 'mctl --help'
`;

interface Accepted {
  status: string;
  message: string;
  commandId: string;
}

/** Prints the outcome of a followed operation; throws when it did not succeed. */
export async function followOperation(ctx: CommandContext, what: string, id: string): Promise<number> {
  const end = await waitForOperation(ctx, id);
  if (end === undefined) {
    ctx.io.err(`mctl: stopped following; ${what} ${id} goes on (mctl describe operation ${id})\n`);
    return 1;
  }
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, end));
  else if (end.state === 'succeeded') ctx.io.out(`${what} ${end.id} succeeded: ${end.outcome ?? ''}\n`);
  else ctx.io.out(`${what} ${end.id} ${end.state}: ${end.error ?? end.outcome ?? ''}\n`);
  if (end.state !== 'succeeded') throw new CliError(`${what} ${end.id} ${end.state}`, `${what.toUpperCase()}_FAILED`);
  return 0;
}

export async function runBackup(ctx: CommandContext): Promise<number> {
  checkFlags(ctx.args, ['type', 'wait', 'watch'], 'backup');
  const [table, ...rest] = ctx.args.positionals;
  if (table === undefined) throw new UsageError('name the table to back up', 'backup');
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`, 'backup');
  const type = ctx.args.flags.type ?? 'delta';
  if (type !== 'delta' && type !== 'main') throw new UsageError('--type must be delta or main', 'backup');
  const res = await ctx.api().postRaw<Accepted>('/api/backup', { tableName: table, type });
  if (ctx.args.flags.wait !== true && ctx.args.flags.watch !== true) {
    if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, res));
    else ctx.io.out(`${res.message}; follow it with 'mctl describe operation ${res.commandId} --watch'\n`);
    return 0;
  }
  return followOperation(ctx, 'backup', res.commandId);
}
