/** The tables /v1/ready requires (and the cluster it checks), set by the controller, persisted in the jobs dir. */
import path from 'node:path';
import type { DeclaredTables } from '../protocol.js';
import { ValidationError } from '../../lib/errors.js';
import { readJsonOptional, writeJsonAtomic } from './json-file.js';

export const DECLARED_TABLES_FILE = 'declared-tables.json';
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function validateDeclaredTables(body: unknown): DeclaredTables {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('body', 'send a JSON object {tables: [...], cluster?}');
  const { tables, cluster } = body as Record<string, unknown>;
  if (!Array.isArray(tables) || tables.some((t) => typeof t !== 'string' || !NAME.test(t))) {
    throw new ValidationError('tables', 'must be a list of table names (letters, digits, underscores; not starting with a digit)');
  }
  const out: DeclaredTables = { tables: [...new Set(tables as string[])].sort() };
  if (cluster !== undefined) {
    if (typeof cluster !== 'string' || !NAME.test(cluster)) throw new ValidationError('cluster', 'must be a cluster name (letters, digits, underscores)');
    out.cluster = cluster;
  }
  return out;
}

export class DeclaredTablesStore {
  private constructor(
    private readonly file: string,
    private value: DeclaredTables,
  ) {}

  static async open(dir: string): Promise<DeclaredTablesStore> {
    const file = path.join(dir, DECLARED_TABLES_FILE);
    let value: DeclaredTables = { tables: [] };
    const raw = await readJsonOptional(file);
    if (raw !== undefined) {
      try {
        value = validateDeclaredTables(raw);
      } catch {
        value = { tables: [] };
      }
    }
    return new DeclaredTablesStore(file, value);
  }

  get(): DeclaredTables {
    return { ...this.value, tables: [...this.value.tables] };
  }

  async set(value: DeclaredTables): Promise<DeclaredTables> {
    this.value = value;
    await writeJsonAtomic(this.file, value);
    return this.get();
  }
}
