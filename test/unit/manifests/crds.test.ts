/**
 * The CRDs under manifests/kubernetes/crds/ are generated from schemas/*.json by scripts/gen-crds.mjs
 * (one source of truth). These fail when a committed CRD differs from what the generator produces now,
 * and check that the generated schemas are structural (what apiextensions.k8s.io/v1 accepts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../../src/sim/launcher.js';

interface Generator {
  renderCrds(): Record<string, string>;
  buildCrds(): Record<string, CrdObject>;
  toStructural(node: unknown): unknown;
}

interface CrdObject {
  spec: { versions: Array<{ schema: { openAPIV3Schema: Schema }; subresources?: { status?: object }; additionalPrinterColumns?: Array<{ name: string; jsonPath: string }> }>; scope: string };
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: unknown;
  required?: string[];
  [key: string]: unknown;
}

async function generator(): Promise<Generator> {
  return (await import(pathToFileURL(path.join(repoRoot(), 'scripts', 'gen-crds.mjs')).href)) as Generator;
}

test('committed CRDs equal what scripts/gen-crds.mjs generates from schemas/', async () => {
  const rendered = (await generator()).renderCrds();
  assert.deepEqual(Object.keys(rendered).sort(), ['manticorebackupschedules.yaml', 'manticoretables.yaml']);
  for (const [file, text] of Object.entries(rendered)) {
    const committed = readFileSync(path.join(repoRoot(), 'manifests', 'kubernetes', 'crds', file), 'utf8');
    assert.equal(committed, text, `manifests/kubernetes/crds/${file} is out of date: run node scripts/gen-crds.mjs`);
  }
});

/** Every problem that makes a schema non-structural, with its path. */
function structuralProblems(node: Schema, at: string, out: string[] = []): string[] {
  if ('$ref' in node) out.push(`${at}: $ref`);
  if (node.additionalProperties === false) out.push(`${at}: additionalProperties: false`);
  // no defaults: the API server would write them into every object (see scripts/gen-crds.mjs)
  if ('default' in node) out.push(`${at}: default`);
  if (node.properties !== undefined && node.additionalProperties !== undefined) out.push(`${at}: properties and additionalProperties together`);
  if (Array.isArray(node.type)) out.push(`${at}: a list of types`);
  const free = node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
  if (node.type === undefined && !free) out.push(`${at}: no type`);
  for (const [k, v] of Object.entries(node.properties ?? {})) structuralProblems(v, `${at}.${k}`, out);
  if (node.items !== undefined) structuralProblems(node.items, `${at}[]`, out);
  if (node.type === 'array' && node.items === undefined) out.push(`${at}: array without items`);
  return out;
}

test('generated schemas are structural, namespaced, with a status subresource and printer columns', async () => {
  const crds = (await generator()).buildCrds();
  for (const [file, crd] of Object.entries(crds)) {
    assert.equal(crd.spec.scope, 'Namespaced', file);
    const [version] = crd.spec.versions;
    assert.ok(version !== undefined);
    assert.deepEqual(version.subresources, { status: {} }, `${file}: status subresource`);
    assert.deepEqual(structuralProblems(version.schema.openAPIV3Schema, file), []);
  }
  const columns = crds['manticoretables.yaml']!.spec.versions[0]!.additionalPrinterColumns!.map((c) => [c.name, c.jsonPath]);
  for (const want of [['Slot', '.status.activeSlot'], ['Ready', '.status.ready'], ['Last Import', '.status.lastImport.finishedAt']]) {
    assert.ok(columns.some((c) => c[0] === want[0] && c[1] === want[1]), `printer column ${want[0]}`);
  }
});

test('the ManticoreTable spec holds every key of schemas/table.schema.json but the document-only ones', async () => {
  const table = JSON.parse(readFileSync(path.join(repoRoot(), 'schemas', 'table.schema.json'), 'utf8')) as Schema;
  const spec = (await generator()).buildCrds()['manticoretables.yaml']!.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!;
  const expected = Object.keys(table.properties ?? {}).filter((k) => !['$schema', 'apiVersion', 'kind'].includes(k));
  assert.deepEqual(Object.keys(spec.properties ?? {}).sort(), expected.sort());
  assert.deepEqual(Object.keys(spec.properties!.settings!.properties ?? {}).sort(), Object.keys(table.properties!.settings!.properties ?? {}).sort());
  assert.ok(!(spec.required ?? []).includes('name'), 'spec.name is optional (metadata.name supplies it)');
  assert.deepEqual(spec.required, ['columns']);
  // a string-or-array value keeps no type and is preserved for the controller's own validation
  const source = spec.properties!.import!.properties!.source!;
  assert.equal(source['x-kubernetes-preserve-unknown-fields'], true);
  assert.equal(source.type, undefined);
});

test('the converter inlines $ref and drops what Kubernetes refuses', async () => {
  const { toStructural } = await generator();
  const out = toStructural({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $defs: { port: { type: 'integer', minimum: 1 } },
    type: 'object',
    additionalProperties: false,
    properties: { a: { $ref: '#/$defs/port', description: 'a port' }, b: { type: ['string', 'integer'], pattern: 'x' } },
  });
  assert.deepEqual(out, {
    type: 'object',
    properties: {
      a: { type: 'integer', minimum: 1, description: 'a port' },
      b: { 'x-kubernetes-preserve-unknown-fields': true, description: '(one of: string, integer; checked by the controller)' },
    },
  });
});
