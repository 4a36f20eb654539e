import { canonicalIp, familyBits, formatIp, type IpFamily, parseCidr, parseIp } from './ip.js';

/** One pool entry as an inclusive interval of address values. */
export interface PoolInterval {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
  /** The entry text it came from (`10.6.1.55-10.6.1.60`, `10.6.2.0/28`, `10.6.1.56`). */
  readonly entry: string;
  /** Position of the entry in the pool list as written (set by {@link parsePool}). */
  readonly index?: number;
}

/** Why a pool entry could not be parsed. */
export interface PoolEntryError {
  readonly index: number;
  readonly entry: string;
  readonly message: string;
}

/**
 * Parses one pool entry: a single address, a range `a-b` (inclusive, `a <= b`, one family) or a
 * CIDR. Returns the interval or a message that says what is wrong and how to write it.
 */
export function parsePoolEntry(entry: string): PoolInterval | string {
  const text = entry.trim();
  if (text.includes('/')) {
    const c = parseCidr(text);
    if (!c) return `"${entry}" is not a valid CIDR: write it as <address>/<prefix>, e.g. 198.18.0.0/28`;
    if (c.hostBitsSet) {
      return `"${entry}" has host bits set: write the network address, ${formatIp(c.family, c.network)}/${c.prefix}`;
    }
    const size = 1n << BigInt(familyBits(c.family) - c.prefix);
    return { family: c.family, first: c.network, last: c.network + size - 1n, entry };
  }
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const a = parseIp(text.slice(0, dash).trim());
    const b = parseIp(text.slice(dash + 1).trim());
    if (!a || !b)
      return `"${entry}" is not a valid range: write it as <first>-<last>, e.g. 198.18.0.10-198.18.0.20`;
    if (a.family !== b.family)
      return `"${entry}" mixes IPv4 and IPv6: both ends of a range must be one family`;
    if (a.value > b.value) return `"${entry}" ends before it starts: put the lower address first`;
    return { family: a.family, first: a.value, last: b.value, entry };
  }
  const ip = parseIp(text);
  if (!ip) return `"${entry}" is not an IP address, range (a-b) or CIDR`;
  return { family: ip.family, first: ip.value, last: ip.value, entry };
}

/** A parsed pool: its intervals in entry order, and the entries that failed to parse. */
export interface ParsedPool {
  readonly intervals: readonly PoolInterval[];
  readonly errors: readonly PoolEntryError[];
}

/**
 * Parses every entry of a pool; never expands ranges. Blank entries are skipped: upstream's
 * examples write `- ""` for an empty pool.
 */
export function parsePool(entries: readonly string[] | undefined): ParsedPool {
  const intervals: PoolInterval[] = [];
  const errors: PoolEntryError[] = [];
  (entries ?? []).forEach((entry, index) => {
    if (entry.trim() === '') return;
    const r = parsePoolEntry(entry);
    if (typeof r === 'string') errors.push({ index, entry, message: r });
    else intervals.push({ ...r, index });
  });
  return { intervals, errors };
}

function intervalsOf(entries: readonly string[] | ParsedPool | undefined): readonly PoolInterval[] {
  if (entries === undefined) return [];
  return Array.isArray(entries) ? parsePool(entries).intervals : (entries as ParsedPool).intervals;
}

/**
 * Number of addresses in a pool (for `status.ipUsage`), counted from intervals so that a `/64`
 * costs nothing. Overlapping entries are counted once.
 */
export function countPool(entries: readonly string[] | ParsedPool | undefined): bigint {
  let total = 0n;
  for (const m of mergeIntervals(intervalsOf(entries))) total += m.last - m.first + 1n;
  return total;
}

/** True when `address` (text) lies in one of the pool's entries. */
export function poolContains(entries: readonly string[] | ParsedPool | undefined, address: string): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  return intervalsOf(entries).some(
    (i) => i.family === ip.family && i.first <= ip.value && ip.value <= i.last,
  );
}

/**
 * The n-th address of a pool (0-based, entries in order, duplicates not removed), or `undefined`
 * past the end. Dual-stack gateways pair the n-th IPv4 address with the n-th IPv6 address.
 */
export function poolAddressAt(
  entries: readonly string[] | ParsedPool | undefined,
  n: bigint,
): string | undefined {
  let rest = n;
  for (const i of intervalsOf(entries)) {
    const size = i.last - i.first + 1n;
    if (rest < size) return formatIp(i.family, i.first + rest);
    rest -= size;
  }
  return undefined;
}

/** Position of an address in the pool (inverse of {@link poolAddressAt}), or `undefined`. */
export function poolIndexOf(
  entries: readonly string[] | ParsedPool | undefined,
  address: string,
): bigint | undefined {
  const ip = parseIp(address);
  if (!ip) return undefined;
  let offset = 0n;
  for (const i of intervalsOf(entries)) {
    if (i.family === ip.family && i.first <= ip.value && ip.value <= i.last)
      return offset + (ip.value - i.first);
    offset += i.last - i.first + 1n;
  }
  return undefined;
}

/**
 * Lazily iterates the pool's addresses in order. Safe on huge pools as long as the caller stops
 * early (take what you need).
 */
export function* iteratePool(entries: readonly string[] | ParsedPool | undefined): Generator<string> {
  for (const i of intervalsOf(entries)) {
    for (let v = i.first; v <= i.last; v++) yield formatIp(i.family, v);
  }
}

/** A pair of entries that share at least one address. */
export interface PoolOverlap {
  readonly a: PoolInterval;
  readonly b: PoolInterval;
  /** First shared address. */
  readonly address: string;
}

/**
 * Finds entries of a pool that share addresses (sort + sweep, no expansion). Each overlapping
 * pair is reported once, with the first shared address.
 */
export function findOverlaps(intervals: readonly PoolInterval[]): PoolOverlap[] {
  const sorted = [...intervals].sort((x, y) =>
    x.family !== y.family ? x.family - y.family : x.first < y.first ? -1 : x.first > y.first ? 1 : 0,
  );
  const out: PoolOverlap[] = [];
  const open: PoolInterval[] = [];
  for (const cur of sorted) {
    for (let k = open.length - 1; k >= 0; k--) {
      const o = open[k];
      if (!o || o.family !== cur.family || o.last < cur.first) open.splice(k, 1);
    }
    for (const o of open) {
      out.push({ a: o, b: cur, address: formatIp(cur.family, cur.first) });
    }
    open.push(cur);
  }
  return out;
}

function mergeIntervals(intervals: readonly PoolInterval[]): PoolInterval[] {
  const sorted = [...intervals].sort((x, y) =>
    x.family !== y.family ? x.family - y.family : x.first < y.first ? -1 : x.first > y.first ? 1 : 0,
  );
  const out: PoolInterval[] = [];
  for (const cur of sorted) {
    const last = out[out.length - 1];
    if (last && last.family === cur.family && cur.first <= last.last + 1n) {
      if (cur.last > last.last) out[out.length - 1] = { ...last, last: cur.last };
    } else out.push(cur);
  }
  return out;
}

/** `status.ipUsage` of a gateway: totals from the pools, free = total minus addresses in use. */
export interface IpUsage {
  ipv4Total: number;
  ipv4Free: number;
  ipv6Total: number;
  ipv6Free: number;
}

/**
 * Computes `status.ipUsage` for pools and the set of addresses in use. Counts above
 * `Number.MAX_SAFE_INTEGER` (a huge IPv6 pool) are clamped to it, as the field is an integer.
 */
export function computeIpUsage(
  ippools: { ipv4?: readonly string[] | undefined; ipv6?: readonly string[] | undefined },
  inUse: { ipv4: Iterable<string>; ipv6: Iterable<string> },
): IpUsage {
  const clamp = (n: bigint) => (n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));
  const v4 = parsePool(ippools.ipv4);
  const v6 = parsePool(ippools.ipv6);
  const used = (pool: ParsedPool, addrs: Iterable<string>) => {
    const seen = new Set<string>();
    for (const a of addrs) if (poolContains(pool, a)) seen.add(canonicalIp(a) ?? a);
    return BigInt(seen.size);
  };
  const t4 = countPool(v4);
  const t6 = countPool(v6);
  return {
    ipv4Total: clamp(t4),
    ipv4Free: clamp(t4 - used(v4, inUse.ipv4)),
    ipv6Total: clamp(t6),
    ipv6Free: clamp(t6 - used(v6, inUse.ipv6)),
  };
}
