/** `mctl reconcile` */
import { UsageError, checkFlags } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatStructured } from '../printer.js';

export const RECONCILE_HELP = `Read every node and every table again now, in full.

Usage:
  mctl reconcile

At rest the controller re-reads a converged table only when something it depends on moved (a
write, a node, a spec) or once per deep resync period. Use this after changing tables by hand
outside the orchestrator, or to see fresh row counts at once.

Flags:
  -o, --output FORMAT   table (default) prints a line; json or yaml the answer
      --server URL, --token TOKEN   see 'mctl --help'
`;

export async function runReconcile(ctx: CommandContext): Promise<number> {
  checkFlags(ctx.args, [], 'reconcile');
  const [extra] = ctx.args.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}: reconcile takes none`, 'reconcile');
  const answer = await ctx.api().postData<{ queued: number }>('/api/reconcile', {});
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, answer));
  else ctx.io.out(`reconcile requested: ${answer.queued} keys queued (the cluster and every table)\n`);
  return 0;
}
