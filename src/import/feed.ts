/**
 * The source feed: reads the sources one after another, drops each one's header record when asked,
 * validates every record against the columns and writes the good ones to `out` (the indexer's
 * csvpipe/tsvpipe stdin), with backpressure. The first bad record stops it with
 * `<source> line <n>: <reason>`. Runs inside `source-feed` (src/bin/source-feed.ts), which the
 * indexer starts as its pipe command; tests call runFeed directly.
 */
import { rename, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { csvLine, recordReader, RecordSyntaxError, tsvLine, type SourceRecord } from './records.js';
import { displayName, openSource, SourceError, type SourceOptions, type SourceRef } from './sources.js';
import { checkRecord, type FeedColumn } from './validate.js';

export interface FeedOptions {
  format: 'csv' | 'tsv';
  header: boolean;
  columns: readonly FeedColumn[];
  sources: readonly SourceRef[];
  out: Writable;
  signal?: AbortSignal;
  /** where s3:// and gs:// sources are read (default: the process' IMPORT_* settings) */
  stores?: SourceOptions['stores'];
  /** called now and then (and at the end) with the running totals */
  onProgress?: (p: FeedProgress) => void;
}

export interface FeedProgress {
  rows: number;
  /** source bytes read so far */
  bytes: number;
  /** the source being read */
  source: string | undefined;
  done: boolean;
  error?: string;
}

/** Bad data or an unreadable source; the message is `<source> line <n>: <reason>` or `<source>: <reason>`. */
export class FeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedError';
  }
}

/** How often onProgress is called while reading (ms). */
export const FEED_PROGRESS_MS = 500;

export async function runFeed(o: FeedOptions): Promise<FeedProgress> {
  const progress: FeedProgress = { rows: 0, bytes: 0, source: undefined, done: false };
  let lastReport = 0;
  const tick = () => {
    const now = Date.now();
    if (now - lastReport >= FEED_PROGRESS_MS) {
      lastReport = now;
      o.onProgress?.({ ...progress });
    }
  };
  const line = o.format === 'csv' ? csvLine : tsvLine;
  let pending = '';
  const flush = async () => {
    if (pending === '') return;
    const ok = o.out.write(pending);
    pending = '';
    if (!ok) await once(o.out, 'drain');
  };

  for (const ref of o.sources) {
    const name = displayName(ref);
    progress.source = name;
    let stream;
    try {
      stream = await openSource(ref, o.signal, o.stores === undefined ? undefined : { stores: o.stores });
    } catch (err) {
      throw new FeedError(err instanceof SourceError ? err.message : `${name}: ${(err as Error).message}`);
    }
    const reader = recordReader(o.format);
    const decoder = new StringDecoder('utf8');
    let headerPending = o.header;
    let records = 0;
    const handle = (recs: SourceRecord[]) => {
      for (const rec of recs) {
        records++;
        if (headerPending) {
          headerPending = false;
          const expected = o.columns.length + 1;
          if (rec.fields.length !== expected) {
            throw new FeedError(`${name} line ${rec.line}: header has ${rec.fields.length} columns, expected ${expected} (id + ${o.columns.length} declared)`);
          }
          continue;
        }
        const r = checkRecord(o.columns, rec.fields);
        if ('problem' in r) throw new FeedError(`${name} line ${rec.line}: ${r.problem}`);
        pending += line(r.fields);
        progress.rows++;
      }
    };
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        progress.bytes += chunk.length;
        handle(reader.push(decoder.write(chunk)));
        if (pending.length >= 64 * 1024) await flush();
        tick();
      }
      handle(reader.push(decoder.end()));
      handle(reader.end());
    } catch (err) {
      stream.destroy();
      if (err instanceof FeedError) throw err;
      if (err instanceof RecordSyntaxError) throw new FeedError(`${name} line ${err.line}: ${err.reason}`);
      throw new FeedError(`${name}: cannot read: ${(err as Error).message}`);
    }
    if (records === 0) throw new FeedError(`${name}: empty file (no ${o.header ? 'header and no ' : ''}rows)`);
    await flush();
  }
  if (progress.rows === 0) throw new FeedError(`no rows in any source (${o.sources.map(displayName).join(', ')}): refusing to build an empty table`);
  progress.done = true;
  o.onProgress?.({ ...progress });
  return progress;
}

/** Writes a progress report file atomically (the build job polls it). */
export async function writeReport(file: string, p: FeedProgress): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(p));
  await rename(tmp, file);
}
