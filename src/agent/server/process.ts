/**
 * Child processes of jobs: each runs in its own process group (so cancel reaches the tool and
 * everything it started, e.g. indexer's tsvpipe_command), with its output read line by line.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Grace between SIGTERM and SIGKILL when a job is cancelled. */
export const KILL_GRACE_MS = 3_000;
/** Output lines kept for results and error messages. */
export const OUTPUT_TAIL_LINES = 40;

/** How to execute a binary: compiled JavaScript (the simulator) runs under this node. */
export function commandFor(bin: string, args: readonly string[]): { cmd: string; args: string[] } {
  if (/\.[cm]?js$/.test(bin)) return { cmd: process.execPath, args: [bin, ...args] };
  return { cmd: bin, args: [...args] };
}

/** Signals a whole process group; false when it is already gone. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True when `pid` is alive and its command line mentions `command` (guards against pid reuse; Linux only). */
export function isProcessOf(pid: number, command: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return cmdline.includes(command);
  } catch {
    return false;
  }
}

export interface GroupRunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** the last OUTPUT_TAIL_LINES lines of stdout + stderr */
  tail: string[];
}

export interface RunGroupOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal: AbortSignal;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  onSpawn?: (pid: number) => void;
}

/** Runs `bin args` in a new process group; on abort sends SIGTERM to the group, then SIGKILL after KILL_GRACE_MS. */
export function runInGroup(bin: string, args: readonly string[], options: RunGroupOptions): Promise<GroupRunResult> {
  const { cmd, args: argv } = commandFor(bin, args);
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) {
      reject(new Error('cancelled before start'));
      return;
    }
    const child = spawn(cmd, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const tail: string[] = [];
    let killTimer: NodeJS.Timeout | undefined;
    const push = (stream: 'stdout' | 'stderr') => {
      let partial = '';
      return (chunk: string) => {
        const parts = (partial + chunk).split(/\r\n|\r|\n/);
        partial = parts.pop() ?? '';
        for (const line of parts) {
          if (line.trim() === '') continue;
          tail.push(line);
          if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
          options.onLine?.(line, stream);
        }
      };
    };
    child.stdout.setEncoding('utf8').on('data', push('stdout'));
    child.stderr.setEncoding('utf8').on('data', push('stderr'));
    const onAbort = () => {
      if (child.pid === undefined) return;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => {
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      }, KILL_GRACE_MS);
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.on('spawn', () => {
      if (child.pid !== undefined) options.onSpawn?.(child.pid);
    });
    child.on('error', (err) => {
      options.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      options.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      // the tool may have left children in its group (pipes): make sure none outlive a cancel
      if (options.signal.aborted && child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      resolve({ exitCode, signal, tail });
    });
  });
}
