/** `mctl repair [--source NODE] [--wait]` */
import { UsageError, checkFlags, stringFlag } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatStructured } from '../printer.js';
import { followOperation } from './backup.js';

export const REPAIR_HELP = `Repair a split brain: one side survives with its data, every other node rejoins it.

Usage:
  mctl repair [--source NODE] [--wait]

Without --source the controller keeps the side with the highest seqno (ties: the larger side,
then the lowest ordinal). Nodes of the other sides leave their cluster and rejoin the survivor by
SST: writes only they had are discarded. 'mctl get conditions' shows the SplitBrain condition with
each side's nodes, seqnos and rows. The controller refuses (409) while a node's observation is
missing or stale, or while an import, backup or other repair runs.

Flags:
      --source NODE     the node whose side must survive: its name (node1) or index (1)
      --wait            follow the repair until it ends; the exit status is its outcome
  -o, --output FORMAT   table (default) prints a line; json or yaml the answer
      --server URL, --token TOKEN   see 'mctl --help'
`;

interface Accepted {
  status: string;
  message: string;
  commandId: string;
  operationId: string;
}

export async function runRepair(ctx: CommandContext): Promise<number> {
  checkFlags(ctx.args, ['source', 'wait', 'watch'], 'repair');
  if (ctx.args.positionals.length > 0) throw new UsageError(`unexpected argument ${ctx.args.positionals[0]}: name the survivor with --source NODE`, 'repair');
  if (ctx.args.flags.source === true) throw new UsageError('--source needs a value: a node name or index', 'repair');
  const source = stringFlag(ctx.args, 'source');
  const res = await ctx.api().postRaw<Accepted>('/api/repair', source === undefined ? {} : { source: /^\d+$/.test(source) ? Number(source) : source });
  if (ctx.args.flags.wait !== true && ctx.args.flags.watch !== true) {
    if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, res));
    else ctx.io.out(`${res.message}: operation ${res.operationId}; follow it with 'mctl describe operation ${res.operationId} --watch'\n`);
    return 0;
  }
  return followOperation(ctx, 'repair', res.operationId);
}
