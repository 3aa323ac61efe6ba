import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseBackupArgs, DEFAULT_CONFIG } from '../../../../src/sim/backup/args.js';
import { runBackupCli } from '../../../../src/sim/backup/cli.js';
import { UNREACHABLE_MESSAGE } from '../../../../src/sim/backup/backup.js';
import { backupDate, backupName, copyTree, formatSize, listFiles } from '../../../../src/sim/backup/files.js';

let root: string;

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-sim-'));
});
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('parseBackupArgs', () => {
  test('flags in both spellings', () => {
    assert.deepEqual(parseBackupArgs(['--config=/c.conf', '--backup-dir', '/b', '--tables=a, b', '--compress', '--disable-telemetry']), {
      kind: 'run',
      args: {
        config: '/c.conf',
        configGiven: true,
        backupDir: '/b',
        tables: ['a', 'b'],
        compress: true,
        force: false,
        unlock: false,
        disableTelemetry: true,
      },
    });
    const r = parseBackupArgs(['--backup-dir=/b', '--restore=backup-1', '--force']);
    assert.equal(r.kind, 'run');
    if (r.kind === 'run') {
      assert.equal(r.args.restore, 'backup-1');
      assert.equal(r.args.force, true);
      assert.equal(r.args.config, DEFAULT_CONFIG);
    }
    const list = parseBackupArgs(['--backup-dir=/b', '--restore']);
    assert.equal(list.kind === 'run' ? list.args.restore : undefined, '');
    const unlock = parseBackupArgs(['--unlock', '--config', '/c.conf']);
    assert.equal(unlock.kind === 'run' ? unlock.args.unlock : undefined, true);
  });

  test('errors', () => {
    assert.deepEqual(parseBackupArgs(['--bogus']), { kind: 'error', message: 'Unknown option: --bogus' });
    assert.deepEqual(parseBackupArgs(['--config']), { kind: 'error', message: 'Option --config requires a value' });
    assert.deepEqual(parseBackupArgs(['--backup-dir=/b', '--tables=']), {
      kind: 'error',
      message: 'Option --tables requires at least one table name',
    });
    assert.equal(parseBackupArgs([]).kind, 'error');
    assert.deepEqual(parseBackupArgs(['--help']), { kind: 'help' });
  });
});

describe('backup files', () => {
  test('names, sizes, dates', () => {
    const d = new Date(2026, 0, 2, 3, 4, 5);
    assert.equal(backupName(d), 'backup-20260102030405');
    assert.deepEqual(backupDate('backup-20260102030405'), d);
    assert.equal(backupDate('backup-111'), undefined);
    assert.equal(formatSize(999), '999B');
    assert.equal(formatSize(2048), '2.000K');
    assert.equal(formatSize(3 * 1024 * 1024), '3.000M');
  });

  test('compress / decompress round trip', async () => {
    const src = path.join(root, 'rt-src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a.meta'), 'meta');
    fs.writeFileSync(path.join(src, 'sub', 'b.ram'), Buffer.alloc(100_000, 7));
    const packed = path.join(root, 'rt-packed');
    await copyTree(src, packed, { compress: true });
    assert.deepEqual(listFiles(packed), ['a.meta.gz', path.join('sub', 'b.ram.gz')]);
    assert.ok(fs.statSync(path.join(packed, 'sub', 'b.ram.gz')).size < 10_000);
    const back = path.join(root, 'rt-back');
    await copyTree(packed, back, { decompress: true });
    assert.deepEqual(listFiles(back), ['a.meta', path.join('sub', 'b.ram')]);
    assert.equal(fs.readFileSync(path.join(back, 'a.meta'), 'utf8'), 'meta');
    assert.deepEqual(fs.readFileSync(path.join(back, 'sub', 'b.ram')), Buffer.alloc(100_000, 7));
  });

  test('copyTree leaves out excluded files (writes made under FREEZE are not part of a backup)', async () => {
    const src = path.join(root, 'frozen-src');
    fs.mkdirSync(src, { recursive: true });
    for (const f of ['t.meta', 't.ram', 't.wal', 't.wal.frozen']) fs.writeFileSync(path.join(src, f), f);
    const dest = path.join(root, 'frozen-dest');
    await copyTree(src, dest, { exclude: (rel) => rel.endsWith('.wal.frozen') });
    assert.deepEqual(listFiles(dest), ['t.meta', 't.ram', 't.wal']);
  });
});

/** A stand-in searchd HTTP endpoint recording every /sql statement. */
class FakeSearchd {
  readonly queries: string[] = [];
  onQuery: (q: string) => void = () => {};
  /** answer delay per statement prefix */
  delays: Record<string, number> = {};
  private server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const q = new URLSearchParams(body).get('query') ?? '';
      this.queries.push(q);
      this.onQuery(q);
      const result = /^SHOW STATUS LIKE 'version'$/i.test(q)
        ? { columns: [{ Counter: { type: 'string' } }, { Value: { type: 'string' } }], data: [{ Counter: 'version', Value: '15.1.0 sim' }], total: 1, error: '', warning: '' }
        : { total: 0, error: '', warning: '' };
      const delay = Object.entries(this.delays).find(([prefix]) => q.startsWith(prefix))?.[1] ?? 0;
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify([result]));
      }, delay);
    });
  });
  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Node {
  dir: string;
  conf: string;
  dataDir: string;
  backupDir: string;
  pidFile: string;
}

function makeNode(name: string, port: number, confName = 'manticore.conf'): Node {
  const dir = path.join(root, name);
  const dataDir = path.join(dir, 'data');
  const backupDir = path.join(dir, 'backups');
  fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
  fs.mkdirSync(backupDir, { recursive: true });
  const pidFile = path.join(dir, 'searchd.pid');
  const conf = path.join(dir, 'etc', confName);
  fs.writeFileSync(
    conf,
    `searchd {\n  listen = 127.0.0.1:${port + 1000}:mysql41\n  listen = 127.0.0.1:${port}:http\n  data_dir = ${dataDir}\n  pid_file = ${pidFile}\n}\n`,
  );
  for (const t of ['a', 'b']) {
    fs.mkdirSync(path.join(dataDir, t), { recursive: true });
    for (const ext of ['meta', 'ram', 'wal']) fs.writeFileSync(path.join(dataDir, t, `${t}.${ext}`), `${t}-${ext}-content`);
  }
  fs.writeFileSync(
    path.join(dataDir, 'manticore.json'),
    JSON.stringify({
      clusters: {},
      indexes: { a: { type: 'rt', path: 'a' }, b: { type: 'rt', path: 'b' }, d: { type: 'distributed', locals: ['a'], agents: [] } },
    }),
  );
  return { dir, conf, dataDir, backupDir, pidFile };
}

async function cli(argv: string[], signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runBackupCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), now: () => new Date(2026, 10, 25, 12, 0, 0) }, signal);
  return { code, stdout, stderr };
}

describe('backup end to end against a fake searchd', () => {
  let fake: FakeSearchd;
  let port: number;
  beforeEach(async () => {
    fake = new FakeSearchd();
    port = await fake.start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  test('backs up every RT table, unfreezes each, writes the layout', async () => {
    const node = makeNode('n1', port);
    const res = await cli([`--config=${node.conf}`, `--backup-dir=${node.backupDir}`]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(fake.queries, ["SHOW STATUS LIKE 'version'", 'FREEZE a,b', 'UNFREEZE a', 'UNFREEZE b']);
    const b = path.join(node.backupDir, 'backup-20261125120000');
    assert.deepEqual(listFiles(b), [
      path.join('config', node.conf.slice(1)),
      path.join('data', 'a', 'a.meta'),
      path.join('data', 'a', 'a.ram'),
      path.join('data', 'a', 'a.wal'),
      path.join('data', 'b', 'b.meta'),
      path.join('data', 'b', 'b.ram'),
      path.join('data', 'b', 'b.wal'),
      path.join('state', node.dataDir.slice(1), 'manticore.json'),
      'versions.json',
    ]);
    assert.equal(fs.readFileSync(path.join(b, 'data', 'b', 'b.wal'), 'utf8'), 'b-wal-content');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(b, 'versions.json'), 'utf8')), {
      backup: '1.9.6-sim',
      manticore: '15.1.0 sim',
      columnar: '',
      secondary: '',
      knn: '',
      buddy: '',
    });
    const out = res.stdout.split('\n');
    assert.ok(out.includes(`Manticore config file: ${node.conf}`));
    assert.ok(out.includes('Tables to backup: all tables'));
    assert.ok(out.includes(`  endpoint =  http://127.0.0.1:${port}`));
    assert.ok(out.includes('2026-11-25 12:00:00 [Info]   d (distributed)...'));
    assert.ok(out.includes('2026-11-25 12:00:00 [Info]   SKIP'));
    assert.ok(out.includes('2026-11-25 12:00:00 [Info]   a (rt) [40B]...'));
    assert.ok(out.includes(`2026-11-25 12:00:00 [Info] You can find backup here: ${b}`));
  });

  test('--tables and --compress', async () => {
    const node = makeNode('n2', port);
    const res = await cli([`--config=${node.conf}`, `--backup-dir=${node.backupDir}`, '--tables=b', '--compress']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(fake.queries, ["SHOW STATUS LIKE 'version'", 'FREEZE b', 'UNFREEZE b']);
    const b = path.join(node.backupDir, 'backup-20261125120000');
    assert.deepEqual(listFiles(path.join(b, 'data')), [path.join('b', 'b.meta.gz'), path.join('b', 'b.ram.gz'), path.join('b', 'b.wal.gz')]);
    assert.ok(res.stdout.includes('Tables to backup: b'));
  });

  test('a copy failing midway still unfreezes every table and removes the partial backup', async () => {
    const node = makeNode('n3', port);
    fs.rmSync(path.join(node.dataDir, 'b'), { recursive: true });
    const res = await cli([`--config=${node.conf}`, `--backup-dir=${node.backupDir}`]);
    assert.equal(res.code, 1);
    assert.deepEqual(fake.queries, ["SHOW STATUS LIKE 'version'", 'FREEZE a,b', 'UNFREEZE a', 'UNFREEZE b']);
    assert.match(res.stderr, /\[Error\] Failed to find the files of table b: /);
    assert.deepEqual(fs.readdirSync(node.backupDir), []);
  });

  test('an abort (SIGTERM) after FREEZE unfreezes every table', async () => {
    const node = makeNode('n4', port);
    const ac = new AbortController();
    fake.onQuery = (q) => {
      if (q.startsWith('FREEZE')) ac.abort();
    };
    const res = await cli([`--config=${node.conf}`, `--backup-dir=${node.backupDir}`], ac.signal);
    assert.equal(res.code, 1);
    assert.deepEqual(fake.queries, ["SHOW STATUS LIKE 'version'", 'FREEZE a,b', 'UNFREEZE a', 'UNFREEZE b']);
    assert.match(res.stderr, /The backup was interrupted by a signal/);
  });

  test('the binary unfreezes every table when it gets SIGTERM mid-backup', async () => {
    const node = makeNode('n9', port);
    const bin = fileURLToPath(new URL('../../../../src/sim/bin/manticore-backup-sim.js', import.meta.url));
    fake.delays = { FREEZE: 300 };
    const child = spawn(process.execPath, [bin, `--config=${node.conf}`, `--backup-dir=${node.backupDir}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    fake.onQuery = (q) => {
      if (q.startsWith('FREEZE')) child.kill('SIGTERM');
    };
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 1);
    assert.deepEqual(fake.queries, ["SHOW STATUS LIKE 'version'", 'FREEZE a,b', 'UNFREEZE a', 'UNFREEZE b']);
    assert.match(stderr, /The backup was interrupted by a signal/);
    assert.deepEqual(fs.readdirSync(node.backupDir), []);
  });

  test('unknown table, missing backup dir, unreachable searchd', async () => {
    const node = makeNode('n5', port);
    let res = await cli([`--config=${node.conf}`, `--backup-dir=${node.backupDir}`, '--tables=none']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /\[Error\] Can't find some of the tables: none\n/);
    assert.deepEqual(fake.queries, ["SHOW STATUS LIKE 'version'"]);

    res = await cli([`--config=${node.conf}`, `--backup-dir=${path.join(root, 'no-such-dir')}`]);
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes(`[Error] Failed to find backup dir to store backup: ${path.join(root, 'no-such-dir')}`));

    await fake.stop();
    res = await cli([`--config=${node.conf}`, `--backup-dir=${node.backupDir}`]);
    fake = new FakeSearchd();
    await fake.start();
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes(`[Error] ${UNREACHABLE_MESSAGE}`));
  });

  test('--unlock unfreezes every table of manticore.json', async () => {
    const node = makeNode('n6', port);
    const res = await cli(['--unlock', `--config=${node.conf}`]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(fake.queries, ['UNFREEZE a', 'UNFREEZE b', 'UNFREEZE d']);
  });

  test('restore: list, preconditions in the real order, then a full restore', async () => {
    const node = makeNode('n7', port);
    assert.equal((await cli([`--config=${node.conf}`, `--backup-dir=${node.backupDir}`, '--compress'])).code, 0);
    const name = 'backup-20261125120000';

    let res = await cli([`--backup-dir=${node.backupDir}`, '--restore']);
    assert.equal(res.code, 0);
    assert.ok(res.stdout.includes('Available backups: 1\n'));
    assert.ok(res.stdout.includes(`  ${name} (Nov 25 2026 12:00:00)\n`));

    const restore = () => cli([`--backup-dir=${node.backupDir}`, `--restore=${name}`]);
    fs.writeFileSync(node.pidFile, `${process.pid}\n`);
    res = await restore();
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes('[Error] Cannot initiate the restore process due to searchd daemon is running.'));
    fs.rmSync(node.pidFile);

    res = await restore();
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes(`[Error] Destination file already exists: ${node.conf}`));
    const confText = fs.readFileSync(node.conf, 'utf8');
    fs.rmSync(node.conf);

    res = await restore();
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes(`[Error] Destination file already exists: ${path.join(node.dataDir, 'manticore.json')}`));
    fs.rmSync(path.join(node.dataDir, 'manticore.json'));

    res = await restore();
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes(`[Error] The data dir to restore is not empty: ${node.dataDir}`));
    fs.rmSync(node.dataDir, { recursive: true });

    res = await restore();
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes(`[Error] Failed to find data dir, make sure that it exists: ${node.dataDir}`));
    fs.mkdirSync(node.dataDir);

    res = await restore();
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.stdout.includes(`[Info] The backup '${path.join(node.backupDir, name)}' was successfully restored.`));
    assert.equal(fs.readFileSync(node.conf, 'utf8'), confText);
    assert.deepEqual(listFiles(node.dataDir), ['a/a.meta', 'a/a.ram', 'a/a.wal', 'b/b.meta', 'b/b.ram', 'b/b.wal', 'manticore.json']);
    assert.equal(fs.readFileSync(path.join(node.dataDir, 'a', 'a.ram'), 'utf8'), 'a-ram-content');
  });

  test('restore refuses a backup whose config is not named manticore.conf', async () => {
    const node = makeNode('n8', port, 'searchd.conf');
    assert.equal((await cli([`--config=${node.conf}`, `--backup-dir=${node.backupDir}`])).code, 0);
    fs.rmSync(node.conf);
    fs.rmSync(node.dataDir, { recursive: true });
    fs.mkdirSync(node.dataDir);
    const res = await cli([`--backup-dir=${node.backupDir}`, '--restore=backup-20261125120000']);
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes('[Error] Failed to find config file in original backup'));
  });
});
