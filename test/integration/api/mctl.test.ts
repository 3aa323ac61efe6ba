/**
 * mctl as users run it: the compiled dist/src/bin/mctl.js as a child process against a real API
 * server (in-memory status, two simulator nodes). Exit codes and output of every command and
 * output format, --help, --watch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot, waitFor } from '../../../src/sim/launcher.js';
import type { ApiFixture } from './fixture.js';
import { startApiFixture } from './fixture.js';

const MCTL = path.join(repoRoot(), 'dist', 'src', 'bin', 'mctl.js');
/** a child that does not finish in this time has hung */
const MCTL_TIMEOUT_MS = 20_000;

let fx: ApiFixture;
before(async () => {
  fx = await startApiFixture();
});
after(async () => {
  await fx?.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function mctl(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MCTL, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, MCTL_SERVER: fx.url, MCTL_TOKEN: fx.token, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mctl ${args.join(' ')} did not finish in ${MCTL_TIMEOUT_MS} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, MCTL_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('help and usage', () => {
  test('--help on mctl and on every command exits 0 and shows usage', async () => {
    const main = await mctl(['--help']);
    assert.equal(main.code, 0);
    assert.match(main.stdout, /Usage:\n {2}mctl COMMAND/);
    for (const cmd of ['get', 'describe', 'validate', 'query', 'bootstrap']) {
      const r = await mctl([cmd, '--help'], { MCTL_TOKEN: undefined });
      assert.equal(r.code, 0, `${cmd} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`mctl ${cmd}`), cmd);
    }
  });

  test('usage errors exit 2 and point at help', async () => {
    const none = await mctl([]);
    assert.equal(none.code, 2);
    const unknown = await mctl(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const badFlag = await mctl(['get', 'nodes', '--bogus']);
    assert.equal(badFlag.code, 2);
    const badFormat = await mctl(['get', 'nodes', '-o', 'xml']);
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /table, wide, json, yaml/);
    const resource = await mctl(['get', 'widgets']);
    assert.equal(resource.code, 2);
    assert.match(resource.stderr, /mctl get --help/);
    const noToken = await mctl(['get', 'nodes'], { MCTL_TOKEN: undefined });
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /MCTL_TOKEN/);
  });

  test('API failures exit 1: wrong token, unreachable server', async () => {
    const wrong = await mctl(['get', 'nodes', '--token', 'nope']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /UNAUTHORIZED: invalid token/);
    const down = await mctl(['get', 'nodes', '--server', 'http://127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach the controller API at http:\/\/127\.0\.0\.1:1/);
  });

  test('ORCHESTRATOR_TOKEN is the fallback token', async () => {
    const r = await mctl(['get', 'nodes'], { MCTL_TOKEN: undefined, ORCHESTRATOR_TOKEN: fx.token });
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('get', () => {
  test('nodes: table, wide, json, yaml', async () => {
    const table = await mctl(['get', 'nodes']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+ORDINAL\s+REACHABLE\s+CLUSTER-STATUS\s+NODE-STATE\s+SEQNO\s+READY$/);
    assert.match(lines[1]!, /^node0\s+0\s+true\s+primary\s+synced\s+7\s+true$/);
    assert.equal(lines.length, 3);

    const wide = await mctl(['get', 'nodes', '-o', 'wide']);
    assert.match(wide.stdout, /MYSQL\s+API\s+AGENT\s+UUID/);
    assert.ok(wide.stdout.includes(`127.0.0.1:${fx.searchd[1]!.ports.mysql}`));

    const json = await mctl(['get', 'nodes', '-o', 'json']);
    const parsed = JSON.parse(json.stdout) as { name: string; ready: boolean }[];
    assert.deepEqual(
      parsed.map((n) => [n.name, n.ready]),
      [
        ['node0', true],
        ['node1', true],
      ],
    );

    const yaml = await mctl(['get', 'nodes', '-o=yaml']);
    assert.equal(yaml.code, 0);
    assert.match(yaml.stdout, /^- /);
    assert.match(yaml.stdout, /\n- name: node1\n/);
    assert.match(yaml.stdout, /\n {2}clusterStatus: primary\n/);
  });

  test('tables, operations, conditions', async () => {
    const tables = await mctl(['get', 'tables']);
    assert.equal(tables.code, 0, tables.stderr);
    assert.match(tables.stdout, /^NAME\s+SLOT\s+NODES\s+CONVERGED\s+GENERATION\n/);
    assert.match(tables.stdout, /\nitems\s+a\s+2\/2\s+True\s+2\n/);

    const ops = await mctl(['get', 'operations', '-o', 'wide']);
    assert.equal(ops.code, 0, ops.stderr);
    assert.match(ops.stdout, /\nop-1\s+cluster-formation\s+succeeded\s+controller\s+\S+\s+cluster\/main\s+1\/1/);

    const conditions = await mctl(['get', 'conditions']);
    assert.equal(conditions.code, 0, conditions.stderr);
    assert.match(conditions.stdout, /\ncluster\s+ClusterFormed\s+True\s+AllNodesSynced\s+\S+\s+every node is primary and synced\n/);
    assert.match(conditions.stdout, /\ntable\/items\s+TablesConverged\s+True\s+Converged/);
  });

  test('--watch re-renders when the controller reports a change', async () => {
    const child = spawn(process.execPath, [MCTL, 'get', 'operations', '--watch'], {
      env: { PATH: process.env.PATH, MCTL_SERVER: fx.url, MCTL_TOKEN: fx.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(() => stdout.includes('op-1') && fx.status.listenerCount > 0, 'replicate', 'mctl --watch to print and subscribe');
      const op = {
        id: 'op-watch',
        kind: 'import',
        key: 'table/main/items',
        requestedBy: 'alice',
        requestedAt: new Date().toISOString(),
        state: 'running' as const,
        steps: [],
      };
      fx.status.ops = [...fx.status.ops, op];
      fx.status.emit({ type: 'operation', at: op.requestedAt, operation: op });
      await waitFor(() => stdout.includes('op-watch'), 'replicate', 'mctl --watch to print the new operation');
      assert.match(stdout, /\nop-watch\s+import\s+running\s+alice/);
    } finally {
      child.kill('SIGINT');
      const code = await exited;
      assert.equal(code, 0);
      fx.status.ops = fx.status.ops.filter((o) => o.id !== 'op-watch');
    }
  });
});

describe('describe', () => {
  test('table NAME: description, json; unknown table exits 1', async () => {
    const r = await mctl(['describe', 'table', 'items']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Name:\s+items\n/);
    assert.match(r.stdout, /\nActive slot:\s+a\n/);
    assert.match(r.stdout, /\nImport:\s+\/data\/items\.csv \(csv, header\)\n/);
    assert.match(r.stdout, /\nNodes:\nNODE\s+REACHABLE\s+MAIN/);
    assert.match(r.stdout, /\nnode1\s+true\s+items_main_a\s+3\s+items_delta \[cluster\]\s+1/);
    assert.match(r.stdout, /\nConditions:\nTYPE\s+STATUS/);

    const json = await mctl(['describe', 'table', 'items', '-o', 'json']);
    assert.equal((JSON.parse(json.stdout) as { name: string }).name, 'items');

    const missing = await mctl(['describe', 'table', 'nothere']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND: table "nothere" is not managed/);
  });

  test('operation ID: description with steps, yaml', async () => {
    const r = await mctl(['describe', 'operation', 'op-1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ID:\s+op-1\n/);
    assert.match(r.stdout, /\nOutcome:\s+cluster formed on node0\n/);
    assert.match(r.stdout, /\nSteps:\nSTEP\s+STATE/);
    assert.match(r.stdout, /\ncreate-cluster\s+succeeded/);
    const yaml = await mctl(['describe', 'operation', 'op-1', '-o', 'yaml']);
    assert.match(yaml.stdout, /^id: op-1\n/);
    assert.match(yaml.stdout, /\nsteps:\n- name: create-cluster\n {2}state: succeeded\n/);
    const usage = await mctl(['describe', 'operation']);
    assert.equal(usage.code, 2);
  });
});

describe('query', () => {
  test('one node by name, every node side by side, json', async () => {
    const one = await mctl(['query', '--node', 'node1', 'SELECT id, title FROM items ORDER BY id ASC']);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, 'node1: 2 row(s)\nid   title\n1    item 1-1\n2    item 1-2\n');

    const all = await mctl(['query', '--all', 'SELECT', 'COUNT(*)', 'AS', 'n', 'FROM', 'items']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, 'node0: 1 row(s)\nn\n1\n\nnode1: 1 row(s)\nn\n2\n');

    const json = await mctl(['query', '--node', '0', '-o', 'json', 'SELECT COUNT(*) AS n FROM items']);
    const parsed = JSON.parse(json.stdout) as { status: string; results: { node: string; rows: unknown[] }[] };
    assert.equal(parsed.status, 'ok');
    assert.deepEqual(parsed.results[0]!.rows, [{ n: '1' }]);
  });

  test('a write without --write exits 1 naming write and changes nothing; with --write it runs', async () => {
    const refused = await mctl(['query', '--node', 'node0', "INSERT INTO items (id, title, price) VALUES (77, 'x', 1)"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /VALIDATION_FAILED: write: INSERT is not read-only/);
    assert.equal((await fx.searchd[0]!.sql('SELECT id FROM items WHERE id = 77')).rows.length, 0);

    const done = await mctl(['query', '--node', 'node0', '--write', "INSERT INTO items (id, title, price) VALUES (77, 'x', 1)"]);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'node0: OK, 1 row(s) affected\n');
    assert.equal((await fx.searchd[0]!.sql('SELECT id FROM items WHERE id = 77')).rows.length, 1);
    await fx.searchd[0]!.sql('DELETE FROM items WHERE id = 77');
  });

  test('a node error exits 1 with the per-node error; --node with --all is a usage error', async () => {
    const r = await mctl(['query', '--all', 'SELECT * FROM missing_table']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^node0: ERROR \(sql\): /);
    assert.match(r.stdout, /\nnode1: ERROR \(sql\): /);
    const both = await mctl(['query', '--all', '--node', 'node0', 'SELECT 1']);
    assert.equal(both.code, 2);
    const none = await mctl(['query']);
    assert.equal(none.code, 2);
  });
});

describe('bootstrap', () => {
  test('needs --node and --force; then records an audited request', async () => {
    const noForce = await mctl(['bootstrap', '--node', 'node1']);
    assert.equal(noForce.code, 2);
    assert.match(noForce.stderr, /--force is required/);
    const noNode = await mctl(['bootstrap', '--force']);
    assert.equal(noNode.code, 2);
    const unknown = await mctl(['bootstrap', '--node', 'node7', '--force']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /VALIDATION_FAILED: node: no node "node7"/);
    assert.equal(fx.status.bootstrapRequests.length, 0);

    const r = await mctl(['bootstrap', '--node', 'node1', '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^forced bootstrap of node1 requested: operation op-bootstrap-1 \(pending\)/);
    assert.equal(fx.status.bootstrapRequests.length, 1);
    assert.equal(fx.status.bootstrapRequests[0]!.node, 'node1');
    assert.match(fx.status.bootstrapRequests[0]!.requestedBy, /^mctl \(.*\) from /);

    const again = await mctl(['bootstrap', '--node', '1', '--force', '-o', 'json']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /CONFLICT/);
    fx.status.ops = fx.status.ops.filter((o) => o.kind !== 'forced-bootstrap');
  });
});

describe('validate', () => {
  test('no file is a usage error', async () => {
    const r = await mctl(['validate']);
    assert.equal(r.code, 2);
  });

  test('valid and invalid files, offline (no server needed)', async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mctl-validate-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const good = path.join(dir, 'good.json');
    const bad = path.join(dir, 'bad.json');
    writeFileSync(good, JSON.stringify({ name: 'products', columns: [{ name: 'title', type: 'text' }] }));
    writeFileSync(bad, JSON.stringify({ name: 'Bad-Name', columns: [{ name: 'title', type: 'nonsense' }] }));
    const env = { MCTL_SERVER: 'http://127.0.0.1:1', MCTL_TOKEN: undefined };
    const probe = await mctl(['validate', good], env);
    assert.equal(probe.code, 0, probe.stdout + probe.stderr);
    assert.match(probe.stdout, /1 file\(s\) valid/);
    const r = await mctl(['validate', good, bad], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(r.stdout.includes(`${good}: ok (products)`), r.stdout);
    assert.ok(r.stdout.includes(`${bad}: 2 problems`), r.stdout);
    assert.match(r.stdout, /\n {2}\/name: .*lower-case/);
    assert.match(r.stdout, /\n {2}\/columns\/0\/type: .*nonsense/);
    const json = await mctl(['validate', bad, '-o', 'json'], env);
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.stdout) as { file: string; ok: boolean; problems: { pointer: string }[] }[];
    assert.deepEqual(
      parsed[0]!.problems.map((p) => p.pointer).sort(),
      ['/columns/0/type', '/name'],
    );
    assert.match(r.stdout, /1 of 2 file\(s\) invalid/);
  });
});
