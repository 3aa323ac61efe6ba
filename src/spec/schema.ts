/**
 * The table JSON Schema (schemas/table.schema.json, the source of truth for what users may write),
 * read once and compiled with ajv's 2020-12 dialect. Also the lists derived from it that messages use.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { AppError } from '../lib/errors.js';

/** Where the schema file sits relative to this module: src/spec (ts runners) or dist/src/spec (compiled). */
const SCHEMA_CANDIDATES = ['../../schemas/table.schema.json', '../../../schemas/table.schema.json'];

export interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  [key: string]: unknown;
}

let cachedSchema: SchemaNode | undefined;
let cachedValidator: ValidateFunction | undefined;

/** The parsed schemas/table.schema.json. */
export function tableSchema(): SchemaNode {
  if (cachedSchema !== undefined) return cachedSchema;
  const errors: string[] = [];
  for (const rel of SCHEMA_CANDIDATES) {
    const url = new URL(rel, import.meta.url);
    try {
      cachedSchema = JSON.parse(readFileSync(url, 'utf8')) as SchemaNode;
      return cachedSchema;
    } catch (err) {
      errors.push(`${url.pathname}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new AppError('SCHEMA_MISSING', 'schemas/table.schema.json could not be read; install the package with its schemas/ folder', {
    details: { tried: errors },
  });
}

/** The compiled validator (allErrors, verbose so messages can show the offending value and bounds). */
export function tableValidator(): ValidateFunction {
  if (cachedValidator !== undefined) return cachedValidator;
  const ajv = new Ajv2020({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true });
  cachedValidator = ajv.compile(tableSchema());
  return cachedValidator;
}

function node(path: string[]): SchemaNode {
  let cur: SchemaNode | undefined = tableSchema();
  for (const seg of path) {
    cur = seg === '[]' ? cur?.items : cur?.properties?.[seg];
  }
  if (cur === undefined) throw new AppError('SCHEMA_SHAPE', `schemas/table.schema.json has no node at ${path.join('.')}`);
  return cur;
}

function enumOf(path: string[]): string[] {
  return (node(path).enum ?? []).map(String);
}

/** Column types in schema order: text, string, integer, ... */
export function columnTypeNames(): string[] {
  return enumOf(['columns', '[]', 'type']);
}

/** Setting keys the schema knows, in schema order. */
export function knownSettings(): string[] {
  return Object.keys(node(['settings']).properties ?? {});
}

/** The schema node of one setting (its type decides the conversion of booleans to 1/0). */
export function settingSchema(key: string): SchemaNode | undefined {
  return node(['settings']).properties?.[key];
}

/** Keys allowed at an object path of the schema ([] for the root). */
export function knownKeys(path: string[]): string[] {
  return Object.keys(node(path).properties ?? {});
}
