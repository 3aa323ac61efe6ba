/**
 * The UI's only door to the controller: the public REST API (src/api/README.md) with the bearer token.
 * Errors carry the API's {error:{code,message,field}} so every failure shows the server's own words.
 */
import type { Condition, OperationRecord, TableStatusView, NodeStatusView } from '../../status/types.js';

export type { Condition, OperationRecord, TableStatusView, NodeStatusView };

/** GET /api/nodes and /api/cluster?view=full nodes */
export interface NodeView extends Partial<Omit<NodeStatusView, 'name' | 'ordinal' | 'apiAddress'>> {
  name: string;
  ordinal: number;
  apiAddress: string;
  mysql: string;
  agentUrl: string;
  ready: boolean;
  observed: boolean;
}

export interface ClusterView {
  name: string;
  phase: string;
  uuid?: string;
  size: number;
  nodes: NodeView[];
  conditions: Condition[];
  specProblems: { origin?: { kind: string; ref: string }; pointer?: string; message: string; table?: string }[];
  version?: string;
}

export interface DiscoverView {
  cluster: { uuid: string; sourceAddr: string; sourceIdx: number; nodeCount: number } | null;
  splitBrain: boolean;
  groups?: { uuid: string; replicas: number[]; nodeCount: number }[];
}

export interface NodeQueryResult {
  node: string;
  ordinal: number;
  address: string;
  ok: boolean;
  columns: string[];
  rows: Record<string, unknown>[];
  rowCount: number;
  totalRows: number;
  truncated: boolean;
  affectedRows?: number;
  durationMs: number;
  error?: { kind: string; message: string };
}

export interface QueryAnswer {
  status: 'ok' | 'partial' | 'error';
  kind: 'read' | 'write';
  verb: string;
  mode: 'node' | 'first-available' | 'broadcast';
  attempts: number;
  results: NodeQueryResult[];
}

export interface BackupFile {
  filename: string;
  key: string;
  size: number;
  lastModified: string;
}

export type Role = 'admin' | 'viewer';

const TOKEN_KEY = 'mo-token';

export function readToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Keeps the token for this tab (sessionStorage) or across restarts too (localStorage) when `remember`. */
export function storeToken(token: string, remember: boolean): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  if (remember) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Turns any error body the API sends (our envelope or an original-shape string) into an ApiError. */
function errorOf(status: number, body: unknown): ApiError {
  if (typeof body === 'object' && body !== null) {
    const e = (body as { error?: unknown }).error;
    if (typeof e === 'string') return new ApiError(status, `HTTP_${status}`, e);
    if (typeof e === 'object' && e !== null) {
      const { code, message, field } = e as { code?: unknown; message?: unknown; field?: unknown };
      return new ApiError(status, typeof code === 'string' ? code : `HTTP_${status}`, typeof message === 'string' ? message : `HTTP ${status}`, typeof field === 'string' ? field : undefined);
    }
  }
  return new ApiError(status, `HTTP_${status}`, `the API answered HTTP ${status}`);
}

/** One API call; resolves with the parsed JSON body (the whole body: callers pick `data` or an original shape). */
export async function apiCall<T>(method: string, path: string, body?: unknown, token = readToken()): Promise<T> {
  const headers: Record<string, string> = { 'X-Requested-By': 'web-ui' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `the controller did not answer (${err instanceof Error ? err.message : String(err)})`);
  }
  let parsed: unknown;
  const text = await res.text();
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) throw errorOf(res.status, parsed);
  return parsed as T;
}

/** A call answering our envelope {data}. */
export async function apiData<T>(method: string, path: string, body?: unknown): Promise<T> {
  const out = await apiCall<{ data: T }>(method, path, body);
  return out.data;
}

/** The signed-in role: GET /api/whoami; a controller without that route (404) treats every token as admin. */
export async function fetchRole(token: string): Promise<Role> {
  try {
    const out = await apiCall<{ data?: { role?: string } }>('GET', '/api/whoami', undefined, token);
    return out.data?.role === 'viewer' ? 'viewer' : 'admin';
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      // the token is still checked: whoami is missing, not the auth
      await apiCall('GET', '/api/nodes', undefined, token);
      return 'admin';
    }
    throw err;
  }
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.code.startsWith('HTTP_') || err.code === 'NETWORK' ? err.message : `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}
