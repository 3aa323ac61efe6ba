/**
 * Bad input against the real stack (3 local simulator nodes, controller, API): hand-written and
 * fuzzed (seeded) bodies for every mutating endpoint, hostile spec files, and mctl arguments. Each
 * must be refused with a stable code (and, for 400, the field), and change nothing: "the world"
 * (tables and row counts on every node via SQL, the distributed definitions, the operations list,
 * the backup store's files, the spec files) is snapshotted before and compared after.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startStack, type RunningStack } from '../../../src/bin/controller.js';
import { runMctl } from '../../../src/cli/main.js';
import { loadControllerConfig } from '../../../src/config/controller.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { parseClusterStatus, parseCount, parseShowCreateTable, parseShowTables } from '../../../src/manticore/parse.js';
import { selectCount, showAllClusterStatus, showCreateTable, showTables } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';
import { timeoutMs, waitFor } from '../../../src/sim/launcher.js';
import { HOSTILE_NAMES, mulberry32, pick, randomJson } from './prng.js';

const CLUSTER = 'badin';
const TOKEN = 'bad-input-token-0123456789abcdef';
const WAIT_FORMED_MS = timeoutMs('start') + timeoutMs('form') + 15_000;
/** codes a refusal may carry: anything else (INTERNAL above all) is a defect */
const STABLE_CODES = new Set(['VALIDATION_FAILED', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'PAYLOAD_TOO_LARGE', 'CONFLICT', 'SLOT_UNKNOWN', 'SLOT_NOT_READY', 'SLOT_SERVING', 'FORBIDDEN', 'UNAUTHORIZED']);

let dir: string;
let stack: RunningStack;
let nodes: NodeRef[];

const sql = (n: NodeRef) => stack.pools.get(`${n.mysql.host}:${n.mysql.port}`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are checked field by field
type Answer = { status: number; json: any; text: string };

async function raw(method: string, p: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${stack.url}${p}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...headers }, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

function send(method: string, p: string, body: unknown): Promise<Answer> {
  return raw(method, p, body === undefined ? undefined : JSON.stringify(body), { 'content-type': 'application/json' });
}

function files(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries.sort()) {
      const full = path.join(d, e);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else out[path.relative(root, full)] = `${st.size}`;
    }
  };
  walk(root);
  return out;
}

/** Everything a bad request must leave as it was. */
async function world(): Promise<unknown> {
  const perNode: Record<string, unknown> = {};
  for (const n of nodes) {
    const tables = parseShowTables(await sql(n).query(showTables())).sort((a, b) => a.name.localeCompare(b.name));
    const detail: Record<string, unknown> = {};
    for (const t of tables) {
      if (t.type === 'distributed') detail[t.name] = parseShowCreateTable(await sql(n).query(showCreateTable(t.name)));
      else detail[t.name] = parseCount(await sql(n).query(selectCount(t.name)));
    }
    const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
    perNode[n.name] = { tables: tables.map((t) => `${t.name}:${t.type}`), detail, cluster: c?.stateUuid };
  }
  const ops = stack.status.operations().map((o) => `${o.id}:${o.kind}:${o.state}`);
  const specs = Object.fromEntries(readdirSync(path.join(dir, 'specs')).sort().map((f) => [f, readFileSync(path.join(dir, 'specs', f), 'utf8')]));
  return { perNode, ops, backups: files(path.join(dir, 'backups')), shared: files(path.join(dir, 'shared')), specs };
}

/** The world once it has stopped moving (two equal snapshots in a row). */
async function settledWorld(): Promise<unknown> {
  let last = await world();
  await waitFor(
    async () => {
      const now = await world();
      const same = JSON.stringify(now) === JSON.stringify(last);
      last = now;
      return same;
    },
    'replicate',
    'the world stops changing',
  );
  return last;
}

function assertRefused(r: Answer, label: string, field?: string): void {
  assert.ok(r.status >= 400 && r.status < 500, `${label}: status ${r.status} ${r.text.slice(0, 300)}`);
  assert.equal(typeof r.json?.error?.code, 'string', `${label}: an error code (${r.text.slice(0, 200)})`);
  assert.ok(STABLE_CODES.has(r.json.error.code), `${label}: code ${r.json.error.code}: ${r.json.error.message}`);
  assert.ok(typeof r.json.error.message === 'string' && r.json.error.message.length > 5 && r.json.error.message.length < 1000, `${label}: message ${String(r.json.error.message).slice(0, 200)}`);
  if (r.status === 400) assert.equal(typeof r.json.error.field, 'string', `${label}: 400 names the field (${r.json.error.message})`);
  if (field !== undefined) assert.equal(r.json.error.field, field, `${label}: field (${r.json.error.message})`);
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bad-input-'));
  mkdirSync(path.join(dir, 'specs'), { recursive: true });
  mkdirSync(path.join(dir, 'shared'), { recursive: true });
  writeFileSync(path.join(dir, 'shared', 'products.csv'), 'id,title,price\n1,shoe,1.5\n');
  writeFileSync(
    path.join(dir, 'specs', 'products.json'),
    JSON.stringify({ name: 'products', columns: [{ name: 'title', type: 'text' }, { name: 'price', type: 'float' }], deletionPolicy: 'retain' }),
  );
  const config = loadControllerConfig({ env: { ORCHESTRATOR_TOKEN: TOKEN }, argv: ['--data-dir', dir, '--nodes', '3', '--cluster', CLUSTER] });
  config.listen = { host: '127.0.0.1', port: 0 };
  stack = await startStack({ config, token: TOKEN, env: process.env, logger: silentLogger(), controller: { resyncMs: 1_000, fastResyncMs: 300 } });
  nodes = await stack.platform.listNodes();
  await waitFor(
    async () => {
      for (const n of nodes) {
        const c = parseClusterStatus(await sql(n).query(showAllClusterStatus()), CLUSTER);
        if (c?.status !== 'primary' || c.nodeState !== 'synced' || c.size !== 3) return false;
        const t = new Map(parseShowTables(await sql(n).query(showTables())).map((x) => [x.name, x.type]));
        if (t.get('products') !== 'distributed' || t.get('products_delta') !== 'rt') return false;
      }
      return true;
    },
    'form',
    'cluster formed and products converged on every node',
    { factor: WAIT_FORMED_MS / timeoutMs('form') },
  );
  await sql(nodes[0]!).exec(`INSERT INTO ${CLUSTER}:products_delta (id, title, price) VALUES (1, 'a', 1.5), (2, 'b', 2.5), (3, 'c', 3.5)`);
  await waitFor(
    async () => {
      for (const n of nodes) if (parseCount(await sql(n).query(selectCount('products_delta'))) !== 3) return false;
      return true;
    },
    'replicate',
    'the rows reached every node',
  );
  // the formation operation records its end a pass after the cluster is whole: the world must not
  // change under the suite by itself
  await waitFor(() => stack.status.operations().every((o) => o.state !== 'running' && o.state !== 'pending'), 'form', 'every operation ended');
});

after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const MUTATING: [string, string][] = [
  ['POST', '/api/import'],
  ['POST', '/api/backup'],
  ['POST', '/api/restore'],
  ['POST', '/api/rotate-main'],
  ['POST', '/api/cluster/bootstrap'],
  ['POST', '/api/query'],
  ['POST', '/api/reconcile'],
];

const VALID_ARCHIVE = 'products_delta-2026-01-01T00-00-00Z.tar.gz';

/** [label, method, path, body, field?] */
const HAND_WRITTEN: [string, string, string, unknown, string?][] = [
  ['import: no table', 'POST', '/api/import', {}, 'table'],
  ['import: table not a string', 'POST', '/api/import', { table: 42 }, 'table'],
  ['import: unknown table', 'POST', '/api/import', { table: 'nope' }, 'table'],
  ['import: SQL in the table', 'POST', '/api/import', { table: "products'; DROP TABLE products; --" }, 'table'],
  ['import: traversal in the table', 'POST', '/api/import', { table: '../../etc/passwd' }, 'table'],
  ['import: original shape, unknown table', 'POST', '/api/import', { tableName: 'nope' }],
  ['import: no source anywhere', 'POST', '/api/import', { table: 'products' }, 'source'],
  ['import: source not a string', 'POST', '/api/import', { table: 'products', source: 42 }, 'source'],
  ['import: empty source list', 'POST', '/api/import', { table: 'products', source: [] }, 'source'],
  ['import: traversal in the source', 'POST', '/api/import', { table: 'products', source: '../../../../etc/passwd' }],
  ['import: traversal inside the source', 'POST', '/api/import', { table: 'products', source: 'products/../../secret.csv' }],
  ['import: NUL in the source', 'POST', '/api/import', { table: 'products', source: 'products.csv\u0000.txt' }],
  ['import: ftp source', 'POST', '/api/import', { table: 'products', source: 'ftp://host/products.csv' }],
  ['import: plain http source', 'POST', '/api/import', { table: 'products', source: 'http://host/products.csv' }],
  ['import: file:// source', 'POST', '/api/import', { table: 'products', source: 'file:///etc/passwd' }],
  ['cancel: unknown import', 'DELETE', '/api/imports/nope', undefined],
  ['cancel: traversal in the id', 'DELETE', '/api/imports/..%2F..%2Fetc%2Fpasswd', undefined],
  ['backup: no table', 'POST', '/api/backup', {}, 'tableName'],
  ['backup: unknown table', 'POST', '/api/backup', { tableName: 'nope' }, 'tableName'],
  ['backup: SQL in the table', 'POST', '/api/backup', { tableName: 'products`; DROP TABLE products_delta; #' }, 'tableName'],
  ['backup: wrong type', 'POST', '/api/backup', { tableName: 'products', type: 'full' }, 'type'],
  ['backup: type not a string', 'POST', '/api/backup', { tableName: 'products', type: 7 }, 'type'],
  ['restore: no filename', 'POST', '/api/restore', { tableName: 'products' }, 'filename'],
  ['restore: traversal', 'POST', '/api/restore', { tableName: 'products', filename: '../../../etc/passwd' }, 'filename'],
  ['restore: traversal after a good name', 'POST', '/api/restore', { tableName: 'products', filename: `${VALID_ARCHIVE}/../../x.tar.gz` }, 'filename'],
  ['restore: absolute path', 'POST', '/api/restore', { tableName: 'products', filename: `/tmp/${VALID_ARCHIVE}` }, 'filename'],
  ['restore: another table', 'POST', '/api/restore', { tableName: 'products', filename: 'other_delta-2026-01-01T00-00-00Z.tar.gz' }, 'filename'],
  ['restore: type disagrees', 'POST', '/api/restore', { tableName: 'products', filename: VALID_ARCHIVE, type: 'main' }, 'type'],
  ['restore: archive that does not exist', 'POST', '/api/restore', { tableName: 'products', filename: VALID_ARCHIVE }, 'filename'],
  ['restore: unknown table', 'POST', '/api/restore', { tableName: 'nope', filename: VALID_ARCHIVE }, 'tableName'],
  ['rotate: bad slot', 'POST', '/api/rotate-main', { tableName: 'products', newSlot: 'c', oldSlot: 'a' }],
  ['rotate: same slot', 'POST', '/api/rotate-main', { tableName: 'products', newSlot: 'a', oldSlot: 'a' }],
  ['rotate: SQL in the slot', 'POST', '/api/rotate-main', { tableName: 'products', newSlot: "b'; DROP TABLE products; --", oldSlot: 'a' }],
  ['rotate: missing slot', 'POST', '/api/rotate-main', { tableName: 'products', newSlot: 'b', oldSlot: 'a' }],
  ['rotate: unknown table', 'POST', '/api/rotate-main', { tableName: 'nope', newSlot: 'b', oldSlot: 'a' }],
  ['bootstrap: unknown node', 'POST', '/api/cluster/bootstrap', { node: 'nope', force: true }, 'node'],
  ['bootstrap: no force', 'POST', '/api/cluster/bootstrap', { node: 'node0' }, 'force'],
  ['bootstrap: force as a string', 'POST', '/api/cluster/bootstrap', { node: 'node0', force: 'true' }, 'force'],
  ['bootstrap: negative index', 'POST', '/api/cluster/bootstrap', { node: -1, force: true }, 'node'],
  ['bootstrap: traversal in the node', 'POST', '/api/cluster/bootstrap', { node: '../node0', force: true }, 'node'],
  ['query: write without write mode', 'POST', '/api/query', { sql: 'DROP TABLE products' }, 'write'],
  ['query: cluster DDL without write mode', 'POST', '/api/query', { sql: `DELETE CLUSTER ${CLUSTER}` }, 'write'],
  ['query: hidden statement', 'POST', '/api/query', { sql: 'SELECT 1; DROP TABLE products_delta' }, 'sql'],
  ['query: statement in a comment', 'POST', '/api/query', { sql: 'SELECT 1 --x; DROP TABLE products_delta' }, 'sql'],
  ['query: executable comment', 'POST', '/api/query', { sql: 'SELECT 1 /*! DROP TABLE products_delta */' }, 'write'],
  ['query: original field, write', 'POST', '/api/query', { query: 'TRUNCATE TABLE products_delta' }, 'write'],
  ['query: sql not a string', 'POST', '/api/query', { sql: 5 }, 'sql'],
  ['query: write not a boolean', 'POST', '/api/query', { sql: 'DELETE FROM products_delta WHERE id > 0', write: 'yes' }, 'write'],
  ['query: unknown node', 'POST', '/api/query', { sql: 'SELECT 1', node: 'nope' }, 'node'],
  ['query: node and broadcast', 'POST', '/api/query', { sql: 'SELECT 1', node: 0, broadcast: true }, 'node'],
  ['query: both sql and query', 'POST', '/api/query', { sql: 'SELECT 1', query: 'SELECT 2' }, 'sql'],
  ['repair: bad source', 'POST', '/api/repair', { source: '../../etc' }],
  ['repair: source not a string', 'POST', '/api/repair', { source: 5 }],
  ['unknown route', 'POST', '/api/tables/products', {}],
  ['wrong method', 'PUT', '/api/import', { table: 'products' }],
];

describe('API bodies', () => {
  test('hand-written bad bodies for every mutating endpoint: refused with a stable code naming the field, nothing changed', { timeout: 120_000 }, async () => {
    const before = await settledWorld();
    for (const [label, method, p, body, field] of HAND_WRITTEN) assertRefused(await send(method, p, body), label, field);
    // bodies that are not JSON objects, for every endpoint
    for (const [method, p] of MUTATING) {
      const label = `${method} ${p}`;
      assertRefused(await raw(method, p, '{"table": ', { 'content-type': 'application/json' }), `${label} invalid JSON`, 'body');
      assertRefused(await raw(method, p, '[1, 2]', { 'content-type': 'application/json' }), `${label} array body`);
      assertRefused(await raw(method, p, '"products"', { 'content-type': 'application/json' }), `${label} string body`);
      assertRefused(await raw(method, p, 'table=products', { 'content-type': 'application/x-www-form-urlencoded' }), `${label} form body`);
      if (p === '/api/reconcile') assert.equal((await raw(method, p, undefined)).status, 202, `${label} no body: a full re-read`);
      else assertRefused(await raw(method, p, undefined), `${label} no body`);
      const big = await raw(method, p, JSON.stringify({ table: 'products', pad: 'x'.repeat(1_100_000) }), { 'content-type': 'application/json' });
      assert.equal(big.status, 413, `${label} oversized`);
      assertRefused(big, `${label} oversized`, 'body');
      assert.equal(big.json.error.code, 'PAYLOAD_TOO_LARGE');
    }
    assert.deepEqual(await settledWorld(), before, 'the world is unchanged');
  });

  test('fuzzed bodies (seeded, 300 requests): always a stable refusal, never a 5xx, nothing changed', { timeout: 180_000 }, async () => {
    const before = await settledWorld();
    const rng = mulberry32(0xbad1);
    const FIELDS: Record<string, string[]> = {
      '/api/import': ['table', 'tableName', 'source'],
      '/api/backup': ['tableName', 'table', 'type'],
      '/api/restore': ['tableName', 'filename', 'type'],
      '/api/rotate-main': ['tableName', 'newSlot', 'oldSlot'],
      '/api/cluster/bootstrap': ['node', 'force'],
      '/api/query': ['sql', 'query', 'node', 'replicaIndex', 'broadcast', 'write'],
    };
    const counts = new Map<number, number>();
    for (let i = 0; i < 300; i += 1) {
      const [method, p] = pick(rng, MUTATING);
      const body: Record<string, unknown> = {};
      for (const f of FIELDS[p] ?? []) if (rng() < 0.6) body[f] = randomJson(rng);
      if (rng() < 0.2) body[pick(rng, HOSTILE_NAMES)] = randomJson(rng);
      // a read-only query can legitimately run; everything else must be refused
      if (p === '/api/query' && body.write === true) body.write = 'maybe';
      const r = await send(method, p, body);
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      if (r.status === 200 && p === '/api/query') continue;
      // an empty body asks for a full re-read, which changes nothing (the world check below says so)
      if (r.status === 202 && p === '/api/reconcile' && Object.keys(body).length === 0) continue;
      assertRefused(r, `fuzz #${i} ${method} ${p} ${JSON.stringify(body).slice(0, 300)}`);
    }
    assert.deepEqual(await settledWorld(), before, 'the world is unchanged');
  });
});

describe('spec files', () => {
  test('hostile spec files are reported (SpecInvalid / specProblems) and create, drop or change nothing on the nodes', { timeout: 120_000 }, async () => {
    const before = (await settledWorld()) as { perNode: unknown; ops: unknown };
    const bad: Record<string, string> = {
      'sqlname.json': JSON.stringify({ name: "x'; DROP TABLE products; --", columns: [{ name: 'title', type: 'text' }] }),
      'traversal.json': JSON.stringify({ name: 'trav', columns: [{ name: 'title', type: 'text' }], import: { source: '../../../etc/passwd' } }),
      'unknown.json': JSON.stringify({ name: 'unk', columns: [{ name: 'title', type: 'text' }], colour: 'red' }),
      'types.json': JSON.stringify({ name: 'types', columns: 'title' }),
      'huge.json': JSON.stringify({ name: 'huge', columns: [{ name: 'title', type: 'text' }], settings: { min_infix_len: 1e300 } }),
      'unicode.json': JSON.stringify({ name: 'таблица', columns: [{ name: 'title', type: 'text' }] }),
      'empty.json': '',
      'broken.json': '{"name": "broken", ',
      'products-clash.json': JSON.stringify({ name: 'products', columns: [{ name: 'other', type: 'int' }] }),
    };
    for (const [f, text] of Object.entries(bad)) writeFileSync(path.join(dir, 'specs', f), text);
    try {
      const full = await waitFor(
        async () => {
          const r = await send('GET', '/api/cluster?view=full', undefined);
          const problems = (r.json?.data?.specProblems ?? []) as { origin: { ref: string }; pointer: string; message: string }[];
          const refs = new Set(problems.map((x) => path.basename(x.origin.ref)));
          return Object.keys(bad).every((f) => refs.has(f) || f === 'products-clash.json') ? problems : false;
        },
        'form',
        'every bad spec file is reported',
      );
      for (const p of full) assert.ok(p.message.length > 5 && p.message.length < 2000, p.message.slice(0, 100));
      // a few reconcile passes later, the nodes still hold exactly what they held
      await new Promise((r) => setTimeout(r, 2_500));
      const now = (await settledWorld()) as { perNode: unknown; ops: unknown };
      assert.deepEqual(now.perNode, before.perNode, 'tables, rows and definitions unchanged on every node');
      assert.deepEqual(now.ops, before.ops, 'no operation started');
    } finally {
      for (const f of Object.keys(bad)) unlinkSync(path.join(dir, 'specs', f));
    }
  });
});

describe('mctl arguments', () => {
  test('bad arguments: usage errors (exit 2) or API refusals (exit 1) with a message, nothing changed', { timeout: 60_000 }, async () => {
    const before = await settledWorld();
    const env = { MCTL_SERVER: stack.url, MCTL_TOKEN: TOKEN };
    const cases: [string[], number, RegExp][] = [
      [[], 2, /name a command/],
      [['frobnicate'], 2, /unknown command/],
      [['get', 'nodes', '-o', 'xml'], 2, /xml|output/i],
      [['--bogus-flag', 'get', 'nodes'], 2, /bogus/],
      [['import'], 2, /table/i],
      [['import', "products'; DROP TABLE products; --"], 1, /VALIDATION_FAILED/],
      [['import', 'products', '--source', '../../../etc/passwd'], 1, /VALIDATION_FAILED/],
      [['backup', 'products', '--type', 'full'], 2, /type/],
      [['backup', '../../etc'], 1, /VALIDATION_FAILED/],
      [['restore', 'products', '../../../etc/passwd'], 1, /VALIDATION_FAILED/],
      [['restore', 'products'], 2, /file/i],
      [['bootstrap', '--node', 'node0'], 2, /force/],
      [['bootstrap', '--node', 'nope', '--force'], 1, /VALIDATION_FAILED/],
      [['cancel'], 2, /operation/i],
      [['cancel', '../../etc/passwd'], 1, /NOT_FOUND/],
      [['query', 'DROP TABLE products'], 1, /VALIDATION_FAILED|write/],
      [['query', '--node', 'nope', 'SELECT 1'], 1, /VALIDATION_FAILED/],
      [['query'], 2, /SQL|statement/i],
      [['describe', 'table', '../../etc/passwd'], 1, /VALIDATION_FAILED|NOT_FOUND/],
      [['get', 'backups', "x'; DROP"], 1, /VALIDATION_FAILED/],
    ];
    for (const [argv, code, message] of cases) {
      const out: string[] = [];
      const err: string[] = [];
      const rc = await runMctl(argv, env, { out: (t) => out.push(t), err: (t) => err.push(t) }, new AbortController().signal);
      assert.equal(rc, code, `mctl ${argv.join(' ')}: exit ${rc}: ${err.join('')}${out.join('')}`);
      assert.match(err.join(''), message, `mctl ${argv.join(' ')}`);
      assert.ok(!err.join('').includes(TOKEN) && !out.join('').includes(TOKEN), 'mctl never prints the token');
    }
    assert.deepEqual(await settledWorld(), before, 'the world is unchanged');
  });
});
