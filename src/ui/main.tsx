/** The web UI's entry: the shell (navigation, live-update indicator, theme toggle), sign-in gate and pages. */
import { render, type JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Icon, Toasts } from './components.js';
import { fetchRole, readToken, clearToken, ApiError, type Role } from './lib/api.js';
import { StoreContext, useStore, useStoreContext } from './lib/store.js';
import { BackupsPage } from './pages/backups.js';
import { OperationsPage } from './pages/operations.js';
import { OverviewPage } from './pages/overview.js';
import { QueryPage } from './pages/query.js';
import { SettingsPage, SignInForm } from './pages/settings.js';
import { TablesPage } from './pages/tables.js';
import { Link, useLocation } from './router.js';
import { applyTheme, effectiveTheme, readTheme } from './theme.js';

const PAGES = [
  { path: '/', label: 'Overview', icon: 'overview' },
  { path: '/tables', label: 'Tables', icon: 'tables' },
  { path: '/query', label: 'Query', icon: 'query' },
  { path: '/operations', label: 'Operations', icon: 'operations' },
  { path: '/backups', label: 'Backups', icon: 'backups' },
  { path: '/settings', label: 'Settings', icon: 'settings' },
] as const;

function Shell({ onThemeChange, theme }: { onThemeChange: () => void; theme: 'light' | 'dark' }): JSX.Element {
  const store = useStoreContext();
  const { path } = useLocation();
  const page = PAGES.find((p) => p.path === path) ?? PAGES[0];
  const active = (store.operations ?? []).filter((o) => o.state === 'running' || o.state === 'pending').length;
  const split = store.cluster?.conditions.some((c) => c.type === 'SplitBrain' && c.status === 'True') ?? false;
  useEffect(() => {
    document.title = `${page.label} · Manticore Orchestrator`;
  }, [page.label]);
  const toggleTheme = (): void => {
    applyTheme(theme === 'dark' ? 'light' : 'dark');
    onThemeChange();
  };
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="brand">
          <Icon name="logo" size={20} />
          <span class="brand-name">Manticore Orchestrator</span>
          {store.cluster ? <span class="brand-cluster mono">{store.cluster.name}</span> : null}
        </div>
        <nav class="nav" aria-label="pages">
          {PAGES.map((p) => (
            <Link key={p.path} to={p.path} class="nav-link" current={p.path === page.path} testid={`nav-${p.label.toLowerCase()}`}>
              <Icon name={p.icon} />
              <span class="nav-label">{p.label}</span>
              {p.path === '/operations' && active > 0 ? <span class="nav-count">{active}</span> : null}
              {p.path === '/' && split ? <span class="nav-dot" title="split brain" /> : null}
            </Link>
          ))}
        </nav>
        <div class="topbar-right">
          <span class={`live live-${store.stream.state}`} title={store.stream.detail ?? `live updates: ${store.stream.state}`} data-testid="live">
            <span class="live-dot" /> <span class="live-label">{store.stream.state === 'live' ? 'live' : store.stream.state}</span>
          </span>
          <span class={`role role-${store.role ?? 'none'}`}>{store.role}</span>
          <button type="button" class="btn-icon" onClick={toggleTheme} aria-label={`switch to ${theme === 'dark' ? 'light' : 'dark'} theme`} data-testid="theme-toggle">
            <Icon name={theme === 'dark' ? 'sun' : 'moon'} />
          </button>
        </div>
      </header>
      {store.loadError ? (
        <div class="alert alert-bad global-error" role="alert">
          {store.loadError}
        </div>
      ) : null}
      <main id="main" tabIndex={-1}>
        <h1 class="page-title">{page.label}</h1>
        {page.path === '/' ? <OverviewPage /> : null}
        {page.path === '/tables' ? <TablesPage /> : null}
        {page.path === '/query' ? <QueryPage /> : null}
        {page.path === '/operations' ? <OperationsPage /> : null}
        {page.path === '/backups' ? <BackupsPage /> : null}
        {page.path === '/settings' ? <SettingsPage onThemeChange={onThemeChange} /> : null}
      </main>
      <Toasts />
    </div>
  );
}

function Root({ token, role }: { token: string; role: Role | undefined }): JSX.Element {
  const [theme, setTheme] = useState(effectiveTheme());
  const store = useStore(token, role);

  useEffect(() => {
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const on = (): void => {
      if (readTheme() === 'system') {
        applyTheme('system');
        setTheme(effectiveTheme());
      }
    };
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);

  const onThemeChange = (): void => setTheme(effectiveTheme());

  return (
    <StoreContext.Provider value={store}>
      {store.token ? (
        <Shell onThemeChange={onThemeChange} theme={theme} />
      ) : (
        <main class="signin-page">
          <div class="signin-card">
            <div class="brand">
              <Icon name="logo" size={28} />
              <h1 class="brand-name">Manticore Orchestrator</h1>
            </div>
            <p class="muted small">Sign in with the controller's API token.</p>
            <SignInForm onSignedIn={(t, r) => store.signIn(t, r)} />
          </div>
        </main>
      )}
    </StoreContext.Provider>
  );
}

/** Checks a remembered token once (a revoked one goes back to sign-in), then renders the app. */
function App(): JSX.Element {
  const [boot, setBoot] = useState<{ token: string; role?: Role; checked: boolean }>(() => ({ token: readToken(), checked: false }));
  useEffect(() => {
    if (boot.checked) return;
    if (!boot.token) {
      setBoot({ token: '', checked: true });
      return;
    }
    fetchRole(boot.token)
      .then((role) => setBoot({ token: boot.token, role, checked: true }))
      .catch((err: unknown) => {
        const revoked = err instanceof ApiError && err.status === 401;
        if (revoked) clearToken();
        setBoot({ token: revoked ? '' : boot.token, role: 'viewer', checked: true });
      });
  }, [boot]);
  if (!boot.checked) return <div class="empty">Loading…</div>;
  return <Root token={boot.token} role={boot.role} />;
}

applyTheme(readTheme());
const root = document.getElementById('app');
if (root) render(<App />, root);
