/**
 * The effects of the blue-green-import machine: named promise actors, each keyed by operation id +
 * node and safe to repeat (a restored snapshot re-runs the active one). Every actor checks the world
 * before acting: no DROP of a slot any node's distributed table points at, no IMPORT where the slot
 * already holds the expected rows, no flip of a node already on the target slot, and the build job
 * is started with a fixed id so a repeat returns the same job instead of building again.
 */
import { fromPromise } from 'xstate';
import type { JobRequest, JobStatus } from '../../agent/protocol.js';
import { managedTableNames, type Slot } from '../../domain/names.js';
import { AppError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { Row } from '../../manticore/parse.js';
import { parseClusterStatuses, parseCount, parseDistributedDefinition, parseShowCreateTable, parseShowTables } from '../../manticore/parse.js';
import type { DistributedSpec } from '../../manticore/sql.js';
import {
  alterClusterAdd,
  alterClusterDrop,
  alterDistributed,
  createDistributed,
  dropTable,
  importTable,
  selectCount,
  showCreateTable,
  showStatus,
  showTables,
} from '../../manticore/sql.js';
import type { NodeRef } from '../../platform/types.js';
import { applyBulkLoad, applyCreateSlot } from './blue-green-import.bulk.js';
import type { BulkCheckpoint } from '../../import/bulk-load.js';
import type {
  BuildInput,
  BulkLoadActorInput,
  CreateSlotInput,
  BuildResult,
  CancelBuildInput,
  ChooseSlotsInput,
  ChooseSlotsResult,
  DropSlotInput,
  FlipInput,
  FlipResult,
  ImportSlotInput,
  NodesResult,
  VerifyInput,
} from './blue-green-import.machine.js';

/** The agent job kind that builds a main slot (indexer → plain table → RT files for IMPORT TABLE). */
export const BUILD_MAIN_JOB_KIND = 'build-main';

/** What the actors need of a node's agent (AgentClient satisfies it). */
export interface ImportAgent {
  startJob(req: JobRequest, o?: { signal?: AbortSignal }): Promise<JobStatus>;
  job(id: string, o?: { signal?: AbortSignal }): Promise<JobStatus>;
  cancelJob(id: string, o?: { signal?: AbortSignal }): Promise<JobStatus>;
}

/** What the actors need of a SQL client (ManticoreClient satisfies it). */
export interface ImportSql {
  query(sql: string, options?: { timeoutMs?: number }): Promise<Row[]>;
  exec(sql: string, options?: { timeoutMs?: number }): Promise<number>;
}

/** Progress of the running step, for the operation record (not a decision: kept outside the machine). */
export interface ImportProgress {
  phase: string;
  /** 0..1 of the build */
  progress?: number;
  message?: string;
  rows?: number;
  bytes?: number;
  /** per-node state of the step, e.g. { node0: 'imported' } */
  nodes?: Record<string, string>;
  /** gap of a DROP + CREATE flip per node */
  gapsMs?: Record<string, number>;
}

export interface BlueGreenImportDeps {
  node(name: string): NodeRef | undefined;
  sql(node: NodeRef): ImportSql;
  agent(node: NodeRef): ImportAgent;
  /** the distributed definition every node gets when it serves `slot` (tables.ts desiredDistributed) */
  distributed(table: string, slot: Slot): DistributedSpec;
  /** the node runs Buddy (ALTER of a distributed table in place); undefined: unknown, ALTER is tried */
  buddy(node: string): boolean | undefined;
  /** the columns and settings the build needs (from the table spec) */
  buildSpec(table: string): { columns: unknown; settings: unknown };
  onProgress?(operationId: string, progress: ImportProgress): void;
  logger: Logger;
  /** poll interval of the build job (default 500 ms) */
  pollMs?: number;
  /** how long one IMPORT TABLE may take (default 30 min) */
  importTimeoutMs?: number;
  /** how long a clustered slot may take to reach every member (default 60 s) */
  replicateTimeoutMs?: number;
  /** bulk method: how long one chunk of batches runs before its checkpoint is persisted (default 2 s) */
  bulkChunkMs?: number;
}

export function effectKey(operationId: string, node: string, what: string): string {
  return `${operationId}:${node}:${what}`;
}

/**
 * The build job's id: one per operation, node and generation, so a repeated start returns the
 * running job. A job lost to an agent stop or restart is started again as the next generation.
 */
export function buildJobId(operationId: string, node: string, generation = 1): string {
  const base = effectKey(operationId, node, 'build-main');
  return generation === 1 ? base : `${base}.${generation}`;
}

/** Generations of the build job tried when the agent stops or restarts under it. */
export const BUILD_GENERATIONS = 3;

/**
 * How long the build node's agent may stay unreachable (killed and restarted by its platform)
 * before the build fails: a restarted agent reports the job it lost, which starts the next generation.
 */
export const BUILD_AGENT_GONE_MS = 60_000;

/** The job ended because its agent stopped or restarted, not because of its input. */
export function lostToAgentRestart(job: JobStatus): boolean {
  return job.state === 'failed' && /agent (stopped|restarted) while the job was running/i.test(job.error ?? '');
}

function ref(deps: BlueGreenImportDeps, name: string): NodeRef {
  const n = deps.node(name);
  if (!n) throw new AppError('NODE_NOT_LISTED', `node ${name} is not in the platform's node list`, { retryable: true, details: { node: name } });
  return n;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AppError('ABORTED', 'effect aborted'));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AppError('ABORTED', 'effect aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function tablesOf(deps: BlueGreenImportDeps, node: NodeRef): Promise<Map<string, string>> {
  const rows = await deps.sql(node).query(showTables(), { timeoutMs: 5_000 });
  return new Map(parseShowTables(rows).map((t) => [t.name, t.type]));
}

/** The slot a node's distributed table points at, 'none' when it has none (or points at neither). */
export async function readServedSlot(deps: BlueGreenImportDeps, node: NodeRef, table: string): Promise<Slot | 'none'> {
  const names = managedTableNames(table);
  const tables = await tablesOf(deps, node);
  if (tables.get(names.distributed) !== 'distributed') return 'none';
  const stmt = parseShowCreateTable(await deps.sql(node).query(showCreateTable(names.distributed), { timeoutMs: 5_000 }));
  if (stmt === undefined) return 'none';
  const def = parseDistributedDefinition(stmt);
  const used = [...def.locals, ...def.agents.map((a) => a.table)];
  if (used.includes(names.main.a)) return 'a';
  if (used.includes(names.main.b)) return 'b';
  return 'none';
}

async function countOf(deps: BlueGreenImportDeps, node: NodeRef, table: string): Promise<number | undefined> {
  const n = parseCount(await deps.sql(node).query(selectCount(table), { timeoutMs: 30_000 }));
  return n;
}

/** Reads the slot every node serves. Throws when a node does not answer (the machine retries). */
export async function applyChooseSlots(deps: BlueGreenImportDeps, input: ChooseSlotsInput): Promise<ChooseSlotsResult> {
  const byNode: Record<string, Slot | 'none'> = {};
  // every node is read at the same time (the request waits for this step)
  const slots = await Promise.all(input.nodes.map((name) => readServedSlot(deps, ref(deps, name), input.table)));
  input.nodes.forEach((name, i) => (byNode[name] = slots[i] as Slot | 'none'));
  const served = Object.values(byNode).filter((s): s is Slot => s !== 'none');
  const result: ChooseSlotsResult = { byNode };
  if (served.length > 0 && served.every((s) => s === served[0])) result.active = served[0]!;
  return result;
}

/**
 * DROP `<t>_main_<slot>` on every node (leaving the cluster first when it is in it). Guard: refuses
 * when any node's distributed table points at that slot: the serving slot is never dropped.
 */
export async function applyDropSlot(deps: BlueGreenImportDeps, input: DropSlotInput): Promise<NodesResult> {
  const names = managedTableNames(input.table);
  const target = names.main[input.slot];
  const nodes = input.nodes.map((n) => ref(deps, n));
  const servedBy = await Promise.all(nodes.map((node) => readServedSlot(deps, node, input.table)));
  for (const [i, node] of nodes.entries()) {
    const served = servedBy[i];
    if (served === input.slot) {
      throw new AppError('SLOT_SERVING', `${target} is served by ${node.name}'s distributed table ${names.distributed}: it is never dropped`, {
        details: { node: node.name, table: target },
      });
    }
  }
  // a clustered slot leaves the cluster once, from any member that has it
  for (const node of nodes) {
    const clusters = parseClusterStatuses(await deps.sql(node).query(showStatus('cluster%'), { timeoutMs: 5_000 }));
    const c = clusters.find((x) => x.name === input.clusterName);
    if (c?.indexes.includes(target)) {
      await deps.sql(node).exec(alterClusterDrop(input.clusterName, [target]), { timeoutMs: 60_000 });
      break;
    }
  }
  const changed: string[] = [];
  const skipped: string[] = [];
  await Promise.all(
    nodes.map(async (node) => {
      const tables = await tablesOf(deps, node);
      if (!tables.has(target)) {
        skipped.push(node.name);
        return;
      }
      await deps.sql(node).exec(dropTable(target, true), { timeoutMs: 60_000 });
      changed.push(node.name);
    }),
  );
  deps.logger.info('import: slot dropped', { operationId: input.operationId, table: target, changed, skipped });
  return { changed, skipped };
}

/** Runs (or finds) the agent's build-main job on the build node and waits for its result. */
export async function applyBuildMain(deps: BlueGreenImportDeps, input: BuildInput, signal?: AbortSignal): Promise<BuildResult> {
  const node = ref(deps, input.node);
  const agent = deps.agent(node);
  const { columns, settings } = deps.buildSpec(input.table);
  const params: Record<string, unknown> = {
    table: input.table,
    slot: input.slot,
    columns,
    settings,
    format: input.build.format,
    header: input.build.header,
    sources: input.build.sources,
    outDir: input.build.outDir,
  };
  if (input.build.memLimit !== undefined) params.memLimit = input.build.memLimit;
  // an agent killed mid-build is unreachable until its platform restarts it: retryable answers
  // (unreachable, timeout, 5xx) are asked again for BUILD_AGENT_GONE_MS, then the build fails
  const patiently = async (call: () => Promise<JobStatus>): Promise<JobStatus> => {
    const giveUpAt = Date.now() + BUILD_AGENT_GONE_MS;
    for (;;) {
      try {
        return await call();
      } catch (err) {
        if (!(err instanceof AppError) || !err.retryable || signal?.aborted || Date.now() > giveUpAt) throw err;
        deps.logger.warn('import: build node agent unreachable, asking again', { operationId: input.operationId, node: input.node, error: errorMessage(err) });
        await sleep(deps.pollMs ?? 500, signal);
      }
    }
  };
  let generation = 1;
  let id = buildJobId(input.operationId, input.node, generation);
  let job = await patiently(() => agent.startJob({ id, kind: BUILD_MAIN_JOB_KIND, params }, signal ? { signal } : {}));
  deps.logger.info('import: build job started', { operationId: input.operationId, node: input.node, jobId: id, state: job.state });
  for (;;) {
    if (lostToAgentRestart(job) && generation < BUILD_GENERATIONS) {
      generation++;
      id = buildJobId(input.operationId, input.node, generation);
      job = await patiently(() => agent.startJob({ id, kind: BUILD_MAIN_JOB_KIND, params }, signal ? { signal } : {}));
      deps.logger.warn('import: build job lost to an agent restart, started again', { operationId: input.operationId, node: input.node, jobId: id, state: job.state });
      continue;
    }
    const progress: ImportProgress = { phase: 'build', nodes: { [input.node]: `build ${job.state}` } };
    if (job.progress !== undefined) progress.progress = job.progress;
    if (job.message !== undefined) progress.message = job.message;
    deps.onProgress?.(input.operationId, progress);
    if (job.state === 'succeeded') break;
    if (job.state === 'failed' || job.state === 'cancelled') {
      throw new AppError('BUILD_FAILED', `build of ${managedTableNames(input.table).main[input.slot]} on ${input.node} ${job.state}: ${job.error ?? job.message ?? 'no reason given'}`, {
        details: { node: input.node, jobId: id },
      });
    }
    // a short poll: the build's end is seen within ~0.2 s (it is on the import's critical path)
    await sleep(deps.pollMs ?? 200, signal);
    job = await patiently(() => agent.job(id, signal ? { signal } : {}));
  }
  const r = job.result ?? {};
  const rows = Number(r.rows);
  const rtPrefix = r.rtPrefix;
  if (!Number.isFinite(rows) || typeof rtPrefix !== 'string' || !rtPrefix.startsWith('/')) {
    throw new AppError('BUILD_RESULT_INVALID', `build job ${id} succeeded without rows and an absolute rtPrefix: ${JSON.stringify(r)}`);
  }
  const result: BuildResult = { rows, bytes: Number(r.bytes) || 0, rtPrefix, durationMs: Number(r.durationMs) || 0 };
  deps.onProgress?.(input.operationId, { phase: 'build', progress: 1, rows: result.rows, bytes: result.bytes, nodes: { [input.node]: 'built' } });
  return result;
}

/**
 * IMPORT TABLE `<t>_main_<slot>` FROM rtPrefix on every node (skipped where it already holds the
 * expected rows; a copy with other rows is dropped and imported again). With clusterMain: one node
 * imports, adds it to the cluster, and every member then has it through replication.
 */
export async function applyImportSlot(deps: BlueGreenImportDeps, input: ImportSlotInput, signal?: AbortSignal): Promise<NodesResult> {
  const target = managedTableNames(input.table).main[input.slot];
  const nodes = input.nodes.map((n) => ref(deps, n));
  const changed: string[] = [];
  const skipped: string[] = [];
  const state: Record<string, string> = {};
  const importOn = async (node: NodeRef) => {
    const tables = await tablesOf(deps, node);
    if (tables.has(target)) {
      const n = await countOf(deps, node, target).catch(() => undefined);
      if (n === input.rows) {
        skipped.push(node.name);
        state[node.name] = 'imported';
        return;
      }
      await deps.sql(node).exec(dropTable(target, true), { timeoutMs: 60_000 });
    }
    state[node.name] = 'importing';
    deps.onProgress?.(input.operationId, { phase: 'import', nodes: { ...state } });
    await deps.sql(node).exec(importTable(target, input.rtPrefix), { timeoutMs: deps.importTimeoutMs ?? 30 * 60_000 });
    changed.push(node.name);
    state[node.name] = 'imported';
    deps.onProgress?.(input.operationId, { phase: 'import', nodes: { ...state } });
    deps.logger.info('import: slot imported', { operationId: input.operationId, node: node.name, table: target, effectKey: effectKey(input.operationId, node.name, 'import') });
  };
  if (!input.clusterMain) {
    const results = await Promise.allSettled(nodes.map(importOn));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${nodes[i]!.name}: ${errorMessage(r.reason)}`] : []));
    if (failed.length > 0) throw new AppError('IMPORT_FAILED', `IMPORT TABLE ${target} failed on ${failed.join('; ')}`, { retryable: true });
    return { changed, skipped };
  }
  // clusterMain: already in the cluster? else import on the first node and add it
  const first = nodes[0];
  if (first === undefined) throw new AppError('NO_NODES', 'no node to import on');
  const clusters = parseClusterStatuses(await deps.sql(first).query(showStatus('cluster%'), { timeoutMs: 5_000 }));
  const inCluster = clusters.find((c) => c.name === input.clusterName)?.indexes.includes(target) ?? false;
  if (!inCluster) {
    await importOn(first);
    await deps.sql(first).exec(alterClusterAdd(input.clusterName, [target]), { timeoutMs: 10 * 60_000 });
  }
  const limit = Date.now() + (deps.replicateTimeoutMs ?? 60_000);
  for (const node of nodes) {
    for (;;) {
      const tables = await tablesOf(deps, node);
      if (tables.has(target)) break;
      if (Date.now() > limit) throw new AppError('REPLICATION_TIMEOUT', `${target} did not reach ${node.name} through cluster '${input.clusterName}'`, { retryable: true });
      await sleep(deps.pollMs ?? 500, signal);
    }
    state[node.name] = 'imported';
  }
  deps.onProgress?.(input.operationId, { phase: 'import', nodes: { ...state } });
  return { changed, skipped };
}

/** SELECT COUNT(*) FROM `<t>_main_<slot>` on every node == rows; throws naming every node that differs. */
export async function applyVerifyCounts(deps: BlueGreenImportDeps, input: VerifyInput): Promise<NodesResult> {
  const target = managedTableNames(input.table).main[input.slot];
  const wrong: string[] = [];
  const state: Record<string, string> = {};
  // every node counts at the same time (one COUNT(*) of a large slot takes a while)
  await Promise.all(
    input.nodes.map(async (name) => {
      try {
        const n = await countOf(deps, ref(deps, name), target);
        if (n !== input.rows) wrong.push(`${name} counts ${n ?? 'nothing'}`);
        state[name] = n === input.rows ? 'verified' : `counts ${n ?? '?'}`;
      } catch (err) {
        wrong.push(`${name}: ${errorMessage(err)}`);
        state[name] = 'unreachable';
      }
    }),
  );
  wrong.sort();
  deps.onProgress?.(input.operationId, { phase: 'verify', rows: input.rows, nodes: state });
  if (wrong.length > 0) throw new AppError('ROW_COUNT_MISMATCH', `${target} should hold ${input.rows} rows on every node: ${wrong.join('; ')}`, { retryable: true });
  return { changed: [], skipped: input.nodes };
}

/**
 * Points every node's distributed table at `to`: ALTER TABLE in place where the node has Buddy,
 * else DROP + CREATE (the gap is measured and reported). Nodes already on `to` are skipped. One
 * node's failure does not stop the others; the machine retries or rolls back.
 */
export async function applyFlip(deps: BlueGreenImportDeps, input: FlipInput): Promise<FlipResult> {
  const names = managedTableNames(input.table);
  const desired = deps.distributed(input.table, input.to);
  const result: FlipResult = { flipped: [], failed: [], gapsMs: {} };
  const state: Record<string, string> = {};
  await Promise.all(
    input.nodes.map(async (name) => {
      try {
        const node = ref(deps, name);
        const served = await readServedSlot(deps, node, input.table);
        if (served === input.to) {
          result.flipped.push(name);
          state[name] = `serves ${input.to}`;
          return;
        }
        const tables = await tablesOf(deps, node);
        if (!tables.has(names.main[input.to])) throw new AppError('SLOT_MISSING', `${names.main[input.to]} is missing on ${name}: not pointing its distributed table at it`);
        const buddy = deps.buddy(name);
        let altered = false;
        if (buddy !== false && served !== 'none') {
          try {
            await deps.sql(node).exec(alterDistributed(names.distributed, desired), { timeoutMs: 30_000 });
            altered = true;
          } catch (err) {
            if (buddy === true) throw err;
            deps.logger.info('import: ALTER of the distributed table refused (no Buddy?): DROP + CREATE', { operationId: input.operationId, node: name, err: errorMessage(err) });
          }
        }
        if (!altered) {
          const started = Date.now();
          if (served !== 'none') await deps.sql(node).exec(dropTable(names.distributed, true), { timeoutMs: 30_000 });
          await deps.sql(node).exec(createDistributed(names.distributed, desired, { ifNotExists: true }), { timeoutMs: 30_000 });
          result.gapsMs[name] = Date.now() - started;
        }
        result.flipped.push(name);
        state[name] = `serves ${input.to}`;
        deps.logger.info('import: distributed table flipped', { operationId: input.operationId, node: name, to: input.to, altered, effectKey: effectKey(input.operationId, name, `flip-${input.to}`) });
      } catch (err) {
        result.failed.push({ node: name, error: errorMessage(err) });
        state[name] = `flip failed: ${errorMessage(err)}`;
      }
    }),
  );
  deps.onProgress?.(input.operationId, { phase: 'flip', nodes: state, gapsMs: result.gapsMs });
  return result;
}

/** Through the distributed table on every node: it points at `slot` and answers with at least the rows. */
export async function applyVerifyServing(deps: BlueGreenImportDeps, input: VerifyInput): Promise<NodesResult> {
  const names = managedTableNames(input.table);
  const wrong: string[] = [];
  for (const name of input.nodes) {
    try {
      const node = ref(deps, name);
      const served = await readServedSlot(deps, node, input.table);
      if (served !== input.slot) {
        wrong.push(`${name} serves ${served}`);
        continue;
      }
      const n = await countOf(deps, node, names.distributed);
      if (n === undefined || n < input.rows) wrong.push(`${name}: ${names.distributed} counts ${n ?? 'nothing'}, fewer than the ${input.rows} imported`);
    } catch (err) {
      wrong.push(`${name}: ${errorMessage(err)}`);
    }
  }
  if (wrong.length > 0) throw new AppError('SERVING_CHECK_FAILED', `${names.distributed} does not serve slot ${input.slot} everywhere: ${wrong.join('; ')}`, { retryable: true });
  return { changed: [], skipped: input.nodes };
}

/** Cancels the build job (skipped when there is none or it has finished). */
export async function applyCancelBuild(deps: BlueGreenImportDeps, input: CancelBuildInput): Promise<NodesResult> {
  const node = deps.node(input.node);
  if (!node) return { changed: [], skipped: [input.node] };
  let changed = false;
  for (let generation = 1; generation <= BUILD_GENERATIONS; generation++) {
    const id = buildJobId(input.operationId, input.node, generation);
    try {
      const job = await deps.agent(node).cancelJob(id);
      deps.logger.info('import: build job cancelled', { operationId: input.operationId, node: input.node, jobId: id, state: job.state });
      changed = true;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 404 || /not found|no job/i.test(errorMessage(err))) continue;
      throw err;
    }
  }
  return changed ? { changed: [input.node], skipped: [] } : { changed: [], skipped: [input.node] };
}

/** The machine's actors bound to deps (pass to blueGreenImportMachine.provide({ actors })). */
export function createBlueGreenImportActors(deps: BlueGreenImportDeps) {
  return {
    chooseSlots: fromPromise<ChooseSlotsResult, ChooseSlotsInput>(({ input }) => applyChooseSlots(deps, input)),
    dropSlot: fromPromise<NodesResult, DropSlotInput>(({ input }) => applyDropSlot(deps, input)),
    buildMain: fromPromise<BuildResult, BuildInput>(({ input, signal }) => applyBuildMain(deps, input, signal)),
    importSlot: fromPromise<NodesResult, ImportSlotInput>(({ input, signal }) => applyImportSlot(deps, input, signal)),
    verifyCounts: fromPromise<NodesResult, VerifyInput>(({ input }) => applyVerifyCounts(deps, input)),
    flipDistributed: fromPromise<FlipResult, FlipInput>(({ input }) => applyFlip(deps, input)),
    verifyServing: fromPromise<NodesResult, VerifyInput>(({ input }) => applyVerifyServing(deps, input)),
    cancelBuild: fromPromise<NodesResult, CancelBuildInput>(({ input }) => applyCancelBuild(deps, input)),
    createSlot: fromPromise<NodesResult, CreateSlotInput>(({ input, signal }) => applyCreateSlot(deps, input, signal)),
    bulkLoad: fromPromise<BulkCheckpoint, BulkLoadActorInput>(({ input, signal }) => applyBulkLoad(deps, input, signal)),
  };
}
