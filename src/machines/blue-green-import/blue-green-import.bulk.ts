/**
 * The bulk method's effects of the blue-green-import machine (importMethod "bulk"):
 *
 *   applyCreateSlot  CREATE TABLE IF NOT EXISTS <t>_main_<new> with the spec's columns and settings
 *                    (the same definition table convergence gives a main slot) on every node; with
 *                    clusterMain on one node + ALTER CLUSTER ADD, then a wait until every member has it
 *   applyBulkLoad    one chunk of src/import/bulk-load.ts: batches of NDJSON `replace` to every node's
 *                    HTTP /bulk (or, with clusterMain, once through the cluster); returns the checkpoint
 *
 * Both are safe to repeat: CREATE ... IF NOT EXISTS and a table already in the cluster are skipped,
 * and a chunk re-sent after a restart replaces the same documents with the same values.
 */
import type { ColumnDecl } from '../../domain/spec.js';
import { managedTableNames } from '../../domain/names.js';
import { closeBulkSession, EMPTY_CHECKPOINT, loadBulkChunk, type BulkCheckpoint, type BulkTarget } from '../../import/bulk-load.js';
import { AppError } from '../../lib/errors.js';
import { parseClusterStatuses, parseShowTables } from '../../manticore/parse.js';
import { alterClusterAdd, createTable, showStatus, showTables } from '../../manticore/sql.js';
import type { NodeRef } from '../../platform/types.js';
import { columnSpec } from '../../reconcile/tables.js';
import type { BlueGreenImportDeps } from './blue-green-import.actors.js';
import type { BulkLoadActorInput, CreateSlotInput, NodesResult } from './blue-green-import.machine.js';

/** How long one chunk of batches runs before its checkpoint is persisted. */
export const BULK_CHUNK_MS = 2_000;

function ref(deps: BlueGreenImportDeps, name: string): NodeRef {
  const n = deps.node(name);
  if (!n) throw new AppError('NODE_NOT_LISTED', `node ${name} is not in the platform's node list`, { retryable: true, details: { node: name } });
  return n;
}

function specOf(deps: BlueGreenImportDeps, table: string): { columns: ColumnDecl[]; settings: Record<string, string | number> } {
  const { columns, settings } = deps.buildSpec(table);
  return { columns: columns as ColumnDecl[], settings: (settings ?? {}) as Record<string, string | number> };
}

async function hasTable(deps: BlueGreenImportDeps, node: NodeRef, table: string): Promise<boolean> {
  const rows = await deps.sql(node).query(showTables(), { timeoutMs: 5_000 });
  return parseShowTables(rows).some((t) => t.name === table);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AppError('ABORTED', 'effect aborted'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new AppError('ABORTED', 'effect aborted'));
      },
      { once: true },
    );
  });
}

/** CREATE TABLE <t>_main_<slot> on every node (or once into the cluster with clusterMain). */
export async function applyCreateSlot(deps: BlueGreenImportDeps, input: CreateSlotInput, signal?: AbortSignal): Promise<NodesResult> {
  const target = managedTableNames(input.table).main[input.slot];
  const { columns, settings } = specOf(deps, input.table);
  const sql = createTable(target, columns.map(columnSpec), settings, { ifNotExists: true });
  const nodes = input.nodes.map((n) => ref(deps, n));
  const changed: string[] = [];
  const skipped: string[] = [];
  if (!input.clusterMain) {
    await Promise.all(
      nodes.map(async (node) => {
        if (await hasTable(deps, node, target)) skipped.push(node.name);
        else {
          await deps.sql(node).exec(sql, { timeoutMs: 30_000 });
          changed.push(node.name);
        }
      }),
    );
    deps.onProgress?.(input.operationId, { phase: 'create slot', nodes: Object.fromEntries(nodes.map((n) => [n.name, 'created'])) });
    return { changed, skipped };
  }
  const first = nodes[0];
  if (first === undefined) throw new AppError('NO_NODES', 'no node to create the slot on');
  const clusters = parseClusterStatuses(await deps.sql(first).query(showStatus('cluster%'), { timeoutMs: 5_000 }));
  const inCluster = clusters.find((c) => c.name === input.clusterName)?.indexes.includes(target) ?? false;
  if (!inCluster) {
    if (!(await hasTable(deps, first, target))) await deps.sql(first).exec(sql, { timeoutMs: 30_000 });
    await deps.sql(first).exec(alterClusterAdd(input.clusterName, [target]), { timeoutMs: 10 * 60_000 });
    changed.push(first.name);
  }
  const limit = Date.now() + (deps.replicateTimeoutMs ?? 60_000);
  for (const node of nodes) {
    while (!(await hasTable(deps, node, target))) {
      if (Date.now() > limit) throw new AppError('REPLICATION_TIMEOUT', `${target} did not reach ${node.name} through cluster '${input.clusterName}'`, { retryable: true });
      await sleep(deps.pollMs ?? 500, signal);
    }
  }
  deps.onProgress?.(input.operationId, { phase: 'create slot', nodes: Object.fromEntries(nodes.map((n) => [n.name, 'created'])) });
  return { changed, skipped };
}

/** The /bulk endpoints of the nodes, in node order. */
export function bulkTargets(deps: BlueGreenImportDeps, names: readonly string[]): BulkTarget[] {
  return names.map((name) => {
    const node = ref(deps, name);
    if (node.httpAddress === undefined) {
      throw new AppError('NO_HTTP_ADDRESS', `${name} has no HTTP listener address in the platform's node list: the bulk method writes through searchd's HTTP /bulk (use importMethod indexer on this platform)`);
    }
    return { node: name, url: node.httpAddress.includes('://') ? node.httpAddress : `http://${node.httpAddress}` };
  });
}

/** Loads one chunk into <t>_main_<slot> and returns the new checkpoint (the machine persists it). */
export async function applyBulkLoad(deps: BlueGreenImportDeps, input: BulkLoadActorInput, signal?: AbortSignal): Promise<BulkCheckpoint> {
  const target = managedTableNames(input.table).main[input.slot];
  const { columns } = specOf(deps, input.table);
  const checkpoint = input.checkpoint ?? EMPTY_CHECKPOINT;
  try {
    return await loadBulkChunk(
      {
        operationId: input.operationId,
        table: target,
        ...(input.clusterMain ? { cluster: input.clusterName } : {}),
        columns: columns.map((c) => ({ name: c.name, type: c.type })),
        format: input.build.format,
        header: input.bulk.header,
        idColumn: input.bulk.idColumn,
        sources: input.build.sources,
        batchSize: input.bulk.batchSize,
        workers: input.bulk.workers,
        targets: bulkTargets(deps, input.nodes),
        checkpoint,
        chunkMs: deps.bulkChunkMs ?? BULK_CHUNK_MS,
      },
      {
        logger: deps.logger,
        ...(signal ? { signal } : {}),
        onProgress: (cp) => {
          const progress = cp.done ? 1 : cp.totalBytes ? Math.min(0.99, cp.bytes / cp.totalBytes) : undefined;
          const failed = cp.failedBatches > 0 ? `, ${cp.failedBatches} batches failed` : '';
          deps.onProgress?.(input.operationId, {
            phase: 'bulk load',
            rows: cp.rows,
            bytes: cp.bytes,
            message: `bulk load: ${cp.rows} rows loaded into ${target}${failed}`,
            ...(progress !== undefined ? { progress } : {}),
          });
        },
      },
    );
  } catch (err) {
    if (signal?.aborted) closeBulkSession(input.operationId);
    throw err;
  }
}
