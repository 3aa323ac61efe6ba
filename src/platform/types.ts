/**
 * One interface over where the Manticore nodes run (DESIGN.md sections 2-3). Only src/platform/*
 * knows Control Plane, Kubernetes or local processes; the controller sees NodeRefs.
 */

export interface NodeRef {
  /** stable name: "node0" locally, "<workload>-<i>" on Control Plane, the pod name on Kubernetes */
  name: string;
  /** 0-based position; ties in decisions are broken by it */
  ordinal: number;
  /** searchd's MySQL listener */
  mysql: { host: string; port: number };
  /** binary API address `host:port`: what `agent=` mirrors, `JOIN CLUSTER ... AT` and nodes_set use */
  apiAddress: string;
  /** searchd's HTTP listener `host:port` (metrics, /sql), when known */
  httpAddress?: string;
  /** base URL of this node's agent, e.g. http://127.0.0.1:19500 */
  agentUrl: string;
}

export type PlatformKind = 'static' | 'local' | 'controlplane' | 'kubernetes';

export interface Platform {
  readonly kind: PlatformKind;
  /**
   * The nodes that should exist now (the desired replicas), whether or not they answer:
   * a node that is down is still listed, so the controller sees it as down rather than gone.
   */
  listNodes(): Promise<NodeRef[]>;
  /**
   * Registers a listener called when the node set may have changed, or a node's searchd started or
   * died (what a pod watch reports); returns the unsubscribe function.
   */
  onChange(listener: () => void): () => void;
  /** Starts whatever the platform runs itself (the local platform spawns nodes and agents). */
  start(): Promise<void>;
  /** Stops it cleanly (searchd --stopwait semantics for local nodes). */
  stop(): Promise<void>;
}

/**
 * Jobs the platform runs on the controller's behalf (a cron workload command on Control Plane, a
 * `batch/v1` Job on Kubernetes), for the work the original system ran outside the API process
 * (backup, restore) and for platforms where the controller has no bucket credentials itself.
 */
export type PlatformJobAction = 'backup' | 'restore' | 'import' | 'repair';

export interface PlatformJobSpec {
  action: PlatformJobAction;
  /** base table name the job works on, when it has one (labels, conflict checks) */
  table?: string;
  /** env overrides of the job container (the `job` subcommand's contract, src/job/README.md) */
  env: Record<string, string>;
}

export type PlatformJobPhase = 'pending' | 'running' | 'succeeded' | 'failed' | 'unknown';

export interface PlatformJob {
  /** the platform's id: the cpln command id, the Job name */
  id: string;
  action: PlatformJobAction;
  table?: string;
  phase: PlatformJobPhase;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface PlatformJobs {
  /** Starts one job; refuses (AppError CONFLICT) when an active job of the same action and table exists. */
  start(spec: PlatformJobSpec): Promise<PlatformJob>;
  get(id: string): Promise<PlatformJob>;
  /** Jobs not yet finished (pending or running). */
  listActive(): Promise<PlatformJob[]>;
}

/** A platform that can run jobs exposes them here (Control Plane, Kubernetes). */
export interface PlatformWithJobs extends Platform {
  readonly jobs: PlatformJobs;
}
