/** What the API needs from the controller (wired by src/bin; fakes in tests). */
import type { Logger } from '../lib/logger.js';
import type { ManticorePools } from '../manticore/client.js';
import type { ControllerMetrics } from '../observe/metrics.js';
import type { NodeRef } from '../platform/types.js';
import type { AuditLog, RequestSink, StatusReader } from '../status/types.js';
import type { FailedAuthLimitOptions } from './auth.js';
import type { QueryLimits } from './query-run.js';

export interface ApiDeps {
  status: StatusReader;
  requests: RequestSink;
  /** the desired nodes (the platform's list: a node that is down is still listed) */
  nodes: () => Promise<NodeRef[]>;
  pools: ManticorePools;
  /** the admin bearer token */
  token: string;
  /** viewer bearer tokens (ORCHESTRATOR_VIEWER_TOKEN): reads and read-only queries only */
  viewerTokens?: readonly string[];
  /** failed-auth rate limit per client address (default 20 per minute) */
  authRateLimit?: FailedAuthLimitOptions;
  /** where audit records go (the status store); default: a memory ring buffer */
  audit?: AuditLog;
  logger: Logger;
  clusterName: string;
  version: string;
  /** controller readiness for the unauthenticated GET /api/status (default: always ready) */
  ready?: () => boolean;
  /** query console limits (defaults: DEFAULT_QUERY_LIMITS) */
  queryLimits?: Partial<QueryLimits>;
  /** SSE heartbeat comment interval (default 15 s) */
  sseHeartbeatMs?: number;
  /** Prometheus metrics: GET /metrics and the API request series (none when absent) */
  metrics?: ControllerMetrics;
  /** METRICS_REQUIRE_TOKEN: GET /metrics needs the bearer token (default: open) */
  metricsRequireToken?: boolean;
}

export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;
