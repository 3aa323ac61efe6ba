/**
 * Job kind `build-main`: builds the RT files of a new main slot `<t>_main_<slot>` from CSV/TSV sources
 * with Manticore's `indexer`, for every node to `IMPORT TABLE` (params and result: src/import/build-params.ts).
 *
 * 1. Pre-flight: every source exists / answers, sizes summed; free space in outDir >= 3x the sources.
 * 2. Configs (src/import/indexer-config.ts): the indexer runs `source-feed` as its csvpipe/tsvpipe
 *    command, which streams and validates the sources (a bad record stops it: `<file> line <n>: <reason>`).
 * 3. `indexer --config <conf> <t>_plain` builds the plain table under `<outDir>/plain/`; progress is the
 *    feed's report file (bytes read of the known total).
 * 4. A temporary plain-mode searchd (own process group, free loopback ports, no Buddy) declares the plain
 *    table and an empty RT table at `<outDir>/rt/<t>_main_<slot>`; `ATTACH TABLE` moves the rows, the
 *    count must equal the rows fed, `--stopwait` saves it. rtPrefix = `<outDir>/rt/<t>_main_<slot>`.
 * The plain table lives on the same volume as the RT table because ATTACH renames files. On failure or
 * cancel every process is killed and the partial files under outDir are removed.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../../../lib/errors.js';
import { attachTable, selectCount } from '../../../manticore/sql.js';
import { validateBuildMainParams, type BuildMainParams, type BuildMainResult } from '../../../import/build-params.js';
import { buildNames, renderIndexerConfig, renderSearchdConfig, type BuildConfigInput } from '../../../import/indexer-config.js';
import type { FeedProgress } from '../../../import/feed.js';
import { decideDiskSpace, displayName, freeBytes, parseSource, probeSources, SourceError } from '../../../import/sources.js';
import { freePort, TempSearchd } from '../../../import/temp-searchd.js';
import { JobFailure, type JobContext, type JobKind } from '../jobs.js';
import { runInGroup } from '../process.js';

/** How often the feed's report file is read for progress. */
export const BUILD_PROGRESS_POLL_MS = 500;
/** Share of the progress bar the indexer run takes (the rest: attach, count, stop). */
const BUILD_SHARE = 0.9;
/** Attempts to start the temporary searchd (a free port can be taken between probe and bind). */
const SEARCHD_START_ATTEMPTS = 3;

export interface BuildMainBinaries {
  indexer: string;
  searchd: string;
}

export interface BuildMainOptions {
  /** the compiled source-feed script (default: dist/src/bin/source-feed.js next to this build) */
  feedScript?: string;
  /** node binary running source-feed (default: this process's) */
  node?: string;
}

export function defaultFeedScript(): string {
  return fileURLToPath(new URL('../../../bin/source-feed.js', import.meta.url));
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

async function readReport(file: string): Promise<FeedProgress | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as FeedProgress;
  } catch {
    return undefined;
  }
}

/** Removes `<dir>/<prefix>.*` (an RT table's files). */
async function removeTableFiles(dir: string, prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n === prefix || n.startsWith(`${prefix}.`)).map((n) => rm(path.join(dir, n), { recursive: true, force: true })));
}

export function buildMainKind(binaries: BuildMainBinaries, options: BuildMainOptions = {}): JobKind<BuildMainParams> {
  return {
    name: 'build-main',
    validate: validateBuildMainParams,
    run: (params, ctx) => runBuildMain(params, ctx, binaries, options),
  };
}

async function runBuildMain(p: BuildMainParams, ctx: JobContext, bins: BuildMainBinaries, options: BuildMainOptions): Promise<Record<string, unknown>> {
  const started = Date.now();
  const names = buildNames(p.table, p.slot);
  const plainDir = path.join(p.outDir, 'plain');
  const rtDir = path.join(p.outDir, 'rt');
  const rtPrefix = path.join(rtDir, names.rt);
  const cleanup = async () => {
    await removeTableFiles(rtDir, names.rt);
    await rm(plainDir, { recursive: true, force: true });
  };
  const fail = (message: string, extra: Record<string, unknown> = {}): never => {
    throw new JobFailure(message, { rtPrefix, durationMs: Date.now() - started, ...extra });
  };
  const cancelledCheck = () => {
    if (ctx.signal.aborted) fail('cancelled');
  };

  // 1. pre-flight: nothing is written before the sources and the disk are known to be fine
  ctx.report(0, `checking ${p.sources.length} source(s)`);
  const refs = p.sources.map((s, i) => parseSource(s, `params.sources[${i}]`));
  let totalBytes: number | undefined;
  try {
    totalBytes = (await probeSources(refs, ctx.signal)).totalBytes;
  } catch (err) {
    cancelledCheck();
    fail(err instanceof SourceError ? err.message : `source check failed: ${errorMessage(err)}`);
  }
  await mkdir(p.outDir, { recursive: true });
  const disk = decideDiskSpace(p.outDir, totalBytes, await freeBytes(p.outDir));
  if (!disk.ok) fail(disk.message, { freeBytes: disk.freeBytes, needBytes: disk.needBytes, sourceBytes: totalBytes });
  ctx.logger.info('build-main pre-flight passed', { jobId: ctx.id, table: p.table, slot: p.slot, sourceBytes: totalBytes, disk: disk.message });

  let searchd: TempSearchd | undefined;
  const onAbort = () => void searchd?.kill();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    // 2. configs; leftovers of an earlier attempt would be loaded by searchd and appended to
    await cleanup();
    await mkdir(ctx.workDir, { recursive: true });
    await mkdir(plainDir, { recursive: true });
    await mkdir(rtDir, { recursive: true });
    const reportFile = path.join(ctx.workDir, 'feed-report.json');
    await rm(reportFile, { force: true });
    const input: BuildConfigInput = {
      node: options.node ?? process.execPath,
      feedScript: options.feedScript ?? defaultFeedScript(),
      format: p.format,
      header: p.header,
      columns: p.columns,
      sources: p.sources,
      reportFile,
      sourcesFile: path.join(ctx.workDir, 'sources.json'),
      table: p.table,
      slot: p.slot,
      settings: p.settings,
      plainPath: path.join(plainDir, names.plain),
      rtPath: rtPrefix,
    };
    if (p.memLimit !== undefined) input.memLimit = p.memLimit;
    const indexerConf = renderIndexerConfig(input);
    if (indexerConf.sourcesFileContent !== undefined) await writeFile(input.sourcesFile, indexerConf.sourcesFileContent);
    const indexerFile = path.join(ctx.workDir, 'indexer.conf');
    await writeFile(indexerFile, indexerConf.text);

    // 3. indexer + source-feed
    const total = totalBytes;
    const progressOf = (r: FeedProgress | undefined) => {
      const rows = r?.rows ?? 0;
      const bytes = r?.bytes ?? 0;
      const of = total === undefined ? '' : ` of ${mib(total)}`;
      const where = r?.source === undefined ? '' : ` (${r.source})`;
      ctx.report(total ? BUILD_SHARE * Math.min(1, bytes / Math.max(1, total)) : undefined, `building: ${rows} rows, ${mib(bytes)}${of} read${where}`);
    };
    ctx.report(0, 'indexer starting');
    const poll = setInterval(() => void readReport(reportFile).then((r) => r && progressOf(r)), BUILD_PROGRESS_POLL_MS);
    let res;
    try {
      res = await runInGroup(bins.indexer, ['--config', indexerFile, names.plain], {
        signal: ctx.signal,
        cwd: ctx.workDir,
        onSpawn: (pid) => ctx.setChild({ pid, command: bins.indexer }),
      });
    } finally {
      clearInterval(poll);
      ctx.setChild(undefined);
    }
    cancelledCheck();
    const report = await readReport(reportFile);
    if (report?.error !== undefined) fail(report.error, { rows: report.rows, bytes: report.bytes });
    if (res.exitCode !== 0) {
      const problems = res.tail.filter((l) => /^(ERROR|FATAL)/.test(l.trim()));
      fail(`indexer exited with code ${res.exitCode ?? res.signal}: ${(problems.length > 0 ? problems : res.tail).slice(-3).join('; ') || 'no output'}`);
    }
    if (report === undefined || !report.done) fail(`the source feed did not finish (indexer output: ${res.tail.slice(-3).join('; ') || 'none'})`);
    const fed = report as FeedProgress;
    progressOf(fed);

    // 4. plain → RT with a temporary plain-mode searchd
    ctx.report(BUILD_SHARE, `attaching ${fed.rows} rows to ${names.rt}`);
    const searchdFile = path.join(ctx.workDir, 'searchd.conf');
    for (let attempt = 1; ; attempt++) {
      const mysqlPort = await freePort();
      const apiPort = await freePort();
      await writeFile(
        searchdFile,
        renderSearchdConfig(input, {
          mysqlPort,
          apiPort,
          log: path.join(ctx.workDir, 'searchd.log'),
          queryLog: path.join(ctx.workDir, 'query.log'),
          pidFile: path.join(ctx.workDir, 'searchd.pid'),
          binlogPath: path.join(ctx.workDir, 'binlog'),
        }),
      );
      await mkdir(path.join(ctx.workDir, 'binlog'), { recursive: true });
      try {
        searchd = await TempSearchd.start({
          bin: bins.searchd,
          configFile: searchdFile,
          mysqlPort,
          consoleFile: path.join(ctx.workDir, 'searchd.console.log'),
          signal: ctx.signal,
          onSpawn: (pid) => ctx.setChild({ pid, command: bins.searchd }),
        });
        break;
      } catch (err) {
        cancelledCheck();
        if (attempt >= SEARCHD_START_ATTEMPTS) fail(`temporary searchd: ${errorMessage(err)}`);
        ctx.logger.warn('build-main temporary searchd did not start, retrying on other ports', { jobId: ctx.id, err: errorMessage(err) });
      }
    }
    const sd = searchd as TempSearchd;
    try {
      await sd.client.exec(attachTable(names.plain, names.rt));
    } catch (err) {
      cancelledCheck();
      fail(`ATTACH TABLE ${names.plain} TO TABLE ${names.rt} failed: ${errorMessage(err)}`);
    }
    ctx.report(BUILD_SHARE + 0.04, `counting rows of ${names.rt}`);
    let count = Number.NaN;
    try {
      count = Number(Object.values((await sd.client.query(selectCount(names.rt)))[0] ?? {})[0]);
    } catch (err) {
      cancelledCheck();
      fail(`SELECT COUNT(*) FROM ${names.rt} failed: ${errorMessage(err)}`, { rows: fed.rows, bytes: fed.bytes });
    }
    if (count !== fed.rows) {
      fail(`${names.rt} holds ${count} rows after ATTACH, but ${fed.rows} were fed (duplicate document ids in the sources?)`, { rows: fed.rows, count });
    }
    ctx.report(BUILD_SHARE + 0.07, `stopping the temporary searchd`);
    await sd.stop();
    searchd = undefined;
    ctx.setChild(undefined);
    cancelledCheck();
    try {
      await stat(`${rtPrefix}.meta`);
    } catch {
      const left = (await readdir(rtDir)).filter((n) => n.startsWith(names.rt)).join(', ');
      fail(`no ${rtPrefix}.meta after the temporary searchd stopped (files: ${left || 'none'})`);
    }
    await rm(plainDir, { recursive: true, force: true });
    const result: BuildMainResult = { rows: fed.rows, bytes: fed.bytes, rtPrefix, durationMs: Date.now() - started };
    ctx.report(1, `built ${fed.rows} rows (${mib(fed.bytes)}) into ${rtPrefix} from ${refs.map(displayName).join(', ')}`);
    return { ...result };
  } catch (err) {
    ctx.signal.removeEventListener('abort', onAbort);
    if (searchd) await searchd.kill().catch(() => undefined);
    ctx.setChild(undefined);
    await cleanup().catch(() => undefined);
    if (err instanceof JobFailure) throw err;
    if (ctx.signal.aborted) fail('cancelled');
    throw new JobFailure(`build failed: ${errorMessage(err)}`, { rtPrefix, durationMs: Date.now() - started });
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}
