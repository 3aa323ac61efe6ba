/**
 * Every manifest under manifests/kubernetes/ parses and holds together: apiVersion/kind/metadata, label
 * selectors that select the pods they mean, the headless Service the StatefulSet names, probes on
 * declared ports, namespaced RBAC granting what the driver calls and nothing cluster-wide, the agent's
 * service account without a token, the example ManticoreTable valid against the CRD schema (ajv) and
 * the controller's own validation, and kustomization.yaml listing every resource. `kubectl kustomize`
 * renders the set when kubectl is installed (client-side `--dry-run` needs an API server for schemas,
 * so schema checks are structural here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { repoRoot } from '../../../src/sim/launcher.js';
import { validateTableDocument } from '../../../src/spec/validate.js';

// ---------------------------------------------------------------------------------------------
// a minimal YAML loader: the subset these manifests use (block mappings and sequences, plain, quoted
// and JSON-flow scalars, literal blocks, comments, `---` documents)

type Yaml = null | boolean | number | string | Yaml[] | { [k: string]: Yaml };

interface Line {
  indent: number;
  text: string;
  no: number;
}

function stripComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || text[i - 1] === ' ')) return text.slice(0, i).trimEnd();
  }
  return text;
}

function scalar(raw: string, where: string): Yaml {
  const t = raw.trim();
  if (t === '' || t === '~' || t === 'null') return null;
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t.startsWith('"')) return JSON.parse(t) as string;
  if (t.startsWith("'")) {
    if (!t.endsWith("'")) throw new Error(`${where}: unterminated quoted string`);
    return t.slice(1, -1).replace(/''/g, "'");
  }
  if (t.startsWith('[') || t.startsWith('{')) return JSON.parse(t) as Yaml;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return t;
}

/** Splits `key: value` (key plain or quoted); undefined when the text is not a mapping entry. */
function splitKey(text: string): { key: string; rest: string } | undefined {
  if (text.startsWith('"')) {
    const end = text.indexOf('"', 1);
    if (end > 0 && text[end + 1] === ':') return { key: JSON.parse(text.slice(0, end + 1)) as string, rest: text.slice(end + 2) };
    return undefined;
  }
  const m = /^([^\s:'"[\]{}#,][^:]*?):(?:\s+(.*))?$/.exec(text);
  return m === null ? undefined : { key: m[1]!, rest: m[2] ?? '' };
}

class YamlDoc {
  private i = 0;
  constructor(
    private readonly raw: string[],
    private readonly lines: Line[],
    private readonly file: string,
  ) {}

  static parse(text: string, file: string): Yaml {
    const raw = text.split('\n');
    const lines: Line[] = [];
    raw.forEach((l, no) => {
      const body = stripComment(l);
      if (body.trim() === '') return;
      lines.push({ indent: body.length - body.trimStart().length, text: body.trim(), no });
    });
    if (lines.length === 0) return null;
    const doc = new YamlDoc(raw, lines, file);
    const value = doc.node(lines[0]!.indent);
    if (doc.i < lines.length) throw new Error(`${file}:${lines[doc.i]!.no + 1}: unexpected indentation`);
    return value;
  }

  private where(line: Line): string {
    return `${this.file}:${line.no + 1}`;
  }

  private node(indent: number): Yaml {
    const line = this.lines[this.i]!;
    return line.text === '-' || line.text.startsWith('- ') ? this.sequence(line.indent) : this.mapping(indent);
  }

  private sequence(indent: number): Yaml[] {
    const out: Yaml[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.indent !== indent || !(line.text === '-' || line.text.startsWith('- '))) break;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.i++;
        out.push(this.node(this.lines[this.i]!.indent));
      } else if (splitKey(rest) !== undefined && !rest.startsWith('"')) {
        // `- key: value`: a mapping whose entries are indented past the dash
        this.lines[this.i] = { indent: indent + 2, text: rest, no: line.no };
        out.push(this.mapping(indent + 2));
      } else {
        this.i++;
        out.push(scalar(rest, this.where(line)));
      }
    }
    return out;
  }

  private mapping(indent: number): { [k: string]: Yaml } {
    const out: { [k: string]: Yaml } = {};
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.indent < indent) break;
      if (line.indent > indent) throw new Error(`${this.where(line)}: unexpected indentation`);
      if (line.text.startsWith('- ')) break;
      const kv = splitKey(line.text);
      if (kv === undefined) throw new Error(`${this.where(line)}: expected 'key: value'`);
      if (kv.key in out) throw new Error(`${this.where(line)}: duplicate key ${kv.key}`);
      this.i++;
      if (kv.rest === '|' || kv.rest === '|-') {
        out[kv.key] = this.literal(line, kv.rest === '|-');
      } else if (kv.rest !== '') {
        out[kv.key] = scalar(kv.rest, this.where(line));
      } else {
        const next = this.lines[this.i];
        if (next !== undefined && (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')))) out[kv.key] = this.node(next.indent);
        else out[kv.key] = null;
      }
    }
    return out;
  }

  /** A literal block: the raw lines (comments and blank lines included) indented past its key. */
  private literal(keyLine: Line, chomp: boolean): string {
    const body: string[] = [];
    let n = keyLine.no + 1;
    let blockIndent: number | undefined;
    for (; n < this.raw.length; n++) {
      const l = this.raw[n]!;
      if (l.trim() === '') {
        body.push('');
        continue;
      }
      const ind = l.length - l.trimStart().length;
      if (ind <= keyLine.indent) break;
      blockIndent ??= ind;
      body.push(l.slice(blockIndent));
    }
    while (this.i < this.lines.length && this.lines[this.i]!.no < n) this.i++;
    while (body.length > 0 && body[body.length - 1] === '') body.pop();
    return `${body.join('\n')}${chomp ? '' : '\n'}`;
  }
}

function loadAll(text: string, file: string): Yaml[] {
  return text
    .split(/^---[ \t]*$/m)
    .map((part, n) => YamlDoc.parse(part, `${file}#${n}`))
    .filter((d) => d !== null);
}

// ---------------------------------------------------------------------------------------------

const DIR = path.join(repoRoot(), 'manifests', 'kubernetes');

type Obj = { [k: string]: Yaml };

interface Manifest {
  file: string;
  obj: Obj;
}

function get(o: Yaml | undefined, ...keys: string[]): Yaml | undefined {
  let cur: Yaml | undefined = o;
  for (const k of keys) {
    if (cur === null || cur === undefined || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const p = path.join(dir, name);
      return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(name) ? [p] : [];
    })
    .sort();
}

function load(): Manifest[] {
  return yamlFiles(DIR).flatMap((file) => loadAll(readFileSync(file, 'utf8'), path.relative(DIR, file)).map((obj) => ({ file: path.relative(DIR, file), obj: obj as Obj })));
}

const manifests = load();
const deployed = manifests.filter((m) => m.file !== 'secrets.example.yaml' && !m.file.startsWith('examples/') && m.obj.kind !== 'Kustomization');
const byKind = (kind: string): Manifest[] => deployed.filter((m) => m.obj.kind === kind);
const named = (kind: string, name: string): Manifest | undefined => byKind(kind).find((m) => get(m.obj, 'metadata', 'name') === name);

function labels(o: Yaml | undefined): Record<string, string> {
  return (o ?? {}) as Record<string, string>;
}

function selects(selector: Record<string, string>, podLabels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => podLabels[k] === v);
}

/** Pod templates of the workloads, and Jobs' labels as the driver writes them. */
function podLabelSets(): Array<{ what: string; labels: Record<string, string> }> {
  const out = [...byKind('StatefulSet'), ...byKind('Deployment')].map((m) => ({ what: `${m.obj.kind as string}/${get(m.obj, 'metadata', 'name') as string}`, labels: labels(get(m.obj, 'spec', 'template', 'metadata', 'labels')) }));
  out.push({ what: 'Job', labels: { 'app.kubernetes.io/name': 'manticore-orchestrator', 'app.kubernetes.io/component': 'orchestrator-job', 'app.kubernetes.io/instance': 'manticore' } });
  return out;
}

test('every manifest parses and has apiVersion, kind and metadata.name', () => {
  assert.ok(manifests.length >= 15, `found ${manifests.length} objects`);
  for (const { file, obj } of manifests) {
    if (obj.kind === 'Kustomization') continue;
    assert.equal(typeof obj.apiVersion, 'string', `${file}: apiVersion`);
    assert.equal(typeof obj.kind, 'string', `${file}: kind`);
    assert.equal(typeof get(obj, 'metadata', 'name'), 'string', `${file}: metadata.name`);
    assert.match(get(obj, 'metadata', 'name') as string, /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, `${file}: metadata.name is a DNS name`);
  }
  const kinds = new Set(deployed.map((m) => m.obj.kind));
  for (const k of ['CustomResourceDefinition', 'ServiceAccount', 'Role', 'RoleBinding', 'StatefulSet', 'Service', 'Deployment', 'PodDisruptionBudget', 'NetworkPolicy', 'ConfigMap']) {
    assert.ok(kinds.has(k), `a ${k} is deployed`);
  }
});

test('kustomization.yaml lists every deployed file (and not the Secret templates or examples)', () => {
  const kust = manifests.find((m) => m.obj.kind === 'Kustomization');
  assert.ok(kust !== undefined);
  const resources = (kust.obj.resources as string[]).slice().sort();
  const files = [...new Set(deployed.map((m) => m.file))].sort();
  assert.deepEqual(resources, files);
});

test('workloads: selectors match their pod templates, containers have images, probes name declared ports', () => {
  for (const m of [...byKind('StatefulSet'), ...byKind('Deployment')]) {
    const name = `${m.obj.kind as string}/${get(m.obj, 'metadata', 'name') as string}`;
    assert.ok(selects(labels(get(m.obj, 'spec', 'selector', 'matchLabels')), labels(get(m.obj, 'spec', 'template', 'metadata', 'labels'))), `${name}: selector matches the template`);
    const containers = get(m.obj, 'spec', 'template', 'spec', 'containers') as Obj[];
    assert.ok(containers.length > 0, name);
    for (const c of containers) {
      assert.equal(typeof c.image, 'string', `${name}/${c.name as string}: image`);
      const ports = new Set(((c.ports ?? []) as Obj[]).flatMap((p) => [p.name, p.containerPort]));
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const port = get(c, probe, 'httpGet', 'port') ?? get(c, probe, 'tcpSocket', 'port');
        if (port !== undefined) assert.ok(ports.has(port as string), `${name}/${c.name as string}: ${probe} port ${String(port)} is declared`);
      }
    }
  }
});

test('the StatefulSet: headless Service with publishNotReadyAddresses, agent readiness on /v1/ready (not liveness), volume claims, no token', () => {
  const sts = named('StatefulSet', 'manticore')!;
  assert.ok(sts !== undefined);
  const svc = named('Service', get(sts.obj, 'spec', 'serviceName') as string);
  assert.ok(svc !== undefined, 'serviceName names a Service');
  assert.equal(get(svc.obj, 'spec', 'clusterIP'), 'None');
  assert.equal(get(svc.obj, 'spec', 'publishNotReadyAddresses'), true);
  assert.ok(selects(labels(get(svc.obj, 'spec', 'selector')), labels(get(sts.obj, 'spec', 'template', 'metadata', 'labels'))));
  assert.equal(get(sts.obj, 'spec', 'podManagementPolicy'), 'Parallel', 'the start gate orders searchd; OrderedReady would deadlock a full restart');
  const pod = get(sts.obj, 'spec', 'template', 'spec') as Obj;
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(get(named('ServiceAccount', pod.serviceAccountName as string)?.obj, 'automountServiceAccountToken'), false, 'the agent SA mounts no token');
  const containers = pod.containers as Obj[];
  const manticore = containers.find((c) => c.name === 'manticore')!;
  const agent = containers.find((c) => c.name === 'agent')!;
  assert.match(manticore.image as string, /^manticoresearch\/manticore:/, 'the community image');
  assert.equal(manticore.livenessProbe, undefined, 'no liveness on searchd: holding at the gate is legitimate');
  assert.equal(get(agent, 'readinessProbe', 'httpGet', 'path'), '/v1/ready');
  assert.notEqual(get(agent, 'livenessProbe', 'httpGet', 'path'), '/v1/ready', '/v1/ready is 503 while holding: never liveness');
  const claims = (get(sts.obj, 'spec', 'volumeClaimTemplates') as Obj[]).map((c) => get(c, 'metadata', 'name'));
  for (const c of containers) {
    const mount = ((c.volumeMounts ?? []) as Obj[]).find((v) => v.mountPath === '/var/lib/manticore');
    assert.ok(mount !== undefined && claims.includes(mount.name as string), `${c.name as string} mounts the data claim`);
  }
  // the start script is mounted from the ConfigMap and asks the agent's start gate
  const cm = named('ConfigMap', 'manticore-start')!;
  const script = get(cm.obj, 'data', 'start.sh') as string;
  assert.match(script, /^#!\/bin\/bash\n/);
  assert.match(script, /\/v1\/start\b/);
  assert.match(script, /\/v1\/start\/started/);
  assert.match(script, /node_address = \$\{FQDN\}/);
  assert.match(script, /--stopwait/);
  const volumes = pod.volumes as Obj[];
  assert.equal(get(volumes.find((v) => v.name === 'start'), 'configMap', 'name'), 'manticore-start');
});

test('the controller: 2 replicas, PLATFORM=kubernetes with its identity from the downward API, token from the Secret', () => {
  const dep = named('Deployment', 'manticore-orchestrator')!;
  assert.equal(get(dep.obj, 'spec', 'replicas'), 2);
  const pod = get(dep.obj, 'spec', 'template', 'spec') as Obj;
  const c = (pod.containers as Obj[])[0]!;
  const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name as string, e.value ?? e.valueFrom]));
  assert.equal(env.PLATFORM, 'kubernetes');
  assert.deepEqual(env.POD_NAME, { fieldRef: { fieldPath: 'metadata.name' } });
  assert.deepEqual(env.POD_IP, { fieldRef: { fieldPath: 'status.podIP' } });
  assert.deepEqual(env.ORCHESTRATOR_TOKEN, { secretKeyRef: { name: 'manticore-orchestrator-token', key: 'token' } });
  assert.equal(env.K8S_STATEFULSET, get(named('StatefulSet', 'manticore')?.obj, 'metadata', 'name'));
  assert.ok(named('Role', 'manticore-orchestrator') !== undefined);
  assert.equal(pod.serviceAccountName, 'manticore-orchestrator');
  const svc = named('Service', 'manticore-orchestrator')!;
  assert.ok(selects(labels(get(svc.obj, 'spec', 'selector')), labels(get(dep.obj, 'spec', 'template', 'metadata', 'labels'))));
});

test('the shared volume is one claim mounted at <controller data dir>/shared in the controller and every Manticore container', () => {
  const dep = named('Deployment', 'manticore-orchestrator')!;
  const c = (get(dep.obj, 'spec', 'template', 'spec', 'containers') as Obj[])[0]!;
  const dataDir = (c.env as Obj[]).find((e) => e.name === 'ORCHESTRATOR_DATA_DIR')?.value as string;
  const sharedPath = `${dataDir}/shared`;
  const claimOf = (pod: Obj, volume: string): Yaml | undefined => get((pod.volumes as Obj[]).find((v) => v.name === volume), 'persistentVolumeClaim', 'claimName');
  const sts = named('StatefulSet', 'manticore')!;
  for (const m of [dep, sts]) {
    const pod = get(m.obj, 'spec', 'template', 'spec') as Obj;
    for (const container of pod.containers as Obj[]) {
      const mount = ((container.volumeMounts ?? []) as Obj[]).find((v) => v.mountPath === sharedPath);
      assert.ok(mount !== undefined, `${container.name as string} mounts ${sharedPath}`);
      assert.equal(claimOf(pod, mount.name as string), 'manticore-shared');
    }
  }
  const pvc = named('PersistentVolumeClaim', 'manticore-shared')!;
  assert.deepEqual(get(pvc.obj, 'spec', 'accessModes'), ['ReadWriteMany']);
});

test('PodDisruptionBudgets and NetworkPolicies select existing pods; agents are reachable only from the controller and Jobs', () => {
  const pods = podLabelSets();
  for (const m of [...byKind('PodDisruptionBudget'), ...byKind('NetworkPolicy')]) {
    const sel = labels(get(m.obj, 'spec', m.obj.kind === 'NetworkPolicy' ? 'podSelector' : 'selector', 'matchLabels'));
    assert.ok(pods.some((p) => selects(sel, p.labels)), `${m.obj.kind as string}/${get(m.obj, 'metadata', 'name') as string} selects pods`);
  }
  const np = named('NetworkPolicy', 'manticore')!;
  const rules = get(np.obj, 'spec', 'ingress') as Obj[];
  const agentRule = rules.find((r) => (r.ports as Obj[]).some((p) => p.port === 8080))!;
  const from = (agentRule.from as Obj[]).map((f) => labels(get(f, 'podSelector', 'matchLabels')));
  assert.ok(from.every((sel) => Object.keys(sel).length > 0), 'no namespace-wide access to the agents');
  const allowed = pods.filter((p) => from.some((sel) => selects(sel, p.labels))).map((p) => p.what).sort();
  assert.deepEqual(allowed, ['Deployment/manticore-orchestrator', 'Job']);
  const repl = rules.find((r) => (r.ports as Obj[]).some((p) => p.port === 9322))!;
  const replFrom = (repl.from as Obj[]).map((f) => labels(get(f, 'podSelector', 'matchLabels')));
  assert.deepEqual(pods.filter((p) => replFrom.some((sel) => selects(sel, p.labels))).map((p) => p.what), ['StatefulSet/manticore'], 'replication only between Manticore pods');
});

test('RBAC is namespaced, least privilege, and grants every call the Kubernetes driver makes', () => {
  assert.equal(manifests.filter((m) => m.obj.kind === 'ClusterRole' || m.obj.kind === 'ClusterRoleBinding').length, 0, 'no cluster-wide RBAC');
  const role = named('Role', 'manticore-orchestrator')!;
  const rules = get(role.obj, 'rules') as Obj[];
  const allowedVerbs = new Set(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']);
  for (const r of rules) {
    for (const v of r.verbs as string[]) assert.ok(allowedVerbs.has(v), `verb ${v}`);
    for (const res of r.resources as string[]) assert.notEqual(res, '*');
    for (const g of r.apiGroups as string[]) assert.notEqual(g, '*');
    assert.ok(!(r.resources as string[]).includes('secrets'), 'secrets are mounted, never read through the API');
  }
  const grants = (group: string, resource: string, verb: string, name?: string): boolean =>
    rules.some(
      (r) =>
        (r.apiGroups as string[]).includes(group) &&
        (r.resources as string[]).includes(resource) &&
        (r.verbs as string[]).includes(verb) &&
        (r.resourceNames === undefined || (name !== undefined && (r.resourceNames as string[]).includes(name))),
    );
  const needed: Array<[string, string, string, string?]> = [
    ['', 'pods', 'list'],
    ['', 'pods', 'watch'],
    ['', 'pods', 'get'],
    ['apps', 'statefulsets', 'list'],
    ['apps', 'statefulsets', 'watch'],
    ['manticore.orchestrator.dev', 'manticoretables', 'list'],
    ['manticore.orchestrator.dev', 'manticoretables', 'watch'],
    ['manticore.orchestrator.dev', 'manticoretables', 'get'],
    ['manticore.orchestrator.dev', 'manticoretables/status', 'patch'],
    ['manticore.orchestrator.dev', 'manticorebackupschedules', 'list'],
    ['manticore.orchestrator.dev', 'manticorebackupschedules', 'watch'],
    ['manticore.orchestrator.dev', 'manticorebackupschedules', 'get'],
    ['manticore.orchestrator.dev', 'manticorebackupschedules/status', 'patch'],
    ['batch', 'jobs', 'create'],
    ['batch', 'jobs', 'list'],
    ['batch', 'jobs', 'get'],
    ['coordination.k8s.io', 'leases', 'create'],
    ['coordination.k8s.io', 'leases', 'get', 'manticore-orchestrator'],
    ['coordination.k8s.io', 'leases', 'update', 'manticore-orchestrator'],
  ];
  for (const [g, r, v, n] of needed) assert.ok(grants(g, r, v, n), `the Role grants ${v} ${g || 'core'}/${r}`);
  assert.ok(!grants('coordination.k8s.io', 'leases', 'update', 'someone-elses-lease'), 'lease updates are limited to the one Lease');
  const binding = named('RoleBinding', 'manticore-orchestrator')!;
  assert.deepEqual(get(binding.obj, 'roleRef'), { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'manticore-orchestrator' });
  for (const s of get(binding.obj, 'subjects') as Obj[]) assert.ok(named('ServiceAccount', s.name as string) !== undefined, `subject ${s.name as string} exists`);
});

test('the example ManticoreTable validates against the CRD schema (ajv) and the controller, and a broken one does not', () => {
  const crd = named('CustomResourceDefinition', 'manticoretables.manticore.orchestrator.dev')!;
  const version = (get(crd.obj, 'spec', 'versions') as Obj[])[0]!;
  const schema = get(version, 'schema', 'openAPIV3Schema') as Obj;
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  const validate = ajv.compile(schema);
  const example = manifests.find((m) => m.file === 'examples/products.yaml')!;
  assert.equal(example.obj.kind, get(crd.obj, 'spec', 'names', 'kind'));
  assert.equal(example.obj.apiVersion, `${get(crd.obj, 'spec', 'group') as string}/${version.name as string}`);
  assert.ok(validate(example.obj), JSON.stringify(validate.errors));
  const { spec, problems } = validateTableDocument({ ...(example.obj.spec as Obj), name: get(example.obj, 'metadata', 'name') }, { kind: 'crd', ref: 'manticore/products' });
  assert.deepEqual(problems, []);
  assert.equal(spec?.name, 'products');

  const broken = structuredClone(example.obj);
  ((broken.spec as Obj).columns as Obj[])[0]!.type = 'txet';
  assert.equal(validate(broken), false);
  assert.ok(validate.errors?.some((e) => e.instancePath === '/spec/columns/0/type'));

  const schedule = named('CustomResourceDefinition', 'manticorebackupschedules.manticore.orchestrator.dev')!;
  const validateSchedule = ajv.compile(get((get(schedule.obj, 'spec', 'versions') as Obj[])[0], 'schema', 'openAPIV3Schema') as Obj);
  assert.ok(validateSchedule({ apiVersion: 'manticore.orchestrator.dev/v1alpha1', kind: 'ManticoreBackupSchedule', metadata: { name: 'nightly' }, spec: { table: 'products', type: 'delta', schedule: '0 2 * * *', keep: 7, maxAge: '30d' } }), JSON.stringify(validateSchedule.errors));
  assert.equal(validateSchedule({ metadata: { name: 'x' }, spec: { table: 'products', type: 'full', schedule: '0 2 * * *' } }), false);
});

test('secret templates name the keys the workloads read', () => {
  const secrets = manifests.filter((m) => m.file === 'secrets.example.yaml').map((m) => m.obj);
  const token = secrets.find((s) => get(s, 'metadata', 'name') === 'manticore-orchestrator-token')!;
  assert.ok(typeof get(token, 'stringData', 'token') === 'string');
  const backup = secrets.find((s) => get(s, 'metadata', 'name') === 'manticore-orchestrator-backup')!;
  for (const k of ['BACKUP_PROVIDER', 'BACKUP_BUCKET', 'BACKUP_PREFIX']) assert.ok(get(backup, 'stringData', k) !== undefined, k);
  // every secretKeyRef of the workloads points at a templated Secret and key
  const refs: Array<{ name: string; key: string }> = [];
  const walk = (v: Yaml | undefined): void => {
    if (v === null || v === undefined || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(walk);
    if (v.secretKeyRef !== undefined) refs.push(v.secretKeyRef as { name: string; key: string });
    Object.values(v).forEach(walk);
  };
  deployed.forEach((m) => walk(m.obj));
  assert.ok(refs.length >= 3);
  for (const r of refs) {
    const s = secrets.find((x) => get(x, 'metadata', 'name') === r.name);
    assert.ok(s !== undefined && get(s, 'stringData', r.key) !== undefined, `${r.name}/${r.key} is templated`);
  }
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
test('kubectl kustomize renders the set', { skip: kubectl.status !== 0 ? 'kubectl is not installed' : false }, () => {
  const out = spawnSync('kubectl', ['kustomize', DIR], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(out.status, 0, out.stderr);
  const kinds = out.stdout.split('\n').filter((l) => l.startsWith('kind: '));
  assert.equal(kinds.length, deployed.length, 'every object rendered once');
  // the namespace is applied to namespaced objects, and RoleBinding subjects follow it
  assert.match(out.stdout, /namespace: manticore/);
});
