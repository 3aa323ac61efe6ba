/**
 * The simulated node's HTTP listener:
 *   POST /sql?mode=raw   form body `query=<urlencoded>` (or a raw body): a JSON array with one
 *                        result, like Manticore ({"columns":[...],"data":[...],"total",...})
 *   POST /sql            `query=SELECT ...`: the search JSON ({"took","timed_out","hits":{...}})
 *   POST /bulk           NDJSON insert/replace operations (application/x-ndjson), Manticore's answer shape
 *   GET  /metrics        Prometheus text (real metric names; like Manticore, needs Buddy)
 *   /sim/*               fault injection, only the simulator has these:
 *     POST /sim/partition {"peers":["h:p"]}   POST /sim/heal {"peers"?:[...]}
 *     POST /sim/pause      POST /sim/resume     POST /sim/sst-delay {"ms":N}     GET /sim/state
 *     POST /sim/disk-full {"full":true|false}  (IMPORT TABLE fails with ENOSPC while full)
 * While paused the node answers nothing but POST /sim/resume.
 */
import http from 'node:http';
import type { SqlResult } from '../contract.js';
import { SqlError } from '../contract.js';
import type { FaultState } from './faults.js';

export interface HttpServerOptions {
  faults: FaultState;
  /** runs one SQL statement */
  handler: (sql: string) => Promise<SqlResult>;
  /** SHOW STATUS rows (for /metrics) */
  statusRows: () => [string, string][];
  /** documents per local table (for /metrics) */
  tableDocs: () => [string, number][];
  /** extra state for GET /sim/state (cluster summary...) */
  state: () => Record<string, unknown>;
  buddy: boolean;
  /** POST /bulk: NDJSON inserts/replaces (src/sim/engine/bulk.ts) */
  bulk?: (body: string) => Promise<{ status: number; body: Record<string, unknown> }>;
}

const TYPE_NAMES = { string: 'string', long: 'long', longlong: 'long long', float: 'float' } as const;

/** An integer kept as its decimal text so uint64 ids survive JSON exactly. */
class RawNumber {
  constructor(readonly text: string) {}
}

/** JSON.stringify that writes RawNumber values unquoted. */
export function stringify(v: unknown): string {
  if (v instanceof RawNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stringify(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${stringify(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function jsonValue(type: 'string' | 'long' | 'longlong' | 'float', v: string | number | null | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'string') return v;
  if (type === 'longlong' && /^-?\d+$/.test(String(v))) return new RawNumber(String(v));
  return Number(v);
}

function send(res: http.ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : stringify(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

/** The SQL text of a /sql request: `query=...` form field, JSON {"query"}, or the raw body. */
export function sqlFromBody(body: string, contentType: string | undefined): string {
  const trimmed = body.trim();
  if (contentType?.includes('application/json') || trimmed.startsWith('{')) {
    try {
      const j = JSON.parse(trimmed) as { query?: unknown };
      if (typeof j.query === 'string') return j.query;
    } catch {
      // not JSON: fall through
    }
  }
  if (/^query=/i.test(trimmed)) {
    const params = new URLSearchParams(trimmed);
    return params.get('query') ?? '';
  }
  return trimmed;
}

export function rawResult(r: SqlResult): Record<string, unknown> {
  if (r.kind === 'ok') return { total: r.affectedRows, error: '', warning: r.warnings?.join('; ') ?? '' };
  return {
    columns: r.columns.map((c) => ({ [c.name]: { type: TYPE_NAMES[c.type] } })),
    data: r.rows.map((row) => {
      const o: Record<string, unknown> = {};
      r.columns.forEach((c, i) => {
        o[c.name] = jsonValue(c.type, row[i]);
      });
      return o;
    }),
    total: r.rows.length,
    error: '',
    warning: '',
  };
}

function searchJson(r: SqlResult, took: number): Record<string, unknown> {
  if (r.kind !== 'rows') return { error: 'only SELECT queries are supported' };
  const idIdx = r.columns.findIndex((c) => c.name === 'id');
  const hits = r.rows.map((row) => {
    const src: Record<string, unknown> = {};
    r.columns.forEach((c, i) => {
      if (i === idIdx) return;
      src[c.name] = jsonValue(c.type, row[i]);
    });
    const id = idIdx >= 0 ? row[idIdx] : undefined;
    return { _id: id === undefined || id === null ? undefined : jsonValue('longlong', id), _score: 1, _source: src };
  });
  return { took, timed_out: false, hits: { total: hits.length, total_relation: 'eq', hits } };
}

function metricsText(o: HttpServerOptions): string {
  const status = new Map(o.statusRows());
  const num = (k: string) => {
    const v = Number(status.get(k) ?? 0);
    return Number.isFinite(v) ? v : 0;
  };
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, value: string | number, labels = '') => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${labels} ${value}`);
  };
  metric('manticore_uptime_seconds', 'counter', 'Time in seconds since start', num('uptime'));
  metric('manticore_connections_count', 'gauge', 'Connections count since start', num('connections'));
  metric('manticore_maxed_out_error_count', 'counter', 'Count of maxed_out errors since start', num('maxed_out'));
  lines.push('# HELP manticore_version Manticore Search version', '# TYPE manticore_version gauge', `manticore_version {version="${status.get('version') ?? ''}"} 1`);
  metric('manticore_command_search_count', 'counter', 'Count of search queries since start', num('command_search'));
  metric('manticore_command_insert_count', 'counter', 'Count of insert queries since start', num('command_insert'));
  metric('manticore_command_replace_count', 'counter', 'Count of replace queries since start', num('command_replace'));
  metric('manticore_command_delete_count', 'counter', 'Count of delete queries since start', num('command_delete'));
  metric('manticore_command_update_count', 'counter', 'Count of update queries since start', num('command_update'));
  metric('manticore_queries_count', 'counter', 'Count of queries since start', num('queries'));
  metric('manticore_work_queue_length', 'gauge', 'Work queue length', num('work_queue_length'));
  const docs = o.tableDocs();
  if (docs.length) {
    lines.push('# HELP manticore_indexed_documents_count Number of indexed documents', '# TYPE manticore_indexed_documents_count gauge');
    for (const [t, n] of docs) lines.push(`manticore_indexed_documents_count{table="${t}"} ${n}`);
  }
  const clusterStatus = [...status.entries()].filter(([k]) => /^cluster_.+_status$/.test(k));
  if (clusterStatus.length) {
    lines.push('# HELP manticore_cluster_status Cluster status (1 primary, 0 otherwise)', '# TYPE manticore_cluster_status gauge');
    for (const [k, v] of clusterStatus) {
      const name = k.slice('cluster_'.length, -'_status'.length);
      lines.push(`manticore_cluster_status{cluster="${name}",status="${v}"} ${v === 'primary' ? 1 : 0}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** The mysql-client style table /cli prints. */
export function asciiTable(r: SqlResult): string {
  if (r.kind === 'ok') return `Query OK, ${r.affectedRows} rows affected\n`;
  const cells = r.rows.map((row) => row.map((v) => (v === null ? 'NULL' : String(v))));
  const widths = r.columns.map((c, i) => Math.max(c.name.length, ...cells.map((row) => (row[i] ?? '').length)));
  const sep = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  const line = (vals: string[]) => '|' + vals.map((v, i) => ` ${v.padEnd(widths[i] ?? 0)} `).join('|') + '|';
  const out = [sep, line(r.columns.map((c) => c.name)), sep, ...cells.map(line), sep];
  out.push(`${r.rows.length} ${r.rows.length === 1 ? 'row' : 'rows'} in set`);
  return out.join('\n') + '\n';
}

export class HttpServer {
  private server: http.Server | undefined;

  constructor(private readonly opts: HttpServerOptions) {}

  listen(host: string, port: number): Promise<void> {
    const server = http.createServer((req, res) => {
      void this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { error: err instanceof Error ? err.message : String(err) });
      });
    });
    server.keepAliveTimeout = 1000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const faults = this.opts.faults;

    if (p === '/sim/resume' && method === 'POST') {
      faults.resume();
      return send(res, 200, { ok: true, faults: faults.snapshot() });
    }
    await faults.whenRunning();

    if (p.startsWith('/sim/')) return this.admin(p, method, req, res);

    if (p === '/sql') {
      const body = await readBody(req);
      const mode = url.searchParams.get('mode');
      const sql = method === 'GET' ? (url.searchParams.get('query') ?? '') : sqlFromBody(body, req.headers['content-type']);
      const started = Date.now();
      try {
        const r = await this.opts.handler(sql);
        await faults.whenRunning();
        if (mode === 'raw') return send(res, 200, [rawResult(r)]);
        if (r.kind !== 'rows') return send(res, 200, { error: 'only SELECT queries are supported' });
        return send(res, 200, searchJson(r, Date.now() - started));
      } catch (err) {
        await faults.whenRunning();
        const message = err instanceof SqlError || err instanceof Error ? err.message : String(err);
        if (mode === 'raw') return send(res, 500, [{ total: 0, error: message, warning: '' }]);
        return send(res, 500, { error: message });
      }
    }

    if (p === '/cli' || p === '/cli_json') {
      // Buddy-routed endpoints
      const body = await readBody(req);
      if (!this.opts.buddy) return send(res, 501, { error: `${p} requires Buddy` });
      const sql = body.trim().startsWith('query=') ? sqlFromBody(body, req.headers['content-type']) : decodeURIComponent(body.trim() || url.search.slice(1));
      try {
        const r = await this.opts.handler(sql);
        await faults.whenRunning();
        if (p === '/cli_json') return send(res, 200, [rawResult(r)]);
        return send(res, 200, asciiTable(r), 'text/plain');
      } catch (err) {
        await faults.whenRunning();
        const message = err instanceof Error ? err.message : String(err);
        if (p === '/cli_json') return send(res, 500, [{ total: 0, error: message, warning: '' }]);
        return send(res, 500, `ERROR: ${message}\n`, 'text/plain');
      }
    }

    if (p === '/bulk' && this.opts.bulk) {
      if (method !== 'POST') return send(res, 405, { error: `${method} not allowed on /bulk: POST NDJSON` });
      const body = await readBody(req);
      const r = await this.opts.bulk(body);
      await faults.whenRunning();
      return send(res, r.status, r.body);
    }

    if (p === '/metrics' && method === 'GET') {
      if (!this.opts.buddy) return send(res, 501, { error: 'Failed to handle query: /metrics requires Buddy' });
      return send(res, 200, metricsText(this.opts), 'text/plain; version=0.0.4');
    }

    if (p === '/' && method === 'GET') {
      return send(res, 200, { version: { number: (this.opts.statusRows().find(([k]) => k === 'version') ?? ['', ''])[1] } });
    }
    return send(res, 404, { error: `unknown endpoint '${p}'` });
  }

  private async admin(p: string, method: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const faults = this.opts.faults;
    if (p === '/sim/state' && method === 'GET') return send(res, 200, { faults: faults.snapshot(), ...this.opts.state() });
    if (method !== 'POST') return send(res, 405, { error: `${method} not allowed on ${p}` });
    const text = await readBody(req);
    let body: { peers?: unknown; ms?: unknown; full?: unknown } = {};
    if (text.trim()) {
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        return send(res, 400, { error: 'body must be JSON' });
      }
    }
    const peers = Array.isArray(body.peers) ? body.peers.map(String) : undefined;
    switch (p) {
      case '/sim/partition':
        if (!peers || peers.length === 0) return send(res, 400, { error: 'peers: a non-empty array of "host:port" API addresses is required' });
        faults.block(peers);
        break;
      case '/sim/heal':
        faults.heal(peers);
        break;
      case '/sim/pause':
        faults.pause();
        break;
      case '/sim/sst-delay': {
        const ms = Number(body.ms);
        if (!Number.isFinite(ms) || ms < 0) return send(res, 400, { error: 'ms: a non-negative number is required' });
        faults.sstDelayMs = ms;
        break;
      }
      case '/sim/disk-full':
        if (typeof body.full !== 'boolean') return send(res, 400, { error: 'full: true or false is required' });
        faults.diskFull = body.full;
        break;
      default:
        return send(res, 404, { error: `unknown endpoint '${p}'` });
    }
    return send(res, 200, { ok: true, faults: faults.snapshot() });
  }
}
