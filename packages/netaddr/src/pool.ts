/**
 * Address pools as EgressGateway `spec.ippools` writes them: a list of entries, each a single address,
 * a range `first-last` or a CIDR. A pool is never expanded: its segments are walked, so a /64 costs as
 * much as one address. Positions count entries in the order written, duplicates included (a
 * dual-stack gateway pairs the n-th IPv4 position with the n-th IPv6 position).
 */
import { formatIp, type IpFamily, parseIp } from './address.js';
import { cidrRange, parseCidr } from './cidr.js';
import { type IpRange, mergeRanges, parseRange, rangeSize } from './range.js';
import { err, ok, type Result } from './result.js';

/** One entry of a pool as an inclusive range of address values. */
export interface PoolSegment extends IpRange {
  readonly family: IpFamily;
  /** The entry as written (`198.18.0.10-198.18.0.20`, `198.18.1.0/28`, `198.18.0.5`). */
  readonly entry: string;
  /** Position of the entry in the list as written (blank and bad entries count). */
  readonly index: number;
}

/** An entry that could not be parsed, and why. */
export interface PoolProblem {
  readonly index: number;
  readonly entry: string;
  readonly message: string;
}

/** A parsed pool: its segments in entry order, the entries that failed, and its number of positions. */
export interface AddressPool {
  /** The family every segment has, when the pool was parsed for one family; otherwise `undefined`. */
  readonly family: IpFamily | undefined;
  readonly segments: readonly PoolSegment[];
  readonly problems: readonly PoolProblem[];
  /** Number of positions: the sum of the segment sizes (an address listed twice counts twice). */
  readonly size: bigint;
}

/**
 * How a pool is read. The two callers of the project read pools differently today (admission
 * validation and the engine); issue 19 will make them read pools as upstream does.
 */
export interface PoolOptions {
  /** When set, an entry of the other family is a problem; otherwise entries of both families are kept. */
  readonly family?: IpFamily | undefined;
  /**
   * A CIDR whose address has bits set below the prefix (`198.18.0.1/24`): `'reject'` (a problem that
   * names the network address to write, the default) or `'mask'` (read as its network, `198.18.0.0/24`).
   */
  readonly hostBits?: 'reject' | 'mask' | undefined;
  /** A blank entry (`""`, as upstream's examples write an empty pool): `'skip'` (default) or `'problem'`. */
  readonly blankEntries?: 'skip' | 'problem' | undefined;
}

const FAMILY_NAME = { 4: 'IPv4', 6: 'IPv6' } as const;

/**
 * Parses one pool entry: a single address, a range `first-last` or a CIDR. Whitespace around the
 * entry and around the dash of a range is ignored (a pool entry, unlike an address field, has
 * always been trimmed; issue 19 settles what upstream does).
 *
 * @example
 * ```ts
 * parsePoolEntry('198.18.0.10-198.18.0.20'); // { ok: true, value: { family: 4, start: ..., end: ..., entry: '198.18.0.10-198.18.0.20', index: 0 } }
 * ```
 */
export function parsePoolEntry(entry: string, options: PoolOptions = {}, index = 0): Result<PoolSegment> {
  if (typeof entry !== 'string') return err(`a pool entry must be text, got ${typeof entry}`);
  const text = entry.trim();
  const quoted = JSON.stringify(entry);
  let family: IpFamily;
  let range: IpRange;
  if (text === '') {
    return err('the entry is blank: write an address, a range (first-last) or a CIDR, or remove it');
  }
  if (text.includes('/')) {
    const c = parseCidr(text);
    if (!c.ok) return err(c.error);
    if (c.value.hostBitsSet && (options.hostBits ?? 'reject') === 'reject') {
      return err(
        `${quoted} has host bits set: write the network address, ${formatIp(c.value.family, c.value.network)}/${c.value.prefix}`,
      );
    }
    family = c.value.family;
    range = cidrRange(c.value);
  } else if (text.includes('-')) {
    const dash = text.indexOf('-');
    const r = parseRange(`${text.slice(0, dash).trim()}-${text.slice(dash + 1).trim()}`);
    if (!r.ok) return err(r.error);
    family = r.value.family;
    range = r.value.range;
  } else {
    const ip = parseIp(text);
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
  return ok({ family, start: range.start, end: range.end, entry, index });
}

/**
 * Parses every entry of a pool. Bad entries become {@link PoolProblem}s and are left out; the pool
 * still works with the others.
 *
 * @example
 * ```ts
 * const pool = parsePool(['198.18.0.10', '198.18.1.0/30'], { family: 4 });
 * pool.size; // 5n
 * poolAt(pool, 1n); // '198.18.1.0'
 * ```
 */
export function parsePool(
  entries: readonly string[] | undefined | null,
  options: PoolOptions = {},
): AddressPool {
  const segments: PoolSegment[] = [];
  const problems: PoolProblem[] = [];
  let size = 0n;
  (entries ?? []).forEach((raw, index) => {
    if (typeof raw === 'string' && raw.trim() === '' && (options.blankEntries ?? 'skip') === 'skip') return;
    const r = parsePoolEntry(raw, options, index);
    if (r.ok) {
      segments.push(r.value);
      size += rangeSize(r.value);
    } else problems.push({ index, entry: String(raw), message: r.error });
  });
  return { family: options.family, segments, problems, size };
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
 * The first position of an address (text) in the pool (inverse of {@link poolAt}), or `undefined`
 * when it is not in the pool or is not an address.
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

/** Number of distinct addresses of a pool (overlapping and repeated entries counted once). */
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
