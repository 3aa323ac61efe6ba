/**
 * Table convergence (DESIGN.md section 5, issue 3 item 6) as plain functions:
 *   planTables(input)      pure: observations + specs → ordered actions per node, blocked steps with
 *                          the guard's human reason, gaps, and per-table summaries (active slot, mixed slots)
 *   applyTables(plan, deps) executes the actions, returning one result per action; a failed action
 *                          does not stop the others (only the later statements of the same action)
 *   tableConditions(...)   TablesConverged / MixedSlots / SpecInvalid for one table
 *
 * The shape of the tables and why (mirrors, no locals) is in src/reconcile/README.md.
 */
import type { ColumnDecl, LoadedSpec, SpecProblem, TableSpec } from '../domain/spec.js';
import { managedTableNames, type Slot } from '../domain/names.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { ManticorePools } from '../manticore/client.js';
import type { ClusterStatus } from '../manticore/parse.js';
import { parseDistributedDefinition, type DistributedDefinition } from '../manticore/parse.js';
import {
  addColumn,
  alterClusterAdd,
  alterClusterDrop,
  alterDistributed,
  createDistributed,
  createTable,
  dropTable,
  type ColumnFlag,
  type ColumnSpec,
  type DistributedSpec,
} from '../manticore/sql.js';
import type { ClusterObservation, NodeObservation } from '../observe/types.js';
import type { NodeRef } from '../platform/types.js';
import { conditionFalse, conditionTrue } from '../status/conditions.js';
import type { ConditionInput, TableNodeView } from '../status/types.js';

// ---------------------------------------------------------------------------------------------
// plan types

export type TableActionKind =
  | 'create-delta'
  | 'add-delta-to-cluster'
  | 'add-column'
  | 'create-main'
  | 'add-main-to-cluster'
  | 'drop-main-from-cluster'
  | 'create-distributed'
  | 'alter-distributed'
  | 'recreate-distributed'
  | 'drop-distributed'
  | 'drop-delta-from-cluster'
  | 'drop-delta'
  | 'drop-main';

/** Execution phases: every action of a phase runs before any action of the next one. */
export const PHASE = { cluster: 1, local: 2, distributed: 3, drop: 4 } as const;

export interface TableAction {
  /** base name `<t>` */
  table: string;
  /** node name */
  node: string;
  kind: TableActionKind;
  /** run in order on the node; the first failure ends the action */
  statements: string[];
  reason: string;
  phase: number;
}

export interface BlockedStep {
  table: string;
  node?: string;
  kind: TableActionKind;
  /** the guard's name, e.g. guardNoFrozenTables */
  guard: string;
  reason: string;
}

export interface TablePlanSummary {
  table: string;
  /** the slot the cluster serves (most nodes' distributed tables), or the initial slot */
  activeSlot: Slot;
  /** slot each node's distributed table points at, when it has one */
  slotsByNode: Record<string, Slot>;
  mixedSlots: boolean;
  /** listed nodes that cannot take DDL now (down, not in the primary component, not synced) */
  unavailableNodes: { node: string; reason: string }[];
  /** true when this table is being removed (deletionPolicy delete) */
  retiring: boolean;
}

export interface TablesPlan {
  clusterName: string;
  actions: TableAction[];
  byNode: Record<string, TableAction[]>;
  blocked: BlockedStep[];
  /** things we do differently than we would like, for people (e.g. DROP + CREATE without Buddy) */
  gaps: string[];
  tables: Record<string, TablePlanSummary>;
}

export interface PlanTablesInput {
  /** desired tables */
  specs: readonly (LoadedSpec | TableSpec)[];
  /** tables the controller managed that are no longer in the specs (their last spec: deletionPolicy decides) */
  retired?: readonly TableSpec[];
  observations: ClusterObservation;
  clusterName: string;
  /** every node the platform lists (mirror lists use all of them: a down node is skipped by ha_strategy) */
  nodes: readonly NodeRef[];
  /**
   * tables with a running blue/green import (src/reconcile/import.ts): their distributed tables are
   * never re-pointed while it runs (the import flips them), and `activeSlot` is the slot the import
   * says serves (the new one once it has flipped)
   */
  imports?: Readonly<Record<string, { operationId: string; activeSlot?: Slot }>>;
}

// ---------------------------------------------------------------------------------------------
// guards: named predicates returning undefined when allowed, else a human reason

export type Guard = (observations: ClusterObservation, clusterName: string) => string | undefined;

/** No cluster DDL while any table is frozen: a node that joins meanwhile would miss rows (manticore-facts 7). */
export const guardNoFrozenTables: Guard = (observations) => {
  const frozen = observations.flatMap((o) => (o.searchd.ok ? o.searchd.value.frozen.map((t) => `${t} on ${o.node.name}`) : []));
  if (frozen.length === 0) return undefined;
  return `waiting: ${frozen.join(', ')} ${frozen.length === 1 ? 'is' : 'are'} frozen (a backup holds it); cluster changes wait until it is unfrozen`;
};

/** No cluster DDL while a node is joining or donating a state transfer. */
export const guardNoJoiningOrDonor: Guard = (observations, clusterName) => {
  const busy: string[] = [];
  for (const o of observations) {
    const c = membership(o, clusterName);
    if (c === undefined) continue;
    if (c.nodeState === 'joining' || c.nodeState === 'donor' || c.nodeState === 'joined' || c.sst.active) {
      busy.push(`${o.node.name} is ${c.sst.active && c.nodeState === 'synced' ? 'in a state transfer' : c.nodeState}`);
    }
  }
  if (busy.length === 0) return undefined;
  return `waiting: ${busy.join(', ')}; cluster changes wait until every member is synced`;
};

/** Cluster DDL needs one node in the primary component and synced. */
export const guardPrimaryAvailable: Guard = (observations, clusterName) =>
  observations.some((o) => eligibility(o, clusterName) === undefined)
    ? undefined
    : `waiting: no node is primary and synced in cluster '${clusterName}'`;

export const CLUSTER_DDL_GUARDS: readonly [string, Guard][] = [
  ['guardPrimaryAvailable', guardPrimaryAvailable],
  ['guardNoFrozenTables', guardNoFrozenTables],
  ['guardNoJoiningOrDonor', guardNoJoiningOrDonor],
];

function firstGuardFailure(observations: ClusterObservation, clusterName: string): { guard: string; reason: string } | undefined {
  for (const [guard, fn] of CLUSTER_DDL_GUARDS) {
    const reason = fn(observations, clusterName);
    if (reason !== undefined) return { guard, reason };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// observation helpers

export function membership(o: NodeObservation, clusterName: string): ClusterStatus | undefined {
  return o.searchd.ok ? o.searchd.value.clusters.find((c) => c.name === clusterName) : undefined;
}

/** Why a node cannot take table DDL now, or undefined when it can (answers, primary, synced). */
export function eligibility(o: NodeObservation, clusterName: string): string | undefined {
  if (!o.searchd.ok) return `searchd does not answer (${o.searchd.error})`;
  const c = membership(o, clusterName);
  if (c === undefined) return `not a member of cluster '${clusterName}'`;
  if (c.status !== 'primary') return `cluster status is ${c.status}`;
  if (c.nodeState !== 'synced') return `node state is ${c.nodeState}`;
  return undefined;
}

function tableType(o: NodeObservation, name: string): string | undefined {
  return o.searchd.ok ? o.searchd.value.tables.find((t) => t.name === name)?.type : undefined;
}

function inCluster(o: NodeObservation, clusterName: string, table: string): boolean {
  return membership(o, clusterName)?.indexes.includes(table) ?? false;
}

function distributedDefinition(o: NodeObservation, table: string): DistributedDefinition | undefined {
  if (!o.searchd.ok) return undefined;
  const stmt = o.searchd.value.distributed[table];
  return stmt === undefined ? undefined : parseDistributedDefinition(stmt);
}

/** The main slot a distributed definition serves (from its agents' or locals' table names). */
export function slotOfDefinition(def: DistributedDefinition, base: string): Slot | undefined {
  const names = managedTableNames(base);
  const tables = [...def.locals, ...def.agents.map((a) => a.table)];
  if (tables.includes(names.main.a)) return 'a';
  if (tables.includes(names.main.b)) return 'b';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// desired shapes

/** A spec column as the SQL builder takes it. */
export function columnSpec(col: ColumnDecl): ColumnSpec {
  const flags: ColumnFlag[] = [];
  if (col.type === 'text') {
    const indexed = col.indexed ?? true;
    const stored = col.stored ?? true;
    if (!(indexed && stored)) {
      if (indexed) flags.push('indexed');
      if (stored) flags.push('stored');
    }
  } else if (col.type === 'string') {
    if (col.indexed) flags.push('indexed', 'attribute');
    if (col.stored) flags.push('stored');
  }
  const type = col.type === 'integer' ? 'integer' : col.type;
  return flags.length > 0 ? { name: col.name, type, flags } : { name: col.name, type };
}

/** The distributed table every node gets: one agent per managed local, mirrored over every listed node. */
export function desiredDistributed(spec: TableSpec, slot: Slot, nodes: readonly NodeRef[]): DistributedSpec {
  const names = managedTableNames(spec.name);
  const mirrors = [...nodes].sort((a, b) => a.ordinal - b.ordinal).map((n) => n.apiAddress);
  return {
    agents: [
      { mirrors, table: names.main[slot] },
      { mirrors, table: names.delta },
    ],
    haStrategy: spec.distributed.haStrategy,
    agentRetryCount: spec.distributed.agentRetryCount,
  };
}

function agentKey(a: { mirrors: readonly string[]; table: string }): string {
  return `${[...a.mirrors].sort().join('|')}:${a.table}`;
}

/** Why an observed distributed definition differs from the desired one, or undefined when equal. */
export function distributedDifference(observed: DistributedDefinition, desired: DistributedSpec): string | undefined {
  const want = (desired.agents ?? []).map(agentKey).sort();
  const have = observed.agents.map(agentKey).sort();
  const wantLocals = [...(desired.locals ?? [])].sort();
  const haveLocals = [...observed.locals].sort();
  if (JSON.stringify(wantLocals) !== JSON.stringify(haveLocals)) return `locals are [${haveLocals.join(', ')}], want [${wantLocals.join(', ')}]`;
  if (JSON.stringify(want) !== JSON.stringify(have)) return `agents are [${have.join(', ')}], want [${want.join(', ')}]`;
  const ha = observed.haStrategy ?? 'random';
  if (desired.haStrategy !== undefined && ha !== desired.haStrategy) return `ha_strategy is ${ha}, want ${desired.haStrategy}`;
  const retry = observed.agentRetryCount ?? 0;
  if (desired.agentRetryCount !== undefined && retry !== desired.agentRetryCount) return `agent_retry_count is ${retry}, want ${desired.agentRetryCount}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// planning

function specOf(s: LoadedSpec | TableSpec): TableSpec {
  return 'spec' in s ? s.spec : s;
}

function sortedByOrdinal(observations: ClusterObservation): NodeObservation[] {
  return [...observations].sort((a, b) => a.node.ordinal - b.node.ordinal);
}

interface Ctx {
  clusterName: string;
  observations: NodeObservation[];
  eligible: NodeObservation[];
  actions: TableAction[];
  blocked: BlockedStep[];
  gaps: string[];
  guardFailure: { guard: string; reason: string } | undefined;
  imports: NonNullable<PlanTablesInput['imports']>;
}

function act(ctx: Ctx, action: Omit<TableAction, 'phase'>, phase: number): void {
  ctx.actions.push({ ...action, phase });
}

/** A cluster DDL action: planned when the guards allow, else recorded as blocked. */
function clusterAct(ctx: Ctx, action: Omit<TableAction, 'phase'>): void {
  if (ctx.guardFailure !== undefined) {
    ctx.blocked.push({ table: action.table, node: action.node, kind: action.kind, guard: ctx.guardFailure.guard, reason: ctx.guardFailure.reason });
    return;
  }
  act(ctx, action, PHASE.cluster);
}

function planActiveSlot(base: string, observations: NodeObservation[]): { active: Slot; byNode: Record<string, Slot> } {
  const names = managedTableNames(base);
  const byNode: Record<string, Slot> = {};
  const votes: Record<Slot, number> = { a: 0, b: 0 };
  for (const o of observations) {
    const def = distributedDefinition(o, names.distributed);
    const slot = def === undefined ? undefined : slotOfDefinition(def, base);
    if (slot !== undefined) {
      byNode[o.node.name] = slot;
      votes[slot]++;
    }
  }
  if (votes.a + votes.b > 0) return { active: votes.b > votes.a ? 'b' : 'a', byNode };
  const hasA = observations.some((o) => tableType(o, names.main.a) !== undefined);
  const hasB = observations.some((o) => tableType(o, names.main.b) !== undefined);
  return { active: !hasA && hasB ? 'b' : 'a', byNode };
}

function planDesiredTable(ctx: Ctx, spec: TableSpec, nodes: readonly NodeRef[]): TablePlanSummary {
  const names = managedTableNames(spec.name);
  const columns = spec.columns.map(columnSpec);
  const observed = planActiveSlot(spec.name, ctx.observations);
  const importing = ctx.imports[spec.name];
  const active = importing?.activeSlot ?? observed.active;
  const byNode = observed.byNode;
  const slotsSeen = new Set(Object.values(byNode));
  const summary: TablePlanSummary = {
    table: spec.name,
    activeSlot: active,
    slotsByNode: byNode,
    mixedSlots: slotsSeen.size > 1,
    unavailableNodes: [],
    retiring: false,
  };
  for (const o of ctx.observations) {
    const why = eligibility(o, ctx.clusterName);
    if (why !== undefined) summary.unavailableNodes.push({ node: o.node.name, reason: why });
  }
  const first = ctx.eligible[0];

  // --- delta: created on ONE node and added to the cluster, which replicates it to every member
  const deltaInCluster = ctx.eligible.some((o) => inCluster(o, ctx.clusterName, names.delta));
  if (!deltaInCluster && first !== undefined) {
    const holder = ctx.eligible.find((o) => tableType(o, names.delta) !== undefined) ?? first;
    const statements: string[] = [];
    if (tableType(holder, names.delta) === undefined) statements.push(createTable(names.delta, columns, spec.settings, { ifNotExists: true }));
    statements.push(alterClusterAdd(ctx.clusterName, [names.delta]));
    clusterAct(ctx, {
      table: spec.name,
      node: holder.node.name,
      kind: statements.length > 1 ? 'create-delta' : 'add-delta-to-cluster',
      statements,
      reason: `${names.delta} is not in cluster '${ctx.clusterName}': create it on one node and add it (replication copies it to every member)`,
    });
  } else if (deltaInCluster) {
    // a column the spec gained: one replicated ALTER on one node
    const holder = ctx.eligible.find((o) => inCluster(o, ctx.clusterName, names.delta) && o.searchd.ok && o.searchd.value.columns?.[names.delta] !== undefined);
    const observedColumns = holder?.searchd.ok ? holder.searchd.value.columns?.[names.delta] : undefined;
    if (holder !== undefined && observedColumns !== undefined) {
      const have = new Set(observedColumns.map((c) => c.name.toLowerCase()));
      const missing = spec.columns.filter((c) => !have.has(c.name.toLowerCase()));
      if (missing.length > 0) {
        // Manticore refuses ALTER TABLE on a table in a replication cluster ("ALTER is not supported for
        // tables in cluster"): take the delta out of the cluster, alter it on this node, and add it back from
        // here, which replaces every peer's copy with the altered one. If the pass stops half-way, the next
        // pass finds the delta outside the cluster and adds it back (then the column again if still missing).
        clusterAct(ctx, {
          table: spec.name,
          node: holder.node.name,
          kind: 'add-column',
          statements: [
            alterClusterDrop(ctx.clusterName, [names.delta]),
            ...missing.map((c) => addColumn(names.delta, columnSpec(c))),
            alterClusterAdd(ctx.clusterName, [names.delta]),
          ],
          reason: `${names.delta} lacks column(s) ${missing.map((c) => c.name).join(', ')} of the spec`,
        });
        ctx.gaps.push(
          `${names.delta}: adding column(s) ${missing.map((c) => c.name).join(', ')} takes the table out of cluster '${ctx.clusterName}' for a moment (Manticore cannot ALTER a clustered table); writes to '${ctx.clusterName}:${names.delta}' fail until it is back`,
        );
      }
      const wanted = new Set(spec.columns.map((c) => c.name.toLowerCase()));
      const extra = observedColumns.filter((c) => c.name !== 'id' && !wanted.has(c.name.toLowerCase())).map((c) => c.name);
      if (extra.length > 0) ctx.gaps.push(`${names.delta}: column(s) ${[...new Set(extra)].join(', ')} are no longer in the spec; columns are never dropped automatically`);
    }
  }

  // --- main: the active slot on every node (in the cluster only when clusterMain)
  const main = names.main[active];
  const mainInCluster = ctx.eligible.some((o) => inCluster(o, ctx.clusterName, main));
  if (spec.clusterMain) {
    if (!mainInCluster && first !== undefined) {
      // the node holding the most rows adds its copy (replication then gives it to every member)
      const holders = ctx.eligible.filter((o) => tableType(o, main) !== undefined);
      const rows = (o: NodeObservation) => (o.searchd.ok ? (o.searchd.value.rows[main] ?? 0) : 0);
      const holder = holders.sort((a, b) => rows(b) - rows(a) || a.node.ordinal - b.node.ordinal)[0] ?? first;
      const statements: string[] = [];
      if (tableType(holder, main) === undefined) statements.push(createTable(main, columns, spec.settings, { ifNotExists: true }));
      statements.push(alterClusterAdd(ctx.clusterName, [main]));
      clusterAct(ctx, {
        table: spec.name,
        node: holder.node.name,
        kind: 'add-main-to-cluster',
        statements,
        reason: `clusterMain: ${main} joins cluster '${ctx.clusterName}'`,
      });
    }
  } else {
    if (mainInCluster && first !== undefined) {
      const holder = ctx.eligible.find((o) => inCluster(o, ctx.clusterName, main)) ?? first;
      clusterAct(ctx, {
        table: spec.name,
        node: holder.node.name,
        kind: 'drop-main-from-cluster',
        statements: [alterClusterDrop(ctx.clusterName, [main])],
        reason: `clusterMain is off: ${main} leaves cluster '${ctx.clusterName}' (every node keeps its copy)`,
      });
    } else {
      const holders = ctx.observations.filter((o) => tableType(o, main) !== undefined);
      const withRows = holders.filter((o) => o.searchd.ok && (o.searchd.value.rows[main] ?? 0) > 0);
      for (const o of ctx.eligible) {
        if (tableType(o, main) !== undefined) continue;
        if (withRows.length > 0) {
          ctx.blocked.push({
            table: spec.name,
            node: o.node.name,
            kind: 'create-main',
            guard: 'guardNoEmptyCopyOfLoadedSlot',
            reason: `${main} holds rows on ${withRows.map((w) => w.node.name).join(', ')}: an empty copy on ${o.node.name} would answer queries with missing rows; it needs an import`,
          });
          continue;
        }
        act(
          ctx,
          {
            table: spec.name,
            node: o.node.name,
            kind: 'create-main',
            statements: [createTable(main, columns, spec.settings, { ifNotExists: true })],
            reason: `${main} (slot ${active}, empty until the first import) is missing`,
          },
          PHASE.local,
        );
      }
    }
  }

  // --- distributed: same definition on every node (each keeps its own slot while slots are mixed)
  for (const o of ctx.eligible) {
    const slot = byNode[o.node.name] ?? active;
    const desired = desiredDistributed(spec, slot, nodes);
    const type = tableType(o, names.distributed);
    if (type === undefined) {
      act(
        ctx,
        {
          table: spec.name,
          node: o.node.name,
          kind: 'create-distributed',
          statements: [createDistributed(names.distributed, desired, { ifNotExists: true })],
          reason: `distributed table ${names.distributed} is missing`,
        },
        PHASE.distributed,
      );
      continue;
    }
    if (type !== 'distributed') {
      ctx.blocked.push({
        table: spec.name,
        node: o.node.name,
        kind: 'create-distributed',
        guard: 'guardNameTaken',
        reason: `${names.distributed} on ${o.node.name} is a ${type} table, not a distributed one; rename or drop it by hand`,
      });
      continue;
    }
    const def = distributedDefinition(o, names.distributed);
    if (def === undefined) continue; // not observed this pass
    const diff = distributedDifference(def, desired);
    if (diff === undefined) continue;
    if (importing !== undefined) {
      // the import flips (or rolls back) the distributed tables itself; convergence waits for it
      ctx.blocked.push({
        table: spec.name,
        node: o.node.name,
        kind: 'alter-distributed',
        guard: 'guardNoImportRunning',
        reason: `import ${importing.operationId} is running: ${names.distributed} on ${o.node.name} is left as it is until it ends (${diff})`,
      });
      continue;
    }
    const buddy = o.searchd.ok && o.searchd.value.buddy;
    if (buddy) {
      act(ctx, { table: spec.name, node: o.node.name, kind: 'alter-distributed', statements: [alterDistributed(names.distributed, desired)], reason: diff }, PHASE.distributed);
    } else {
      ctx.gaps.push(
        `${o.node.name} has no Buddy: ${names.distributed} is re-created with DROP + CREATE (queries to it fail for a moment)`,
      );
      act(
        ctx,
        {
          table: spec.name,
          node: o.node.name,
          kind: 'recreate-distributed',
          statements: [dropTable(names.distributed, true), createDistributed(names.distributed, desired)],
          reason: diff,
        },
        PHASE.distributed,
      );
    }
  }
  return summary;
}

function planRetiredTable(ctx: Ctx, spec: TableSpec): TablePlanSummary {
  const names = managedTableNames(spec.name);
  const summary: TablePlanSummary = { table: spec.name, activeSlot: 'a', slotsByNode: {}, mixedSlots: false, unavailableNodes: [], retiring: true };
  if (spec.deletionPolicy !== 'delete') return summary;
  for (const o of ctx.observations) {
    const why = eligibility(o, ctx.clusterName);
    if (why !== undefined) summary.unavailableNodes.push({ node: o.node.name, reason: why });
  }
  const first = ctx.eligible[0];
  const clustered = [names.delta, names.main.a, names.main.b].filter((t) => ctx.eligible.some((o) => inCluster(o, ctx.clusterName, t)));
  if (clustered.length > 0 && first !== undefined) {
    clusterAct(ctx, {
      table: spec.name,
      node: first.node.name,
      kind: 'drop-delta-from-cluster',
      statements: [alterClusterDrop(ctx.clusterName, clustered)],
      reason: `${spec.name} was removed from the specs with deletionPolicy delete: ${clustered.join(', ')} leave the cluster`,
    });
  }
  if (ctx.guardFailure !== undefined && clustered.length > 0) return summary;
  for (const o of ctx.eligible) {
    const drops: [TableActionKind, string][] = [];
    if (tableType(o, names.distributed) !== undefined) drops.push(['drop-distributed', names.distributed]);
    if (tableType(o, names.delta) !== undefined) drops.push(['drop-delta', names.delta]);
    for (const slot of ['a', 'b'] as const) if (tableType(o, names.main[slot]) !== undefined) drops.push(['drop-main', names.main[slot]]);
    for (const [kind, table] of drops) {
      act(
        ctx,
        { table: spec.name, node: o.node.name, kind, statements: [dropTable(table, true)], reason: `${spec.name} was removed from the specs with deletionPolicy delete` },
        kind === 'drop-distributed' ? PHASE.distributed : PHASE.drop,
      );
    }
  }
  return summary;
}

/** Plans the convergence of `specs` (and the removal of `retired` tables whose policy is delete). Pure. */
export function planTables(input: PlanTablesInput): TablesPlan {
  const observations = sortedByOrdinal(input.observations);
  const ctx: Ctx = {
    clusterName: input.clusterName,
    observations,
    eligible: observations.filter((o) => eligibility(o, input.clusterName) === undefined),
    actions: [],
    blocked: [],
    gaps: [],
    guardFailure: firstGuardFailure(observations, input.clusterName),
    imports: input.imports ?? {},
  };
  const tables: Record<string, TablePlanSummary> = {};
  for (const s of input.specs) {
    const spec = specOf(s);
    tables[spec.name] = planDesiredTable(ctx, spec, input.nodes);
  }
  for (const spec of input.retired ?? []) tables[spec.name] = planRetiredTable(ctx, spec);

  const ordinal = new Map(observations.map((o) => [o.node.name, o.node.ordinal]));
  const actions = ctx.actions
    .map((a, i) => ({ a, i }))
    .sort((x, y) => x.a.phase - y.a.phase || (ordinal.get(x.a.node) ?? 0) - (ordinal.get(y.a.node) ?? 0) || x.i - y.i)
    .map((x) => x.a);
  const byNode: Record<string, TableAction[]> = {};
  for (const a of actions) (byNode[a.node] ??= []).push(a);
  return { clusterName: input.clusterName, actions, byNode, blocked: ctx.blocked, gaps: [...new Set(ctx.gaps)], tables };
}

// ---------------------------------------------------------------------------------------------
// apply

export interface ApplyTablesDeps {
  pools: ManticorePools;
  /** node name → MySQL address `host:port` */
  nodes: readonly NodeRef[];
  logger?: Logger;
  signal?: AbortSignal;
  /** per statement */
  timeoutMs?: number;
}

export interface TableActionResult {
  action: TableAction;
  ok: boolean;
  /** statements that ran successfully */
  done: number;
  error?: string;
  durationMs: number;
}

/**
 * Runs the plan phase by phase; within a phase nodes run in parallel and each node's actions in order.
 * One failed action does not stop the others.
 */
export async function applyTables(plan: TablesPlan, deps: ApplyTablesDeps): Promise<TableActionResult[]> {
  const address = new Map(deps.nodes.map((n) => [n.name, `${n.mysql.host}:${n.mysql.port}`]));
  const results: TableActionResult[] = [];
  const phases = [...new Set(plan.actions.map((a) => a.phase))].sort((a, b) => a - b);
  for (const phase of phases) {
    const perNode = new Map<string, TableAction[]>();
    for (const a of plan.actions.filter((x) => x.phase === phase)) {
      const list = perNode.get(a.node) ?? [];
      list.push(a);
      perNode.set(a.node, list);
    }
    await Promise.all(
      [...perNode.entries()].map(async ([node, actions]) => {
        for (const action of actions) {
          const started = Date.now();
          let done = 0;
          let error: string | undefined;
          const addr = address.get(node);
          if (addr === undefined) error = `node ${node} is not in the node list`;
          else if (deps.signal?.aborted) error = 'aborted';
          else {
            const client = deps.pools.get(addr);
            for (const sql of action.statements) {
              try {
                await client.exec(sql, deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs });
                done++;
              } catch (err) {
                error = errorMessage(err);
                break;
              }
            }
          }
          const result: TableActionResult = { action, ok: error === undefined, done, durationMs: Date.now() - started };
          if (error !== undefined) result.error = error;
          results.push(result);
          const fields = { node, table: action.table, kind: action.kind, durationMs: result.durationMs };
          if (error === undefined) deps.logger?.info('table action applied', fields);
          else deps.logger?.warn('table action failed', { ...fields, err: error });
        }
      }),
    );
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// status

/** TablesConverged / MixedSlots / SpecInvalid for one table, from its plan (and apply results, when run). */
export function tableConditions(
  plan: TablesPlan,
  table: string,
  options: { problems?: readonly SpecProblem[]; results?: readonly TableActionResult[]; generation?: number } = {},
): ConditionInput[] {
  const gen = options.generation;
  const summary = plan.tables[table];
  const out: ConditionInput[] = [];
  const failed = (options.results ?? []).filter((r) => r.action.table === table && !r.ok);
  const pending = plan.actions.filter((a) => a.table === table);
  const blocked = plan.blocked.filter((b) => b.table === table);
  if (failed.length > 0) {
    out.push(conditionFalse('TablesConverged', 'ActionFailed', failed.map((f) => `${f.action.kind} on ${f.action.node}: ${f.error ?? 'failed'}`).join('; '), gen));
  } else if (blocked.length > 0) {
    out.push(conditionFalse('TablesConverged', 'Blocked', [...new Set(blocked.map((b) => b.reason))].join('; '), gen));
  } else if (pending.length > 0 && options.results === undefined) {
    out.push(conditionFalse('TablesConverged', 'Converging', pending.map((a) => `${a.kind} on ${a.node}`).join(', '), gen));
  } else if (summary !== undefined && summary.unavailableNodes.length > 0) {
    out.push(
      conditionFalse('TablesConverged', 'NodesUnavailable', summary.unavailableNodes.map((u) => `${u.node}: ${u.reason}`).join('; '), gen),
    );
  } else if (pending.length > 0) {
    out.push(conditionFalse('TablesConverged', 'Converging', `applied ${pending.length} change(s); checking again`, gen));
  } else {
    out.push(conditionTrue('TablesConverged', 'Converged', 'every node has the delta, the main slot and the distributed table as declared', gen));
  }
  if (summary !== undefined) {
    out.push(
      summary.mixedSlots
        ? conditionTrue(
            'MixedSlots',
            'SlotsDiffer',
            `distributed tables point at different slots: ${Object.entries(summary.slotsByNode).map(([n, s]) => `${n}=${s}`).join(', ')}`,
            gen,
          )
        : conditionFalse('MixedSlots', 'OneSlot', `every node serves slot ${summary.activeSlot}`, gen),
    );
  }
  const problems = (options.problems ?? []).filter((p) => p.table === table);
  out.push(
    problems.length > 0
      ? conditionTrue('SpecInvalid', 'SpecProblems', problems.map((p) => `${p.origin.ref}${p.pointer}: ${p.message}`).join('; '), gen)
      : conditionFalse('SpecInvalid', 'SpecValid', 'the spec is valid', gen),
  );
  return out;
}

/** Per-node view of one managed table for the status store. */
export function tableNodeViews(spec: TableSpec, observations: ClusterObservation, clusterName: string, activeSlot: Slot): TableNodeView[] {
  const names = managedTableNames(spec.name);
  return sortedByOrdinal(observations).map((o) => {
    const view: TableNodeView = { node: o.node.name, reachable: o.searchd.ok };
    if (!o.searchd.ok) return view;
    const rows = o.searchd.value.rows;
    const local = (table: string) => {
      const v: NonNullable<TableNodeView['delta']> = { table, present: tableType(o, table) !== undefined, inCluster: inCluster(o, clusterName, table) };
      if (rows[table] !== undefined) v.rows = rows[table];
      return v;
    };
    view.main = local(names.main[activeSlot]);
    view.delta = local(names.delta);
    const def = distributedDefinition(o, names.distributed);
    if (def !== undefined) {
      const d: NonNullable<TableNodeView['distributed']> = { present: true, locals: def.locals, agents: def.agents.map((a) => `${a.mirrors.join('|')}:${a.table}`) };
      if (def.haStrategy !== undefined) d.haStrategy = def.haStrategy;
      if (def.agentRetryCount !== undefined) d.agentRetryCount = def.agentRetryCount;
      view.distributed = d;
    } else {
      view.distributed = { present: tableType(o, names.distributed) !== undefined, locals: [], agents: [] };
    }
    return view;
  });
}
