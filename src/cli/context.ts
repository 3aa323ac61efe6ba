/** What every mctl command gets: its arguments, the printer's format, the API client, and a stop signal. */
import os from 'node:os';
import type { ParsedArgs } from './args.js';
import { UsageError, stringFlag } from './args.js';
import { ApiClient } from './client.js';
import type { Io, OutputFormat } from './printer.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
/** --watch falls back to polling at this interval when the event stream cannot be opened */
export const WATCH_POLL_MS = 2_000;
/** events arriving within this window cause one re-render */
export const WATCH_DEBOUNCE_MS = 150;

export interface CliEnv {
  MCTL_SERVER?: string;
  MCTL_TOKEN?: string;
  ORCHESTRATOR_TOKEN?: string;
}

export interface CommandContext {
  /** positionals after the command words, and every flag */
  args: ParsedArgs;
  io: Io;
  format: OutputFormat;
  env: CliEnv;
  /** aborted on SIGINT/SIGTERM (ends --watch) */
  signal: AbortSignal;
  /** the API client; a usage error when no token is configured */
  api(): ApiClient;
}

function whoAmI(): string {
  try {
    return `mctl (${os.userInfo().username}@${os.hostname()})`;
  } catch {
    return 'mctl';
  }
}

export function apiClientFor(args: ParsedArgs, env: CliEnv): ApiClient {
  const server = stringFlag(args, 'server') ?? (env.MCTL_SERVER || DEFAULT_SERVER);
  if (!/^https?:\/\//.test(server)) throw new UsageError(`--server ${server}: use an http:// or https:// URL, e.g. ${DEFAULT_SERVER}`);
  const token = stringFlag(args, 'token') ?? (env.MCTL_TOKEN || env.ORCHESTRATOR_TOKEN);
  if (!token) throw new UsageError('no API token: pass --token, or set MCTL_TOKEN (or ORCHESTRATOR_TOKEN); `npm start` prints it');
  return new ApiClient(server, token, whoAmI());
}

/**
 * Renders once, then again whenever the API reports a change (server-sent events), or every
 * WATCH_POLL_MS when the event stream is unavailable, until the signal aborts.
 */
export async function watch(ctx: CommandContext, render: () => Promise<string>): Promise<number> {
  const api = ctx.api();
  ctx.io.out(await render());
  if (ctx.signal.aborted) return 0;
  let timer: NodeJS.Timeout | undefined;
  let rendering = Promise.resolve();
  const rerender = (): void => {
    rendering = rendering.then(async () => {
      if (ctx.signal.aborted) return;
      try {
        ctx.io.out(`\n${await render()}`);
      } catch (err) {
        ctx.io.err(`mctl: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
  };
  const stopped = new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  try {
    await api.events(ctx.signal, () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(rerender, WATCH_DEBOUNCE_MS);
    });
    if (!ctx.signal.aborted) ctx.io.err('mctl: the event stream ended; polling every 2 s\n');
  } catch (err) {
    if (!ctx.signal.aborted) ctx.io.err(`mctl: no event stream (${err instanceof Error ? err.message : String(err)}); polling every 2 s\n`);
  }
  if (timer !== undefined) clearTimeout(timer);
  if (!ctx.signal.aborted) {
    const poll = setInterval(rerender, WATCH_POLL_MS);
    await stopped;
    clearInterval(poll);
  }
  await rendering;
  return 0;
}

/** Runs `render` once, or under --watch. */
export async function show(ctx: CommandContext, render: () => Promise<string>): Promise<number> {
  if (ctx.args.flags.watch === true) return watch(ctx, render);
  ctx.io.out(await render());
  return 0;
}
