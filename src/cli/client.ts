/**
 * mctl's HTTP client of the controller API: bearer token, the envelope unwrapped, API errors as
 * CliError with the server's code and message, and the server-sent event stream.
 */

export class CliError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ServerEvent {
  event: string;
  data: string;
}

export class ApiClient {
  constructor(
    readonly server: string,
    private readonly token: string,
    private readonly who: string,
  ) {}

  private url(path: string): string {
    return `${this.server.replace(/\/+$/, '')}${path}`;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          'x-requested-by': this.who,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      throw new CliError(`cannot reach the controller API at ${this.server}${cause} (set --server or MCTL_SERVER)`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new CliError(`${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`, undefined, res.status);
    }
    if (!res.ok) {
      const error = (json as { error?: unknown } | undefined)?.error;
      if (typeof error === 'object' && error !== null) {
        const e = error as { code?: string; message?: string };
        throw new CliError(e.message ?? `HTTP ${res.status}`, e.code, res.status);
      }
      throw new CliError(typeof error === 'string' ? error : `${method} ${path}: HTTP ${res.status}`, undefined, res.status);
    }
    return json;
  }

  /** GET of an enveloped route: the `data`. */
  async getData<T>(path: string): Promise<T> {
    return ((await this.request('GET', path)) as { data: T }).data;
  }

  async postData<T>(path: string, body: unknown): Promise<T> {
    return ((await this.request('POST', path, body)) as { data: T }).data;
  }

  /** A route in the original system's shapes (no envelope): the JSON body as is. */
  async deleteData<T>(path: string): Promise<T> {
    return ((await this.request('DELETE', path)) as { data: T }).data;
  }

  async getRaw<T>(path: string): Promise<T> {
    return (await this.request('GET', path)) as T;
  }

  async postRaw<T>(path: string, body: unknown): Promise<T> {
    return (await this.request('POST', path, body)) as T;
  }

  /**
   * Reads /api/events until `signal` aborts or the stream ends; calls onEvent per event.
   * Rejects when the stream cannot be opened.
   */
  async events(signal: AbortSignal, onEvent: (e: ServerEvent) => void): Promise<void> {
    const res = await fetch(this.url('/api/events'), { headers: { authorization: `Bearer ${this.token}` }, signal });
    if (!res.ok || res.body === null) throw new CliError(`event stream: HTTP ${res.status}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of frame.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length > 0) onEvent({ event, data: data.join('\n') });
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
  }
}
