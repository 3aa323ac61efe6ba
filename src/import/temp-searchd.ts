/**
 * A temporary plain-mode searchd for an import build: started in the foreground (`--nodetach`) in its
 * own process group on free loopback ports, reached over SQL, stopped with `--stopwait` (which saves the
 * RT table), and killed with its group on cancel or failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import net from 'node:net';
import { ManticoreClient } from '../manticore/client.js';
import { showStatus } from '../manticore/sql.js';

/** searchd started until its MySQL port answers. */
export const TEMP_SEARCHD_START_MS = 60_000;
/** `--stopwait` until the process is gone. */
export const TEMP_SEARCHD_STOP_MS = 60_000;
/** Grace between SIGTERM and SIGKILL of the group. */
export const TEMP_SEARCHD_KILL_GRACE_MS = 3_000;

/** How to execute a binary: compiled JavaScript (the simulator) runs under this node. */
export function commandOf(bin: string, args: readonly string[]): { cmd: string; args: string[] } {
  if (/\.[cm]?js$/.test(bin)) return { cmd: process.execPath, args: [bin, ...args] };
  return { cmd: bin, args: [...args] };
}

/** A free TCP port on 127.0.0.1 (bound and released; a small race is accepted and retried by the caller). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export interface TempSearchdOptions {
  bin: string;
  configFile: string;
  mysqlPort: number;
  /** console output of the process */
  consoleFile: string;
  signal: AbortSignal;
  onSpawn?: (pid: number) => void;
}

export class TempSearchd {
  readonly client: ManticoreClient;
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(private readonly o: TempSearchdOptions) {
    const out = openSync(o.consoleFile, 'a');
    const { cmd, args } = commandOf(o.bin, ['--config', o.configFile, '--nodetach']);
    this.child = spawn(cmd, args, { stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.child.once('error', () => {
        this.exitInfo = { code: -1, signal: null };
        resolve(this.exitInfo);
      });
    });
    if (this.child.pid !== undefined) o.onSpawn?.(this.child.pid);
    this.client = new ManticoreClient(`127.0.0.1:${o.mysqlPort}`, { connectTimeoutMs: 2_000, connectionLimit: 1, queryTimeoutMs: 600_000 });
  }

  /** Starts searchd and waits until SHOW STATUS answers; throws (after killing it) when it exits or times out. */
  static async start(o: TempSearchdOptions): Promise<TempSearchd> {
    const s = new TempSearchd(o);
    const deadline = Date.now() + TEMP_SEARCHD_START_MS;
    for (;;) {
      if (o.signal.aborted) {
        await s.kill();
        throw new Error('cancelled');
      }
      if (s.exitInfo) {
        await s.client.close();
        throw new Error(`temporary searchd exited (code ${s.exitInfo.code}, signal ${s.exitInfo.signal}) before answering; see ${o.consoleFile}`);
      }
      try {
        await s.client.query(showStatus(), { timeoutMs: 2_000 });
        return s;
      } catch (err) {
        if (Date.now() > deadline) {
          await s.kill();
          throw new Error(`temporary searchd did not answer on 127.0.0.1:${o.mysqlPort} within ${TEMP_SEARCHD_START_MS} ms: ${(err as Error).message}`, { cause: err });
        }
      }
      await sleep(100);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** `searchd --config <conf> --stopwait`, then waits for the process to exit (kills it past the timeout). */
  async stop(): Promise<void> {
    await this.client.close();
    if (!this.running) return;
    const { cmd, args } = commandOf(this.o.bin, ['--config', this.o.configFile, '--stopwait']);
    const stopper = spawn(cmd, args, { stdio: 'ignore' });
    const stopped = new Promise<number | null>((resolve) => {
      stopper.once('exit', (code) => resolve(code));
      stopper.once('error', () => resolve(-1));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), TEMP_SEARCHD_STOP_MS)));
    const res = await Promise.race([this.exited.then(() => stopped), timeout]);
    clearTimeout(timer);
    if (res === 'timeout') {
      stopper.kill('SIGKILL');
      await this.kill();
      throw new Error(`temporary searchd did not stop within ${TEMP_SEARCHD_STOP_MS} ms; killed`);
    }
    if (this.exitInfo && this.exitInfo.code !== 0 && this.exitInfo.signal === null) {
      throw new Error(`temporary searchd exited with code ${this.exitInfo.code} on stop`);
    }
  }

  /** SIGTERM to the group, SIGKILL after a grace period; waits for the exit. */
  async kill(): Promise<void> {
    await this.client.close().catch(() => undefined);
    const pid = this.child.pid;
    if (pid === undefined || !this.running) return;
    killGroup(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'grace'>((r) => (timer = setTimeout(() => r('grace'), TEMP_SEARCHD_KILL_GRACE_MS)));
    if ((await Promise.race([this.exited, grace])) === 'grace') {
      killGroup(pid, 'SIGKILL');
      await this.exited;
    }
    clearTimeout(timer);
  }
}
