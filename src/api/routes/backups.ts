/**
 * Backups and restores (issue 5), in the original system's shapes (original-system.md 2.1 and 7):
 *   GET  /api/backups                         {backups:[{tableName, commandId, lifecycleStage, action}]} (running)
 *                                             plus `operations`: every backup and restore, newest first
 *   GET  /api/backups/files?tableName=&type=  {backups:[{filename, key, size, lastModified}]} newest first
 *   POST /api/backup   {tableName, type?}     202 {status:"accepted", message, commandId}
 *   POST /api/restore  {tableName, filename, type?}  202 {status:"accepted", message, commandId}
 *   POST /api/rotate-main {tableName, newSlot, oldSlot}  200 {status:"ok", message, reachableReplicas, totalReplicas}
 * A backup of a table while one runs answers 409 BACKUP_IN_PROGRESS naming the operation; a restore
 * while a backup, restore or import of the table runs answers 409 too. Bad input: 400 naming the field.
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { AppError, isAppError, ValidationError } from '../../lib/errors.js';
import { validateIdentifier } from '../../manticore/identifiers.js';
import type { OperationRecord } from '../../status/types.js';
import type { ApiDeps } from '../deps.js';
import { methodNotAllowed } from './util.js';

export const BACKUP_KINDS: readonly string[] = ['backup', 'restore'];

/** What the routes need of the controller (the Controller implements it). */
export interface BackupRequestSink {
  requestBackup(input: { table: string; type?: string; requestedBy: string }): Promise<OperationRecord>;
  requestRestore(input: { table: string; filename: string; type?: string; requestedBy: string }): Promise<OperationRecord>;
  listBackupFiles(table: unknown, type?: unknown): Promise<{ filename: string; key: string; size: number; lastModified: string }[]>;
  rotateMain(input: { table: unknown; newSlot: unknown; oldSlot: unknown; requestedBy: string }): Promise<{ message: string; reachableReplicas: number; totalReplicas: number }>;
}

function requestedBy(req: Request): string {
  const who = req.get('x-requested-by');
  const clean = who ? who.replace(/[^\w@.:() -]/g, '').slice(0, 100) : 'api';
  return `${clean || 'api'} from ${req.ip ?? 'unknown address'}`;
}

function sinkOf(deps: ApiDeps): BackupRequestSink {
  const s = deps.requests as unknown as Partial<BackupRequestSink>;
  if (typeof s.requestBackup !== 'function' || typeof s.requestRestore !== 'function' || typeof s.listBackupFiles !== 'function' || typeof s.rotateMain !== 'function') {
    throw new AppError('UNAVAILABLE', 'this controller does not take backup requests');
  }
  return s as BackupRequestSink;
}

const CONFLICT_CODES = new Set(['BACKUP_IN_PROGRESS', 'RESTORE_IN_PROGRESS', 'IMPORT_IN_PROGRESS', 'SLOT_NOT_READY', 'SLOT_SERVING', 'SLOT_UNKNOWN']);

/** Conflicts are 409 in the envelope (with the operation id when there is one); the rest goes to the error middleware. */
async function orConflict<T>(res: Response, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isAppError(err) && CONFLICT_CODES.has(err.code)) {
      res.status(409).json({ error: { code: err.code, message: err.message, ...(typeof err.details.operationId === 'string' ? { operationId: err.details.operationId } : {}) } });
      return undefined;
    }
    throw err;
  }
}

function bodyOf(req: Request, example: string): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('body', `send a JSON object, e.g. ${example}`);
  return body as Record<string, unknown>;
}

function tableOf(b: Record<string, unknown>): string {
  const t = b.tableName ?? b.table;
  if (typeof t !== 'string' || t.trim() === '') throw new ValidationError('tableName', 'name the table, e.g. {"tableName": "products"}');
  // a table name, before it goes anywhere (messages quote a bounded start of anything else)
  return validateIdentifier(t.trim(), 'table', 'tableName');
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ValidationError(field, 'must be a string');
  return v;
}

export function backupsRouter(deps: ApiDeps): Router {
  const router = Router();

  router
    .route('/backups')
    .get((_req, res) => {
      const ops = deps.status
        .operations()
        .filter((o) => BACKUP_KINDS.includes(o.kind))
        .sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
      const backups = ops
        .filter((o) => o.state === 'pending' || o.state === 'running')
        .map((o) => ({ tableName: o.target ?? o.key.split('/')[2] ?? '', commandId: o.id, lifecycleStage: o.state, action: o.kind }));
      res.json({ backups, operations: ops });
    })
    .all(methodNotAllowed);

  router
    .route('/backups/files')
    .get(async (req, res) => {
      const table = req.query.tableName;
      if (typeof table !== 'string' || table.trim() === '') throw new ValidationError('tableName', 'add ?tableName=<table> to the URL');
      const type = req.query.type;
      if (type !== undefined && type !== '' && type !== 'delta' && type !== 'main') throw new ValidationError('type', 'must be delta or main');
      const backups = await sinkOf(deps).listBackupFiles(table.trim(), type === '' ? undefined : type);
      res.json({ backups });
    })
    .all(methodNotAllowed);

  router
    .route('/backup')
    .post(async (req, res) => {
      const b = bodyOf(req, '{"tableName": "products", "type": "delta"}');
      const table = tableOf(b);
      const type = optionalString(b.type, 'type');
      const op = await orConflict(res, () => sinkOf(deps).requestBackup({ table, requestedBy: requestedBy(req), ...(type !== undefined ? { type } : {}) }));
      if (op) res.status(202).json({ status: 'accepted', message: `backup of ${table} (${type ?? 'delta'}) started: operation ${op.id}`, commandId: op.id });
    })
    .all(methodNotAllowed);

  router
    .route('/restore')
    .post(async (req, res) => {
      const b = bodyOf(req, '{"tableName": "products", "filename": "products_delta-2025-01-28T22-50-49Z.tar.gz"}');
      const table = tableOf(b);
      if (typeof b.filename !== 'string' || b.filename.trim() === '') {
        throw new ValidationError('filename', `name the archive to restore: GET /api/backups/files?tableName=${table} lists them`);
      }
      const type = optionalString(b.type, 'type');
      const op = await orConflict(res, () => sinkOf(deps).requestRestore({ table, filename: String(b.filename), requestedBy: requestedBy(req), ...(type !== undefined ? { type } : {}) }));
      if (op) res.status(202).json({ status: 'accepted', message: `restore of ${table} from ${String(b.filename)} started: operation ${op.id}`, commandId: op.id });
    })
    .all(methodNotAllowed);

  router
    .route('/rotate-main')
    .post(async (req, res) => {
      const b = bodyOf(req, '{"tableName": "products", "newSlot": "b", "oldSlot": "a"}');
      const table = tableOf(b);
      const r = await orConflict(res, () => sinkOf(deps).rotateMain({ table, newSlot: b.newSlot, oldSlot: b.oldSlot, requestedBy: requestedBy(req) }));
      if (r) res.json({ status: 'ok', ...r });
    })
    .all(methodNotAllowed);

  return router;
}
