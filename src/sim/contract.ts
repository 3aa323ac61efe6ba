/**
 * The seams between the simulator's parts, so each can be built and tested on its own:
 *
 *   net/mysql-server, net/http-server ──► engine/executor ──► SimEngine (tables, files)
 *                                               │  ▲
 *                      cluster statements,      ▼  │ applyWrite / exportTables / importTables
 *                      clustered writes ──► ClusterService (cluster/, replication over PeerTransport)
 *
 * Values crossing these seams are plain JSON (document ids are decimal strings) because
 * the cluster module ships them to other nodes.
 */
import type { Statement } from './sql/ast.js';

/** A stored document: `id` as a decimal string, other attributes by column name. */
export type JsonDoc = { id: string } & Record<string, unknown>;

export type ReplicatedWrite =
  | { action: 'insert' | 'replace'; table: string; docs: JsonDoc[] }
  | { action: 'delete'; table: string; ids: string[] }
  | { action: 'update'; table: string; ids: string[]; set: Record<string, unknown> }
  | { action: 'truncate'; table: string };

export type TableKind = 'rt' | 'percolate' | 'plain' | 'distributed';

/** Everything needed to recreate a table on another node (SST, ALTER CLUSTER ADD). */
export interface TableSnapshot {
  name: string;
  kind: TableKind;
  /** kind-specific definition (columns and settings, or locals/agents for distributed) */
  definition: unknown;
  docs: JsonDoc[];
}

/** Result of one SQL statement, independent of the wire protocol. */
export type SqlResult =
  | { kind: 'rows'; columns: { name: string; type: 'string' | 'long' | 'longlong' | 'float' }[]; rows: (string | number | null)[][] }
  | { kind: 'ok'; affectedRows: number; warnings?: string[] };

/** An error with Manticore's own message text (what `mysql` shows after `ERROR 1064 (42000):`). */
export class SqlError extends Error {
  constructor(
    message: string,
    readonly errno = 1064,
  ) {
    super(message);
    this.name = 'SqlError';
  }
}

/** Implemented by the engine, used by the cluster module. */
export interface SimEngine {
  tableKind(name: string): TableKind | undefined;
  /** Tables currently under FREEZE. */
  frozenTables(): string[];
  /** Applies an already-ordered replicated write locally and persists it. */
  applyWrite(write: ReplicatedWrite): void;
  exportTables(names: string[]): TableSnapshot[];
  /** Creates or replaces the named local tables (SST, ALTER CLUSTER ADD on a peer). */
  importTables(snapshots: TableSnapshot[]): void;
  docCount(name: string): number;
}

export type ClusterStatement = Extract<
  Statement,
  {
    kind:
      | 'create_cluster'
      | 'join_cluster'
      | 'delete_cluster'
      | 'alter_cluster_add'
      | 'alter_cluster_drop'
      | 'alter_cluster_update_nodes'
      | 'set_cluster';
  }
>;

/** How a cluster is saved in manticore.json (`clusters.<name>`), as real Manticore does. */
export interface PersistedCluster {
  path: string;
  /** comma-separated API addresses (the rejoin list, `nodes_set`) */
  nodes: string;
  options: string;
  indexes: string[];
}

/** Implemented by the cluster module, used by the executor and the node process. */
export interface ClusterService {
  /**
   * Brings back the clusters saved in manticore.json when the node starts, following
   * Manticore's restart rules (`--new-cluster`, `--new-cluster-force`, rejoin, or drop the
   * cluster when no peer answers). Runs in the background; status variables show progress.
   */
  start(persisted: Record<string, PersistedCluster>, flags: { newCluster: boolean; newClusterForce: boolean }): Promise<void>;
  /** Clean stop: leave the cluster and write grastate.dat with the seqno. */
  stop(): Promise<void>;
  clusterOfTable(table: string): string | undefined;
  /** Orders a write through the cluster and applies it on every member; throws SqlError. */
  replicateWrite(cluster: string, write: ReplicatedWrite): Promise<void>;
  execute(stmt: ClusterStatement): Promise<SqlResult>;
  /** `cluster_*` rows for SHOW STATUS, in Manticore's order; empty when no cluster exists. */
  statusRows(): [string, string][];
  persistedClusters(): Record<string, PersistedCluster>;
}
