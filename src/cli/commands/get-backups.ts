/** `mctl get backups TABLE [--type delta|main]`: the table's archives in the bucket, newest first. */
import { UsageError } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatList, type Column } from '../printer.js';

export interface BackupFileView {
  filename: string;
  key: string;
  size: number;
  lastModified: string;
}

export const BACKUP_FILE_COLUMNS: Column<BackupFileView>[] = [
  { header: 'FILE', value: (b) => b.filename },
  { header: 'SIZE', value: (b) => b.size },
  { header: 'MODIFIED', value: (b) => b.lastModified },
  { header: 'KEY', value: (b) => b.key, wide: true },
];

export async function runGetBackups(ctx: CommandContext): Promise<number> {
  const [, table, ...rest] = ctx.args.positionals;
  if (table === undefined) throw new UsageError('name the table: mctl get backups TABLE', 'get');
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`, 'get');
  const type = ctx.args.flags.type;
  if (type !== undefined && type !== 'delta' && type !== 'main') throw new UsageError('--type must be delta or main', 'get');
  const q = new URLSearchParams({ tableName: table, ...(typeof type === 'string' ? { type } : {}) });
  const res = await ctx.api().getRaw<{ backups: BackupFileView[] | null }>(`/api/backups/files?${q.toString()}`);
  ctx.io.out(formatList(ctx.format, res.backups ?? [], BACKUP_FILE_COLUMNS, `No backups of ${table}.`));
  return 0;
}
