#!/usr/bin/env node
/**
 * `agent`: the sidecar next to one searchd (DESIGN.md section 2).
 *
 *   agent --config <file.json>
 *   agent --listen 127.0.0.1:19500 --token <token> --searchd-config <path> [--mysql 127.0.0.1:9306]
 *         [--data-dir <dir>] [--jobs-dir <dir>] [--cluster <name>] [--indexer <bin>] [--searchd <bin>]
 *         [--backup <bin>] [--log-level info]
 *
 * The JSON config file holds the same settings (listen, token, mysql, searchdConfig, dataDir,
 * jobsDir, cluster, binaries:{searchd,indexer,backup}, logLevel); flags override it. The token may
 * also come from AGENT_TOKEN or AUTH_TOKEN (the original agent's variable). data_dir and the mysql
 * listener default to what the searchd config says; binaries default to SEARCHD_BIN / INDEXER_BIN /
 * MANTICORE_BACKUP_BIN, else the simulator's. Jobs, the start gate and the declared tables are kept
 * in <data_dir>/.agent unless --jobs-dir says otherwise. Logs are JSON on stderr. SIGTERM/SIGINT stop
 * it gracefully (running jobs are cancelled).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { resolveBinaries } from '../sim/launcher.js';
import { startAgentServer, validateAgentConfig, type AgentServerConfig } from '../agent/server/index.js';
import { parseSearchdSection } from '../agent/server/node-files.js';

const USAGE = `usage: agent --config <file.json>
       agent --listen HOST:PORT --token TOKEN --searchd-config PATH [--mysql HOST:PORT] [--data-dir DIR]
             [--jobs-dir DIR] [--cluster NAME] [--indexer BIN] [--searchd BIN] [--backup BIN] [--log-level LEVEL]
token also from AGENT_TOKEN or AUTH_TOKEN`;

class UsageError extends Error {}

function hostPort(value: string, what: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(value.trim());
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`${what}: expected HOST:PORT, e.g. 127.0.0.1:19500 (got '${value}')`);
  return { host: (m[1] ?? '').replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', port };
}

interface FileConfig {
  listen?: string;
  token?: string;
  mysql?: string;
  searchdConfig?: string;
  dataDir?: string;
  jobsDir?: string;
  cluster?: string;
  binaries?: { searchd?: string; indexer?: string; backup?: string };
  logLevel?: string;
}

function readConfigFile(file: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--config ${file}: cannot read (${errorMessage(err)})`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as FileConfig;
  } catch (err) {
    throw new UsageError(`--config ${file}: not a JSON object of agent settings (${errorMessage(err)})`);
  }
}

function buildConfig(argv: string[], env: NodeJS.ProcessEnv): { config: AgentServerConfig; logLevel: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      token: { type: 'string' },
      mysql: { type: 'string' },
      'searchd-config': { type: 'string' },
      'data-dir': { type: 'string' },
      'jobs-dir': { type: 'string' },
      cluster: { type: 'string' },
      indexer: { type: 'string' },
      searchd: { type: 'string' },
      backup: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const file: FileConfig = values.config === undefined ? {} : readConfigFile(values.config);
  const base = values.config === undefined ? process.cwd() : path.dirname(path.resolve(values.config));
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(base, p));

  const searchdConfig = values['searchd-config'] ?? abs(file.searchdConfig);
  let section: ReturnType<typeof parseSearchdSection> = {};
  if (searchdConfig !== undefined) {
    try {
      section = parseSearchdSection(readFileSync(searchdConfig, 'utf8'), searchdConfig);
    } catch (err) {
      throw new UsageError(`--searchd-config ${searchdConfig}: cannot read (${errorMessage(err)})`);
    }
  }
  const listen = hostPort(values.listen ?? file.listen ?? '127.0.0.1:19500', '--listen');
  const mysqlText = values.mysql ?? file.mysql;
  const mysql = mysqlText !== undefined ? hostPort(mysqlText, '--mysql') : (section.mysql ?? { host: '127.0.0.1', port: 9306 });
  const dataDir = values['data-dir'] ?? abs(file.dataDir) ?? section.dataDir;
  if (dataDir === undefined) throw new UsageError('--data-dir: not given and the searchd config (--searchd-config) names no data_dir');
  const defaults = resolveBinaries(env);
  const token = values.token ?? file.token ?? env.AGENT_TOKEN ?? env.AUTH_TOKEN;
  if (token === undefined || token === '') throw new UsageError('token: give --token, "token" in the config file, or AGENT_TOKEN / AUTH_TOKEN');
  const config: AgentServerConfig = {
    host: listen.host,
    port: listen.port,
    token,
    mysql,
    dataDir: path.resolve(dataDir),
    jobsDir: path.resolve(values['jobs-dir'] ?? abs(file.jobsDir) ?? path.join(dataDir, '.agent')),
    binaries: {
      searchd: values.searchd ?? file.binaries?.searchd ?? defaults.searchd,
      indexer: values.indexer ?? file.binaries?.indexer ?? defaults.indexer,
      backup: values.backup ?? file.binaries?.backup ?? defaults.backup,
    },
  };
  if (searchdConfig !== undefined) config.searchdConfig = path.resolve(searchdConfig);
  const cluster = values.cluster ?? file.cluster;
  if (cluster !== undefined) config.cluster = cluster;
  validateAgentConfig(config);
  return { config, logLevel: values['log-level'] ?? file.logLevel ?? env.LOG_LEVEL ?? 'info' };
}

async function main(): Promise<void> {
  let built: { config: AgentServerConfig; logLevel: string };
  try {
    built = buildConfig(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(`agent: ${errorMessage(err)}\n${USAGE}`);
    process.exit(2);
  }
  const logger = createLogger({ level: built.logLevel, defaultMeta: { component: 'agent' } });
  const server = await startAgentServer(built.config, { logger });
  console.log(JSON.stringify({ agent: server.url }));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('agent stopping', { signal });
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('agent stop failed', { err: errorMessage(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`agent: ${errorMessage(err)}`);
  process.exit(1);
});
