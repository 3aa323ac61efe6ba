/** `mctl restore TABLE FILE [--wait]` */
import { UsageError, checkFlags } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatStructured } from '../printer.js';
import { followOperation } from './backup.js';

export const RESTORE_HELP = `Restore a table from one of its archives in the bucket.

Usage:
  mctl restore TABLE FILE [--wait]

FILE is an archive name as 'mctl get backups TABLE' lists it, e.g. products_delta-2025-01-28T22-50-49Z.tar.gz.
The archive is downloaded and checked (manifest sha256, whole-archive read) before anything is
dropped. A delta backup replaces <table>_delta on every node through the replication cluster; a
main backup goes into the inactive slot on every node, then the distributed table is pointed at
it and the old slot is dropped.

Flags:
      --wait            follow the restore until it ends; the exit status is its outcome
  -o, --output FORMAT   table (default) prints a line; json or yaml the operation
      --server URL, --token TOKEN   see 'mctl --help'
`;

export async function runRestore(ctx: CommandContext): Promise<number> {
  checkFlags(ctx.args, ['wait', 'watch'], 'restore');
  const [table, file, ...rest] = ctx.args.positionals;
  if (table === undefined || file === undefined) throw new UsageError('name the table and the archive: mctl restore TABLE FILE', 'restore');
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`, 'restore');
  const res = await ctx.api().postRaw<{ status: string; message: string; commandId: string }>('/api/restore', { tableName: table, filename: file });
  if (ctx.args.flags.wait !== true && ctx.args.flags.watch !== true) {
    if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, res));
    else ctx.io.out(`${res.message}; follow it with 'mctl describe operation ${res.commandId} --watch'\n`);
    return 0;
  }
  return followOperation(ctx, 'restore', res.commandId);
}
