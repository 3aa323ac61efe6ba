/**
 * One observation per node per pass (DESIGN.md section 3, step 2). Errors are data: a node that
 * does not answer is an observation with `searchd.ok === false`, never an exception, so every
 * decision sees the whole picture, including who did not answer.
 */
import type { NodeDiskState } from '../agent/protocol.js';
import type { ClusterStatus, ColumnInfo, TableInfo } from '../manticore/parse.js';
import type { NodeRef } from '../platform/types.js';

export type Observed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface SearchdObservation {
  version?: string;
  /** Buddy answers (SHOW VERSION works): ALTER of a distributed table is possible */
  buddy: boolean;
  /** every cluster this node is a member of right now (empty: none) */
  clusters: ClusterStatus[];
  tables: TableInfo[];
  /** `SHOW CREATE TABLE` of distributed tables, by name (only those the controller manages) */
  distributed: Record<string, string>;
  /** row counts of managed RT tables, by name (when asked) */
  rows: Record<string, number>;
  /** tables under FREEZE (SHOW LOCKS) */
  frozen: string[];
  /** `DESCRIBE` of managed RT tables, by name (when asked): lets the planner add columns the spec gained */
  columns?: Record<string, ColumnInfo[]>;
}

export interface NodeObservation {
  node: NodeRef;
  /** epoch ms when the observation finished */
  at: number;
  durationMs: number;
  searchd: Observed<SearchdObservation>;
  /** the agent's view of the disk and the start gate */
  agent: Observed<NodeDiskState>;
}

/** Observations of every node the platform lists, in ordinal order. */
export type ClusterObservation = NodeObservation[];
