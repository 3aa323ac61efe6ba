import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { parseIndexerArgs, runIndexer } from '../../../../src/sim/indexer/cli.js';

let dir: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'indexer-sim-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runIndexer(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

function readDocs(file: string): unknown[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

function writeConfig(name: string, body: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, body);
  return p;
}

describe('parseIndexerArgs', () => {
  test('flags and tables', () => {
    assert.deepEqual(parseIndexerArgs(['--config', 'x.conf', 'a', 'b*', '--rotate', '--quiet']), {
      kind: 'run',
      args: { config: 'x.conf', all: false, tables: ['a', 'b*'], rotate: true, sendHup: true, quiet: true, verbose: false },
    });
    assert.deepEqual(parseIndexerArgs(['-c', 'y.conf', '--all', '--nohup']), {
      kind: 'run',
      args: { config: 'y.conf', all: true, tables: [], rotate: false, sendHup: false, quiet: false, verbose: false },
    });
    assert.deepEqual(parseIndexerArgs(['--config', 'x.conf']), { kind: 'error', message: 'ERROR: nothing to do.' });
    assert.deepEqual(parseIndexerArgs(['--bogus']), { kind: 'error', message: "ERROR: malformed or unknown option near '--bogus'." });
    assert.deepEqual(parseIndexerArgs(['--help']), { kind: 'help' });
  });
});

describe('runIndexer', () => {
  test('csvpipe + tsvpipe with header, settings copied, progress printed', async () => {
    const csv = path.join(dir, 'a.csv');
    fs.writeFileSync(csv, '1,"Hello, world",10,"{""k"":1}"\n2,second,20,\n');
    const tsv = path.join(dir, 'b.tsv');
    fs.writeFileSync(tsv, 'id\tprice\tbody\n7\t5\tfrom tsv\n');
    const conf = writeConfig(
      'ok.conf',
      `source csv_src {
  type = csvpipe
  csvpipe_command = cat ${csv}
  csvpipe_field = title
  csvpipe_attr_uint = price
  csvpipe_attr_json = meta
}
source tsv_src {
  type = tsvpipe
  tsvpipe_command = cat ${tsv}
  tsvpipe_header = 1
  tsvpipe_attr_uint = price
}
table products {
  source = csv_src
  path = ${dir}/products
  min_infix_len = 2
  morphology = stem_en
}
table other {
  source = tsv_src
  path = ${dir}/other
}
table rt1 {
  type = rt
  path = ${dir}/rt1
}
indexer {
  mem_limit = 256M
}
`,
    );
    const res = await run(['--config', conf, 'products', 'other']);
    assert.equal(res.code, 0, res.stdout);
    assert.equal(res.stderr, '');
    const lines = res.stdout.split('\n');
    assert.ok(lines.includes(`using config file '${conf}'...`));
    assert.ok(lines.includes("indexing table 'products'..."));
    assert.ok(lines.includes('collected 2 docs, 0.0 MB'));
    assert.ok(lines.includes('total 2 docs, 18 bytes'));
    assert.ok(lines.some((l) => /^total \d+\.\d{3} sec, \d+ bytes\/sec, \d+\.\d{2} docs\/sec$/.test(l)));

    const header = JSON.parse(fs.readFileSync(path.join(dir, 'products.sph'), 'utf8')) as unknown;
    assert.deepEqual(header, {
      format: 'manticore-sim-plain',
      version: 1,
      name: 'products',
      kind: 'plain',
      columns: [
        { name: 'title', type: 'text', options: ['indexed', 'stored'] },
        { name: 'price', type: 'uint', options: [] },
        { name: 'meta', type: 'json', options: [] },
      ],
      settings: { min_infix_len: '2', morphology: 'stem_en' },
    });
    assert.deepEqual(readDocs(path.join(dir, 'products.spd')), [
      { id: '1', title: 'Hello, world', price: 10, meta: { k: 1 } },
      { id: '2', title: 'second', price: 20, meta: null },
    ]);
    // header row: columns matched by name, undeclared ones become text fields
    const other = JSON.parse(fs.readFileSync(path.join(dir, 'other.sph'), 'utf8')) as { columns: unknown };
    assert.deepEqual(other.columns, [
      { name: 'price', type: 'uint', options: [] },
      { name: 'body', type: 'text', options: ['indexed', 'stored'] },
    ]);
    assert.deepEqual(readDocs(path.join(dir, 'other.spd')), [{ id: '7', price: 5, body: 'from tsv' }]);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp.')), []);
  });

  test('streams a large input', async () => {
    const conf = writeConfig(
      'big.conf',
      `source big { 
  type = tsvpipe
  tsvpipe_command = seq 1 50000 | awk '{ printf "%d\\tdoc %d\\n", $1, $1 }'
  tsvpipe_field = title
}
table big {
  source = big
  path = ${dir}/big
}
`,
    );
    const res = await run(['--config', conf, '--all', '--quiet']);
    assert.equal(res.code, 0, res.stdout);
    assert.equal(res.stdout, '');
    const docs = readDocs(path.join(dir, 'big.spd'));
    assert.equal(docs.length, 50000);
    assert.deepEqual(docs[49999], { id: '50000', title: 'doc 50000' });
  });

  test('command failure, missing source, missing command: exit 1 with ERROR lines', async () => {
    const conf = writeConfig(
      'bad.conf',
      `source failing {
  type = csvpipe
  csvpipe_command = echo '1,x'; echo boom >&2; exit 3
  csvpipe_field = title
}
source nocmd {
  type = csvpipe
  csvpipe_field = title
}
table t1 {
  source = failing
  path = ${dir}/t1
}
table t2 {
  source = missing
  path = ${dir}/t2
}
table t3 {
  source = nocmd
  path = ${dir}/t3
}
table t4 {
  source = failing
}
`,
    );
    let res = await run(['--config', conf, 't1']);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /ERROR: table 't1': source 'failing': command '.*' exited with code 3: boom\./);
    assert.match(res.stderr, /ERROR: table 't1'/);
    assert.equal(fs.existsSync(path.join(dir, 't1.spd')), false);
    assert.equal(fs.existsSync(path.join(dir, 't1.tmp.spd')), false);

    res = await run(['--config', conf, 't2']);
    assert.equal(res.code, 1);
    assert.ok(res.stdout.includes("ERROR: table 't2': source 'missing' not found."));
    assert.ok(res.stdout.includes("ERROR: table 't2': no valid sources configured; skipping."));

    res = await run(['--config', conf, 't3']);
    assert.equal(res.code, 1);
    assert.ok(res.stdout.includes("ERROR: key 'csvpipe_command' not found in source 'nocmd'"));
    assert.ok(res.stdout.includes("ERROR: table 't3': failed to configure some of the sources, will not index."));

    res = await run(['--config', conf, 't4']);
    assert.equal(res.code, 1);
    assert.ok(res.stdout.includes("ERROR: table 't4': key 'path' not found."));
  });

  test('config problems are FATAL', async () => {
    let res = await run(['--config', path.join(dir, 'nope.conf'), '--all']);
    assert.equal(res.code, 1);
    assert.ok(res.stdout.includes(`FATAL: config file '${path.join(dir, 'nope.conf')}' does not exist or is not readable`));
    assert.ok(res.stderr.includes('FATAL: config file'));

    const broken = writeConfig('broken.conf', 'source s {\n  type csvpipe\n}\n');
    res = await run(['--config', broken, '--all']);
    assert.equal(res.code, 1);
    assert.ok(res.stdout.includes(`FATAL: ${broken} line 2: expected 'key = value', got 'type csvpipe'`));

    const empty = writeConfig('empty.conf', 'searchd {\n}\n');
    res = await run(['--config', empty, '--all']);
    assert.equal(res.code, 1);
    assert.ok(res.stdout.includes(`FATAL: no tables found in config file '${empty}'`));
  });

  test('--rotate writes .new files and signals searchd from pid_file; exit 2 when it cannot', async () => {
    const csv = path.join(dir, 'r.csv');
    fs.writeFileSync(csv, '1,a\n');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => sleeper.on('exit', (_c, s) => resolve(s)));
    const pidFile = path.join(dir, 'searchd.pid');
    fs.writeFileSync(pidFile, `${sleeper.pid ?? 0}\n`);
    const body = (pid: string) => `source r {
  type = csvpipe
  csvpipe_command = cat ${csv}
  csvpipe_field = title
}
table r {
  source = r
  path = ${dir}/r
}
searchd {
  pid_file = ${pid}
}
`;
    const conf = writeConfig('rot.conf', body(pidFile));
    let res = await run(['--config', conf, 'r', '--rotate']);
    assert.equal(res.code, 0, res.stdout);
    assert.ok(res.stdout.includes(`rotating tables: successfully sent SIGHUP to searchd (pid=${sleeper.pid}).`));
    assert.equal(await exited, 'SIGHUP');
    assert.ok(fs.existsSync(path.join(dir, 'r.new.sph')));
    assert.ok(fs.existsSync(path.join(dir, 'r.new.spd')));
    assert.equal(fs.existsSync(path.join(dir, 'r.sph')), false);

    const conf2 = writeConfig('rot2.conf', body(path.join(dir, 'absent.pid')));
    res = await run(['--config', conf2, 'r', '--rotate']);
    assert.equal(res.code, 2);
    assert.ok(res.stdout.includes(`WARNING: failed to open pid_file '${path.join(dir, 'absent.pid')}'.`));
    assert.ok(res.stdout.includes('WARNING: tables NOT rotated.'));
  });

  test('--all: a failing table does not fail the run when another one was built (as indexer)', async () => {
    const csv = path.join(dir, 'g.csv');
    fs.writeFileSync(csv, '1,a\n');
    const conf = writeConfig(
      'all.conf',
      `source good {
  type = csvpipe
  csvpipe_command = cat ${csv}
  csvpipe_field = title
}
table bad {
  source = nowhere
  path = ${dir}/bad
}
table good {
  source = good
  path = ${dir}/good
}
`,
    );
    const res = await run(['--config', conf, '--all']);
    assert.equal(res.code, 0);
    assert.ok(fs.existsSync(path.join(dir, 'good.sph')));
    const named = await run(['--config', conf, 'bad', 'good']);
    assert.equal(named.code, 1);
  });
});
