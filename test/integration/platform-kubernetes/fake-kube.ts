/**
 * A loopback HTTP server serving the Kubernetes API paths the driver uses, with the API server's
 * semantics that matter to it: a global resourceVersion; list answers carry it; watches replay events
 * newer than the requested version, then stream; a version older than the compaction point answers an
 * ERROR event with 410 Gone; bookmarks; PUT and resourceVersion-carrying merge patches fail with 409 on
 * a stale version; create fails with 409 when the name exists; 404 Status for a missing object.
 * Test hooks: put/modify/remove objects (emitting events), end every watch stream, send bookmarks,
 * compact history, inject 409s, and a log of every request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; generation?: number; creationTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
  status?: unknown;
  [k: string]: unknown;
}

interface WatchEvent {
  type: string;
  object: Obj;
  rv: number;
}

interface Watcher {
  collection: string;
  res: ServerResponse;
  filter: (o: Obj) => boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: unknown;
  status: number;
}

function status(code: number, reason: string, message: string): Obj & { code: number; reason: string; message: string } {
  return { apiVersion: 'v1', kind: 'Status', metadata: { name: '' }, status: 'Failure', code, reason, message };
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function matches(o: Obj, query: Record<string, string>): boolean {
  const field = query.fieldSelector;
  if (field) {
    for (const part of field.split(',')) {
      const [k, v] = part.split('=');
      if (k === 'metadata.name' && o.metadata.name !== v) return false;
    }
  }
  const labels = query.labelSelector;
  if (labels) {
    for (const part of labels.split(',')) {
      const [k, v] = part.split('=');
      if (k === undefined || o.metadata.labels?.[k] !== v) return false;
    }
  }
  return true;
}

/** `/apis/g/v/namespaces/ns/plural[/name[/status]]` → collection + name + subresource. */
function parsePath(path: string): { collection: string; name?: string; sub?: string } {
  const parts = path.split('/').filter(Boolean);
  const nsAt = parts.indexOf('namespaces');
  const end = nsAt >= 0 ? nsAt + 3 : parts.length;
  const collection = `/${parts.slice(0, end).join('/')}`;
  const name = parts[end];
  const sub = parts[end + 1];
  return { collection, ...(name === undefined ? {} : { name: decodeURIComponent(name) }), ...(sub === undefined ? {} : { sub }) };
}

export class FakeKube {
  private server: Server | undefined;
  private rv = 100;
  private compactedBelow = 0;
  private readonly stores = new Map<string, Map<string, Obj>>();
  private readonly history = new Map<string, WatchEvent[]>();
  private readonly watchers = new Set<Watcher>();
  readonly requests: RequestRecord[] = [];
  /** the next N writes matching a predicate answer 409 Conflict */
  private conflicts: Array<{ method: string; pathEnds: string; remaining: number }> = [];
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private store(collection: string): Map<string, Obj> {
    let s = this.stores.get(collection);
    if (s === undefined) {
      s = new Map();
      this.stores.set(collection, s);
    }
    return s;
  }

  get(collection: string, name: string): Obj | undefined {
    const o = this.store(collection).get(name);
    return o === undefined ? undefined : structuredClone(o);
  }

  list(collection: string): Obj[] {
    return [...this.store(collection).values()].map((o) => structuredClone(o));
  }

  watcherCount(collection: string): number {
    return [...this.watchers].filter((w) => w.collection === collection).length;
  }

  private emit(collection: string, type: string, obj: Obj): void {
    const rv = Number(obj.metadata.resourceVersion);
    const events = this.history.get(collection) ?? [];
    events.push({ type, object: structuredClone(obj), rv });
    this.history.set(collection, events);
    for (const w of this.watchers) {
      if (w.collection === collection && w.filter(obj)) w.res.write(`${JSON.stringify({ type, object: obj })}\n`);
    }
  }

  /** Creates or replaces an object (server side), emitting ADDED or MODIFIED. */
  put(collection: string, obj: Obj): Obj {
    const s = this.store(collection);
    const existing = s.get(obj.metadata.name);
    const next: Obj = structuredClone(obj);
    next.metadata.resourceVersion = String(++this.rv);
    next.metadata.uid = existing?.metadata.uid ?? `uid-${obj.metadata.name}-${this.rv}`;
    next.metadata.creationTimestamp = existing?.metadata.creationTimestamp ?? new Date(Date.now() + this.rv).toISOString();
    const specChanged = existing === undefined || JSON.stringify(existing.spec) !== JSON.stringify(next.spec);
    next.metadata.generation = (existing?.metadata.generation ?? 0) + (specChanged ? 1 : 0);
    if (next.status === undefined && existing?.status !== undefined) next.status = existing.status;
    s.set(obj.metadata.name, next);
    this.emit(collection, existing === undefined ? 'ADDED' : 'MODIFIED', next);
    return structuredClone(next);
  }

  remove(collection: string, name: string): void {
    const s = this.store(collection);
    const existing = s.get(name);
    if (existing === undefined) return;
    s.delete(name);
    existing.metadata.resourceVersion = String(++this.rv);
    this.emit(collection, 'DELETED', existing);
  }

  /** Ends every open watch stream (as an API server does at timeoutSeconds or on restart). */
  endWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Sends a BOOKMARK with the current resourceVersion on every watch of a collection. */
  bookmark(collection: string): void {
    for (const w of this.watchers) {
      if (w.collection !== collection) continue;
      w.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Bookmark', metadata: { name: '', resourceVersion: String(this.rv) } } })}\n`);
    }
  }

  /** Forgets history: a watch from any version up to now answers 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv + 1;
    this.history.clear();
  }

  /** The next `count` requests of `method` whose path ends with `pathEnds` answer 409 Conflict. */
  injectConflict(method: string, pathEnds: string, count = 1): void {
    this.conflicts.push({ method, pathEnds, remaining: count });
  }

  private send(res: ServerResponse, record: RequestRecord, code: number, body: unknown): void {
    record.status = code;
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private handle(req: IncomingMessage, res: ServerResponse, text: string): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams.entries());
    const method = req.method ?? 'GET';
    const body = text === '' ? undefined : (JSON.parse(text) as Obj);
    const record: RequestRecord = { method, path: url.pathname, query, status: 0, ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}), ...(body === undefined ? {} : { body }) };
    this.requests.push(record);
    const { collection, name, sub } = parsePath(url.pathname);
    const s = this.store(collection);

    const conflict = this.conflicts.find((c) => c.method === method && url.pathname.endsWith(c.pathEnds) && c.remaining > 0);
    if (conflict !== undefined) {
      conflict.remaining--;
      return this.send(res, record, 409, status(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again'));
    }

    if (method === 'GET' && name === undefined && query.watch === 'true') {
      const from = Number(query.resourceVersion ?? 0);
      record.status = 200;
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      if (from > 0 && from < this.compactedBelow) {
        res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedBelow})`) })}\n`);
        return;
      }
      const filter = (o: Obj): boolean => matches(o, query);
      for (const e of this.history.get(collection) ?? []) if (e.rv > from && filter(e.object)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
      const w: Watcher = { collection, res, filter };
      this.watchers.add(w);
      res.on('close', () => this.watchers.delete(w));
      return;
    }
    if (method === 'GET' && name === undefined) {
      return this.send(res, record, 200, { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: String(this.rv) }, items: [...s.values()].filter((o) => matches(o, query)) });
    }
    if (method === 'GET') {
      const o = s.get(name!);
      return o === undefined ? this.send(res, record, 404, status(404, 'NotFound', `${collection} "${name}" not found`)) : this.send(res, record, 200, o);
    }
    if (method === 'POST' && name === undefined && body !== undefined) {
      if (s.has(body.metadata.name)) return this.send(res, record, 409, status(409, 'AlreadyExists', `"${body.metadata.name}" already exists`));
      return this.send(res, record, 201, this.put(collection, body));
    }
    if (method === 'PUT' && name !== undefined && body !== undefined) {
      const current = s.get(name);
      if (current === undefined) return this.send(res, record, 404, status(404, 'NotFound', `"${name}" not found`));
      if (body.metadata.resourceVersion !== current.metadata.resourceVersion) return this.send(res, record, 409, status(409, 'Conflict', 'the object has been modified'));
      return this.send(res, record, 200, this.put(collection, { ...body, status: body.status ?? current.status }));
    }
    if (method === 'PATCH' && name !== undefined && body !== undefined) {
      const current = s.get(name);
      if (current === undefined) return this.send(res, record, 404, status(404, 'NotFound', `"${name}" not found`));
      if (req.headers['content-type'] !== 'application/merge-patch+json') return this.send(res, record, 415, status(415, 'UnsupportedMediaType', 'merge patch only'));
      const wanted = body.metadata?.resourceVersion;
      if (wanted !== undefined && wanted !== current.metadata.resourceVersion) return this.send(res, record, 409, status(409, 'Conflict', 'the object has been modified'));
      // the status subresource changes only status; the main resource ignores status
      const next = sub === 'status' ? { ...current, status: mergePatch(current.status, body.status) } : { ...(mergePatch(current, { ...body, status: undefined }) as Obj), status: current.status };
      return this.send(res, record, 200, this.put(collection, next as Obj));
    }
    return this.send(res, record, 405, status(405, 'MethodNotAllowed', `${method} ${url.pathname}`));
  }
}
