/**
 * src/observe/metrics.ts without a cluster: operations counted once from the status store's events,
 * import and backup figures, cluster gauges read at scrape time, API requests by route template, and
 * METRICS_REQUIRE_TOKEN (admin or viewer token).
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { createApiApp } from '../../../src/api/app.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { ManticorePools } from '../../../src/manticore/client.js';
import { ControllerMetrics, keyKind } from '../../../src/observe/metrics.js';
import type { OperationRecord } from '../../../src/status/types.js';
import { MemoryStatus } from '../../integration/api/memory-status.js';

const ADMIN = 'metrics-admin-token-0123456789';
const VIEWER = 'metrics-viewer-token-0123456789';

function op(over: Partial<OperationRecord>): OperationRecord {
  return { id: 'import-1', kind: 'import', key: 'table/main/items', target: 'items', requestedBy: 'api', requestedAt: '2026-01-01T00:00:00.000Z', state: 'running', steps: [], ...over };
}

async function value(m: ControllerMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === `manticore_orchestrator_${name}`);
  const hits = (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want));
  return hits.length === 0 ? undefined : hits.reduce((a, v) => a + v.value, 0);
}

describe('controller metrics', () => {
  test('key kinds', () => {
    assert.equal(keyKind('cluster/main'), 'cluster');
    assert.equal(keyKind('table/main/items'), 'table');
    assert.equal(keyKind('whatever'), 'other');
  });

  test('an operation is counted once when it ends, with its duration, rows and bytes', async () => {
    const status = new MemoryStatus();
    const m = new ControllerMetrics({ defaultMetrics: false });
    m.bindStatus(status);
    status.emit({ type: 'operation', at: '', operation: op({}) });
    assert.equal(await value(m, 'operations_total'), undefined);
    const done = op({ state: 'succeeded', finishedAt: '2026-01-01T00:00:04.000Z', figures: { rows: 1234, bytes: 5678 } });
    status.emit({ type: 'operation', at: '', operation: done });
    status.emit({ type: 'operation', at: '', operation: done });
    assert.equal(await value(m, 'operations_total', { kind: 'import', outcome: 'succeeded' }), 1);
    assert.equal(await value(m, 'import_rows_total', { table: 'items' }), 1234);
    assert.equal(await value(m, 'import_bytes_total', { table: 'items' }), 5678);
    assert.equal(await value(m, 'operation_duration_seconds', { kind: 'import', outcome: 'succeeded', le: '5' }), 1);
    status.emit({ type: 'operation', at: '', operation: op({ id: 'backup-1', kind: 'backup', state: 'succeeded', finishedAt: '2026-01-01T00:01:00.000Z', figures: { bytes: 99 } }) });
    assert.equal(await value(m, 'backup_bytes_total', { table: 'items' }), 99);
    assert.equal(await value(m, 'backup_last_success_timestamp_seconds', { table: 'items' }), Date.parse('2026-01-01T00:01:00.000Z') / 1000);
    status.emit({ type: 'operation', at: '', operation: op({ id: 'import-2', state: 'failed', finishedAt: '2026-01-01T00:00:01.000Z', figures: { rows: 1 } }) });
    assert.equal(await value(m, 'operations_total', { kind: 'import', outcome: 'failed' }), 1);
    assert.equal(await value(m, 'import_rows_total', { table: 'items' }), 1234, 'a failed import adds no rows');
  });

  test('cluster and node gauges are read from the status at scrape time; reconcile passes and queue depth', async () => {
    const status = new MemoryStatus();
    const m = new ControllerMetrics({ defaultMetrics: false });
    m.bindStatus(status);
    m.bindQueue({ queueStats: () => ({ ready: 3, inFlight: 1 }) });
    const node = (name: string, reachable: boolean, nodeState?: string) => ({ name, ordinal: 0, apiAddress: '', reachable, tables: [], observedAt: '', ...(nodeState ? { nodeState } : {}) });
    status.clusterView = { name: 'main', phase: 'Degraded', size: 2, nodes: [node('node0', true, 'synced'), node('node1', false)], conditions: [{ type: 'Ready', status: 'False', reason: 'x', message: 'x', lastTransitionTime: '' }] };
    assert.equal(await value(m, 'cluster_size', { cluster: 'main' }), 2);
    assert.equal(await value(m, 'cluster_ready', { cluster: 'main' }), 0);
    assert.equal(await value(m, 'cluster_phase', { phase: 'Degraded' }), 1);
    assert.equal(await value(m, 'node_state', { node: 'node0', state: 'synced' }), 1);
    assert.equal(await value(m, 'node_state', { node: 'node1', state: 'unreachable' }), 1);
    assert.equal(await value(m, 'node_up', { node: 'node1' }), 0);
    assert.equal(await value(m, 'queue_depth', { state: 'ready' }), 3);
    m.observeReconcilePass('table/main/items', 'error', 0.02);
    assert.equal(await value(m, 'reconcile_passes_total', { kind: 'table', outcome: 'error' }), 1);
  });
});

describe('GET /metrics and the API series', () => {
  const servers: Server[] = [];
  const pools = new ManticorePools();
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await pools.closeAll();
  });

  async function serve(requireToken: boolean): Promise<{ url: string; metrics: ControllerMetrics }> {
    const status = new MemoryStatus();
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    const app = createApiApp({ status, requests: status, nodes: async () => [], pools, token: ADMIN, viewerTokens: [VIEWER], logger: silentLogger(), clusterName: 'main', version: 'test', metrics, metricsRequireToken: requireToken });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    servers.push(server);
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, metrics };
  }

  test('open by default; route templates, not raw paths', async () => {
    const { url, metrics } = await serve(false);
    const auth = { authorization: `Bearer ${ADMIN}` };
    assert.equal((await fetch(`${url}/api/tables/nosuchtable`, { headers: auth })).status, 404);
    assert.equal((await fetch(`${url}/api/nothing/here`, { headers: auth })).status, 404);
    const r = await fetch(`${url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await r.text();
    assert.match(text, /manticore_orchestrator_api_requests_total\{method="GET",route="\/api\/tables\/:name",status="404"\} 1/);
    assert.match(text, /route="unmatched",status="404"\} 1/);
    assert.doesNotMatch(text, /nosuchtable/);
    assert.equal(await value(metrics, 'api_request_duration_seconds', { route: '/api/tables/:name', le: '+Inf' }), 1);
  });

  test('METRICS_REQUIRE_TOKEN=true: 401 without a token, 200 with the admin or a viewer token', async () => {
    const { url } = await serve(true);
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
    assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${VIEWER}` } })).status, 200);
    assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).status, 200);
  });
});
