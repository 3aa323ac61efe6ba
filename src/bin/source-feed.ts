#!/usr/bin/env node
/**
 * `source-feed`: the csvpipe/tsvpipe command of an import build (src/import/feed-args.ts has the flags).
 * Streams the sources to stdout, validated; on the first bad record prints `<source> line <n>: <reason>`
 * on stderr (and in the --report file) and exits 2. Exit 1: bad usage or an internal error.
 */
import { FeedError, runFeed, writeReport, type FeedProgress } from '../import/feed.js';
import { parseFeedArgs } from '../import/feed-args.js';

async function main(): Promise<number> {
  let args;
  try {
    args = parseFeedArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`source-feed: ${(err as Error).message}\n`);
    return 1;
  }
  const report = args.report;
  let writing = Promise.resolve();
  const save = (p: FeedProgress) => {
    if (report === undefined) return;
    writing = writing.then(() => writeReport(report, p)).catch(() => undefined);
  };
  // the indexer closed its end (it failed or was stopped): nothing left to do
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(3);
  });
  let last: FeedProgress = { rows: 0, bytes: 0, source: undefined, done: false };
  try {
    last = await runFeed({
      format: args.format,
      header: args.header,
      columns: args.columns,
      sources: args.sources,
      out: process.stdout,
      onProgress: (p) => {
        last = p;
        save(p);
      },
    });
    save(last);
    await writing;
    return 0;
  } catch (err) {
    const message = err instanceof FeedError ? err.message : `internal error: ${(err as Error).message}`;
    save({ ...last, done: false, error: message });
    await writing;
    process.stderr.write(`${message}\n`);
    return err instanceof FeedError ? 2 : 1;
  }
}

main().then(
  (code) => {
    // exit once stdout has drained (the indexer reads the last records)
    process.exitCode = code;
    process.stdout.end();
  },
  (err: unknown) => {
    process.stderr.write(`source-feed: ${String(err)}\n`);
    process.exit(1);
  },
);
