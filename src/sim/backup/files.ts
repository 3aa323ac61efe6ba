/**
 * File helpers of manticore-backup-sim: copying trees (optionally gzip-compressing each file,
 * suffix `.gz`) and the backup directory layout, which follows the real tool:
 *
 *   <backup-dir>/backup-<YYYYMMDDHHMMSS>/
 *     config/<absolute path of the config>     e.g. config/etc/manticoresearch/manticore.conf
 *     state/<absolute path of manticore.json>  e.g. state/var/lib/manticore/manticore.json
 *     data/<table>/<table files>
 *     versions.json
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

export const GZ_SUFFIX = '.gz';

/** `backup-YYYYMMDDHHMMSS` in local time. */
export function backupName(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `backup-${p(date.getFullYear(), 4)}${p(date.getMonth() + 1)}${p(date.getDate())}${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** `YYYY-MM-DD HH:MM:SS` local time, as the real tool stamps its log lines. */
export function logStamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/** Where a file with absolute path `abs` is stored under a backup sub-directory (`config`, `state`). */
export function originPathInBackup(subdir: string, abs: string): string {
  return path.join(subdir, path.resolve(abs).replace(/^\/+/, ''));
}

/** Every regular file under `dir`, as paths relative to it, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? ent.name : path.join(rel, ent.name);
      if (ent.isDirectory()) walk(r);
      else if (ent.isFile()) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

export function dirSize(dir: string): number {
  return listFiles(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/** `123B`, `1.234K`, `5.678M` like the real tool's size column. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(3)}K`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(3)}M`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(3)}G`;
}

export interface CopyOptions {
  /** gzip each file and add `.gz` */
  compress?: boolean;
  /** gunzip `.gz` files and drop the suffix */
  decompress?: boolean;
  /** checked before every file; throw to stop */
  checkpoint?: () => void;
  /** copyTree skips the files (relative paths) this returns true for */
  exclude?: (rel: string) => boolean;
}

/** Copies one file (creating the parent directory), compressing or decompressing on request. */
export async function copyFile(from: string, to: string, opts: CopyOptions = {}): Promise<string> {
  let dest = to;
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  if (opts.compress) {
    dest = `${to}${GZ_SUFFIX}`;
    await pipeline(fs.createReadStream(from), zlib.createGzip(), fs.createWriteStream(dest, { flags: 'wx' }));
  } else if (opts.decompress && from.endsWith(GZ_SUFFIX)) {
    if (to.endsWith(GZ_SUFFIX)) dest = to.slice(0, -GZ_SUFFIX.length);
    await pipeline(fs.createReadStream(from), zlib.createGunzip(), fs.createWriteStream(dest, { flags: 'wx' }));
  } else {
    await fs.promises.copyFile(from, dest, fs.constants.COPYFILE_EXCL);
  }
  return dest;
}

/** Copies a directory tree; returns the destination files written. */
export async function copyTree(from: string, to: string, opts: CopyOptions = {}): Promise<string[]> {
  const written: string[] = [];
  await fs.promises.mkdir(to, { recursive: true });
  for (const rel of listFiles(from)) {
    if (opts.exclude?.(rel)) continue;
    opts.checkpoint?.();
    written.push(await copyFile(path.join(from, rel), path.join(to, rel), opts));
  }
  return written;
}

/** Is a directory empty (or missing `.`/`..` only)? */
export function isEmptyDir(dir: string): boolean {
  return fs.readdirSync(dir).length === 0;
}

/** Backups in a directory: names starting with `backup-`, sorted. */
export function listBackups(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith('backup-'))
    .map((e) => e.name)
    .sort();
}

/** The date encoded in a backup name, or undefined. */
export function backupDate(name: string): Date | undefined {
  const m = /^backup-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(name);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, s);
}
