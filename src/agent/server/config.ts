/** The agent server's configuration, validated with errors that name the field and the fix. */
import { ValidationError } from '../../lib/errors.js';

export interface AgentBinaries {
  searchd: string;
  indexer: string;
  backup: string;
}

export interface AgentServerConfig {
  /** listen host, e.g. 127.0.0.1 (0.0.0.0 in a pod) */
  host: string;
  /** listen port; 0 picks a free one (tests) */
  port: number;
  /** bearer token every route but /v1/health and /v1/ready requires */
  token: string;
  /** searchd's MySQL listener */
  mysql: { host: string; port: number };
  /** searchd config file (its pid_file tells whether searchd runs) */
  searchdConfig?: string;
  /** searchd's data_dir: grastate.dat and manticore.json */
  dataDir: string;
  binaries: AgentBinaries;
  /** where job records, the start gate and the declared tables are persisted */
  jobsDir: string;
  /** the replication cluster /v1/health and /v1/ready report on (may be set later by PUT /v1/declared-tables) */
  cluster?: string;
}

/** Minimum token length: short tokens are guessable. */
export const MIN_TOKEN_LENGTH = 16;

const CLUSTER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function port(value: unknown, field: string, allowZero: boolean): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    throw new ValidationError(field, `must be a port number ${allowZero ? '0' : '1'}-65535 (got ${JSON.stringify(value)})`);
  }
  return value;
}

function nonEmpty(value: unknown, field: string, fix: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(field, fix);
  return value;
}

export function validateAgentConfig(c: AgentServerConfig): AgentServerConfig {
  nonEmpty(c.host, 'host', 'set the listen host, e.g. 127.0.0.1');
  port(c.port, 'port', true);
  nonEmpty(c.token, 'token', 'set a bearer token (AGENT_TOKEN or --token)');
  if (c.token.length < MIN_TOKEN_LENGTH) throw new ValidationError('token', `must be at least ${MIN_TOKEN_LENGTH} characters`);
  nonEmpty(c.mysql?.host, 'mysql.host', "set searchd's MySQL host, e.g. 127.0.0.1");
  port(c.mysql?.port, 'mysql.port', false);
  nonEmpty(c.dataDir, 'dataDir', "set searchd's data_dir (where manticore.json and grastate.dat live)");
  nonEmpty(c.jobsDir, 'jobsDir', 'set a directory for job records, e.g. <data_dir>/../agent');
  nonEmpty(c.binaries?.indexer, 'binaries.indexer', 'name the indexer binary');
  if (c.cluster !== undefined && !CLUSTER_NAME.test(c.cluster)) {
    throw new ValidationError('cluster', 'must be a Manticore name: letters, digits and underscores, not starting with a digit');
  }
  return c;
}
