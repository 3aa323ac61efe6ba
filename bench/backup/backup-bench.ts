/**
 * Backup benchmark (issue 5 item 8): a delta table of >= BENCH_BACKUP_MB MB of data files on a 3-node local
 * simulator stack (rows with large text, inserted through the cluster), backed up to S3 (s3rver on loopback,
 * test/helpers/s3-server.ts) through the real path (POST /api/backup → backup machine → agent job →
 * manticore-backup → tar.gz streamed to the store), against `tar czf` of the same table files to local disk.
 * Throughput = table data bytes / seconds; ratio backup/tar, target >= 0.8. Peak RSS (VmHWM, reset through
 * /proc/<pid>/clear_refs before the backup) of the controller process (this one: it also hosts s3rver), the
 * agents, and the manticore-backup job process (sampled).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStack } from '../../src/bin/controller.js';
import { loadControllerConfig } from '../../src/config/controller.js';
import { silentLogger } from '../../src/lib/logger.js';
import { parseClusterStatus, parseCount, parseShowTables } from '../../src/manticore/parse.js';
import { selectCount, showAllClusterStatus, showTables } from '../../src/manticore/sql.js';
import { ARCHIVE_TOOLS } from '../../src/reconcile/backup-store.js';
import { timeoutMs, waitFor } from '../../src/sim/launcher.js';
import type { OperationRecord } from '../../src/status/types.js';
import { createObjectStore } from '../../src/storage/index.js';
import { S3_TEST_CREDENTIALS, startS3Server } from '../../test/helpers/s3-server.js';

const run = promisify(execFile);
const CLUSTER = 'benchbak';
const TOKEN = 'bench-backup-token-0123456789abcdef';
/** the backup of ~500 MB, whole */
const BACKUP_LIMIT_MS = 30 * 60_000;
/** text per row and rows per INSERT */
const ROW_TEXT_BYTES = 16 * 1024;
const ROWS_PER_INSERT = 32;

export interface BackupBenchResult {
  tableBytes: number;
  tableFiles: number;
  archiveBytes?: number;
  backupMs: number;
  tarMs: number;
  tarBytes: number;
  insertMs: number;
  peakKiB: { controller: number; agent: number; job: number };
  steps: string;
}

function procStatus(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not permitted: the figure is then the process's lifetime peak
  }
}

/** pids whose command line contains every one of `parts` */
function pidsMatching(...parts: string[]): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (parts.every((p) => cmd.includes(p))) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

function tableFilesUnder(dir: string, table: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (p === skip) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && p.includes(table)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export async function benchBackup(root: string, megabytes: number, log: (s: string) => void): Promise<BackupBenchResult> {
  const s3 = await startS3Server({ bucket: 'benchbackups' });
  const store = createObjectStore({ provider: 's3', bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', credentials: { ...S3_TEST_CREDENTIALS } });
  const dir = path.join(root, 'stack');
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'specs', 'docs.json'),
    JSON.stringify({
      name: 'docs',
      columns: [
        { name: 'body', type: 'text' },
        { name: 'n', type: 'integer' },
      ],
      distributed: { haStrategy: 'nodeads', agentRetryCount: 1 },
      deletionPolicy: 'retain',
    }),
  );
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  const stack = await startStack({
    config,
    token: TOKEN,
    env: process.env,
    logger: silentLogger(),
    controller: { resyncMs: 1_000, fastResyncMs: 300, backup: { prefix: 'backups', archive: ARCHIVE_TOOLS, store: () => store } },
  });
  let sampler: NodeJS.Timeout | undefined;
  try {
    const nodes = await stack.platform.listNodes();
    const sql = (n: (typeof nodes)[number]) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);
    await waitFor(
      async () => {
        for (const n of nodes) {
          const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
          if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
          const t = new Map(parseShowTables(await sql(n).query(showTables())).map((x) => [x.name, x.type]));
          if (t.get('docs_delta') !== 'rt') return false;
        }
        return true;
      },
      'form',
      'bench stack formed, docs converged',
      { factor: 4 },
    );

    // fill docs_delta with large-text rows through the cluster until its files on node0 pass the size
    const target = megabytes * 1024 * 1024;
    const node0Dir = path.join(dir, 'nodes', 'node0');
    const backupsDir = path.join(node0Dir, 'backups');
    // text of words drawn from a fixed vocabulary (a deterministic generator): compresses like prose, not like a repeated string
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const letters = 'etaoinshrdlcumwfgypbvkjxqz';
    const vocab = Array.from({ length: 65536 }, () => Array.from({ length: 3 + (next() % 8) }, () => letters[next() % 26]).join(''));
    const text = () => {
      const words: string[] = [];
      let len = 0;
      while (len < ROW_TEXT_BYTES) {
        const w = vocab[next() % vocab.length]!;
        words.push(w);
        len += w.length + 1;
      }
      return words.join(' ');
    };
    const t0 = performance.now();
    let id = 0;
    const size = () => tableFilesUnder(node0Dir, 'docs_delta', backupsDir).reduce((s, f) => s + statSync(f).size, 0);
    // rows needed, estimated from the text size; checked against the files afterwards
    const rows = Math.ceil(target / ROW_TEXT_BYTES);
    while (id < rows || size() < target) {
      const values: string[] = [];
      for (let i = 0; i < ROWS_PER_INSERT; i++) {
        id++;
        values.push(`(${id}, '${id} ${text()}', ${id})`);
      }
      await sql(nodes[0]!).exec(`INSERT INTO ${CLUSTER}:docs_delta (id, body, n) VALUES ${values.join(', ')}`, { timeoutMs: 60_000 });
      if (id % (ROWS_PER_INSERT * 200) === 0) log(`backup: ${id} rows inserted, ${(size() / 2 ** 20).toFixed(0)} MiB on node0`);
    }
    await waitFor(
      async () => {
        for (const n of nodes) if (parseCount(await sql(n).query(selectCount('docs_delta'))) !== id) return false;
        return true;
      },
      'form',
      `docs_delta holds ${id} rows on every node`,
      { factor: 20 },
    );
    const insertMs = performance.now() - t0;
    const files = tableFilesUnder(node0Dir, 'docs_delta', backupsDir);
    const tableBytes = files.reduce((s, f) => s + statSync(f).size, 0);
    log(`backup: ${id} rows, ${files.length} files, ${(tableBytes / 2 ** 20).toFixed(0)} MiB on node0 (insert ${(insertMs / 1000).toFixed(0)} s)`);

    // tar czf of the same files to local disk
    const tarOut = path.join(root, 'docs_delta.tar.gz');
    let t = performance.now();
    await run('tar', ['czf', tarOut, '-C', node0Dir, ...files.map((f) => path.relative(node0Dir, f))], { maxBuffer: 1 << 24 });
    const tarMs = performance.now() - t;
    const tarBytes = statSync(tarOut).size;
    log(`backup: tar czf ${(tarMs / 1000).toFixed(1)} s → ${(tarBytes / 2 ** 20).toFixed(0)} MiB`);

    // the real backup path, peak RSS reset first
    const agents = pidsMatching('agent.js', dir);
    for (const pid of [process.pid, ...agents]) resetPeak(pid);
    let jobPeak = 0;
    sampler = setInterval(() => {
      for (const pid of pidsMatching('manticore-backup', dir)) if (!agents.includes(pid)) jobPeak = Math.max(jobPeak, procStatus(pid, 'VmHWM'), procStatus(pid, 'VmRSS'));
    }, 100);
    t = performance.now();
    const res = await fetch(`${stack.url}/api/backup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tableName: 'docs', type: 'delta' }),
    });
    const body = (await res.json()) as { commandId?: string };
    if (res.status !== 202 || body.commandId === undefined) throw new Error(`bench: POST /api/backup answered ${res.status}: ${JSON.stringify(body)}`);
    let op: OperationRecord | undefined;
    await waitFor(
      () => {
        op = stack.status.operation(String(body.commandId));
        return op !== undefined && op.state !== 'running' && op.state !== 'pending';
      },
      'form',
      'the backup ends',
      { factor: BACKUP_LIMIT_MS / timeoutMs('form') },
    );
    const backupMs = performance.now() - t;
    clearInterval(sampler);
    sampler = undefined;
    const done = op!;
    if (done.state !== 'succeeded') throw new Error(`bench: backup ${done.state}: ${done.error ?? ''} ${JSON.stringify(done.steps)}`);
    const peakKiB = {
      controller: procStatus(process.pid, 'VmHWM'),
      agent: Math.max(0, ...agents.map((p) => procStatus(p, 'VmHWM'))),
      job: jobPeak,
    };
    const listed = await store.list('backups/').catch(() => []);
    const archive = listed.find((o) => o.key.endsWith('.tar.gz'));
    log(`backup: ${(backupMs / 1000).toFixed(1)} s, ${done.outcome ?? ''}`);
    return {
      tableBytes,
      tableFiles: files.length,
      ...(archive?.size === undefined ? {} : { archiveBytes: archive.size }),
      backupMs,
      tarMs,
      tarBytes,
      insertMs,
      peakKiB,
      steps: Object.entries(done.figures ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    };
  } finally {
    if (sampler) clearInterval(sampler);
    await stack.stop();
    await s3.stop();
  }
}
