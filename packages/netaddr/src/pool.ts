/**
 * Address pools as EgressGateway `spec.ippools` writes them: a list of entries, each a single address,
 * a range `first-last` or a CIDR, read as upstream EgressGateway (v0.6.9) reads them:
 *
 * - a CIDR with host bits set is masked (`198.18.0.1/24` is `198.18.0.0/24`);
 * - an IPv4 CIDR of prefix /30 or shorter leaves out its network and broadcast addresses (a /30 holds
 *   2 addresses); a /31 or /32 keeps all its addresses, and IPv6 CIDRs keep all theirs;
 * - entries that repeat or overlap merge: the pool is a set, every address is in it once;
 * - a blank entry and any whitespace (`198.18.0.1 - 198.18.0.9`, ` 198.18.0.1`) are refused.
 *
 * A pool is never expanded: its segments are walked, so a /64 costs as much as one address. Positions
 * count the distinct addresses in the order the entries are written (an address already listed by an
 * earlier entry keeps its first position); a dual-stack gateway pairs the n-th IPv4 position with the
 * n-th IPv6 position. Validators, the failover engine and `ipUsage` all read pools through this module.
 */
import { formatIp, type IpFamily, parseIp } from './address.js';
import { cidrRange, parseCidr } from './cidr.js';
import { type IpRange, mergeRanges, parseRange, rangeSize } from './range.js';
import { err, ok, type Result } from './result.js';

/**
 * A run of pool addresses from one entry, as an inclusive range of address values. Segments of one
 * pool never share an address: an entry overlapping earlier ones yields only its new addresses,
 * possibly as several segments.
 */
export interface PoolSegment extends IpRange {
  readonly family: IpFamily;
  /** The entry as written (`198.18.0.10-198.18.0.20`, `198.18.1.0/28`, `198.18.0.5`) this run comes from. */
  readonly entry: string;
  /** Position of that entry in the list as written (blank and bad entries count). */
  readonly index: number;
}

/** An address a CIDR entry covers but leaves out of the pool: an IPv4 network or broadcast address. */
export interface PoolExclusion {
  readonly family: IpFamily;
  readonly value: bigint;
  readonly role: 'network' | 'broadcast';
  /** The CIDR entry as written and its position in the list. */
  readonly entry: string;
  readonly index: number;
}

/** One parsed entry: the addresses it adds (a single range), and the addresses it leaves out. */
export interface PoolEntry extends PoolSegment {
  /** The IPv4 network and broadcast addresses of a CIDR of prefix /30 or shorter; otherwise empty. */
  readonly excluded: readonly PoolExclusion[];
}

/** An entry that could not be parsed, and why. */
export interface PoolProblem {
  readonly index: number;
  readonly entry: string;
  readonly message: string;
}

/** A parsed pool: its disjoint segments in entry order, the entries that failed, and its size. */
export interface AddressPool {
  /** The family every segment has, when the pool was parsed for one family; otherwise `undefined`. */
  readonly family: IpFamily | undefined;
  readonly segments: readonly PoolSegment[];
  readonly problems: readonly PoolProblem[];
  /** Number of distinct addresses (the sum of the disjoint segment sizes). */
  readonly size: bigint;
  /** Network and broadcast addresses its CIDR entries leave out (an address may be listed again by another entry). */
  readonly excluded: readonly PoolExclusion[];
}

/** How a pool is read. */
export interface PoolOptions {
  /** When set, an entry of the other family is a problem; otherwise entries of both families are kept. */
  readonly family?: IpFamily | undefined;
}

const FAMILY_NAME = { 4: 'IPv4', 6: 'IPv6' } as const;

/**
 * Parses one pool entry: a single address, a range `first-last` (ordered, one family, no spaces) or a
 * CIDR (host bits masked; an IPv4 CIDR of prefix /30 or shorter without its network and broadcast
 * addresses). Blank entries and whitespace anywhere are refused, as upstream refuses them.
 *
 * @example
 * ```ts
 * parsePoolEntry('198.18.0.0/30'); // ok: { family: 4, start: 198.18.0.1, end: 198.18.0.2, excluded: [network, broadcast], ... }
 * ```
 */
export function parsePoolEntry(entry: string, options: PoolOptions = {}, index = 0): Result<PoolEntry> {
  if (typeof entry !== 'string') return err(`a pool entry must be text, got ${typeof entry}`);
  const quoted = JSON.stringify(entry);
  if (entry.trim() === '') {
    return err('the entry is blank: write an address, a range (first-last) or a CIDR, or remove it');
  }
  if (/\s/.test(entry)) {
    return err(
      `${quoted} contains whitespace: write it without spaces, ${JSON.stringify(entry.replace(/\s+/g, ''))}`,
    );
  }
  let family: IpFamily;
  let range: IpRange;
  const excluded: PoolExclusion[] = [];
  if (entry.includes('/')) {
    const c = parseCidr(entry);
    if (!c.ok) return err(c.error);
    family = c.value.family;
    range = cidrRange(c.value);
    if (family === 4 && c.value.prefix <= 30) {
      excluded.push(
        { family, value: range.start, role: 'network', entry, index },
        { family, value: range.end, role: 'broadcast', entry, index },
      );
      range = { start: range.start + 1n, end: range.end - 1n };
    }
  } else if (entry.includes('-')) {
    const r = parseRange(entry);
    if (!r.ok) return err(r.error);
    family = r.value.family;
    range = r.value.range;
  } else {
    const ip = parseIp(entry);
    if (!ip.ok) {
      return err(`${ip.error} (a pool entry is an address, a range first-last or a CIDR address/prefix)`);
    }
    family = ip.value.family;
    range = { start: ip.value.value, end: ip.value.value };
  }
  if (options.family !== undefined && family !== options.family) {
    return err(
      `${quoted} is ${FAMILY_NAME[family]}: this pool takes ${FAMILY_NAME[options.family]} entries only`,
    );
  }
  return ok({ family, start: range.start, end: range.end, entry, index, excluded });
}

/** The parts of `range` outside `covered` (sorted, merged, disjoint), in ascending order. */
function subtract(range: IpRange, covered: readonly IpRange[]): IpRange[] {
  const out: IpRange[] = [];
  let next = range.start;
  for (const c of covered) {
    if (c.end < next) continue;
    if (c.start > range.end) break;
    if (c.start > next) out.push({ start: next, end: c.start - 1n });
    next = c.end + 1n;
    if (next > range.end) return out;
  }
  if (next <= range.end) out.push({ start: next, end: range.end });
  return out;
}

/**
 * Parses every entry of a pool. Bad entries become {@link PoolProblem}s and are left out; the pool
 * still works with the others. Overlapping entries merge: each address is in the pool once, at the
 * position of the first entry that lists it.
 *
 * @example
 * ```ts
 * const pool = parsePool(['198.18.0.10', '198.18.1.0/30', '198.18.0.10'], { family: 4 });
 * pool.size; // 3n (198.18.0.10, 198.18.1.1, 198.18.1.2)
 * poolAt(pool, 1n); // '198.18.1.1'
 * ```
 */
export function parsePool(
  entries: readonly string[] | undefined | null,
  options: PoolOptions = {},
): AddressPool {
  const segments: PoolSegment[] = [];
  const problems: PoolProblem[] = [];
  const excluded: PoolExclusion[] = [];
  const covered: Record<IpFamily, IpRange[]> = { 4: [], 6: [] };
  let size = 0n;
  (Array.isArray(entries) ? entries : []).forEach((raw, index) => {
    const r = parsePoolEntry(raw, options, index);
    if (!r.ok) {
      problems.push({ index, entry: String(raw), message: r.error });
      return;
    }
    const { family, entry } = r.value;
    excluded.push(...r.value.excluded);
    if (r.value.start > r.value.end) return;
    for (const piece of subtract(r.value, covered[family])) {
      segments.push({ family, start: piece.start, end: piece.end, entry, index });
      size += rangeSize(piece);
    }
    covered[family] = mergeRanges([...covered[family], { start: r.value.start, end: r.value.end }]);
  });
  return { family: options.family, segments, problems, size, excluded };
}

/**
 * Why an address is not in a pool when a CIDR entry covers it: the exclusion (network or broadcast
 * address of that entry), or `undefined` when the address is in the pool, not covered by a CIDR entry,
 * or not an address. For error messages ("198.18.0.0 is the network address of 198.18.0.0/24").
 */
export function poolExclusionOf(pool: AddressPool, address: string): PoolExclusion | undefined {
  const ip = parseIp(address);
  if (!ip.ok || poolIndexOf(pool, address) !== undefined) return undefined;
  return pool.excluded.find((x) => x.family === ip.value.family && x.value === ip.value.value);
}

/** The address at a pool position (0-based, canonical text), or `undefined` past the end. */
export function poolAt(pool: AddressPool, position: bigint): string | undefined {
  if (position < 0n) return undefined;
  let rest = position;
  for (const s of pool.segments) {
    const len = s.end - s.start + 1n;
    if (rest < len) return formatIp(s.family, s.start + rest);
    rest -= len;
  }
  return undefined;
}

/**
 * The position of an address (text) in the pool (inverse of {@link poolAt}), or `undefined` when it
 * is not in the pool or is not an address.
 */
export function poolIndexOf(pool: AddressPool, address: string): bigint | undefined {
  const ip = parseIp(address);
  if (!ip.ok) return undefined;
  const { family, value } = ip.value;
  let offset = 0n;
  for (const s of pool.segments) {
    if (s.family === family && s.start <= value && value <= s.end) return offset + (value - s.start);
    offset += s.end - s.start + 1n;
  }
  return undefined;
}

/** True when the address (text) lies in one of the pool's segments. */
export function poolContains(pool: AddressPool, address: string): boolean {
  return poolIndexOf(pool, address) !== undefined;
}

/**
 * Number of distinct addresses of a pool: its `size` for a pool from {@link parsePool} (segments are
 * disjoint); merges segments again for a hand-built pool whose segments may overlap.
 */
export function distinctPoolSize(pool: AddressPool): bigint {
  let total = 0n;
  for (const family of [4, 6] as const) {
    const ranges = pool.segments.filter((s) => s.family === family);
    for (const r of mergeRanges(ranges)) total += rangeSize(r);
  }
  return total;
}

/** Lazily yields the pool's addresses in position order; stop early on a large pool. */
export function* iteratePool(pool: AddressPool): Generator<string> {
  for (const s of pool.segments) {
    for (let v = s.start; v <= s.end; v++) yield formatIp(s.family, v);
  }
}

/** Two segments that share at least one address. */
export interface PoolOverlap<S extends PoolSegment = PoolSegment> {
  readonly a: S;
  readonly b: S;
  /** The first address they share. */
  readonly address: string;
}

/**
 * Finds segments that share addresses (sort and sweep, never expanded), across pools if the caller
 * concatenates them; each overlapping pair is reported once, the segment objects kept as given.
 */
export function findOverlaps<S extends PoolSegment>(segments: readonly S[]): PoolOverlap<S>[] {
  const sorted = [...segments].sort((x, y) =>
    x.family !== y.family ? x.family - y.family : x.start < y.start ? -1 : x.start > y.start ? 1 : 0,
  );
  const out: PoolOverlap<S>[] = [];
  const open: S[] = [];
  for (const cur of sorted) {
    for (let k = open.length - 1; k >= 0; k--) {
      const o = open[k] as S;
      if (o.family !== cur.family || o.end < cur.start) open.splice(k, 1);
    }
    for (const o of open) out.push({ a: o, b: cur, address: formatIp(cur.family, cur.start) });
    open.push(cur);
  }
  return out;
}
