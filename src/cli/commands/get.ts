/** `mctl get nodes|tables|operations|conditions` */
import { runGetBackups } from './get-backups.js';
import type { NodeView, ScopedCondition } from '../../api/routes/cluster.js';
import type { OperationRecord, TableStatusView } from '../../status/types.js';
import { UsageError, checkFlags } from '../args.js';
import type { CommandContext } from '../context.js';
import { show } from '../context.js';
import { age, formatList } from '../printer.js';
import type { Column } from '../printer.js';

export const GET_HELP = `Show a list of resources.

Usage:
  mctl get nodes|tables|operations|conditions [-o table|wide|json|yaml] [--watch]

Resources:
  nodes        every node the platform lists, with what the controller last observed
  tables       managed tables: active slot, nodes holding them, readiness
  operations   operations (formation, recovery, forced bootstrap, imports...), newest first
  conditions   conditions of the cluster and of every table

Flags:
  -o, --output FORMAT   table (default), wide (more columns), json or yaml
  -w, --watch           print again whenever the controller reports a change (Ctrl-C to stop)
      --server URL      controller API (default $MCTL_SERVER or http://127.0.0.1:8080)
      --token TOKEN     API token (default $MCTL_TOKEN, then $ORCHESTRATOR_TOKEN)
`;

const NODE_COLUMNS: Column<NodeView>[] = [
  { header: 'NAME', value: (n) => n.name },
  { header: 'ORDINAL', value: (n) => n.ordinal },
  { header: 'REACHABLE', value: (n) => (n.observed ? n.reachable : 'unknown') },
  { header: 'CLUSTER-STATUS', value: (n) => n.clusterStatus },
  { header: 'NODE-STATE', value: (n) => n.nodeState },
  { header: 'SEQNO', value: (n) => n.seqno },
  { header: 'READY', value: (n) => n.ready },
  { header: 'MYSQL', value: (n) => n.mysql, wide: true },
  { header: 'API', value: (n) => n.apiAddress, wide: true },
  { header: 'AGENT', value: (n) => n.agentUrl, wide: true },
  { header: 'UUID', value: (n) => n.clusterUuid, wide: true },
  { header: 'GATE', value: (n) => n.gate?.mode, wide: true },
  { header: 'ERROR', value: (n) => n.error, wide: true },
];

function conditionStatus(conditions: readonly { type: string; status: string }[], type: string): string | undefined {
  return conditions.find((c) => c.type === type)?.status;
}

const TABLE_COLUMNS: Column<TableStatusView>[] = [
  { header: 'NAME', value: (t) => t.name },
  { header: 'SLOT', value: (t) => t.activeSlot },
  { header: 'NODES', value: (t) => `${t.nodes.filter((n) => n.distributed?.present && n.delta?.present).length}/${t.nodes.length}` },
  // a table is ready when every node converged to its spec (the controller's TablesConverged condition)
  { header: 'CONVERGED', value: (t) => conditionStatus(t.conditions, 'TablesConverged') ?? 'Unknown' },
  { header: 'MIXED-SLOTS', value: (t) => conditionStatus(t.conditions, 'MixedSlots') ?? 'Unknown', wide: true },
  { header: 'GENERATION', value: (t) => t.generation },
  { header: 'CLUSTER-MAIN', value: (t) => t.spec.clusterMain, wide: true },
  { header: 'HA', value: (t) => t.spec.distributed.haStrategy, wide: true },
  { header: 'DELETION', value: (t) => t.spec.deletionPolicy, wide: true },
  { header: 'ORIGIN', value: (t) => `${t.origin.kind}:${t.origin.ref}`, wide: true },
];

const OPERATION_COLUMNS: Column<OperationRecord>[] = [
  { header: 'ID', value: (o) => o.id },
  { header: 'KIND', value: (o) => o.kind },
  { header: 'STATE', value: (o) => o.state },
  { header: 'REQUESTED-BY', value: (o) => o.requestedBy },
  { header: 'AGE', value: (o) => age(o.requestedAt) },
  { header: 'KEY', value: (o) => o.key, wide: true },
  { header: 'STEPS', value: (o) => `${o.steps.filter((s) => s.state === 'succeeded').length}/${o.steps.length}`, wide: true },
  { header: 'FINISHED', value: (o) => o.finishedAt, wide: true },
  { header: 'RESULT', value: (o) => o.error ?? o.outcome, wide: true },
];

const CONDITION_COLUMNS: Column<ScopedCondition>[] = [
  { header: 'SCOPE', value: (c) => c.scope },
  { header: 'TYPE', value: (c) => c.type },
  { header: 'STATUS', value: (c) => c.status },
  { header: 'REASON', value: (c) => c.reason },
  { header: 'AGE', value: (c) => age(c.lastTransitionTime) },
  { header: 'SINCE', value: (c) => c.lastTransitionTime, wide: true },
  { header: 'GENERATION', value: (c) => c.observedGeneration, wide: true },
  { header: 'MESSAGE', value: (c) => c.message },
];

export async function runGet(ctx: CommandContext): Promise<number> {
  if (ctx.args.positionals[0] === 'backups' || ctx.args.positionals[0] === 'backup') return (checkFlags(ctx.args, ['type'], 'get'), runGetBackups(ctx));
  checkFlags(ctx.args, ['watch'], 'get');
  const [resource, ...rest] = ctx.args.positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`, 'get');
  const api = ctx.api();
  let render: () => Promise<string>;
  switch (resource) {
    case 'nodes':
    case 'node':
      render = async () => formatList(ctx.format, await api.getData<NodeView[]>('/api/nodes'), NODE_COLUMNS, 'No nodes.');
      break;
    case 'tables':
    case 'table':
      render = async () => formatList(ctx.format, await api.getData<TableStatusView[]>('/api/tables'), TABLE_COLUMNS, 'No managed tables.');
      break;
    case 'operations':
    case 'operation':
    case 'ops':
      render = async () => formatList(ctx.format, await api.getData<OperationRecord[]>('/api/operations'), OPERATION_COLUMNS, 'No operations.');
      break;
    case 'conditions':
    case 'condition':
      render = async () => formatList(ctx.format, await api.getData<ScopedCondition[]>('/api/conditions'), CONDITION_COLUMNS, 'No conditions.');
      break;
    case undefined:
      throw new UsageError('name what to get: nodes, tables, operations or conditions', 'get');
    default:
      throw new UsageError(`unknown resource '${resource}': use nodes, tables, operations or conditions`, 'get');
  }
  return show(ctx, render);
}
