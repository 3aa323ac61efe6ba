/**
 * Job kind `indexer`: runs the configured indexer binary (Manticore's `indexer`, or the simulator's)
 * over a config file (a path on the node, or config text written into the job's work directory)
 * for a list of tables or `--all`. Progress comes from the tool's own lines ("indexing table 'x'...",
 * "collected N docs, X MB"); the result carries the totals ("total N docs, B bytes") and the exit code.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '../../../lib/errors.js';
import { JobFailure, type JobContext, type JobKind } from '../jobs.js';
import { runInGroup } from '../process.js';

export interface IndexerParams {
  /** path of a config file on the node */
  configPath?: string;
  /** config text, written to the job's work directory */
  configText?: string;
  /** tables to build; empty means --all */
  tables: string[];
  all: boolean;
  /** pass --rotate (build .new files and SIGHUP the running searchd) */
  rotate: boolean;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_CONFIG_TEXT = 1_000_000;

export function validateIndexerParams(p: Record<string, unknown>): IndexerParams {
  const { configPath, configText, tables, all, rotate } = p;
  if ((configPath === undefined) === (configText === undefined)) {
    throw new ValidationError('params.configPath', 'give exactly one of configPath (a config file on the node) or configText (the config itself)');
  }
  if (configPath !== undefined && (typeof configPath !== 'string' || !path.isAbsolute(configPath))) {
    throw new ValidationError('params.configPath', 'must be an absolute path of a config file on the node');
  }
  if (configText !== undefined && (typeof configText !== 'string' || configText.trim() === '' || configText.length > MAX_CONFIG_TEXT)) {
    throw new ValidationError('params.configText', `must be non-empty config text of at most ${MAX_CONFIG_TEXT} characters`);
  }
  if (all !== undefined && typeof all !== 'boolean') throw new ValidationError('params.all', 'must be true or false');
  if (rotate !== undefined && typeof rotate !== 'boolean') throw new ValidationError('params.rotate', 'must be true or false');
  let list: string[] = [];
  if (tables !== undefined) {
    if (!Array.isArray(tables) || tables.some((t) => typeof t !== 'string' || !TABLE_NAME.test(t))) {
      throw new ValidationError('params.tables', 'must be a list of table names (letters, digits, underscores; not starting with a digit)');
    }
    list = [...(tables as string[])];
  }
  if (all === true && list.length > 0) throw new ValidationError('params.all', 'give either all: true or a list of tables, not both');
  if (all !== true && list.length === 0) throw new ValidationError('params.tables', 'name at least one table to build, or set all: true');
  const out: IndexerParams = { tables: list, all: all === true, rotate: rotate === true };
  if (typeof configPath === 'string') out.configPath = configPath;
  if (typeof configText === 'string') out.configText = configText;
  return out;
}

/** Reads indexer output line by line: tables started, docs collected, totals. */
export class IndexerProgress {
  tablesStarted = 0;
  currentTable: string | undefined;
  collectedDocs = 0;
  totalDocs = 0;
  totalBytes = 0;
  sawTotal = false;
  problems: string[] = [];

  /** Feeds one line; returns true when it changed what progress() reports. */
  feed(line: string): boolean {
    let m = /indexing (?:table|index) '([^']+)'/.exec(line);
    if (m) {
      this.tablesStarted++;
      this.currentTable = m[1];
      this.collectedDocs = 0;
      return true;
    }
    m = /collected (\d+) docs/.exec(line);
    if (m) {
      this.collectedDocs = Number(m[1]);
      return true;
    }
    m = /^total (\d+) docs, (\d+) bytes/.exec(line.trim());
    if (m) {
      this.totalDocs += Number(m[1]);
      this.totalBytes += Number(m[2]);
      this.sawTotal = true;
      return true;
    }
    if (/^(ERROR|FATAL)\b/.test(line.trim())) this.problems.push(line.trim());
    return false;
  }

  /** Progress 0..1 over the named tables (unknown with --all), and a message. */
  progress(tableCount: number | undefined): { progress: number | undefined; message: string } {
    const table = this.currentTable === undefined ? '' : ` of table '${this.currentTable}'`;
    const message = `collected ${this.collectedDocs} docs${table}`;
    if (tableCount === undefined || tableCount === 0) return { progress: undefined, message };
    // a table counts as done once the next starts; the running one counts half
    const done = Math.max(0, this.tablesStarted - 1) + (this.tablesStarted > 0 ? 0.5 : 0);
    return { progress: Math.min(0.99, done / tableCount), message };
  }
}

export function indexerKind(indexerBin: string): JobKind<IndexerParams> {
  return {
    name: 'indexer',
    validate: validateIndexerParams,
    async run(params: IndexerParams, ctx: JobContext): Promise<Record<string, unknown>> {
      let configFile = params.configPath;
      if (configFile === undefined) {
        await mkdir(ctx.workDir, { recursive: true });
        configFile = path.join(ctx.workDir, 'indexer.conf');
        await writeFile(configFile, params.configText ?? '');
      }
      const args = ['--config', configFile, ...(params.all ? ['--all'] : params.tables), ...(params.rotate ? ['--rotate'] : [])];
      const p = new IndexerProgress();
      const count = params.all ? undefined : params.tables.length;
      ctx.report(0, 'indexer starting');
      const res = await runInGroup(indexerBin, args, {
        signal: ctx.signal,
        onSpawn: (pid) => ctx.setChild({ pid, command: indexerBin }),
        onLine: (line) => {
          if (p.feed(line)) {
            const { progress, message } = p.progress(count);
            ctx.report(progress, message);
          }
        },
      });
      const result: Record<string, unknown> = {
        docs: p.sawTotal ? p.totalDocs : p.collectedDocs,
        bytes: p.totalBytes,
        exitCode: res.exitCode,
        output: res.tail,
      };
      if (res.signal !== null) result['signal'] = res.signal;
      if (ctx.signal.aborted) throw new JobFailure('cancelled', result);
      if (res.exitCode !== 0) {
        const why = p.problems.length > 0 ? p.problems.slice(-3).join('; ') : (res.tail.slice(-3).join('; ') || 'no output');
        throw new JobFailure(`indexer exited with code ${res.exitCode ?? res.signal}: ${why}`, result);
      }
      return result;
    },
  };
}
