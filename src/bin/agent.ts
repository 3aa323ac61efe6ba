#!/usr/bin/env node
/**
 * `agent`: the sidecar next to one searchd (DESIGN.md section 2).
 *
 *   agent --config <file.json>
 *   agent --listen 127.0.0.1:19500 --token <token> --searchd-config <path> [--mysql 127.0.0.1:9306]
 *         [--data-dir <dir>] [--jobs-dir <dir>] [--cluster <name>] [--indexer <bin>] [--searchd <bin>]
 *         [--backup <bin>] [--log-level info]
 *
 * Flags and env vars are read by src/config (loadAgentConfig: flags > env > defaults). The JSON
 * config file holds the same settings (listen, token, mysql, searchdConfig, dataDir, jobsDir, cluster,
 * binaries:{searchd,indexer,backup}, logLevel) and is turned into flags that the command line's own
 * flags override. The token may also come from AGENT_TOKEN, ORCHESTRATOR_TOKEN or AUTH_TOKEN. data_dir
 * and the mysql listener default to what the searchd config says; binaries default to SEARCHD_BIN /
 * INDEXER_BIN / MANTICORE_BACKUP_BIN, else searchd/indexer on PATH, else the simulator's. Jobs, the start gate and the declared tables are kept
 * in <data_dir>/.agent unless --jobs-dir says otherwise. Logs are JSON on stderr. SIGTERM/SIGINT stop
 * it gracefully (running jobs are cancelled).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { AGENT_FLAGS, loadAgentConfig, processEnv } from '../config/index.js';
import { startAgentServer, validateAgentConfig, type AgentServerConfig } from '../agent/server/index.js';
import { parseSearchdSection } from '../agent/server/node-files.js';

/** Entry-point output for people (stdout); logs go through winston. */
function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

const USAGE = `usage: agent --config <file.json> [flags]
       agent --listen HOST:PORT --token TOKEN --searchd-config PATH [--mysql HOST:PORT] [--data-dir DIR]
             [--jobs-dir DIR] [--cluster NAME] [--indexer BIN] [--searchd BIN] [--backup BIN] [--log-level LEVEL]
flags: --config, ${AGENT_FLAGS.join(', ')}
the token may also come from AGENT_TOKEN, ORCHESTRATOR_TOKEN or AUTH_TOKEN`;

class UsageError extends Error {}

/** JSON config keys and the flag each becomes (paths are resolved against the file's directory). */
const FILE_KEYS: Record<string, { flag: string; path?: boolean }> = {
  listen: { flag: '--listen' },
  token: { flag: '--token' },
  mysql: { flag: '--mysql' },
  searchdConfig: { flag: '--searchd-config', path: true },
  dataDir: { flag: '--data-dir', path: true },
  jobsDir: { flag: '--jobs-dir', path: true },
  cluster: { flag: '--cluster' },
  logLevel: { flag: '--log-level' },
};
const FILE_BINARIES: Record<string, string> = { searchd: '--searchd', indexer: '--indexer', backup: '--backup' };

/** `--config <file.json>` turned into flags (placed before the command line's, which therefore win). */
function fileFlags(file: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--config ${file}: cannot read a JSON object of agent settings (${errorMessage(err)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`--config ${file}: must hold a JSON object`);
  const base = path.dirname(path.resolve(file));
  const out: string[] = [];
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (key === 'binaries' && typeof value === 'object' && value !== null) {
      for (const [bin, v] of Object.entries(value as Record<string, unknown>)) {
        const flag = FILE_BINARIES[bin];
        if (flag === undefined || typeof v !== 'string') throw new UsageError(`--config ${file}: binaries.${bin}: expected one of searchd, indexer, backup with a path`);
        out.push(flag, path.resolve(base, v));
      }
      continue;
    }
    const k = FILE_KEYS[key];
    if (k === undefined) throw new UsageError(`--config ${file}: unknown key '${key}' (known: ${[...Object.keys(FILE_KEYS), 'binaries'].join(', ')})`);
    if (typeof value !== 'string' && typeof value !== 'number') throw new UsageError(`--config ${file}: ${key}: expected a string`);
    out.push(k.flag, k.path ? path.resolve(base, String(value)) : String(value));
  }
  return out;
}

function splitConfigFlag(argv: readonly string[]): { file?: string; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--config') {
      file = argv[++i];
      if (file === undefined) throw new UsageError("--config needs a value: write '--config <file.json>'");
    } else if (a.startsWith('--config=')) file = a.slice('--config='.length);
    else rest.push(a);
  }
  return file === undefined ? { rest } : { file, rest };
}

function buildConfig(argv: readonly string[]): { config: AgentServerConfig; logLevel: string } | 'help' {
  const { file, rest } = splitConfigFlag(argv);
  const loaded = loadAgentConfig({ env: processEnv(), argv: [...(file === undefined ? [] : fileFlags(file)), ...rest] });
  if (loaded.help) return 'help';
  let section: ReturnType<typeof parseSearchdSection> = {};
  if (loaded.searchdConfig !== undefined) {
    try {
      section = parseSearchdSection(readFileSync(loaded.searchdConfig, 'utf8'), loaded.searchdConfig);
    } catch (err) {
      throw new UsageError(`--searchd-config ${loaded.searchdConfig}: cannot read (${errorMessage(err)})`);
    }
  }
  const dataDir = loaded.dataDir ?? section.dataDir;
  if (dataDir === undefined) throw new UsageError('--data-dir: not given, and no searchd config (--searchd-config) with a data_dir');
  const config: AgentServerConfig = {
    host: loaded.listen.host,
    port: loaded.listen.port,
    token: loaded.token,
    mysql: loaded.mysql ?? section.mysql ?? { host: '127.0.0.1', port: 9306 },
    dataDir,
    jobsDir: loaded.jobsDir ?? path.join(dataDir, '.agent'),
    binaries: { searchd: loaded.binaries.searchd, indexer: loaded.binaries.indexer, backup: loaded.binaries.backup },
  };
  if (loaded.searchdConfig !== undefined) config.searchdConfig = loaded.searchdConfig;
  if (loaded.clusterName !== undefined) config.cluster = loaded.clusterName;
  validateAgentConfig(config);
  return { config, logLevel: loaded.logLevel };
}

async function main(): Promise<void> {
  let built: { config: AgentServerConfig; logLevel: string } | 'help';
  try {
    built = buildConfig(process.argv.slice(2));
  } catch (err) {
    console.error(`agent: ${errorMessage(err)}\n${USAGE}`);
    process.exit(2);
  }
  if (built === 'help') {
    say(USAGE);
    return;
  }
  const logger = createLogger({ level: built.logLevel, defaultMeta: { process: 'agent', component: 'agent' } });
  const server = await startAgentServer(built.config, { logger });
  say(JSON.stringify({ agent: server.url }));
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
