/**
 * The files replication keeps in a cluster's path: Galera's `grastate.dat` (what real nodes
 * write, and what operators read after a full stop) and the simulator's own position file,
 * which only decides IST versus SST when a node rejoins and is never shown anywhere.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface GraState {
  uuid: string;
  seqno: number;
  safeToBootstrap: boolean;
}

export const GRASTATE_FILE = 'grastate.dat';
export const POSITION_FILE = '.sim-position';

export function formatGrastate(state: GraState): string {
  return (
    '# GALERA saved state\n' +
    'version: 2.1\n' +
    `uuid:    ${state.uuid}\n` +
    `seqno:   ${state.seqno}\n` +
    `safe_to_bootstrap: ${state.safeToBootstrap ? 1 : 0}\n`
  );
}

export function parseGrastate(text: string): GraState | undefined {
  const field = (name: string): string | undefined => {
    const m = new RegExp(`^${name}:\\s*(\\S+)\\s*$`, 'm').exec(text);
    return m?.[1];
  };
  const uuid = field('uuid');
  const seqno = Number(field('seqno') ?? 'NaN');
  if (!uuid || !Number.isInteger(seqno)) return undefined;
  return { uuid, seqno, safeToBootstrap: field('safe_to_bootstrap') === '1' };
}

export function readGrastate(dir: string): GraState | undefined {
  try {
    return parseGrastate(fs.readFileSync(path.join(dir, GRASTATE_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

export function writeGrastate(dir: string, state: GraState): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, GRASTATE_FILE);
  fs.writeFileSync(file + '.tmp', formatGrastate(state));
  fs.renameSync(file + '.tmp', file);
}

export interface Position {
  uuid: string;
  seqno: number;
}

export function readPosition(dir: string): Position | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(dir, POSITION_FILE), 'utf8')) as Partial<Position>;
    if (typeof v.uuid === 'string' && typeof v.seqno === 'number') return { uuid: v.uuid, seqno: v.seqno };
  } catch {
    // no position: the node has never applied anything of this cluster
  }
  return undefined;
}

export function writePosition(dir: string, pos: Position): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, POSITION_FILE), JSON.stringify(pos));
}
