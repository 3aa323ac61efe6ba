/**
 * Scenario i: indexer builds a plain table from a TSV pipe; a plain-mode searchd attaches it to an
 * empty RT table and is stopped; an RT-mode node imports that RT table with IMPORT TABLE.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runBinary, timeoutMs } from '../../src/sim/launcher.js';
import { BINARIES, FACTOR, col, count, scenario } from '../helpers/conformance.js';

const DOCS = [
  [1, 'alpha bravo', 10],
  [2, 'bravo charlie', 20],
  [3, 'charlie delta', 30],
  [4, 'delta echo', 40],
  [5, 'echo foxtrot', 50],
] as const;

test('indexer build, ATTACH TABLE in plain mode, IMPORT TABLE on an RT node', (t) =>
  scenario(t, async (s) => {
    const work = path.join(s.dir, 'build');
    for (const d of ['plain', 'rt']) mkdirSync(path.join(work, d), { recursive: true });
    const tsv = path.join(work, 'docs.tsv');
    writeFileSync(tsv, DOCS.map((d) => d.join('\t')).join('\n') + '\n');

    const source = `source src_docs {
    type = tsvpipe
    tsvpipe_command = cat ${tsv}
    tsvpipe_field = title
    tsvpipe_attr_uint = price
}

table docs_plain {
    type = plain
    source = src_docs
    path = ${path.join(work, 'plain', 'docs_plain')}
}`;
    const indexerConf = path.join(work, 'indexer.conf');
    writeFileSync(indexerConf, `${source}\n\nindexer {\n    mem_limit = 128M\n}\n`);
    const built = await runBinary(BINARIES.indexer, ['--config', indexerConf, '--all'], { timeoutMs: timeoutMs('tool', FACTOR) });
    assert.equal(built.code, 0, `indexer exit code; output:\n${built.stdout}\n${built.stderr}`);

    const rtPath = path.join(work, 'rt', 'docs_rt');
    const plainNode = s.node('plainmode', {
      mode: 'plain',
      sections: `${source}

table docs_rt {
    type = rt
    path = ${rtPath}
    rt_field = title
    rt_attr_uint = price
}`,
    });
    await plainNode.start();
    assert.equal(await count(plainNode, 'docs_plain'), DOCS.length, 'the plain table built by indexer serves every row');
    assert.equal(await count(plainNode, 'docs_rt'), 0);
    await plainNode.sql('ATTACH TABLE docs_plain TO TABLE docs_rt');
    assert.equal(await count(plainNode, 'docs_rt'), DOCS.length, 'rows moved into the RT table');
    await plainNode.stopWait();

    const rtNode = s.node('rtmode');
    await rtNode.start();
    await rtNode.sql(`IMPORT TABLE imported FROM '${rtPath}'`);
    const tables = await rtNode.sql('SHOW TABLES');
    assert.deepEqual(
      tables.rows.map((r) => Object.values(r)),
      [['imported', 'rt']],
    );
    assert.equal(await count(rtNode, 'imported'), DOCS.length);
    const all = await rtNode.sql('SELECT id, price FROM imported ORDER BY id ASC');
    assert.deepEqual(
      all.rows,
      DOCS.map(([id, , price]) => ({ id: String(id), price: String(price) })),
    );
    const charlie = await rtNode.sql("SELECT id FROM imported WHERE MATCH('charlie') ORDER BY id ASC");
    assert.deepEqual(col(charlie.rows, 'id'), ['2', '3']);
    // the imported table is an ordinary RT table: it takes writes and survives a restart
    await rtNode.sql("INSERT INTO imported (id, title, price) VALUES (6, 'golf hotel', 60)");
    await rtNode.stopWait();
    await rtNode.start();
    assert.equal(await count(rtNode, 'imported'), DOCS.length + 1);
  }));
