/**
 * A loopback HTTP server implementing the Control Plane API endpoints the driver uses, with the
 * recorded shapes of deployment.md §2.4-2.5:
 *
 *   GET  /org/{o}/gvc/{g}/workload/{w}                 workload (spec.defaultOptions.autoscaling, status)
 *   GET  /org/{o}/gvc/{g}/workload/{w}/deployment      {items: Deployment[]}
 *   POST /org/{o}/gvc/{g}/workload/{w}/-command        runCronWorkload → 201 "Created" + Location
 *   GET  /org/{o}/gvc/{g}/workload/{w}/-command/{id}   Command (lifecycleStage)
 *   POST /org/{o}/gvc/{g}/workload/{w}/-command/-query queryresult, paged through links rel=next
 *
 * Every request must carry `Authorization: Bearer <token>` (401 otherwise) and is recorded. Faults are
 * queued per "METHOD path" and answered before the real handler. A cron workload may run its commands
 * for real: `runner` gets the stored env merged with the overrides and reports success or failure.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  body?: unknown;
}

export interface Fault {
  status: number;
  headers?: Record<string, string>;
  /** raw body (default a JSON error) */
  body?: string;
  /** the handler still runs (its answer is replaced): a POST carried out whose answer was lost */
  passThrough?: boolean;
}

export interface FakeCommand {
  id: string;
  type: string;
  lifecycleStage: 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
  created: string;
  lastModified: string;
  spec: { location: string; containerOverrides: { name: string; env?: { name: string; value?: string }[] }[] };
  status: { replica?: string; messages?: string[] };
}

export interface CronWorkload {
  container: string;
  /** env the workload stores (the overrides win) */
  env: Record<string, string>;
  /** runs the command; resolves true on success. Absent: the command stays pending until the test moves it. */
  runner?: (env: Record<string, string>) => Promise<boolean>;
}

export class FakeCpln {
  readonly requests: RecordedRequest[] = [];
  readonly faults = new Map<string, Fault[]>();
  readonly workloads = new Map<string, Record<string, unknown>>();
  readonly deployments = new Map<string, unknown>();
  readonly cron = new Map<string, CronWorkload>();
  readonly commands = new Map<string, FakeCommand[]>();
  /** query page size (small, so paging is exercised) */
  pageSize = 2;
  private server: Server | undefined;
  private seq = 0;
  url = '';

  constructor(
    readonly org: string,
    readonly gvc: string,
    readonly token: string,
  ) {}

  fault(method: string, path: string, ...faults: Fault[]): void {
    const key = `${method} ${path}`;
    this.faults.set(key, [...(this.faults.get(key) ?? []), ...faults]);
  }

  workloadPath(name: string): string {
    return `/org/${this.org}/gvc/${this.gvc}/workload/${name}`;
  }

  requestsTo(method: string, pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix));
  }

  setStage(workload: string, id: string, stage: FakeCommand['lifecycleStage'], messages?: string[]): void {
    const c = (this.commands.get(workload) ?? []).find((x) => x.id === id);
    if (!c) throw new Error(`no command ${id} on ${workload}`);
    c.lifecycleStage = stage;
    c.lastModified = new Date().toISOString();
    if (messages) c.status.messages = messages;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(err) }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: `${path}${url.search}`, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), ...(body !== undefined ? { body } : {}) });

    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      json(401, { status: 401, code: 'unauthorized', message: 'Unauthorized' });
      return;
    }
    const queued = this.faults.get(`${method} ${path}`);
    const fault = queued?.shift();
    if (fault && !fault.passThrough) {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(fault.body ?? JSON.stringify({ status: fault.status, message: `injected ${fault.status}` }));
      return;
    }
    const answer = fault
      ? (status: number, value: unknown, headers?: Record<string, string>) => {
          void status;
          void value;
          void headers;
          res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
          res.end(fault.body ?? JSON.stringify({ status: fault.status, message: `injected ${fault.status} after the change` }));
        }
      : json;

    const m = /^\/org\/([^/]+)\/gvc\/([^/]+)\/workload\/([^/]+)(\/.*)?$/.exec(path);
    if (!m || m[1] !== this.org || m[2] !== this.gvc) {
      answer(404, { status: 404, message: `not found: ${path}` });
      return;
    }
    const name = m[3] ?? '';
    const rest = m[4] ?? '';
    if (method === 'GET' && rest === '') {
      const w = this.workloads.get(name);
      if (!w) answer(404, { status: 404, message: `workload ${name} not found` });
      else answer(200, w);
      return;
    }
    if (method === 'GET' && rest === '/deployment') {
      answer(200, this.deployments.get(name) ?? { kind: 'list', items: [] });
      return;
    }
    const cron = this.cron.get(name);
    if (method === 'POST' && rest === '/-command') {
      const b = body as { type?: string; spec?: FakeCommand['spec'] } | undefined;
      if (!cron) return answer(404, { status: 404, message: `workload ${name} is not a cron workload` });
      if (b?.type !== 'runCronWorkload' || typeof b.spec?.location !== 'string' || !Array.isArray(b.spec.containerOverrides)) {
        return answer(400, { status: 400, message: 'bad command' });
      }
      if (b.spec.containerOverrides.some((o) => o.name !== cron.container)) return answer(400, { status: 400, message: `no container ${JSON.stringify(b.spec.containerOverrides.map((o) => o.name))}` });
      const id = `cmd-${++this.seq}`;
      const now = new Date().toISOString();
      const cmd: FakeCommand = { id, type: 'runCronWorkload', lifecycleStage: 'pending', created: now, lastModified: now, spec: b.spec, status: {} };
      this.commands.set(name, [...(this.commands.get(name) ?? []), cmd]);
      if (cron.runner) {
        const env = { ...cron.env };
        for (const o of b.spec.containerOverrides) for (const e of o.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
        const runner = cron.runner;
        setTimeout(() => {
          cmd.lifecycleStage = 'running';
          cmd.status.replica = `command-${id}-abcde`;
          runner(env).then(
            (ok) => {
              cmd.lifecycleStage = ok ? 'completed' : 'failed';
              cmd.lastModified = new Date().toISOString();
            },
            (err: unknown) => {
              cmd.lifecycleStage = 'failed';
              cmd.status.messages = [String(err)];
            },
          );
        }, 50);
      }
      res.setHeader('location', `${this.workloadPath(name)}/-command/${id}`);
      if (fault) return answer(0, undefined);
      res.writeHead(201, { 'content-type': 'text/plain', location: `${this.workloadPath(name)}/-command/${id}` });
      res.end('Created');
      return;
    }
    if (method === 'POST' && rest === '/-command/-query') {
      const b = body as { spec?: { match?: string; terms?: { op: string; property: string; value: string }[] } } | undefined;
      const stages = (b?.spec?.terms ?? []).filter((t) => t.property === 'lifecycleStage').map((t) => t.value);
      const all = (this.commands.get(name) ?? []).filter((c) => stages.length === 0 || stages.includes(c.lifecycleStage));
      const page = Number(url.searchParams.get('page') ?? '1');
      const items = all.slice((page - 1) * this.pageSize, page * this.pageSize);
      const links = [{ rel: 'self', href: `${this.workloadPath(name)}/-command/-query?page=${page}` }];
      if (page * this.pageSize < all.length) links.push({ rel: 'next', href: `${this.workloadPath(name)}/-command/-query?page=${page + 1}` });
      answer(200, { kind: 'queryresult', itemKind: 'command', items, links });
      return;
    }
    const cm = /^\/-command\/([^/]+)$/.exec(rest);
    if (method === 'GET' && cm) {
      const c = (this.commands.get(name) ?? []).find((x) => x.id === cm[1]);
      if (!c) answer(404, { status: 404, message: `command ${cm[1]} not found` });
      else answer(200, c);
      return;
    }
    answer(404, { status: 404, message: `no route ${method} ${path}` });
  }
}
