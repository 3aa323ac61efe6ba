/**
 * Child processes of the local platform: spawned in their own process group (a terminal's Ctrl-C
 * reaches only the parent, which stops them in order), logged to a file, tracked so that none
 * outlives the parent: on the parent's exit every child still alive gets a signal, and a child left
 * over by a parent that was SIGKILLed is found by its pid file and stopped on the next start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { commandFor } from '../../sim/launcher.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Map<ChildProcess, NodeJS.Signals>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [child, signal] of live) {
      if (child.pid === undefined) continue;
      try {
        // the child leads its own process group: the signal reaches what it started too
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    }
  });
}

export interface SpawnOptions {
  bin: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here */
  logFile: string;
  /** the child's pid is written here while it runs */
  pidFile?: string;
  /** what the parent's exit sends its process group (SIGTERM: searchd saves, the agent cancels its jobs) */
  onParentExit: NodeJS.Signals;
}

/** A spawned child with its exit as a promise. */
export class Child {
  readonly process: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  readonly startedAt = Date.now();
  private exitInfo: ExitInfo | undefined;

  constructor(private readonly o: SpawnOptions) {
    installExitHook();
    const { cmd, args } = commandFor(o.bin, o.args);
    writeFileSync(o.logFile, `\n=== start ${new Date().toISOString()} ${[cmd, ...args].join(' ')}\n`, { flag: 'a' });
    const out = openSync(o.logFile, 'a');
    try {
      this.process = spawn(cmd, args, { env: o.env, stdio: ['ignore', out, out], detached: true });
    } finally {
      closeSync(out);
    }
    const child = this.process;
    live.set(child, o.onParentExit);
    if (o.pidFile && child.pid !== undefined) writeFileSync(o.pidFile, `${child.pid}\n`);
    this.exited = new Promise((resolve) => {
      const done = (info: ExitInfo) => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        live.delete(child);
        if (o.pidFile && existsSync(o.pidFile) && readPid(o.pidFile) === child.pid) rmSync(o.pidFile, { force: true });
        resolve(info);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      child.once('error', () => done({ code: -1, signal: null }));
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined && this.process.pid !== undefined;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  kill(signal: NodeJS.Signals): boolean {
    if (!this.running) return false;
    return this.process.kill(signal);
  }

  /** Resolves with the exit, or undefined when it has not exited within `ms`. */
  async waitExit(ms: number): Promise<ExitInfo | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
    const res = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return res;
  }

  /** `signal`, then SIGKILL if it is still there after `graceMs`. */
  async terminate(signal: NodeJS.Signals, graceMs: number): Promise<ExitInfo | undefined> {
    if (!this.running) return this.exitInfo;
    this.kill(signal);
    const res = await this.waitExit(graceMs);
    if (res) return res;
    this.kill('SIGKILL');
    return this.waitExit(graceMs);
  }
}

export function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live pid (Linux /proc), '' when unknown. */
export function pidCommandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Waits until `pid` is gone or `ms` passed; true when gone. */
export async function waitPidGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !pidAlive(pid);
}
