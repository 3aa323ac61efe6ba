/**
 * Identifier and address validation for everything that reaches Manticore SQL (DESIGN.md section 8).
 *
 * Manticore's SQL lexer takes names of the form `[A-Za-z_][A-Za-z0-9_]*`, bare or backtick-quoted.
 * We accept exactly that (ASCII only), up to MAX_IDENTIFIER_LENGTH characters, and additionally refuse
 * SphinxQL's reserved words and, for table names, upper-case letters (Manticore lower-cases table
 * names, so `Foo` would come back from SHOW TABLES as `foo` and never match the spec).
 * A validated name can therefore never carry a quote, a comment or a statement separator.
 */
import { ValidationError } from '../lib/errors.js';

/** Longest identifier we accept (table, cluster, column names). */
export const MAX_IDENTIFIER_LENGTH = 64;
/** Longest DNS host name (RFC 1035; Manticore's JOIN also caps host names at 253). */
export const MAX_HOSTNAME_LENGTH = 253;

export type IdentifierKind = 'table' | 'cluster' | 'column' | 'setting' | 'option';

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Manticore's reserved keywords (manual, "List of reserved keywords"). Such names would need quoting in
 * every position, and some statements (comma-separated table lists) take names bare, so we refuse them.
 */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  'and', 'as', 'by', 'columnarscan', 'distinct', 'div', 'docidindex', 'explain', 'facet', 'false', 'force',
  'from', 'ignore', 'in', 'indexes', 'inner', 'is', 'join', 'knn', 'left', 'limit', 'mod', 'not',
  'no_columnarscan', 'no_docidindex', 'no_secondaryindex', 'null', 'offset', 'on', 'or', 'order', 'relaxed',
  'secondaryindex', 'select', 'tables', 'true',
]);

const FIX_HINT = 'use letters, digits and underscores, starting with a letter or underscore';

/** Shows an untrusted value inside an error message: one line, control characters visible, bounded. */
export function showValue(value: unknown, max = 80): string {
  if (typeof value !== 'string') return value === undefined ? 'undefined' : JSON.stringify(value) ?? String(value);
  // JSON escaping makes newlines, NUL and other control characters visible; drop the outer double quotes
  let shown = JSON.stringify(value).slice(1, -1);
  if (shown.length > max) shown = `${shown.slice(0, max)}...(${value.length} chars)`;
  return `'${shown}'`;
}

/**
 * Checks a table/cluster/column/setting name. Returns it unchanged when valid; throws ValidationError
 * naming `field` (defaults to the kind) and saying how to fix it otherwise.
 */
export function validateIdentifier(name: unknown, kind: IdentifierKind = 'table', field: string = kind): string {
  const what = `${kind} name`;
  if (typeof name !== 'string') {
    throw new ValidationError(field, `${what} must be a string, got ${name === null ? 'null' : typeof name}`);
  }
  if (name.length === 0) throw new ValidationError(field, `${what} is empty: ${FIX_HINT}`);
  if (name.length > MAX_IDENTIFIER_LENGTH) {
    throw new ValidationError(
      field,
      `${what} ${showValue(name, 20)} is ${name.length} characters long: use at most ${MAX_IDENTIFIER_LENGTH}`,
    );
  }
  if (!IDENT_RE.test(name)) throw new ValidationError(field, `${what} ${showValue(name)}: ${FIX_HINT}`);
  if (RESERVED_WORDS.has(name.toLowerCase())) {
    throw new ValidationError(field, `${what} '${name}' is a reserved word in Manticore SQL: choose another name`);
  }
  if (kind === 'table' && name !== name.toLowerCase()) {
    throw new ValidationError(
      field,
      `${what} '${name}' has upper-case letters: Manticore stores table names in lower case, use '${name.toLowerCase()}'`,
    );
  }
  return name;
}

/** True when `validateIdentifier` would accept the name. */
export function isValidIdentifier(name: unknown, kind: IdentifierKind = 'table'): boolean {
  try {
    validateIdentifier(name, kind);
    return true;
  } catch {
    return false;
  }
}

/** Validates, then returns the backtick-quoted form Manticore accepts (`` `name` ``). */
export function quoteIdent(name: unknown, kind: IdentifierKind = 'table', field: string = kind): string {
  return `\`${validateIdentifier(name, kind, field)}\``;
}

/**
 * Validates and returns the name unquoted, for the few places where Manticore's grammar takes raw
 * text rather than a quotable identifier (`cluster:table`, comma-separated table lists).
 * Safe because a valid name is `[A-Za-z_][A-Za-z0-9_]*` and not a reserved word.
 */
export function bareIdent(name: unknown, kind: IdentifierKind = 'table', field: string = kind): string {
  return validateIdentifier(name, kind, field);
}

// ---------------------------------------------------------------------------------------------
// cluster-qualified names

export interface QualifiedName {
  cluster?: string;
  table: string;
}

/** Parses and validates `table` or `cluster:table`. */
export function parseQualifiedName(value: unknown, field = 'table'): QualifiedName {
  if (typeof value !== 'string') throw new ValidationError(field, `expected 'table' or 'cluster:table', got ${showValue(value)}`);
  const parts = value.split(':');
  if (parts.length === 1) return { table: validateIdentifier(parts[0], 'table', field) };
  if (parts.length === 2) {
    return { cluster: validateIdentifier(parts[0], 'cluster', field), table: validateIdentifier(parts[1], 'table', field) };
  }
  throw new ValidationError(field, `${showValue(value)}: expected 'table' or 'cluster:table'`);
}

/** `cluster:table` (both validated, unquoted as Manticore's manual writes it) or the quoted table alone. */
export function qualifiedTable(table: string, cluster?: string, field = 'table'): string {
  if (cluster === undefined) return quoteIdent(table, 'table', field);
  return `${bareIdent(cluster, 'cluster', `${field}.cluster`)}:${bareIdent(table, 'table', field)}`;
}

// ---------------------------------------------------------------------------------------------
// node addresses

export interface NodeAddress {
  host: string;
  port: number;
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const DNS_LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function isIpv4(host: string): boolean {
  const m = IPV4_RE.exec(host);
  if (!m) return false;
  return m.slice(1).every((octet) => Number(octet) <= 255 && (octet === '0' || !octet.startsWith('0')));
}

function isDnsName(host: string): boolean {
  if (host.length === 0 || host.length > MAX_HOSTNAME_LENGTH) return false;
  const labels = host.endsWith('.') ? host.slice(0, -1).split('.') : host.split('.');
  if (!labels.every((l) => DNS_LABEL_RE.test(l))) return false;
  // an all-numeric dotted name is a malformed IPv4 address, not a host name
  return !labels.every((l) => /^\d+$/.test(l));
}

/** Validates a host (DNS name or IPv4 address). */
export function validateHost(host: unknown, field = 'host'): string {
  if (typeof host !== 'string' || !(isIpv4(host) || isDnsName(host))) {
    throw new ValidationError(
      field,
      `host ${showValue(host)}: use a DNS name (letters, digits, '-' and '.') or an IPv4 address`,
    );
  }
  return host;
}

/** Validates a port number 1-65535 (number or decimal string). */
export function validatePort(port: unknown, field = 'port'): number {
  const n = typeof port === 'string' && /^\d{1,5}$/.test(port) ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ValidationError(field, `port ${showValue(port)}: use a whole number from 1 to 65535`);
  }
  return n;
}

/** Parses and validates `host:port`. */
export function parseNodeAddress(value: unknown, field = 'node'): NodeAddress {
  if (typeof value !== 'string') throw new ValidationError(field, `node address ${showValue(value)}: use 'host:port'`);
  const idx = value.lastIndexOf(':');
  if (idx <= 0) throw new ValidationError(field, `node address ${showValue(value)}: use 'host:port', e.g. 'node1:9312'`);
  const host = validateHost(value.slice(0, idx), field);
  const port = validatePort(value.slice(idx + 1), field);
  return { host, port };
}

/** Validates `host:port` and returns it in canonical form. */
export function validateNodeAddress(value: unknown, field = 'node'): string {
  const { host, port } = parseNodeAddress(value, field);
  return `${host}:${port}`;
}
