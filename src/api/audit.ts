/**
 * The API's audit trail: every mutating request (any method but GET/HEAD/OPTIONS under /api),
 * refused ones included (400, 401, 403, 404, 409, 413...), leaves one AuditRecord: who (X-Requested-By
 * or "api", the token's role, the client address), what (method, path, a summary of the body with
 * secret-looking keys redacted), when, and the result (status, error code, the operation it created).
 * Requests refused by the failed-auth rate limit (429) are not recorded one by one, so that a flood
 * of bad tokens cannot push the real history out of the bounded trail; they are logged as a count.
 *
 * Storage: the status store (src/status/store.ts, `<data dir>/status/audit.json`, newest first,
 * bounded); a memory ring buffer when the API runs without one (tests). Read with GET /api/audit.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { RequestHandler, Response } from 'express';
import { ValidationError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { AuditLog, AuditRecord } from '../status/types.js';
import { clientAddress, isReadMethod, roleOf } from './auth.js';
import { sendData } from './errors.js';
import { methodNotAllowed } from './routes/util.js';

export const DEFAULT_MEMORY_AUDIT = 1000;

/** A bounded in-memory audit trail (newest first). */
export class MemoryAuditLog implements AuditLog {
  private readonly records: AuditRecord[] = [];
  constructor(private readonly max = DEFAULT_MEMORY_AUDIT) {}

  appendAudit(record: AuditRecord): void {
    this.records.unshift(structuredClone(record));
    if (this.records.length > this.max) this.records.length = this.max;
  }

  auditRecords(): AuditRecord[] {
    return structuredClone(this.records);
  }
}

/** Keys whose values never go into the trail. */
const SECRET_KEY = /token|secret|passw|credential|authori[sz]ation|api[-_]?key|access[-_]?key|private|cookie|signature/i;
const MAX_STRING = 120;
const MAX_ITEMS = 10;
const MAX_DEPTH = 3;
export const MAX_BODY_SUMMARY = 1000;

function shorten(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…(${value.length} chars)` : value;
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? `[${value.length} items]` : '{…}';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => shorten(v, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`…(${value.length} items)`);
    return items;
  }
  const out: Record<string, unknown> = {};
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries.slice(0, MAX_ITEMS * 2)) {
    const key = k.length > MAX_STRING ? `${k.slice(0, MAX_STRING)}…` : k;
    out[key] = SECRET_KEY.test(k) ? '[redacted]' : shorten(v, depth + 1);
  }
  if (entries.length > MAX_ITEMS * 2) out['…'] = `${entries.length} keys`;
  return out;
}

/** A short JSON summary of a request body without secrets, or undefined when there is none. */
export function summarizeBody(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0) return undefined;
  const text = JSON.stringify(shorten(body, 0)) ?? '';
  return text.length > MAX_BODY_SUMMARY ? `${text.slice(0, MAX_BODY_SUMMARY)}…` : text;
}

/** The X-Requested-By header, cleaned (no control characters, at most 200 characters), or "api". */
export function requestedByOf(header: string | undefined): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  const clean = (header ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return clean === '' ? 'api' : clean;
}

/** What a JSON answer says about the outcome: the error code, or the id of the operation it created. */
function inspectAnswer(body: unknown, into: { errorCode?: string; operationId?: string }): void {
  if (typeof body !== 'object' || body === null) return;
  const b = body as { error?: unknown; data?: unknown; commandId?: unknown };
  if (typeof b.error === 'object' && b.error !== null) {
    const e = b.error as { code?: unknown; operationId?: unknown };
    if (typeof e.code === 'string') into.errorCode = e.code;
    // a 409 names the operation that is in the way
    if (typeof e.operationId === 'string') into.operationId = e.operationId;
  }
  if (typeof b.commandId === 'string') into.operationId = b.commandId;
  if (typeof b.data === 'object' && b.data !== null) {
    const d = b.data as { id?: unknown; kind?: unknown; requestedAt?: unknown; operationId?: unknown };
    if (typeof d.id === 'string' && typeof d.kind === 'string' && typeof d.requestedAt === 'string') into.operationId = d.id;
    else if (typeof d.operationId === 'string') into.operationId = d.operationId;
  }
}

/**
 * Middleware: records every non-read request under it once its answer is sent. Mount it BEFORE
 * authentication so refused requests are recorded too.
 */
export function auditRequests(log: AuditLog, logger: Logger, now: () => number = Date.now): RequestHandler {
  let rateLimited = 0;
  let rateLimitedSince = 0;
  return (req, res, next) => {
    if (isReadMethod(req.method)) {
      next();
      return;
    }
    const at = new Date(now()).toISOString();
    const outcome: { errorCode?: string; operationId?: string } = {};
    const json = res.json.bind(res);
    res.json = ((body: unknown) => {
      inspectAnswer(body, outcome);
      return json(body);
    }) as Response['json'];
    res.once('close', () => {
      const status = res.writableFinished || res.headersSent ? res.statusCode : 0;
      if (status === 429) {
        rateLimited += 1;
        if (now() - rateLimitedSince >= 60_000) {
          logger.warn('api requests refused by the failed-auth rate limit (not audited one by one)', { count: rateLimited, address: clientAddress(req) });
          rateLimited = 0;
          rateLimitedSince = now();
        }
        return;
      }
      const record: AuditRecord = {
        id: randomUUID(),
        at,
        requestedBy: requestedByOf(req.get('x-requested-by')),
        role: roleOf(res) ?? 'none',
        address: clientAddress(req),
        method: req.method,
        path: req.originalUrl.split('?')[0]?.slice(0, 300) ?? '',
        status,
      };
      // the body was parsed only when the request got past authentication
      const summary = roleOf(res) === undefined ? undefined : summarizeBody(req.body);
      if (summary !== undefined) record.body = summary;
      if (outcome.errorCode !== undefined) record.errorCode = outcome.errorCode;
      if (outcome.operationId !== undefined) record.operationId = outcome.operationId;
      try {
        log.appendAudit(record);
      } catch (err) {
        logger.error('audit record not stored', { err: err instanceof Error ? err.message : String(err), method: record.method, path: record.path });
      }
    });
    next();
  };
}

/** GET /api/audit: newest first; `?limit=N`; `?result=ok|refused` (status < 400 / >= 400). */
export function auditRouter(log: AuditLog): Router {
  const router = Router();
  router
    .route('/audit')
    .get((req, res) => {
      const { limit, result } = req.query;
      let records = log.auditRecords();
      if (result !== undefined) {
        if (result !== 'ok' && result !== 'refused') throw new ValidationError('result', 'use ok or refused');
        records = records.filter((r) => (result === 'ok' ? r.status > 0 && r.status < 400 : r.status === 0 || r.status >= 400));
      }
      if (limit !== undefined) {
        const n = typeof limit === 'string' && /^\d{1,6}$/.test(limit) ? Number(limit) : NaN;
        if (!Number.isInteger(n) || n < 1) throw new ValidationError('limit', 'use a positive integer');
        records = records.slice(0, n);
      }
      sendData(res, records);
    })
    .all(methodNotAllowed);
  return router;
}
