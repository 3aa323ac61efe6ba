/** `mctl bootstrap --node N --force` */
import type { OperationRecord } from '../../status/types.js';
import { UsageError, checkFlags, stringFlag } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatStructured } from '../printer.js';

export const BOOTSTRAP_HELP = `Request a forced bootstrap: the cluster restarts from one node, and that node's data wins.

Usage:
  mctl bootstrap --node NAME|INDEX --force

Use it only when the controller cannot decide by itself which node holds the newest data (a
condition says why it waits). Writes held only by other nodes are discarded. The request is
audited (who asked, when) and carried out by the controller as an operation.

Flags:
      --node N          the node whose data must win: its name (node0) or index (0)
      --force           required: confirms that newer writes on other nodes may be lost
  -o, --output FORMAT   table (default) prints a line; json or yaml the operation
      --server URL, --token TOKEN   see 'mctl --help'
`;

export async function runBootstrap(ctx: CommandContext): Promise<number> {
  checkFlags(ctx.args, ['node', 'force'], 'bootstrap');
  if (ctx.args.positionals.length > 0) throw new UsageError(`unexpected argument ${ctx.args.positionals[0]}`, 'bootstrap');
  const node = stringFlag(ctx.args, 'node');
  if (node === undefined) throw new UsageError('--node is required: name the node whose data must win', 'bootstrap');
  if (ctx.args.flags.force !== true) {
    throw new UsageError('--force is required: a forced bootstrap discards writes held only by other nodes', 'bootstrap');
  }
  const op = await ctx.api().postData<OperationRecord>('/api/cluster/bootstrap', { node, force: true });
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, op));
  else ctx.io.out(`forced bootstrap of ${node} requested: operation ${op.id} (${op.state}); follow it with 'mctl describe operation ${op.id} --watch'\n`);
  return 0;
}
