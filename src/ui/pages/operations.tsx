/**
 * Operations: every import, backup, restore, repair, rotation and cluster operation, newest first, with live
 * progress (operation events update the list in place), steps and their durations, who asked, the outcome;
 * imports can be cancelled before their flip (DELETE /api/imports/:id).
 */
import { Fragment, type JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Badge, ConfirmDialog, Empty, Loading, Progress, stateTone } from '../components.js';
import { apiData, type OperationRecord } from '../lib/api.js';
import { between, fmtAgo, fmtDuration, fmtTime, isActive, progressOf, subjectOf } from '../lib/format.js';
import { useStoreContext } from '../lib/store.js';
import { useLocation, navigate } from '../router.js';

const FILTERS: { id: string; label: string; match: (kind: string) => boolean }[] = [
  { id: 'all', label: 'All', match: () => true },
  { id: 'import', label: 'Imports', match: (k) => k === 'import' },
  { id: 'backup', label: 'Backups', match: (k) => k === 'backup' },
  { id: 'restore', label: 'Restores', match: (k) => k === 'restore' },
  { id: 'repair', label: 'Repairs', match: (k) => k === 'repair' },
  { id: 'rotation', label: 'Rotations', match: (k) => k.includes('rotat') },
  { id: 'cluster', label: 'Cluster', match: (k) => !['import', 'backup', 'restore', 'repair'].includes(k) && !k.includes('rotat') },
];

/** re-renders every second while something runs, so durations tick */
function useTick(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return undefined;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

function OperationRow({ op, now, open, onToggle }: { op: OperationRecord; now: number; open: boolean; onToggle: () => void }): JSX.Element {
  const store = useStoreContext();
  const [cancel, setCancel] = useState(false);
  const cancellable = op.kind === 'import' && isActive(op) && store.role === 'admin';
  const current = op.steps.find((s) => s.state === 'running');
  const done = op.steps.filter((s) => s.state === 'succeeded').length;
  return (
    <li class={`op op-${op.state}`} data-testid="operation" data-kind={op.kind} data-state={op.state} data-id={op.id}>
      <div class="op-main">
        <button type="button" class="op-toggle" onClick={onToggle} aria-expanded={open} aria-label={`details of ${op.kind} ${op.id}`}>
          <span class="chev">{open ? '▾' : '▸'}</span>
        </button>
        <div class="op-what">
          <span class="strong">{op.kind}</span> <span class="mono">{subjectOf(op)}</span>
          <div class="small muted mono">{op.id}</div>
        </div>
        <div class="op-state">
          <Badge tone={stateTone(op.state)}>{op.state}</Badge>
        </div>
        <div class="op-progress">
          <Progress value={progressOf(op)} state={op.state} label={`${op.kind} ${subjectOf(op)} progress`} />
          <div class="small muted ellipsis">
            {op.steps.length > 0 ? `${done}/${op.steps.length} steps` : ''}
            {current ? ` · ${current.name}` : ''}
            {op.state === 'running' && (op.figures?.etaSeconds ?? 0) > 0 ? ` · ETA ${fmtDuration((op.figures?.etaSeconds ?? 0) * 1000)}` : ''}
          </div>
        </div>
        <div class="op-meta small">
          <div title={fmtTime(op.requestedAt)}>{fmtAgo(op.requestedAt, now)}</div>
          <div class="muted">{fmtDuration(between(op.requestedAt, op.finishedAt, now))}</div>
        </div>
        <div class="op-who small muted ellipsis" title={op.requestedBy}>
          {op.requestedBy}
        </div>
        <div class="op-actions">
          {cancellable ? (
            <button type="button" class="btn btn-small btn-danger" onClick={() => setCancel(true)} data-testid="cancel-operation">
              Cancel
            </button>
          ) : null}
        </div>
      </div>
      {op.outcome || op.error ? <div class={`op-outcome small ${op.error && op.state === 'failed' ? 'bad-text' : ''}`}>{op.error ?? op.outcome}</div> : null}
      {open ? (
        <div class="op-detail">
          <table class="grid compact">
            <thead>
              <tr>
                <th>Step</th>
                <th>State</th>
                <th>Started</th>
                <th class="num">Duration</th>
                <th class="wide">Message</th>
              </tr>
            </thead>
            <tbody>
              {op.steps.map((s, i) => (
                <tr key={`${s.name}-${i}`}>
                  <td class="mono">{s.name}</td>
                  <td>
                    <Badge tone={stateTone(s.state)}>{s.state}</Badge>
                  </td>
                  <td class="small nowrap">{fmtTime(s.startedAt)}</td>
                  <td class="num small">{fmtDuration(between(s.startedAt, s.finishedAt ?? (s.state === 'running' ? undefined : s.startedAt), now))}</td>
                  <td class="small">{s.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <dl class="kv small">
            <dt>Key</dt>
            <dd class="mono">{op.key}</dd>
            <dt>Requested</dt>
            <dd>
              {fmtTime(op.requestedAt)} by <span class="mono">{op.requestedBy}</span>
            </dd>
            <dt>Finished</dt>
            <dd>{fmtTime(op.finishedAt)}</dd>
            {op.figures
              ? Object.entries(op.figures).map(([k, v]) => (
                  <Fragment key={k}>
                    <dt>{k}</dt>
                    <dd class="mono">{v.toLocaleString('en-US')}</dd>
                  </Fragment>
                ))
              : null}
          </dl>
        </div>
      ) : null}
      {cancel ? (
        <ConfirmDialog
          title="Cancel the import"
          confirmLabel="Cancel import"
          danger
          onClose={() => setCancel(false)}
          action={async () => {
            await apiData<OperationRecord>('DELETE', `/api/imports/${encodeURIComponent(op.id)}`);
            return `import ${op.id} cancelled`;
          }}
        >
          <p>
            Stops the import of <strong>{subjectOf(op)}</strong> and removes the slot it was building. The table keeps serving its
            current data. An import that has started its flip cannot be cancelled (it rolls forward).
          </p>
        </ConfirmDialog>
      ) : null}
    </li>
  );
}

export function OperationsPage(): JSX.Element {
  const store = useStoreContext();
  const { query } = useLocation();
  const filter = query.get('kind') ?? 'all';
  const [open, setOpen] = useState<Set<string>>(new Set());
  const ops = store.operations;
  const now = useTick((ops ?? []).some(isActive));
  if (!ops) return <Loading />;
  const f = FILTERS.find((x) => x.id === filter) ?? FILTERS[0]!;
  const shown = ops.filter((o) => f.match(o.kind));
  return (
    <div class="page">
      <div class="chips" role="group" aria-label="filter by kind">
        {FILTERS.map((x) => (
          <button key={x.id} type="button" class={`chip ${x.id === f.id ? 'chip-on' : ''}`} aria-pressed={x.id === f.id} onClick={() => navigate(x.id === 'all' ? '/operations' : `/operations?kind=${x.id}`)}>
            {x.label} <span class="chip-count">{ops.filter((o) => x.match(o.kind)).length}</span>
          </button>
        ))}
      </div>
      {shown.length === 0 ? (
        <Empty>No {f.id === 'all' ? '' : `${f.label.toLowerCase()} `}operations yet.</Empty>
      ) : (
        <ul class="ops" data-testid="operations">
          {shown.map((o) => (
            <OperationRow
              key={o.id}
              op={o}
              now={now}
              open={open.has(o.id)}
              onToggle={() =>
                setOpen((s) => {
                  const n = new Set(s);
                  if (n.has(o.id)) n.delete(o.id);
                  else n.add(o.id);
                  return n;
                })
              }
            />
          ))}
        </ul>
      )}
    </div>
  );
}
