/**
 * ManticoreBackupSchedule objects (schemas/backup-schedule.schema.json, the BACKUP_SCHEDULES entry form):
 * validated with that schema (ajv, the same file the CRD is generated from) plus the cron and table-name
 * checks of src/backup/schedule.ts, then handed to the table they name as one more entry of its spec's
 * `backups` (named after the object), so the controller's one backup scheduler fires them and applies
 * their retention. `maxAge` is refused for now (spec backups keep a count, not an age): use `keep`.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { baseNameProblem } from '../../domain/names.js';
import type { BackupScheduleSpec, SpecOrigin, SpecProblem } from '../../domain/spec.js';
import { cronProblem } from '../../spec/cron.js';
import type { KubeObject } from './rest.js';

export interface BackupScheduleObject extends KubeObject {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** Where the schema sits relative to this module: src/platform/kubernetes or dist/src/platform/kubernetes. */
const SCHEMA_CANDIDATES = ['../../../schemas/backup-schedule.schema.json', '../../../../schemas/backup-schedule.schema.json'];

let validator: ValidateFunction | undefined;

function scheduleValidator(): ValidateFunction {
  if (validator !== undefined) return validator;
  for (const rel of SCHEMA_CANDIDATES) {
    try {
      const schema = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as object;
      validator = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
      return validator;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error('schemas/backup-schedule.schema.json could not be read; install the package with its schemas/ folder');
}

export interface ScheduleEntry {
  table: string;
  backup: BackupScheduleSpec;
}

/** One object → the backup entry it adds to its table, or problems (pointers into the object). */
export function planBackupSchedule(obj: BackupScheduleObject, origin: SpecOrigin): { entry?: ScheduleEntry; problems: SpecProblem[] } {
  const spec = obj.spec ?? {};
  const table = typeof spec.table === 'string' ? spec.table : undefined;
  const problem = (pointer: string, message: string): SpecProblem => ({ origin, pointer: `/spec${pointer}`, message, ...(table === undefined ? {} : { table }) });
  const validate = scheduleValidator();
  if (!validate(spec)) {
    const problems = (validate.errors ?? []).map((e) => {
      const where = e.keyword === 'required' ? `${e.instancePath}/${String((e.params as { missingProperty?: string }).missingProperty)}` : e.instancePath;
      const allowed = e.keyword === 'enum' ? `: use one of ${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}` : '';
      return problem(where, `${e.message ?? 'is invalid'}${allowed}`);
    });
    return { problems };
  }
  const problems: SpecProblem[] = [];
  const nameProblem = baseNameProblem(spec.table);
  if (nameProblem !== undefined) problems.push(problem('/table', nameProblem));
  const cron = cronProblem(String(spec.schedule));
  if (cron !== undefined) problems.push(problem('/schedule', cron));
  if (spec.maxAge !== undefined) problems.push(problem('/maxAge', 'age-based retention is not supported on a ManticoreBackupSchedule yet: use keep (a count), or BACKUP_SCHEDULES for maxAge'));
  if (!/^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$/.test(obj.metadata.name) || obj.metadata.name.length > 63) {
    problems.push(problem('', `the object name '${obj.metadata.name}' cannot name a backup schedule: use at most 63 lower-case letters, digits and '-'`));
  }
  if (problems.length > 0) return { problems };
  const backup: BackupScheduleSpec = { name: obj.metadata.name, type: spec.type as BackupScheduleSpec['type'], schedule: String(spec.schedule).trim() };
  if (typeof spec.keep === 'number') backup.keep = spec.keep;
  return { entry: { table: spec.table as string, backup }, problems: [] };
}
