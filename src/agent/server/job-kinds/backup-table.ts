/**
 * Job kind `backup-table`: runs the configured `manticore-backup` (or the simulator's) for ONE table
 *   manticore-backup --config=<searchd config> --backup-dir=<backupDir> --tables=<table>
 * and answers `{ dir, files, bytes }`: the `backup-<datetime>` directory the tool made (it holds
 * `data/<table>/<table files>`, what IMPORT TABLE reads), its file count and size.
 *
 * Tables are never left frozen (manticore-facts 7: a node joining while a table is frozen receives
 * the frozen files and silently misses every later row). Whatever the outcome (success, failure,
 * cancel = the tool's process group killed), the job reads `SHOW LOCKS` on the local searchd and runs
 * `UNFREEZE <table>` while the table is still listed. A table it cannot unfreeze fails the job
 * with a message saying so.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage, ValidationError } from '../../../lib/errors.js';
import { ManticoreClient } from '../../../manticore/client.js';
import { showLocks, unfreeze } from '../../../manticore/sql.js';
import { parseFrozenTables } from '../../../manticore/parse.js';
import { JobFailure, type JobContext, type JobKind } from '../jobs.js';
import { runInGroup } from '../process.js';

export const BACKUP_TABLE_JOB_KIND = 'backup-table';
/** UNFREEZE attempts after the tool stopped (a searchd busy with a flush may refuse one). */
export const UNFREEZE_ATTEMPTS = 5;
export const UNFREEZE_RETRY_MS = 500;

export interface BackupTableParams {
  /** full table name, e.g. t_delta or t_main_a */
  table: string;
  /** absolute directory on the shared volume; created when missing */
  backupDir: string;
}

export interface BackupTableSettings {
  /** manticore-backup binary (or the simulator's .js) */
  backupBin: string;
  /** searchd's config file, passed as --config */
  searchdConfig: string | undefined;
  /** the local searchd's MySQL address */
  mysql: { host: string; port: number };
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function validateBackupTableParams(p: Record<string, unknown>): BackupTableParams {
  const { table, backupDir } = p;
  if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
    throw new ValidationError('params.table', 'name one table: letters, digits and underscores, not starting with a digit, e.g. "products_delta"');
  }
  if (typeof backupDir !== 'string' || !path.isAbsolute(backupDir) || backupDir.includes('\0') || path.normalize(backupDir) !== backupDir.replace(/\/+$/, '')) {
    throw new ValidationError('params.backupDir', 'must be a normalized absolute directory on the shared volume, e.g. /var/lib/manticore/shared/backups/products/2025-01-28T22-50-49Z');
  }
  return { table, backupDir };
}

/** Regular files under `dir` and their total size. */
export async function dirFigures(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    for (const ent of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) await walk(p);
      else if (ent.isFile()) {
        files++;
        bytes += (await stat(p)).size;
      }
    }
  };
  await walk(dir);
  return { files, bytes };
}

/** The `backup-*` directory the tool reported ("You can find backup here: <dir>"), else the newest one. */
export async function findBackupDir(backupDir: string, output: readonly string[]): Promise<string | undefined> {
  for (const line of [...output].reverse()) {
    const m = /backup here:\s*(\S+)/.exec(line);
    if (m?.[1] !== undefined && path.dirname(path.resolve(m[1])) === path.resolve(backupDir)) return path.resolve(m[1]);
  }
  let names: string[];
  try {
    names = (await readdir(backupDir)).filter((n) => n.startsWith('backup-')).sort();
  } catch {
    return undefined;
  }
  const last = names[names.length - 1];
  return last === undefined ? undefined : path.join(backupDir, last);
}

/** Tables listed as frozen by SHOW LOCKS. */
export async function frozenTables(client: Pick<ManticoreClient, 'query'>): Promise<string[]> {
  return parseFrozenTables(await client.query(showLocks(), { timeoutMs: 5_000 }));
}

/**
 * Unfreezes `table` until SHOW LOCKS no longer lists it (FREEZE counts: one UNFREEZE per FREEZE).
 * Returns undefined when it is unfrozen, else why not.
 */
export async function ensureUnfrozen(client: Pick<ManticoreClient, 'query' | 'exec'>, table: string, ctx: Pick<JobContext, 'logger' | 'id'>): Promise<string | undefined> {
  let lastError = 'still listed by SHOW LOCKS';
  for (let i = 0; i < UNFREEZE_ATTEMPTS; i++) {
    try {
      const frozen = await frozenTables(client);
      if (!frozen.includes(table)) return undefined;
      ctx.logger.warn('backup-table: table left frozen, unfreezing', { jobId: ctx.id, table });
      await client.exec(unfreeze([table]), { timeoutMs: 10_000 });
    } catch (err) {
      lastError = errorMessage(err);
    }
    await new Promise((r) => setTimeout(r, i === 0 ? 0 : UNFREEZE_RETRY_MS));
  }
  return lastError;
}

export function backupTableKind(settings: BackupTableSettings): JobKind<BackupTableParams> {
  return {
    name: BACKUP_TABLE_JOB_KIND,
    validate: validateBackupTableParams,
    async run(params: BackupTableParams, ctx: JobContext): Promise<Record<string, unknown>> {
      if (settings.searchdConfig === undefined) {
        throw new JobFailure('the agent has no searchd config (SEARCHD_CONFIG / --searchd-config): manticore-backup needs it');
      }
      await mkdir(params.backupDir, { recursive: true });
      const args = [`--config=${settings.searchdConfig}`, `--backup-dir=${params.backupDir}`, `--tables=${params.table}`];
      ctx.report(0, `manticore-backup of ${params.table} starting`);
      let res: Awaited<ReturnType<typeof runInGroup>> | undefined;
      let runError: unknown;
      try {
        res = await runInGroup(settings.backupBin, args, {
          signal: ctx.signal,
          onSpawn: (pid) => ctx.setChild({ pid, command: settings.backupBin }),
          onLine: (line) => ctx.report(undefined, line.trim().slice(0, 200)),
        });
      } catch (err) {
        runError = err;
      }
      // whatever happened: the table must not stay frozen
      const client = new ManticoreClient(`${settings.mysql.host}:${settings.mysql.port}`, { connectTimeoutMs: 2_000, connectionLimit: 1, logger: ctx.logger });
      let unfreezeProblem: string | undefined;
      try {
        unfreezeProblem = await ensureUnfrozen(client, params.table, ctx);
      } finally {
        await client.close();
      }
      const tail = res?.tail ?? [];
      const result: Record<string, unknown> = { exitCode: res?.exitCode ?? null, output: tail };
      if (res?.signal) result['signal'] = res.signal;
      if (unfreezeProblem !== undefined) {
        throw new JobFailure(`${params.table} may still be frozen (UNFREEZE failed: ${unfreezeProblem}); run UNFREEZE ${params.table} on this node before any node joins`, result);
      }
      if (ctx.signal.aborted) throw new JobFailure('cancelled', result);
      if (runError !== undefined) throw new JobFailure(`manticore-backup could not run: ${errorMessage(runError)}`, result);
      if (res?.exitCode !== 0) {
        const why = tail.filter((l) => /error/i.test(l)).slice(-3).join('; ') || tail.slice(-3).join('; ') || 'no output';
        throw new JobFailure(`manticore-backup exited with code ${res?.exitCode ?? res?.signal}: ${why}`, result);
      }
      const dir = await findBackupDir(params.backupDir, tail);
      if (dir === undefined) throw new JobFailure(`manticore-backup succeeded but no backup-* directory is in ${params.backupDir}`, result);
      const tableDir = path.join(dir, 'data', params.table);
      try {
        if (!(await stat(tableDir)).isDirectory()) throw new Error('not a directory');
      } catch {
        throw new JobFailure(`the backup ${dir} holds no data/${params.table} directory`, result);
      }
      const figures = await dirFigures(tableDir);
      ctx.report(1, `backed up ${params.table}: ${figures.files} files, ${figures.bytes} bytes`);
      return { ...result, dir, tableDir, files: figures.files, bytes: figures.bytes };
    },
  };
}
