/**
 * Files of one local node under the platform's data dir: `<dataDir>/nodes/node<i>/` holds
 * `ports.json` (allocated once, reused on every later start: the cluster's nodes_set holds these
 * addresses), searchd's config, data, logs, the agent's data dir and log, and the pid files of the
 * supervised processes.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../lib/errors.js';
import { allocateNodePorts, nodeLayout, PORTS_PER_NODE, type NodeLayout, type NodePorts } from '../../sim/launcher.js';

export interface LocalNodePorts extends NodePorts {
  /** the agent's HTTP port (the last port of the node's block) */
  agent: number;
}

export interface LocalNodeFiles extends NodeLayout {
  portsFile: string;
  agentDataDir: string;
  agentLog: string;
  /** pid of the searchd the supervisor spawned */
  searchdChildPid: string;
  agentPid: string;
}

export function nodesRoot(dataDir: string): string {
  return path.join(dataDir, 'nodes');
}

export function localNodeName(ordinal: number): string {
  return `node${ordinal}`;
}

export function localNodeFiles(dataDir: string, ordinal: number): LocalNodeFiles {
  const dir = path.join(nodesRoot(dataDir), localNodeName(ordinal));
  return {
    ...nodeLayout(dir),
    portsFile: path.join(dir, 'ports.json'),
    agentDataDir: path.join(dir, 'agent'),
    agentLog: path.join(dir, 'agent.log'),
    searchdChildPid: path.join(dir, 'searchd.supervised.pid'),
    agentPid: path.join(dir, 'agent.pid'),
  };
}

const PORT_KEYS = ['mysql', 'http', 'api', 'replicationFrom', 'replicationTo', 'agent'] as const;

export function readPorts(file: string): LocalNodePorts | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AppError('PORTS_FILE_INVALID', `${file} is not valid JSON: fix it, or delete it to allocate new ports (the node's cluster addresses change then)`, {
      cause: err,
    });
  }
  const obj = (parsed ?? {}) as Record<string, unknown>;
  for (const k of PORT_KEYS) {
    const v = obj[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
      throw new AppError('PORTS_FILE_INVALID', `${file}: '${k}' must be a port number: fix it, or delete the file to allocate new ports`);
    }
  }
  return obj as unknown as LocalNodePorts;
}

function portsOf(p: LocalNodePorts): number[] {
  const out = [p.mysql, p.http, p.api, p.agent];
  for (let x = p.replicationFrom; x <= p.replicationTo; x++) out.push(x);
  return out;
}

/** Ports persisted by every node under the data dir (to keep a new allocation clear of them). */
export function persistedPorts(dataDir: string): Set<number> {
  const used = new Set<number>();
  const root = nodesRoot(dataDir);
  if (!existsSync(root)) return used;
  for (const entry of readdirSync(root)) {
    const p = readPorts(path.join(root, entry, 'ports.json'));
    if (p) for (const x of portsOf(p)) used.add(x);
  }
  return used;
}

/** The node's ports: those in ports.json, or a new free block written there (atomically). */
export async function loadOrAllocatePorts(dataDir: string, ordinal: number): Promise<{ ports: LocalNodePorts; reused: boolean }> {
  const files = localNodeFiles(dataDir, ordinal);
  const existing = readPorts(files.portsFile);
  if (existing) return { ports: existing, reused: true };
  const taken = persistedPorts(dataDir);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await allocateNodePorts();
    const ports: LocalNodePorts = { ...base, agent: base.mysql + PORTS_PER_NODE - 1 };
    if (portsOf(ports).some((p) => taken.has(p))) continue;
    mkdirSync(files.dir, { recursive: true });
    const tmp = `${files.portsFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(ports, null, 2)}\n`);
    renameSync(tmp, files.portsFile);
    return { ports, reused: false };
  }
  throw new AppError('NO_FREE_PORTS', `no block of ${PORTS_PER_NODE} free loopback ports clear of the other nodes' was found for ${localNodeName(ordinal)}`, {
    retryable: true,
  });
}

// ---------------------------------------------------------------------------------------------
// one platform per data dir

const heldInThisProcess = new Set<string>();

export function lockFile(dataDir: string): string {
  return path.join(nodesRoot(dataDir), 'platform.lock');
}

function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims the data dir for this platform: two platforms on one data dir would fight over the same
 * nodes (and the second would stop the first's processes as leftovers). A lock left by a process
 * that is gone (killed) is taken over.
 */
export function claimDataDir(dataDir: string): void {
  const file = lockFile(dataDir);
  if (heldInThisProcess.has(file)) {
    throw new AppError('DATA_DIR_IN_USE', `${dataDir} is used by another local platform in this process: stop it first or use another data dir`);
  }
  mkdirSync(nodesRoot(dataDir), { recursive: true });
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidRunning(pid)) {
      throw new AppError('DATA_DIR_IN_USE', `${dataDir} is used by the local platform of process ${pid}: stop that process first or use another --data-dir`);
    }
  }
  writeFileSync(file, `${process.pid}\n`);
  heldInThisProcess.add(file);
}

export function releaseDataDir(dataDir: string): void {
  const file = lockFile(dataDir);
  if (!heldInThisProcess.delete(file)) return;
  try {
    if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
  } catch {
    // already gone
  }
}
