/** Sign in with a token (kept in sessionStorage, or localStorage when remembered), role shown, theme. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { Badge, Card, Icon } from '../components.js';
import { clearToken, errorText, fetchRole, storeToken, type Role } from '../lib/api.js';
import { useStoreContext } from '../lib/store.js';
import { applyTheme, readTheme, type ThemeChoice } from '../theme.js';

export function SignInForm({ onSignedIn }: { onSignedIn: (token: string, role: Role) => void }): JSX.Element {
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError('paste the controller token (npm start prints it; ORCHESTRATOR_TOKEN sets it)');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const role = await fetchRole(t);
      storeToken(t, remember);
      onSignedIn(t, role);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="signin" onSubmit={(e) => void submit(e)} data-testid="signin-form">
      <label class="field">
        <span>API token</span>
        <input type="password" autocomplete="current-password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} data-testid="token-input" autofocus />
      </label>
      <label class="inline small">
        <input type="checkbox" checked={remember} onChange={(e) => setRemember((e.target as HTMLInputElement).checked)} />
        <span>Remember on this device (otherwise this tab only)</span>
      </label>
      {error ? (
        <div class="alert alert-bad" role="alert" data-testid="signin-error">
          <Icon name="warn" /> {error}
        </div>
      ) : null}
      <button type="submit" class="btn btn-primary" disabled={busy} data-testid="signin-button">
        {busy ? 'Checking…' : 'Sign in'}
      </button>
    </form>
  );
}

export function SettingsPage({ onThemeChange }: { onThemeChange: () => void }): JSX.Element {
  const store = useStoreContext();
  const [theme, setTheme] = useState<ThemeChoice>(readTheme());
  const choose = (t: ThemeChoice): void => {
    setTheme(t);
    applyTheme(t);
    onThemeChange();
  };
  return (
    <div class="page narrow">
      <Card title="Session">
        <dl class="kv">
          <dt>Role</dt>
          <dd data-testid="role">
            <Badge tone={store.role === 'admin' ? 'warn' : 'info'}>{store.role ?? '—'}</Badge>{' '}
            <span class="small muted">{store.role === 'admin' ? 'can import, back up, restore, repair and write' : 'read-only: views and read queries'}</span>
          </dd>
          <dt>Token</dt>
          <dd class="mono small">{store.token ? `${store.token.slice(0, 4)}…${store.token.slice(-4)}` : '—'}</dd>
          <dt>Controller</dt>
          <dd class="small">
            cluster <span class="mono">{store.cluster?.name ?? '—'}</span> · version <span class="mono">{store.cluster?.version ?? '—'}</span>
          </dd>
          <dt>Live updates</dt>
          <dd class="small">
            {store.stream.state}
            {store.stream.detail ? ` (${store.stream.detail})` : ''}
          </dd>
        </dl>
        <div class="card-foot">
          <span />
          <button
            type="button"
            class="btn"
            onClick={() => {
              clearToken();
              store.signOut();
            }}
            data-testid="signout"
          >
            Sign out
          </button>
        </div>
      </Card>
      <Card title="Appearance">
        <div class="chips" role="radiogroup" aria-label="theme">
          {(['system', 'light', 'dark'] as ThemeChoice[]).map((t) => (
            <button key={t} type="button" role="radio" aria-checked={theme === t} class={`chip ${theme === t ? 'chip-on' : ''}`} onClick={() => choose(t)}>
              {t}
            </button>
          ))}
        </div>
      </Card>
      <Card title="About">
        <p class="small muted">
          This console only calls the controller's public REST API (<span class="mono">/api/*</span>) with your token, so everything it
          does can also be done with <span class="mono">mctl</span> or curl. Live updates come from <span class="mono">GET /api/events</span>.
        </p>
      </Card>
    </div>
  );
}
