/**
 * GET /api/events needs the Authorization header, which EventSource cannot send: this reads the stream with
 * fetch() and a ReadableStream, parses the SSE frames (event/data/id lines, comments ignored), and reconnects
 * with exponential backoff (1 s doubling to 15 s, reset once a connection delivers).
 */
import type { StatusEvent } from '../../status/types.js';

export type StreamState = 'connecting' | 'live' | 'retrying' | 'closed';

export interface SseFrame {
  event: string;
  data: string;
  id?: string;
}

/** Incremental SSE parser: feed it text chunks, get complete frames. */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  push(chunk: string): SseFrame[] {
    this.buf += chunk;
    const out: SseFrame[] = [];
    let nl: number;
    while ((nl = this.buf.search(/\r\n|\n|\r/)) >= 0) {
      // a CR at the end of the chunk may be the first half of a CRLF: wait for the next chunk
      if (nl === this.buf.length - 1 && this.buf.endsWith('\r')) break;
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + (this.buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
      else if (field === 'id') this.id = value;
    }
    return out;
  }
}

const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 15_000;

/** Opens the event stream and keeps it open until the returned function is called. */
export function connectEvents(token: string, onEvent: (e: StatusEvent) => void, onState: (s: StreamState, detail?: string) => void): () => void {
  const abort = new AbortController();
  let backoff = BACKOFF_START_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const run = async (): Promise<void> => {
    onState('connecting');
    try {
      const res = await fetch('/api/events', { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal: abort.signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState('live');
      backoff = BACKOFF_START_MS;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of parser.push(value)) {
          try {
            onEvent(JSON.parse(frame.data) as StatusEvent);
          } catch {
            // a frame that is not a StatusEvent is ignored
          }
        }
      }
      throw new Error('the stream ended');
    } catch (err) {
      if (abort.signal.aborted) return;
      const wait = backoff;
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      onState('retrying', `${err instanceof Error ? err.message : String(err)}; retrying in ${Math.round(wait / 1000)} s`);
      timer = setTimeout(() => void run(), wait);
    }
  };
  void run();
  return () => {
    abort.abort();
    if (timer) clearTimeout(timer);
    onState('closed');
  };
}
