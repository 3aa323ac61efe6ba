/**
 * Parser of Manticore's configuration file format:
 *
 *   searchd { key = value ... }
 *   common { ... }   indexer { ... }
 *   source name [: parent] { ... }
 *   table name [: parent] { ... }      (`index` is the older spelling of `table`)
 *
 * `key = value` lines (the value is the rest of the line, trimmed, possibly empty), repeated keys
 * kept in order, `#` comments (to end of line; `\#` is a literal `#`), `\` at the end of a line
 * continues the value on the next line. A leading `#!` shebang line is a comment (the simulator
 * never executes configs). Inheritance: a child section gets its parent's keys; a key the child
 * sets replaces every value the parent had for it (as in Manticore).
 */
import { AppError } from '../../lib/errors.js';

export type SectionType = 'searchd' | 'common' | 'indexer' | 'source' | 'table';

export interface ConfigEntry {
  key: string;
  value: string;
  /** 1-based line of the key */
  line: number;
}

export interface ConfigSection {
  type: SectionType;
  /** the section name (source/table only) */
  name?: string;
  /** `: parent` */
  parent?: string;
  entries: ConfigEntry[];
  line: number;
}

export class ConfigError extends AppError {
  constructor(message: string, readonly file: string, readonly line?: number) {
    super('CONFIG_INVALID', line === undefined ? `${file}: ${message}` : `${file} line ${line}: ${message}`, {
      details: { file, line },
    });
    this.name = 'ConfigError';
  }
}

const SECTION_TYPES: Record<string, SectionType> = {
  searchd: 'searchd',
  common: 'common',
  indexer: 'indexer',
  source: 'source',
  table: 'table',
  index: 'table',
};

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A parsed config file. */
export class ManticoreConfig {
  constructor(
    readonly sections: ConfigSection[],
    readonly file = 'config',
  ) {}

  /** The single section of a type without a name (searchd, common, indexer). */
  section(type: 'searchd' | 'common' | 'indexer'): ConfigSection | undefined {
    return this.sections.find((s) => s.type === type);
  }

  named(type: 'source' | 'table', name: string): ConfigSection | undefined {
    return this.sections.find((s) => s.type === type && s.name === name);
  }

  names(type: 'source' | 'table'): string[] {
    return this.sections.filter((s) => s.type === type && s.name !== undefined).map((s) => s.name as string);
  }

  /**
   * Entries of a named section with inheritance applied: the parent's entries first, minus every
   * key the child sets, then the child's own entries.
   */
  resolved(type: 'source' | 'table', name: string): ConfigEntry[] {
    const seen = new Set<string>();
    const walk = (n: string, line: number | undefined): ConfigEntry[] => {
      const s = this.named(type, n);
      if (s === undefined) throw new ConfigError(`unknown ${type} '${n}'`, this.file, line);
      if (seen.has(n)) throw new ConfigError(`${type} '${n}' inherits from itself`, this.file, s.line);
      seen.add(n);
      if (s.parent === undefined) return [...s.entries];
      const inherited = walk(s.parent, s.line);
      const own = new Set(s.entries.map((e) => e.key));
      return [...inherited.filter((e) => !own.has(e.key)), ...s.entries];
    };
    return walk(name, undefined);
  }
}

/** The last value of `key`, or undefined. */
export function getValue(entries: ConfigEntry[], key: string): string | undefined {
  let v: string | undefined;
  for (const e of entries) if (e.key === key) v = e.value;
  return v;
}

/** Every value of `key`, in order. */
export function getValues(entries: ConfigEntry[], key: string): string[] {
  return entries.filter((e) => e.key === key).map((e) => e.value);
}

/** Strips a `#` comment (not `\#`), turning `\#` into `#`. */
function stripComment(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    if (c === '\\' && line.charAt(i + 1) === '#') {
      out += '#';
      i++;
      continue;
    }
    if (c === '#') break;
    out += c;
  }
  return out;
}

export function parseConfig(text: string, file = 'config'): ManticoreConfig {
  const rawLines = text.split(/\r?\n/);
  // join continuation lines, remembering where each logical line starts
  const lines: { text: string; line: number }[] = [];
  for (let i = 0; i < rawLines.length; i++) {
    const startLine = i + 1;
    let cur = stripComment(rawLines[i] ?? '');
    while (/\\\s*$/.test(cur) && i + 1 < rawLines.length) {
      cur = cur.replace(/\\\s*$/, '');
      i++;
      cur += stripComment(rawLines[i] ?? '');
    }
    if (/\\\s*$/.test(cur)) cur = cur.replace(/\\\s*$/, '');
    lines.push({ text: cur, line: startLine });
  }

  const sections: ConfigSection[] = [];
  let current: ConfigSection | undefined;
  // a section header may be followed by `{` on the same or a later line
  let pending: ConfigSection | undefined;

  for (const { text: raw, line } of lines) {
    let rest = raw.trim();
    while (rest !== '') {
      if (pending !== undefined) {
        if (!rest.startsWith('{')) throw new ConfigError(`expected '{' after section header`, file, line);
        current = pending;
        pending = undefined;
        sections.push(current);
        rest = rest.slice(1).trim();
        continue;
      }
      if (current === undefined) {
        // section header: type [name [: parent]] [{]
        const m = /^([A-Za-z_]+)\b\s*([^\s{:]+)?\s*(?::\s*([^\s{]+))?\s*(\{)?(.*)$/.exec(rest);
        if (m === null) throw new ConfigError(`expected a section header, got '${rest}'`, file, line);
        const [, typeWord = '', name, parent, brace, after = ''] = m;
        const type = SECTION_TYPES[typeWord.toLowerCase()];
        if (type === undefined) throw new ConfigError(`unknown section type '${typeWord}'`, file, line);
        const named = type === 'source' || type === 'table';
        if (named && name === undefined) throw new ConfigError(`${typeWord} section needs a name`, file, line);
        if (!named && name !== undefined) throw new ConfigError(`${typeWord} section takes no name`, file, line);
        if (name !== undefined && !NAME_RE.test(name)) throw new ConfigError(`invalid ${typeWord} name '${name}'`, file, line);
        if (parent !== undefined && !NAME_RE.test(parent)) throw new ConfigError(`invalid parent name '${parent}'`, file, line);
        const section: ConfigSection = { type, entries: [], line };
        if (name !== undefined) section.name = name;
        if (parent !== undefined) section.parent = parent;
        if (named && sections.some((s) => s.type === type && s.name === name)) {
          throw new ConfigError(`duplicate ${typeWord} '${name}'`, file, line);
        }
        if (!named && sections.some((s) => s.type === type)) throw new ConfigError(`duplicate ${typeWord} section`, file, line);
        if (brace === undefined) {
          if (after.trim() !== '') throw new ConfigError(`expected '{' after section header`, file, line);
          pending = section;
          rest = '';
        } else {
          current = section;
          sections.push(section);
          rest = after.trim();
        }
        continue;
      }
      if (rest.startsWith('}')) {
        current = undefined;
        rest = rest.slice(1).trim();
        continue;
      }
      const kv = /^([A-Za-z_][A-Za-z0-9_.]*)\s*=(.*)$/.exec(rest);
      if (kv === null) throw new ConfigError(`expected 'key = value', got '${rest}'`, file, line);
      const [, key = '', value = ''] = kv;
      let v = value.trim();
      // a closing brace on the same line as a value (`x = 1 }`) closes the section
      let closes = false;
      if (v.endsWith('}') && !v.includes('{')) {
        v = v.slice(0, -1).trim();
        closes = true;
      }
      current.entries.push({ key: key.toLowerCase(), value: v, line });
      rest = '';
      if (closes) current = undefined;
    }
  }
  if (pending !== undefined) throw new ConfigError(`section at line ${pending.line} has no '{'`, file, pending.line);
  if (current !== undefined) throw new ConfigError(`section at line ${current.line} is not closed (missing '}')`, file, current.line);
  for (const s of sections) {
    if (s.parent !== undefined && !sections.some((p) => p.type === s.type && p.name === s.parent)) {
      throw new ConfigError(`${s.type} '${s.name ?? ''}' inherits from unknown ${s.type} '${s.parent}'`, file, s.line);
    }
  }
  return new ManticoreConfig(sections, file);
}
