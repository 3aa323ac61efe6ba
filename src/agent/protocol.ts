/**
 * The agent's HTTP contract, shared by the server (src/agent/server) and the client
 * (src/agent/client.ts): routes, payloads, the response envelope and error codes.
 *
 * Envelope (DESIGN.md section 8): success `{ "data": ... }`, failure `{ "error": { "code", "message" } }`.
 * Every route but /v1/health and /v1/ready needs `Authorization: Bearer <token>`.
 */

export const AGENT_API_VERSION = 'v1';

export const AgentRoutes = {
  /** GET, no auth: searchd reachable?, cluster status and node state */
  health: '/v1/health',
  /** GET, no auth: 200 when primary + synced + every declared table present, else 503 with the reason */
  ready: '/v1/ready',
  /** GET: parsed grastate.dat */
  grastate: '/v1/grastate',
  /** GET: what the node holds on disk and whether searchd runs (for full-stop recovery decisions) */
  state: '/v1/state',
  /** GET: the start gate's current answer (asked by the start script before starting searchd); PUT: the controller's decision */
  start: '/v1/start',
  /** POST: the start script reports that searchd was started with a decision */
  startStarted: '/v1/start/started',
  /** PUT: the tables this node must have for /ready (the controller keeps it current) */
  declaredTables: '/v1/declared-tables',
  /** POST: start (idempotent by id); GET list */
  jobs: '/v1/jobs',
  /** GET one job */
  job: (id: string) => `/v1/jobs/${encodeURIComponent(id)}`,
  /** POST: cancel a job */
  jobCancel: (id: string) => `/v1/jobs/${encodeURIComponent(id)}/cancel`,
} as const;

export type Envelope<T> = { data: T } | { error: { code: AgentErrorCode; message: string } };

export type AgentErrorCode =
  | 'UNAUTHORIZED'
  | 'RATE_LIMITED'
  | 'NOT_FOUND'
  | 'BAD_REQUEST'
  | 'CONFLICT'
  | 'SEARCHD_UNAVAILABLE'
  | 'NOT_READY'
  | 'JOB_CONFLICT'
  | 'INTERNAL';

export interface Grastate {
  exists: boolean;
  uuid?: string;
  /** -1 after a crash or while running */
  seqno?: number;
  safeToBootstrap?: boolean;
}

export interface AgentHealth {
  searchd: { reachable: boolean; error?: string; version?: string };
  /** name of the cluster the agent was told about, if any */
  cluster?: string;
  clusterStatus?: string;
  nodeState?: string;
}

export interface AgentReady {
  ready: boolean;
  reason: string;
}

/** How the start script must start searchd. */
export type StartMode = 'normal' | 'new-cluster' | 'new-cluster-force' | 'hold';

export interface StartGate {
  mode: StartMode;
  /** human reason, shown in conditions and logs */
  reason: string;
  /** set by the controller's decision; echoed by the start script in startStarted */
  decisionId?: string;
  decidedAt?: string;
  /** when the script last started searchd, and with which decision */
  startedAt?: string;
  startedDecisionId?: string;
  /** since when the script is holding (asked and got "hold") */
  holdingSince?: string;
}

export interface StartDecision {
  mode: StartMode;
  reason: string;
  decisionId: string;
}

export interface NodeDiskState {
  grastate: Grastate;
  /** clusters saved in manticore.json (`clusters` keys) */
  savedClusters: string[];
  /** tables listed in manticore.json (`indexes` keys) */
  savedTables: string[];
  searchd: { running: boolean; pid?: number };
  gate: StartGate;
}

export type JobState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobRequest {
  /** idempotency key: operation id + node (a repeated POST with the same id returns the existing job) */
  id: string;
  kind: string;
  params: Record<string, unknown>;
}

export interface JobStatus {
  id: string;
  kind: string;
  state: JobState;
  /** 0..1 when known */
  progress?: number;
  message?: string;
  result?: Record<string, unknown>;
  error?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

/** PUT /v1/declared-tables body and answer: the tables /v1/ready requires, and optionally the cluster to check. */
export interface DeclaredTables {
  tables: string[];
  /** replication cluster whose status /v1/ready and /v1/health report (defaults to the agent's configured cluster) */
  cluster?: string;
}
