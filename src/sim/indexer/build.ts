/**
 * Builds one plain table from its tsvpipe/csvpipe sources, the way Manticore's `indexer` does,
 * into the simulator's plain-table files:
 *
 *   <path>.sph  JSON header {"format":"manticore-sim-plain","version":1,"name","kind":"plain","columns","settings"}
 *   <path>.spd  one JSON document per line {"id":"123", <column>: value, ...}
 *
 * Files are written under `<path>.tmp.*` and renamed at the end, to `<path>.*` or, with
 * `--rotate`, to `<path>.new.*` (searchd picks those up on SIGHUP). The source command runs
 * through `/bin/sh -c`; its stdout is consumed as a stream, record by record.
 *
 * Messages follow the real indexer's wording (all on stdout, like indexer; the caller decides
 * whether to mirror ERROR/FATAL lines elsewhere).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import { getValue, getValues, type ConfigEntry, type ManticoreConfig } from '../config/config-file.js';
import { CsvSplitter, TsvSplitter, type InputRecord, type RecordSplitter } from './records.js';
import { columnDefs, convertValue, declaredColumns, parseDocId, type SourceColumn, type SourceKind } from './source-schema.js';

export const PLAIN_FORMAT = 'manticore-sim-plain';

export interface IndexerOutput {
  /** a normal progress line */
  info(line: string): void;
  /** a WARNING/ERROR line */
  problem(line: string): void;
}

export interface BuildOptions {
  rotate: boolean;
  quiet: boolean;
  out: IndexerOutput;
  /** for tests: clock in ms */
  now?: () => number;
}

export interface BuildResult {
  ok: boolean;
  docs: number;
  bytes: number;
  /** final file names written */
  files: string[];
}

/** Settings of a table section that are not copied into the table's settings. */
const NON_SETTINGS = new Set(['type', 'source', 'path']);

const KNOWN_TABLE_TYPES = new Set(['plain', 'distributed', 'rt', 'template', 'percolate']);

interface SpawnedSource {
  name: string;
  kind: SourceKind;
  command: string;
  header: boolean;
  columns: SourceColumn[];
}

function sourceOf(config: ManticoreConfig, name: string, out: IndexerOutput): SpawnedSource | undefined {
  const entries = config.resolved('source', name);
  const type = getValue(entries, 'type');
  if (type === undefined) {
    out.problem(`ERROR: source '${name}': type not found; skipping.`);
    return undefined;
  }
  if (type !== 'csvpipe' && type !== 'tsvpipe') {
    out.problem(`ERROR: source '${name}': unknown type '${type}'; skipping.`);
    return undefined;
  }
  const command = getValue(entries, `${type}_command`);
  if (command === undefined || command === '') {
    out.problem(`ERROR: key '${type}_command' not found in source '${name}'`);
    return undefined;
  }
  let columns: SourceColumn[];
  try {
    columns = declaredColumns(type, entries);
  } catch (err) {
    out.problem(`ERROR: source '${name}': ${(err as Error).message}`);
    return undefined;
  }
  const header = (getValue(entries, `${type}_header`) ?? '0').trim() === '1';
  return { name, kind: type, command, header, columns };
}

/** Writes lines to a file with backpressure. */
class LineWriter {
  private readonly stream: fs.WriteStream;
  bytes = 0;

  constructor(file: string) {
    this.stream = fs.createWriteStream(file, { encoding: 'utf8' });
  }

  /** Resolves when the file is open; rejects when it cannot be created. */
  async opened(): Promise<void> {
    await once(this.stream, 'open');
  }

  async write(line: string): Promise<void> {
    this.bytes += Buffer.byteLength(line) + 1;
    if (!this.stream.write(line + '\n')) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
  }

  destroy(): void {
    this.stream.destroy();
  }
}

interface RunStats {
  docs: number;
  bytes: number;
}

/**
 * Runs one source command and appends its documents. Resolves with an error message or undefined.
 * `schema` is shared across sources: the first source fixes it (a header may add fields).
 */
async function runSource(
  src: SpawnedSource,
  schema: { columns: SourceColumn[] | undefined },
  writer: LineWriter,
  stats: RunStats,
  out: IndexerOutput,
): Promise<string | undefined> {
  const child = spawn('/bin/sh', ['-c', src.command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderrTail = (stderrTail + d).slice(-2000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });

  const splitter: RecordSplitter = src.kind === 'csvpipe' ? new CsvSplitter(',') : new TsvSplitter();
  /** input column index → schema column (undefined: ignored) */
  let mapping: (SourceColumn | undefined)[] | undefined;
  let warnedExtra = false;
  let headerPending = src.header;

  const setMapping = (cols: (SourceColumn | undefined)[]) => {
    mapping = cols;
  };
  if (!src.header) {
    if (schema.columns === undefined) schema.columns = src.columns;
    setMapping(schema.columns);
  }

  const handle = async ({ fields: rec, line }: InputRecord): Promise<void> => {
    if (headerPending) {
      headerPending = false;
      const names = rec.slice(1).map((n) => n.trim());
      const cols: SourceColumn[] = [...src.columns];
      const map: (SourceColumn | undefined)[] = [];
      for (const n of names) {
        let c = cols.find((x) => x.name.toLowerCase() === n.toLowerCase());
        if (c === undefined && n !== '') {
          // undeclared header columns become full-text fields
          c = { name: n, kind: 'field' };
          cols.push(c);
        }
        map.push(c);
      }
      if (schema.columns === undefined) schema.columns = cols;
      setMapping(map.map((c) => (c === undefined ? undefined : schema.columns?.find((s) => s.name === c.name))));
      return;
    }
    const map = mapping ?? [];
    const idText = rec[0] ?? '';
    const id = parseDocId(idText);
    if (id === undefined) {
      out.problem(`WARNING: source '${src.name}': line ${line}: invalid document id '${idText}', skipping document.`);
      return;
    }
    if (rec.length - 1 > map.length && !warnedExtra) {
      warnedExtra = true;
      out.problem(`WARNING: source '${src.name}': line ${line}: ${rec.length - 1} columns found, ${map.length} declared; extra columns ignored.`);
    }
    const doc: Record<string, unknown> = { id };
    for (const col of schema.columns ?? []) {
      const idx = map.indexOf(col);
      const text = idx >= 0 ? (rec[idx + 1] ?? '') : '';
      doc[col.name] = convertValue(col, text, (msg) => out.problem(`WARNING: source '${src.name}': line ${line}: ${msg}`));
      if (col.kind === 'field' || col.kind === 'field_string') stats.bytes += Buffer.byteLength(text);
    }
    stats.docs++;
    await writer.write(JSON.stringify(doc));
  };

  let parseError: string | undefined;
  try {
    child.stdout.setEncoding('utf8');
    for await (const chunk of child.stdout as AsyncIterable<string>) {
      for (const rec of splitter.push(chunk)) await handle(rec);
    }
    for (const rec of splitter.end()) await handle(rec);
  } catch (err) {
    parseError = (err as Error).message;
    child.kill('SIGTERM');
  }
  const res = await exited;
  if (parseError !== undefined) return `source '${src.name}': ${parseError}`;
  if (res.error !== undefined) return `source '${src.name}': failed to run '${src.command}': ${res.error.message}`;
  if (res.code !== 0) {
    const why = res.signal !== null ? `killed by ${res.signal}` : `exited with code ${res.code}`;
    const tail = stderrTail.trim();
    return `source '${src.name}': command '${src.command}' ${why}${tail === '' ? '' : `: ${tail.split('\n').pop() ?? ''}`}`;
  }
  return undefined;
}

function fmtRate(n: number, micros: number): string {
  const perSec = (n * 1e6) / micros;
  return perSec.toFixed(2);
}

/** Builds one table named on the command line or by --all. */
export async function buildTable(config: ManticoreConfig, name: string, opts: BuildOptions): Promise<BuildResult> {
  const { out } = opts;
  const now = opts.now ?? (() => performance.now());
  const fail: BuildResult = { ok: false, docs: 0, bytes: 0, files: [] };
  let entries: ConfigEntry[];
  try {
    entries = config.resolved('table', name);
  } catch (err) {
    out.problem(`ERROR: table '${name}': ${(err as Error).message}`);
    return fail;
  }
  const type = getValue(entries, 'type') ?? 'plain';
  if (!KNOWN_TABLE_TYPES.has(type)) {
    out.problem(`ERROR: table '${name}': unknown type '${type}'; fix your config file.`);
    return fail;
  }
  if (type !== 'plain') {
    if (!opts.quiet) out.problem(`WARNING: skipping non-plain table '${name}'...`);
    return fail;
  }
  if (!opts.quiet) out.info(`indexing table '${name}'...`);
  const path = getValue(entries, 'path');
  if (path === undefined || path === '') {
    out.problem(`ERROR: table '${name}': key 'path' not found.`);
    return fail;
  }

  const sources: SpawnedSource[] = [];
  let spawnFailed = false;
  for (const srcName of getValues(entries, 'source')) {
    if (config.named('source', srcName) === undefined) {
      out.problem(`ERROR: table '${name}': source '${srcName}' not found.`);
      continue;
    }
    const s = sourceOf(config, srcName, out);
    if (s === undefined) spawnFailed = true;
    else sources.push(s);
  }
  if (spawnFailed) {
    out.problem(`ERROR: table '${name}': failed to configure some of the sources, will not index.`);
    return fail;
  }
  if (sources.length === 0) {
    out.problem(`ERROR: table '${name}': no valid sources configured; skipping.`);
    return fail;
  }

  const settings: Record<string, string> = {};
  for (const e of entries) if (!NON_SETTINGS.has(e.key)) settings[e.key] = e.value;

  const started = now();
  const tmpSpd = `${path}.tmp.spd`;
  const tmpSph = `${path}.tmp.sph`;
  const finalBase = opts.rotate ? `${path}.new` : path;
  const stats: RunStats = { docs: 0, bytes: 0 };
  const schema: { columns: SourceColumn[] | undefined } = { columns: undefined };
  let writer: LineWriter;
  try {
    writer = new LineWriter(tmpSpd);
    await writer.opened();
  } catch (err) {
    out.problem(`ERROR: table '${name}': failed to open ${tmpSpd}: ${(err as Error).message}.`);
    return fail;
  }
  let error: string | undefined;
  for (const src of sources) {
    error = await runSource(src, schema, writer, stats, out);
    if (error !== undefined) break;
  }
  if (error !== undefined) {
    // finish pending writes before removing the file: destroying a stream with a write in flight
    // makes it emit ERR_STREAM_DESTROYED later, after this function has returned
    await writer.close().catch(() => writer.destroy());
    fs.rmSync(tmpSpd, { force: true });
    out.problem(`ERROR: table '${name}': ${error}.`);
    return fail;
  }
  await writer.close();
  if (!opts.quiet) {
    out.info(`collected ${stats.docs} docs, ${(stats.bytes / 1e6).toFixed(1)} MB`);
    out.info(`sorted ${(0).toFixed(1)} Mhits, 100.0% done`);
  }
  const header = {
    format: PLAIN_FORMAT,
    version: 1,
    name,
    kind: 'plain',
    columns: columnDefs(schema.columns ?? sources[0]?.columns ?? []),
    settings,
  };
  try {
    fs.writeFileSync(tmpSph, JSON.stringify(header) + '\n');
    fs.renameSync(tmpSpd, `${finalBase}.spd`);
    fs.renameSync(tmpSph, `${finalBase}.sph`);
  } catch (err) {
    fs.rmSync(tmpSpd, { force: true });
    fs.rmSync(tmpSph, { force: true });
    out.problem(`ERROR: table '${name}': ${(err as Error).message}.`);
    return fail;
  }
  const micros = Math.max(1, Math.round((now() - started) * 1000));
  if (!opts.quiet) {
    out.info(`total ${stats.docs} docs, ${stats.bytes} bytes`);
    out.info(
      `total ${(micros / 1e6).toFixed(3)} sec, ${Math.floor((stats.bytes * 1e6) / micros)} bytes/sec, ${fmtRate(stats.docs, micros)} docs/sec`,
    );
  }
  return { ok: true, docs: stats.docs, bytes: stats.bytes, files: [`${finalBase}.sph`, `${finalBase}.spd`] };
}

/** `mem_limit` of the indexer section in bytes (default 128M). Throws on a malformed value. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+)\s*([kKmMgG]?)\s*$/.exec(text);
  if (m === null) throw new Error(`invalid size '${text}'`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : unit === 'g' ? 1024 * 1024 * 1024 : 1;
  return n * mult;
}

export const DEFAULT_MEM_LIMIT = 128 * 1024 * 1024;
/** indexer caps mem_limit at 2047M */
export const MAX_MEM_LIMIT = 2047 * 1024 * 1024;
