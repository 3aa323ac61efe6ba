/**
 * Which searchd / indexer / manticore-backup to run: the one named by SEARCHD_BIN / INDEXER_BIN /
 * MANTICORE_BACKUP_BIN, else the real binary when it is on PATH, else the bundled simulator.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { resolveBinaries, type Binaries } from '../sim/launcher.js';
import type { Env } from './source.js';

export type { Binaries };

/** The first executable file named `name` in the PATH directories, if any. */
export function findOnPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there or not executable
    }
  }
  return undefined;
}

export function resolveBinariesFrom(env: Env): Binaries {
  const named = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);
  const pick = (envName: string, binary: string) => named(env[envName]) ?? findOnPath(binary, env.PATH);
  const chosen: Record<string, string> = {};
  const searchd = pick('SEARCHD_BIN', 'searchd');
  const indexer = pick('INDEXER_BIN', 'indexer');
  const backup = pick('MANTICORE_BACKUP_BIN', 'manticore-backup');
  if (searchd) chosen.SEARCHD_BIN = searchd;
  if (indexer) chosen.INDEXER_BIN = indexer;
  if (backup) chosen.MANTICORE_BACKUP_BIN = backup;
  return resolveBinaries(chosen);
}
