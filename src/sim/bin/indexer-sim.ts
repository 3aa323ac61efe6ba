#!/usr/bin/env node
// indexer-sim: builds plain tables from tsvpipe/csvpipe sources like Manticore's indexer.
import { runIndexer } from '../indexer/cli.js';

runIndexer(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`FATAL: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
