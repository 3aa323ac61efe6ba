/**
 * Command line of `manticore-backup` as the simulator supports it:
 *
 *   --config=FILE | --config FILE   (default /etc/manticoresearch/manticore.conf)
 *   --backup-dir=DIR | --backup-dir DIR   (required; must exist)
 *   --tables=a,b        only these tables (default: every RT/percolate table)
 *   --compress          gzip every file (the real tool uses zstd)
 *   --restore           list the backups in --backup-dir
 *   --restore=NAME      restore the whole node from backup NAME
 *   --force             skip the version check on restore
 *   --unlock            UNFREEZE the tables (after a backup that died) and exit
 *   --disable-telemetry accepted (the simulator sends none); also TELEMETRY=0
 *   --help / -h, --version / -v
 */

export const DEFAULT_CONFIG = '/etc/manticoresearch/manticore.conf';

export interface BackupArgs {
  config: string;
  /** true when --config was given */
  configGiven: boolean;
  backupDir?: string;
  tables?: string[];
  compress: boolean;
  /** undefined: backup; '': list backups; otherwise the backup to restore */
  restore?: string;
  force: boolean;
  unlock: boolean;
  disableTelemetry: boolean;
}

export type ParsedBackupArgs =
  | { kind: 'run'; args: BackupArgs }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'error'; message: string };

const WITH_VALUE = new Set(['--config', '--backup-dir', '--tables']);

export function parseBackupArgs(argv: string[]): ParsedBackupArgs {
  const args: BackupArgs = {
    config: DEFAULT_CONFIG,
    configGiven: false,
    compress: false,
    force: false,
    unlock: false,
    disableTelemetry: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--help' || a === '-h') return { kind: 'help' };
    if (a === '--version' || a === '-v') return { kind: 'version' };
    const eq = a.indexOf('=');
    const flag = eq >= 0 ? a.slice(0, eq) : a;
    let value: string | undefined = eq >= 0 ? a.slice(eq + 1) : undefined;
    if (WITH_VALUE.has(flag) && value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) return { kind: 'error', message: `Option ${flag} requires a value` };
      i++;
    }
    switch (flag) {
      case '--config':
        args.config = value ?? '';
        args.configGiven = true;
        break;
      case '--backup-dir':
        args.backupDir = value ?? '';
        break;
      case '--tables': {
        const tables = (value ?? '')
          .split(',')
          .map((t) => t.trim())
          .filter((t) => t !== '');
        if (tables.length === 0) return { kind: 'error', message: 'Option --tables requires at least one table name' };
        args.tables = tables;
        break;
      }
      case '--compress':
        if (value !== undefined) return { kind: 'error', message: `Option --compress does not take a value` };
        args.compress = true;
        break;
      case '--restore':
        args.restore = value ?? '';
        break;
      case '--force':
        args.force = true;
        break;
      case '--unlock':
        args.unlock = true;
        break;
      case '--disable-telemetry':
        args.disableTelemetry = true;
        break;
      default:
        return { kind: 'error', message: `Unknown option: ${a}` };
    }
  }
  if (args.backupDir === undefined && !args.unlock) {
    return { kind: 'error', message: 'Failed to find backup dir to store backup: --backup-dir is required' };
  }
  return { kind: 'run', args };
}

export const USAGE = `Usage:
  manticore-backup-sim --backup-dir=path/to/backup [OPTIONS]

--backup-dir='path/to/backup'
  Backup directory; must already exist. A backup-<datetime> directory is created in it.
--config='/path/to/manticore.conf'
  Path to the Manticore configuration (default ${DEFAULT_CONFIG}).
--tables=table1,table2,...
  Tables to back up (default: all RT and percolate tables).
--compress
  Compress the files (gzip in the simulator; the real tool uses zstd).
--restore[=backup]
  List the backups in --backup-dir, or restore the named one.
--unlock
  UNFREEZE the tables left frozen by an interrupted backup.
--force
  Skip the versions check on restore.
--disable-telemetry
  Accepted for compatibility; the simulator sends no telemetry.
`;
