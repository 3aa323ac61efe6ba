#!/usr/bin/env node
/**
 * `job`: one backup or restore, configured by the original backup container's env vars
 * (src/config/job.ts, src/job/README.md), so it runs as a Control Plane cron workload or a Kubernetes
 * Job. Logs (JSON) go to stderr; the result is one JSON line on stdout.
 *
 *   ACTION=backup DATASET=products TYPE=delta AUTH_TOKEN=... MANTICORE_HOST=... \
 *     BACKUP_PROVIDER=aws BACKUP_BUCKET=... BACKUP_PREFIX=... node dist/src/bin/job.js
 *
 * Exit codes: 0 done, 1 a missing or invalid variable (each one named) or a failed backup/restore.
 * SIGINT/SIGTERM abort the work in flight (a backup's working dir is removed; the agent unfreezes).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobConfigError, loadJobConfig } from '../config/job.js';
import { errorMessage, isAppError } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { runJob } from '../job/run.js';

export async function main(env: NodeJS.ProcessEnv): Promise<number> {
  let cfg;
  try {
    cfg = loadJobConfig(env);
  } catch (err) {
    if (err instanceof JobConfigError) {
      process.stderr.write(`job: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const logger = createLogger({ level: cfg.logLevel, defaultMeta: { process: 'job', action: cfg.action, dataset: cfg.dataset } });
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.warn('signal: aborting the job', { signal });
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await runJob(cfg, { logger, signal: abort.signal });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    logger.error('job failed', { code: isAppError(err) ? err.code : undefined, err: errorMessage(err) });
    process.stderr.write(`job: ${cfg.action} of ${cfg.dataset} failed: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(path.resolve(entry)).href;
}

if (isMain()) {
  main(process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`job: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
