/**
 * The simulator's table store: every local and distributed table of one node, the RT/plain mode
 * rules, and `<data_dir>/manticore.json` (the list of tables and the node's clusters).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JsonDoc, PersistedCluster, ReplicatedWrite, SimEngine, TableKind, TableSnapshot } from '../contract.js';
import { SqlError } from '../contract.js';
import type { ColumnDef } from '../sql/ast.js';
import { LocalTable, writeFileAtomic } from './local-table.js';
import type { LocalDefinition, LocalKind } from './local-table.js';

export interface DistDefinition {
  locals: string[];
  agents: string[];
  ha_strategy: string;
  agent_retry_count: number;
}

export interface EngineOptions {
  /** RT mode when set: tables live under data_dir and CREATE/DROP TABLE work */
  dataDir?: string;
}

interface Manifest {
  clusters?: Record<string, PersistedCluster>;
  indexes?: Record<string, { type: string; path?: string; locals?: string[]; agents?: string[]; ha_strategy?: string; agent_retry_count?: number }>;
}

export class Engine implements SimEngine {
  readonly locals = new Map<string, LocalTable>();
  readonly dists = new Map<string, DistDefinition>();
  /** clusters as last read from / written to manticore.json */
  private clusters: Record<string, PersistedCluster> = {};
  /** where the cluster module's view of the clusters comes from once it is running */
  clusterSource: (() => Record<string, PersistedCluster>) | undefined;

  constructor(readonly opts: EngineOptions = {}) {}

  get rtMode(): boolean {
    return this.opts.dataDir !== undefined;
  }

  get dataDir(): string | undefined {
    return this.opts.dataDir;
  }

  static normalizeName(name: string): string {
    return name.toLowerCase();
  }

  // ---------------------------------------------------------- manifest

  manifestPath(): string | undefined {
    return this.opts.dataDir ? path.join(this.opts.dataDir, 'manticore.json') : undefined;
  }

  /** Loads the tables of an RT-mode data_dir; returns the clusters saved there. */
  loadRtMode(onError: (table: string, err: unknown) => void = () => undefined): Record<string, PersistedCluster> {
    const dir = this.opts.dataDir;
    if (!dir) return {};
    fs.mkdirSync(dir, { recursive: true });
    const file = this.manifestPath() as string;
    if (!fs.existsSync(file)) {
      this.clusters = {};
      this.saveManifest();
      return {};
    }
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
    this.clusters = m.clusters ?? {};
    for (const [name, ix] of Object.entries(m.indexes ?? {})) {
      try {
        if (ix.type === 'distributed') {
          this.dists.set(name, {
            locals: ix.locals ?? [],
            agents: ix.agents ?? [],
            ha_strategy: ix.ha_strategy ?? 'random',
            agent_retry_count: ix.agent_retry_count ?? 0,
          });
        } else {
          const rel = ix.path ?? name;
          const base = path.isAbsolute(rel) ? rel : path.join(dir, rel);
          this.locals.set(name, LocalTable.load(path.join(base, name), name));
        }
      } catch (err) {
        onError(name, err);
      }
    }
    return { ...this.clusters };
  }

  saveManifest(): void {
    const file = this.manifestPath();
    if (!file) return;
    if (this.clusterSource) this.clusters = this.clusterSource();
    const indexes: Manifest['indexes'] = {};
    for (const [name, t] of [...this.locals.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      indexes[name] = { type: t.kind, path: name };
    }
    for (const [name, d] of [...this.dists.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      indexes[name] = { type: 'distributed', locals: d.locals, agents: d.agents, ha_strategy: d.ha_strategy, agent_retry_count: d.agent_retry_count };
    }
    writeFileAtomic(file, JSON.stringify({ clusters: this.clusters, indexes }, null, 2) + '\n');
  }

  // ------------------------------------------------------------ tables

  has(name: string): boolean {
    const n = Engine.normalizeName(name);
    return this.locals.has(n) || this.dists.has(n);
  }

  local(name: string): LocalTable | undefined {
    return this.locals.get(Engine.normalizeName(name));
  }

  dist(name: string): DistDefinition | undefined {
    return this.dists.get(Engine.normalizeName(name));
  }

  tableNames(): string[] {
    return [...this.locals.keys(), ...this.dists.keys()].sort();
  }

  tablePrefix(name: string): string | undefined {
    const dir = this.opts.dataDir;
    return dir ? path.join(dir, name, name) : undefined;
  }

  /** Creates (or replaces) an RT-mode local table with its files. */
  createLocal(name: string, kind: LocalKind, def: LocalDefinition, docs: JsonDoc[] = []): LocalTable {
    const n = Engine.normalizeName(name);
    const old = this.locals.get(n);
    if (old) old.removeFiles();
    this.dists.delete(n);
    const t = new LocalTable(n, kind, def, this.tablePrefix(n));
    for (const d of docs) t.docs.set(d.id, { ...d });
    t.persistAll();
    this.locals.set(n, t);
    this.saveManifest();
    return t;
  }

  createDistributed(name: string, def: DistDefinition): void {
    const n = Engine.normalizeName(name);
    const old = this.locals.get(n);
    if (old) {
      old.removeFiles();
      this.locals.delete(n);
    }
    this.dists.set(n, { ...def, locals: def.locals.map(Engine.normalizeName) });
    this.saveManifest();
  }

  /** Adds a table declared in the config file (plain mode). */
  addConfigTable(name: string, table: LocalTable | DistDefinition): void {
    const n = Engine.normalizeName(name);
    if (table instanceof LocalTable) this.locals.set(n, table);
    else this.dists.set(n, table);
  }

  drop(name: string): void {
    const n = Engine.normalizeName(name);
    const t = this.locals.get(n);
    if (t) {
      t.removeFiles();
      this.locals.delete(n);
    }
    this.dists.delete(n);
    this.saveManifest();
  }

  /** Re-homes a table under a new name (ALTER TABLE ... RENAME). */
  rename(name: string, newName: string): void {
    const n = Engine.normalizeName(name);
    const nn = Engine.normalizeName(newName);
    const t = this.locals.get(n);
    if (t) {
      const docs = t.sortedDocs();
      const def = t.definition;
      t.removeFiles();
      this.locals.delete(n);
      this.createLocal(nn, t.kind, def, docs);
      return;
    }
    const d = this.dists.get(n);
    if (d) {
      this.dists.delete(n);
      this.dists.set(nn, d);
      this.saveManifest();
    }
  }

  // ------------------------------------------------------- SimEngine

  tableKind(name: string): TableKind | undefined {
    const n = Engine.normalizeName(name);
    const t = this.locals.get(n);
    if (t) return t.kind;
    return this.dists.has(n) ? 'distributed' : undefined;
  }

  frozenTables(): string[] {
    return [...this.locals.values()]
      .filter((t) => t.frozen)
      .map((t) => t.name)
      .sort();
  }

  applyWrite(write: ReplicatedWrite): void {
    const t = this.local(write.table);
    if (!t) throw new SqlError(`unknown table '${write.table}'`);
    t.apply({ ...write, table: t.name });
  }

  exportTables(names: string[]): TableSnapshot[] {
    return names.map((name) => {
      const n = Engine.normalizeName(name);
      const t = this.locals.get(n);
      if (t) return { name: n, kind: t.kind, definition: t.definition, docs: t.exportDocs() };
      const d = this.dists.get(n);
      if (d) return { name: n, kind: 'distributed', definition: { ...d }, docs: [] };
      throw new SqlError(`unknown table '${name}'`);
    });
  }

  importTables(snapshots: TableSnapshot[]): void {
    for (const s of snapshots) {
      if (s.kind === 'distributed') {
        const d = s.definition as Partial<DistDefinition>;
        this.createDistributed(s.name, {
          locals: d.locals ?? [],
          agents: d.agents ?? [],
          ha_strategy: d.ha_strategy ?? 'random',
          agent_retry_count: d.agent_retry_count ?? 0,
        });
        continue;
      }
      const def = s.definition as Partial<LocalDefinition>;
      this.createLocal(s.name, s.kind === 'plain' ? 'rt' : s.kind, { columns: (def.columns ?? []) as ColumnDef[], settings: def.settings ?? {} }, s.docs);
    }
  }

  docCount(name: string): number {
    return this.local(name)?.docs.size ?? 0;
  }

  /** Makes everything durable (clean stop). */
  flush(): void {
    for (const t of this.locals.values()) if (!t.frozen) t.compact();
    this.saveManifest();
  }
}
