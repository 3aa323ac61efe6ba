#!/usr/bin/env node
/**
 * mctl entry point: passes argv and the MCTL_* / ORCHESTRATOR_TOKEN environment to the CLI,
 * ends --watch on SIGINT/SIGTERM, and exits with the command's status.
 */
import { runMctl } from '../cli/main.js';
import { processIo } from '../cli/printer.js';

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());

const env = { MCTL_SERVER: process.env.MCTL_SERVER, MCTL_TOKEN: process.env.MCTL_TOKEN, ORCHESTRATOR_TOKEN: process.env.ORCHESTRATOR_TOKEN };
const code = await runMctl(process.argv.slice(2), env, processIo, controller.signal);
process.exitCode = code;
// an open event stream or keep-alive socket must not hold the process
setTimeout(() => process.exit(code), 50).unref();
