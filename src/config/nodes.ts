/**
 * The static platform's node list (`NODES`). Two forms:
 *
 * - JSON array, one entry per node, in ordinal order:
 *   `[{"name":"mc-0","mysql":"10.0.0.5:9306","api":"10.0.0.5:9312","http":"10.0.0.5:9308","agent":"http://10.0.0.5:8080"}]`.
 *   Only `mysql` (or `host`) is required; `api`, `http` and `agent` default to the same host with
 *   MANTICORE_API_PORT / MANTICORE_HTTP_PORT / AGENT_PORT. An entry may also be a plain string, read
 *   like an item of the comma form.
 * - Comma (or whitespace) separated `[name=]host[:mysqlPort]`, e.g. `mc-0=10.0.0.5,mc-1=10.0.0.6:9316`.
 *
 * Names default to `node<i>`. Names and MySQL addresses must be unique.
 */
import { ValidationError } from '../lib/errors.js';
import { parseNodeAddress, showValue, validateHost, validatePort } from '../manticore/identifiers.js';
import type { NodeRef } from '../platform/types.js';

export interface NodeDefaults {
  mysqlPort: number;
  apiPort: number;
  httpPort: number;
  agentPort: number;
}

export const DEFAULT_NODE_PORTS: NodeDefaults = { mysqlPort: 9306, apiPort: 9312, httpPort: 9308, agentPort: 8080 };

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function checkName(name: unknown, field: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new ValidationError(field, `node name ${showValue(name)}: use letters, digits, '-', '_' and '.', starting with a letter or digit (at most 63)`);
  }
  return name;
}

function hostPort(value: string, field: string, defaultPort: number): { host: string; port: number } {
  const idx = value.lastIndexOf(':');
  if (idx < 0) return { host: validateHost(value, field), port: defaultPort };
  return parseNodeAddress(value, field);
}

function fromItem(item: string, ordinal: number, field: string, d: NodeDefaults): NodeRef {
  const eq = item.indexOf('=');
  const name = eq >= 0 ? checkName(item.slice(0, eq), field) : `node${ordinal}`;
  const mysql = hostPort(eq >= 0 ? item.slice(eq + 1) : item, field, d.mysqlPort);
  return {
    name,
    ordinal,
    mysql,
    apiAddress: `${mysql.host}:${d.apiPort}`,
    httpAddress: `${mysql.host}:${d.httpPort}`,
    agentUrl: `http://${mysql.host}:${d.agentPort}`,
  };
}

function agentUrl(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ValidationError(field, `agent URL ${showValue(value)}: write it as 'http://host:port'`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(field, `agent URL ${showValue(value)} is not a URL: write it as 'http://host:port'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError(field, `agent URL ${showValue(value)}: use http:// or https://`);
  return value.replace(/\/+$/, '');
}

function fromObject(entry: Record<string, unknown>, ordinal: number, field: string, d: NodeDefaults): NodeRef {
  const known = new Set(['name', 'host', 'mysql', 'api', 'http', 'agent']);
  for (const k of Object.keys(entry)) {
    if (!known.has(k)) throw new ValidationError(`${field}.${k}`, `unknown key: the keys are ${[...known].join(', ')}`);
  }
  const name = entry.name === undefined ? `node${ordinal}` : checkName(entry.name, `${field}.name`);
  let host: string;
  let mysqlPort = d.mysqlPort;
  if (entry.mysql !== undefined) {
    if (typeof entry.mysql !== 'string') throw new ValidationError(`${field}.mysql`, `${showValue(entry.mysql)}: write 'host:port'`);
    const a = hostPort(entry.mysql, `${field}.mysql`, d.mysqlPort);
    host = a.host;
    mysqlPort = a.port;
  } else if (entry.host !== undefined) {
    host = validateHost(entry.host, `${field}.host`);
  } else {
    throw new ValidationError(field, "a node needs 'mysql' ('host:port') or 'host': add one");
  }
  const addr = (key: 'api' | 'http', port: number) => {
    const v = entry[key];
    if (v === undefined) return `${host}:${port}`;
    if (typeof v !== 'string') throw new ValidationError(`${field}.${key}`, `${showValue(v)}: write 'host:port'`);
    const a = hostPort(v, `${field}.${key}`, port);
    return `${a.host}:${validatePort(a.port, `${field}.${key}`)}`;
  };
  return {
    name,
    ordinal,
    mysql: { host, port: mysqlPort },
    apiAddress: addr('api', d.apiPort),
    httpAddress: addr('http', d.httpPort),
    agentUrl: entry.agent === undefined ? `http://${host}:${d.agentPort}` : agentUrl(entry.agent, `${field}.agent`),
  };
}

/** Parses `NODES` (JSON array or comma list); `field` names the variable in errors. */
export function parseNodeList(text: string, defaults: NodeDefaults = DEFAULT_NODE_PORTS, field = 'NODES'): NodeRef[] {
  const trimmed = text.trim();
  let nodes: NodeRef[];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new ValidationError(field, `is not valid JSON (${(err as Error).message}): write a JSON array of nodes or a comma list of host[:port]`);
    }
    if (!Array.isArray(parsed)) throw new ValidationError(field, 'must be a JSON array of nodes, e.g. [{"mysql":"10.0.0.5:9306"}]');
    nodes = parsed.map((entry, i) => {
      const f = `${field}[${i}]`;
      if (typeof entry === 'string') return fromItem(entry.trim(), i, f, defaults);
      if (entry && typeof entry === 'object' && !Array.isArray(entry)) return fromObject(entry as Record<string, unknown>, i, f, defaults);
      throw new ValidationError(f, `${showValue(entry)}: each node is an object like {"mysql":"host:port"} or a string "host[:port]"`);
    });
  } else {
    const items = trimmed.split(/[\s,]+/).filter((x) => x !== '');
    nodes = items.map((item, i) => fromItem(item, i, `${field}[${i}]`, defaults));
  }
  if (nodes.length === 0) throw new ValidationError(field, 'lists no node: name at least one, e.g. NODES=10.0.0.5,10.0.0.6');
  const names = new Set<string>();
  const addrs = new Set<string>();
  for (const n of nodes) {
    if (names.has(n.name)) throw new ValidationError(`${field}[${n.ordinal}]`, `node name '${n.name}' is used twice: give every node its own name`);
    const a = `${n.mysql.host}:${n.mysql.port}`;
    if (addrs.has(a)) throw new ValidationError(`${field}[${n.ordinal}]`, `MySQL address ${a} is listed twice: every node needs its own address`);
    names.add(n.name);
    addrs.add(a);
  }
  return nodes;
}
