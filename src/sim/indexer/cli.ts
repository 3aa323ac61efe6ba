/**
 * `indexer-sim`: command line of Manticore's `indexer` for tsvpipe/csvpipe sources.
 *
 *   indexer-sim [--config FILE | -c FILE] (--all | <table>...) [--rotate] [--nohup] [--quiet]
 *               [--noprogress] [--sighup-each] [--verbose]
 *
 * Exit codes as indexer: 0 ok; 1 a problem (nothing built, bad option, bad config, a named table
 * failed); 2 built but the rotation (SIGHUP to searchd) failed. Like the real tool, with --all a
 * failing table does not by itself make the exit code non-zero if another table was built.
 * Messages go to stdout as with indexer; WARNING/ERROR/FATAL lines are also copied to stderr.
 */
import fs from 'node:fs';
import { ConfigError, getValue, parseConfig, type ManticoreConfig } from '../config/config-file.js';
import { buildTable, DEFAULT_MEM_LIMIT, MAX_MEM_LIMIT, parseSize, type IndexerOutput } from './build.js';

export const DEFAULT_CONFIG = '/etc/manticoresearch/manticore.conf';
export const BANNER = 'Manticore 15.1.0 60a44d1f0@25120503 (indexer-sim, Manticore simulator)';

export interface IndexerArgs {
  config: string;
  all: boolean;
  tables: string[];
  rotate: boolean;
  sendHup: boolean;
  quiet: boolean;
  verbose: boolean;
}

export interface CliStreams {
  stdout(text: string): void;
  stderr(text: string): void;
}

export type ParsedArgs = { kind: 'run'; args: IndexerArgs } | { kind: 'help' } | { kind: 'version' } | { kind: 'error'; message: string };

const USAGE = `Usage: indexer-sim [OPTIONS] [tablename1 [tablename2 [...]]]

Options are:
-h, --help\t\tdisplay this help message
-v, --version\t\tdisplay version information
--config <file>\t\tread configuration from specified file
\t\t\t(default is ${DEFAULT_CONFIG})
--all\t\t\tbuild all configured tables
--quiet\t\t\tbe quiet, only print errors
--noprogress\t\tdo not display progress
--rotate\t\twrite <path>.new.* and send SIGHUP to searchd when building is over
--nohup\t\t\twith --rotate: do not send SIGHUP
--sighup-each\t\taccepted; the simulator rotates once at the end
`;

export function parseIndexerArgs(argv: string[]): ParsedArgs {
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) return { kind: 'help' };
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) return { kind: 'version' };
  if (argv.length === 0) return { kind: 'help' };
  const args: IndexerArgs = { config: DEFAULT_CONFIG, all: false, tables: [], rotate: false, sendHup: true, quiet: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const lower = a.toLowerCase();
    if ((a === '--config' || a === '-c') && i + 1 < argv.length) args.config = argv[++i] ?? '';
    else if (a.startsWith('--config=')) args.config = a.slice('--config='.length);
    else if (lower === '--all') args.all = true;
    else if (lower === '--rotate') args.rotate = true;
    else if (lower === '--nohup') args.sendHup = false;
    else if (lower === '--quiet') args.quiet = true;
    else if (lower === '--noprogress' || lower === '--sighup-each') continue;
    else if (lower === '--verbose') args.verbose = true;
    else if (/^[A-Za-z0-9_*?%]/.test(a)) args.tables.push(a);
    else return { kind: 'error', message: `ERROR: malformed or unknown option near '${a}'.` };
  }
  if (!args.all && args.tables.length === 0) return { kind: 'error', message: 'ERROR: nothing to do.' };
  return { kind: 'run', args };
}

function wildcardToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/[*%]/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Sends SIGHUP to the searchd named by the config's pid_file; false (with a WARNING) on failure. */
function sendRotate(config: ManticoreConfig, out: IndexerOutput, quiet: boolean): boolean {
  const searchd = config.section('searchd');
  if (searchd === undefined) {
    out.problem("WARNING: 'searchd' section not found in config file.");
    return false;
  }
  const pidFile = getValue(searchd.entries, 'pid_file');
  if (pidFile === undefined) {
    out.problem("WARNING: 'pid_file' parameter not found in 'searchd' config section.");
    return false;
  }
  let text: string;
  try {
    text = fs.readFileSync(pidFile, 'utf8');
  } catch {
    out.problem(`WARNING: failed to open pid_file '${pidFile}'.`);
    return false;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    out.problem(`WARNING: failed to scanf pid from pid_file '${pidFile}'.`);
    return false;
  }
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') out.problem(`WARNING: no process found by PID ${pid}.`);
    else if (code === 'EPERM') out.problem(`WARNING: access denied to PID ${pid}.`);
    else out.problem(`WARNING: kill() error: ${(err as Error).message}.`);
    return false;
  }
  if (!quiet) out.info(`rotating tables: successfully sent SIGHUP to searchd (pid=${pid}).`);
  return true;
}

/** Runs the indexer; resolves with the exit code. */
export async function runIndexer(argv: string[], io: CliStreams): Promise<number> {
  const out: IndexerOutput = {
    info: (line) => io.stdout(line + '\n'),
    problem: (line) => {
      io.stdout(line + '\n');
      if (!line.startsWith('WARNING')) io.stderr(line + '\n');
    },
  };
  const fatal = (msg: string): number => {
    out.problem(`FATAL: ${msg}`);
    return 1;
  };
  const parsed = parseIndexerArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout(`${BANNER}\n\n${USAGE}`);
    return argv.length === 0 ? 1 : 0;
  }
  if (parsed.kind === 'version') {
    io.stdout(`${BANNER}\n`);
    return 0;
  }
  if (parsed.kind === 'error') {
    io.stdout(`${BANNER}\n\n`);
    out.problem(parsed.message);
    return 1;
  }
  const args = parsed.args;
  if (!args.quiet) io.stdout(`${BANNER}\n\n`);

  let text: string;
  try {
    text = fs.readFileSync(args.config, 'utf8');
  } catch {
    return fatal(`config file '${args.config}' does not exist or is not readable`);
  }
  if (!args.quiet) out.info(`using config file '${args.config}'...`);
  let config: ManticoreConfig;
  try {
    config = parseConfig(text, args.config);
  } catch (err) {
    if (err instanceof ConfigError) return fatal(err.message);
    throw err;
  }
  if (config.names('source').length === 0) return fatal(`no tables found in config file '${args.config}'`);

  let memLimit = DEFAULT_MEM_LIMIT;
  const indexer = config.section('indexer');
  const memText = indexer === undefined ? undefined : getValue(indexer.entries, 'mem_limit');
  if (memText !== undefined) {
    try {
      memLimit = parseSize(memText);
    } catch {
      return fatal(`indexer: invalid mem_limit '${memText}'`);
    }
    if (memLimit > MAX_MEM_LIMIT) {
      out.problem(`WARNING: mem_limit=${memText} out of bounds, using 2047M.`);
      memLimit = MAX_MEM_LIMIT;
    }
  }
  if (args.verbose) out.info(`mem_limit ${memLimit} bytes`);

  const allTables = config.names('table');
  let names: string[];
  if (args.all) names = allTables;
  else {
    names = [];
    for (const t of args.tables) {
      if (/[*?%]/.test(t)) {
        const re = wildcardToRegExp(t);
        for (const n of allTables) if (re.test(n) && !names.includes(n)) names.push(n);
      } else names.push(t);
    }
  }

  let indexed = 0;
  let failed = 0;
  const opts = { rotate: args.rotate, quiet: args.quiet, out };
  for (const name of names) {
    if (!args.all && !allTables.includes(name)) {
      out.problem(`WARNING: no such table '${name}', skipping.`);
      continue;
    }
    const res = await buildTable(config, name, opts);
    if (res.ok) indexed++;
    else if (!args.all) failed++;
  }
  if (!args.quiet) {
    out.info('total 0 reads, 0.000 sec, 0.0 kb/call avg, 0.0 msec/call avg');
    out.info(`total ${indexed * 2} writes, 0.000 sec, 0.0 kb/call avg, 0.0 msec/call avg`);
  }
  const ok = indexed > 0 && failed === 0;
  let code = ok ? 0 : 1;
  if (ok && args.rotate && args.sendHup) {
    if (!sendRotate(config, out, args.quiet)) {
      out.problem('WARNING: tables NOT rotated.');
      code = 2;
    }
  }
  return code;
}
