/** Indexer / temporary searchd config generation: exact text, column mapping, quoting of hostile names. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  configValue,
  feedCommand,
  MAX_CONFIG_LINE,
  parseMemLimit,
  renderIndexerConfig,
  renderSearchdConfig,
  shellQuote,
  type BuildConfigInput,
} from '../../../src/import/indexer-config.js';
import type { ColumnDecl } from '../../../src/domain/spec.js';

function input(over: Partial<BuildConfigInput> = {}): BuildConfigInput {
  return {
    node: '/usr/bin/node',
    feedScript: '/app/dist/src/bin/source-feed.js',
    format: 'csv',
    header: true,
    columns: [
      { name: 'title', type: 'text' },
      { name: 'price', type: 'float' },
    ],
    sources: ['/vol/products-1.csv', '/vol/products-2.csv'],
    reportFile: '/work/job/feed-report.json',
    sourcesFile: '/work/job/sources.json',
    table: 'products',
    slot: 'b',
    settings: { morphology: 'stem_en', min_infix_len: 2, rt_mem_limit: '256M' },
    memLimit: '512M',
    plainPath: '/vol/out/plain/products_plain',
    rtPath: '/vol/out/rt/products_main_b',
    ...over,
  };
}

const COMMAND =
  '/usr/bin/node /app/dist/src/bin/source-feed.js --format csv --header 1 --columns title:text,price:float --report /work/job/feed-report.json -- /vol/products-1.csv /vol/products-2.csv';

const SOURCE = `source products_src {
    type = csvpipe
    csvpipe_command = ${COMMAND}
    csvpipe_field = title
    csvpipe_attr_float = price
}
`;

const PLAIN = `table products_plain {
    type = plain
    source = products_src
    path = /vol/out/plain/products_plain
    morphology = stem_en
    min_infix_len = 2
}
`;

describe('indexer config', () => {
  test('exact text: csvpipe source through source-feed, plain table with the settings (no rt-only ones), mem_limit', () => {
    assert.equal(renderIndexerConfig(input()).text, `${SOURCE}\n${PLAIN}\nindexer {\n    mem_limit = 512M\n}\n`);
  });

  test('exact text of the temporary searchd: plain + empty RT table with the same schema, loopback listeners, no Buddy', () => {
    const text = renderSearchdConfig(input(), {
      mysqlPort: 20001,
      apiPort: 20002,
      log: '/work/job/searchd.log',
      queryLog: '/work/job/query.log',
      pidFile: '/work/job/searchd.pid',
      binlogPath: '/work/job/binlog',
    });
    assert.equal(
      text,
      `${SOURCE}\n${PLAIN}\ntable products_main_b {
    type = rt
    path = /vol/out/rt/products_main_b
    rt_field = title
    rt_attr_float = price
    morphology = stem_en
    min_infix_len = 2
    rt_mem_limit = 256M
}

searchd {
    listen = 127.0.0.1:20001:mysql41
    listen = 127.0.0.1:20002
    log = /work/job/searchd.log
    query_log = /work/job/query.log
    pid_file = /work/job/searchd.pid
    binlog_path = /work/job/binlog
    buddy_path = \n}
`,
    );
  });

  test('every column type maps to its csvpipe declaration and RT directive; TSV uses tsvpipe_*; default mem_limit 256M', () => {
    const columns: ColumnDecl[] = [
      { name: 'title', type: 'text' },
      { name: 'body', type: 'text', stored: false },
      { name: 'note', type: 'text', indexed: false },
      { name: 'sku', type: 'string', indexed: true },
      { name: 'category', type: 'string' },
      { name: 'qty', type: 'integer' },
      { name: 'big', type: 'bigint' },
      { name: 'price', type: 'float' },
      { name: 'in_stock', type: 'bool' },
      { name: 'updated_at', type: 'timestamp' },
      { name: 'meta', type: 'json' },
      { name: 'tags', type: 'multi' },
      { name: 'tags64', type: 'multi64' },
    ];
    const i = input({ columns, format: 'tsv', settings: {} });
    delete i.memLimit;
    const text = renderIndexerConfig(i).text;
    const decls = text.split('\n').filter((l) => /^\s+tsvpipe_(field|attr)/.test(l)).map((l) => l.trim());
    assert.deepEqual(decls, [
      'tsvpipe_field = title',
      'tsvpipe_field = body',
      'tsvpipe_field = note',
      'tsvpipe_field_string = sku',
      'tsvpipe_attr_string = category',
      'tsvpipe_attr_uint = qty',
      'tsvpipe_attr_bigint = big',
      'tsvpipe_attr_float = price',
      'tsvpipe_attr_bool = in_stock',
      'tsvpipe_attr_timestamp = updated_at',
      'tsvpipe_attr_json = meta',
      'tsvpipe_attr_multi = tags',
      'tsvpipe_attr_multi_64 = tags64',
    ]);
    assert.match(text, /type = tsvpipe\n/);
    assert.match(text, /--format tsv --header 1/);
    assert.match(text, /stored_fields = title\n/, 'body (stored: false) and note (stored only) are not in stored_fields');
    assert.match(text, /stored_only_fields = note\n/);
    assert.match(text, /mem_limit = 256M/);
    const rt = renderSearchdConfig(i, { mysqlPort: 1, apiPort: 2, log: '/l', queryLog: '/q', pidFile: '/p', binlogPath: '/b' });
    const rtDecls = rt.split('\n').filter((l) => /^\s+rt_(field|attr)/.test(l)).map((l) => l.trim());
    assert.deepEqual(rtDecls, [
      'rt_field = title',
      'rt_field = body',
      'rt_field = note',
      'rt_field = sku',
      'rt_attr_string = sku',
      'rt_attr_string = category',
      'rt_attr_uint = qty',
      'rt_attr_bigint = big',
      'rt_attr_float = price',
      'rt_attr_bool = in_stock',
      'rt_attr_timestamp = updated_at',
      'rt_attr_json = meta',
      'rt_attr_multi = tags',
      'rt_attr_multi_64 = tags64',
    ]);
  });

  test('bad input is refused with the field named', () => {
    assert.throws(() => renderIndexerConfig(input({ columns: [] })), /columns: declare at least one column/);
    assert.throws(() => renderIndexerConfig(input({ columns: [{ name: 'id', type: 'bigint' }] })), /'id' is implicit/);
    assert.throws(() => renderIndexerConfig(input({ columns: [{ name: 'a b', type: 'text' }] })), /columns\[0\]\.name/);
    assert.throws(() => renderIndexerConfig(input({ settings: { path: '/x' } })), /settings\.path: 'path' is set by the import itself/);
    assert.throws(() => renderIndexerConfig(input({ settings: { charset_table: 'a\nb' } })), /settings\.charset_table: must not contain NUL, CR or LF/);
    assert.throws(() => renderIndexerConfig(input({ settings: { blend_chars: 'a\\' } })), /must not end with a backslash/);
    assert.throws(() => renderIndexerConfig(input({ memLimit: '4G' })), /memLimit: 4G is above indexer's maximum of 2047M/);
    assert.throws(() => renderIndexerConfig(input({ memLimit: 'lots' })), /memLimit: "lots": use a size like 256M/);
  });

  test('mem_limit forms', () => {
    assert.equal(parseMemLimit('2047M'), '2047M');
    assert.equal(parseMemLimit('1g'), '1G');
    assert.equal(parseMemLimit('524288k'), '524288K');
    assert.throws(() => parseMemLimit('2048M'), /above/);
    assert.throws(() => parseMemLimit('0M'), /more than 0/);
  });
});

describe('shell quoting of hostile source names', () => {
  const hostile = [
    '/vol/plain.csv',
    "/vol/it's.csv",
    '/vol/a b\tc.csv',
    '/vol/$(touch /tmp/pwned).csv',
    '/vol/`id`;rm -rf ~.csv',
    '/vol/semi;colon|pipe&amp>redir<in.csv',
    '/vol/"double"\\back.csv',
    '/vol/#hash#.csv',
    '/vol/a\\#b.csv',
    '/vol/*?[glob].csv',
    '/vol/~tilde.csv',
    '-rf',
    '',
  ];

  test('shellQuote leaves safe words alone and single-quotes the rest', () => {
    assert.equal(shellQuote('/vol/a.csv'), '/vol/a.csv');
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote(''), `''`);
    assert.throws(() => shellQuote('a\0b'), /NUL/);
  });

  test('every name reaches the program unchanged after the config parser (\\# → #) and /bin/sh', () => {
    const cmd = feedCommand({ ...input({ sources: hostile }), node: 'printf', feedScript: '%s\\0' });
    const line = configValue(cmd.command, 'sources');
    assert.ok(!/(^|[^\\])#/.test(line), 'every # is escaped for the config parser');
    // what Manticore's config parser hands to /bin/sh: `\#` becomes `#`, every other character is kept
    const asParsed = line.replace(/\\#/g, '#');
    assert.equal(asParsed, cmd.command);
    const out = execFileSync('/bin/sh', ['-c', asParsed], { encoding: 'utf8' });
    const args = out.split('\0').slice(0, -1);
    const sep = args.indexOf('--');
    assert.deepEqual(args.slice(sep + 1), hostile);
  });

  test('a source list too long for one config line goes to a sources file', () => {
    const many = Array.from({ length: 400 }, (_, i) => `/vol/segments/products-part-${String(i).padStart(5, '0')}.csv`);
    const cmd = feedCommand(input({ sources: many }));
    assert.ok(cmd.sourcesFileContent !== undefined);
    assert.deepEqual(JSON.parse(cmd.sourcesFileContent ?? '[]'), many);
    assert.match(cmd.command, /--sources-file \/work\/job\/sources\.json$/);
    assert.ok(cmd.command.length < MAX_CONFIG_LINE);
    const text = renderIndexerConfig(input({ sources: many }));
    assert.equal(text.sourcesFileContent, cmd.sourcesFileContent);
  });
});
