/**
 * The bulk import method's loader (issue 4, 2b): streams the sources (paths, https://, s3://, gs://;
 * never buffered whole), converts every record (bulk-values.ts) and writes batches of NDJSON
 * `replace` operations to Manticore's HTTP `POST /bulk`, several batches in flight.
 *
 *   not clusterMain   every batch goes to every node's new RT slot (each node keeps its own copy);
 *                     a batch counts as loaded when every node took it
 *   clusterMain       every batch goes once, through the cluster (`"cluster": "<c>"`), to one node,
 *                     which replicates it; another node is used when that one stops answering
 *
 * The loader runs in chunks of about `chunkMs`: a chunk ends only when every batch it started has
 * finished, and returns a checkpoint (records consumed, rows loaded, failed batches) that the import
 * machine persists in its snapshot. The stream stays open between chunks of the same process; after a
 * controller restart the sources are read again and the checkpoint's records are skipped (not sent).
 * `replace` makes a batch sent twice (the chunk that a restart cut short) change nothing: ids are the
 * source's first column or the record's position among the data rows, both the same on every read.
 *
 * A batch Manticore rejects (HTTP error answer or `errors: true`) or that holds a record that does
 * not convert is counted as failed, not sent again, and loading goes on, so the count covers the
 * whole source; the import then fails with that count. Transport failures (a node restarting) are
 * retried with backoff, then the chunk fails as retryable and the machine runs it again later.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { AppError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { bulkDocument, bulkLine, looksLikeHeader, type BulkColumn } from './bulk-values.js';
import { RecordSyntaxError, recordReader, type SourceRecord } from './records.js';
import { displayName, openSource, parseSource, probeSources, SourceError, type SourceOptions, type SourceRef } from './sources.js';

/** What the machine persists between chunks. */
export interface BulkCheckpoint {
  /** data records consumed (loaded or counted in a failed batch) */
  records: number;
  /** documents every target took */
  rows: number;
  batches: number;
  failedBatches: number;
  /** records of the failed batches */
  failedRows: number;
  /** the failure of the earliest failed batch (source order), with source and line */
  firstError?: string;
  /** the number of that batch (1-based) */
  firstErrorBatch?: number;
  /** source bytes read up to the checkpoint (approximate after a resume) */
  bytes: number;
  totalBytes?: number;
  /** every source read to its end */
  done: boolean;
}

export const EMPTY_CHECKPOINT: BulkCheckpoint = { records: 0, rows: 0, batches: 0, failedBatches: 0, failedRows: 0, bytes: 0, done: false };

export interface BulkTarget {
  node: string;
  /** base URL of the node's HTTP listener, e.g. http://10.0.0.5:9308 */
  url: string;
}

export interface BulkLoadInput {
  operationId: string;
  /** the RT table written, e.g. products_main_b */
  table: string;
  /** set with clusterMain: writes name the cluster and go to one node */
  cluster?: string;
  columns: BulkColumn[];
  format: 'csv' | 'tsv';
  /** true: every segment starts with a header; false: none does; 'auto': detected per segment */
  header: boolean | 'auto';
  /** the first field is the document id (else ids are the data rows' positions, from 1) */
  idColumn: boolean;
  sources: string[];
  batchSize: number;
  workers: number;
  targets: BulkTarget[];
  checkpoint: BulkCheckpoint;
  /** a chunk returns its checkpoint after about this long (default 2 s) */
  chunkMs?: number;
}

export interface BulkLoadOptions {
  logger: Logger;
  signal?: AbortSignal;
  stores?: SourceOptions['stores'];
  onProgress?: (cp: BulkCheckpoint) => void;
  /** per-request timeout (default 60 s, as the original) */
  requestTimeoutMs?: number;
  /** transport attempts per batch and target before the chunk fails (default 6) */
  attempts?: number;
  /** first backoff between transport attempts (default 250 ms, doubled, at most 5 s) */
  backoffMs?: number;
}

interface DataRecord {
  fields: string[];
  source: string;
  line: number;
}

/** The sources as one stream of data records (headers dropped), pulled record by record. */
class RecordStream {
  /** data records handed out */
  position = 0;
  bytes = 0;
  private readonly iterator: AsyncGenerator<DataRecord, void, undefined>;
  private stream: Readable | undefined;

  constructor(
    readonly key: string,
    private readonly refs: SourceRef[],
    private readonly input: BulkLoadInput,
    private readonly opts: BulkLoadOptions,
  ) {
    this.iterator = this.records();
  }

  async next(): Promise<DataRecord | undefined> {
    const r = await this.iterator.next();
    if (r.done) return undefined;
    this.position++;
    return r.value;
  }

  close(): void {
    this.stream?.destroy();
    void this.iterator.return(undefined).catch(() => undefined);
  }

  private async *records(): AsyncGenerator<DataRecord, void, undefined> {
    for (const ref of this.refs) {
      const name = displayName(ref);
      const stream = await openSource(ref, undefined, this.opts.stores === undefined ? undefined : { stores: this.opts.stores });
      this.stream = stream;
      const reader = recordReader(this.input.format);
      const decoder = new StringDecoder('utf8');
      let first = true;
      let seen = 0;
      const take = (recs: SourceRecord[]): DataRecord[] => {
        const out: DataRecord[] = [];
        for (const rec of recs) {
          seen++;
          if (first) {
            first = false;
            const header = this.input.header === 'auto' ? looksLikeHeader(this.input.columns, rec.fields, this.input.idColumn) : this.input.header;
            if (header) continue;
          }
          out.push({ fields: rec.fields, source: name, line: rec.line });
        }
        return out;
      };
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          this.bytes += chunk.length;
          yield* take(reader.push(decoder.write(chunk)));
        }
        yield* take(reader.push(decoder.end()));
        yield* take(reader.end());
      } catch (err) {
        stream.destroy();
        if (err instanceof RecordSyntaxError) throw new AppError('BULK_SOURCE_INVALID', `${name} line ${err.line}: ${err.reason}`, { details: { source: name, line: err.line } });
        throw new AppError('BULK_SOURCE_READ', `${name}: cannot read: ${errorMessage(err)}`, { retryable: true, cause: err });
      }
      if (seen === 0) throw new AppError('BULK_SOURCE_INVALID', `${name}: empty file (no rows)`, { details: { source: name } });
    }
  }
}

/** Open streams of running bulk loads in this process, by operation id. */
const sessions = new Map<string, RecordStream>();

/** Closes the stream of an operation (done, failed or cancelled). */
export function closeBulkSession(operationId: string): void {
  const s = sessions.get(operationId);
  if (s) s.close();
  sessions.delete(operationId);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AppError('ABORTED', 'bulk load aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AppError('ABORTED', 'bulk load aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error text of a /bulk answer that did not load everything. */
function rejection(status: number, text: string): string | undefined {
  let body: { errors?: unknown; error?: unknown; items?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  if (status === 200 && body !== undefined && body.errors === false) return undefined;
  const error = typeof body?.error === 'string' && body.error !== '' ? body.error : undefined;
  const itemError = Array.isArray(body?.items)
    ? (body.items as Record<string, { error?: unknown }>[]).map((it) => Object.values(it)[0]?.error).find((e) => e !== undefined && e !== '')
    : undefined;
  const why = error ?? (itemError === undefined ? undefined : typeof itemError === 'string' ? itemError : JSON.stringify(itemError)) ?? text.slice(0, 300);
  return `HTTP ${status}: ${why}`;
}

/** An answer worth asking again: the node is restarting, overloaded or behind a proxy that is. */
function transient(status: number): boolean {
  return status === 502 || status === 503 || status === 504 || status === 429;
}

/**
 * Posts one batch to one target. Resolves with `undefined` (loaded) or the rejection text; throws a
 * retryable AppError when the target cannot be reached after the attempts.
 */
async function post(target: BulkTarget, body: string, opts: BulkLoadOptions): Promise<string | undefined> {
  const attempts = opts.attempts ?? 6;
  let wait = opts.backoffMs ?? 250;
  let last: string;
  for (let i = 1; ; i++) {
    if (opts.signal?.aborted) throw new AppError('ABORTED', 'bulk load aborted');
    const timeout = AbortSignal.timeout(opts.requestTimeoutMs ?? 60_000);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    try {
      const res = await fetch(`${target.url}/bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body, signal });
      const text = await res.text();
      if (!transient(res.status)) return rejection(res.status, text);
      last = `HTTP ${res.status}`;
    } catch (err) {
      if (opts.signal?.aborted) throw new AppError('ABORTED', 'bulk load aborted');
      last = errorMessage(err instanceof Error && err.cause instanceof Error ? err.cause : err);
    }
    if (i >= attempts) {
      throw new AppError('BULK_NODE_UNREACHABLE', `${target.node} (${target.url}/bulk) did not take a batch after ${attempts} attempts: ${last}`, { retryable: true, details: { node: target.node } });
    }
    opts.logger.warn('bulk import: node did not answer, trying again', { node: target.node, attempt: i, error: last });
    await sleep(wait, opts.signal);
    wait = Math.min(wait * 2, 5_000);
  }
}

/** A batch assembled from the stream: its NDJSON, how many records it holds, the first bad record. */
interface Batch {
  body: string;
  records: number;
  problem?: string;
}

async function nextBatch(stream: RecordStream, input: BulkLoadInput): Promise<Batch | undefined> {
  let body = '';
  let records = 0;
  let problem: string | undefined;
  while (records < input.batchSize) {
    const rec = await stream.next();
    if (rec === undefined) break;
    records++;
    if (problem !== undefined) continue;
    const doc = bulkDocument(input.columns, rec.fields, { idColumn: input.idColumn, rowNumber: stream.position });
    if ('problem' in doc) {
      problem = `${rec.source} line ${rec.line}: ${doc.problem}`;
      continue;
    }
    body += bulkLine(input.table, doc.id, doc.doc, input.cluster);
  }
  if (records === 0) return undefined;
  return problem === undefined ? { body, records } : { body, records, problem };
}

/** The stream of an operation positioned at the checkpoint (the open one, or reopened and skipped). */
async function streamAt(input: BulkLoadInput, opts: BulkLoadOptions, cp: BulkCheckpoint): Promise<{ stream: RecordStream; totalBytes?: number }> {
  const key = JSON.stringify([input.table, input.sources, input.format, input.header, input.idColumn]);
  const open = sessions.get(input.operationId);
  if (open && open.key === key && open.position === cp.records) return { stream: open };
  closeBulkSession(input.operationId);
  const refs = input.sources.map((s, i) => parseSource(s, `sources[${i}]`));
  let totalBytes: number | undefined;
  try {
    totalBytes = (await probeSources(refs, opts.signal, opts.stores === undefined ? undefined : { stores: opts.stores })).totalBytes;
  } catch (err) {
    if (err instanceof SourceError) throw new AppError('BULK_SOURCE_INVALID', err.message);
    throw err;
  }
  const stream = new RecordStream(key, refs, input, opts);
  sessions.set(input.operationId, stream);
  if (cp.records > 0) {
    opts.logger.info('bulk import: resuming from the checkpoint', { operationId: input.operationId, records: cp.records, rows: cp.rows });
    while (stream.position < cp.records) {
      if ((await stream.next()) === undefined) break;
      if (stream.position % 50_000 === 0 && opts.signal?.aborted) throw new AppError('ABORTED', 'bulk load aborted');
    }
  }
  return totalBytes === undefined ? { stream } : { stream, totalBytes };
}

/**
 * Loads one chunk (about `chunkMs` of batches, every batch it starts finished) and returns the new
 * checkpoint; `done` once every source is read. Throws AppError: retryable for transport and read
 * failures (run the chunk again from the same checkpoint), not retryable for a bad source.
 */
export async function loadBulkChunk(input: BulkLoadInput, opts: BulkLoadOptions): Promise<BulkCheckpoint> {
  if (input.targets.length === 0) throw new AppError('NO_NODES', 'no node to load into', { retryable: true });
  const cp: BulkCheckpoint = { ...input.checkpoint };
  let stream: RecordStream;
  try {
    const at = await streamAt(input, opts, cp);
    stream = at.stream;
    if (at.totalBytes !== undefined) cp.totalBytes = at.totalBytes;
  } catch (err) {
    closeBulkSession(input.operationId);
    throw err;
  }
  const deadline = Date.now() + (input.chunkMs ?? 2_000);
  const workers = Math.max(1, input.workers);
  const inflight = new Set<Promise<void>>();
  let fatal: unknown;
  // clusterMain: one node at a time, the next one when it stops answering
  let primary = 0;

  const fail = (batchNo: number, records: number, why: string) => {
    cp.failedBatches++;
    cp.failedRows += records;
    if (cp.firstErrorBatch === undefined || batchNo < cp.firstErrorBatch) {
      cp.firstErrorBatch = batchNo;
      cp.firstError = why;
    }
    opts.logger.warn('bulk import: batch failed', { operationId: input.operationId, records, error: why });
  };
  const send = async (batch: Batch, batchNo: number): Promise<void> => {
    if (batch.problem !== undefined) return fail(batchNo, batch.records, batch.problem);
    if (input.cluster !== undefined) {
      for (let tried = 0; ; tried++) {
        const target = input.targets[primary % input.targets.length] as BulkTarget;
        try {
          const why = await post(target, batch.body, opts);
          if (why !== undefined) return fail(batchNo, batch.records, `${target.node}: ${why}`);
          cp.rows += batch.records;
          return;
        } catch (err) {
          if (tried + 1 >= input.targets.length || !(err instanceof AppError) || err.code !== 'BULK_NODE_UNREACHABLE') throw err;
          primary++;
        }
      }
    }
    const answers = await Promise.all(input.targets.map(async (t) => ({ node: t.node, why: await post(t, batch.body, opts) })));
    const rejected = answers.filter((a) => a.why !== undefined);
    if (rejected.length > 0) return fail(batchNo, batch.records, rejected.map((a) => `${a.node}: ${a.why ?? ''}`).join('; '));
    cp.rows += batch.records;
  };

  try {
    while (fatal === undefined) {
      if (opts.signal?.aborted) throw new AppError('ABORTED', 'bulk load aborted');
      if (Date.now() >= deadline && cp.batches > input.checkpoint.batches) break;
      const batch = await nextBatch(stream, input);
      if (batch === undefined) {
        cp.done = true;
        break;
      }
      cp.batches++;
      const p: Promise<void> = send(batch, cp.batches)
        .catch((err: unknown) => {
          fatal ??= err;
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= workers) await Promise.race(inflight);
    }
  } catch (err) {
    fatal ??= err;
  }
  await Promise.all(inflight);
  if (fatal !== undefined) {
    closeBulkSession(input.operationId);
    if (fatal instanceof AppError) throw fatal;
    throw new AppError('BULK_LOAD_FAILED', errorMessage(fatal), { retryable: true, cause: fatal });
  }
  cp.records = stream.position;
  cp.bytes = Math.max(cp.bytes, stream.bytes);
  if (cp.done) closeBulkSession(input.operationId);
  opts.onProgress?.({ ...cp });
  return cp;
}
