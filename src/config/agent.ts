/**
 * The agent's configuration: flags override env vars, env vars override defaults. Flag names are
 * those of `agent` (src/bin/agent.ts). `agentLaunch` is the inverse: the argv and env a platform
 * gives an agent process it spawns (the token travels in the env, never on the command line).
 */
import path from 'node:path';
import { validateIdentifier } from '../manticore/identifiers.js';
import { ValidationError } from '../lib/errors.js';
import { resolveBinariesFrom, type Binaries } from './binaries.js';
import { LOG_LEVELS, type LoadOptions, type LogLevel } from './controller.js';
import { AGENT_SETTINGS as S } from './settings.js';
import { parseFlags, parseListen, SettingSource, type ListenAddress } from './source.js';
import { validateToken } from './token.js';

export interface AgentConfig {
  listen: ListenAddress;
  token: string;
  /** absolute path of searchd's config, when given */
  searchdConfig?: string;
  /** searchd's MySQL listener, when given (else the agent reads it from searchd's config) */
  mysql?: { host: string; port: number };
  /** absolute: searchd's data_dir, when given (else from searchd's config) */
  dataDir?: string;
  /** absolute: the agent's own state, when given (else `<data dir>/.agent`) */
  jobsDir?: string;
  clusterName?: string;
  binaries: Binaries;
  logLevel: LogLevel;
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
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(cwd, p));

  const listenRaw = src.raw(S.listen);
  const listen = listenRaw ? parseListen(listenRaw.value, listenRaw.from, '127.0.0.1') : { host: '127.0.0.1', port: 19500 };
  const tokenRaw = src.raw(S.token);
  if (!tokenRaw && !help) {
    throw new ValidationError('AGENT_TOKEN', "the agent needs the controller's token: set AGENT_TOKEN (or ORCHESTRATOR_TOKEN / AUTH_TOKEN)");
  }

  let mysql: { host: string; port: number } | undefined;
  const mysqlRaw = src.raw(S.mysql);
  if (mysqlRaw) {
    if (!mysqlRaw.value.includes(':')) throw new ValidationError(mysqlRaw.from, `'${mysqlRaw.value}': write 'host:port', e.g. 127.0.0.1:9306`);
    mysql = parseListen(mysqlRaw.value, mysqlRaw.from, '127.0.0.1');
  } else if (src.raw(S.mysqlHost) || src.raw(S.mysqlPort)) {
    mysql = { host: src.string(S.mysqlHost, '127.0.0.1'), port: src.port(S.mysqlPort, 9306) };
  }

  const envBins = resolveBinariesFrom(options.env);
  const binaries: Binaries = {
    ...envBins,
    searchd: src.string(S.searchdBin, envBins.searchd),
    indexer: src.string(S.indexerBin, envBins.indexer),
    backup: src.string(S.backupBin, envBins.backup),
  };
  binaries.isSimulator = /searchd-sim(\.[cm]?js)?$/.test(path.basename(binaries.searchd));

  const clusterRaw = src.raw(S.clusterName);
  const config: AgentConfig = {
    listen,
    token: tokenRaw ? validateToken(tokenRaw.value, tokenRaw.from) : '',
    binaries,
    logLevel: src.oneOf(S.logLevel, LOG_LEVELS, 'info'),
    help,
  };
  const searchdConfig = abs(src.string(S.searchdConfig));
  if (searchdConfig !== undefined) config.searchdConfig = searchdConfig;
  if (mysql) config.mysql = mysql;
  const dataDir = abs(src.string(S.dataDir));
  if (dataDir !== undefined) config.dataDir = dataDir;
  const jobsDir = abs(src.string(S.jobsDir));
  if (jobsDir !== undefined) config.jobsDir = jobsDir;
  if (clusterRaw) config.clusterName = validateIdentifier(clusterRaw.value, 'cluster', clusterRaw.from);
  return config;
}

/** The argv (flags of `agent`) and env (the token) that make an agent process run with `config`. */
export function agentLaunch(config: Omit<AgentConfig, 'help'>): { args: string[]; env: Record<string, string> } {
  const args = ['--listen', `${config.listen.host}:${config.listen.port}`];
  if (config.searchdConfig !== undefined) args.push('--searchd-config', config.searchdConfig);
  if (config.mysql) args.push('--mysql', `${config.mysql.host}:${config.mysql.port}`);
  if (config.dataDir !== undefined) args.push('--data-dir', config.dataDir);
  if (config.jobsDir !== undefined) args.push('--jobs-dir', config.jobsDir);
  if (config.clusterName !== undefined) args.push('--cluster', config.clusterName);
  args.push('--searchd', config.binaries.searchd, '--indexer', config.binaries.indexer, '--backup', config.binaries.backup);
  args.push('--log-level', config.logLevel);
  return { args, env: { AGENT_TOKEN: config.token } };
}
