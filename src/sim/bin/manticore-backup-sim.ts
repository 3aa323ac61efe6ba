#!/usr/bin/env node
// manticore-backup-sim: physical backups of a simulated (or real) searchd's RT tables, like manticore-backup.
import { runBackupCli } from '../backup/cli.js';

const controller = new AbortController();
const onSignal = () => controller.abort();
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

runBackupCli(
  process.argv.slice(2),
  {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  },
  controller.signal,
).then(
  (code) => {
    process.exitCode = controller.signal.aborted && code === 0 ? 1 : code;
  },
  (err: unknown) => {
    console.error(`FATAL: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
).finally(() => {
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
});
