/**
 * The `indexer` job kind with the simulator's real indexer binary (dist/src/sim/bin/indexer-sim.js)
 * building a plain table from a small TSV file; cancel of a build blocked in its tsvpipe command kills
 * the whole process group; a restarted agent fails the job it lost and kills its leftover processes.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveBinaries, waitFor } from '../../../src/sim/launcher.js';
import type { JobStatus } from '../../../src/agent/protocol.js';
import { JobManager } from '../../../src/agent/server/jobs.js';
import { indexerKind, IndexerProgress } from '../../../src/agent/server/job-kinds/indexer.js';
import { silentLogger } from '../../../src/lib/logger.js';
import type { AgentClient } from '../../../src/agent/client.js';
import { removeDir, startTestAgent, tempDir } from '../../unit/agent/helpers.js';

const INDEXER = resolveBinaries().indexer;
const ROWS = 25;

function indexerConfig(work: string, command: string, tables = ['docs']): string {
  const parts = tables.map(
    (t) => `source src_${t} {
    type = tsvpipe
    tsvpipe_command = ${command}
    tsvpipe_field = title
    tsvpipe_attr_uint = price
}

table ${t} {
    type = plain
    source = src_${t}
    path = ${path.join(work, 'out', t)}
}`,
  );
  return `${parts.join('\n\n')}\n\nindexer {\n    mem_limit = 64M\n}\n`;
}

async function finished(client: AgentClient, id: string): Promise<JobStatus> {
  return waitFor(
    async () => {
      const j = await client.job(id);
      return j.state === 'running' || j.state === 'pending' ? false : j;
    },
    'tool',
    `job ${id} to finish`,
  );
}

/** The child pid a job record holds while its process runs. */
function childPid(recordFile: string): number | undefined {
  return (JSON.parse(readFileSync(recordFile, 'utf8')) as { child?: { pid: number } }).child?.pid;
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('indexer job kind', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeDir));

  test('builds the tables from a TSV file: succeeded with docs, bytes and exit code; the same id returns the same job', async () => {
    const dir = tempDir('indexer');
    dirs.push(dir);
    const work = path.join(dir, 'work');
    mkdirSync(path.join(work, 'out'), { recursive: true });
    const tsv = path.join(work, 'docs.tsv');
    writeFileSync(tsv, Array.from({ length: ROWS }, (_, i) => `${i + 1}\tdocument number ${i + 1}\t${i * 10}`).join('\n') + '\n');
    const agent = await startTestAgent({ dir, indexer: INDEXER });
    try {
      const req = { id: 'import-1:n0', kind: 'indexer', params: { configText: indexerConfig(work, `cat ${tsv}`, ['docs', 'more']), tables: ['docs', 'more'] } };
      const started = await agent.client.startJob(req);
      assert.equal(started.id, 'import-1:n0');
      const again = await agent.client.startJob(req);
      assert.equal(again.createdAt, started.createdAt, 'the same id and params return the existing job');
      const done = await finished(agent.client, 'import-1:n0');
      assert.equal(done.state, 'succeeded', JSON.stringify(done));
      assert.equal(done.result?.['docs'], ROWS * 2);
      assert.equal(done.result?.['exitCode'], 0);
      assert.ok(Number(done.result?.['bytes']) > 0);
      assert.equal(done.progress, 1);
      // the tables are on disk where the config said
      const built = readdirSync(path.join(work, 'out'));
      assert.ok(built.some((f) => f.startsWith('docs.')) && built.some((f) => f.startsWith('more.')), built.join(','));
      // the config text was written into the job's work dir, and the record persisted
      assert.ok(existsSync(path.join(agent.config.jobsDir, 'work', 'import-1:n0', 'indexer.conf')));
      assert.equal(JSON.parse(readFileSync(path.join(agent.config.jobsDir, 'jobs', 'import-1:n0.json'), 'utf8')).state, 'succeeded');
    } finally {
      await agent.close();
    }
  });

  test('a failing build is failed with the exit code and the tool\'s error; bad params are rejected up front', async () => {
    const dir = tempDir('indexer');
    dirs.push(dir);
    const agent = await startTestAgent({ dir, indexer: INDEXER });
    try {
      await agent.client.startJob({ id: 'bad-1', kind: 'indexer', params: { configPath: path.join(dir, 'missing.conf'), all: true } });
      const done = await finished(agent.client, 'bad-1');
      assert.equal(done.state, 'failed');
      assert.equal(done.result?.['exitCode'], 1);
      assert.match(done.error ?? '', /indexer exited with code 1: .*missing\.conf/);

      await assert.rejects(agent.client.startJob({ id: 'bad-2', kind: 'indexer', params: { tables: ['t'] } }), /params.configPath: give exactly one of/);
      await assert.rejects(
        agent.client.startJob({ id: 'bad-3', kind: 'indexer', params: { configText: 'x', tables: ['t; rm -rf /'] } }),
        /params.tables: must be a list of table names/,
      );
      await assert.rejects(agent.client.startJob({ id: 'bad-4', kind: 'indexer', params: { configPath: 'rel.conf', all: true } }), /absolute path/);
    } finally {
      await agent.close();
    }
  });

  test('cancel kills the indexer and its tsvpipe command (the process group): state cancelled', async () => {
    const dir = tempDir('indexer');
    dirs.push(dir);
    const work = path.join(dir, 'work');
    mkdirSync(path.join(work, 'out'), { recursive: true });
    const agent = await startTestAgent({ dir, indexer: INDEXER });
    try {
      await agent.client.startJob({ id: 'slow-1', kind: 'indexer', params: { configText: indexerConfig(work, 'sleep 60'), all: true } });
      // wait until the indexer runs its source command
      const running = await waitFor(
        async () => {
          const j = await agent.client.job('slow-1');
          return j.state === 'running' && j.message !== undefined && /collected|indexing|starting/.test(j.message) ? j : false;
        },
        'tool',
        'the slow indexer job to run',
      );
      assert.equal(running.state, 'running');
      const pid = await waitFor(() => childPid(path.join(agent.config.jobsDir, 'jobs', 'slow-1.json')), 'tool', 'the child pid in the job record');
      assert.equal(groupAlive(pid), true);
      const cancelled = await agent.client.cancelJob('slow-1');
      assert.equal(cancelled.state, 'cancelled');
      await waitFor(() => !groupAlive(pid), 'stop', 'the indexer process group to be gone');
    } finally {
      await agent.close();
    }
  });

  test('a job left running by an agent that died is failed by the next one, which kills its leftover process group', async () => {
    const dir = tempDir('indexer');
    dirs.push(dir);
    const work = path.join(dir, 'work');
    mkdirSync(path.join(work, 'out'), { recursive: true });
    const first = await JobManager.open({ dir, kinds: [indexerKind(INDEXER) as never], logger: silentLogger() });
    await first.start({ id: 'orphan-1', kind: 'indexer', params: { configText: indexerConfig(work, 'sleep 60'), all: true } });
    const recordFile = path.join(dir, 'jobs', 'orphan-1.json');
    const pid = await waitFor(() => childPid(recordFile), 'tool', 'the child pid in the job record');
    assert.equal(groupAlive(pid), true);
    // the "restarted agent": a new manager over the same directory while the old process group still runs
    const second = await JobManager.open({ dir, kinds: [indexerKind(INDEXER) as never], logger: silentLogger() });
    assert.equal(second.get('orphan-1')?.state, 'failed');
    assert.match(second.get('orphan-1')?.error ?? '', /agent restarted/);
    await waitFor(() => !groupAlive(pid), 'stop', 'the orphaned indexer group to be killed');
    await first.close();
    await second.close();
  });
});

describe('IndexerProgress', () => {
  test('reads table starts, collected docs and totals; progress over the named tables', () => {
    const p = new IndexerProgress();
    p.feed("indexing table 'a'...");
    p.feed('collected 10 docs, 0.0 MB');
    assert.deepEqual(p.progress(2), { progress: 0.25, message: "collected 10 docs of table 'a'" });
    p.feed('total 10 docs, 300 bytes');
    p.feed("indexing table 'b'...");
    p.feed('collected 5 docs, 0.0 MB');
    p.feed('total 5 docs, 100 bytes');
    p.feed('FATAL: something');
    assert.equal(p.totalDocs, 15);
    assert.equal(p.totalBytes, 400);
    assert.deepEqual(p.problems, ['FATAL: something']);
    assert.equal(p.progress(2).progress, 0.75);
    assert.equal(p.progress(undefined).progress, undefined);
  });
});
