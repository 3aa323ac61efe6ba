/**
 * --watch without an event stream falls back to polling; it stops when the signal aborts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiClient } from '../../../src/cli/client.js';
import { WATCH_POLL_MS, watch } from '../../../src/cli/context.js';
import type { CommandContext } from '../../../src/cli/context.js';

class NoStreamClient extends ApiClient {
  override async events(): Promise<void> {
    throw new Error('HTTP 404');
  }
}

test('watch polls every WATCH_POLL_MS when the event stream cannot be opened, and ends on abort', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const controller = new AbortController();
  let renders = 0;
  const ctx: CommandContext = {
    args: { positionals: [], flags: { watch: true } },
    io: { out: (t) => out.push(t), err: (t) => err.push(t) },
    format: 'table',
    env: {},
    signal: controller.signal,
    api: () => new NoStreamClient('http://127.0.0.1:1', 't', 'test'),
  };
  const done = watch(ctx, async () => {
    renders += 1;
    if (renders === 2) controller.abort();
    return `render ${renders}\n`;
  });
  const code = await Promise.race([done, new Promise<'hung'>((r) => setTimeout(() => r('hung'), WATCH_POLL_MS * 5).unref())]);
  assert.equal(code, 0);
  assert.deepEqual(out, ['render 1\n', '\nrender 2\n']);
  assert.match(err.join(''), /no event stream \(HTTP 404\); polling every 2 s/);
});
