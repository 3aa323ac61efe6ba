#!/usr/bin/env node
/**
 * `npm start`: the local cluster in one command (issue 3 item 7). N nodes (default 3) with their
 * agents on loopback, the controller and the API on 127.0.0.1:8080, example table specs, printed
 * URLs and token. Real searchd/indexer when on PATH or named by SEARCHD_BIN / INDEXER_BIN, the
 * bundled simulator otherwise.
 *
 *   npm start -- [--nodes N] [--port P] [--data-dir DIR] [--cluster NAME] [--help]
 *
 * Data directory: `--data-dir`, else ORCHESTRATOR_DATA_DIR / DATA_DIR, else `~/.manticore-orchestrator/dev`
 * (outside the repository, so a checkout never holds node data). On the first run the example specs
 * of examples/tables/ are copied into `<data-dir>/specs/` (edit them there; the directory is watched).
 * A second `npm start` with the same data directory brings the same cluster back through the restart
 * path (the nodes ask their agent's start gate how to start; the controller decides).
 * Token: ORCHESTRATOR_TOKEN, else generated once into `<data-dir>/token` and reused.
 * Ctrl-C / SIGTERM: the controller stops, then every node stops cleanly.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { controllerUsage, loadControllerConfig, loadControllerToken } from '../config/controller.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { repoRoot } from '../sim/launcher.js';
import { startStack, stopOnSignals } from './controller.js';

export const DEFAULT_DEV_DATA_DIR = path.join(os.homedir(), '.manticore-orchestrator', 'dev');
const EXAMPLES_DIR = path.join(repoRoot(), 'examples', 'tables');

/** Copies the example specs into an empty or missing specs directory; returns the files copied. */
export function seedExampleSpecs(specsDir: string, examplesDir = EXAMPLES_DIR): string[] {
  if (existsSync(specsDir) && readdirSync(specsDir).length > 0) return [];
  mkdirSync(specsDir, { recursive: true });
  if (!existsSync(examplesDir)) return [];
  const copied: string[] = [];
  for (const f of readdirSync(examplesDir).filter((n) => n.endsWith('.json')).sort()) {
    copyFileSync(path.join(examplesDir, f), path.join(specsDir, f));
    copied.push(f);
  }
  return copied;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const env = process.env;
  const hasDataDir = argv.some((a) => a === '--data-dir' || a.startsWith('--data-dir=')) || env.ORCHESTRATOR_DATA_DIR !== undefined || env.DATA_DIR !== undefined;
  const config = loadControllerConfig({ env, argv: hasDataDir ? argv : [...argv, '--data-dir', DEFAULT_DEV_DATA_DIR] });
  if (config.help) {
    say(controllerUsage('npm start --'));
    return;
  }
  if (config.platform.kind !== 'local') {
    throw new Error('npm start runs the local cluster: unset NODES / PLATFORM, or run the controller (node dist/src/bin/controller.js) for a static node list');
  }
  mkdirSync(config.dataDir, { recursive: true });
  const copied = seedExampleSpecs(config.specsDir);
  // a terminal session reads pretty lines unless LOG_FORMAT / --log-format asks for something else
  const formatAsked = env.LOG_FORMAT !== undefined || argv.some((a) => a === '--log-format' || a.startsWith('--log-format='));
  const logger = createLogger({ level: config.logLevel, format: formatAsked ? config.logFormat : 'pretty', defaultMeta: { process: 'controller' } });
  const token = loadControllerToken(env, config.dataDir);
  say(`starting ${config.platform.nodes} local node(s) in ${config.dataDir} (${config.platform.binaries.isSimulator ? 'simulator' : 'real Manticore'})...`);
  const stack = await startStack({ config, token: token.token, env, logger });
  const nodes = await stack.platform.listNodes();
  say('');
  say(`Manticore Orchestrator is running (cluster '${config.clusterName}')`);
  say(`  API        ${stack.url ?? '(not served)'}/api/status`);
  say(`  token      ${token.token}  (${token.source === 'env' ? `from ${token.from ?? 'env'}` : `stored in ${token.file ?? 'the data dir'}`})`);
  say(`  try        curl -H 'Authorization: Bearer ${token.token}' ${stack.url ?? ''}/api/cluster`);
  say(`  specs      ${config.specsDir}${copied.length > 0 ? ` (examples copied: ${copied.join(', ')})` : ''}`);
  for (const n of nodes) say(`  ${n.name.padEnd(10)} mysql -h ${n.mysql.host} -P ${n.mysql.port}   agent ${n.agentUrl}`);
  say('Ctrl-C stops everything cleanly; npm start with the same --data-dir brings the same cluster back.');
  stopOnSignals(stack, logger, say);
}

main().catch((err: unknown) => {
  process.stderr.write(`npm start: ${errorMessage(err)}\n`);
  process.exit(1);
});
