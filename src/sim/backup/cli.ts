/**
 * Entry of manticore-backup-sim: parses the flags and runs backup, restore, list or unlock.
 * SIGTERM/SIGINT during a backup stop it between files; every frozen table is unfrozen first.
 */
import { parseBackupArgs, USAGE } from './args.js';
import { BACKUP_TOOL_VERSION, BANNER, runBackup, runList, runRestore, runUnlock, type BackupIo } from './backup.js';

export async function runBackupCli(argv: string[], io: BackupIo, signal?: AbortSignal): Promise<number> {
  const parsed = parseBackupArgs(argv);
  switch (parsed.kind) {
    case 'help':
      io.stdout(`${BANNER}\n\n${USAGE}`);
      return 0;
    case 'version':
      io.stdout(`${BANNER}\nmanticore-backup ${BACKUP_TOOL_VERSION}\n`);
      return 0;
    case 'error':
      io.stdout(`${BANNER}\n`);
      io.stderr(`${parsed.message}\n\n${USAGE}`);
      return 1;
  }
  const args = parsed.args;
  if (args.unlock) return runUnlock(args, io);
  if (args.restore === '') return runList(args, io);
  if (args.restore !== undefined) return runRestore(args, io);
  return runBackup(args, io, signal);
}
