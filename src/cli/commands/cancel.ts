/** `mctl cancel ID` */
import type { OperationRecord } from '../../status/types.js';
import { UsageError, checkFlags } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatStructured } from '../printer.js';

export const CANCEL_HELP = `Cancel a running import before its flip.

Usage:
  mctl cancel OPERATION_ID

The build stops and the partially built slot is dropped on every node; the old data keeps
serving. Once the flip has started the import cannot be cancelled: it rolls forward.

Flags:
  -o, --output FORMAT   table (default) prints a line; json or yaml the operation
      --server URL, --token TOKEN   see 'mctl --help'
`;

export async function runCancel(ctx: CommandContext): Promise<number> {
  checkFlags(ctx.args, [], 'cancel');
  const [id, extra] = ctx.args.positionals;
  if (id === undefined) throw new UsageError('name the operation to cancel (mctl get operations lists them)', 'cancel');
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`, 'cancel');
  const op = await ctx.api().deleteData<OperationRecord>(`/api/imports/${encodeURIComponent(id)}`);
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, op));
  else ctx.io.out(`cancel of ${op.id} requested; the old data keeps serving. Follow it with 'mctl describe operation ${op.id} --watch'\n`);
  return 0;
}
