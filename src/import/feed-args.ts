/**
 * Command line of `source-feed` (the indexer's csvpipe/tsvpipe command), built by indexer-config.ts and
 * parsed by src/bin/source-feed.ts:
 *
 *   source-feed --format csv|tsv --header 0|1 --columns name:type,name:type [--report FILE]
 *               (--sources-file FILE | SOURCE...)
 *
 * `--sources-file` holds a JSON array of sources, used when the list is too long for one config line.
 */
import { readFileSync } from 'node:fs';
import type { SpecColumnType } from '../domain/spec.js';
import { parseSource, type SourceRef } from './sources.js';
import type { FeedColumn } from './validate.js';

export const COLUMN_TYPES: readonly SpecColumnType[] = ['text', 'string', 'integer', 'bigint', 'float', 'bool', 'timestamp', 'json', 'multi', 'multi64'];

export interface FeedArgs {
  format: 'csv' | 'tsv';
  header: boolean;
  columns: FeedColumn[];
  report?: string;
  sources: SourceRef[];
}

export class FeedUsageError extends Error {}

/** `title:text,price:float` */
export function formatColumnsArg(columns: readonly FeedColumn[]): string {
  return columns.map((c) => `${c.name}:${c.type}`).join(',');
}

export function parseColumnsArg(text: string): FeedColumn[] {
  if (text === '') return [];
  return text.split(',').map((part) => {
    const [name, type] = part.split(':');
    if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || !COLUMN_TYPES.includes(type as SpecColumnType)) {
      throw new FeedUsageError(`--columns: ${JSON.stringify(part)} is not name:type (types: ${COLUMN_TYPES.join(', ')})`);
    }
    return { name, type: type as SpecColumnType };
  });
}

export function parseFeedArgs(argv: readonly string[]): FeedArgs {
  let format: string | undefined;
  let header: string | undefined;
  let columns: string | undefined;
  let report: string | undefined;
  let sourcesFile: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new FeedUsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--format') format = value();
    else if (a === '--header') header = value();
    else if (a === '--columns') columns = value();
    else if (a === '--report') report = value();
    else if (a === '--sources-file') sourcesFile = value();
    else if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    else if (a.startsWith('--')) throw new FeedUsageError(`unknown flag ${a}`);
    else rest.push(a);
  }
  if (format !== 'csv' && format !== 'tsv') throw new FeedUsageError('--format must be csv or tsv');
  if (header !== '0' && header !== '1') throw new FeedUsageError('--header must be 0 or 1');
  if (columns === undefined) throw new FeedUsageError('--columns is required (name:type,...)');
  let list = rest;
  if (sourcesFile !== undefined) {
    const parsed = JSON.parse(readFileSync(sourcesFile, 'utf8')) as unknown;
    if (!Array.isArray(parsed) || parsed.some((s) => typeof s !== 'string')) throw new FeedUsageError('--sources-file must hold a JSON array of strings');
    list = [...rest, ...(parsed as string[])];
  }
  if (list.length === 0) throw new FeedUsageError('name at least one source');
  const sources = list.map((s, i) => {
    try {
      return parseSource(s, `sources[${i}]`);
    } catch (err) {
      throw new FeedUsageError((err as Error).message);
    }
  });
  const out: FeedArgs = { format, header: header === '1', columns: parseColumnsArg(columns), sources };
  if (report !== undefined) out.report = report;
  return out;
}
