/**
 * The stack the metrics and logging tests share: 3 simulator nodes with their agents (LocalPlatform, run
 * by the test), the controller as a separate process (PLATFORM=static, JSON log to a file) and one table
 * spec; `importOnce` runs one blue/green import through POST /api/import and waits for its end.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import { parseClusterStatus, parseShowTables } from '../../../src/manticore/parse.js';
import { showAllClusterStatus, showTables } from '../../../src/manticore/sql.js';
import { LocalPlatform } from '../../../src/platform/local/local-platform.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { resolveBinaries, timeoutMs } from '../../../src/sim/launcher.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { ControllerProcess, freePort } from '../../helpers/controller-process.js';

/** Named waits (ms). */
export const WAIT = {
  running: timeoutMs('start') + 5_000,
  converged: timeoutMs('form') * 2 + 10_000,
  api: 15_000,
  importDone: 60_000,
  exit: 10_000,
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(probe: () => Promise<T | false | undefined> | T | false | undefined, ms: number, what: string, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  let lastErr = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== false && v !== undefined) return v;
    } catch (err) {
      lastErr = ` (last error: ${errorMessage(err)})`;
    }
    if (Date.now() > deadline) throw new Error(`waiting ${ms} ms for ${what} failed${lastErr}`);
    await sleep(intervalMs);
  }
}

export interface ImportStack {
  root: string;
  nodes: NodeRef[];
  ctrl: ControllerProcess;
  token: string;
  table: string;
  source: string;
  rows: number;
  api(method: string, route: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  importOnce(): Promise<OperationRecord>;
  close(): Promise<void>;
}

export async function startImportStack(o: { label: string; cluster: string; token: string; table: string; rows: number }): Promise<ImportStack> {
  const root = mkdtempSync(path.join(os.tmpdir(), `mco-${o.label}-`));
  const specsDir = path.join(root, 'specs');
  mkdirSync(specsDir, { recursive: true });
  const source = path.join(root, `${o.table}.csv`);
  const lines = ['id,title,price'];
  for (let i = 1; i <= o.rows; i++) lines.push(`${i},"${o.label} item ${i}",${(i * 1.25).toFixed(2)}`);
  writeFileSync(source, `${lines.join('\n')}\n`);
  writeFileSync(
    path.join(specsDir, `${o.table}.json`),
    JSON.stringify({
      name: o.table,
      columns: [
        { name: 'title', type: 'text' },
        { name: 'price', type: 'float' },
      ],
      import: { source, header: true },
      deletionPolicy: 'retain',
    }),
  );
  const platform = new LocalPlatform({
    dataDir: path.join(root, 'nodes'),
    nodes: 3,
    binaries: resolveBinaries({}),
    token: o.token,
    clusterName: o.cluster,
    env: process.env,
    logger: silentLogger(),
    timings: { gatePollMs: 100, backoffBaseMs: 200, backoffMaxMs: 2000 },
  });
  const pools = new ManticorePools({ queryTimeoutMs: 5_000, connectTimeoutMs: 1_000 });
  let ctrl: ControllerProcess | undefined;
  const close = async () => {
    await ctrl?.signal('SIGTERM').catch(() => undefined);
    await platform.stop().catch(() => undefined);
    await pools.closeAll();
    if (process.env.KEEP_TEST_DIRS === undefined) rmSync(root, { recursive: true, force: true });
  };
  try {
    await platform.start();
    const nodes = [...(await platform.listNodes())].sort((a, b) => a.ordinal - b.ordinal);
    for (const n of nodes) await platform.waitForNode(n.name, (s) => s.phase === 'running', WAIT.running, 'fresh node running');
    ctrl = new ControllerProcess({ dataDir: path.join(root, 'controller'), specsDir, nodes, port: await freePort(), token: o.token, cluster: o.cluster, exitTimeoutMs: WAIT.exit });
    ctrl.start();
    const sqlOf = (n: NodeRef) => pools.get(`${n.mysql.host}:${n.mysql.port}`);
    const converged = async () => {
      for (const n of nodes) {
        const c = parseClusterStatus(await sqlOf(n).query(showAllClusterStatus()), o.cluster);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== nodes.length) return false;
        const t = new Map(parseShowTables(await sqlOf(n).query(showTables())).map((x) => [x.name, x.type]));
        if (t.get(o.table) !== 'distributed' || t.get(`${o.table}_main_a`) !== 'rt' || t.get(`${o.table}_delta`) !== 'rt') return false;
      }
      return true;
    };
    await until(converged, WAIT.converged, 'the cluster formed and the table on every node');
    const c = ctrl;
    const api = async (method: string, route: string, body?: unknown) => {
      const r = await fetch(`http://127.0.0.1:${c.port}${route}`, {
        method,
        headers: { authorization: `Bearer ${o.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await r.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // text (the metrics)
      }
      return { status: r.status, json };
    };
    const importOnce = async (): Promise<OperationRecord> => {
      const res = await until(() => api('POST', '/api/import', { table: o.table, source }), WAIT.api, 'POST /api/import answered');
      assert.equal(res.status, 202, JSON.stringify(res.json));
      const id = (res.json as { data?: OperationRecord }).data?.id;
      assert.ok(id, JSON.stringify(res.json));
      return until(
        async () => {
          const r = await api('GET', `/api/operations/${id}`);
          const op = (r.json as { data?: OperationRecord }).data;
          return op !== undefined && op.state !== 'running' && op.state !== 'pending' ? op : undefined;
        },
        WAIT.importDone,
        `import ${id} over`,
        100,
      );
    };
    return { root, nodes, ctrl, token: o.token, table: o.table, source, rows: o.rows, api, importOnce, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** One sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (the subset prom-client writes). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    assert.ok(m, `a line of the text format: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const raw = m[4]!;
    out.push({ name: m[1]!, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return out;
}

/** The sum of the samples named `name` whose labels include `labels` (undefined when there is none). */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length === 0) return undefined;
  return hits.reduce((a, s) => a + s.value, 0);
}
