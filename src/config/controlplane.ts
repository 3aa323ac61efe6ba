/**
 * Control Plane settings (PLATFORM=controlplane): the env vars cpln injects into every workload
 * (CPLN_TOKEN, CPLN_ENDPOINT, CPLN_ORG, CPLN_GVC, CPLN_LOCATION, CPLN_WORKLOAD; deployment.md §2.2)
 * and ours (the stateful workload, the cron workloads jobs run on). Injected values come as names or
 * as links (`/org/acme/gvc/prod/location/aws-us-east-1`): only the last path segment is kept, and
 * CPLN_WORKLOAD (`/org/{org}/gvc/{gvc}/workload/{name}`) also supplies org and gvc when they are unset.
 */
import { ValidationError } from '../lib/errors.js';
import { showValue } from '../manticore/identifiers.js';
import { CONTROLLER_SETTINGS as S } from './settings.js';
import type { SettingSource } from './source.js';

export interface ControlPlaneConfig {
  /** API base URL without a trailing slash (CPLN_ENDPOINT, `http://api.cpln.io` inside a workload) */
  endpoint: string;
  token: string;
  /** `bearer` sends `Authorization: Bearer <token>`, `raw` sends the token as is */
  authHeader: 'bearer' | 'raw';
  org: string;
  gvc: string;
  /** bare location name (`aws-us-east-1`); the cron command's `location` */
  location: string;
  /** this process's own workload, when known (CPLN_WORKLOAD) */
  selfWorkload?: string;
  /** the stateful Manticore workload whose replicas are the nodes */
  workload: string;
  /** explicit expected replica count (REPLICA_COUNT); otherwise the workload spec's minScale */
  replicaCount?: number;
  ports: { mysql: number; api: number; http: number; agent: number };
  /** cron workload + container running backup/restore jobs (BACKUP_WORKLOAD) */
  backupWorkload?: string;
  backupContainer: string;
  /** cron workload + container running import/repair jobs (ORCHESTRATOR_WORKLOAD) */
  jobWorkload?: string;
  jobContainer: string;
  pollIntervalMs: number;
  requestTimeoutMs: number;
}

/** cpln names: lowercase letters, digits and dashes (at most 63), starting with a letter. */
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** The last path segment of a link, or the value itself when it is a bare name. */
export function lastSegment(value: string): string {
  const parts = value.split('/').filter((p) => p !== '');
  return parts[parts.length - 1] ?? '';
}

/** `/org/{org}/gvc/{gvc}/workload/{name}` (or the bare name) → its parts. */
export function parseWorkloadLink(value: string): { org?: string; gvc?: string; name: string } {
  const parts = value.split('/').filter((p) => p !== '');
  const at = (key: string): string | undefined => {
    const i = parts.indexOf(key);
    return i >= 0 ? parts[i + 1] : undefined;
  };
  const name = at('workload') ?? (parts.length === 1 ? parts[0] : undefined) ?? '';
  const org = at('org');
  const gvc = at('gvc');
  return { name, ...(org ? { org } : {}), ...(gvc ? { gvc } : {}) };
}

function checkName(value: string, from: string, example: string): string {
  if (!NAME.test(value)) {
    throw new ValidationError(from, `${showValue(value)} is not a Control Plane name (lowercase letters, digits, dashes) nor a link ending in one: set ${from}, e.g. ${example}`);
  }
  return value;
}

/** Whether the environment looks like a Control Plane workload (PLATFORM defaults to controlplane then). */
export function isControlPlaneEnv(src: SettingSource): boolean {
  return src.raw(S.cplnGvc) !== undefined && (src.raw(S.cplnWorkload) !== undefined || src.raw(S.cplnOrg) !== undefined);
}

/** Reads and validates the Control Plane settings; throws ValidationError naming the variable. */
export function loadControlPlaneConfig(src: SettingSource): ControlPlaneConfig {
  const selfRaw = src.raw(S.cplnWorkload);
  const self = selfRaw ? parseWorkloadLink(selfRaw.value) : undefined;
  const named = (doc: typeof S.cplnOrg, fallback: string | undefined, example: string): string => {
    const raw = src.raw(doc);
    if (raw) return checkName(lastSegment(raw.value), raw.from, example);
    if (fallback !== undefined) return checkName(fallback, selfRaw?.from ?? doc.env[0] ?? '', example);
    throw new ValidationError(doc.env[0] ?? doc.key, `is required with PLATFORM=controlplane (cpln injects it into workloads): set it, e.g. ${example}`);
  };
  const org = named(S.cplnOrg, self?.org, 'CPLN_ORG=acme');
  const gvc = named(S.cplnGvc, self?.gvc, 'CPLN_GVC=prod');
  const location = named(S.cplnLocation, undefined, 'CPLN_LOCATION=aws-us-east-1');

  const tokenRaw = src.raw(S.cplnToken);
  if (!tokenRaw) throw new ValidationError('CPLN_TOKEN', 'is required with PLATFORM=controlplane (cpln injects the workload identity token): run inside a workload or set a service-account key');
  const endpointRaw = src.raw(S.cplnEndpoint);
  const endpoint = (endpointRaw?.value ?? 'http://api.cpln.io').replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(endpoint)) {
    throw new ValidationError(endpointRaw?.from ?? 'CPLN_ENDPOINT', `${showValue(endpoint)} is not an http(s) URL: set it to e.g. http://api.cpln.io`);
  }

  const wlRaw = src.raw(S.manticoreWorkload);
  if (!wlRaw) throw new ValidationError('MANTICORE_WORKLOAD', 'names the stateful Manticore workload whose replicas are the nodes: set MANTICORE_WORKLOAD (or WORKLOAD_NAME), e.g. manticore-manticore');
  const workload = checkName(parseWorkloadLink(wlRaw.value).name, wlRaw.from, 'MANTICORE_WORKLOAD=manticore-manticore');

  const optionalName = (doc: typeof S.backupWorkload, example: string): string | undefined => {
    const raw = src.raw(doc);
    return raw ? checkName(parseWorkloadLink(raw.value).name, raw.from, example) : undefined;
  };
  const backupWorkload = optionalName(S.backupWorkload, 'BACKUP_WORKLOAD=manticore-manticore-backup');
  const jobWorkload = optionalName(S.jobWorkload, 'ORCHESTRATOR_WORKLOAD=manticore-orchestrator-job');
  const replicaRaw = src.raw(S.replicaCount);

  const config: ControlPlaneConfig = {
    endpoint,
    token: tokenRaw.value,
    authHeader: src.oneOf(S.cplnAuthHeader, ['bearer', 'raw'] as const, 'bearer'),
    org,
    gvc,
    location,
    workload,
    ports: {
      mysql: src.port(S.mysqlPort, 9306),
      api: src.port(S.apiPort, 9312),
      http: src.port(S.httpPort, 9308),
      agent: src.port(S.agentPort, 8080),
    },
    backupContainer: checkName(src.string(S.backupContainer, 'backup'), 'BACKUP_CONTAINER', 'BACKUP_CONTAINER=backup'),
    jobContainer: checkName(src.string(S.jobContainer, 'orchestrator'), 'ORCHESTRATOR_CONTAINER', 'ORCHESTRATOR_CONTAINER=orchestrator'),
    pollIntervalMs: src.durationMs(S.cplnPollInterval, 15_000, 100),
    requestTimeoutMs: src.durationMs(S.cplnRequestTimeout, 30_000, 100),
  };
  if (self?.name) config.selfWorkload = self.name;
  if (replicaRaw) config.replicaCount = src.integer(S.replicaCount, 3, 1, 64);
  if (backupWorkload) config.backupWorkload = backupWorkload;
  if (jobWorkload) config.jobWorkload = jobWorkload;
  return config;
}
