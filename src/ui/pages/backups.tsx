/**
 * Backups: the archives of a table in the backup store (GET /api/backups/files?tableName=&type=), newest
 * first; back up now; restore a selected archive after a confirmation that names the table and the file.
 */
import type { JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { Badge, Card, ConfirmDialog, Empty, Icon, Loading, Progress } from '../components.js';
import { apiCall, errorText, type BackupFile } from '../lib/api.js';
import { fmtAgo, fmtBytes, fmtTime, isActive, progressOf, subjectOf } from '../lib/format.js';
import { useStoreContext } from '../lib/store.js';
import { navigate, useLocation } from '../router.js';
import { BackupDialog } from './tables.js';

/** `products_delta-…` / `products-…` and the manifest says the rest; the name is enough to tell delta from main */
function typeOf(file: string, table: string): string {
  if (file.startsWith(`${table}_delta`)) return 'delta';
  if (file.startsWith(`${table}_main`)) return 'main';
  return '';
}

export function BackupsPage(): JSX.Element {
  const store = useStoreContext();
  const { query } = useLocation();
  const tables = store.tables?.map((t) => t.name) ?? [];
  const table = query.get('table') ?? tables[0] ?? '';
  const type = query.get('type') ?? '';
  const [files, setFiles] = useState<BackupFile[]>();
  const [error, setError] = useState<string>();
  const [selected, setSelected] = useState('');
  const [dialog, setDialog] = useState<'restore' | 'backup' | undefined>();
  const admin = store.role === 'admin';
  const ops = (store.operations ?? []).filter((o) => (o.kind === 'backup' || o.kind === 'restore') && subjectOf(o) === table);
  const finishedCount = ops.filter((o) => !isActive(o)).length;

  const load = useCallback(async () => {
    if (!table) return;
    try {
      const out = await apiCall<{ backups: BackupFile[] }>('GET', `/api/backups/files?tableName=${encodeURIComponent(table)}${type ? `&type=${type}` : ''}`);
      setFiles(out.backups);
      setError(undefined);
    } catch (err) {
      setFiles([]);
      setError(errorText(err));
    }
  }, [table, type]);

  // reload when the table or type changes and whenever a backup or restore of the table finishes
  useEffect(() => {
    void load();
  }, [load, finishedCount]);

  const setParam = (k: string, v: string): void => {
    const q = new URLSearchParams(query);
    if (v) q.set(k, v);
    else q.delete(k);
    navigate(`/backups?${q.toString()}`);
  };

  if (!store.tables) return <Loading />;
  const chosen = files?.find((f) => f.filename === selected);
  return (
    <div class="page">
      <Card
        title="Archives"
        actions={
          <>
            <label class="inline small">
              <span>Table</span>
              <select value={table} onChange={(e) => { setSelected(''); setParam('table', (e.target as HTMLSelectElement).value); }} data-testid="backup-table">
                {tables.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </label>
            <label class="inline small">
              <span>Part</span>
              <select value={type} onChange={(e) => setParam('type', (e.target as HTMLSelectElement).value)}>
                <option value="">all</option>
                <option value="delta">delta</option>
                <option value="main">main</option>
              </select>
            </label>
            <button type="button" class="btn btn-small" onClick={() => void load()}>
              Refresh
            </button>
            {admin && table ? (
              <button type="button" class="btn btn-small" onClick={() => setDialog('backup')} data-testid="backup-now">
                Back up now
              </button>
            ) : null}
          </>
        }
      >
        {ops.filter(isActive).map((o) => (
          <div class="inline-op" key={o.id}>
            <span class="small">
              {o.kind} {o.state}: {o.steps.find((s) => s.state === 'running')?.name ?? '…'}
            </span>
            <Progress value={progressOf(o)} state={o.state} label={`${o.kind} progress`} />
          </div>
        ))}
        {error ? (
          <div class="alert alert-bad" role="alert">
            <Icon name="warn" /> {error}
          </div>
        ) : null}
        {!table ? (
          <Empty>No tables.</Empty>
        ) : files === undefined ? (
          <Loading />
        ) : files.length === 0 ? (
          <Empty>No archives of {table} in the backup store yet.</Empty>
        ) : (
          <div class="table-wrap">
            <table class="grid" data-testid="backup-files">
              <thead>
                <tr>
                  <th aria-label="select" />
                  <th class="wide">Archive</th>
                  <th>Part</th>
                  <th class="num">Size</th>
                  <th>Taken</th>
                </tr>
              </thead>
              <tbody>
                {files.map((f) => (
                  <tr key={f.key} class={selected === f.filename ? 'row-selected' : ''} onClick={() => setSelected(f.filename)}>
                    <td>
                      <input type="radio" name="archive" aria-label={`select ${f.filename}`} checked={selected === f.filename} onChange={() => setSelected(f.filename)} data-testid="backup-file" value={f.filename} />
                    </td>
                    <td class="mono small">{f.filename}</td>
                    <td>{typeOf(f.filename, table) ? <Badge tone="info">{typeOf(f.filename, table)}</Badge> : '—'}</td>
                    <td class="num small">{fmtBytes(f.size)}</td>
                    <td class="small nowrap" title={fmtTime(f.lastModified)}>
                      {fmtAgo(f.lastModified)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {admin && files && files.length > 0 ? (
          <div class="card-foot">
            <span class="small muted">{chosen ? `Selected: ${chosen.filename}` : 'Select an archive to restore.'}</span>
            <button type="button" class="btn btn-danger" disabled={!chosen} onClick={() => setDialog('restore')} data-testid="restore-button">
              Restore…
            </button>
          </div>
        ) : null}
      </Card>

      {dialog === 'backup' ? <BackupDialog table={table} onClose={() => setDialog(undefined)} initialType={type === 'main' ? 'main' : 'delta'} /> : null}
      {dialog === 'restore' && chosen ? (
        <ConfirmDialog
          title={`Restore ${table}`}
          confirmLabel="Restore and overwrite"
          danger
          onClose={() => setDialog(undefined)}
          action={async () => {
            const t = typeOf(chosen.filename, table);
            const out = await apiCall<{ message?: string }>('POST', '/api/restore', { tableName: table, filename: chosen.filename, ...(t ? { type: t } : {}) });
            return out.message ?? `restore of ${table} started`;
          }}
        >
          <p>
            Restores <strong>{table}</strong> from <span class="mono">{chosen.filename}</span> ({fmtBytes(chosen.size)}, taken{' '}
            {fmtTime(chosen.lastModified)}).
          </p>
          <p class="bad-text">
            The current data of that part of the table is replaced on every node. The archive is downloaded and verified before anything
            is dropped.
          </p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
