/**
 * `perObject(compute)`: `compute(key)` once per key object, remembered while the key lives (a WeakMap).
 * For values derived from lists the controller keeps from pass to pass (a node's SHOW TABLES, a
 * cluster's table list): the same list object gives the same value without working it out again.
 * The key must not be mutated afterwards.
 */
export function perObject<K extends object, V>(compute: (key: K) => V): (key: K) => V {
  const values = new WeakMap<K, V>();
  return (key) => {
    if (values.has(key)) return values.get(key) as V;
    const value = compute(key);
    values.set(key, value);
    return value;
  };
}
