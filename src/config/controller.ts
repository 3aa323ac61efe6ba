/**
 * The controller's configuration (also used by `npm start`, the dev entry): flags override env
 * vars, env vars override defaults. See settings.ts for every setting and its meaning.
 */
import path from 'node:path';
import { parseBackupSchedulesText } from '../backup/schedule.js';
import { validateIdentifier } from '../manticore/identifiers.js';
import { ValidationError } from '../lib/errors.js';
import type { NodeRef } from '../platform/types.js';
import { resolveBinariesFrom, type Binaries } from './binaries.js';
import { isControlPlaneEnv, loadControlPlaneConfig, type ControlPlaneConfig } from './controlplane.js';
import { loadKubernetesConfig, type KubernetesConfig } from './kubernetes.js';
import { parseNodeList } from './nodes.js';
import { CONTROLLER_SETTINGS as S } from './settings.js';
import { parseFlags, parseListen, SettingSource, type Env, type ListenAddress } from './source.js';
import { resolveToken, validateToken, type ResolvedToken } from './token.js';

export type LogFormat = 'json' | 'pretty';
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type ConfiguredPlatform =
  | { kind: 'local'; nodes: number; binaries: Binaries }
  | { kind: 'static'; nodes: NodeRef[] }
  | { kind: 'controlplane'; controlplane: ControlPlaneConfig }
  | { kind: 'kubernetes'; kubernetes: KubernetesConfig };

export interface ControllerConfig {
  listen: ListenAddress;
  /** absolute */
  dataDir: string;
  /** absolute */
  specsDir: string;
  /** raw TABLES_CONFIG text, when set (the spec loader parses it) */
  tablesConfig?: string;
  clusterName: string;
  platform: ConfiguredPlatform;
  logLevel: LogLevel;
  logFormat: LogFormat;
  resyncIntervalMs: number;
  /** BACKUP_SCHEDULES as a parsed JSON array (entries are checked by src/backup/schedule.ts) */
  backupSchedules: unknown[];
  /** BACKUP_MISSED_WINDOW */
  backupMissedWindowMs: number;
  /** BACKUP_PROVIDER, BACKUP_BUCKET, BACKUP_PREFIX, BACKUP_REGION, BACKUP_ENDPOINT (src/reconcile/backup-store.ts) */
  backup: { provider?: string; bucket?: string; prefix: string; region?: string; endpoint?: string };
  /** METRICS_REQUIRE_TOKEN: GET /metrics needs the API token */
  metricsRequireToken: boolean;
  /** true when --help was given: the entry point prints usage and exits */
  help: boolean;
}

/** Flags `npm start --` / `controller` accept. */
export const CONTROLLER_FLAGS = Object.values(S)
  .map((d) => ('flag' in d ? d.flag : undefined))
  .filter((f): f is string => f !== undefined);

export interface LoadOptions {
  env: Env;
  argv?: readonly string[];
  /** relative paths resolve against it (default process.cwd()) */
  cwd?: string;
}

/** Reads and validates the controller config; throws ValidationError naming the flag or env var. Pure but for reading PATH entries. */
export function loadControllerConfig(options: LoadOptions): ControllerConfig {
  const { flags, positional } = parseFlags(options.argv ?? [], CONTROLLER_FLAGS);
  if (positional.length > 0) {
    throw new ValidationError(positional[0] ?? 'argument', `unexpected argument: flags are written '--name value' (${CONTROLLER_FLAGS.join(', ')})`);
  }
  const src = new SettingSource(options.env, flags);
  const cwd = options.cwd ?? process.cwd();

  const listenRaw = src.raw(S.listen);
  const listen = listenRaw ? parseListen(listenRaw.value, listenRaw.from, '127.0.0.1') : { host: '127.0.0.1', port: 8080 };
  const host = src.raw(S.host);
  if (host) listen.host = parseListen(`${host.value}:1`, host.from, '127.0.0.1').host;
  listen.port = src.port(S.port, listen.port);

  const dataDir = path.resolve(cwd, src.string(S.dataDir, '.orchestrator'));
  const specsDir = path.resolve(cwd, src.string(S.specsDir) ?? path.join(dataDir, 'specs'));

  const clusterRaw = src.raw(S.clusterName);
  const clusterName = clusterRaw ? validateIdentifier(clusterRaw.value, 'cluster', clusterRaw.from) : 'manticore';

  const nodesRaw = src.raw(S.nodes);
  const platformKind = src.oneOf(S.platform, ['local', 'static', 'controlplane', 'kubernetes'] as const, nodesRaw ? 'static' : isControlPlaneEnv(src) ? 'controlplane' : 'local');
  let platform: ConfiguredPlatform;
  if (platformKind === 'static') {
    if (!nodesRaw) throw new ValidationError('NODES', 'PLATFORM=static needs the node list: set NODES, e.g. NODES=10.0.0.5,10.0.0.6');
    const defaults = {
      mysqlPort: src.port(S.mysqlPort, 9306),
      apiPort: src.port(S.apiPort, 9312),
      httpPort: src.port(S.httpPort, 9308),
      agentPort: src.port(S.agentPort, 8080),
    };
    platform = { kind: 'static', nodes: parseNodeList(nodesRaw.value, defaults, nodesRaw.from) };
  } else if (platformKind === 'kubernetes') {
    platform = { kind: 'kubernetes', kubernetes: loadKubernetesConfig(src, listen.port, dataDir) };
  } else if (platformKind === 'controlplane') {
    platform = { kind: 'controlplane', controlplane: loadControlPlaneConfig(src) };
  } else {
    platform = { kind: 'local', nodes: src.integer(S.localNodes, 3, 1, 32), binaries: resolveBinariesFrom(options.env) };
  }

  const tablesConfig = src.string(S.tablesConfig);
  return {
    listen,
    dataDir,
    specsDir,
    ...(tablesConfig === undefined ? {} : { tablesConfig }),
    clusterName,
    platform,
    logLevel: src.oneOf(S.logLevel, LOG_LEVELS, 'info'),
    logFormat: src.oneOf(S.logFormat, ['json', 'pretty'] as const, 'json'),
    resyncIntervalMs: src.durationMs(S.resyncInterval, 2_000, 100),
    backupSchedules: parseBackupSchedulesText(src.string(S.backupSchedules), 'BACKUP_SCHEDULES'),
    backupMissedWindowMs: src.durationMs(S.backupMissedWindow, 3_600_000, 0),
    backup: backupStorageSettings(src),
    metricsRequireToken: src.oneOf(S.metricsRequireToken, ['true', 'false'] as const, 'false') === 'true',
    help: flags['--help'] === true,
  };
}

function backupStorageSettings(src: SettingSource): ControllerConfig['backup'] {
  const out: ControllerConfig['backup'] = { prefix: (src.string(S.backupPrefix) ?? 'backups').replace(/^\/+|\/+$/g, '') };
  for (const [k, doc] of [['provider', S.backupProvider], ['bucket', S.backupBucket], ['region', S.backupRegion], ['endpoint', S.backupEndpoint]] as const) {
    const v = src.string(doc);
    if (v !== undefined && v.trim() !== '') out[k] = v.trim();
  }
  return out;
}

/** The controller's admin token: ORCHESTRATOR_TOKEN / AUTH_TOKEN, else generated into `<dataDir>/token` (0600) and reused. */
export function loadControllerToken(env: Env, dataDir: string): ResolvedToken {
  return resolveToken(new SettingSource(env).raw(S.token), dataDir);
}

/** ORCHESTRATOR_VIEWER_TOKEN: viewer tokens, comma-separated, each checked like the admin token; none when unset. */
export function loadViewerTokens(env: Env): string[] {
  const raw = new SettingSource(env).raw(S.viewerTokens);
  if (raw === undefined) return [];
  return raw.value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((t) => validateToken(t, raw.from));
}

/** Usage text of the controller's flags. */
export function controllerUsage(command = 'npm start --'): string {
  const lines = [`usage: ${command} [flags]`, ''];
  for (const d of Object.values(S)) {
    if (!('flag' in d) || !d.flag) continue;
    lines.push(`  ${`${d.flag} <value>`.padEnd(22)} ${d.meaning} (env ${d.env.join(', ')}; default ${d.default.replace(/`/g, '')})`);
  }
  lines.push(`  ${'--help'.padEnd(22)} this text`);
  return lines.join('\n');
}
