import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  parseGrastate,
  parseManticoreJson,
  parseSearchdSection,
  readGrastate,
  readSavedState,
} from '../../../../src/agent/server/node-files.js';
import { removeDir, tempDir } from '../helpers.js';

const CLEAN_STOP = `# GALERA saved state
version: 2.1
uuid:    5d3a1b0e-8f1c-11ee-9a6b-0242ac120002
seqno:   42
safe_to_bootstrap: 1
`;

describe('parseGrastate', () => {
  test('a clean stop: uuid, seqno, safe_to_bootstrap', () => {
    assert.deepEqual(parseGrastate(CLEAN_STOP), { exists: true, uuid: '5d3a1b0e-8f1c-11ee-9a6b-0242ac120002', seqno: 42, safeToBootstrap: true });
  });

  test('a crash: seqno -1, not safe to bootstrap; CRLF and odd spacing are fine', () => {
    const text = 'version: 2.1\r\nuuid:abc\r\n  seqno :  -1\r\nsafe_to_bootstrap: 0\r\n';
    assert.deepEqual(parseGrastate(text), { exists: true, uuid: 'abc', seqno: -1, safeToBootstrap: false });
  });

  test('comments are skipped and malformed values left out', () => {
    const text = '# uuid: commented-out\nuuid: \nseqno: many\nsafe_to_bootstrap: yes\n';
    assert.deepEqual(parseGrastate(text), { exists: true });
  });
});

describe('reading the node files', () => {
  let dir: string;
  before(() => {
    dir = tempDir('files');
  });
  after(() => removeDir(dir));

  test('no grastate.dat: exists false', async () => {
    mkdirSync(path.join(dir, 'empty'));
    assert.deepEqual(await readGrastate(path.join(dir, 'empty')), { exists: false });
  });

  test('grastate.dat in data_dir, else in a saved cluster path (relative to data_dir)', async () => {
    const a = path.join(dir, 'a');
    mkdirSync(a);
    writeFileSync(path.join(a, 'grastate.dat'), CLEAN_STOP);
    assert.equal((await readGrastate(a)).seqno, 42);

    const b = path.join(dir, 'b');
    mkdirSync(path.join(b, 'clusters', 'c1'), { recursive: true });
    writeFileSync(path.join(b, 'clusters', 'c1', 'grastate.dat'), 'uuid: u1\nseqno: 7\nsafe_to_bootstrap: 0\n');
    writeFileSync(path.join(b, 'manticore.json'), JSON.stringify({ clusters: { c1: { path: 'clusters/c1', nodes: '', options: '', indexes: [] } }, indexes: {} }));
    const saved = await readSavedState(b);
    assert.deepEqual(saved.clusters, ['c1']);
    assert.deepEqual(await readGrastate(b, saved.clusterPaths), { exists: true, uuid: 'u1', seqno: 7, safeToBootstrap: false });
  });

  test('manticore.json: clusters and tables; absent, empty clusters, unreadable', async () => {
    assert.deepEqual(
      parseManticoreJson(JSON.stringify({ clusters: { c: { path: '', nodes: 'x:1' } }, indexes: { t_delta: { type: 'rt' }, a: { type: 'rt' } } })),
      { clusters: ['c'], clusterPaths: [''], tables: ['a', 't_delta'], exists: true },
    );
    assert.deepEqual(parseManticoreJson('{"clusters":{},"indexes":{}}').clusters, []);
    assert.match(parseManticoreJson('{"clusters":').unreadable ?? '', /not valid JSON/);
    assert.equal(parseManticoreJson('[1]').unreadable, 'not a JSON object');
    const missing = await readSavedState(path.join(dir, 'nowhere'));
    assert.deepEqual(missing, { clusters: [], clusterPaths: [], tables: [], exists: false });
  });

  test('searchd section: pid_file, data_dir (relative to the config) and the mysql41 listener', () => {
    const conf = `
source s { type = tsvpipe }
searchd {
    listen = 127.0.0.1:9312
    listen = 127.0.0.1:19306:mysql41   # comment
    listen = 9308:http
    data_dir = data
    pid_file = /run/manticore/searchd.pid
    log = \\
      searchd.log
}
`;
    assert.deepEqual(parseSearchdSection(conf, '/etc/manticore/manticore.conf'), {
      mysql: { host: '127.0.0.1', port: 19306 },
      dataDir: '/etc/manticore/data',
      pidFile: '/run/manticore/searchd.pid',
    });
    assert.deepEqual(parseSearchdSection('searchd {\n listen = 9306:mysql\n}\n', '/x/y.conf').mysql, { host: '127.0.0.1', port: 9306 });
    assert.deepEqual(parseSearchdSection('table t { type = rt }', '/x/y.conf'), {});
  });
});
