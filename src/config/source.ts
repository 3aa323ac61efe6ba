/**
 * Reading settings: flags override env vars, env vars override defaults. Every error names the
 * flag or variable it came from and says how to fix it.
 */
import { ValidationError } from '../lib/errors.js';
import { showValue } from '../manticore/identifiers.js';
import type { SettingDoc } from './settings.js';

/** A process environment (process.env or a test's object). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Parsed command-line flags: flag name (with the dashes) → value (`true` for a bare boolean flag). */
export type Flags = Readonly<Record<string, string | true>>;

export interface ParsedArgs {
  flags: Flags;
  /** arguments that are not flags, in order */
  positional: string[];
}

/**
 * Parses `--name value`, `--name=value` and boolean `--name`. `known` lists the flags that take a
 * value; `booleans` those that do not. An unknown flag or a value-taking flag at the end is an error.
 */
export function parseFlags(argv: readonly string[], known: readonly string[], booleans: readonly string[] = ['--help']): ParsedArgs {
  const flags: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    if (booleans.includes(name)) {
      if (eq >= 0) throw new ValidationError(name, `${name} takes no value: write '${name}' alone`);
      flags[name] = true;
      continue;
    }
    if (!known.includes(name)) {
      const all = [...known, ...booleans].sort().join(', ');
      throw new ValidationError(name, `unknown flag ${showValue(name)}: the flags are ${all}`);
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ValidationError(name, `${name} needs a value: write '${name} <value>'`);
      i++;
    }
    flags[name] = value;
  }
  return { flags, positional };
}

export interface RawValue {
  value: string;
  /** the flag or env var it came from: errors name it */
  from: string;
}

/** Reads settings through their docs: the flag first, then each env var in order; empty values count as unset. */
export class SettingSource {
  constructor(
    readonly env: Env,
    readonly flags: Flags = {},
  ) {}

  raw(doc: SettingDoc): RawValue | undefined {
    if (doc.flag) {
      const f = this.flags[doc.flag];
      if (typeof f === 'string') return { value: f.trim(), from: doc.flag };
    }
    for (const name of doc.env) {
      const v = this.env[name];
      if (v !== undefined && v.trim() !== '') return { value: v.trim(), from: name };
    }
    return undefined;
  }

  string(doc: SettingDoc, fallback: string): string;
  string(doc: SettingDoc): string | undefined;
  string(doc: SettingDoc, fallback?: string): string | undefined {
    return this.raw(doc)?.value ?? fallback;
  }

  integer(doc: SettingDoc, fallback: number, min: number, max: number): number {
    const raw = this.raw(doc);
    if (!raw) return fallback;
    if (!/^\d+$/.test(raw.value) || Number(raw.value) < min || Number(raw.value) > max) {
      throw new ValidationError(raw.from, `${showValue(raw.value)} is not a whole number from ${min} to ${max}: set ${raw.from} to one, e.g. ${fallback}`);
    }
    return Number(raw.value);
  }

  port(doc: SettingDoc, fallback: number): number {
    const raw = this.raw(doc);
    if (!raw) return fallback;
    return parsePortValue(raw.value, raw.from);
  }

  oneOf<T extends string>(doc: SettingDoc, values: readonly T[], fallback: T): T {
    const raw = this.raw(doc);
    if (!raw) return fallback;
    const v = raw.value.toLowerCase();
    if (!(values as readonly string[]).includes(v)) {
      throw new ValidationError(raw.from, `${showValue(raw.value)} is not one of ${values.join(', ')}: set ${raw.from} to one of them`);
    }
    return v as T;
  }

  durationMs(doc: SettingDoc, fallbackMs: number, minMs: number): number {
    const raw = this.raw(doc);
    if (!raw) return fallbackMs;
    const ms = parseDurationMs(raw.value);
    if (ms === undefined || ms < minMs) {
      throw new ValidationError(
        raw.from,
        `${showValue(raw.value)} is not a duration of at least ${minMs} ms: write e.g. '500ms', '30s', '5m' (a bare number is seconds)`,
      );
    }
    return ms;
  }
}

export function parsePortValue(value: string, from: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new ValidationError(from, `port ${showValue(value)} is not a whole number from 1 to 65535: set ${from} to a free port, e.g. 8080`);
  }
  return Number(value);
}

/** `500ms`, `30s`, `5m`, `1h`, `1.5s` or a bare number of seconds; undefined when malformed. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(text.trim());
  if (!m || m[1] === undefined) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port`, `:port` (every interface, `0.0.0.0`) or a bare port (loopback-less form of the original `:8080`). */
export function parseListen(value: string, from: string, defaultHost: string): ListenAddress {
  const idx = value.lastIndexOf(':');
  if (idx < 0) return { host: defaultHost, port: parsePortValue(value, from) };
  const host = value.slice(0, idx);
  const port = parsePortValue(value.slice(idx + 1), from);
  if (host === '') return { host: '0.0.0.0', port };
  if (!/^[A-Za-z0-9.-]+$/.test(host)) {
    throw new ValidationError(from, `host ${showValue(host)} is not a host name or IPv4 address: write '127.0.0.1:${port}' or ':${port}' for every interface`);
  }
  return { host, port };
}
