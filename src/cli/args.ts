/**
 * mctl's argument parser: positionals and `--flag value` / `--flag=value` / `-o value` flags, in
 * any order. Unknown flags are usage errors (exit 2).
 */

export class UsageError extends Error {
  constructor(
    message: string,
    /** the command whose help to point at ("get", "query"...) */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagName = 'server' | 'token' | 'output' | 'watch' | 'help' | 'node' | 'all' | 'write' | 'force' | 'wait' | 'type' | 'source';

interface FlagSpec {
  name: FlagName;
  takesValue: boolean;
}

const FLAGS: Record<string, FlagSpec> = {
  '--server': { name: 'server', takesValue: true },
  '--token': { name: 'token', takesValue: true },
  '--output': { name: 'output', takesValue: true },
  '-o': { name: 'output', takesValue: true },
  '--watch': { name: 'watch', takesValue: false },
  '-w': { name: 'watch', takesValue: false },
  '--help': { name: 'help', takesValue: false },
  '-h': { name: 'help', takesValue: false },
  '--node': { name: 'node', takesValue: true },
  '--all': { name: 'all', takesValue: false },
  '--write': { name: 'write', takesValue: false },
  '--force': { name: 'force', takesValue: false },
  '--wait': { name: 'wait', takesValue: false },
  '--type': { name: 'type', takesValue: true },
  '--source': { name: 'source', takesValue: true },
};

export interface ParsedArgs {
  positionals: string[];
  flags: Partial<Record<FlagName, string | true>>;
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags: ParsedArgs['flags'] = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flagText = eq === -1 ? arg : arg.slice(0, eq);
    const spec = FLAGS[flagText];
    if (spec === undefined) throw new UsageError(`unknown flag ${flagText}`);
    if (spec.takesValue) {
      let value: string | undefined;
      if (eq !== -1) value = arg.slice(eq + 1);
      else {
        value = argv[i + 1];
        i += 1;
      }
      if (value === undefined || value === '') throw new UsageError(`flag ${flagText} needs a value`);
      flags[spec.name] = value;
    } else {
      if (eq !== -1) throw new UsageError(`flag ${flagText} takes no value`);
      flags[spec.name] = true;
    }
  }
  return { positionals, flags };
}

/** Fails when a flag other than the global ones and `allowed` was given. */
export function checkFlags(args: ParsedArgs, allowed: readonly FlagName[], command: string): void {
  const global: FlagName[] = ['server', 'token', 'output', 'help'];
  for (const name of Object.keys(args.flags) as FlagName[]) {
    if (!global.includes(name) && !allowed.includes(name)) throw new UsageError(`flag --${name} is not valid for '${command}'`, command);
  }
}

export function stringFlag(args: ParsedArgs, name: FlagName): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}
