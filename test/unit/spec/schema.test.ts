import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { columnTypeNames, knownSettings, tableValidator } from '../../../src/spec/schema.js';

const SCHEMA_URL = new URL('../../../../schemas/table.schema.json', import.meta.url);

type Node = Record<string, unknown>;

/** Every subschema that describes a value (properties, items), with its path. */
function walk(node: Node, at: string, out: [string, Node][]): [string, Node][] {
  out.push([at, node]);
  for (const [k, v] of Object.entries((node.properties as Record<string, Node> | undefined) ?? {})) walk(v, `${at}/${k}`, out);
  if (node.items !== undefined) walk(node.items as Node, `${at}/[]`, out);
  return out;
}

describe('schemas/table.schema.json', () => {
  it('is JSON Schema 2020-12 and compiles with ajv in strict mode', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Node;
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(typeof tableValidator(), 'function');
  });

  it('stays close to what a CRD openAPIV3Schema accepts: explicit types, no $ref, closed objects', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Node;
    const text = JSON.stringify(schema);
    assert.ok(!text.includes('"$ref"'));
    assert.ok(!text.includes('"oneOf"') && !text.includes('"anyOf"'));
    for (const [at, node] of walk(schema, '', [])) {
      assert.ok(node.type !== undefined, `${at || '/'} has no type`);
      // the one union: import.source is a string or a list of strings (README.md says how a CRD takes it)
      if (Array.isArray(node.type)) assert.equal(at, '/import/source');
      if (node.type === 'object' && node.properties !== undefined) assert.equal(node.additionalProperties, false, `${at || '/'} is open`);
    }
  });

  it('lists the Manticore column types of TableSpec and the common settings', () => {
    assert.deepEqual(columnTypeNames(), ['text', 'string', 'integer', 'bigint', 'float', 'bool', 'timestamp', 'json', 'multi', 'multi64']);
    for (const k of ['morphology', 'min_infix_len', 'min_prefix_len', 'min_word_len', 'charset_table', 'html_strip', 'stopwords']) {
      assert.ok(knownSettings().includes(k), k);
    }
  });
});
