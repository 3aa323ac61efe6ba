/** Tables: active slot, delta and main rows per node, conditions, schema, and the import and backup actions. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { Badge, Card, ConfirmDialog, Empty, Loading, Progress } from '../components.js';
import { apiCall, apiData, type OperationRecord, type TableStatusView } from '../lib/api.js';
import { fmtNumber, isActive, progressOf, subjectOf } from '../lib/format.js';
import { useStoreContext } from '../lib/store.js';
import { ConditionsTable, conditionTone } from './overview.js';
import { navigate } from '../router.js';

function Presence({ present, inCluster, clustered }: { present: boolean | undefined; inCluster?: boolean; clustered?: boolean }): JSX.Element {
  if (!present) return <Badge tone="muted">missing</Badge>;
  if (clustered && !inCluster) return <Badge tone="warn">not in cluster</Badge>;
  return <Badge tone="ok">{clustered ? 'in cluster' : 'present'}</Badge>;
}

function ImportDialog({ table, onClose }: { table: TableStatusView; onClose: () => void }): JSX.Element {
  const [source, setSource] = useState('');
  const configured = table.spec.import?.urls.join(', ');
  return (
    <ConfirmDialog
      title={`Import ${table.name}`}
      confirmLabel="Start import"
      onClose={onClose}
      action={async () => {
        const op = await apiData<OperationRecord>('POST', '/api/import', { table: table.name, ...(source.trim() ? { source: source.trim() } : {}) });
        return `import of ${table.name} started (operation ${op.id})`;
      }}
    >
      <p>
        Builds the inactive main slot of <strong>{table.name}</strong> from the source, loads it on every node, checks the row
        counts, then switches the distributed table to it and drops the old slot. Queries keep reading the current data until the
        switch.
      </p>
      <label class="field">
        <span>Source (empty: the spec's)</span>
        <input type="text" value={source} placeholder={configured ?? 'path on the shared volume, s3://, gs:// or https://'} onInput={(e) => setSource((e.target as HTMLInputElement).value)} data-autofocus data-testid="import-source" />
      </label>
    </ConfirmDialog>
  );
}

export function BackupDialog({ table, onClose, initialType = 'delta' }: { table: string; onClose: () => void; initialType?: 'delta' | 'main' }): JSX.Element {
  const [type, setType] = useState<'delta' | 'main'>(initialType);
  return (
    <ConfirmDialog
      title={`Back up ${table}`}
      confirmLabel="Start backup"
      onClose={onClose}
      action={async () => {
        const out = await apiCall<{ message?: string }>('POST', '/api/backup', { tableName: table, type });
        return out.message ?? `backup of ${table} started`;
      }}
    >
      <p>
        Takes a physical backup of <strong>{table}</strong> on one healthy node (the table is frozen briefly) and stores the archive
        with its checksum and manifest in the backup store.
      </p>
      <label class="field">
        <span>Part</span>
        <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value as 'delta' | 'main')} data-testid="backup-type">
          <option value="delta">delta (RT writes)</option>
          <option value="main">main (active imported slot)</option>
        </select>
      </label>
    </ConfirmDialog>
  );
}

function TableCard({ t, ops }: { t: TableStatusView; ops: OperationRecord[] }): JSX.Element {
  const store = useStoreContext();
  const [dialog, setDialog] = useState<'import' | 'backup' | undefined>();
  const [showSchema, setShowSchema] = useState(false);
  const running = ops.filter((o) => isActive(o) && subjectOf(o) === t.name);
  const worst = t.conditions.find((c) => conditionTone(c) === 'bad') ?? t.conditions.find((c) => conditionTone(c) === 'warn');
  const admin = store.role === 'admin';
  return (
    <Card
      id={`table-${t.name}`}
      title={
        <span class="title-row">
          <span class="mono">{t.name}</span>
          <Badge tone={t.activeSlot ? 'info' : 'muted'} title="the main slot the distributed table serves">
            slot {t.activeSlot ?? '—'}
          </Badge>
          {worst ? (
            <Badge tone={conditionTone(worst)} title={worst.message}>
              {worst.type} {worst.status}
            </Badge>
          ) : (
            <Badge tone="ok">healthy</Badge>
          )}
          <span class="muted small">gen {t.generation} · {t.origin.kind}</span>
        </span>
      }
      actions={
        <>
          <button type="button" class="btn btn-small" onClick={() => setShowSchema((v) => !v)} aria-expanded={showSchema}>
            Schema
          </button>
          <button type="button" class="btn btn-small" onClick={() => navigate(`/backups?table=${encodeURIComponent(t.name)}`)}>
            Backups
          </button>
          {admin ? (
            <>
              <button type="button" class="btn btn-small" onClick={() => setDialog('backup')} data-testid={`backup-${t.name}`}>
                Back up
              </button>
              <button type="button" class="btn btn-small btn-primary" onClick={() => setDialog('import')} data-testid={`import-${t.name}`}>
                Import
              </button>
            </>
          ) : null}
        </>
      }
    >
      {running.map((o) => (
        <div class="inline-op" key={o.id}>
          <span class="small">
            {o.kind} {o.state}: {o.steps.find((s) => s.state === 'running')?.name ?? '…'}
          </span>
          <Progress value={progressOf(o)} state={o.state} label={`${o.kind} progress`} />
        </div>
      ))}
      <div class="table-wrap">
        <table class="grid" data-testid={`table-nodes-${t.name}`}>
          <thead>
            <tr>
              <th>Node</th>
              <th class="num">Delta rows</th>
              <th>Delta</th>
              <th class="num">Main rows</th>
              <th>Main ({t.activeSlot ? `${t.name}_main_${t.activeSlot}` : 'none'})</th>
              <th>Distributed</th>
            </tr>
          </thead>
          <tbody>
            {t.nodes.map((n) => (
              <tr key={n.node}>
                <td class="mono">
                  {n.node} {n.reachable ? null : <Badge tone="bad">offline</Badge>}
                </td>
                <td class="num mono" data-testid="delta-rows">
                  {fmtNumber(n.delta?.rows)}
                </td>
                <td>
                  <Presence present={n.delta?.present} inCluster={n.delta?.inCluster} clustered />
                </td>
                <td class="num mono" data-testid="main-rows">
                  {fmtNumber(n.main?.rows)}
                </td>
                <td>
                  <Presence present={n.main?.present} inCluster={n.main?.inCluster} clustered={t.spec.clusterMain} />
                </td>
                <td>
                  <Presence present={n.distributed?.present} />
                  {n.distributed?.present ? <span class="small muted"> {n.distributed.agents.length} agent(s)</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {showSchema ? (
        <div class="schema">
          <table class="grid compact">
            <thead>
              <tr>
                <th>Column</th>
                <th>Type</th>
                <th>Options</th>
              </tr>
            </thead>
            <tbody>
              {t.spec.columns.map((c) => (
                <tr key={c.name}>
                  <td class="mono">{c.name}</td>
                  <td class="mono">{c.type}</td>
                  <td class="small muted">{[c.indexed ? 'indexed' : '', c.stored === false ? 'not stored' : ''].filter(Boolean).join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <dl class="kv small">
            <dt>Settings</dt>
            <dd class="mono">{Object.entries(t.spec.settings).map(([k, v]) => `${k}=${v}`).join(' ') || '—'}</dd>
            <dt>Import source</dt>
            <dd class="mono">{t.spec.import?.urls.join(', ') ?? '—'}</dd>
            <dt>Distributed</dt>
            <dd class="mono">
              ha_strategy={t.spec.distributed.haStrategy} agent_retry_count={t.spec.distributed.agentRetryCount}
            </dd>
            <dt>Backups</dt>
            <dd class="mono">{t.spec.backups.map((b) => `${b.name} (${b.type}, ${b.schedule})`).join(', ') || '—'}</dd>
          </dl>
        </div>
      ) : null}
      <details class="conditions">
        <summary>Conditions ({t.conditions.length})</summary>
        <ConditionsTable conditions={t.conditions} />
      </details>
      {dialog === 'import' ? <ImportDialog table={t} onClose={() => setDialog(undefined)} /> : null}
      {dialog === 'backup' ? <BackupDialog table={t.name} onClose={() => setDialog(undefined)} /> : null}
    </Card>
  );
}

export function TablesPage(): JSX.Element {
  const store = useStoreContext();
  if (!store.tables) return <Loading />;
  if (store.tables.length === 0) return <Empty>No managed tables. Add a spec file to the specs directory.</Empty>;
  return (
    <div class="page">
      {store.tables.map((t) => (
        <TableCard key={t.name} t={t} ops={store.operations ?? []} />
      ))}
    </div>
  );
}
