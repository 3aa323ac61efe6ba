// Seam test: the statements of the orchestrator's builder (src/manticore/sql.ts) execute on the
// simulator's executor and the orchestrator's parsers (src/manticore/parse.ts) read the results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as b from '../../../../src/manticore/sql.js';
import * as p from '../../../../src/manticore/parse.js';
import { Engine } from '../../../../src/sim/engine/engine.js';
import { Executor, newSession } from '../../../../src/sim/engine/executor.js';
import type { SqlResult } from '../../../../src/sim/contract.js';
import { parseSql } from '../../../../src/sim/sql/parser.js';

type Row = Record<string, string | number | null>;

function asRows(r: SqlResult): Row[] {
  if (r.kind !== 'rows') return [];
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i] === null || row[i] === undefined ? null : String(row[i])])));
}

test('builder statements run on the simulator and parse back', async () => {
  const engine = new Engine({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'sim-seam-')) });
  engine.loadRtMode();
  const ex = new Executor({ engine, buddy: true });
  const s = newSession(1);
  const run = async (sql: string) => asRows(await ex.execute(parseSql(sql), s));

  await run(b.createTable('t_main_a', [{ name: 'title', type: 'text' }, { name: 'tag', type: 'string', flags: ['attribute'] }], { min_infix_len: 2 }, { ifNotExists: true }));
  await run(b.createTable('t_delta', [{ name: 'title', type: 'text' }, { name: 'tag', type: 'string', flags: ['attribute'] }]));
  await run(b.createDistributed('t', { locals: ['t_main_a', 't_delta'], agents: [{ mirrors: ['127.0.0.1:1', '127.0.0.1:2'], table: 't_main_a' }], haStrategy: 'nodeads', agentRetryCount: 2 }));
  assert.deepEqual(p.parseShowTables(await run(b.showTables())), [
    { name: 't', type: 'distributed' },
    { name: 't_delta', type: 'rt' },
    { name: 't_main_a', type: 'rt' },
  ]);
  assert.deepEqual(p.parseDescribe(await run(b.describe('t_main_a'))), [
    { name: 'id', type: 'bigint', properties: [] },
    { name: 'title', type: 'text', properties: ['indexed', 'stored'] },
    { name: 'tag', type: 'string', properties: [] },
  ]);
  const dist = p.parseDistributedDefinition(p.parseShowCreateTable(await run(b.showCreateTable('t'))) ?? '');
  assert.deepEqual(dist.locals, ['t_main_a', 't_delta']);
  assert.deepEqual(dist.agents, [{ mirrors: ['127.0.0.1:1', '127.0.0.1:2'], table: 't_main_a' }]);
  assert.equal(dist.haStrategy, 'nodeads');
  assert.equal(dist.agentRetryCount, 2);

  await run(b.alterDistributed('t', { locals: ['t_delta'], agents: [] }));
  assert.deepEqual(p.parseDistributedDefinition(p.parseShowCreateTable(await run(b.showCreateTable('t'))) ?? '').locals, ['t_delta']);

  await run(b.insert('t_main_a', ['id', 'title', 'tag'], [[18446744073709551615n, "it's", 'x'], [2n, 'two', 'y']]));
  await run(b.replace('t_main_a', ['id', 'title', 'tag'], [[2n, 'deux', 'z']]));
  assert.equal(p.parseCount(await run(b.selectCount('t_main_a'))), 2);
  await run(b.deleteByIds('t_main_a', [18446744073709551615n]));
  assert.equal(p.parseCount(await run(b.selectCount('t_main_a'))), 1);

  const files = p.parseFreezeFiles(await run(b.freeze(['t_main_a'])));
  assert.ok(files.some((f) => f.normalized.endsWith('t_main_a.meta')));
  assert.deepEqual(
    p.parseShowLocks(await run(b.showLocks())).map((l) => [l.name, l.lockType, l.count]),
    [['t_main_a', 'freeze', 1]],
  );
  await run(b.unfreeze(['t_main_a']));
  await run(b.attachTable('t_main_a', 't_delta', true));
  assert.equal(p.parseCount(await run(b.selectCount('t_delta'))), 1);
  await run(b.truncate('t_delta'));
  assert.equal(p.parseCount(await run(b.selectCount('t_delta'))), 0);
  const status = p.parseNodeStatus(await run(b.showStatus()));
  assert.equal(status.version?.major, 15);
  assert.equal(p.parseShowVersion(await run(b.showVersion())).Daemon, status.version?.full);
  await run(b.dropTable('t', true));
  await run(b.dropTable('t', true));
});
