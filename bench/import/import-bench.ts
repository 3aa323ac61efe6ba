/**
 * Import benchmark (issue 4 item 6): a generated CSV (id, title text, price float, qty integer) imported
 *   (a) through the orchestrator: POST /api/import on a 3-node local simulator stack, request → flip done on
 *       every node (the operation record's figures.flipDoneMs), and
 *   (b) by hand with the same binaries: the same generated indexer config (src/import/indexer-config.ts) →
 *       indexer → ATTACH in a temporary plain-mode searchd → IMPORT TABLE on 3 nodes (in parallel, as the
 *       orchestrator does) → the 3 re-pointings of the distributed table.
 * Ratio (a)/(b), target <= 1.10. The (b) and (a) runs alternate, each on fresh nodes, so a pair shares the
 * machine's conditions.
 */
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { startStack } from '../../src/bin/controller.js';
import { loadControllerConfig } from '../../src/config/controller.js';
import { buildNames, renderIndexerConfig, renderSearchdConfig, type BuildConfigInput } from '../../src/import/indexer-config.js';
import { freePort, TempSearchd } from '../../src/import/temp-searchd.js';
import { defaultFeedScript } from '../../src/agent/server/job-kinds/build-main.js';
import { silentLogger } from '../../src/lib/logger.js';
import { parseClusterStatus, parseShowTables } from '../../src/manticore/parse.js';
import { alterDistributed, attachTable, createDistributed, createTable, dropTable, importTable, selectCount, showAllClusterStatus, showTables } from '../../src/manticore/sql.js';
import { LocalCluster, resolveBinaries, runBinary, timeoutMs, waitFor } from '../../src/sim/launcher.js';
import type { OperationRecord } from '../../src/status/types.js';

const CLUSTER = 'bench';
const TOKEN = 'bench-import-token-0123456789abcdef';
const TABLE = 'products';
/** one import of the generated CSV, whole */
const IMPORT_LIMIT_MS = 20 * 60_000;
const COLUMNS = [
  { name: 'title', type: 'text' as const },
  { name: 'price', type: 'float' as const },
  { name: 'qty', type: 'integer' as const },
];

export interface ImportBenchResult {
  rows: number;
  csvBytes: number;
  orchestrated: number[];
  bare: number[];
  build: number[];
  ratios: number[];
}

/** Streams `rows` CSV lines to `file` (header + id,title,price,qty), honouring back-pressure. */
export async function generateCsv(file: string, rows: number): Promise<number> {
  const out = createWriteStream(file);
  const words = ['red', 'green', 'blue', 'steel', 'oak', 'linen', 'glass', 'paper', 'stone', 'wool'];
  let chunk = 'id,title,price,qty\n';
  for (let i = 1; i <= rows; i++) {
    chunk += `${i},"${words[i % 10]} ${words[(i * 7) % 10]} item ${i}",${((i % 100000) * 0.25).toFixed(2)},${i % 1000}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return (await stat(file)).size;
}

async function waitOperation(get: () => OperationRecord | undefined, what: string): Promise<OperationRecord> {
  let op: OperationRecord | undefined;
  await waitFor(
    () => {
      op = get();
      return op !== undefined && op.state !== 'running' && op.state !== 'pending';
    },
    'form',
    what,
    { factor: IMPORT_LIMIT_MS / timeoutMs('form') },
  );
  return op!;
}

/**
 * (a): `runs` imports through the API, each on a fresh stack (data dir `<dir>/run<i>`), measured up to
 * figures.flipDoneMs; the stack is stopped once the flip is done (what follows it, dropping the old
 * slot, is not part of the figure and was seen to take from 14 s to over 5 min on this machine).
 */
async function orchestrated(dir: string, csv: string, i: number, runs: number, log: (s: string) => void): Promise<{ total: number; build?: number }> {
  {
    const runDir = path.join(dir, `run${i}`);
    mkdirSync(path.join(runDir, 'specs'), { recursive: true });
    writeFileSync(
      path.join(runDir, 'specs', `${TABLE}.json`),
      JSON.stringify({ name: TABLE, columns: COLUMNS, import: { source: csv, header: true }, distributed: { haStrategy: 'nodeads', agentRetryCount: 1 }, deletionPolicy: 'retain' }),
    );
    const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', runDir, '--nodes', '3', '--cluster', CLUSTER] });
    config.listen = { host: '127.0.0.1', port: 0 };
    const stack = await startStack({ config, token: TOKEN, env: process.env, logger: silentLogger(), controller: { resyncMs: 1_000, fastResyncMs: 300 } });
    try {
      const nodes = await stack.platform.listNodes();
      const sql = (n: (typeof nodes)[number]) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);
      await waitFor(
        async () => {
          for (const n of nodes) {
            const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
            if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
            const t = new Map(parseShowTables(await sql(n).query(showTables())).map((x) => [x.name, x.type]));
            if (t.get(TABLE) !== 'distributed' || t.get(`${TABLE}_main_a`) !== 'rt') return false;
          }
          return true;
        },
        'form',
        'bench stack formed, products converged',
        { factor: 4 },
      );
      const t0 = performance.now();
      const res = await fetch(`${stack.url}/api/import`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ table: TABLE, source: csv }),
      });
      const body = (await res.json()) as { data?: OperationRecord };
      if (res.status !== 202 || !body.data) throw new Error(`bench: POST /api/import answered ${res.status}: ${JSON.stringify(body)}`);
      const id = body.data.id;
      const op = await waitOperation(() => {
        const o = stack.status.operation(id);
        return o?.figures?.flipDoneMs !== undefined ? { ...o, state: 'succeeded' } : o;
      }, `import ${id} flips every node`);
      const wall = performance.now() - t0;
      if (op.state !== 'succeeded') throw new Error(`bench: import ${id} ${op.state}: ${op.error ?? ''} ${JSON.stringify(op.steps)}`);
      const flip = op.figures?.flipDoneMs;
      const value = typeof flip === 'number' ? flip : wall;
      const steps = op.steps
        .map((st) => `${st.name} ${st.finishedAt === undefined || st.startedAt === undefined ? '…' : Date.parse(st.finishedAt) - Date.parse(st.startedAt)}`)
        .join(', ');
      log(`import (a) run ${i + 1}/${runs}: flip done after ${value.toFixed(0)} ms (steps ms: ${steps})`);
      return typeof op.figures?.buildMs === 'number' ? { total: value, build: op.figures.buildMs } : { total: value };
    } finally {
      await stack.stop();
      await rm(runDir, { recursive: true, force: true });
    }
  }
}

/**
 * (b): the bare steps by hand, once, on fresh nodes (like the orchestrated run's fresh stack): an empty
 * RT slot a served by the distributed table, then the build of slot b, its IMPORT on the 3 nodes and
 * the 3 re-pointings.
 */
async function bare(dir: string, csv: string, i: number, runs: number, log: (s: string) => void): Promise<number> {
  const bins = resolveBinaries();
  const c = new LocalCluster({ dir: path.join(dir, `nodes${i}`), size: 3 });
  try {
    await c.startAll();
    // the served slot to start from: an empty RT table a, distributed table pointing at it
    for (const n of c.nodes) {
      await n.sql(createTable(`${TABLE}_main_a`, COLUMNS));
      await n.sql(createDistributed(TABLE, { locals: [`${TABLE}_main_a`], haStrategy: 'nodeads', agentRetryCount: 1 }));
    }
    {
      const slot = 'b';
      const old = 'a';
      const work = path.join(dir, `build${i}`);
      const names = buildNames(TABLE, slot);
      const plainDir = path.join(work, 'plain');
      const rtDir = path.join(work, 'rt');
      await mkdir(plainDir, { recursive: true });
      await mkdir(rtDir, { recursive: true });
      await mkdir(path.join(work, 'binlog'), { recursive: true });
      const input: BuildConfigInput = {
        node: process.execPath,
        feedScript: defaultFeedScript(),
        format: 'csv',
        header: true,
        columns: COLUMNS,
        sources: [csv],
        reportFile: path.join(work, 'feed-report.json'),
        sourcesFile: path.join(work, 'sources.json'),
        table: TABLE,
        slot,
        settings: {},
        plainPath: path.join(plainDir, names.plain),
        rtPath: path.join(rtDir, names.rt),
      };
      const indexerFile = path.join(work, 'indexer.conf');
      writeFileSync(indexerFile, renderIndexerConfig(input).text);
      const searchdFile = path.join(work, 'searchd.conf');
      const mysqlPort = await freePort();
      writeFileSync(
        searchdFile,
        renderSearchdConfig(input, {
          mysqlPort,
          apiPort: await freePort(),
          log: path.join(work, 'searchd.log'),
          queryLog: path.join(work, 'query.log'),
          pidFile: path.join(work, 'searchd.pid'),
          binlogPath: path.join(work, 'binlog'),
        }),
      );

      const t0 = performance.now();
      const ix = await runBinary(bins.indexer, ['--config', indexerFile, names.plain], { timeoutMs: IMPORT_LIMIT_MS, cwd: work });
      if (ix.code !== 0) throw new Error(`bench: indexer exited ${ix.code}: ${ix.stderr.slice(-500)}`);
      const tBuilt = performance.now();
      const sd = await TempSearchd.start({ bin: bins.searchd, configFile: searchdFile, mysqlPort, consoleFile: path.join(work, 'searchd.console.log'), signal: new AbortController().signal });
      try {
        await sd.client.exec(attachTable(names.plain, names.rt));
      } finally {
        await sd.stop();
      }
      const tAttached = performance.now();
      await Promise.all(c.nodes.map((n) => n.sql(importTable(names.rt, input.rtPath), { timeoutMs: IMPORT_LIMIT_MS })));
      const tImported = performance.now();
      const spec = { locals: [names.rt], haStrategy: 'nodeads' as const, agentRetryCount: 1 };
      await Promise.all(
        c.nodes.map(async (n) => {
          try {
            await n.sql(alterDistributed(TABLE, spec));
          } catch {
            await n.sql(dropTable(TABLE, true));
            await n.sql(createDistributed(TABLE, spec, { ifNotExists: true }));
          }
        }),
      );
      const tFlipped = performance.now();
      const total = tFlipped - t0;
      log(
        `import (b) run ${i + 1}/${runs}: ${total.toFixed(0)} ms (indexer ${(tBuilt - t0).toFixed(0)}, attach ${(tAttached - tBuilt).toFixed(0)}, import×3 ${(tImported - tAttached).toFixed(0)}, flip×3 ${(tFlipped - tImported).toFixed(0)})`,
      );
      // not timed: verify, drop the old slot, remove the build dir
      for (const n of c.nodes) {
        // the slot's own count (the distributed table's would materialise every document in the simulator)
        const rows = Object.values((await n.sql(selectCount(names.rt), { timeoutMs: IMPORT_LIMIT_MS })).rows[0] ?? {})[0];
        if (Number(rows) <= 0) throw new Error(`bench: ${n.name} counts ${String(rows)} rows after the bare import`);
        await n.sql(dropTable(`${TABLE}_main_${old}`, true));
      }
      await rm(work, { recursive: true, force: true });
      return total;
    }
  } finally {
    await c.killAll();
    await rm(path.join(dir, `nodes${i}`), { recursive: true, force: true });
  }
}

export async function benchImport(root: string, rows: number, runs: number, log: (s: string) => void): Promise<ImportBenchResult> {
  const csv = path.join(root, 'import.csv');
  log(`import: generating ${rows} CSV rows`);
  const csvBytes = await generateCsv(csv, rows);
  // (b) and (a) alternate run by run, so each pair sees the same machine (other work on it comes and goes)
  const b: number[] = [];
  const a: number[] = [];
  const build: number[] = [];
  for (let i = 0; i < runs; i++) {
    b.push(await bare(path.join(root, 'bare'), csv, i, runs, log));
    const o = await orchestrated(path.join(root, 'stack'), csv, i, runs, log);
    a.push(o.total);
    if (o.build !== undefined) build.push(o.build);
    log(`import run ${i + 1}/${runs}: ratio ${(o.total / (b[i] ?? NaN)).toFixed(3)}`);
  }
  rmSync(csv, { force: true });
  return { rows, csvBytes, orchestrated: a, bare: b, build, ratios: a.map((v, i) => v / (b[i] ?? NaN)) };
}
