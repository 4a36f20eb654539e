/**
 * True when resourceVersion `a` is at least `b`. Resource versions are opaque to clients in
 * general; etcd's (and the embedded server's) are increasing integers, so they are compared as
 * numbers when both are, and otherwise only equality counts.
 *
 * @example
 * ```ts
 * resourceVersionAtLeast('1042', '998'); // true
 * ```
 */
export function resourceVersionAtLeast(a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) >= BigInt(b);
}
