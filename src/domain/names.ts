/**
 * The one place table names are derived (DESIGN.md section 5). For a managed table `<t>`:
 *   `<t>`          the distributed table queries go to, on every node
 *   `<t>_delta`    the RT table for live writes (always in the replication cluster)
 *   `<t>_main_a`   main slot a   } blue/green: one is live, the other is rebuilt
 *   `<t>_main_b`   main slot b   } and then swapped in
 * Pure: no I/O, no local imports.
 */

export type Slot = 'a' | 'b';
export const SLOTS: readonly Slot[] = ['a', 'b'];

/** Manticore-side limit on any identifier we send (same as src/manticore/identifiers.ts). */
export const MAX_TABLE_NAME_LENGTH = 64;
export const DELTA_SUFFIX = '_delta';
export const MAIN_SUFFIX = '_main_';
/** Longest base name whose derived names (`<t>_main_a`) still fit. */
export const MAX_BASE_NAME_LENGTH = MAX_TABLE_NAME_LENGTH - `${MAIN_SUFFIX}a`.length;

const BASE_RE = /^[a-z_][a-z0-9_]*$/;
const DERIVED_SUFFIX_RE = /(?:_delta|_main_[ab])$/;

export function isSlot(value: unknown): value is Slot {
  return value === 'a' || value === 'b';
}

export function otherSlot(slot: Slot): Slot {
  return slot === 'a' ? 'b' : 'a';
}

/**
 * Why `base` cannot name a managed table, or undefined when it can. The message says how to fix it;
 * callers wrap it in their own error type (ValidationError at the API/spec edge).
 */
export function baseNameProblem(base: unknown): string | undefined {
  if (typeof base !== 'string' || base.length === 0) return 'table name is empty: use lower-case letters, digits and underscores';
  if (base.length > MAX_BASE_NAME_LENGTH) {
    return `table name is ${base.length} characters long: use at most ${MAX_BASE_NAME_LENGTH} so that '<name>_main_a' fits in ${MAX_TABLE_NAME_LENGTH}`;
  }
  if (!BASE_RE.test(base)) {
    return 'use lower-case letters, digits and underscores, starting with a letter or underscore';
  }
  if (DERIVED_SUFFIX_RE.test(base)) {
    return `names ending in '_delta', '_main_a' or '_main_b' are reserved for the tables derived from a managed table`;
  }
  return undefined;
}

function checked(base: string): string {
  const problem = baseNameProblem(base);
  if (problem !== undefined) throw new Error(`table name ${JSON.stringify(base)}: ${problem}`);
  return base;
}

/** `<t>`: the distributed table. */
export function distributedTableName(base: string): string {
  return checked(base);
}

/** `<t>_delta` */
export function deltaTableName(base: string): string {
  return `${checked(base)}${DELTA_SUFFIX}`;
}

/** `<t>_main_<slot>` */
export function mainTableName(base: string, slot: Slot): string {
  if (!isSlot(slot)) throw new Error(`slot ${JSON.stringify(slot)}: use 'a' or 'b'`);
  return `${checked(base)}${MAIN_SUFFIX}${slot}`;
}

export interface ManagedTableNames {
  distributed: string;
  delta: string;
  main: Record<Slot, string>;
}

/** Every name derived from `base`. */
export function managedTableNames(base: string): ManagedTableNames {
  return {
    distributed: distributedTableName(base),
    delta: deltaTableName(base),
    main: { a: mainTableName(base, 'a'), b: mainTableName(base, 'b') },
  };
}

export type TableRole =
  | { role: 'distributed'; base: string }
  | { role: 'delta'; base: string }
  | { role: 'main'; base: string; slot: Slot };

/**
 * What a table found on a node is, given the managed base names; undefined for tables we do not manage.
 */
export function classifyTableName(name: string, bases: Iterable<string>): TableRole | undefined {
  for (const base of bases) {
    if (name === base) return { role: 'distributed', base };
    if (name === `${base}${DELTA_SUFFIX}`) return { role: 'delta', base };
    for (const slot of SLOTS) {
      if (name === `${base}${MAIN_SUFFIX}${slot}`) return { role: 'main', base, slot };
    }
  }
  return undefined;
}
