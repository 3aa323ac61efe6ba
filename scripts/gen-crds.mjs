// Generates the Kubernetes CRDs (manifests/kubernetes/crds/*.yaml) from the JSON Schemas in schemas/,
// the one source of truth for what users may write. Run: `node scripts/gen-crds.mjs` (no build needed);
// `node scripts/gen-crds.mjs --check` exits 1 when a committed CRD differs. test/unit/manifests/crds.test.ts
// fails in the same case.
//
// JSON Schema 2020-12 → the structural-schema subset Kubernetes accepts (apiextensions.k8s.io/v1):
// - $ref to #/$defs/... is inlined; $schema, $id, $defs, title and examples are dropped;
// - additionalProperties: false is dropped (Kubernetes forbids it beside properties; unknown fields are
//   pruned by the API server and rejected by kubectl's strict field validation);
// - `default` moves into the description: the API server would write defaults into every object, and
//   some keys are valid only when meant (workers/batchSize need importMethod bulk); the controller
//   applies the defaults itself after validation, as it does for files;
// - a node with several types (`"type": ["string", "array"]`) keeps only its description and gets
//   x-kubernetes-preserve-unknown-fields: true (the controller validates it with the full schema);
// - in ManticoreTable `spec`, `name` becomes optional (the controller defaults it to metadata.name with
//   '-' replaced by '_') and the document-only keys $schema, apiVersion and kind are dropped.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const GROUP = 'manticore.orchestrator.dev';
export const VERSION = 'v1alpha1';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = path.join(ROOT, 'manifests', 'kubernetes', 'crds');

const DROPPED = new Set(['$schema', '$id', '$defs', 'definitions', 'title', 'examples', '$comment']);
const TYPE_SPECIFIC = new Set(['minLength', 'maxLength', 'pattern', 'format', 'minItems', 'maxItems', 'items', 'properties', 'required', 'minimum', 'maximum', 'enum', 'default']);

function resolveRef(root, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local $ref are supported, not ${ref}`);
  let node = root;
  for (const part of ref.slice(2).split('/')) node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  if (node === undefined) throw new Error(`$ref ${ref} does not resolve`);
  return node;
}

/** One JSON Schema node → its structural OpenAPI v3 form. */
export function toStructural(node, root = node, depth = 0) {
  if (depth > 50) throw new Error('schema nesting too deep (a recursive $ref?)');
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
  if (typeof node.$ref === 'string') {
    const { $ref, ...rest } = node;
    return toStructural({ ...resolveRef(root, $ref), ...rest }, root, depth + 1);
  }
  const out = {};
  const multiType = Array.isArray(node.type) && node.type.length > 1;
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key)) continue;
    if (key === 'additionalProperties' && value === false) continue;
    if (key === 'default') continue; // see below
    if (multiType && (TYPE_SPECIFIC.has(key) || key === 'type')) continue;
    if (key === 'type' && Array.isArray(value)) {
      out.type = value[0];
      continue;
    }
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toStructural(v, root, depth + 1)]));
      continue;
    }
    if (key === 'items' || key === 'not' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = toStructural(value, root, depth + 1);
      continue;
    }
    if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = value.map((v) => toStructural(v, root, depth + 1));
      continue;
    }
    out[key] = value;
  }
  // defaults are not given to the API server: it would write them into every object, and the spec
  // validation treats some keys as present-only-when-meant (workers/batchSize need importMethod bulk);
  // the controller applies the defaults itself, as for files. They stay visible in kubectl explain.
  if ('default' in node && !multiType) out.description = `${node.description ?? ''}${node.description ? ' ' : ''}(default: ${JSON.stringify(node.default)})`;
  if (multiType) {
    out['x-kubernetes-preserve-unknown-fields'] = true;
    out.description = `${node.description ?? ''}${node.description ? ' ' : ''}(one of: ${node.type.join(', ')}; checked by the controller)`;
  }
  return out;
}

const CONDITIONS = {
  type: 'array',
  description: 'Kubernetes-style conditions the controller sets (TablesConverged, MixedSlots, SpecInvalid, ...)',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  items: {
    type: 'object',
    required: ['type', 'status'],
    properties: {
      type: { type: 'string' },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      reason: { type: 'string' },
      message: { type: 'string' },
      lastTransitionTime: { type: 'string', format: 'date-time' },
      observedGeneration: { type: 'integer', format: 'int64' },
    },
  },
};

const OPERATION = (what) => ({
  type: 'object',
  description: `the last ${what} operation of this table`,
  properties: {
    operationId: { type: 'string' },
    state: { type: 'string', description: 'pending, running, succeeded, failed or cancelled' },
    requestedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    message: { type: 'string', description: 'the outcome, or the error of a failed operation' },
  },
});

const TABLE_STATUS = {
  type: 'object',
  description: 'written by the controller through the status subresource',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64', description: 'metadata.generation of the spec the controller last applied' },
    table: { type: 'string', description: 'the base table name the controller manages for this object' },
    activeSlot: { type: 'string', enum: ['a', 'b'], description: 'the main slot the distributed table serves' },
    ready: { type: 'string', enum: ['True', 'False', 'Unknown'], description: 'True when the spec is valid and the table converged on every node' },
    conditions: CONDITIONS,
    lastImport: OPERATION('import'),
    lastBackup: OPERATION('backup'),
  },
};

const SCHEDULE_STATUS = {
  type: 'object',
  description: 'written by the controller through the status subresource',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    conditions: CONDITIONS,
    lastBackup: OPERATION('scheduled backup'),
  },
};

function readSchema(file) {
  return JSON.parse(readFileSync(path.join(ROOT, 'schemas', file), 'utf8'));
}

function crd({ kind, plural, singular, shortNames, spec, status, columns, description }) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'manticore-orchestrator', 'app.kubernetes.io/part-of': 'manticore-orchestrator' },
    },
    spec: {
      group: GROUP,
      names: { kind, listKind: `${kind}List`, plural, singular, shortNames, categories: ['manticore'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [...columns, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec,
                status,
              },
            },
          },
        },
      ],
    },
  };
}

/** The ManticoreTable spec schema: the table schema without its document-only keys, `name` optional. */
export function tableSpecSchema() {
  const schema = toStructural(readSchema('table.schema.json'));
  for (const key of ['$schema', 'apiVersion', 'kind']) delete schema.properties[key];
  schema.required = (schema.required ?? []).filter((k) => k !== 'name');
  schema.properties.name = {
    ...schema.properties.name,
    description: `${schema.properties.name.description}; optional here: defaults to metadata.name with '-' replaced by '_'`,
  };
  return schema;
}

export function backupScheduleSpecSchema() {
  return toStructural(readSchema('backup-schedule.schema.json'));
}

/** Every CRD: file name → object. */
export function buildCrds() {
  return {
    'manticoretables.yaml': crd({
      kind: 'ManticoreTable',
      plural: 'manticoretables',
      singular: 'manticoretable',
      shortNames: ['mtable'],
      description: 'A table the Manticore Orchestrator keeps on every node (schemas/table.schema.json)',
      spec: tableSpecSchema(),
      status: TABLE_STATUS,
      columns: [
        { name: 'Slot', type: 'string', jsonPath: '.status.activeSlot', description: 'active main slot' },
        { name: 'Ready', type: 'string', jsonPath: '.status.ready' },
        { name: 'Last Import', type: 'date', jsonPath: '.status.lastImport.finishedAt' },
        { name: 'Import State', type: 'string', jsonPath: '.status.lastImport.state', priority: 1 },
        { name: 'Last Backup', type: 'date', jsonPath: '.status.lastBackup.finishedAt', priority: 1 },
      ],
    }),
    'manticorebackupschedules.yaml': crd({
      kind: 'ManticoreBackupSchedule',
      plural: 'manticorebackupschedules',
      singular: 'manticorebackupschedule',
      shortNames: ['mbs'],
      description: 'A scheduled physical backup of a managed table (schemas/backup-schedule.schema.json)',
      spec: backupScheduleSpecSchema(),
      status: SCHEDULE_STATUS,
      columns: [
        { name: 'Table', type: 'string', jsonPath: '.spec.table' },
        { name: 'Type', type: 'string', jsonPath: '.spec.type' },
        { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
        { name: 'Last Backup', type: 'date', jsonPath: '.status.lastBackup.finishedAt' },
      ],
    }),
  };
}

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
const RESERVED = /^(?:true|false|yes|no|on|off|null|y|n|~)$/i;

function scalar(value) {
  if (value === null) return 'null';
  if (typeof value === 'string') return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

/**
 * A small deterministic YAML emitter (block style; strings that are not plain words are written as
 * JSON strings, which YAML reads the same), so the CRDs need no YAML library.
 */
export function toYaml(value, indent = '') {
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []';
    return value
      .map((item) => {
        const body = toYaml(item, `${indent}  `);
        return item !== null && typeof item === 'object' && Object.keys(item).length > 0 ? `\n${indent}- ${body.trimStart()}` : `\n${indent}-${body}`;
      })
      .join('');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return ' {}';
    return entries.map(([k, v]) => `\n${indent}${scalar(k)}:${toYaml(v, `${indent}  `)}`).join('');
  }
  return ` ${scalar(value)}`;
}

const HEADER = '# Generated by scripts/gen-crds.mjs from schemas/*.json: do not edit; run `node scripts/gen-crds.mjs`.\n';

/** Every CRD: file name → YAML text, as committed under manifests/kubernetes/crds/. */
export function renderCrds() {
  return Object.fromEntries(
    Object.entries(buildCrds()).map(([file, obj]) => [file, `${HEADER}${toYaml(obj).slice(1)}\n`]),
  );
}

export const CRD_DIR = OUT_DIR;

function main() {
  const check = process.argv.includes('--check');
  const rendered = renderCrds();
  let stale = 0;
  mkdirSync(OUT_DIR, { recursive: true });
  for (const [file, text] of Object.entries(rendered)) {
    const target = path.join(OUT_DIR, file);
    let current;
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    stale++;
    if (check) console.error(`${path.relative(ROOT, target)} differs from schemas/: run node scripts/gen-crds.mjs`);
    else writeFileSync(target, text);
  }
  if (check && stale > 0) process.exit(1);
  console.log(check ? 'CRDs are up to date' : `CRDs written to ${path.relative(ROOT, OUT_DIR)} (${stale} changed)`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
