/** Overview: cluster phase, conditions, nodes (state, seqno, tables, query rate), the split-brain banner with repair. */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Badge, Card, ConfirmDialog, Icon, Loading, Progress, type Tone } from '../components.js';
import { apiCall, type ClusterView, type Condition, type NodeView, type QueryAnswer } from '../lib/api.js';
import { fmtAgo, fmtNumber, isActive, progressOf } from '../lib/format.js';
import { useStoreContext } from '../lib/store.js';

/** each poll is one audited POST /api/query: slow, and paused while the tab is hidden */
const RATE_POLL_MS = 15_000;
const RATE_FIRST_MS = 2_000;

export function conditionTone(c: Condition): Tone {
  const goodWhenTrue = ['ClusterFormed', 'Ready', 'TablesConverged'];
  if (c.status === 'Unknown') return 'muted';
  const good = goodWhenTrue.includes(c.type) ? c.status === 'True' : c.status === 'False';
  return good ? 'ok' : c.type === 'Degraded' || c.type === 'RecoveryPending' ? 'warn' : 'bad';
}

export function ConditionsTable({ conditions, testid }: { conditions: Condition[]; testid?: string }): JSX.Element {
  if (conditions.length === 0) return <p class="muted">No conditions reported yet.</p>;
  return (
    <div class="table-wrap">
      <table class="grid" data-testid={testid}>
        <thead>
          <tr>
            <th>Condition</th>
            <th>Status</th>
            <th>Reason</th>
            <th class="wide">Message</th>
            <th>Since</th>
          </tr>
        </thead>
        <tbody>
          {conditions.map((c) => (
            <tr key={c.type}>
              <td class="mono">{c.type}</td>
              <td>
                <Badge tone={conditionTone(c)}>{c.status}</Badge>
              </td>
              <td class="mono small">{c.reason}</td>
              <td class="small">{c.message}</td>
              <td class="small nowrap" title={c.lastTransitionTime}>
                {fmtAgo(c.lastTransitionTime)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function nodeState(n: NodeView): { text: string; tone: Tone } {
  if (!n.observed) return { text: 'not observed', tone: 'muted' };
  if (!n.reachable) return { text: 'unreachable', tone: 'bad' };
  if (n.ready) return { text: 'primary · synced', tone: 'ok' };
  const parts = [n.clusterStatus, n.nodeState].filter(Boolean);
  return { text: parts.length > 0 ? parts.join(' · ') : 'no cluster', tone: 'warn' };
}

/** Queries per second per node, from `SHOW STATUS LIKE 'queries'` broadcast through the public query API. */
/** kept across page changes so the Overview shows the last rates at once */
const rateCache: { last: Record<string, { q: number; t: number }>; rates: Record<string, number> } = { last: {}, rates: {} };

function useQueryRates(): Record<string, number> {
  const last = useRef(rateCache.last);
  const [rates, setRates] = useState<Record<string, number>>(rateCache.rates);
  useEffect(() => {
    let stopped = false;
    const poll = async (): Promise<void> => {
      if (document.visibilityState === 'hidden') return;
      try {
        const out = await apiCall<{ data: QueryAnswer }>('POST', '/api/query', { sql: "SHOW STATUS LIKE 'queries'", broadcast: true });
        const now = Date.now();
        const next: Record<string, number> = {};
        for (const r of out.data.results) {
          const row = r.rows.find((x) => String(x.Counter ?? x.counter ?? '') === 'queries');
          const q = Number(row?.Value ?? row?.value);
          if (!r.ok || !Number.isFinite(q)) continue;
          const prev = last.current[r.node];
          // the poll itself is one query: leave it out of the rate
          if (prev && now > prev.t) next[r.node] = Math.max(0, (q - prev.q - 1) / ((now - prev.t) / 1000));
          last.current[r.node] = { q, t: now };
        }
        if (Object.keys(next).length > 0) rateCache.rates = next;
        if (!stopped && Object.keys(next).length > 0) setRates(next);
      } catch {
        // the rate is a nicety: a failed poll leaves the last figures
      }
    };
    // two quick polls give a first rate within seconds, then one every RATE_POLL_MS
    void poll();
    const first = setTimeout(() => void poll(), RATE_FIRST_MS);
    const timer = setInterval(() => void poll(), RATE_POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
    };
  }, []);
  return rates;
}

function SplitBrainBanner({ cluster }: { cluster: ClusterView }): JSX.Element | null {
  const store = useStoreContext();
  const [open, setOpen] = useState(false);
  const [source, setSource] = useState('');
  const cond = cluster.conditions.find((c) => c.type === 'SplitBrain');
  const split = cond?.status === 'True' || store.discover?.splitBrain === true;
  const repair = store.operations?.find((o) => o.kind === 'repair' && isActive(o));
  if (!split && !repair) return null;
  const byOrdinal = new Map(cluster.nodes.map((n) => [n.ordinal, n.name]));
  const groups = store.discover?.groups?.map((g) => g.replicas.map((r) => byOrdinal.get(r) ?? `#${r}`)) ?? [];
  return (
    <div class={`banner ${split ? 'banner-bad' : 'banner-info'}`} role="alert" data-testid="split-brain-banner">
      <div class="banner-text">
        <strong>
          <Icon name="warn" /> {split ? 'Split brain detected' : 'Repair in progress'}
        </strong>
        {split ? (
          <span>
            {groups.length > 1 ? `Nodes form ${groups.length} separate clusters: ${groups.map((g) => `[${g.join(', ')}]`).join(' vs ')}. ` : ''}
            {cond?.message ?? ''}
          </span>
        ) : null}
        {repair ? (
          <span class="banner-progress">
            Repair {repair.id.slice(0, 8)}: {repair.steps.find((s) => s.state === 'running')?.name ?? repair.state}
            <Progress value={progressOf(repair)} state={repair.state} label="repair progress" />
          </span>
        ) : null}
      </div>
      {split && store.role === 'admin' ? (
        <button type="button" class="btn btn-danger" onClick={() => setOpen(true)} disabled={repair !== undefined} data-testid="repair-button">
          Repair cluster
        </button>
      ) : null}
      {open ? (
        <ConfirmDialog
          title="Repair the split brain"
          confirmLabel="Start repair"
          danger
          onClose={() => setOpen(false)}
          action={async () => {
            const out = await apiCall<{ message?: string; operationId?: string; commandId?: string }>('POST', '/api/repair', source ? { source } : {});
            return out.message ?? `repair started (${out.operationId ?? out.commandId ?? ''})`;
          }}
        >
          <p>
            The controller keeps one cluster and makes every other node leave its cluster and join it again with a full state
            transfer. Writes that reached only the losing side are discarded.
          </p>
          <label class="field">
            <span>Source of truth</span>
            <select value={source} onChange={(e) => setSource((e.target as HTMLSelectElement).value)} data-autofocus>
              <option value="">Automatic (the largest group; on a tie, the lowest ordinal)</option>
              {cluster.nodes.map((n) => (
                <option key={n.name} value={n.name}>
                  {n.name} — {n.clusterStatus ?? 'unknown'} · seqno {n.seqno ?? '—'} · uuid {(n.clusterUuid ?? '').slice(0, 8) || '—'}
                </option>
              ))}
            </select>
          </label>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

export function OverviewPage(): JSX.Element {
  const store = useStoreContext();
  const rates = useQueryRates();
  const c = store.cluster;
  if (!c) return <Loading />;
  const ready = c.nodes.filter((n) => n.ready).length;
  const active = (store.operations ?? []).filter(isActive);
  const bad = c.conditions.filter((x) => conditionTone(x) === 'bad').length;
  const split = c.conditions.some((x) => x.type === 'SplitBrain' && x.status === 'True');
  return (
    <div class="page">
      <SplitBrainBanner cluster={c} />
      <div class="stats">
        <div class="stat">
          <span class="stat-label">Cluster</span>
          <span class="stat-value mono">{c.name}</span>
          <span class="stat-sub mono" title={c.uuid}>
            {c.uuid ? c.uuid.slice(0, 18) : 'no uuid yet'}
          </span>
        </div>
        <div class="stat">
          <span class="stat-label">Phase</span>
          <span class="stat-value" data-testid="cluster-phase">
            <Badge tone={c.phase === 'Ready' ? 'ok' : bad > 0 ? 'bad' : 'warn'}>{c.phase}</Badge>
          </span>
          <span class="stat-sub">{bad > 0 ? `${bad} condition(s) need attention` : 'all conditions fine'}</span>
        </div>
        <div class="stat">
          <span class="stat-label">Nodes ready</span>
          <span class="stat-value" data-testid="nodes-ready">
            {ready} / {c.nodes.length}
          </span>
          <span class={`stat-sub${split ? ' bad-text' : ''}`}>{split ? 'but not one cluster: split brain' : 'primary and synced'}</span>
        </div>
        <div class="stat">
          <span class="stat-label">Tables</span>
          <span class="stat-value">{store.tables?.length ?? '—'}</span>
          <span class="stat-sub">{c.specProblems.length > 0 ? `${c.specProblems.length} spec problem(s)` : 'specs valid'}</span>
        </div>
        <div class="stat">
          <span class="stat-label">Operations</span>
          <span class="stat-value">{active.length}</span>
          <span class="stat-sub">running now</span>
        </div>
      </div>

      <Card title="Nodes">
        <div class="table-wrap">
          <table class="grid" data-testid="nodes-table">
            <thead>
              <tr>
                <th>Node</th>
                <th>State</th>
                <th class="num">Seqno</th>
                <th class="num">Tables</th>
                <th class="num">Queries/s</th>
                <th>MySQL</th>
                <th>Gate</th>
                <th>Observed</th>
              </tr>
            </thead>
            <tbody>
              {c.nodes.map((n) => {
                const st = nodeState(n);
                return (
                  <tr key={n.name} data-node={n.name} data-ready={String(n.ready)}>
                    <td class="mono strong">{n.name}</td>
                    <td>
                      <Badge tone={st.tone}>{st.text}</Badge>
                      {n.error ? <div class="small bad-text">{n.error}</div> : null}
                    </td>
                    <td class="num mono">{fmtNumber(n.seqno)}</td>
                    <td class="num" title={(n.tables ?? []).join(', ')}>
                      {n.tables?.length ?? 0}
                    </td>
                    <td class="num mono">{rates[n.name] !== undefined ? rates[n.name]!.toFixed(1) : '—'}</td>
                    <td class="mono small">{n.mysql}</td>
                    <td class="small">{n.gate ? <Badge tone={n.gate.mode === 'hold' && !n.ready ? 'warn' : 'muted'} title={n.gate.reason}>{n.gate.mode}</Badge> : '—'}</td>
                    <td class="small nowrap">{fmtAgo(n.observedAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </Card>

      <Card title="Cluster conditions">
        <ConditionsTable conditions={c.conditions} testid="cluster-conditions" />
      </Card>

      {c.specProblems.length > 0 ? (
        <Card title="Spec problems">
          <ul class="list">
            {c.specProblems.map((p, i) => (
              <li key={i} class="small">
                <span class="mono">{p.origin?.ref ?? p.table ?? ''}{p.pointer ? ` ${p.pointer}` : ''}</span> {p.message}
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
    </div>
  );
}
