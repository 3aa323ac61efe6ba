/**
 * The agent's configuration: flags override env vars, env vars override defaults.
 * `agentEnv` is the inverse: the env a platform gives an agent process it spawns.
 */
import os from 'node:os';
import path from 'node:path';
import { validateIdentifier } from '../manticore/identifiers.js';
import { ValidationError } from '../lib/errors.js';
import { resolveBinariesFrom, type Binaries } from './binaries.js';
import { LOG_LEVELS, type LogFormat, type LogLevel, type LoadOptions } from './controller.js';
import { AGENT_SETTINGS as S } from './settings.js';
import { parseFlags, parseListen, SettingSource, type ListenAddress } from './source.js';
import { validateToken } from './token.js';

export interface AgentConfig {
  listen: ListenAddress;
  token: string;
  /** absolute path of searchd's config */
  searchdConfig: string;
  mysql: { host: string; port: number };
  /** searchd's HTTP port and binary API port on mysql.host */
  httpPort: number;
  apiPort: number;
  /** absolute: the agent's own state (jobs, gate decision) */
  dataDir: string;
  /** absolute, when set: searchd's data_dir (else read from the config) */
  manticoreDataDir?: string;
  clusterName: string;
  nodeName: string;
  binaries: Binaries;
  logLevel: LogLevel;
  logFormat: LogFormat;
  help: boolean;
}

export const AGENT_FLAGS = Object.values(S)
  .map((d) => ('flag' in d ? d.flag : undefined))
  .filter((f): f is string => f !== undefined);

export function loadAgentConfig(options: LoadOptions): AgentConfig {
  const { flags, positional } = parseFlags(options.argv ?? [], AGENT_FLAGS);
  if (positional.length > 0) {
    throw new ValidationError(positional[0] ?? 'argument', `unexpected argument: flags are written '--name value' (${AGENT_FLAGS.join(', ')})`);
  }
  const src = new SettingSource(options.env, flags);
  const cwd = options.cwd ?? process.cwd();
  const help = flags['--help'] === true;

  const listenRaw = src.raw(S.listen);
  const listen = listenRaw ? parseListen(listenRaw.value, listenRaw.from, '0.0.0.0') : { host: '0.0.0.0', port: 8080 };
  const tokenRaw = src.raw(S.token);
  if (!tokenRaw && !help) {
    throw new ValidationError('ORCHESTRATOR_TOKEN', "the agent needs the controller's token: set ORCHESTRATOR_TOKEN (or AUTH_TOKEN)");
  }
  const clusterRaw = src.raw(S.clusterName);
  const manticoreDataDir = src.string(S.manticoreDataDir);
  return {
    listen,
    token: tokenRaw ? validateToken(tokenRaw.value, tokenRaw.from) : '',
    searchdConfig: path.resolve(cwd, src.string(S.searchdConfig, '/etc/manticoresearch/manticore.conf')),
    mysql: { host: src.string(S.mysqlHost, '127.0.0.1'), port: src.port(S.mysqlPort, 9306) },
    httpPort: src.port(S.httpPort, 9308),
    apiPort: src.port(S.apiPort, 9312),
    dataDir: path.resolve(cwd, src.string(S.dataDir, '/var/lib/manticore/.agent')),
    ...(manticoreDataDir === undefined ? {} : { manticoreDataDir: path.resolve(cwd, manticoreDataDir) }),
    clusterName: clusterRaw ? validateIdentifier(clusterRaw.value, 'cluster', clusterRaw.from) : 'manticore',
    nodeName: src.string(S.nodeName, os.hostname()),
    binaries: resolveBinariesFrom(options.env),
    logLevel: src.oneOf(S.logLevel, LOG_LEVELS, 'info'),
    logFormat: src.oneOf(S.logFormat, ['json', 'pretty'] as const, 'json'),
    help,
  };
}

/** The env vars that make `loadAgentConfig` return `config` (what a platform passes to an agent it spawns). */
export function agentEnv(config: Omit<AgentConfig, 'help'>): Record<string, string> {
  const env: Record<string, string> = {
    AGENT_LISTEN: `${config.listen.host}:${config.listen.port}`,
    ORCHESTRATOR_TOKEN: config.token,
    SEARCHD_CONFIG: config.searchdConfig,
    MYSQL_HOST: config.mysql.host,
    MYSQL_PORT: String(config.mysql.port),
    MANTICORE_HTTP_PORT: String(config.httpPort),
    MANTICORE_API_PORT: String(config.apiPort),
    AGENT_DATA_DIR: config.dataDir,
    CLUSTER_NAME: config.clusterName,
    NODE_NAME: config.nodeName,
    SEARCHD_BIN: config.binaries.searchd,
    INDEXER_BIN: config.binaries.indexer,
    MANTICORE_BACKUP_BIN: config.binaries.backup,
    LOG_LEVEL: config.logLevel,
    LOG_FORMAT: config.logFormat,
  };
  if (config.manticoreDataDir !== undefined) env.MANTICORE_DATA_DIR = config.manticoreDataDir;
  return env;
}
