/**
 * Issue 9 part 2: GET /metrics of the controller (a separate process) and of every agent, scraped before
 * and after one blue/green import on a 3-node simulator cluster. Asserted: the text format parses, and
 * the series moved as the import did (import rows = source rows, operations{kind=import,
 * outcome=succeeded} +1, POST /api/import counted under its route template, a build-main job on an
 * agent), the cluster and node gauges describe the cluster, and METRICS_REQUIRE_TOKEN's default keeps
 * /metrics open while /api stays closed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../../../src/sim/launcher.js';
import { parsePrometheus, sampleValue, startImportStack, type ImportStack, type Sample } from './import-stack.js';

const P = 'manticore_orchestrator_';
const ROWS = 3_000;
const haveBins = ['controller.js', 'agent.js'].every((f) => existsSync(path.join(repoRoot(), 'dist', 'src', 'bin', f)));

async function scrape(url: string): Promise<{ status: number; type: string; samples: Sample[] }> {
  const r = await fetch(url);
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type') ?? '', samples: r.status === 200 ? parsePrometheus(text) : [] };
}

describe('Prometheus metrics of the controller and the agents around one import', { skip: haveBins ? false : 'npm run build first' }, () => {
  let stack: ImportStack;
  before(async () => {
    stack = await startImportStack({ label: 'metrics', cluster: 'mtr', token: 'metrics-test-token-0123456789', table: 'items', rows: ROWS });
  }, { timeout: 120_000 });
  after(async () => {
    await stack?.close();
  });

  test('the series move with the import', { timeout: 120_000 }, async () => {
    const controllerUrl = `http://127.0.0.1:${stack.ctrl.port}/metrics`;
    const agentUrls = stack.nodes.map((n) => `${n.agentUrl}/metrics`);

    // before: open without a token (the default), text format, no import counted yet
    const c0 = await scrape(controllerUrl);
    assert.equal(c0.status, 200);
    assert.match(c0.type, /^text\/plain/);
    assert.equal(sampleValue(c0.samples, `${P}import_rows_total`, { table: 'items' }) ?? 0, 0);
    assert.equal(sampleValue(c0.samples, `${P}operations_total`, { kind: 'import', outcome: 'succeeded' }) ?? 0, 0);
    const agents0 = await Promise.all(agentUrls.map(scrape));
    const builds0 = agents0.reduce((a, s) => a + (sampleValue(s.samples, `${P}agent_jobs_total`, { kind: 'build-main', outcome: 'succeeded' }) ?? 0), 0);
    assert.equal((await fetch(`http://127.0.0.1:${stack.ctrl.port}/api/tables`)).status, 401, '/api still needs the token');

    const op = await stack.importOnce();
    assert.equal(op.state, 'succeeded', JSON.stringify(op));

    const c1 = await scrape(controllerUrl);
    assert.equal(c1.status, 200);
    const s = c1.samples;
    // the import
    assert.equal(sampleValue(s, `${P}import_rows_total`, { table: 'items' }), ROWS);
    assert.equal(sampleValue(s, `${P}import_bytes_total`, { table: 'items' }), op.figures?.bytes);
    assert.ok((op.figures?.bytes ?? 0) > 0, JSON.stringify(op.figures));
    assert.equal(sampleValue(s, `${P}operations_total`, { kind: 'import', outcome: 'succeeded' }), 1);
    assert.equal(sampleValue(s, `${P}operation_duration_seconds_count`, { kind: 'import', outcome: 'succeeded' }), 1);
    assert.ok((sampleValue(s, `${P}operation_duration_seconds_sum`, { kind: 'import', outcome: 'succeeded' }) ?? 0) > 0);
    assert.equal(sampleValue(s, `${P}operations_total`, { kind: 'cluster-formation', outcome: 'succeeded' }), 1);
    // the API, by route template (not the raw path)
    assert.equal(sampleValue(s, `${P}api_requests_total`, { method: 'POST', route: '/api/import', status: '202' }), 1);
    assert.ok((sampleValue(s, `${P}api_requests_total`, { method: 'GET', route: '/api/operations/:id', status: '200' }) ?? 0) >= 1);
    assert.ok(!s.some((x) => x.name === `${P}api_requests_total` && x.labels.route?.includes(op.id)), 'no raw operation id in a route label');
    assert.ok((sampleValue(s, `${P}api_request_duration_seconds_count`, { method: 'POST', route: '/api/import' }) ?? 0) >= 1);
    // reconcile passes of both key kinds, queue depth
    for (const kind of ['cluster', 'table']) {
      const before = sampleValue(c0.samples, `${P}reconcile_passes_total`, { kind, outcome: 'ok' }) ?? 0;
      const now = sampleValue(s, `${P}reconcile_passes_total`, { kind, outcome: 'ok' }) ?? 0;
      assert.ok(now > before, `reconcile passes of ${kind} keys counted (${before} → ${now})`);
      assert.ok((sampleValue(s, `${P}reconcile_pass_duration_seconds_count`, { kind, outcome: 'ok' }) ?? 0) >= now);
    }
    assert.notEqual(sampleValue(s, `${P}queue_depth`, { state: 'ready' }), undefined);
    assert.notEqual(sampleValue(s, `${P}queue_depth`, { state: 'in_flight' }), undefined);
    // the cluster and its nodes
    assert.equal(sampleValue(s, `${P}cluster_size`, { cluster: 'mtr' }), 3);
    assert.equal(sampleValue(s, `${P}cluster_ready`, { cluster: 'mtr' }), 1);
    assert.equal(sampleValue(s, `${P}cluster_condition`, { cluster: 'mtr', type: 'Ready', status: 'True' }), 1);
    for (const n of stack.nodes) {
      assert.equal(sampleValue(s, `${P}node_up`, { node: n.name }), 1, n.name);
      assert.equal(sampleValue(s, `${P}node_state`, { node: n.name, state: 'synced' }), 1, n.name);
    }
    assert.equal(sampleValue(s, `${P}tables_managed`), 1);
    assert.ok((sampleValue(s, `${P}process_resident_memory_bytes`) ?? 0) > 0, 'process defaults');

    // the agents: one build-main job succeeded (on the build node), searchd up, requests counted
    const agents1 = await Promise.all(agentUrls.map(scrape));
    const builds1 = agents1.reduce((a, x) => a + (sampleValue(x.samples, `${P}agent_jobs_total`, { kind: 'build-main', outcome: 'succeeded' }) ?? 0), 0);
    assert.equal(builds1 - builds0, 1, 'one build job ran on one agent');
    for (const [i, a] of agents1.entries()) {
      assert.equal(a.status, 200, agentUrls[i]);
      assert.equal(sampleValue(a.samples, `${P}agent_searchd_up`), 1, agentUrls[i]);
      assert.ok((sampleValue(a.samples, `${P}agent_http_requests_total`, { method: 'GET', route: '/v1/state', status: '200' }) ?? 0) > 0, agentUrls[i]);
      assert.equal(sampleValue(a.samples, `${P}agent_jobs_running`, { kind: 'build-main' }) ?? 0, 0, agentUrls[i]);
    }
    const builder = agents1.find((a) => (sampleValue(a.samples, `${P}agent_job_duration_seconds_count`, { kind: 'build-main', outcome: 'succeeded' }) ?? 0) > 0);
    assert.ok(builder, 'the build job was timed');
  });
});
