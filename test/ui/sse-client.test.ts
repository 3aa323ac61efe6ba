/**
 * The UI's event-stream client (src/ui/lib/sse.tsx), loaded in Node through esbuild (the UI is TSX outside
 * the root tsconfig): the SSE parser on frames cut at every byte, CRLF, comments and multi-line data; and
 * connectEvents against a loopback server that sends the Authorization header check, drops the stream,
 * and sees the client come back (reconnect with backoff) and deliver the next event.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { transform } from 'esbuild';
import { repoRoot } from '../../src/sim/launcher.js';

interface SseFrame {
  event: string;
  data: string;
  id?: string;
}
interface SseModule {
  SseParser: new () => { push(chunk: string): SseFrame[] };
  connectEvents(token: string, onEvent: (e: unknown) => void, onState: (s: string, detail?: string) => void): () => void;
}

/** one reconnect after a dropped stream: the first backoff is 1 s */
const WAIT_RECONNECT_MS = 10_000;

let dir: string;
let sse: SseModule;

before(async () => {
  const source = readFileSync(path.join(repoRoot(), 'src', 'ui', 'lib', 'sse.tsx'), 'utf8');
  const out = await transform(source, { loader: 'tsx', format: 'esm', target: 'es2022' });
  dir = mkdtempSync(path.join(os.tmpdir(), 'ui-sse-'));
  const file = path.join(dir, 'sse.mjs');
  writeFileSync(file, out.code);
  sse = (await import(pathToFileURL(file).href)) as SseModule;
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('SseParser: frames split anywhere, CRLF, comments, multi-line data, id', () => {
  const stream = 'retry: 2000\n: connected\n\nid: 1\nevent: operation\ndata: {"a":1}\n\n: heartbeat\n\r\nid: 2\r\nevent: node\r\ndata: line1\r\ndata: line2\r\n\r\ndata:no-space\n\n';
  const expected: SseFrame[] = [
    { event: 'operation', data: '{"a":1}', id: '1' },
    { event: 'node', data: 'line1\nline2', id: '2' },
    { event: 'message', data: 'no-space', id: '2' },
  ];
  // whole, and cut at every position
  assert.deepEqual(new sse.SseParser().push(stream), expected);
  for (let cut = 1; cut < stream.length; cut++) {
    const p = new sse.SseParser();
    const frames = [...p.push(stream.slice(0, cut)), ...p.push(stream.slice(cut))];
    assert.deepEqual(frames, expected, `cut at ${cut}`);
  }
});

test('connectEvents: sends the bearer token, delivers events, reconnects after the stream drops', { timeout: 2 * WAIT_RECONNECT_MS }, async () => {
  const auths: string[] = [];
  const open: ServerResponse[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    auths.push(req.headers.authorization ?? '');
    connections++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`: connected\n\nid: ${connections}\nevent: operation\ndata: ${JSON.stringify({ type: 'operation', n: connections })}\n\n`);
    open.push(res);
    // the first stream dies after its event: the client must come back on its own
    if (connections === 1) setTimeout(() => res.destroy(), 50);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const realFetch = globalThis.fetch;
  // the UI fetches the relative /api/events: point it at the loopback server
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => realFetch(new URL(String(input), `http://127.0.0.1:${port}`), init)) as typeof fetch;
  const events: { n: number }[] = [];
  const states: string[] = [];
  let stop: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no event after the reconnect; states ${states.join(' → ')}`)), WAIT_RECONNECT_MS);
      stop = sse.connectEvents(
        'tok-123',
        (e) => {
          events.push(e as { n: number });
          if (events.length === 2) {
            clearTimeout(timer);
            resolve();
          }
        },
        (s) => states.push(s),
      );
    });
  } finally {
    stop?.();
    globalThis.fetch = realFetch;
    for (const r of open) r.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
  assert.deepEqual(
    events.map((e) => e.n),
    [1, 2],
  );
  assert.deepEqual(auths, ['Bearer tok-123', 'Bearer tok-123']);
  assert.deepEqual(states.slice(0, 4), ['connecting', 'live', 'retrying', 'connecting']);
  assert.equal(states[states.length - 1], 'closed');
});
