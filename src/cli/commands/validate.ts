/**
 * `mctl validate FILE...`: offline check of table spec files with the controller's own code
 * (src/spec/validate-files.ts: validateFiles / formatProblems).
 */
import { formatProblems, validateFiles } from '../../spec/validate-files.js';
import { UsageError, checkFlags } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatStructured } from '../printer.js';

export const VALIDATE_HELP = `Check table spec files offline, with the same code the controller uses.

Usage:
  mctl validate FILE... [-o table|json|yaml]

Every problem is reported with its file, the JSON pointer of the offending value and how to fix it.
Both this project's format and the original system's table format are accepted.

Exit status: 0 when every file is valid, 1 when any has a problem, 2 on usage errors.
`;

export async function runValidate(ctx: CommandContext): Promise<number> {
  checkFlags(ctx.args, [], 'validate');
  const files = ctx.args.positionals;
  if (files.length === 0) throw new UsageError('name at least one spec file to validate', 'validate');
  const results = await validateFiles(files);
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.io.out(formatStructured(ctx.format, results));
  else ctx.io.out(formatProblems(results));
  return results.every((r) => r.ok) ? 0 : 1;
}
