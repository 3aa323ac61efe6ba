import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SpecStore, type SpecChange } from '../../../src/spec/loader.js';

/** How long a watched edit may take to show up before the test fails (the goal is well under 1 s). */
const WATCH_PICKUP_TIMEOUT_MS = 5000;
/** How long the periodic-rescan fallback may take (rescanMs is 200 in that test). */
const RESCAN_PICKUP_TIMEOUT_MS = 5000;
/** After close(): longer than the debounce (150 ms) plus a scan, so a leftover watcher would have acted. */
const AFTER_CLOSE_QUIET_MS = 400;

const FIXTURES = new URL('../../../../test/fixtures/specs/', import.meta.url);

function spec(name: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ name, columns: [{ name: 'title', type: 'text' }], ...extra }, null, 2);
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dir: string;
let store: SpecStore | undefined;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'spec-loader-'));
});
afterEach(() => {
  store?.close();
  store = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string): void {
  writeFileSync(path.join(dir, name), content);
}

function open(options: { tablesConfig?: string; rescanMs?: number } = {}): SpecStore {
  store = new SpecStore({ dir, ...options });
  return store;
}

describe('SpecStore.load', () => {
  it('a rescan with nothing changed reports nothing; an in-place edit of the same size, a new file and a removal are each seen', async () => {
    write('a.json', spec('aa'));
    write('b.json', spec('bb'));
    const s = open();
    await s.load();
    assert.deepEqual(await s.load(), { added: [], changed: [], removed: [], problemsChanged: false });
    assert.deepEqual(s.specs().map((l) => [l.spec.name, l.generation]), [['aa', 1], ['bb', 1]]);
    // same length, other content: only the stat stamp (mtime/ctime) tells
    const edited = spec('aa').replace('"title"', '"tit1e"');
    assert.equal(edited.length, spec('aa').length);
    write('a.json', edited);
    assert.deepEqual(await s.load(), { added: [], changed: ['aa'], removed: [], problemsChanged: false });
    assert.equal(s.get('aa')?.spec.columns[0]?.name, 'tit1e');
    assert.equal(s.get('aa')?.generation, 2);
    write('c.json', spec('cc'));
    unlinkSync(path.join(dir, 'b.json'));
    assert.deepEqual(await s.load(), { added: ['cc'], changed: [], removed: ['bb'], problemsChanged: false });
    assert.deepEqual(await s.load(), { added: [], changed: [], removed: [], problemsChanged: false });
  });

  it('an invalid file does not hide the valid ones; each problem names its file and pointer', async () => {
    write('good.json', spec('good'));
    write('bad-type.json', JSON.stringify({ name: 'bad', columns: [{ name: 'x', type: 'varchar' }] }));
    write('broken.json', '{"name": "broken",\n  "columns": [}');
    write('notes.txt', 'ignored: not a .json file');
    write('.hidden.json', '{');
    const s = open();
    const change = await s.load();
    assert.deepEqual(change, { added: ['good'], changed: [], removed: [], problemsChanged: true });
    assert.deepEqual(s.specs().map((l) => [l.spec.name, l.generation, l.origin]), [['good', 1, { kind: 'file', ref: path.join(dir, 'good.json') }]]);
    const problems = s.problems().map((p) => [path.basename(p.origin.ref), p.pointer]);
    assert.deepEqual(problems, [
      ['bad-type.json', '/columns/0/type'],
      ['broken.json', ''],
    ]);
    assert.match(s.problems()[1]?.message ?? '', /not valid JSON at line 2, column 15/);
    assert.deepEqual(s.problemsFor('bad').map((p) => p.pointer), ['/columns/0/type']);
    assert.equal(s.get('bad'), undefined);
  });

  it('reports a missing directory and still serves TABLES_CONFIG problems', async () => {
    store = new SpecStore({ dir: path.join(dir, 'nope'), tablesConfig: '{"orders": "orders.csv"}' });
    await store.load();
    assert.deepEqual(store.specs(), []);
    const messages = store.problems().map((p) => p.message);
    assert.ok(messages.some((m) => m.includes('does not exist')));
    assert.ok(messages.some((m) => m.includes("table 'orders' has no columns anywhere")));
  });

  it('merges an original registry file with TABLES_CONFIG', async () => {
    write('registry.json', readFileSync(new URL('original-registry.json', FIXTURES), 'utf8'));
    const s = open({ tablesConfig: readFileSync(new URL('tables-config.json', FIXTURES), 'utf8') });
    await s.load();
    assert.deepEqual(s.problems(), []);
    assert.deepEqual(s.specs().map((l) => l.spec.name), ['addresses', 'catalog']);
    assert.deepEqual(s.get('addresses')?.spec.import, { urls: ['addresses/addresses.csv'], format: 'csv', header: true, memLimit: '2047M' });
    assert.equal(s.get('catalog')?.spec.clusterMain, true);
  });

  it('a table declared twice is applied from neither; an earlier version stays until fixed', async () => {
    write('a.json', spec('dup'));
    write('b.json', spec('dup', { deletionPolicy: 'delete' }));
    const fresh = open();
    await fresh.load();
    assert.equal(fresh.get('dup'), undefined);
    const dupProblems = fresh.problems().filter((p) => p.table === 'dup' && p.message.includes('declared more than once'));
    assert.deepEqual(dupProblems.map((p) => path.basename(p.origin.ref)), ['a.json', 'b.json']);
    for (const p of dupProblems) assert.ok(p.message.includes(path.join(dir, 'a.json')) && p.message.includes(path.join(dir, 'b.json')));
    fresh.close();

    // a table that was applied keeps that version while a duplicate exists
    unlinkSync(path.join(dir, 'b.json'));
    const s = open();
    await s.load();
    assert.equal(s.get('dup')?.generation, 1);
    write('b.json', spec('dup', { deletionPolicy: 'delete' }));
    const change = await s.load();
    assert.deepEqual(change, { added: [], changed: [], removed: [], problemsChanged: true });
    assert.equal(s.get('dup')?.spec.deletionPolicy, 'retain');
    assert.equal(s.get('dup')?.generation, 1);
    assert.ok(s.problemsFor('dup').some((p) => p.message.includes('keeps its last applied version (generation 1)')));
    unlinkSync(path.join(dir, 'b.json'));
    const fixed = await s.load();
    assert.deepEqual(fixed, { added: [], changed: [], removed: [], problemsChanged: true });
    assert.deepEqual(s.problems(), []);
  });

  it('bumps the generation only when the content changes, and never reuses one', async () => {
    write('t.json', spec('t', { settings: { min_infix_len: 2 }, deletionPolicy: 'retain' }));
    const s = open();
    await s.load();
    assert.equal(s.get('t')?.generation, 1);

    // same content: other key order, whitespace, an explicit default
    write('t.json', JSON.stringify({ deletionPolicy: 'retain', columns: [{ type: 'text', name: 'title' }], settings: { min_infix_len: 2 }, name: 't' }));
    assert.deepEqual(await s.load(), { added: [], changed: [], removed: [], problemsChanged: false });
    assert.equal(s.get('t')?.generation, 1);

    write('t.json', spec('t', { settings: { min_infix_len: 3 } }));
    assert.deepEqual(await s.load(), { added: [], changed: ['t'], removed: [], problemsChanged: false });
    assert.equal(s.get('t')?.generation, 2);
    assert.equal(s.get('t')?.spec.settings.min_infix_len, 3);

    unlinkSync(path.join(dir, 't.json'));
    assert.deepEqual(await s.load(), { added: [], changed: [], removed: ['t'], problemsChanged: false });
    assert.equal(s.get('t'), undefined);

    write('t.json', spec('t'));
    assert.deepEqual(await s.load(), { added: ['t'], changed: [], removed: [], problemsChanged: false });
    assert.equal(s.get('t')?.generation, 3);

    // moving the table to another file keeps its generation
    unlinkSync(path.join(dir, 't.json'));
    write('renamed.json', spec('t'));
    assert.deepEqual(await s.load(), { added: [], changed: [], removed: [], problemsChanged: false });
    assert.equal(s.get('t')?.generation, 3);
    assert.equal(s.get('t')?.origin.ref, path.join(dir, 'renamed.json'));
  });

  it('a file that turns invalid keeps the last valid version of its tables', async () => {
    write('t.json', spec('t'));
    const s = open();
    await s.load();
    write('t.json', '{"name": "t", "columns": [');
    const change = await s.load();
    assert.deepEqual(change, { added: [], changed: [], removed: [], problemsChanged: true });
    assert.equal(s.get('t')?.generation, 1);
    const messages = s.problemsFor('t').map((p) => p.message);
    assert.ok(messages.some((m) => m.includes("table 't' keeps its last valid version from this file")));

    write('t.json', spec('t', { clusterMain: true }));
    assert.deepEqual(await s.load(), { added: [], changed: ['t'], removed: [], problemsChanged: true });
    assert.equal(s.get('t')?.generation, 2);
    assert.deepEqual(s.problems(), []);
  });
});

describe('SpecStore.watch', () => {
  it('picks up an added, an edited and a removed file', async (t) => {
    const s = open();
    await s.load();
    const events: SpecChange[] = [];
    s.onChange((c) => events.push(c));
    s.watch();

    let started = Date.now();
    write('w.json', spec('w'));
    await waitFor('the added file', WATCH_PICKUP_TIMEOUT_MS, () => s.get('w'));
    t.diagnostic(`added file picked up after ${Date.now() - started} ms`);
    assert.equal(s.get('w')?.generation, 1);

    started = Date.now();
    write('w.json', spec('w', { deletionPolicy: 'delete' }));
    await waitFor('the edited file', WATCH_PICKUP_TIMEOUT_MS, () => (s.get('w')?.generation === 2 ? true : undefined));
    t.diagnostic(`edited file picked up after ${Date.now() - started} ms`);
    assert.equal(s.get('w')?.spec.deletionPolicy, 'delete');

    started = Date.now();
    unlinkSync(path.join(dir, 'w.json'));
    await waitFor('the removed file', WATCH_PICKUP_TIMEOUT_MS, () => (s.get('w') === undefined ? true : undefined));
    t.diagnostic(`removed file picked up after ${Date.now() - started} ms`);

    const tableEvents = events.filter((e) => e.added.length + e.changed.length + e.removed.length > 0);
    assert.deepEqual(
      tableEvents.map((e) => ({ added: e.added, changed: e.changed, removed: e.removed })),
      [
        { added: ['w'], changed: [], removed: [] },
        { added: [], changed: ['w'], removed: [] },
        { added: [], changed: [], removed: ['w'] },
      ],
    );
  });

  it('the periodic rescan finds a directory created after watch() started', async () => {
    const late = path.join(dir, 'later');
    store = new SpecStore({ dir: late, rescanMs: 200 });
    await store.load();
    assert.ok(store.problems().some((p) => p.message.includes('does not exist')));
    store.watch();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(late);
    writeFileSync(path.join(late, 'x.json'), spec('x'));
    const s = store;
    await waitFor('the table in the late directory', RESCAN_PICKUP_TIMEOUT_MS, () => s.get('x'));
    assert.deepEqual(s.problems(), []);
    // once the directory exists the watcher is attached: an edit is seen too
    writeFileSync(path.join(late, 'x.json'), spec('x', { clusterMain: true }));
    await waitFor('the edit in the late directory', RESCAN_PICKUP_TIMEOUT_MS, () => (s.get('x')?.spec.clusterMain === true ? true : undefined));
  });

  it('close() stops watching', async () => {
    const s = open();
    await s.load();
    s.watch();
    s.close();
    const events: SpecChange[] = [];
    s.onChange((c) => events.push(c));
    write('late.json', spec('late'));
    // give a watcher, if one were left, its debounce and more; then check nothing was loaded
    await new Promise((r) => setTimeout(r, AFTER_CLOSE_QUIET_MS));
    assert.equal(s.get('late'), undefined);
    assert.deepEqual(events, []);
  });
});
