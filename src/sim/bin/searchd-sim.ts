#!/usr/bin/env node
// searchd-sim: the simulator's stand-in for Manticore's searchd (see src/sim/searchd.ts).
import { runSearchd } from '../searchd.js';

runSearchd(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`FATAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
