/**
 * The UI's state: the cluster, tables and operations views fetched from the API, kept live by the event
 * stream (an operation event updates its record in place; node and condition events refetch the views,
 * debounced), plus a slow safety refresh for values that change without an event (row counts).
 */
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { StatusEvent } from '../../status/types.js';
import { ApiError, apiCall, apiData, clearToken, errorText, type ClusterView, type DiscoverView, type OperationRecord, type Role, type TableStatusView } from './api.js';
import { connectEvents, type StreamState } from './sse.js';

const SAFETY_REFRESH_MS = 10_000;
const EVENT_DEBOUNCE_MS = 250;
const OPERATIONS_LIMIT = 200;

export interface Toast {
  id: number;
  kind: 'ok' | 'error' | 'info';
  text: string;
}

export interface Store {
  token: string;
  role: Role | undefined;
  cluster: ClusterView | undefined;
  discover: DiscoverView | undefined;
  tables: TableStatusView[] | undefined;
  operations: OperationRecord[] | undefined;
  loadError: string | undefined;
  stream: { state: StreamState; detail?: string };
  lastEventAt: string | undefined;
  toasts: Toast[];
  refresh(): Promise<void>;
  toast(kind: Toast['kind'], text: string): void;
  dismiss(id: number): void;
  signIn(token: string, role: Role): void;
  signOut(): void;
}

export const StoreContext = createContext<Store | null>(null);

export function useStoreContext(): Store {
  const s = useContext(StoreContext);
  if (!s) throw new Error('StoreContext missing');
  return s;
}

function upsert(list: OperationRecord[] | undefined, op: OperationRecord): OperationRecord[] {
  const out = (list ?? []).filter((o) => o.id !== op.id);
  out.push(op);
  out.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
  return out.slice(0, OPERATIONS_LIMIT);
}

export function useStore(initialToken: string, initialRole: Role | undefined): Store {
  const [token, setToken] = useState(initialToken);
  const [role, setRole] = useState<Role | undefined>(initialRole);
  const [cluster, setCluster] = useState<ClusterView>();
  const [discover, setDiscover] = useState<DiscoverView>();
  const [tables, setTables] = useState<TableStatusView[]>();
  const [operations, setOperations] = useState<OperationRecord[]>();
  const [loadError, setLoadError] = useState<string>();
  const [stream, setStream] = useState<{ state: StreamState; detail?: string }>({ state: 'closed' });
  const [lastEventAt, setLastEventAt] = useState<string>();
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextToast = useRef(1);
  const debounce = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const refresh = useCallback(async () => {
    if (!token) return;
    try {
      const [c, d, t, o] = await Promise.all([
        apiData<ClusterView>('GET', '/api/cluster?view=full'),
        apiCall<DiscoverView>('GET', '/api/cluster/discover'),
        apiData<TableStatusView[]>('GET', '/api/tables'),
        apiData<OperationRecord[]>('GET', `/api/operations?limit=${OPERATIONS_LIMIT}`),
      ]);
      setCluster(c);
      setDiscover(d);
      setTables(t);
      setOperations(o);
      setLoadError(undefined);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        // the token was revoked or changed: back to sign-in
        clearToken();
        setToken('');
        setRole(undefined);
        setLoadError(undefined);
        return;
      }
      setLoadError(errorText(err));
    }
  }, [token]);

  const toast = useCallback((kind: Toast['kind'], text: string) => {
    const id = nextToast.current++;
    setToasts((ts) => [...ts.slice(-4), { id, kind, text }]);
    setTimeout(() => setToasts((ts) => ts.filter((t) => t.id !== id)), kind === 'error' ? 12_000 : 6_000);
  }, []);
  const dismiss = useCallback((id: number) => setToasts((ts) => ts.filter((t) => t.id !== id)), []);

  useEffect(() => {
    if (!token) return undefined;
    void refresh();
    const scheduleRefresh = (): void => {
      if (debounce.current) clearTimeout(debounce.current);
      debounce.current = setTimeout(() => void refresh(), EVENT_DEBOUNCE_MS);
    };
    const onEvent = (e: StatusEvent): void => {
      setLastEventAt(e.at);
      if (e.type === 'operation') {
        setOperations((list) => upsert(list, e.operation));
        if (e.operation.state !== 'running' && e.operation.state !== 'pending') scheduleRefresh();
      } else {
        scheduleRefresh();
      }
    };
    const stop = connectEvents(token, onEvent, (state, detail) => {
      setStream({ state, ...(detail !== undefined ? { detail } : {}) });
      if (state === 'live') scheduleRefresh();
    });
    const safety = setInterval(() => void refresh(), SAFETY_REFRESH_MS);
    return () => {
      stop();
      clearInterval(safety);
      if (debounce.current) clearTimeout(debounce.current);
    };
  }, [token, refresh]);

  const signIn = useCallback((t: string, r: Role) => {
    setToken(t);
    setRole(r);
  }, []);
  const signOut = useCallback(() => {
    setToken('');
    setRole(undefined);
    setCluster(undefined);
    setTables(undefined);
    setOperations(undefined);
    setDiscover(undefined);
  }, []);

  return { token, role, cluster, discover, tables, operations, loadError, stream, lastEventAt, toasts, refresh, toast, dismiss, signIn, signOut };
}
