/** `mctl query [--node N|--all] [--write] SQL` */
import type { NodeQueryResult, OverallQueryStatus } from '../../api/query-run.js';
import { UsageError, checkFlags, stringFlag } from '../args.js';
import type { CommandContext } from '../context.js';
import { cell, formatStructured, formatTable } from '../printer.js';

export const QUERY_HELP = `Run one SQL statement on a node, or on every node.

Usage:
  mctl query [--node NAME|INDEX | --all] [--write] SQL...

Without --node or --all the first node that answers runs it. Read-only statements only (SELECT,
SHOW, DESCRIBE, EXPLAIN, CALL SNIPPETS/KEYWORDS/SUGGEST/QSUGGEST/PQ) unless --write is given.
Quote the SQL for your shell: mctl query --all 'SELECT COUNT(*) FROM products'

Flags:
      --node N          the node's name (node0) or index (0)
      --all             every node in parallel; results side by side
      --write           allow statements that change data
  -o, --output FORMAT   table (default), wide (adds node address and timing), json or yaml
      --server URL, --token TOKEN   see 'mctl --help'

Exit status: 0 when every node answered without error, 1 otherwise.
`;

interface QueryAnswer {
  status: OverallQueryStatus;
  kind: 'read' | 'write';
  verb: string;
  mode: string;
  attempts: number;
  results: NodeQueryResult[];
}

function describeResult(r: NodeQueryResult, wide: boolean): string {
  const where = wide ? `${r.node} (${r.address}, ${r.durationMs} ms)` : r.node;
  if (!r.ok) return `${where}: ERROR (${r.error?.kind ?? 'unknown'}): ${r.error?.message ?? 'no message'}\n`;
  if (r.affectedRows !== undefined) return `${where}: OK, ${r.affectedRows} row(s) affected\n`;
  const more = r.truncated ? ` (showing ${r.rowCount} of ${r.totalRows}; the console caps rows)` : '';
  const head = `${where}: ${r.totalRows} row(s)${more}\n`;
  if (r.columns.length === 0) return head;
  return `${head}${formatTable(
    r.columns,
    r.rows.map((row) => r.columns.map((c) => cell(row[c]))),
  )}`;
}

export async function runQuery(ctx: CommandContext): Promise<number> {
  checkFlags(ctx.args, ['node', 'all', 'write'], 'query');
  const sql = ctx.args.positionals.join(' ').trim();
  if (sql === '') throw new UsageError('give the SQL statement to run', 'query');
  const node = stringFlag(ctx.args, 'node');
  const all = ctx.args.flags.all === true;
  if (node !== undefined && all) throw new UsageError('use either --node or --all, not both', 'query');
  const body: Record<string, unknown> = { sql };
  if (node !== undefined) body.node = node;
  if (all) body.broadcast = true;
  if (ctx.args.flags.write === true) body.write = true;
  const answer = await ctx.api().postData<QueryAnswer>('/api/query', body);
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, answer));
  else ctx.io.out(answer.results.map((r) => describeResult(r, ctx.format === 'wide')).join('\n'));
  return answer.status === 'ok' ? 0 : 1;
}
