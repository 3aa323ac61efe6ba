/**
 * Query console: SQL editor (Ctrl/Cmd+Enter runs), history in localStorage, one node / first available /
 * broadcast, results side by side per node. Read-only unless an admin turns write mode on, which sends
 * `write: true` after a confirmation.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { Badge, Card, ConfirmDialog, Empty, Icon } from '../components.js';
import { apiData, errorText, type NodeQueryResult, type QueryAnswer } from '../lib/api.js';
import { fmtAgo, fmtDuration } from '../lib/format.js';
import { useStoreContext } from '../lib/store.js';

const HISTORY_KEY = 'mo-query-history';
const HISTORY_MAX = 30;

interface HistoryEntry {
  sql: string;
  target: string;
  write: boolean;
  at: string;
}

function loadHistory(): HistoryEntry[] {
  try {
    const v = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? (v as HistoryEntry[]).filter((e) => typeof e?.sql === 'string') : [];
  } catch {
    return [];
  }
}

function saveHistory(list: HistoryEntry[]): void {
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(list.slice(0, HISTORY_MAX)));
  } catch {
    // storage full or disabled: history stays in memory
  }
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function ResultPanel({ r }: { r: NodeQueryResult }): JSX.Element {
  return (
    <div class={`result ${r.ok ? '' : 'result-bad'}`} data-testid="query-result" data-node={r.node} data-ok={String(r.ok)}>
      <header class="result-head">
        <span class="mono strong">{r.node}</span>
        <Badge tone={r.ok ? 'ok' : 'bad'}>{r.ok ? 'ok' : (r.error?.kind ?? 'error')}</Badge>
        <span class="small muted">
          {r.ok ? (r.affectedRows !== undefined ? `${r.affectedRows} affected` : `${r.rowCount} row(s)${r.truncated ? ` of ${r.totalRows}` : ''}`) : ''} · {fmtDuration(r.durationMs)}
        </span>
      </header>
      {r.error ? <div class="alert alert-bad small">{r.error.message}</div> : null}
      {r.ok && r.columns.length > 0 ? (
        <div class="table-wrap result-table">
          <table class="grid compact">
            <thead>
              <tr>
                {r.columns.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {r.rows.map((row, i) => (
                <tr key={i}>
                  {r.columns.map((c) => (
                    <td key={c} class="mono small">
                      {cell(row[c])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : r.ok && r.affectedRows === undefined ? (
        <p class="small muted pad">empty result</p>
      ) : null}
      {r.truncated ? <p class="small muted pad">showing the first {r.rowCount} of {r.totalRows} rows</p> : null}
    </div>
  );
}

export function QueryPage(): JSX.Element {
  const store = useStoreContext();
  const nodes = store.cluster?.nodes ?? [];
  const [sql, setSql] = useState(() => loadHistory()[0]?.sql ?? 'SHOW TABLES');
  const [target, setTarget] = useState('broadcast');
  const [write, setWrite] = useState(false);
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<QueryAnswer>();
  const [error, setError] = useState<string>();
  const [history, setHistory] = useState<HistoryEntry[]>(loadHistory);
  const [confirming, setConfirming] = useState(false);
  const admin = store.role === 'admin';

  const body = (): Record<string, unknown> => ({
    sql,
    ...(target === 'broadcast' ? { broadcast: true } : target === 'first' ? {} : { node: target }),
    ...(write && admin ? { write: true } : {}),
  });

  const execute = async (): Promise<QueryAnswer> => {
    const out = await apiData<QueryAnswer>('POST', '/api/query', body());
    setAnswer(out);
    const entry: HistoryEntry = { sql, target, write: write && admin, at: new Date().toISOString() };
    const next = [entry, ...history.filter((h) => h.sql !== sql)].slice(0, HISTORY_MAX);
    setHistory(next);
    saveHistory(next);
    return out;
  };

  const run = async (): Promise<void> => {
    if (!sql.trim()) return;
    if (write && admin) {
      setConfirming(true);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await execute();
    } catch (err) {
      setAnswer(undefined);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const targetLabel = target === 'broadcast' ? 'every node' : target === 'first' ? 'the first available node' : target;

  return (
    <div class="page query-page">
      <Card
        title="SQL"
        actions={
          <>
            <label class="inline small">
              <span>Target</span>
              <select value={target} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)} data-testid="query-target">
                <option value="broadcast">Broadcast (all nodes)</option>
                <option value="first">First available</option>
                {nodes.map((n) => (
                  <option key={n.name} value={n.name}>
                    {n.name}
                  </option>
                ))}
              </select>
            </label>
            <label class={`inline small switch ${admin ? '' : 'disabled'}`} title={admin ? 'allow statements that change data' : 'write mode needs an admin token'}>
              <input type="checkbox" checked={write && admin} disabled={!admin} onChange={(e) => setWrite((e.target as HTMLInputElement).checked)} data-testid="write-mode" />
              <span>Write mode</span>
            </label>
            <button type="button" class={`btn ${write && admin ? 'btn-danger' : 'btn-primary'}`} onClick={() => void run()} disabled={busy} data-testid="run-query">
              <Icon name="play" size={14} /> {busy ? 'Running…' : 'Run'}
            </button>
          </>
        }
      >
        <textarea
          class="editor mono"
          spellcheck={false}
          aria-label="SQL statement"
          rows={6}
          value={sql}
          data-testid="sql-editor"
          onInput={(e) => setSql((e.target as HTMLTextAreaElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void run();
            }
          }}
        />
        <p class="small muted hint">
          Ctrl/⌘+Enter runs. {write && admin ? <strong class="bad-text">Write mode: the statement may change data on {targetLabel}.</strong> : 'Read-only: SELECT, SHOW, DESCRIBE, EXPLAIN, CALL …'}
        </p>
      </Card>

      {error ? (
        <div class="alert alert-bad" role="alert" data-testid="query-error">
          <Icon name="warn" /> {error}
        </div>
      ) : null}

      {answer ? (
        <Card
          title={
            <span class="title-row">
              Results <Badge tone={answer.status === 'ok' ? 'ok' : answer.status === 'partial' ? 'warn' : 'bad'}>{answer.status}</Badge>
              <span class="small muted">
                {answer.kind} · {answer.verb} · {answer.mode} · {answer.results.length} node(s)
              </span>
            </span>
          }
        >
          <div class="results" data-testid="query-results">
            {answer.results.map((r) => (
              <ResultPanel key={r.node} r={r} />
            ))}
          </div>
        </Card>
      ) : null}

      <Card title="History" actions={history.length > 0 ? <button type="button" class="btn btn-small" onClick={() => { setHistory([]); saveHistory([]); }}>Clear</button> : null}>
        {history.length === 0 ? (
          <Empty>Statements you run appear here (kept in this browser).</Empty>
        ) : (
          <ul class="history">
            {history.map((h) => (
              <li key={`${h.at}-${h.sql}`}>
                <button type="button" class="history-item" onClick={() => { setSql(h.sql); setTarget(h.target); }} title="load into the editor">
                  <span class="mono small ellipsis">{h.sql}</span>
                  <span class="small muted nowrap">
                    {h.write ? <Badge tone="warn">write</Badge> : null} {h.target} · {fmtAgo(h.at)}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </Card>

      {confirming ? (
        <ConfirmDialog
          title="Run a write statement"
          confirmLabel="Run write"
          danger
          onClose={() => setConfirming(false)}
          action={async () => {
            setError(undefined);
            const out = await execute();
            return `write ran on ${out.results.length} node(s): ${out.status}`;
          }}
        >
          <p>This statement runs with write permission on {targetLabel}:</p>
          <pre class="mono code">{sql}</pre>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
