/** A small seeded PRNG (mulberry32) and hostile-value generators for the bad-input suite. */

export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rng: Rng, list: readonly T[]): T {
  const v = list[Math.floor(rng() * list.length)];
  if (v === undefined) throw new Error('pick from an empty list');
  return v;
}

/** Names that must never reach SQL or a file path. */
export const HOSTILE_NAMES: readonly string[] = [
  '',
  ' ',
  "products'; DROP TABLE products; --",
  'products`; DROP TABLE products_delta; #',
  'a b',
  '../../etc/passwd',
  '..',
  '/etc/passwd',
  'products/../products',
  'products\u0000',
  'produits_é',
  'таблица',
  '表',
  '💥',
  '\u202eproducts',
  'x'.repeat(300),
  '1products',
  'products;',
  'SELECT',
  '%2e%2e%2f',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  'products\nDROP TABLE products',
];

/** Values of every JSON type, hostile and odd ones included. */
export function randomJson(rng: Rng, depth = 0): unknown {
  const r = rng();
  if (r < 0.3) return pick(rng, HOSTILE_NAMES);
  if (r < 0.4) return pick(rng, [0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, NaN]);
  if (r < 0.5) return pick(rng, [true, false, null]);
  if (r < 0.6 && depth < 3) return Array.from({ length: Math.floor(rng() * 4) }, () => randomJson(rng, depth + 1));
  if (r < 0.7 && depth < 3) {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < Math.floor(rng() * 4); i += 1) o[pick(rng, ['name', 'type', '__proto__', 'constructor', 'x', pick(rng, HOSTILE_NAMES)])] = randomJson(rng, depth + 1);
    return o;
  }
  if (r < 0.8) return 'y'.repeat(Math.floor(rng() * 5000));
  return Math.floor(rng() * 1e6).toString(36);
}
