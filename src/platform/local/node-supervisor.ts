/**
 * One local node, supervised as a kubelet would: its agent process, and searchd started through
 * the start gate (ask the agent how to start, start with those flags in the foreground, report
 * it), restarted with capped exponential backoff whenever it exits without being asked to.
 */
import net from 'node:net';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { AgentClient } from '../../agent/client.js';
import type { StartGate, StartMode } from '../../agent/protocol.js';
import { askHowToStart, reportStarted } from '../../agent/start-script.js';
import { agentLaunch } from '../../config/agent.js';
import type { LogLevel } from '../../config/controller.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { renderSearchdConfig, runBinary, type Binaries } from '../../sim/launcher.js';
import type { NodeRef } from '../types.js';
import { Child, pidAlive, pidCommandLine, readPid, waitPidGone, type ExitInfo } from './children.js';
import { localNodeFiles, localNodeName, type LocalNodeFiles, type LocalNodePorts } from './node-files.js';

/** What a node is doing now. */
export type NodePhase = 'new' | 'waiting-agent' | 'holding' | 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';

export interface NodeStatus {
  name: string;
  ordinal: number;
  phase: NodePhase;
  searchdPid?: number;
  agentPid?: number;
  /** how many times searchd was started */
  starts: number;
  /** how many times searchd exited without being asked to */
  unexpectedExits: number;
  lastExit?: ExitInfo & { at: string };
  /** the gate's last reason (hold, or the decision used) or the last error */
  reason?: string;
  lastDecisionId?: string;
}

/** Named limits (ms) of the supervisor. */
export interface SupervisorTimings {
  /** pause between gate asks while holding or while the agent does not answer */
  gatePollMs: number;
  /** first restart delay after an unexpected exit */
  backoffBaseMs: number;
  /** restart delay cap */
  backoffMaxMs: number;
  /** a run longer than this resets the backoff */
  backoffResetMs: number;
  /** `searchd --stopwait` limit */
  stopWaitMs: number;
  /** grace after SIGTERM before SIGKILL (agents, leftovers) */
  killGraceMs: number;
}

export const DEFAULT_TIMINGS: SupervisorTimings = {
  gatePollMs: 500,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  backoffResetMs: 60_000,
  stopWaitMs: 60_000,
  killGraceMs: 10_000,
};

export interface SupervisorOptions {
  dataDir: string;
  ordinal: number;
  ports: LocalNodePorts;
  binaries: Binaries;
  token: string;
  clusterName: string;
  /** env of every child (PATH, GALERA_SONAME...); the agent's settings are added on top */
  env: NodeJS.ProcessEnv;
  /** `node <agentScript>` is the agent; undefined: agents run elsewhere on the node's agent port (tests) */
  agentScript: string | undefined;
  logLevel: LogLevel;
  buddy: boolean;
  timings: SupervisorTimings;
  logger: Logger;
  /** called after every phase change (the platform tells the controller, as a pod watch would) */
  onPhase?: (phase: NodePhase) => void;
}

export class NodeSupervisor {
  readonly name: string;
  readonly ordinal: number;
  readonly files: LocalNodeFiles;
  private readonly ports: LocalNodePorts;
  private readonly log: Logger;
  private agent: Child | undefined;
  private searchd: Child | undefined;
  private phaseValue: NodePhase = 'new';
  private starts = 0;
  private unexpectedExits = 0;
  private lastExit: (ExitInfo & { at: string }) | undefined;
  private reason: string | undefined;
  private lastDecisionId: string | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  private searchdLoop: Promise<void> | undefined;
  private agentLoop: Promise<void> | undefined;

  constructor(private readonly o: SupervisorOptions) {
    this.ordinal = o.ordinal;
    this.name = localNodeName(o.ordinal);
    this.files = localNodeFiles(o.dataDir, o.ordinal);
    this.ports = o.ports;
    this.log = o.logger.child({ node: this.name });
  }

  get ref(): NodeRef {
    return {
      name: this.name,
      ordinal: this.ordinal,
      mysql: { host: '127.0.0.1', port: this.ports.mysql },
      apiAddress: `127.0.0.1:${this.ports.api}`,
      httpAddress: `127.0.0.1:${this.ports.http}`,
      agentUrl: `http://127.0.0.1:${this.ports.agent}`,
    };
  }

  status(): NodeStatus {
    return {
      name: this.name,
      ordinal: this.ordinal,
      phase: this.phaseValue,
      ...(this.searchd?.running ? { searchdPid: this.searchd.pid } : {}),
      ...(this.agent?.running ? { agentPid: this.agent.pid } : {}),
      starts: this.starts,
      unexpectedExits: this.unexpectedExits,
      ...(this.lastExit ? { lastExit: this.lastExit } : {}),
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      ...(this.lastDecisionId === undefined ? {} : { lastDecisionId: this.lastDecisionId }),
    };
  }

  private setPhase(phase: NodePhase, reason?: string): void {
    const changed = phase !== this.phaseValue;
    if (changed) this.log.debug('local node phase', { phase, reason });
    this.phaseValue = phase;
    if (reason !== undefined) this.reason = reason;
    if (changed) this.o.onPhase?.(phase);
  }

  /** Writes the directories and searchd's config (same ports every time). */
  prepare(): void {
    for (const d of [this.files.dir, this.files.dataDir, this.files.binlog, this.files.agentDataDir]) mkdirSync(d, { recursive: true });
    writeFileSync(
      this.files.config,
      renderSearchdConfig({ ports: this.ports, layout: this.files, serverId: this.ordinal + 1, mode: 'rt', buddy: this.o.buddy }),
    );
  }

  /** Stops processes a previous parent left running (it was SIGKILLed): searchd cleanly, the agent by signal. */
  async stopLeftovers(): Promise<void> {
    const searchdPid = readPid(this.files.searchdChildPid);
    if (searchdPid !== undefined && pidAlive(searchdPid) && pidCommandLine(searchdPid).includes(this.files.config)) {
      this.log.warn('local node found a searchd left running by an earlier run; stopping it cleanly', { pid: searchdPid });
      await this.runStopWait().catch((err: unknown) => this.log.warn('local node stopwait of a leftover failed', { err: errorMessage(err) }));
      if (!(await waitPidGone(searchdPid, this.o.timings.killGraceMs))) {
        process.kill(searchdPid, 'SIGKILL');
        await waitPidGone(searchdPid, this.o.timings.killGraceMs);
      }
    }
    const agentPid = readPid(this.files.agentPid);
    if (agentPid !== undefined && pidAlive(agentPid) && pidCommandLine(agentPid).includes(this.files.agentDataDir)) {
      this.log.warn('local node found an agent left running by an earlier run; stopping it', { pid: agentPid });
      process.kill(agentPid, 'SIGTERM');
      if (!(await waitPidGone(agentPid, this.o.timings.killGraceMs))) {
        process.kill(agentPid, 'SIGKILL');
        await waitPidGone(agentPid, this.o.timings.killGraceMs);
      }
    }
  }

  /** Starts the agent (when spawned here) and the searchd loop; returns at once. */
  start(): void {
    if (this.searchdLoop) return;
    if (this.o.agentScript !== undefined) this.agentLoop = this.superviseAgent(this.o.agentScript);
    this.searchdLoop = this.superviseSearchd();
  }

  private childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...this.o.env, ...extra };
  }

  private async superviseAgent(script: string): Promise<void> {
    let failures = 0;
    const launch = agentLaunch({
      listen: { host: '127.0.0.1', port: this.ports.agent },
      token: this.o.token,
      searchdConfig: this.files.config,
      mysql: { host: '127.0.0.1', port: this.ports.mysql },
      dataDir: this.files.dataDir,
      jobsDir: this.files.agentDataDir,
      clusterName: this.o.clusterName,
      binaries: this.o.binaries,
      logLevel: this.o.logLevel,
    });
    while (!this.stopping) {
      const env = this.childEnv(launch.env);
      const child = new Child({ bin: script, args: launch.args, env, logFile: this.files.agentLog, pidFile: this.files.agentPid, onParentExit: 'SIGTERM' });
      this.agent = child;
      this.log.info('local agent started', { pid: child.pid, url: this.ref.agentUrl });
      const exit = await child.exited;
      if (this.stopping) break;
      failures = Date.now() - child.startedAt > this.o.timings.backoffResetMs ? 1 : failures + 1;
      const delay = backoffDelay(failures, this.o.timings);
      this.log.warn('local agent exited unexpectedly; restarting', { code: exit.code, signal: exit.signal, delayMs: delay, log: this.files.agentLog });
      await abortableSleep(delay, this.abort.signal).catch(() => undefined);
    }
  }

  private async superviseSearchd(): Promise<void> {
    let failures = 0;
    const client = new AgentClient({ baseUrl: this.ref.agentUrl, token: this.o.token });
    while (!this.stopping) {
      let answer: { flags: string[]; decisionId?: string };
      let last: StartGate | undefined;
      try {
        this.setPhase('waiting-agent');
        answer = await askHowToStart(client, {
          pollMs: this.o.timings.gatePollMs,
          signal: this.abort.signal,
          onAnswer: (a) => {
            if (a.gate) last = a.gate;
            if (a.gate?.mode === 'hold') this.setPhase('holding', a.gate.reason);
            else if (a.error !== undefined) this.setPhase('waiting-agent', errorMessage(a.error));
          },
        });
      } catch (err) {
        if (this.stopping) break;
        // an answer that will not fix itself (wrong token...): say so and ask again later
        this.setPhase('waiting-agent', errorMessage(err));
        this.log.error('local node cannot ask its agent how to start', { err: errorMessage(err) });
        try {
          await abortableSleep(this.o.timings.backoffMaxMs, this.abort.signal);
        } catch {
          break;
        }
        continue;
      }
      if (this.stopping) break;
      if (await canConnect(this.ports.mysql)) {
        // something else listens on this node's persisted port: searchd would fail to bind
        failures++;
        const delay = backoffDelay(failures, this.o.timings);
        const why = `port ${this.ports.mysql} (from ${this.files.portsFile}) is taken by another process`;
        this.setPhase('backoff', why);
        this.log.error('local node cannot start searchd: its port is taken', { port: this.ports.mysql, portsFile: this.files.portsFile, delayMs: delay });
        try {
          await abortableSleep(delay, this.abort.signal);
        } catch {
          break;
        }
        continue;
      }
      const mode: StartMode = last?.mode ?? 'normal';
      this.setPhase('starting', last?.reason ?? 'started');
      this.lastDecisionId = answer.decisionId;
      const child = new Child({
        bin: this.o.binaries.searchd,
        args: ['--config', this.files.config, '--nodetach', ...answer.flags],
        env: this.childEnv(),
        logFile: this.files.console,
        pidFile: this.files.searchdChildPid,
        onParentExit: 'SIGTERM',
      });
      this.searchd = child;
      this.starts++;
      this.log.info('local searchd started', { pid: child.pid, mode, decisionId: answer.decisionId, flags: answer.flags });
      const answered = await waitListening(this.ports.mysql, child, this.abort.signal);
      if (answered) {
        // reported before the phase says running: whoever waits for "running" sees the decision used
        await reportStarted(client, answer.decisionId).catch((err: unknown) =>
          this.log.warn('local node could not report the start to its agent', { err: errorMessage(err) }),
        );
        if (child.running && !this.stopping) this.setPhase('running');
      }
      const exit = await child.exited;
      if (this.stopping) break;
      this.unexpectedExits++;
      this.lastExit = { ...exit, at: new Date().toISOString() };
      failures = Date.now() - child.startedAt > this.o.timings.backoffResetMs ? 1 : failures + 1;
      const delay = backoffDelay(failures, this.o.timings);
      this.setPhase('backoff', `searchd exited (code ${exit.code}, signal ${exit.signal})`);
      this.log.warn('local searchd exited unexpectedly; restarting through the start gate', {
        code: exit.code,
        signal: exit.signal,
        delayMs: delay,
        log: this.files.log,
      });
      try {
        await abortableSleep(delay, this.abort.signal);
      } catch {
        break;
      }
    }
  }

  /** Sends a signal to this node's searchd (or agent); returns the pid signalled. */
  kill(signal: NodeJS.Signals, target: 'searchd' | 'agent'): number | undefined {
    const child = target === 'searchd' ? this.searchd : this.agent;
    if (!child?.running) return undefined;
    child.kill(signal);
    return child.pid;
  }

  private runStopWait() {
    return runBinary(this.o.binaries.searchd, ['--config', this.files.config, '--stopwait'], { timeoutMs: this.o.timings.stopWaitMs, env: this.childEnv() });
  }

  /** Stops searchd cleanly (`--stopwait`, SIGKILL if it is still there after the limit); no restart follows. */
  async stopSearchd(): Promise<void> {
    this.stopping = true;
    this.setPhase('stopping');
    this.abort.abort(new Error('node stopping'));
    const child = this.searchd;
    if (child?.running) {
      const res = await this.runStopWait().catch((err: unknown) => ({ code: -1, signal: null, stdout: '', stderr: errorMessage(err) }));
      // a failed --stopwait (e.g. searchd had not written its pid file yet) falls back to SIGTERM
      if (res.code !== 0) child.kill('SIGTERM');
      let exit = await child.waitExit(res.code === 0 ? this.o.timings.stopWaitMs : this.o.timings.killGraceMs);
      if (!exit) {
        this.log.warn('local searchd did not stop with --stopwait; killing it', { code: res.code, output: `${res.stdout}${res.stderr}`.slice(0, 500) });
        child.kill('SIGKILL');
        exit = await child.waitExit(this.o.timings.killGraceMs);
      }
      this.log.info('local searchd stopped', { code: exit?.code, signal: exit?.signal });
    }
    await this.searchdLoop;
  }

  /** Stops the agent (SIGTERM, then SIGKILL after the grace). */
  async stopAgent(): Promise<void> {
    this.stopping = true;
    this.abort.abort(new Error('node stopping'));
    if (this.agent?.running) await this.agent.terminate('SIGTERM', this.o.timings.killGraceMs);
    await this.agentLoop;
    this.setPhase('stopped');
  }

  hasConfig(): boolean {
    return existsSync(this.files.config);
  }
}

export function backoffDelay(failures: number, t: SupervisorTimings): number {
  return Math.min(t.backoffMaxMs, t.backoffBaseMs * 2 ** Math.max(0, failures - 1));
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Waits until the port accepts connections (true), or the child exits / the signal aborts (false). */
async function waitListening(port: number, child: Child, signal: AbortSignal): Promise<boolean> {
  while (child.running && !signal.aborted) {
    if (await canConnect(port)) return child.running;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
