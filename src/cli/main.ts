/**
 * mctl: a kubectl-like client of the controller API. `runMctl` parses the arguments, runs one
 * command and returns the exit status: 0 success, 1 failure, 2 usage error.
 */
import { UsageError, parseArgs } from './args.js';
import type { ParsedArgs } from './args.js';
import { CliError } from './client.js';
import { BOOTSTRAP_HELP, runBootstrap } from './commands/bootstrap.js';
import { CANCEL_HELP, runCancel } from './commands/cancel.js';
import { IMPORT_HELP, runImport } from './commands/import.js';
import { BACKUP_HELP, runBackup } from './commands/backup.js';
import { RESTORE_HELP, runRestore } from './commands/restore.js';
import { REPAIR_HELP, runRepair } from './commands/repair.js';
import { RECONCILE_HELP, runReconcile } from './commands/reconcile.js';
import { DESCRIBE_HELP, runDescribe } from './commands/describe.js';
import { GET_HELP, runGet } from './commands/get.js';
import { QUERY_HELP, runQuery } from './commands/query.js';
import { VALIDATE_HELP, runValidate } from './commands/validate.js';
import { apiClientFor } from './context.js';
import type { CliEnv, CommandContext } from './context.js';
import { parseOutputFormat } from './printer.js';
import type { Io } from './printer.js';

export const MAIN_HELP = `mctl: command-line client of the Manticore Orchestrator controller.

Usage:
  mctl COMMAND [ARGS] [FLAGS]

Commands:
  get nodes|tables|operations|conditions   list resources
  describe table NAME | operation ID       show one resource in detail
  validate FILE...                         check table spec files offline
  query [--node N|--all] [--write] SQL     run SQL on one node or on every node
  bootstrap --node N --force               request a forced bootstrap from one node
  import TABLE [--source URL] [--wait]     blue/green import of a table
  cancel ID                                cancel a running import
  backup TABLE [--type delta|main] [--wait] back up a table to the bucket
  restore TABLE FILE [--wait]              restore a table from an archive
  repair [--source NODE] [--wait]          repair a split brain (one side survives, the others rejoin it)
  reconcile                                read every node and table again now
  get backups TABLE                        list a table's archives, newest first

Global flags:
      --server URL      controller API (default $MCTL_SERVER, else http://127.0.0.1:8080)
      --token TOKEN     API token (default $MCTL_TOKEN, else $ORCHESTRATOR_TOKEN)
  -o, --output FORMAT   table, wide, json or yaml
  -w, --watch           (get, describe) print again on every change
  -h, --help            help; 'mctl COMMAND --help' for a command

Exit status: 0 success, 1 failure (API error, failed query, invalid spec), 2 usage error.
`;

interface CommandDef {
  help: string;
  run: (ctx: CommandContext) => Promise<number>;
}

const COMMANDS: Record<string, CommandDef> = {
  get: { help: GET_HELP, run: runGet },
  describe: { help: DESCRIBE_HELP, run: runDescribe },
  validate: { help: VALIDATE_HELP, run: runValidate },
  query: { help: QUERY_HELP, run: runQuery },
  bootstrap: { help: BOOTSTRAP_HELP, run: runBootstrap },
  import: { help: IMPORT_HELP, run: runImport },
  cancel: { help: CANCEL_HELP, run: runCancel },
  backup: { help: BACKUP_HELP, run: runBackup },
  restore: { help: RESTORE_HELP, run: runRestore },
  repair: { help: REPAIR_HELP, run: runRepair },
  reconcile: { help: RECONCILE_HELP, run: runReconcile },
};

export async function runMctl(argv: readonly string[], env: CliEnv, io: Io, signal: AbortSignal): Promise<number> {
  let args: ParsedArgs;
  let commandName: string | undefined;
  try {
    args = parseArgs(argv);
    commandName = args.positionals[0];
    if (commandName === 'help') {
      const topic = args.positionals[1];
      io.out(topic !== undefined && COMMANDS[topic] ? (COMMANDS[topic]?.help ?? MAIN_HELP) : MAIN_HELP);
      return 0;
    }
    if (commandName === undefined) {
      if (args.flags.help === true) {
        io.out(MAIN_HELP);
        return 0;
      }
      throw new UsageError('name a command');
    }
    const command = COMMANDS[commandName];
    if (command === undefined) throw new UsageError(`unknown command '${commandName}'`);
    if (args.flags.help === true) {
      io.out(command.help);
      return 0;
    }
    const format = parseOutputFormat(typeof args.flags.output === 'string' ? args.flags.output : undefined);
    const commandArgs: ParsedArgs = { positionals: args.positionals.slice(1), flags: args.flags };
    let client: ReturnType<typeof apiClientFor> | undefined;
    const ctx: CommandContext = {
      args: commandArgs,
      io,
      format,
      env,
      signal,
      api: () => (client ??= apiClientFor(commandArgs, env)),
    };
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      const cmd = err.command ?? (commandName !== undefined && COMMANDS[commandName] ? commandName : undefined);
      io.err(`mctl: ${err.message}\nRun 'mctl ${cmd === undefined ? '' : `${cmd} `}--help' for usage.\n`);
      return 2;
    }
    if (err instanceof CliError) {
      io.err(`mctl: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
      return 1;
    }
    io.err(`mctl: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
