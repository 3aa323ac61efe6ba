/**
 * Every configuration setting of the controller and the agent, in one table: where it is read from
 * (flag, then env vars in order, the first being the canonical one and the rest accepted names of the
 * original system), its default and its meaning. The loaders read through this table and the README's
 * configuration reference is generated or checked against `CONFIG_DOCS`.
 */

export type SettingScope = 'controller' | 'agent';

export interface SettingDoc {
  /** key used by the loaders */
  key: string;
  scope: SettingScope;
  /** env vars, canonical first; later names are aliases kept from the original system */
  env: readonly string[];
  /** command-line flag (`--port`), when there is one */
  flag?: string;
  /** the default as a person reads it */
  default: string;
  meaning: string;
}

function s(scope: SettingScope, key: string, env: readonly string[], def: string, meaning: string, flag?: string): SettingDoc {
  return flag === undefined ? { key, scope, env, default: def, meaning } : { key, scope, env, flag, default: def, meaning };
}

export const CONTROLLER_SETTINGS = {
  listen: s(
    'controller',
    'listen',
    ['ORCHESTRATOR_LISTEN', 'LISTEN_ADDR'],
    '`127.0.0.1:8080`',
    "API listen address `host:port`; `:8080` listens on every interface (the original's form)",
  ),
  host: s('controller', 'host', ['ORCHESTRATOR_HOST'], '(host of the listen address)', 'API listen host; overrides the host of the listen address', '--host'),
  port: s('controller', 'port', ['ORCHESTRATOR_PORT'], '(port of the listen address)', 'API listen port; overrides the port of the listen address', '--port'),
  token: s(
    'controller',
    'token',
    ['ORCHESTRATOR_TOKEN', 'AUTH_TOKEN'],
    'generated, stored in `<data dir>/token` (mode 0600) and reused',
    'admin bearer token of the API; also sent to agents',
  ),
  viewerTokens: s(
    'controller',
    'viewerTokens',
    ['ORCHESTRATOR_VIEWER_TOKEN'],
    '(none)',
    'viewer bearer token(s) of the API, comma-separated: GET routes and read-only `POST /api/query`; every other request needs the admin token (403 FORBIDDEN)',
  ),
  dataDir: s('controller', 'dataDir', ['ORCHESTRATOR_DATA_DIR', 'DATA_DIR'], '`./.orchestrator`', 'where the controller keeps its token, status, operation history and (local platform) the nodes', '--data-dir'),
  specsDir: s('controller', 'specsDir', ['SPECS_DIR'], '`<data dir>/specs`', 'directory of table spec `.json` files (watched)', '--specs-dir'),
  tablesConfig: s('controller', 'tablesConfig', ['TABLES_CONFIG'], '(none)', 'table specs as JSON (the original `{"<table>": "<csv path>"}` form is accepted)'),
  clusterName: s('controller', 'clusterName', ['CLUSTER_NAME'], '`manticore`', 'name of the Manticore replication cluster', '--cluster'),
  platform: s('controller', 'platform', ['PLATFORM'], '`static` when `NODES` is set, `controlplane` inside a Control Plane workload, else `local`', 'where the nodes run: `local` (spawned on loopback), `static` (the `NODES` list), `controlplane` (the replicas of `MANTICORE_WORKLOAD`) or `kubernetes` (the pods of `K8S_STATEFULSET`)', '--platform'),
  nodes: s(
    'controller',
    'nodes',
    ['NODES'],
    '(none)',
    'static node list: JSON array of `{"name","mysql":"host:port","api":"host:port","http":"host:port","agent":"http://host:port"}` (only `mysql` or `host` required), or a comma list of `[name=]host[:mysqlPort]`',
  ),
  localNodes: s('controller', 'localNodes', ['LOCAL_NODES'], '`3`', 'number of nodes the local platform runs (1..32)', '--nodes'),
  mysqlPort: s('controller', 'mysqlPort', ['MANTICORE_MYSQL_PORT'], '`9306`', 'searchd MySQL port assumed for `NODES` entries that name no port'),
  apiPort: s('controller', 'apiPort', ['MANTICORE_API_PORT'], '`9312`', 'searchd binary API port assumed for `NODES` entries'),
  httpPort: s('controller', 'httpPort', ['MANTICORE_HTTP_PORT'], '`9308`', 'searchd HTTP port assumed for `NODES` entries'),
  agentPort: s('controller', 'agentPort', ['AGENT_PORT'], '`8080`', 'agent port assumed for `NODES` entries (agent URL `http://<host>:<port>`)'),
  logLevel: s('controller', 'logLevel', ['LOG_LEVEL'], '`info`', 'error, warn, info, debug', '--log-level'),
  logFormat: s('controller', 'logFormat', ['LOG_FORMAT'], '`json`', '`json` (one object per line) or `pretty`', '--log-format'),
  resyncInterval: s('controller', 'resyncInterval', ['RESYNC_INTERVAL'], '`2s`', 'how often every key is reconciled without a trigger while the cluster is Ready (it is also how fast a dead node is noticed; 500 ms while not Ready) (`500ms`, `30s`, `5m`; a bare number is seconds)', '--resync'),
  searchdBin: s('controller', 'searchdBin', ['SEARCHD_BIN'], '`searchd` on PATH, else the simulator', 'searchd binary the local platform runs'),
  indexerBin: s('controller', 'indexerBin', ['INDEXER_BIN'], '`indexer` on PATH, else the simulator', 'indexer binary (passed to local agents)'),
  backupBin: s('controller', 'backupBin', ['MANTICORE_BACKUP_BIN'], '`manticore-backup` on PATH, else the simulator', 'manticore-backup binary (passed to local agents)'),
  backupSchedules: s('controller', 'backupSchedules', ['BACKUP_SCHEDULES'], '(none)', 'scheduled backups besides the specs\' `backups`: JSON array of `{"table","type":"delta"|"main","schedule":"<5-field cron, UTC>"}` (optional `keep`, `maxAge` e.g. `30d`); an unusable entry is reported and skipped'),
  backupMissedWindow: s('controller', 'backupMissedWindow', ['BACKUP_MISSED_WINDOW'], '`1h`', 'a scheduled backup missed while no controller ran still runs once on start when at most this late (`0` = only within 1 min)'),
  backupProvider: s('controller', 'backupProvider', ['BACKUP_PROVIDER'], '`aws` when `BACKUP_BUCKET` is set, else `local`', 'where backups go: `aws` (or `s3`), `gcp` (or `gcs`), or `local` (a directory store under `<data dir>/backups`)'),
  backupBucket: s('controller', 'backupBucket', ['BACKUP_BUCKET'], '(none: local directory store)', 'bucket of the backup archives'),
  backupPrefix: s('controller', 'backupPrefix', ['BACKUP_PREFIX'], '`backups`', 'object key prefix of the archives (`<prefix>/<table>-<ts>.tar.gz`)'),
  backupRegion: s('controller', 'backupRegion', ['BACKUP_REGION'], '`us-east-1`', 'S3 region of the bucket'),
  backupEndpoint: s('controller', 'backupEndpoint', ['BACKUP_ENDPOINT'], '(provider default)', 'S3-compatible or GCS API endpoint, e.g. `http://127.0.0.1:9000` (MinIO)'),
  repairPolicy: s('controller', 'repairPolicy', ['REPAIR_POLICY'], '`manual`', 'split-brain repair: `manual` (the SplitBrain condition says how; `POST /api/repair`, `mctl repair`) or `auto` (the controller repairs a split brain stable for `REPAIR_AUTO_DEBOUNCE` with fresh observations)'),
  repairGuard: s('controller', 'repairGuard', ['REPAIR_OBSERVATION_GUARD'], '`10s`', 'split-brain repair never acts while a node\'s observation is missing or older than this'),
  repairDebounce: s('controller', 'repairDebounce', ['REPAIR_AUTO_DEBOUNCE'], '`3s`', 'with `REPAIR_POLICY=auto`: how long a split brain must stay the same before the controller repairs it'),
  cplnEndpoint: s('controller', 'cplnEndpoint', ['CPLN_ENDPOINT'], '`http://api.cpln.io` (injected)', 'Control Plane API base URL (PLATFORM=controlplane; src/config/controlplane.ts)'),
  cplnToken: s('controller', 'cplnToken', ['CPLN_TOKEN'], '(injected)', 'Control Plane workload identity token (or a service-account key outside a workload)'),
  cplnOrg: s('controller', 'cplnOrg', ['CPLN_ORG'], '(injected; else from `CPLN_WORKLOAD`)', 'Control Plane org, a name or a link (the last path segment is kept)'),
  cplnGvc: s('controller', 'cplnGvc', ['CPLN_GVC'], '(injected; else from `CPLN_WORKLOAD`)', 'Control Plane GVC, a name or a link; with `CPLN_ORG` or `CPLN_WORKLOAD` set, PLATFORM defaults to `controlplane`'),
  cplnLocation: s('controller', 'cplnLocation', ['CPLN_LOCATION'], '(injected)', 'Control Plane location, a name or a link such as `/org/o/location/aws-us-east-1` (cron commands run there)'),
  cplnWorkload: s('controller', 'cplnWorkload', ['CPLN_WORKLOAD'], '(injected)', "this process's own workload link `/org/{org}/gvc/{gvc}/workload/{name}`"),
  manticoreWorkload: s('controller', 'manticoreWorkload', ['MANTICORE_WORKLOAD', 'WORKLOAD_NAME'], '(required with PLATFORM=controlplane)', 'the stateful Manticore workload: its replicas `{workload}-{i}.{workload}` are the nodes'),
  replicaCount: s('controller', 'replicaCount', ['REPLICA_COUNT'], "the workload's `minScale` (else its current replica count)", 'Control Plane: the number of replicas the cluster spans (1..64)'),
  backupWorkload: s('controller', 'backupWorkload', ['BACKUP_WORKLOAD'], '(none: backups run in the controller)', 'Control Plane cron workload that runs backups as `runCronWorkload` commands (the `job` subcommand)'),
  backupContainer: s('controller', 'backupContainer', ['BACKUP_CONTAINER'], '`backup`', "container of `BACKUP_WORKLOAD` whose env the command overrides"),
  jobWorkload: s('controller', 'jobWorkload', ['ORCHESTRATOR_WORKLOAD'], '(none)', 'Control Plane cron workload for import/repair jobs (the original `{r}-orchestrator-job`)'),
  jobContainer: s('controller', 'jobContainer', ['ORCHESTRATOR_CONTAINER'], '`orchestrator`', "container of `ORCHESTRATOR_WORKLOAD` whose env the command overrides"),
  cplnAuthHeader: s('controller', 'cplnAuthHeader', ['CONTROLPLANE_AUTH_HEADER'], '`bearer`', '`bearer` sends `Authorization: Bearer <CPLN_TOKEN>`, `raw` sends the token alone'),
  cplnPollInterval: s('controller', 'cplnPollInterval', ['CONTROLPLANE_POLL_INTERVAL'], '`15s`', 'how often the Control Plane platform re-reads the workload and probes the replicas'),
  cplnRequestTimeout: s('controller', 'cplnRequestTimeout', ['CONTROLPLANE_REQUEST_TIMEOUT'], '`30s`', 'timeout of one Control Plane API request (429 and 5xx are retried with backoff)'),
  metricsRequireToken: s('controller', 'metricsRequireToken', ['METRICS_REQUIRE_TOKEN'], '`false`', '`true` puts `GET /metrics` (Prometheus text format) behind the admin or a viewer token; by default it is open, like `/api/status`'),
  k8sNamespace: s('controller', 'k8sNamespace', ['K8S_NAMESPACE', 'POD_NAMESPACE'], "the pod's own namespace (service account), else `default`", 'Kubernetes (PLATFORM=kubernetes; src/config/kubernetes.ts): namespace of the StatefulSet, ManticoreTables, Jobs and the Lease'),
  k8sStatefulSet: s('controller', 'k8sStatefulSet', ['K8S_STATEFULSET'], '`manticore`', 'Kubernetes: the Manticore StatefulSet; its desired replicas are the nodes `<sts>-<i>`'),
  k8sService: s('controller', 'k8sService', ['K8S_SERVICE'], "the StatefulSet's `serviceName`", 'Kubernetes: headless Service of the pods (node addresses `<pod>.<svc>.<ns>.svc`)'),
  k8sLease: s('controller', 'k8sLease', ['K8S_LEASE'], '`manticore-orchestrator`', 'Kubernetes: the coordination.k8s.io Lease the controller replicas elect their leader with'),
  k8sLeaseDuration: s('controller', 'k8sLeaseDuration', ['K8S_LEASE_DURATION'], '`15s`', 'Kubernetes: how long a Lease not renewed stays with its holder (renewed every third of it)'),
  podName: s('controller', 'podName', ['POD_NAME', 'HOSTNAME'], '(the host name)', "Kubernetes: this replica's identity in the Lease (downward API `metadata.name`)"),
  podIp: s('controller', 'podIp', ['POD_IP'], '(none: the standby answers 503 NOT_LEADER)', "Kubernetes: this replica's address, recorded in the Lease so a standby can proxy API requests to the leader"),
  k8sJobImage: s('controller', 'k8sJobImage', ['K8S_JOB_IMAGE'], "the controller container's own image", 'Kubernetes: image of the backup/restore Jobs (runs the `job` subcommand)'),
  k8sJobServiceAccount: s('controller', 'k8sJobServiceAccount', ['K8S_JOB_SERVICE_ACCOUNT'], '`manticore-orchestrator-job`', 'Kubernetes: service account of the Jobs'),
  k8sJobSecret: s('controller', 'k8sJobSecret', ['K8S_JOB_SECRET'], '`manticore-orchestrator-backup`', 'Kubernetes: Secret whose keys become the Jobs\' env (bucket credentials, BACKUP_*; optional)'),
  k8sSharedClaim: s('controller', 'k8sSharedClaim', ['K8S_SHARED_CLAIM'], '`manticore-shared`', 'Kubernetes: the ReadWriteMany claim Jobs mount at `<data dir>/shared`, the path where the controller and every Manticore pod mount it too (imports and backups pass files through it); empty: Jobs mount none'),
  k8sBackupJobs: s('controller', 'k8sBackupJobs', ['K8S_BACKUP_JOBS'], '`false`', 'Kubernetes: `true` runs backups as batch/v1 Jobs (the `job` subcommand with the backup Secret and the shared claim; one per table at a time) instead of inside the controller'),
  kubeconfig: s('controller', 'kubeconfig', ['KUBECONFIG'], '(in-cluster service account)', 'Kubernetes: a kubeconfig file to use instead of the in-cluster service account (its current context)'),
} as const satisfies Record<string, SettingDoc>;

export const AGENT_SETTINGS = {
  listen: s('agent', 'listen', ['AGENT_LISTEN', 'LISTEN_ADDR'], '`127.0.0.1:19500`', 'agent listen address `host:port` (`:8080` listens on every interface)', '--listen'),
  token: s('agent', 'token', ['AGENT_TOKEN', 'ORCHESTRATOR_TOKEN', 'AUTH_TOKEN'], '(required)', 'bearer token every request but /v1/health and /v1/ready must carry (at least 16 characters)', '--token'),
  searchdConfig: s('agent', 'searchdConfig', ['SEARCHD_CONFIG'], '(none)', "searchd's config file: its listeners and data_dir are the defaults of --mysql and --data-dir", '--searchd-config'),
  mysql: s('agent', 'mysql', ['MANTICORE_MYSQL'], "searchd's mysql41 listener from its config, else `127.0.0.1:9306`", "the local searchd's MySQL address `host:port`", '--mysql'),
  mysqlHost: s('agent', 'mysqlHost', ['MYSQL_HOST'], '(see --mysql)', "the local searchd's MySQL host (the original's variable)"),
  mysqlPort: s('agent', 'mysqlPort', ['MYSQL_PORT'], '(see --mysql)', "the local searchd's MySQL port (the original's variable)"),
  dataDir: s('agent', 'dataDir', ['MANTICORE_DATA_DIR'], "searchd's `data_dir` from its config", 'where grastate.dat and manticore.json are read', '--data-dir'),
  jobsDir: s('agent', 'jobsDir', ['AGENT_JOBS_DIR', 'JOBS_DIR'], '`<data dir>/.agent`', "the agent's own state: job records, the start gate's decision, declared tables", '--jobs-dir'),
  clusterName: s('agent', 'clusterName', ['CLUSTER_NAME'], '(none until the controller declares it)', 'name of the Manticore replication cluster', '--cluster'),
  logLevel: s('agent', 'logLevel', ['LOG_LEVEL'], '`info`', 'error, warn, info, debug', '--log-level'),
  searchdBin: s('agent', 'searchdBin', ['SEARCHD_BIN'], '`searchd` on PATH, else the simulator', 'searchd binary', '--searchd'),
  indexerBin: s('agent', 'indexerBin', ['INDEXER_BIN'], '`indexer` on PATH, else the simulator', 'indexer binary', '--indexer'),
  backupBin: s('agent', 'backupBin', ['MANTICORE_BACKUP_BIN'], '`manticore-backup` on PATH, else the simulator', 'manticore-backup binary', '--backup'),
  importS3Endpoint: s('agent', 'importS3Endpoint', ['IMPORT_S3_ENDPOINT'], '(AWS)', 'S3-compatible endpoint for `s3://` import sources, e.g. `http://minio:9000` (path-style); credentials come from the AWS SDK chain (read by src/config/import-sources.ts)'),
  importS3Region: s('agent', 'importS3Region', ['IMPORT_S3_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'], '`us-east-1`', 'region of the `s3://` import source buckets'),
  importGcsEndpoint: s('agent', 'importGcsEndpoint', ['IMPORT_GCS_ENDPOINT'], '(Google)', 'GCS JSON API endpoint for `gs://` import sources (an emulator or a private endpoint); credentials: application default credentials'),
} as const satisfies Record<string, SettingDoc>;

/** The configuration reference: every setting of both processes (for the README). */
export const CONFIG_DOCS: readonly SettingDoc[] = [...Object.values(CONTROLLER_SETTINGS), ...Object.values(AGENT_SETTINGS)];

/** The reference as a Markdown table per process. */
export function renderConfigDocs(docs: readonly SettingDoc[] = CONFIG_DOCS): string {
  const out: string[] = [];
  for (const scope of ['controller', 'agent'] as const) {
    out.push(`### ${scope}`, '', '| env | flag | default | meaning |', '|---|---|---|---|');
    for (const d of docs.filter((x) => x.scope === scope)) {
      const env = d.env.map((e) => `\`${e}\``).join(', ');
      out.push(`| ${env} | ${d.flag ? `\`${d.flag}\`` : ''} | ${d.default} | ${d.meaning.replace(/\|/g, '\\|')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
