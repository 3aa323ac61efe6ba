/**
 * One local table (rt, percolate or plain) held in memory and persisted under its path prefix.
 *
 * RT/percolate files (prefix `<data_dir>/<name>/<name>`):
 *   <prefix>.meta        JSON {"format":"manticore-sim-rt","version":1,"name","kind","columns","settings"}
 *   <prefix>.ram         JSON lines, one document each (snapshot)
 *   <prefix>.wal         JSON lines of ReplicatedWrite applied after the snapshot, appended synchronously
 *   <prefix>.wal.frozen  writes made while the table is frozen (merged into .wal on UNFREEZE)
 * Plain files (prefix = the config's `path`): <prefix>.sph JSON header, <prefix>.spd JSON lines.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ColumnDef } from '../sql/ast.js';
import type { JsonDoc, ReplicatedWrite } from '../contract.js';
import { normalizeColumn } from './schema.js';

export type LocalKind = 'rt' | 'percolate' | 'plain';

export const RT_FORMAT = 'manticore-sim-rt';
export const PLAIN_FORMAT = 'manticore-sim-plain';

/** Rewrite .ram and empty .wal after this many wal records. */
const COMPACT_AFTER = 2000;

export interface LocalDefinition {
  columns: ColumnDef[];
  settings: Record<string, string>;
}

export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** JSON lines of a file; a torn last line (after a crash) ends the read, keeping every line before it. */
export function readJsonLines(file: string): unknown[] {
  if (!fs.existsSync(file)) return [];
  const out: unknown[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a torn last line after a crash: everything before it is kept
      break;
    }
  }
  return out;
}

export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class LocalTable {
  readonly docs = new Map<string, JsonDoc>();
  columns: ColumnDef[];
  settings: Record<string, string>;
  private freezeCount = 0;
  private frozenDocs: JsonDoc[] | undefined;
  private walRecords = 0;

  constructor(
    public name: string,
    readonly kind: LocalKind,
    def: LocalDefinition,
    /** path prefix of the files; undefined for a memory-only table (tests) */
    public prefix: string | undefined,
  ) {
    this.columns = def.columns.map(normalizeColumn);
    this.settings = { ...def.settings };
  }

  get definition(): LocalDefinition {
    return { columns: this.columns.map((c) => ({ ...c, options: [...c.options] })), settings: { ...this.settings } };
  }

  column(name: string): ColumnDef | undefined {
    const n = name.toLowerCase();
    return this.columns.find((c) => c.name === n);
  }

  get frozen(): boolean {
    return this.freezeCount > 0;
  }

  get freezes(): number {
    return this.freezeCount;
  }

  // ---------------------------------------------------------------- files

  files(): string[] {
    if (!this.prefix) return [];
    if (this.kind === 'plain') return [`${this.prefix}.sph`, `${this.prefix}.spd`];
    return [`${this.prefix}.meta`, `${this.prefix}.ram`, `${this.prefix}.wal`];
  }

  /** Creates the files of a new (or replaced) table with the current documents. */
  persistAll(): void {
    if (!this.prefix) return;
    fs.mkdirSync(path.dirname(this.prefix), { recursive: true });
    const docs = this.sortedDocs()
      .map((d) => JSON.stringify(d) + '\n')
      .join('');
    if (this.kind === 'plain') {
      writeFileAtomic(
        `${this.prefix}.sph`,
        JSON.stringify({ format: PLAIN_FORMAT, version: 1, name: this.name, kind: 'plain', columns: this.columns, settings: this.settings }) + '\n',
      );
      writeFileAtomic(`${this.prefix}.spd`, docs);
      return;
    }
    writeFileAtomic(
      `${this.prefix}.meta`,
      JSON.stringify({ format: RT_FORMAT, version: 1, name: this.name, kind: this.kind, columns: this.columns, settings: this.settings }) + '\n',
    );
    if (this.frozen) {
      // files must not change while frozen: keep the frozen snapshot on disk, the rest goes to the frozen wal
      return;
    }
    writeFileAtomic(`${this.prefix}.ram`, docs);
    writeFileAtomic(`${this.prefix}.wal`, '');
    this.walRecords = 0;
  }

  static load(prefix: string, expectName?: string): LocalTable {
    if (fs.existsSync(`${prefix}.meta`)) {
      const meta = JSON.parse(fs.readFileSync(`${prefix}.meta`, 'utf8')) as {
        format?: string;
        name?: string;
        kind?: string;
        columns?: ColumnDef[];
        settings?: Record<string, string>;
      };
      const kind: LocalKind = meta.kind === 'percolate' ? 'percolate' : 'rt';
      const t = new LocalTable(expectName ?? meta.name ?? path.basename(prefix), kind, { columns: meta.columns ?? [], settings: meta.settings ?? {} }, prefix);
      for (const d of readJsonLines(`${prefix}.ram`)) t.putDoc(d as JsonDoc);
      const wal = readJsonLines(`${prefix}.wal`);
      for (const w of wal) t.applyInMemory(w as ReplicatedWrite);
      t.walRecords = wal.length;
      // a crash or restart while frozen: the writes made meanwhile survive and the freeze ends
      const frozenWal = `${prefix}.wal.frozen`;
      if (fs.existsSync(frozenWal)) {
        const extra = readJsonLines(frozenWal);
        for (const w of extra) t.applyInMemory(w as ReplicatedWrite);
        if (extra.length) fs.appendFileSync(`${prefix}.wal`, extra.map((w) => JSON.stringify(w) + '\n').join(''));
        t.walRecords += extra.length;
        fs.rmSync(frozenWal, { force: true });
      }
      return t;
    }
    if (fs.existsSync(`${prefix}.sph`)) {
      const head = JSON.parse(fs.readFileSync(`${prefix}.sph`, 'utf8')) as { name?: string; columns?: ColumnDef[]; settings?: Record<string, string> };
      const t = new LocalTable(expectName ?? head.name ?? path.basename(prefix), 'plain', { columns: head.columns ?? [], settings: head.settings ?? {} }, prefix);
      for (const d of readJsonLines(`${prefix}.spd`)) t.putDoc(d as JsonDoc);
      return t;
    }
    throw new Error(`no table files at '${prefix}'`);
  }

  removeFiles(): void {
    if (!this.prefix) return;
    for (const f of [...this.files(), `${this.prefix}.wal.frozen`]) fs.rmSync(f, { force: true });
    const dir = path.dirname(this.prefix);
    try {
      if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
    } catch {
      // directory gone or not empty: leave it
    }
  }

  // ------------------------------------------------------------- documents

  private putDoc(d: JsonDoc): void {
    if (d && typeof d.id === 'string') this.docs.set(d.id, d);
  }

  sortedDocs(): JsonDoc[] {
    return [...this.docs.values()].sort((a, b) => compareIds(a.id, b.id));
  }

  /** Applies a write to memory only. */
  applyInMemory(w: ReplicatedWrite): void {
    switch (w.action) {
      case 'insert':
      case 'replace':
        for (const d of w.docs) this.docs.set(d.id, { ...d });
        break;
      case 'delete':
        for (const id of w.ids) this.docs.delete(id);
        break;
      case 'update':
        for (const id of w.ids) {
          const d = this.docs.get(id);
          if (d) this.docs.set(id, { ...d, ...w.set, id });
        }
        break;
      case 'truncate':
        this.docs.clear();
        break;
    }
  }

  /** Applies a write and makes it durable before returning. */
  apply(w: ReplicatedWrite): void {
    this.applyInMemory(w);
    if (!this.prefix) return;
    if (this.kind === 'plain') {
      this.persistAll();
      return;
    }
    const line = JSON.stringify({ ...w, table: this.name }) + '\n';
    if (this.frozen) {
      fs.appendFileSync(`${this.prefix}.wal.frozen`, line);
      return;
    }
    if (w.action === 'truncate') {
      this.persistAll();
      return;
    }
    fs.appendFileSync(`${this.prefix}.wal`, line);
    this.walRecords++;
    if (this.walRecords >= COMPACT_AFTER) this.compact();
  }

  /** Rewrites the snapshot and empties the wal (FLUSH RAMCHUNK, or when the wal grows). */
  compact(): void {
    if (!this.prefix || this.frozen || this.kind === 'plain') return;
    writeFileAtomic(
      `${this.prefix}.ram`,
      this.sortedDocs()
        .map((d) => JSON.stringify(d) + '\n')
        .join(''),
    );
    writeFileAtomic(`${this.prefix}.wal`, '');
    this.walRecords = 0;
  }

  // ---------------------------------------------------------------- freeze

  freeze(): void {
    if (this.freezeCount === 0) {
      this.compact();
      this.frozenDocs = this.sortedDocs().map((d) => ({ ...d }));
    }
    this.freezeCount++;
  }

  unfreeze(): void {
    if (this.freezeCount === 0) return;
    this.freezeCount--;
    if (this.freezeCount > 0) return;
    this.frozenDocs = undefined;
    if (!this.prefix || this.kind === 'plain') return;
    const frozenWal = `${this.prefix}.wal.frozen`;
    if (fs.existsSync(frozenWal)) {
      const text = fs.readFileSync(frozenWal, 'utf8');
      if (text) {
        fs.appendFileSync(`${this.prefix}.wal`, text);
        this.walRecords += text.split('\n').filter((l) => l.trim()).length;
      }
      fs.rmSync(frozenWal, { force: true });
    }
    if (this.walRecords >= COMPACT_AFTER) this.compact();
  }

  /** Documents as the files hold them: the state at FREEZE while frozen. */
  exportDocs(): JsonDoc[] {
    return (this.frozenDocs ?? this.sortedDocs()).map((d) => ({ ...d }));
  }
}
