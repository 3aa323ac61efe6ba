/**
 * manifests/controlplane (the Helm chart for `cpln helm install`), checked without helm: each template
 * is template-stripped (control lines dropped, `{{ if A }}x{{ else }}y{{ end }}` → x, every other action
 * → a symbolic placeholder such as `<mo.name>` or `<.Values.a.b>`) and parsed as YAML. Checks: every
 * document is a cpln kind with a name; every `.Values` path and every `include` exists; names are
 * consistent (volumes, secrets, identities, policy targets refer to resources the chart defines or to
 * the documented prerequisite token secret); least privilege (per-identity policies, no targetQuery,
 * no edit/manage, the controller only views the Manticore workload and runs its own cron workload);
 * workload rules (reserved ports, forbidden mount paths, ≤ 15 volumes, no CPLN_* env, the right
 * subcommand per container); every env var a container gets is a setting the process reads; the table
 * specs in values.yaml pass the spec validator; every values key is documented in the chart README.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadAllYaml, loadYaml } from '@kubernetes/client-node';
import { AGENT_SETTINGS, CONTROLLER_SETTINGS } from '../../../src/config/settings.js';
import { repoRoot } from '../../../src/sim/launcher.js';
import { validateTableDocument } from '../../../src/spec/validate.js';

const root = repoRoot();
const chart = path.join(root, 'manifests', 'controlplane');
const CPLN_KINDS = new Set(['workload', 'volumeset', 'secret', 'identity', 'policy', 'gvc', 'domain', 'cloudaccount']);
const RESERVED_PORTS = new Set([8012, 8022, 9090, 9091, 15000, 15001, 15006, 15020, 15021, 15090, 41000]);
const FORBIDDEN_MOUNTS = new Set(['/dev', '/tmp', '/var', '/var/log']);
const WORKLOAD_PERMISSIONS = new Set(['view', 'exec.runCronWorkload']);

type Doc = Record<string, unknown>;
interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  ports?: { number: number | string }[];
  volumes?: { path: string; uri: string }[];
}

function placeholder(expr: string): string {
  const inner = expr.trim();
  const idLink = /^include "mo\.identityLink" .*include "([\w.]+)"/.exec(inner);
  if (idLink) return `/org/<.Values.global.cpln.org>/gvc/<.Values.global.cpln.gvc>/identity/<${idLink[1]}>`;
  const inc = /^include "([\w.]+)"/.exec(inner);
  if (inc) return `<${inc[1]}>`;
  const val = /\$?(\.Values(?:\.\w+)+)/.exec(inner);
  if (val) return `<${val[1]}>`;
  return `<${inner.replace(/[^A-Za-z0-9._-]+/g, '_')}>`;
}

/** Template → YAML text with placeholders (what the structure checks read). */
function stripTemplate(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\s*(\{\{-?[^}]*-?\}\}\s*)+$/.test(l)) // a line of template actions only
    .map((l) =>
      l
        .replace(/\{\{-?\s*if [^}]*\}\}(.*?)\{\{-?\s*else\s*-?\}\}.*?\{\{-?\s*end\s*-?\}\}/g, '$1')
        .replace(/\{\{-?\s*if [^}]*\}\}(.*?)\{\{-?\s*end\s*-?\}\}/g, '$1')
        .replace(/\{\{-?(.*?)-?\}\}/g, (_, e: string) => placeholder(e)),
    )
    .join('\n');
}

const templateFiles = readdirSync(path.join(chart, 'templates')).filter((f) => f.endsWith('.yaml'));
const helpers = readFileSync(path.join(chart, 'templates', '_helpers.tpl'), 'utf8');
const rawTemplates = new Map(templateFiles.map((f) => [f, readFileSync(path.join(chart, 'templates', f), 'utf8')]));
const values = loadYaml<Doc>(readFileSync(path.join(chart, 'values.yaml'), 'utf8'));

const docs: (Doc & { file: string })[] = [];
for (const [file, text] of rawTemplates) {
  for (const part of stripTemplate(text).split(/^---\s*$/m)) {
    if (part.trim() === '' || part.split('\n').every((l) => /^\s*(#.*)?$/.test(l))) continue;
    let parsed: unknown;
    try {
      parsed = loadAllYaml(part)[0];
    } catch (err) {
      assert.fail(`${file}: a document does not parse as YAML after template-stripping: ${String(err)}\n${part}`);
    }
    assert.ok(parsed && typeof parsed === 'object' && !Array.isArray(parsed), `${file}: a document is a mapping`);
    docs.push({ ...(parsed as Doc), file });
  }
}
const ofKind = (kind: string) => docs.filter((d) => d['kind'] === kind);
const names = (kind: string) => new Set(ofKind(kind).map((d) => String(d['name'])));
type Workload = Doc & { spec: { type: string; containers: Container[]; job?: Doc; defaultOptions: Doc; identityLink?: string }; tags?: Doc };
const allWorkloads = () => ofKind('workload') as unknown as Workload[];
const workload = (name: string): Workload => {
  const w = allWorkloads().find((d) => d['name'] === name);
  assert.ok(w, `workload ${name}`);
  return w;
};
/** the secret a `cpln://secret/<name>.payload` or `.<key>` reference names */
const secretRef = (uri: string | undefined) => /^cpln:\/\/secret\/(<[\w.]+>|[^.]+)\./.exec(uri ?? '')?.[1];

function getPath(obj: unknown, keys: string[]): unknown {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object' || !(k in (cur as Doc))) return undefined;
    cur = (cur as Doc)[k];
  }
  return cur;
}

test('Chart.yaml and values.yaml parse; Chart.yaml is a Helm v2 chart with a semver version', () => {
  const c = loadYaml<Doc>(readFileSync(path.join(chart, 'Chart.yaml'), 'utf8'));
  assert.equal(c['apiVersion'], 'v2');
  assert.equal(c['name'], 'manticore-orchestrator');
  assert.match(String(c['version']), /^\d+\.\d+\.\d+$/);
  assert.ok(c['appVersion']);
  assert.equal(typeof values, 'object');
});

test('every template document is a cpln kind with a name; the expected resources are there', () => {
  assert.ok(docs.length >= 10, `documents: ${docs.length}`);
  for (const d of docs) {
    assert.ok(CPLN_KINDS.has(String(d['kind'])), `${d.file}: kind ${String(d['kind'])} is a cpln kind`);
    assert.match(String(d['name']), /^(<[\w.]+>|[a-z<][\w.<>-]*)$/, `${d.file}: ${String(d['kind'])} has a name`);
  }
  assert.deepEqual([...names('workload')].sort(), ['<mo.backupName>', '<mo.controllerName>', '<mo.name>']);
  assert.deepEqual([...names('volumeset')].sort(), ['<mo.dataVolume>', '<mo.sharedVolume>']);
  assert.deepEqual([...names('identity')].sort(), ['<mo.backupIdentity>', '<mo.controllerIdentity>', '<mo.manticoreIdentity>']);
  for (const s of ['<mo.searchdConfigSecret>', '<mo.startSecret>', '<mo.tableSecret>', '<mo.tokenSecret>', '<mo.credentialsSecret>']) assert.ok(names('secret').has(s), `secret ${s}`);
  assert.equal(workload('<mo.name>').spec.type, 'stateful');
  assert.equal(workload('<mo.controllerName>').spec.type, 'standard');
  assert.equal(workload('<mo.backupName>').spec.type, 'cron');
});

test('every .Values path used exists in values.yaml; every include is defined in _helpers.tpl', () => {
  const defined = new Set([...helpers.matchAll(/define "([\w.]+)"/g)].map((m) => m[1]));
  for (const [file, text] of [...rawTemplates, ['_helpers.tpl', helpers] as const]) {
    for (const m of text.matchAll(/\.Values((?:\.\w+)+)/g)) {
      const keys = (m[1] ?? '').slice(1).split('.');
      assert.notEqual(getPath(values, keys), undefined, `${file}: .Values.${keys.join('.')} exists in values.yaml`);
    }
    for (const m of text.matchAll(/include "([\w.]+)"/g)) assert.ok(defined.has(m[1]), `${file}: include "${m[1]}" is defined`);
  }
});

test('references are consistent: volumes, secrets, identities and policy targets name resources of the chart', () => {
  const volumesets = names('volumeset');
  const secrets = names('secret');
  const identities = names('identity');
  const workloads = names('workload');
  const identityOf = (link: string) => /\/identity\/(<[\w.]+>)$/.exec(link)?.[1];
  for (const w of allWorkloads()) {
    const id = identityOf(w.spec.identityLink ?? '');
    assert.ok(id && identities.has(id), `${String(w['name'])}: identityLink names a chart identity (${String(id)})`);
    for (const c of w.spec.containers) {
      for (const v of c.volumes ?? []) {
        const vs = /^cpln:\/\/volumeset\/(.+)$/.exec(v.uri)?.[1];
        const sec = secretRef(v.uri);
        assert.ok((vs && volumesets.has(vs)) || (sec && secrets.has(sec)), `${String(w['name'])}/${c.name}: volume ${v.uri} is a chart volumeset or secret`);
      }
      for (const e of c.env ?? []) {
        const sec = secretRef(e.value);
        if (sec) assert.ok(secrets.has(sec), `${String(w['name'])}/${c.name}: env ${e.name} reads chart secret ${sec}`);
      }
    }
  }
  for (const p of ofKind('policy')) {
    const kind = String(p['targetKind']);
    assert.ok(kind === 'secret' || kind === 'workload', `${String(p['name'])}: targetKind secret or workload`);
    assert.equal(p['targetQuery'], undefined, `${String(p['name'])}: nothing org-wide`);
    for (const t of p['targetLinks'] as string[]) {
      const target = kind === 'secret' ? /^\/\/secret\/(.+)$/.exec(t)?.[1] : /^\/\/gvc\/<\.Values\.global\.cpln\.gvc>\/workload\/(.+)$/.exec(t)?.[1];
      assert.ok(target && (kind === 'secret' ? secrets : workloads).has(target), `${String(p['name'])}: target ${t} is in the chart`);
    }
    for (const b of p['bindings'] as { permissions: string[]; principalLinks: string[] }[]) {
      assert.equal(b.principalLinks.length, 1, `${String(p['name'])}: one identity per policy`);
      for (const l of b.principalLinks) assert.ok(identities.has(identityOf(l) ?? ''), `${String(p['name'])}: principal ${l} is a chart identity`);
      if (kind === 'secret') assert.deepEqual(b.permissions, ['reveal'], `${String(p['name'])}: secrets are only revealed`);
      else for (const perm of b.permissions) assert.ok(WORKLOAD_PERMISSIONS.has(perm), `${String(p['name'])}: ${perm} is view or exec.runCronWorkload (no edit, no manage)`);
    }
  }
});

test('least privilege: each identity reveals only the secrets its workload reads; the controller views the Manticore workload and runs only its backup cron workload', () => {
  const grants = new Map<string, { kind: string; targets: string[]; permissions: string[] }[]>();
  for (const p of ofKind('policy')) {
    for (const b of p['bindings'] as { permissions: string[]; principalLinks: string[] }[]) {
      for (const l of b.principalLinks) {
        const id = /\/identity\/(<[\w.]+>)$/.exec(l)?.[1] ?? '';
        grants.set(id, [...(grants.get(id) ?? []), { kind: String(p['targetKind']), targets: (p['targetLinks'] as string[]).map((t) => t.replace(/^.*\//, '')), permissions: b.permissions }]);
      }
    }
  }
  for (const w of allWorkloads()) {
    const id = /\/identity\/(<[\w.]+>)$/.exec(w.spec.identityLink ?? '')?.[1] ?? '';
    const used = new Set<string>();
    for (const c of w.spec.containers) {
      for (const v of c.volumes ?? []) {
        const s = secretRef(v.uri);
        if (s) used.add(s);
      }
      for (const e of c.env ?? []) {
        const s = secretRef(e.value);
        if (s) used.add(s);
      }
    }
    const revealed = new Set((grants.get(id) ?? []).filter((g) => g.kind === 'secret').flatMap((g) => g.targets));
    assert.deepEqual([...revealed].sort(), [...used].sort(), `${String(w['name'])}: revealed secrets = the secrets it reads`);
  }
  const controller = (grants.get('<mo.controllerIdentity>') ?? []).filter((g) => g.kind === 'workload');
  assert.deepEqual(
    controller.map((g) => [g.targets.join(','), g.permissions.join(',')]).sort(),
    [
      ['<mo.backupName>', 'view,exec.runCronWorkload'],
      ['<mo.name>', 'view'],
    ],
  );
  for (const id of ['<mo.manticoreIdentity>', '<mo.backupIdentity>']) assert.ok(!(grants.get(id) ?? []).some((g) => g.kind === 'workload'), `${id} has no workload permission`);
});

test('workloads: reserved ports, mount paths, volume counts, CPLN_* env, subcommands, stateful tags, cron schedule', () => {
  for (const w of allWorkloads()) {
    for (const c of w.spec.containers) {
      for (const p of c.ports ?? []) if (typeof p.number === 'number') assert.ok(!RESERVED_PORTS.has(p.number), `${c.name}: port ${p.number} is not reserved by cpln`);
      assert.ok((c.volumes ?? []).length <= 15, `${c.name}: at most 15 volumes`);
      for (const v of c.volumes ?? []) assert.ok(!FORBIDDEN_MOUNTS.has(v.path), `${c.name}: mount path ${v.path} is allowed`);
      for (const e of c.env ?? []) assert.ok(!e.name.startsWith('CPLN_'), `${c.name}: env ${e.name} does not use the reserved CPLN_ prefix`);
    }
  }
  // one uid and volume group everywhere: the containers share files on the volumes
  for (const w of allWorkloads()) {
    assert.deepEqual((w.spec as unknown as Doc)['securityOptions'], { runAsUser: '<.Values.securityOptions.runAsUser>', filesystemGroupId: '<.Values.securityOptions.filesystemGroupId>' }, `${String(w['name'])}: securityOptions`);
  }
  const mc = workload('<mo.name>');
  assert.equal(mc.tags?.['cpln/publishNotReadyAddresses'], 'true');
  assert.deepEqual(mc.spec.containers.map((c) => c.name), ['manticore', 'agent']);
  assert.match(String((mc.spec.containers[0] as unknown as Doc)['image']), /^<\.Values\.manticore\.image>$/);
  assert.deepEqual(mc.spec.containers[1]?.args, ['agent']);
  assert.deepEqual(workload('<mo.controllerName>').spec.containers[0]?.args, ['controller']);
  const backup = workload('<mo.backupName>');
  assert.deepEqual(backup.spec.containers[0]?.args, ['job']);
  assert.equal(backup.spec.containers[0]?.name, 'backup', 'the container the controller overrides (BACKUP_CONTAINER)');
  assert.ok(backup.spec.job?.['schedule'], 'a cron workload has a schedule');
  assert.equal(backup.spec.job?.['concurrencyPolicy'], 'Forbid');
  // every container that shares data mounts the shared volumeset at the same path
  for (const w of [mc, workload('<mo.controllerName>'), backup]) {
    for (const c of w.spec.containers) assert.ok((c.volumes ?? []).some((v) => v.path === '/mnt/shared' && v.uri === 'cpln://volumeset/<mo.sharedVolume>'), `${c.name} mounts the shared volume at /mnt/shared`);
  }
});

test('every env var a container gets is one its process reads', () => {
  const envOf = (docs: Record<string, { env: readonly string[] }>) => new Set(Object.values(docs).flatMap((d) => d.env));
  const controllerEnv = envOf(CONTROLLER_SETTINGS);
  const agentEnv = envOf(AGENT_SETTINGS);
  const jobSource = readFileSync(path.join(root, 'src', 'config', 'job.ts'), 'utf8');
  const jobEnv = new Set([...jobSource.matchAll(/(?:required|get|port)\('([A-Z_]+)'/g)].map((m) => m[1] ?? ''));
  const aws = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
  const check = (w: string, c: string, known: Set<string>) => {
    const container = workload(w).spec.containers.find((x) => x.name === c);
    assert.ok(container, `${w}/${c}`);
    for (const e of container.env ?? []) assert.ok(known.has(e.name) || aws.has(e.name), `${w}/${c}: ${e.name} is a setting it reads`);
  };
  check('<mo.controllerName>', 'controller', controllerEnv);
  check('<mo.name>', 'agent', agentEnv);
  check('<mo.backupName>', 'backup', jobEnv);
  // the start script reads these two
  const manticore = workload('<mo.name>').spec.containers.find((x) => x.name === 'manticore');
  assert.deepEqual(manticore?.env?.map((e) => e.name).sort(), ['AGENT_PORT', 'AGENT_TOKEN']);
  assert.ok(jobEnv.has('ACTION') && jobEnv.has('MANTICORE_HOST'), 'job env names were read from src/config/job.ts');
});

test('the start script asks the start gate before starting searchd and reports the start', () => {
  const secret = ofKind('secret').find((d) => d['name'] === '<mo.startSecret>');
  const script = String((secret?.['data'] as Doc | undefined)?.['payload'] ?? '');
  assert.match(script, /^#!\/usr\/bin\/env bash/);
  const gate = script.indexOf('agent GET /v1/start');
  const start = script.indexOf('searchd --config "$RUNTIME" --nodetach');
  const started = script.indexOf('agent POST /v1/start/started');
  assert.ok(gate > 0 && start > gate && started > start, 'gate → searchd → started, in that order');
  for (const mode of ['normal', 'new-cluster', 'new-cluster-force', 'hold']) assert.match(script, new RegExp(`\\b${mode}\\)`), `handles ${mode}`);
  assert.match(script, /--stopwait/);
  assert.match(script, /node_address = \$\{MY_FQDN\}/);
});

test('the table specs in values.yaml pass the spec validator; every values key is documented in the chart README', () => {
  for (const [i, t] of (values['tables'] as unknown[]).entries()) {
    const r = validateTableDocument(t, { kind: 'file', ref: `values.yaml tables[${i}]` });
    assert.deepEqual(r.problems, [], `tables[${i}] is a valid spec`);
  }
  const readme = readFileSync(path.join(chart, 'README.md'), 'utf8');
  const leaves: string[] = [];
  const walk = (o: unknown, prefix: string) => {
    if (o && typeof o === 'object' && !Array.isArray(o) && Object.keys(o).length > 0) for (const [k, v] of Object.entries(o)) walk(v, prefix ? `${prefix}.${k}` : k);
    else leaves.push(prefix);
  };
  walk(values, '');
  for (const key of leaves) assert.ok(readme.includes(`\`${key}\``), `README documents \`${key}\``);
});
