/**
 * The one thing manticore-backup needs from searchd: run a SQL statement over HTTP
 * (`POST /sql?mode=raw`, body `query=<urlencoded>`), as the real tool does.
 */
import http from 'node:http';

export interface Endpoint {
  host: string;
  port: number;
}

export class SearchdRequestError extends Error {
  constructor(
    message: string,
    /** true when searchd could not be reached at all */
    readonly unreachable: boolean,
  ) {
    super(message);
    this.name = 'SearchdRequestError';
  }
}

export type RawResult = { total?: number; error?: string; warning?: string; columns?: unknown[]; data?: Record<string, unknown>[] };

/** Runs one statement; resolves with the first result set, rejects with SearchdRequestError. */
export function sqlRaw(ep: Endpoint, query: string, timeoutMs = 10_000): Promise<RawResult> {
  const body = `query=${encodeURIComponent(query)}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: ep.host,
        port: ep.port,
        method: 'POST',
        path: '/sql?mode=raw',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            reject(new SearchdRequestError(`unexpected answer to '${query}': ${text.slice(0, 200)}`, false));
            return;
          }
          const first = (Array.isArray(parsed) ? parsed[0] : parsed) as RawResult | undefined;
          if (first === undefined || typeof first !== 'object' || first === null) {
            reject(new SearchdRequestError(`empty answer to '${query}'`, false));
            return;
          }
          if (typeof first.error === 'string' && first.error !== '') {
            reject(new SearchdRequestError(first.error, false));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            reject(new SearchdRequestError(`HTTP ${res.statusCode ?? 0} for '${query}'`, false));
            return;
          }
          resolve(first);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => reject(new SearchdRequestError(err.message, true)));
    req.end(body);
  });
}
