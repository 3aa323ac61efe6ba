/** Child processes of the benches (a controller run as its own process). */
import type { ChildProcess } from 'node:child_process';

/** SIGTERM, then SIGKILL after `killAfterMs`; resolves once the process exited (at once if it already had). */
export async function stopChild(c: ChildProcess | undefined, killAfterMs: number): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}
