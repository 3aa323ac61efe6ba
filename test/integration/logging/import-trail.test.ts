/**
 * Issue 9 part 3: one import followed through the logs by its operationId. The controller runs as a
 * separate process writing winston JSON lines to a file (ControllerProcess); the agents' JSON lines go
 * to their node directories. Asserted: the controller's lines with the import's operationId go, in
 * order, from the API request to the end (operation recorded by the API request → every step started
 * and ended: build, import on every node, verify rows, flip, verify serving, drop old slot →
 * operation finished, succeeded, with the source's rows), per-node lines carry `node`, the build node's
 * agent logged its job with the same operationId and node, and across the whole log `key` is always a
 * reconcile key and every line with a reconcileId names its key.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../../../src/sim/launcher.js';
import { startImportStack, type ImportStack } from '../metrics/import-stack.js';

const ROWS = 1_000;
const CLUSTER = 'lgt';
const TABLE = 'items';
/** Steps every import records ('choose slot' and 'drop stale slot' can pass between two record updates). */
const STEPS = ['build', 'import on every node', 'verify rows', 'flip', 'verify serving', 'drop old slot'];
const haveBins = ['controller.js', 'agent.js'].every((f) => existsSync(path.join(repoRoot(), 'dist', 'src', 'bin', f)));

type Line = Record<string, unknown>;

function jsonLines(file: string): Line[] {
  if (!existsSync(file)) return [];
  const out: Line[] = [];
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as Line);
    } catch {
      // a line cut short
    }
  }
  return out;
}

function filesNamed(dir: string, name: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesNamed(p, name));
    else if (e.name === name) out.push(p);
  }
  return out;
}

describe('structured logs: one import followed by its operationId', { skip: haveBins ? false : 'npm run build first' }, () => {
  let stack: ImportStack;
  before(async () => {
    stack = await startImportStack({ label: 'logging', cluster: CLUSTER, token: 'logging-test-token-0123456789', table: TABLE, rows: ROWS });
  }, { timeout: 120_000 });
  after(async () => {
    await stack?.close();
  });

  test('request → each step → verify → flip → done, in order, by operationId', { timeout: 120_000 }, async () => {
    const op = await stack.importOnce();
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    const all = stack.ctrl.logEntries();
    const trail = all.filter((l) => l.operationId === op.id);
    const show = () => trail.map((l) => `${String(l.message)}${l.step ? ` [${String(l.step)} ${String(l.state)}]` : ''}`).join('\n');

    // the request: recorded by the API request (before any step), then the import's own line
    const first = trail[0];
    assert.equal(first?.message, 'operation recorded', show());
    assert.match(String(first?.requestedBy), /^api from /);
    assert.equal(first?.kind, 'import');
    assert.ok(trail.some((l) => l.message === 'import requested' && l.table === TABLE), show());

    // every step started then ended (succeeded), in the machine's order
    let at = 0;
    for (const step of STEPS) {
      const started = trail.findIndex((l, i) => i >= at && l.message === 'operation step started' && l.step === step);
      assert.ok(started >= 0, `step '${step}' started after line ${at}:\n${show()}`);
      const ended = trail.findIndex((l, i) => i > started && l.message === 'operation step ended' && l.step === step);
      assert.ok(ended > started, `step '${step}' ended:\n${show()}`);
      assert.equal(trail[ended]?.state, 'succeeded', `step '${step}'`);
      at = ended;
    }
    // the end, after the last step (the import's own 'import finished' line may come before or after it)
    const lastIndex = trail.findIndex((l, i) => i > at && l.message === 'operation finished');
    assert.ok(lastIndex > at, `operation finished after the last step:\n${show()}`);
    assert.ok(trail.slice(lastIndex + 1).every((l) => l.message === 'import finished'), show());
    const last = trail[lastIndex];
    assert.equal(last?.state, 'succeeded');
    assert.equal((last?.figures as Record<string, number> | undefined)?.rows, ROWS);

    // per-node work names the node
    for (const message of ['import: slot imported', 'import: distributed table flipped']) {
      const nodes = trail.filter((l) => l.message === message).map((l) => l.node).sort();
      assert.deepEqual(nodes, stack.nodes.map((n) => n.name).sort(), message);
    }
    // the operation's lines carry the same reconcile key when they carry one
    for (const l of trail) if (l.key !== undefined) assert.equal(l.key, `table/${CLUSTER}/${TABLE}`, JSON.stringify(l));

    // across the whole controller log: `key` is a reconcile key, a reconcileId comes with its key
    for (const l of all) {
      if (l.key !== undefined) assert.match(String(l.key), /^(cluster|table|backup)\//, JSON.stringify(l));
      if (l.reconcileId !== undefined) assert.equal(typeof l.key, 'string', JSON.stringify(l));
    }

    // the agent that built the slot logged its job under the same operationId and its node
    const agentLines = filesNamed(stack.root, 'agent.log').flatMap(jsonLines);
    const job = agentLines.filter((l) => l.operationId === op.id);
    assert.ok(job.some((l) => l.message === 'agent job started'), `agent lines of ${op.id}: ${JSON.stringify(job)}`);
    assert.ok(job.some((l) => l.message === 'agent job finished' && l.state === 'succeeded'), JSON.stringify(job));
    for (const l of job) assert.ok(stack.nodes.some((n) => n.name === l.node), JSON.stringify(l));
  });
});
