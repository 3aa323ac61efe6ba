/**
 * Bad table specs, hand-written and fuzzed (seeded PRNG, a few hundred documents): the validator never
 * throws, every refused document names the offending value with a JSON pointer and a message, and a
 * document it accepts carries only safe names (identifiers the SQL layer takes, import sources
 * that stay on the shared volume or name an object). Pure and fast; the live controller's handling
 * of bad spec files is in world.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SpecOrigin, TableSpec } from '../../../src/domain/spec.js';
import { isValidIdentifier } from '../../../src/manticore/identifiers.js';
import { parseJsonText } from '../../../src/spec/json-text.js';
import { validateDocument } from '../../../src/spec/validate.js';
import { HOSTILE_NAMES, mulberry32, pick, randomJson, type Rng } from './prng.js';

const ORIGIN: SpecOrigin = { kind: 'file', ref: 'fuzz.json' };

const VALID = {
  name: 'products',
  columns: [
    { name: 'title', type: 'text' },
    { name: 'price', type: 'float' },
  ],
  settings: { morphology: 'stem_en', min_infix_len: 2 },
  import: { source: 'products/products.csv', header: true },
  clusterMain: false,
  distributed: { haStrategy: 'nodeads', agentRetryCount: 1 },
  backups: [{ name: 'nightly-delta', type: 'delta', schedule: '0 2 * * *' }],
  deletionPolicy: 'retain',
};

/** What an accepted spec must never carry. */
function assertSafe(spec: TableSpec, label: string): void {
  assert.ok(isValidIdentifier(spec.name, 'table'), `${label}: accepted table name ${JSON.stringify(spec.name)}`);
  for (const c of spec.columns) assert.ok(isValidIdentifier(c.name, 'column'), `${label}: accepted column ${JSON.stringify(c.name)}`);
  for (const [k, v] of Object.entries(spec.settings)) {
    assert.match(k, /^[a-z_][a-z0-9_]*$/, `${label}: setting key ${JSON.stringify(k)}`);
    assert.ok(typeof v === 'number' ? Number.isFinite(v) : typeof v === 'string', `${label}: setting ${k}`);
  }
  for (const u of spec.import?.urls ?? []) {
    assert.ok(!u.includes('\0'), `${label}: NUL in source`);
    if (!/^(https|s3|gs):\/\//.test(u)) assert.ok(!u.split(/[\\/]/).includes('..'), `${label}: source ${JSON.stringify(u)} climbs out of the shared volume`);
  }
  for (const b of spec.backups) assert.match(b.name, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, `${label}: backup name ${JSON.stringify(b.name)}`);
  assert.ok(Number.isInteger(spec.distributed.agentRetryCount) && spec.distributed.agentRetryCount >= 0 && spec.distributed.agentRetryCount < 1000, `${label}: agentRetryCount`);
}

function check(doc: unknown, label: string): { accepted: boolean } {
  let result: ReturnType<typeof validateDocument>;
  try {
    result = validateDocument(doc, ORIGIN);
  } catch (err) {
    assert.fail(`${label}: the validator threw ${err instanceof Error ? err.stack : String(err)}`);
  }
  for (const p of result.problems) {
    assert.equal(typeof p.pointer, 'string', label);
    assert.ok(p.pointer === '' || p.pointer.startsWith('/'), `${label}: pointer ${p.pointer}`);
    assert.ok(p.message.length > 10, `${label}: message ${p.message}`);
    assert.ok(p.message.length < 2000, `${label}: message too long (${p.message.length})`);
  }
  for (const c of result.contributions) if (c.spec !== undefined) assertSafe(c.spec, label);
  return { accepted: result.problems.length === 0 && result.contributions.length > 0 };
}

function withValue(path: (string | number)[], value: unknown): unknown {
  const doc = structuredClone(VALID) as Record<string, unknown>;
  let at: Record<string | number, unknown> = doc;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[path[path.length - 1]!] = value;
  return doc;
}

const PATHS: (string | number)[][] = [
  ['name'],
  ['columns'],
  ['columns', 0],
  ['columns', 0, 'name'],
  ['columns', 0, 'type'],
  ['columns', 1, 'name'],
  ['settings'],
  ['settings', 'morphology'],
  ['settings', 'min_infix_len'],
  ['import'],
  ['import', 'source'],
  ['import', 'header'],
  ['clusterMain'],
  ['distributed'],
  ['distributed', 'haStrategy'],
  ['distributed', 'agentRetryCount'],
  ['backups'],
  ['backups', 0, 'name'],
  ['backups', 0, 'type'],
  ['backups', 0, 'schedule'],
  ['deletionPolicy'],
  ['unknownKey'],
  ['settings', 'no_such_setting'],
  ['settings', "x') ; DROP TABLE t; --"],
];

test('the valid spec is accepted (the baseline the mutations start from)', () => {
  assert.equal(check(VALID, 'valid').accepted, true);
});

test('hand-written bad specs: wrong types, unknown keys, huge values, hostile names, empty', () => {
  const cases: [string, unknown][] = [
    ['null', null],
    ['array', []],
    ['string', 'products'],
    ['empty object', {}],
    ['no columns', { name: 'products' }],
    ['columns not a list', { name: 'products', columns: { title: 'text' } }],
    ['unknown top-level key', { ...VALID, colums: [] }],
    ['unknown column type', withValue(['columns', 0, 'type'], 'varchar(255)')],
    ['duplicate columns', withValue(['columns', 1, 'name'], 'title')],
    ['reserved column id', withValue(['columns', 0, 'name'], 'id')],
    ['huge retry count', withValue(['distributed', 'agentRetryCount'], 1e12)],
    ['negative retry count', withValue(['distributed', 'agentRetryCount'], -1)],
    ['fractional retry count', withValue(['distributed', 'agentRetryCount'], 1.5)],
    ['huge setting', withValue(['settings', 'min_infix_len'], 1e308)],
    ['10k columns', { ...VALID, columns: Array.from({ length: 10_000 }, (_, i) => ({ name: `c${i}`, type: 'int' })) }],
    ['1 MB name', withValue(['name'], 'p'.repeat(1_000_000))],
    ['traversal source', withValue(['import', 'source'], '../../../etc/passwd')],
    ['traversal source inside', withValue(['import', 'source'], 'products/../../../../etc/shadow')],
    ['ftp source', withValue(['import', 'source'], 'ftp://host/file.csv')],
    ['NUL source', withValue(['import', 'source'], 'products\u0000.csv')],
    ['bad cron', withValue(['backups', 0, 'schedule'], '61 * * * *')],
    ['backup name traversal', withValue(['backups', 0, 'name'], '../../x')],
    ['deep nesting', withValue(['settings'], JSON.parse('['.repeat(500) + ']'.repeat(500)))],
  ];
  for (const name of HOSTILE_NAMES) {
    cases.push([`table name ${JSON.stringify(name).slice(0, 40)}`, withValue(['name'], name)]);
    cases.push([`column name ${JSON.stringify(name).slice(0, 40)}`, withValue(['columns', 0, 'name'], name)]);
  }
  // a string setting is sent as a quoted, escaped literal (src/manticore/escape.ts), so a quote in it
  // cannot end the statement; Manticore refuses the odd value itself and the table reports it
  check(withValue(['settings', 'morphology'], "stem_en'; DROP TABLE products; --"), 'setting with SQL');
  for (const [label, doc] of cases) {
    const { accepted } = check(doc, label);
    if (label.startsWith('table name') || label.startsWith('column name')) continue; // safety is what assertSafe checks
    assert.equal(accepted, false, `${label}: should be refused`);
  }
});

test('invalid JSON text is a problem with a position, not an exception', () => {
  for (const text of ['', '{', '{"name": "products",}', '\uFEFF{"name"', '{"name": "a"}}', 'null x', '{"a": 1e99999}']) {
    const r = parseJsonText(text, ORIGIN);
    if (r.problem) assert.ok(r.problem.message.length > 5, text);
    else check(r.doc, `text ${text}`);
  }
});

test('fuzzed specs (seeded, 400 documents): never a throw, always a pointer and a message, only safe specs accepted', () => {
  const rng: Rng = mulberry32(0x5eed6);
  let accepted = 0;
  for (let i = 0; i < 400; i += 1) {
    let doc: unknown = structuredClone(VALID);
    const mutations = 1 + Math.floor(rng() * 3);
    for (let m = 0; m < mutations; m += 1) {
      const path = pick(rng, PATHS);
      try {
        doc = withValue(path, randomJson(rng));
      } catch {
        // the path no longer exists after an earlier mutation: replace the whole document
        doc = randomJson(rng);
      }
    }
    if (check(doc, `fuzz #${i}`).accepted) accepted += 1;
  }
  // most mutations break the document; a few land on valid values (e.g. a boolean for clusterMain)
  assert.ok(accepted < 200, `accepted ${accepted} of 400`);
});
