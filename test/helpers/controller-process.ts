/**
 * The controller as a separate process (`node dist/src/bin/controller.js`) pointed at nodes the test runs
 * itself (PLATFORM=static, NODES), so tests can SIGKILL it at any moment and start it again. Every run
 * appends its JSON log to one file; the operation history is read from the status store's file.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { NodeRef } from '../../src/platform/types.js';
import { repoRoot } from '../../src/sim/launcher.js';
import type { OperationRecord } from '../../src/status/types.js';

export const CONTROLLER_SCRIPT = path.join(repoRoot(), 'dist', 'src', 'bin', 'controller.js');

/** A free TCP port on 127.0.0.1 (for the controller's API). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ControllerProcessOptions {
  dataDir: string;
  specsDir: string;
  nodes: NodeRef[];
  port: number;
  token: string;
  cluster: string;
  /** how long a signalled controller may take to exit before it is SIGKILLed */
  exitTimeoutMs: number;
}

export class ControllerProcess {
  child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  runs = 0;
  readonly logFile: string;
  readonly dataDir: string;
  readonly port: number;

  constructor(private readonly o: ControllerProcessOptions) {
    this.dataDir = o.dataDir;
    this.port = o.port;
    this.logFile = path.join(o.dataDir, 'controller.log');
    mkdirSync(o.dataDir, { recursive: true });
  }

  start(): void {
    assert.equal(this.child, undefined, 'one controller process at a time');
    const nodes = this.o.nodes.map((n) => ({ name: n.name, mysql: `${n.mysql.host}:${n.mysql.port}`, api: n.apiAddress, http: n.httpAddress, agent: n.agentUrl }));
    const env: NodeJS.ProcessEnv = { ...process.env, ORCHESTRATOR_TOKEN: this.o.token, PLATFORM: 'static', NODES: JSON.stringify(nodes), LOG_FORMAT: 'json', LOG_LEVEL: 'info' };
    for (const k of ['TABLES_CONFIG', 'AUTH_TOKEN', 'ORCHESTRATOR_DATA_DIR', 'DATA_DIR']) delete env[k];
    const fd = openSync(this.logFile, 'a');
    const args = [CONTROLLER_SCRIPT, '--data-dir', this.o.dataDir, '--specs-dir', this.o.specsDir, '--cluster', this.o.cluster, '--port', String(this.o.port)];
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.runs++;
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Whether the child is still there (it must not die on its own). */
  alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `sig` and waits for the exit (SIGKILL after exitTimeoutMs). */
  async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (this.alive()) child.kill(sig);
    const exited = this.exited ?? Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.o.exitTimeoutMs)));
    const res = await Promise.race([exited.then(() => 'exited' as const), limit]);
    clearTimeout(timer);
    if (res === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
    this.child = undefined;
    this.exited = undefined;
  }

  /** The operation history as the controller persisted it (newest first). */
  operations(): OperationRecord[] {
    try {
      const parsed = JSON.parse(readFileSync(path.join(this.o.dataDir, 'status', 'operations.json'), 'utf8')) as { operations?: OperationRecord[] };
      return parsed.operations ?? [];
    } catch {
      return [];
    }
  }

  /** Every JSON log line of every run (a line cut by SIGKILL is skipped). */
  logEntries(): Record<string, unknown>[] {
    if (!existsSync(this.logFile)) return [];
    const out: Record<string, unknown>[] = [];
    for (const line of readFileSync(this.logFile, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line cut by SIGKILL
      }
    }
    return out;
  }

  log(message: string): Record<string, unknown>[] {
    return this.logEntries().filter((e) => e.message === message);
  }
}
