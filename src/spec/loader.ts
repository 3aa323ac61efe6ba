/**
 * SpecStore: the controller's spec cache. Loads every `*.json` file of a directory (one table each, or an
 * original-format document with several) and the TABLES_CONFIG string, merges them (merge.ts), and keeps
 * a generation per table that increases only when the table's content changes. `watch()` follows the
 * directory with fs.watch plus a periodic rescan, so an edited file is picked up within a second, and
 * where fs.watch misses events within the rescan period (2 s, longer with many files: scheduleRescan).
 *
 * Safety rules (README.md here):
 * - an invalid file never stops the valid ones; it is reported with file, pointer and fix-it;
 * - a file that turns invalid keeps the last valid version of the tables it declared (an editor saving
 *   half a file must not look like a removed table), with a problem saying so;
 * - a table declared twice is applied from neither declaration; its last applied version stays.
 */
import { type FSWatcher, watch as fsWatch } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedSpec, SpecOrigin, SpecProblem } from '../domain/spec.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { parseJsonText } from './json-text.js';
import { describeOrigin, mergeContributions } from './merge.js';
import { TABLES_CONFIG_ORIGIN, parseTablesConfig } from './tables-config.js';
import type { TableContribution } from './types.js';
import { validateDocument } from './validate.js';

/** the periodic rescan is at least this far apart per spec file (200 files: every 5 s) */
export const RESCAN_PER_FILE_MS = 25;
/** the same while fs.watch follows the directory, when the rescan only catches what it misses (200 files: every 20 s) */
export const WATCHED_RESCAN_PER_FILE_MS = 100;

export interface SpecStoreOptions {
  /** directory of `*.json` spec files (not recursive; names starting with '.' are skipped) */
  dir?: string;
  /** the TABLES_CONFIG JSON string, as read by src/config */
  tablesConfig?: string;
  logger?: Logger;
  /** quiet period after a file system event before rescanning (default 150 ms) */
  debounceMs?: number;
  /** periodic rescan while watching, in case fs.watch misses an event (default 2000 ms) */
  rescanMs?: number;
}

/** What one scan changed. Emitted after every scan that changed a table or the list of problems. */
export interface SpecChange {
  added: string[];
  changed: string[];
  removed: string[];
  problemsChanged: boolean;
}

export type SpecChangeListener = (change: SpecChange) => void;

interface FileState {
  content: string;
  /** the file's stat when it was read (mtime, ctime, size, inode): an unchanged stamp is not read again */
  stamp?: string;
  problems: SpecProblem[];
  /** contributions in effect: the valid tables of the current content, plus kept ones (see header) */
  effective: TableContribution[];
}

/** Key order-independent JSON, to compare specs by content. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function problemKey(p: SpecProblem): string {
  return `${p.origin.kind}\u0000${p.origin.ref}\u0000${p.pointer}\u0000${p.message}`;
}

export class SpecStore {
  private readonly dir: string | undefined;
  private readonly logger: Logger | undefined;
  private readonly debounceMs: number;
  private readonly rescanMs: number;
  private readonly envContributions: TableContribution[];
  private readonly envProblems: SpecProblem[];

  private files = new Map<string, FileState>();
  private scanned = false;
  private lastDirProblem: SpecProblem | undefined;
  private current = new Map<string, LoadedSpec>();
  private canon = new Map<string, string>();
  /** last generation handed out per table, kept after removal so generations never go back */
  private generations = new Map<string, number>();
  private currentProblems: SpecProblem[] = [];
  private listeners = new Set<SpecChangeListener>();

  private chain: Promise<unknown> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private closed = false;

  constructor(options: SpecStoreOptions = {}) {
    this.dir = options.dir;
    this.logger = options.logger;
    this.debounceMs = options.debounceMs ?? 150;
    this.rescanMs = options.rescanMs ?? 2000;
    const env = parseTablesConfig(options.tablesConfig, TABLES_CONFIG_ORIGIN);
    this.envContributions = env.contributions;
    this.envProblems = env.problems;
  }

  /** Every valid table, sorted by name. */
  specs(): LoadedSpec[] {
    return [...this.current.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name));
  }

  get(name: string): LoadedSpec | undefined {
    return this.current.get(name);
  }

  /** Every problem of every source: TABLES_CONFIG first, then files by name, each in document order. */
  problems(): SpecProblem[] {
    return this.currentProblems.slice();
  }

  /** Problems that concern one table (for its SpecInvalid condition). */
  problemsFor(table: string): SpecProblem[] {
    return this.currentProblems.filter((p) => p.table === table);
  }

  /** Registers a listener; returns a function that removes it. */
  onChange(listener: SpecChangeListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Scans now (queued behind a scan in flight) and returns what changed. */
  load(): Promise<SpecChange> {
    const next = this.chain.then(() => this.scan());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Follows the directory: fs.watch with a debounce, plus a periodic rescan. Idempotent. */
  watch(): void {
    if (this.closed || this.watching) return;
    this.watching = true;
    this.attachWatcher();
    this.scheduleRescan();
  }

  /**
   * The periodic rescan (the fallback for events fs.watch misses) comes every rescanMs, or every
   * RESCAN_PER_FILE_MS per spec file when that is longer (WATCHED_RESCAN_PER_FILE_MS while the
   * directory watch is attached): a rescan costs a stat per file.
   */
  private scheduleRescan(): void {
    if (this.closed || !this.watching) return;
    const every = Math.max(this.rescanMs, this.files.size * (this.watcher !== undefined ? WATCHED_RESCAN_PER_FILE_MS : RESCAN_PER_FILE_MS));
    this.rescanTimer = setTimeout(() => {
      this.scanInBackground();
      this.scheduleRescan();
    }, every);
    this.rescanTimer.unref();
  }

  close(): void {
    this.closed = true;
    this.watching = false;
    if (this.debounceTimer !== undefined) clearTimeout(this.debounceTimer);
    if (this.rescanTimer !== undefined) clearTimeout(this.rescanTimer);
    this.debounceTimer = undefined;
    this.rescanTimer = undefined;
    this.detachWatcher();
    this.listeners.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private attachWatcher(): void {
    if (this.watcher !== undefined || this.dir === undefined || !this.watching) return;
    try {
      const w = fsWatch(this.dir, { persistent: false }, () => this.scheduleScan());
      w.on('error', (err) => {
        this.logger?.warn('spec directory watch failed; relying on the periodic rescan', { dir: this.dir, err: errorMessage(err) });
        this.detachWatcher();
      });
      this.watcher = w;
    } catch (err) {
      // the directory may not exist yet: the periodic rescan attaches the watcher once it does
      this.logger?.debug('spec directory not watchable yet', { dir: this.dir, err: errorMessage(err) });
    }
  }

  private detachWatcher(): void {
    const w = this.watcher;
    this.watcher = undefined;
    try {
      w?.close();
    } catch {
      // already closed
    }
  }

  private scheduleScan(): void {
    if (this.closed) return;
    if (this.debounceTimer !== undefined) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      this.scanInBackground();
    }, this.debounceMs);
    this.debounceTimer.unref();
  }

  private scanInBackground(): void {
    if (this.closed) return;
    this.load().catch((err: unknown) => {
      this.logger?.error('spec scan failed', { dir: this.dir, err: errorMessage(err) });
    });
  }

  /**
   * Reads the directory; returns file path → content (and stat stamp), or a problem about the
   * directory itself. A file whose stamp is the one last read is not read again: the periodic rescan
   * of a directory of hundreds of specs then costs a stat per file.
   */
  private async readDir(): Promise<{ contents: Map<string, { content: string; stamp?: string }>; problem?: SpecProblem }> {
    const contents = new Map<string, { content: string; stamp?: string }>();
    if (this.dir === undefined) return { contents };
    const dirOrigin: SpecOrigin = { kind: 'file', ref: this.dir };
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const message =
        code === 'ENOENT'
          ? 'the spec directory does not exist: create it and put one <table>.json file per table in it'
          : `the spec directory cannot be read (${errorMessage(err)}): check its permissions`;
      return { contents, problem: { origin: dirOrigin, pointer: '', message } };
    }
    for (const name of names) {
      const path = join(this.dir, name);
      try {
        const st = await stat(path);
        const stamp = `${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}`;
        const previous = this.files.get(path);
        if (previous !== undefined && previous.stamp === stamp) {
          contents.set(path, { content: previous.content, stamp });
          continue;
        }
        contents.set(path, { content: await readFile(path, 'utf8'), stamp });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EISDIR') continue; // removed since readdir, or a directory
        contents.set(path, { content: `\u0000unreadable:${errorMessage(err)}` });
      }
    }
    return { contents };
  }

  private evaluateFile(path: string, content: string, previous: FileState | undefined): FileState {
    const origin: SpecOrigin = { kind: 'file', ref: path };
    let problems: SpecProblem[];
    let valid: TableContribution[] = [];
    if (content.startsWith('\u0000unreadable:')) {
      problems = [{ origin, pointer: '', message: `the file cannot be read (${content.slice(12)}): check its permissions` }];
    } else {
      const parsed = parseJsonText(content, origin);
      if (parsed.problem !== undefined) {
        problems = [parsed.problem];
      } else {
        const result = validateDocument(parsed.doc, origin);
        problems = result.problems;
        valid = result.contributions;
      }
    }
    const effective = valid.slice();
    if (problems.length > 0 && previous !== undefined) {
      const present = new Set(valid.map((c) => c.table));
      for (const old of previous.effective) {
        if (present.has(old.table)) continue;
        effective.push(old);
        problems.push({
          origin,
          pointer: old.pointer,
          message: `table '${old.table}' keeps its last valid version from this file until the problems above are fixed`,
          table: old.table,
        });
      }
    }
    return { content, problems, effective };
  }

  private async scan(): Promise<SpecChange> {
    const { contents, problem: dirProblem } = await this.readDir();

    const files = new Map<string, FileState>();
    let same = this.scanned && dirProblem === undefined && this.lastDirProblem === undefined && contents.size === this.files.size;
    for (const [path, { content, stamp }] of contents) {
      const previous = this.files.get(path);
      if (previous !== undefined && previous.content === content) {
        files.set(path, stamp === undefined || previous.stamp === stamp ? previous : { ...previous, stamp });
      } else {
        same = false;
        const next = this.evaluateFile(path, content, previous);
        if (stamp !== undefined) next.stamp = stamp;
        files.set(path, next);
      }
    }
    this.files = files;
    this.lastDirProblem = dirProblem;
    this.scanned = true;
    // nothing read differs from the last scan: the specs and problems are what they were
    if (same) {
      if (this.watching) this.attachWatcher();
      return { added: [], changed: [], removed: [], problemsChanged: false };
    }

    const contributions = [...this.envContributions, ...[...files.values()].flatMap((f) => f.effective)];
    const merged = mergeContributions(contributions);

    const next = new Map<string, LoadedSpec>();
    const nextCanon = new Map<string, string>();
    const change: SpecChange = { added: [], changed: [], removed: [], problemsChanged: false };
    for (const [name, { spec, origin }] of merged.specs) {
      const text = canonical(spec);
      const before = this.current.get(name);
      if (before !== undefined && this.canon.get(name) === text) {
        next.set(name, before.origin.ref === origin.ref && before.origin.kind === origin.kind ? before : { ...before, origin });
      } else {
        const generation = (this.generations.get(name) ?? 0) + 1;
        this.generations.set(name, generation);
        next.set(name, { spec, origin, generation });
        (before === undefined ? change.added : change.changed).push(name);
      }
      nextCanon.set(name, text);
    }
    const heldProblems: SpecProblem[] = [];
    for (const name of merged.unresolved) {
      const before = this.current.get(name);
      if (before === undefined || next.has(name)) continue;
      next.set(name, before);
      nextCanon.set(name, this.canon.get(name) ?? canonical(before.spec));
      heldProblems.push({
        origin: before.origin,
        pointer: '',
        message: `table '${name}' keeps its last applied version (generation ${before.generation}) until the problems naming it are fixed`,
        table: name,
      });
    }
    for (const name of this.current.keys()) if (!next.has(name)) change.removed.push(name);

    const problems = [
      ...(dirProblem === undefined ? [] : [dirProblem]),
      ...this.envProblems,
      ...[...files.values()].flatMap((f) => f.problems),
      ...merged.problems,
      ...heldProblems,
    ];
    const seen = new Set<string>();
    const unique = problems
      .filter((p) => {
        const k = problemKey(p);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      })
      // stable: the problems of one source keep their order
      .sort((a, b) => a.origin.kind.localeCompare(b.origin.kind) || a.origin.ref.localeCompare(b.origin.ref));
    change.problemsChanged = canonical(unique.map(problemKey).sort()) !== canonical(this.currentProblems.map(problemKey).sort());

    this.current = next;
    this.canon = nextCanon;
    this.currentProblems = unique;
    if (this.watching) this.attachWatcher();

    if (change.added.length + change.changed.length + change.removed.length > 0 || change.problemsChanged) {
      this.logger?.info('specs changed', {
        dir: this.dir,
        added: change.added,
        changed: change.changed,
        removed: change.removed,
        problems: unique.length,
      });
      for (const p of unique) this.logger?.warn('spec problem', { source: describeOrigin(p.origin), pointer: p.pointer, table: p.table, problem: p.message });
      for (const listener of [...this.listeners]) {
        try {
          listener(change);
        } catch (err) {
          this.logger?.error('spec change listener failed', { err: errorMessage(err) });
        }
      }
    }
    return change;
  }
}
