/** `mctl describe table NAME` and `mctl describe operation ID` */
import type { Condition, OperationRecord, TableStatusView } from '../../status/types.js';
import { UsageError, checkFlags } from '../args.js';
import type { CommandContext } from '../context.js';
import { show } from '../context.js';
import { age, cell, formatStructured, formatTable } from '../printer.js';

export const DESCRIBE_HELP = `Show one resource in detail.

Usage:
  mctl describe table NAME [-o table|wide|json|yaml] [--watch]
  mctl describe operation ID [-o table|wide|json|yaml] [--watch]

  table NAME     the spec, the active slot, what every node holds, and the table's conditions
  operation ID   who asked, when, every step and the outcome

Flags:
  -o, --output FORMAT   table (default) and wide print a description; json or yaml the raw resource
  -w, --watch           print again whenever the controller reports a change (Ctrl-C to stop)
      --server URL, --token TOKEN   see 'mctl --help'
`;

function fields(pairs: [string, unknown][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 2;
  return pairs
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${`${k}:`.padEnd(width)}${cell(v)}`)
    .join('\n');
}

function conditionsBlock(conditions: readonly Condition[]): string {
  if (conditions.length === 0) return 'Conditions:  none\n';
  return `Conditions:\n${formatTable(
    ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
    conditions.map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime), cell(c.message)]),
  )}`;
}

export function describeTable(t: TableStatusView): string {
  const spec = t.spec;
  const head = fields([
    ['Name', t.name],
    ['Origin', `${t.origin.kind} ${t.origin.ref}`],
    ['Generation', t.generation],
    ['Active slot', t.activeSlot ?? 'none yet'],
    ['Cluster main', spec.clusterMain],
    ['Distributed', `ha_strategy=${spec.distributed.haStrategy} agent_retry_count=${spec.distributed.agentRetryCount}`],
    ['Deletion', spec.deletionPolicy],
    ['Columns', spec.columns.map((c) => `${c.name} ${c.type}`).join(', ')],
    ['Settings', Object.keys(spec.settings).length === 0 ? undefined : Object.entries(spec.settings).map(([k, v]) => `${k}=${v}`).join(' ')],
    ['Import', spec.import ? `${spec.import.urls.join(', ')} (${spec.import.format}${spec.import.header ? ', header' : ''})` : undefined],
    ['Backups', spec.backups.length === 0 ? undefined : spec.backups.map((b) => `${b.name} ${b.type} "${b.schedule}"`).join('; ')],
  ]);
  const nodes =
    t.nodes.length === 0
      ? 'Nodes:  none observed\n'
      : `Nodes:\n${formatTable(
          ['NODE', 'REACHABLE', 'MAIN', 'MAIN-ROWS', 'DELTA', 'DELTA-ROWS', 'DISTRIBUTED', 'AGENTS'],
          t.nodes.map((n) => [
            n.node,
            String(n.reachable),
            n.main ? `${n.main.table}${n.main.present ? '' : ' (missing)'}${n.main.inCluster ? ' [cluster]' : ''}` : '-',
            cell(n.main?.rows),
            n.delta ? `${n.delta.table}${n.delta.present ? '' : ' (missing)'}${n.delta.inCluster ? ' [cluster]' : ''}` : '-',
            cell(n.delta?.rows),
            n.distributed ? (n.distributed.present ? cell(n.distributed.locals) : 'missing') : '-',
            cell(n.distributed?.agents),
          ]),
        )}`;
  return `${head}\n\n${nodes}\n${conditionsBlock(t.conditions)}`;
}

export function describeOperation(o: OperationRecord): string {
  const head = fields([
    ['ID', o.id],
    ['Kind', o.kind],
    ['Key', o.key],
    ['State', o.state],
    ['Requested by', o.requestedBy],
    ['Requested at', o.requestedAt],
    ['Finished at', o.finishedAt],
    ['Outcome', o.outcome],
    ['Error', o.error],
    ['Figures', o.figures && Object.keys(o.figures).length > 0 ? Object.entries(o.figures).map(([k, v]) => `${k}=${v}`).join(' ') : undefined],
  ]);
  const steps =
    o.steps.length === 0
      ? 'Steps:  none yet\n'
      : `Steps:\n${formatTable(
          ['STEP', 'STATE', 'STARTED', 'FINISHED', 'MESSAGE'],
          o.steps.map((s) => [s.name, s.state, cell(s.startedAt), cell(s.finishedAt), cell(s.message)]),
        )}`;
  return `${head}\n\n${steps}`;
}

export async function runDescribe(ctx: CommandContext): Promise<number> {
  checkFlags(ctx.args, ['watch'], 'describe');
  const [kind, id, ...rest] = ctx.args.positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`, 'describe');
  if (kind === undefined) throw new UsageError('name what to describe: table NAME or operation ID', 'describe');
  if (id === undefined || id === '') throw new UsageError(`name the ${kind} to describe`, 'describe');
  const api = ctx.api();
  const structured = ctx.format === 'json' || ctx.format === 'yaml' ? ctx.format : undefined;
  switch (kind) {
    case 'table':
    case 'tables': {
      const path = id === 'status' ? '/api/tables/status?view=table' : `/api/tables/${encodeURIComponent(id)}`;
      return show(ctx, async () => {
        const t = await api.getData<TableStatusView>(path);
        return structured ? formatStructured(structured, t) : describeTable(t);
      });
    }
    case 'operation':
    case 'operations':
    case 'op':
      return show(ctx, async () => {
        const o = await api.getData<OperationRecord>(`/api/operations/${encodeURIComponent(id)}`);
        return structured ? formatStructured(structured, o) : describeOperation(o);
      });
    default:
      throw new UsageError(`unknown resource '${kind}': use table or operation`, 'describe');
  }
}
